package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestAgentsControlPlaneCrash kills the control plane with SIGKILL while operations run on two
// agents, restarts it on the same data and address, and checks that every operation finishes
// exactly once: one create event per machine, as many stop and restart events as calls were
// accepted, no operation finished twice by an agent, and no capacity leaked.
func TestAgentsControlPlaneCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real hangar processes")
	}
	data, addr := t.TempDir(), freeAddr(t)
	cp := agentCP(t, data, addr)
	ts := cp.ts(readKey(t, data))
	admin := newTeamAdmin(t, ts)
	agents := []*agentProc{
		startAgent(t, cp.url, joinToken(t, ts, ny2, "10m"), t.TempDir(), "c1", "--capacity", "C5=8"),
		startAgent(t, cp.url, joinToken(t, ts, ny2, "10m"), t.TempDir(), "c2", "--capacity", "C5=8"),
	}
	waitHost(t, ts, "c1", "up", 20*time.Second)
	waitHost(t, ts, "c2", "up", 20*time.Second)
	const n = 12
	ids := make([]string, n)
	for i := range n {
		var m map[string]any
		if st := ts.do(t, admin, "POST", "/machines/createSingleMachinePublic", createBody(fmt.Sprint("k", i)), &m); st != 200 {
			t.Fatalf("create %d: %d %v", i, st, m)
		}
		ids[i] = m["id"].(string)
	}
	for _, id := range ids[:n/2] {
		ts.waitState(t, admin, id, "ready", 30*time.Second)
	}
	stops, restarts := map[string]int{}, map[string]int{}
	for i, id := range ids[:n/2] {
		action := "stop"
		if i%2 == 0 {
			action = "restart"
		}
		if st := ts.do(t, admin, "POST", "/machines/"+id+"/"+action, nil, nil); st != 204 {
			t.Fatalf("%s %s: %d", action, id, st)
		}
		if action == "stop" {
			stops[id]++
		} else {
			restarts[id]++
		}
	}
	var all []map[string]any
	ts.do(t, admin, "GET", "/machines/getMachines", nil, &all)
	inFlight := 0
	for _, m := range all {
		if s := m["state"]; s != "ready" && s != "off" {
			inFlight++
		}
	}
	if inFlight == 0 {
		t.Fatal("nothing in flight at the kill; the test proves nothing")
	}
	cp.kill9(t)
	t.Logf("control plane killed with %d of %d machines in flight", inFlight, n)
	time.Sleep(time.Second) // the agents finish steps and retry their syncs meanwhile
	cp = agentCP(t, data, addr)
	ts = cp.ts(ts.Key)
	waitSettled(t, ts, admin, n)
	powered := 0
	for _, id := range ids {
		state, count, evs := eventsOf(t, ts, admin, id)
		for _, e := range evs {
			if e["state"] == "in progress" || e["dtFinished"] == nil {
				t.Errorf("%s: event %v left in progress", id, e["name"])
			}
		}
		if count["create"] != 1 || count["stop"] != stops[id] || count["restart"] != restarts[id] {
			t.Errorf("%s: events %v, want 1 create, %d stop, %d restart", id, count, stops[id], restarts[id])
		}
		want := "ready"
		if stops[id] > 0 {
			want = "off"
		}
		if state != want {
			t.Errorf("%s: %s, want %s", id, state, want)
		}
		if state == "ready" {
			powered++
		}
	}
	seen := map[string]string{}
	for _, a := range agents {
		for _, op := range a.finishedOps() {
			if prev, dup := seen[op]; dup {
				t.Errorf("operation %s finished twice (by %s and %s)", op, prev, a.name)
			}
			seen[op] = a.name
		}
	}
	if len(seen) == 0 {
		t.Fatal("no agent reported any operation")
	}
	used := 0
	for _, h := range hostsByName(t, ts) {
		used += h.Used["C5"]
	}
	if used != powered {
		t.Errorf("hosts count %d slots in use, %d machines are powered on", used, powered)
	}
}

// TestAgentJoinMisuse checks the refusals of join tokens and credentials, each with its
// message: a token used twice, an expired one, one for another region than the host's, a
// malformed one, plain HTTP to a non-loopback address, and a revoked credential (the agent
// that holds it exits, and so does a restart of it).
func TestAgentJoinMisuse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real hangar processes")
	}
	data := t.TempDir()
	cp := agentCP(t, data, "127.0.0.1:0")
	ts := cp.ts(readKey(t, data))
	tok := joinToken(t, ts, ny2, "10m")
	dirA := t.TempDir()
	a := startAgent(t, cp.url, tok, dirA, "ok-host")
	waitHost(t, ts, "ok-host", "up", 20*time.Second)

	refused := func(name, want string, a *agentProc) {
		t.Helper()
		code, out := a.exit(t, 20*time.Second)
		if code == 0 || !strings.Contains(out, want) {
			t.Errorf("%s: exit %d, want a refusal saying %q:\n%s", name, code, want, out)
		}
	}
	refused("token used twice", "was used already", startAgent(t, cp.url, tok, t.TempDir(), "second"))
	short := joinToken(t, ts, ny2, "1ms")
	time.Sleep(10 * time.Millisecond)
	refused("expired token", "expired at", startAgent(t, cp.url, short, t.TempDir(), "late"))
	refused("token of another region", "is for region West Coast (CA1)",
		startAgent(t, cp.url, joinToken(t, ts, "West Coast (CA1)", "10m"), t.TempDir(), "ok-host"))
	refused("malformed token", "malformed join token", startAgent(t, cp.url, "nonsense", t.TempDir(), "x"))
	refused("unknown token", "join token not recognised", startAgent(t, cp.url, "hjabc.def", t.TempDir(), "y"))
	refused("plain HTTP off loopback", "plain HTTP is allowed only on loopback",
		startAgent(t, "http://192.0.2.1:3102", joinToken(t, ts, ny2, "10m"), t.TempDir(), "z"))
	var e map[string]any
	if st := ts.do(t, ts.Key, "POST", "/hangar/v1/hosts/tokens", map[string]any{"region": "Mars"}, &e); st != 400 {
		t.Errorf("token for an unknown region: %d %v", st, e)
	}
	if st := ts.do(t, ts.Key, "POST", "/hangar/v1/hosts/tokens", map[string]any{"region": ny2, "ttl": "forever"}, &e); st != 400 ||
		!strings.Contains(fmt.Sprint(e), "not a duration") {
		t.Errorf("token with a bad ttl: %d %v", st, e)
	}

	var h map[string]any
	if st := ts.do(t, ts.Key, "POST", "/hangar/v1/hosts/ok-host/revoke", map[string]any{}, &h); st != 200 || h["state"] != "unavailable" {
		t.Fatalf("revoke: %d %v", st, h)
	}
	refused("revoked credential", "agent credential revoked", a)
	refused("restart with the revoked credential", "agent credential revoked", startAgent(t, cp.url, "", dirA, "ok-host"))
}
