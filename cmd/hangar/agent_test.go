package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// agentCP starts a control plane for agents on addr: no default fleet, a short host timeout.
func agentCP(t *testing.T, data, addr string, extra ...string) *proc {
	t.Helper()
	flags := append([]string{"--listen", addr, "--no-default-fleet", "--sim-time-scale", "0.05",
		"--sim-serviceready-min", "200ms", "--host-timeout", "3s", "--agent-heartbeat", "500ms",
		"--key-rate", "0", "--address-rate", "0", "--qemu-watch-interval", "500ms"}, extra...)
	return startProc(t, data, flags...)
}

// TestAgentsLoopback runs a control plane and three `hangar agent --driver sim` processes:
// creates land on all three; a kill -9 of one makes its host unavailable within the timeout
// (no placements there, power calls refused, its machines keep their state with an error
// event); its restart brings it back up and reconciles what happened meanwhile: a machine
// destroyed while it was away loses its VM, a VM that died is recorded off, the stop that
// was in flight at the kill completes.
func TestAgentsLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real hangar processes")
	}
	data := t.TempDir()
	cp := agentCP(t, data, "127.0.0.1:0")
	ts := cp.ts(readKey(t, data))
	admin := newTeamAdmin(t, ts)
	agents := map[string]*agentProc{}
	dirs := map[string]string{}
	for _, name := range []string{"a1", "a2", "a3"} {
		dirs[name] = t.TempDir()
		agents[name] = startAgent(t, cp.url, joinToken(t, ts, ny2, "10m"), dirs[name], name, "--capacity", "C5=4")
	}
	for name := range agents {
		h := waitHost(t, ts, name, "up", 20*time.Second)
		if h.Driver != "sim" || h.Agent == nil || h.Agent.LastSeen == nil || h.Agent.Version == "" || h.Capacity["C5"] != 4 {
			t.Fatalf("host %s: %+v", name, h)
		}
	}
	info, err := os.Stat(filepath.Join(dirs["a1"], "agent.json"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("agent.json: %v %v", info, err)
	}

	var ids []string
	for i := range 9 {
		var m map[string]any
		if st := ts.do(t, admin, "POST", "/machines/createSingleMachinePublic", createBody(fmt.Sprint("m", i)), &m); st != 200 {
			t.Fatalf("create %d: %d %v", i, st, m)
		}
		ids = append(ids, m["id"].(string))
	}
	for _, id := range ids {
		ts.waitState(t, admin, id, "ready", 30*time.Second)
	}
	hosts := hostsByName(t, ts)
	for name := range agents {
		if hosts[name].Used["C5"] != 3 {
			t.Fatalf("creates did not spread over the three agents: %s uses %d (%+v)", name, hosts[name].Used["C5"], hosts)
		}
	}
	a1Machines := machinesOn(t, dirs["a1"])
	if len(a1Machines) != 3 {
		t.Fatalf("a1's journal holds %v", a1Machines)
	}
	inFlight, gone, dies := a1Machines[0], a1Machines[1], a1Machines[2]

	// A stop in flight at the kill.
	if st := ts.do(t, admin, "POST", "/machines/"+inFlight+"/stop", nil, nil); st != 204 {
		t.Fatalf("stop: %d", st)
	}
	agents["a1"].kill9(t)
	killed := time.Now()
	waitHost(t, ts, "a1", "unavailable", 10*time.Second)
	if d := time.Since(killed); d > 3*time.Second+2*time.Second {
		t.Errorf("a1 unavailable %v after the kill; the timeout is 3s", d)
	}
	state, _, evs := eventsOf(t, ts, admin, dies)
	if state != "ready" || len(evs) == 0 || evs[0]["name"] != "host-unreachable" || evs[0]["state"] != "error" ||
		!strings.Contains(fmt.Sprint(evs[0]["errorMsg"]), "host unreachable") {
		t.Fatalf("machine on the lost host: %s %v", state, evs)
	}
	var e map[string]any
	if st := ts.do(t, admin, "POST", "/machines/"+dies+"/restart", nil, &e); st != 400 || !strings.Contains(fmt.Sprint(e), "unreachable") {
		t.Fatalf("restart on the lost host: %d %v", st, e)
	}
	// No placement on a1: a2 and a3 have one slot left each, then there is none.
	for i := range 2 { // a2 and a3 have one free slot each
		var m map[string]any
		if st := ts.do(t, admin, "POST", "/machines/createSingleMachinePublic", createBody(fmt.Sprint("late", i)), &m); st != 200 {
			t.Fatalf("create while a1 is away %d: %d %v", i, st, m)
		}
	}
	var m map[string]any
	if st := ts.do(t, admin, "POST", "/machines/createSingleMachinePublic", createBody("one-too-many"), &m); st != 400 {
		t.Fatalf("a create found room with a1 away and a2, a3 full: %d %v", st, m)
	}
	var avail map[string]any
	ts.do(t, admin, "GET", "/machines/getAvailability?region=East%20Coast%20(NY2)&machineType=C5", nil, &avail)
	if avail["available"] != false {
		t.Fatalf("availability counts the lost host: %v", avail)
	}
	if u := hostsByName(t, ts)["a1"].Used["C5"]; u != 3 {
		t.Fatalf("a1 uses %d slots while away", u)
	}
	// While a1 is away: one machine is destroyed, and one VM dies (its journal says so).
	if st := ts.do(t, admin, "POST", "/machines/"+gone+"/destroyMachine", nil, nil); st != 204 {
		t.Fatalf("destroy while away: %d", st)
	}
	markDead(t, dirs["a1"], dies)

	agents["a1"] = startAgent(t, cp.url, "", dirs["a1"], "a1", "--capacity", "C5=4")
	waitHost(t, ts, "a1", "up", 10*time.Second)
	ts.waitState(t, admin, inFlight, "off", 30*time.Second)
	ts.waitState(t, admin, dies, "off", 30*time.Second)
	_, _, evs = eventsOf(t, ts, admin, dies)
	if evs[0]["name"] != "stop" || evs[0]["state"] != "error" {
		t.Fatalf("the VM that died: events %v", evs)
	}
	deadline := time.Now().Add(20 * time.Second)
	for slices.Contains(machinesOn(t, dirs["a1"]), gone) {
		if time.Now().After(deadline) {
			t.Fatalf("the VM of %s, destroyed while its host was away, is still on a1: %s", gone, agents["a1"].stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if u := hostsByName(t, ts)["a1"].Used["C5"]; u != 0 {
		t.Fatalf("a1 uses %d slots after reconciling (all its machines are off or gone)", u)
	}
	// Back up: it takes placements again, and its machines power again.
	if st := ts.do(t, admin, "POST", "/machines/"+inFlight+"/start", nil, nil); st != 204 {
		t.Fatalf("start after return: %d", st)
	}
	ts.waitState(t, admin, inFlight, "ready", 30*time.Second)
	if st := ts.do(t, admin, "POST", "/machines/createSingleMachinePublic", createBody("back"), &m); st != 200 {
		t.Fatalf("create after a1 came back: %d %v", st, m)
	}
	ts.waitState(t, admin, m["id"].(string), "ready", 30*time.Second)
}

// journalOf reads an agent's journal.
func journalOf(t *testing.T, dir string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "journal.json"))
	if err != nil {
		t.Fatal(err)
	}
	var j map[string]any
	if err := json.Unmarshal(b, &j); err != nil {
		t.Fatal(err)
	}
	return j
}

// machinesOn lists the machines whose VMs an agent's journal holds, sorted.
func machinesOn(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for id := range journalOf(t, dir)["vms"].(map[string]any) {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// markDead edits a stopped agent's journal as if the VM of machine id had died meanwhile.
func markDead(t *testing.T, dir, id string) {
	t.Helper()
	j := journalOf(t, dir)
	j["vms"].(map[string]any)[id].(map[string]any)["running"] = false
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "journal.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestAgentsRacingCreates fires 1,000 concurrent creates at 10 slots spread over three agent
// hosts: exactly 10 succeed and no host is oversubscribed; a draining host takes none.
func TestAgentsRacingCreates(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real hangar processes")
	}
	data := t.TempDir()
	cp := agentCP(t, data, "127.0.0.1:0")
	ts := cp.ts(readKey(t, data))
	admin := newTeamAdmin(t, ts)
	var team []map[string]any
	ts.do(t, ts.Key, "GET", "/hangar/v1/teams", nil, &team)
	for _, tm := range team {
		if tm["name"] == "Acme" {
			ts.do(t, ts.Key, "POST", "/hangar/v1/teams/"+tm["id"].(string), map[string]any{
				"quotas": map[string]any{"machines": -1, "running": -1}}, nil)
		}
	}
	slots := map[string]string{"r1": "C5=4", "r2": "C5=3", "r3": "C5=3", "drained": "C5=5"}
	for name, c := range slots {
		startAgent(t, cp.url, joinToken(t, ts, ny2, "10m"), t.TempDir(), name, "--capacity", c)
	}
	for name := range slots {
		waitHost(t, ts, name, "up", 20*time.Second)
	}
	if st := ts.do(t, ts.Key, "POST", "/hangar/v1/hosts/drained/drain", map[string]any{}, nil); st != 200 {
		t.Fatalf("drain: %d", st)
	}
	waitHost(t, ts, "drained", "draining", 5*time.Second)
	const clients = 1000
	codes := make([]int, clients)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range clients {
		wg.Go(func() {
			<-start
			var body map[string]any
			codes[i] = ts.do(t, admin, "POST", "/machines/createSingleMachinePublic", createBody(fmt.Sprint("race-", i)), &body)
			if codes[i] != 200 && codes[i] != 400 {
				t.Errorf("create: %d %v", codes[i], body)
			}
		})
	}
	close(start)
	wg.Wait()
	created := 0
	for _, c := range codes {
		if c == 200 {
			created++
		}
	}
	if created != 10 {
		t.Fatalf("%d of %d racing creates succeeded on 10 slots", created, clients)
	}
	hosts := hostsByName(t, ts)
	for name := range slots {
		want := hosts[name].Capacity["C5"]
		if name == "drained" {
			want = 0
		}
		if hosts[name].Used["C5"] != want {
			t.Errorf("host %s uses %d of %d", name, hosts[name].Used["C5"], hosts[name].Capacity["C5"])
		}
	}
}
