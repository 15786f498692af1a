package main

import (
	"encoding/json"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestNodeCLI is the end-to-end conformance test against the real paperspace-node 0.2.4 CLI
// (spec §5.1): every command the CLI has for machines, users, templates, networks, scripts,
// login and logout runs through `node tools/paperspace-node/node_modules/.bin/paperspace`
// against an in-process hangar serve, and each step checks the CLI's stdout JSON and exit
// code, cross-checking through HTTP where the CLI cannot see the effect.
//
// The subtests run concurrently; each CLI call costs about 0.6 s of node startup and every
// `machines waitfor` poll 5 s.
func TestNodeCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the paperspace-node CLI about a hundred times (~40 s); skipped with -short")
	}
	cli := findPaperspaceCLI(t)
	start := time.Now()
	e := newNodeEnv(t, cli, startServer(t))
	t.Cleanup(func() {
		n := cli.calls.Load()
		if n > 0 {
			t.Logf("%d paperspace CLI runs, %v of CLI time, %v wall", n,
				time.Duration(cli.nanos.Load()).Round(time.Second), time.Since(start).Round(time.Second))
		}
	})
	if r := e.ps(t, "", "version"); r.code != 0 || strings.TrimSpace(r.stdout) != "paperspace cli 0.2.4" {
		t.Fatalf("expected paperspace-node 0.2.4\n%s", r)
	}

	// The groups run concurrently. They are not t.Parallel subtests: -parallel defaults to
	// GOMAXPROCS (2 on a small CI machine) and most groups spend their time waiting for
	// waitfor polls and the simulated clock, so two at a time would leave the CPU idle;
	// psCLI bounds the node processes instead. The longest chains start first.
	g := &concurrent{t: t}
	defer g.wait()
	g.run("ServiceReadyAndProvisioningTransitions", func(t *testing.T) { testNodeServiceReady(t, cli) })
	g.run("Lifecycle", func(t *testing.T) { e.testLifecycle(t) })
	g.run("UpdateAndAccess", func(t *testing.T) { e.testUpdateAndAccess(t) })
	g.run("CreateVariants", func(t *testing.T) { e.testCreateVariants(t) })
	g.run("Lists", func(t *testing.T) { e.testLists(t) })
	g.run("Scripts", func(t *testing.T) { e.testScripts(t) })
	g.run("LoginLogout", func(t *testing.T) { e.testLogin(t) })
	g.run("Availability", func(t *testing.T) { e.testAvailability(t) })
	g.run("Utilization", func(t *testing.T) { e.testUtilization(t) })
	g.run("Errors", func(t *testing.T) { e.testErrors(t) })
}

const (
	ny2  = "East Coast (NY2)"
	ca1  = "West Coast (CA1)"
	ams1 = "Europe (AMS1)"

	linuxTemplate   = "tkni3aa4" // public "Ubuntu 20.04 Server"
	windowsTemplate = "tnr2oh1m" // public "Windows 10 (Server 2022) - Licensed"
)

// nodeEnv is the server and the accounts the scenario uses.
type nodeEnv struct {
	cli *psCLI
	ts  *testServer

	team, otherTeam           string
	admin, member, otherAdmin account
	network                   string // n… handle of "lan-ny2" (10.64.21.0/24, NY2)
	otherMachine              string // a machine of the other team

	// Machines for the list filters, created over HTTP and settled before the CLI runs:
	// listA1 "nodelist-a" C2 NY2 ready, listA2 "nodelist-a" P4000 NY2 off,
	// listB "nodelist-b" C2 CA1 off. No other machine is created in CA1.
	listA1, listA2, listB string

	// urgent CLI runs skip psCLI's queue: the long sequential chains use it so they are
	// not starved by the wide groups of independent calls.
	urgent bool
}

// chain returns e for a sequential chain of calls on the critical path.
func (e *nodeEnv) chain() *nodeEnv {
	c := *e
	c.urgent = true
	return &c
}

// newNodeEnv sets up two teams through the operator API (hangar admin, in-process): Acme with
// an admin, a member and a network, and Other with an admin and one machine.
func newNodeEnv(t *testing.T, cli *psCLI, ts *testServer) *nodeEnv {
	t.Helper()
	e := &nodeEnv{cli: cli, ts: ts}
	e.team = ts.newTeam(t, "Acme")
	e.admin = ts.newAccount(t, e.team, "ada@acme.test", true)
	e.member = ts.newAccount(t, e.team, "max@acme.test", false)
	var n struct{ ID string }
	ts.admin(t, &n, "networks", "create", "--team", e.team, "--name", "lan-ny2", "--region", ny2, "--cidr", "10.64.21.0/24")
	e.network = n.ID
	e.otherTeam = ts.newTeam(t, "Other")
	e.otherAdmin = ts.newAccount(t, e.otherTeam, "olga@other.test", true)
	e.otherMachine = e.httpCreate(t, e.otherAdmin.Key, map[string]any{"machineName": "other-team", "startOnCreate": false})

	e.listA1 = e.httpCreate(t, e.admin.Key, map[string]any{"machineName": "nodelist-a", "machineType": "C2"})
	e.listA2 = e.httpCreate(t, e.admin.Key, map[string]any{"machineName": "nodelist-a", "machineType": "P4000", "startOnCreate": false})
	e.listB = e.httpCreate(t, e.admin.Key, map[string]any{"machineName": "nodelist-b", "machineType": "C2", "region": ca1, "startOnCreate": false})
	ts.waitState(t, e.admin.Key, e.listA1, "ready", 20*time.Second)
	ts.waitState(t, e.admin.Key, e.listA2, "off", 20*time.Second)
	ts.waitState(t, e.admin.Key, e.listB, "off", 20*time.Second)
	ts.waitState(t, e.otherAdmin.Key, e.otherMachine, "off", 20*time.Second)
	return e
}

// ps runs the CLI against the server with key in PAPERSPACE_API_KEY.
func (e *nodeEnv) ps(t testing.TB, key string, args ...string) psResult {
	t.Helper()
	return e.cli.exec(t, psOpts{host: e.ts.URL, key: key, urgent: e.urgent}, args...)
}

// httpCreate creates a machine over HTTP (C1, 50 GB, hourly, Ubuntu 20.04, NY2 unless body
// says otherwise) and returns its id.
func (e *nodeEnv) httpCreate(t testing.TB, key string, body map[string]any) string {
	t.Helper()
	req := map[string]any{"region": ny2, "machineType": "C1", "size": 50, "billingType": "hourly",
		"templateId": linuxTemplate}
	for k, v := range body {
		req[k] = v
	}
	var m map[string]any
	if st := e.ts.do(t, key, "POST", "/machines/createSingleMachinePublic", req, &m); st != 200 || m["id"] == nil {
		t.Fatalf("create %v: HTTP %d %v", req, st, m)
	}
	return m["id"].(string)
}

// createArgs is `machines create` for a C1 machine with 50 GB, hourly, Ubuntu 20.04 in NY2;
// overrides are flag/value pairs that replace a default (value dropFlag removes it) or are
// appended.
func createArgs(name string, overrides ...string) []string {
	args := []string{"machines", "create", "--region", ny2, "--machineType", "C1", "--size", "50",
		"--billingType", "hourly", "--machineName", name, "--templateId", linuxTemplate}
	for i := 0; i+1 < len(overrides); i += 2 {
		flag, val := overrides[i], overrides[i+1]
		j := slices.Index(args, flag)
		switch {
		case j < 0:
			args = append(args, flag, val)
		case val == dropFlag:
			args = slices.Delete(args, j, j+2)
		default:
			args[j+1] = val
		}
	}
	return args
}

const dropFlag = "\x00drop"

var (
	machineIDRe = regexp.MustCompile(`^ps[a-z0-9]{7}$`)
	digitsRe    = regexp.MustCompile(`^[0-9]+$`)
	isoTimeRe   = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	uuidRe      = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
)

// machineFields are the keys of every machine object (spec §2.1, without events and the
// optional internalId).
var machineFields = []string{"id", "name", "os", "ram", "cpus", "gpu", "storageTotal", "storageUsed",
	"machineType", "usageRate", "shutdownTimeoutInHours", "shutdownTimeoutForces", "performAutoSnapshot",
	"autoSnapshotFrequency", "autoSnapshotSaveCount", "dynamicPublicIp", "agentType", "dtCreated", "state",
	"updatesPending", "networkId", "privateIpAddress", "publicIpAddress", "region", "userId", "teamId",
	"scriptId", "dtLastRun", "restorePointSnapshotId", "restorePointFrequency", "isManaged", "dtDeleted"}

// checkMachine checks the JSON types of a machine object (spec §1.4, §2.1) and returns it.
func checkMachine(t testing.TB, m map[string]any) map[string]any {
	t.Helper()
	for _, f := range machineFields {
		if _, ok := m[f]; !ok {
			t.Errorf("machine %v lacks %q", m["id"], f)
		}
	}
	if id, _ := m["id"].(string); !machineIDRe.MatchString(id) {
		t.Errorf("machine id %q is not ps + 7 characters", m["id"])
	}
	for _, f := range []string{"ram", "storageTotal", "storageUsed"} {
		if v, ok := m[f].(string); m[f] != nil && (!ok || !digitsRe.MatchString(v)) {
			t.Errorf("machine %v: %s = %#v, want null or a digit string", m["id"], f, m[f])
		}
	}
	for _, f := range []string{"cpus", "shutdownTimeoutInHours", "autoSnapshotSaveCount"} {
		if v, ok := m[f].(float64); m[f] != nil && (!ok || v != float64(int64(v))) {
			t.Errorf("machine %v: %s = %#v, want an integer", m["id"], f, m[f])
		}
	}
	for _, f := range []string{"shutdownTimeoutForces", "performAutoSnapshot", "dynamicPublicIp", "updatesPending", "isManaged"} {
		if _, ok := m[f].(bool); !ok {
			t.Errorf("machine %v: %s = %#v, want a boolean", m["id"], f, m[f])
		}
	}
	if s, _ := m["dtCreated"].(string); !isoTimeRe.MatchString(s) {
		t.Errorf("machine %v: dtCreated %#v is not an ISO time with milliseconds", m["id"], m["dtCreated"])
	}
	return m
}

// want asserts m[key] == val (JSON numbers compare as float64).
func want(t testing.TB, what string, m map[string]any, kv ...any) {
	t.Helper()
	for i := 0; i+1 < len(kv); i += 2 {
		k := kv[i].(string)
		v := kv[i+1]
		if n, ok := v.(int); ok {
			v = float64(n)
		}
		if got, ok := m[k]; !ok || got != v {
			t.Errorf("%s: %s = %#v, want %#v", what, k, m[k], v)
		}
	}
}

func ids(l []map[string]any) []string {
	out := make([]string, len(l))
	for i, m := range l {
		out[i], _ = m["id"].(string)
	}
	slices.Sort(out)
	return out
}

func sameIDs(t testing.TB, what string, l []map[string]any, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := ids(l); !slices.Equal(got, want) {
		t.Errorf("%s: got ids %v, want exactly %v", what, got, want)
	}
}

// events returns the events of a show/waitfor object and checks their shape.
func events(t testing.TB, m map[string]any) []map[string]any {
	t.Helper()
	raw, ok := m["events"].([]any)
	if !ok {
		t.Fatalf("machine %v has no events array: %#v", m["id"], m["events"])
	}
	out := make([]map[string]any, len(raw))
	for i, x := range raw {
		ev, _ := x.(map[string]any)
		out[i] = ev
		if h, _ := ev["handle"].(string); !uuidRe.MatchString(h) {
			t.Errorf("event handle %#v is not a UUID v4", ev["handle"])
		}
		for _, f := range []string{"dtCreated", "dtModified"} {
			if s, _ := ev[f].(string); !isoTimeRe.MatchString(s) {
				t.Errorf("event %v: %s = %#v", ev["name"], f, ev[f])
			}
		}
		if _, ok := ev["errorMsg"].(string); !ok {
			t.Errorf("event %v: errorMsg %#v is not a string", ev["name"], ev["errorMsg"])
		}
		if ev["state"] == "done" && ev["dtFinished"] == nil {
			t.Errorf("done event %v without dtFinished", ev["name"])
		}
	}
	return out
}

// eventNames renders events as "name:state" newest first.
func eventNames(evs []map[string]any) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev["name"].(string) + ":" + ev["state"].(string)
	}
	return out
}

// testLifecycle: create, waitfor (several polls), show with events, stop/start/restart with
// waitfor, destroy.
func (e *nodeEnv) testLifecycle(t *testing.T) {
	e = e.chain()
	k := e.admin.Key
	m := checkMachine(t, e.ps(t, k, createArgs("node-lifecycle")...).object(t))
	id := m["id"].(string)
	want(t, "create", m, "name", "node-lifecycle", "state", "provisioning", "region", ny2, "machineType", "C1",
		"usageRate", "C1 hourly", "userId", e.admin.ID, "teamId", e.team, "agentType", "LinuxHeadless",
		"shutdownTimeoutInHours", 168, "dynamicPublicIp", false, "publicIpAddress", nil, "scriptId", nil)
	if _, ok := m["events"]; ok {
		t.Errorf("the create response has events")
	}

	// waitfor ready: usually the first poll sees provisioning or starting, a later one ready.
	w := checkMachine(t, e.ps(t, k, "machines", "waitfor", "--machineId", id, "--state", "ready").object(t))
	want(t, "waitfor ready", w, "id", id, "state", "ready")

	s := checkMachine(t, e.ps(t, k, "machines", "show", "--machineId", id).object(t))
	want(t, "show", s, "id", id, "state", "ready", "name", "node-lifecycle", "os", "Ubuntu 20.04 Server")
	if s["ram"] == nil || s["storageTotal"] != "53687091200" || s["privateIpAddress"] == nil {
		t.Errorf("show of a ready machine: ram %v storageTotal %v privateIpAddress %v", s["ram"], s["storageTotal"], s["privateIpAddress"])
	}
	if got := eventNames(events(t, s)); !slices.Equal(got, []string{"start:done", "create:done"}) {
		t.Errorf("events after create: %v, want [start:done create:done] (newest first)", got)
	}

	e.ps(t, k, "machines", "stop", "--machineId", id).noContent(t)
	var h map[string]any
	e.ts.do(t, k, "GET", "/machines/getMachinePublic?machineId="+id, nil, &h)
	if h["state"] != "stopping" && h["state"] != "off" {
		t.Errorf("after stop: state %v", h["state"])
	}
	want(t, "waitfor off", e.ps(t, k, "machines", "waitfor", "--machineId", id, "--state", "off").object(t), "state", "off")
	e.ps(t, k, "machines", "stop", "--machineId", id).noContent(t) // no-op on off

	e.ps(t, k, "machines", "start", "--machineId", id).noContent(t)
	want(t, "waitfor ready after start", e.ps(t, k, "machines", "waitfor", "--machineId", id, "--state", "ready").object(t), "state", "ready")
	e.ps(t, k, "machines", "start", "--machineId", id).noContent(t) // no-op on ready

	e.ps(t, k, "machines", "restart", "--machineId", id).noContent(t)
	s = e.ps(t, k, "machines", "waitfor", "--machineId", id, "--state", "ready").object(t)
	if got := eventNames(events(t, s)); !slices.Equal(got, []string{"restart:done", "start:done", "stop:done", "start:done", "create:done"}) {
		t.Errorf("events after stop/start/restart: %v", got)
	}

	e.ps(t, k, "machines", "destroy", "--machineId", id).noContent(t)
	e.ps(t, k, "machines", "show", "--machineId", id).apiError(t, 404, "not found")
	sameIDs(t, "list after destroy", e.ps(t, k, "machines", "list", "--machineId", id).list(t))
	e.ps(t, k, "machines", "destroy", "--machineId", id).apiError(t, 404, "not found")

	// The destroyed machine's utilization stays queryable by its admin (spec §2.13): it was
	// billable from create to its stop and from its start to its destroy.
	created, err := time.Parse(time.RFC3339, m["dtCreated"].(string))
	if err != nil {
		t.Fatal(err)
	}
	month := created.UTC().Format("2006-01")
	u := checkUtilization(t, e.ps(t, k, "machines", "utilization", "--machineId", id, "--billingMonth", month).object(t), id, month)
	want(t, "utilization of a destroyed C1", u["utilization"].(map[string]any), "hourlyRate", nil)
	want(t, "storage utilization of a destroyed C1", u["storageUtilization"].(map[string]any), "monthlyRate", "5.00")
	used := u["utilization"].(map[string]any)["secondsUsed"].(float64)
	stored := u["storageUtilization"].(map[string]any)["secondsUsed"].(float64)
	if used <= 0 || stored < used || stored > time.Since(created).Seconds()+1 {
		t.Errorf("destroyed machine: secondsUsed %v, storage %v (it lived at most %v)", used, stored, time.Since(created))
	}
	e.ps(t, e.member.Key, "machines", "utilization", "--machineId", id, "--billingMonth", month).apiError(t, 404, "not found")
}

// checkUtilization checks the shape and JSON types of a utilization answer (spec §2.13) and
// returns it.
func checkUtilization(t testing.TB, u map[string]any, id, month string) map[string]any {
	t.Helper()
	if len(u) != 3 || u["machineId"] != id {
		t.Fatalf("utilization %v: want exactly machineId, utilization, storageUtilization", u)
	}
	for part, rate := range map[string]string{"utilization": "hourlyRate", "storageUtilization": "monthlyRate"} {
		o, ok := u[part].(map[string]any)
		if !ok || len(o) != 4 || o["machineId"] != id || o["billingMonth"] != month {
			t.Fatalf("%s = %v", part, u[part])
		}
		if _, ok := o["secondsUsed"].(float64); !ok {
			t.Errorf("%s.secondsUsed = %#v, want a number", part, o["secondsUsed"])
		}
		if r, ok := o[rate].(string); o[rate] != nil && (!ok || !regexp.MustCompile(`^\d+\.\d\d$`).MatchString(r)) {
			t.Errorf("%s.%s = %#v, want null or a two-decimal string", part, rate, o[rate])
		}
	}
	return u
}

// testUtilization: `paperspace machines utilization` on a live P4000 (a configured hourly
// rate), a future month, a malformed month and another team's machine.
func (e *nodeEnv) testUtilization(t *testing.T) {
	k := e.admin.Key
	var m map[string]any
	e.ts.do(t, k, "GET", "/machines/getMachinePublic?machineId="+e.listA2, nil, &m)
	created, err := time.Parse(time.RFC3339, m["dtCreated"].(string))
	if err != nil {
		t.Fatal(err)
	}
	month := created.UTC().Format("2006-01")
	u := checkUtilization(t, e.ps(t, k, "machines", "utilization", "--machineId", e.listA2, "--billingMonth", month).object(t), e.listA2, month)
	machine, storage := u["utilization"].(map[string]any), u["storageUtilization"].(map[string]any)
	want(t, "P4000 utilization", machine, "hourlyRate", "0.51")
	want(t, "P4000 storage", storage, "monthlyRate", "5.00")
	// Created with startOnCreate false: billable while provisioning only, then off.
	if used, stored := machine["secondsUsed"].(float64), storage["secondsUsed"].(float64); used <= 0 || stored <= used {
		t.Errorf("P4000 created off: secondsUsed %v, storage %v", used, stored)
	}
	future := strconv.Itoa(created.Year()+1) + "-01"
	u = checkUtilization(t, e.ps(t, k, "machines", "utilization", "--machineId", e.listA2, "--billingMonth", future).object(t), e.listA2, future)
	want(t, "future month", u["utilization"].(map[string]any), "secondsUsed", 0)
	want(t, "future month storage", u["storageUtilization"].(map[string]any), "secondsUsed", 0)
	e.ps(t, k, "machines", "utilization", "--machineId", e.listA2, "--billingMonth", "2026-13").apiError(t, 400, "YYYY-MM")
	e.ps(t, k, "machines", "utilization", "--machineId", e.otherMachine, "--billingMonth", month).apiError(t, 404, "not found")
}

// testUpdateAndAccess: update then show; setAccessForUser for the member and back.
func (e *nodeEnv) testUpdateAndAccess(t *testing.T) {
	e = e.chain()
	k := e.admin.Key
	id := e.ps(t, k, createArgs("node-update")...).object(t)["id"].(string)

	e.ps(t, k, "machines", "update", "--machineId", id, "--machineName", "node-renamed",
		"--shutdownTimeoutInHours", "12", "--performAutoSnapshot", "true", "--autoSnapshotFrequency", "day",
		"--autoSnapshotSaveCount", "3").noContent(t)
	s := checkMachine(t, e.ps(t, k, "machines", "show", "--machineId", id).object(t))
	want(t, "show after update", s, "name", "node-renamed", "shutdownTimeoutInHours", 12, "performAutoSnapshot", true,
		"autoSnapshotFrequency", "day", "autoSnapshotSaveCount", 3, "shutdownTimeoutForces", false)
	e.ps(t, k, "machines", "update", "--machineId", id, "--autoSnapshotFrequency", "fortnight").apiError(t, 400, "autoSnapshotFrequency")
	e.ps(t, k, "machines", "update", "--machineId", id, "--dynamicPublicIp", "true", "--assignPublicIp", "true").apiError(t, 400, "dynamicPublicIp")

	// The member cannot see the machine until the admin grants access.
	mk := e.member.Key
	e.ps(t, mk, "machines", "show", "--machineId", id).apiError(t, 404, "not found")
	if slices.Contains(ids(e.ps(t, mk, "machines", "list").list(t)), id) {
		t.Errorf("the member lists machine %s before being given access", id)
	}
	r := e.ps(t, k, "machines", "setAccessForUser", "--machineId", id, "--userId", e.member.ID, "--enableAccess", "true")
	if got := r.object(t); len(got) != 0 && got["id"] != id {
		t.Errorf("setAccessForUser printed %v, want {} or the machine", got)
	}
	want(t, "member show", checkMachine(t, e.ps(t, mk, "machines", "show", "--machineId", id).object(t)), "id", id, "name", "node-renamed")
	sameIDs(t, "member list", e.ps(t, mk, "machines", "list").list(t), id)
	e.ps(t, mk, "machines", "destroy", "--machineId", id).apiError(t, 403, "")
	e.ps(t, k, "machines", "setAccessForUser", "--machineId", id, "--userId", e.member.ID, "--enableAccess", "false").object(t)
	e.ps(t, mk, "machines", "show", "--machineId", id).apiError(t, 404, "not found")
	e.ps(t, k, "machines", "setAccessForUser", "--machineId", id, "--userId", e.otherAdmin.ID, "--enableAccess", "true").apiError(t, 400, e.otherAdmin.ID)
}

// testCreateVariants: a new user, a script, a network, a static public IP, startOnCreate false.
func (e *nodeEnv) testCreateVariants(t *testing.T) {
	g := &concurrent{t: t}
	defer g.wait()
	k := e.admin.Key
	g.run("NewUser", func(t *testing.T) {
		m := checkMachine(t, e.ps(t, k, createArgs("node-newuser", "--email", "nina@acme.test", "--password", "nina-secret-1",
			"--firstName", "Nina", "--lastName", "New")...).object(t))
		uid, _ := m["userId"].(string)
		if uid == "" || uid == e.admin.ID {
			t.Fatalf("machine userId %q, want the new user", uid)
		}
		users := e.ps(t, k, "users", "list", "--email", "nina@acme.test").list(t)
		sameIDs(t, "users list --email", users, uid)
		if len(users) == 1 {
			want(t, "new user", users[0], "firstname", "Nina", "lastname", "New", "teamId", e.team, "email", "nina@acme.test")
		}
		var tok map[string]any
		if st := e.ts.do(t, "", "POST", "/users/login", map[string]any{"email": "nina@acme.test", "password": "nina-secret-1"}, &tok); st != 200 {
			t.Errorf("the new user cannot log in with its password: HTTP %d %v", st, tok)
		}
	})
	g.run("Script", func(t *testing.T) {
		// --scriptDescription 2019 arrives as a JSON number and is stored as text (spec §1.3).
		sc := e.ps(t, k, "scripts", "create", "--scriptName", "node-boot", "--scriptText", "#!/bin/bash\necho boot",
			"--scriptDescription", "2019").object(t)
		want(t, "scripts create", sc, "description", "2019")
		scID := sc["id"].(string)
		m := checkMachine(t, e.ps(t, k, createArgs("node-script", "--scriptId", scID)...).object(t))
		want(t, "create --scriptId", m, "scriptId", scID, "dtLastRun", nil)
		id := m["id"].(string)
		e.ts.waitState(t, k, id, "ready", 20*time.Second)
		s := e.ps(t, k, "machines", "show", "--machineId", id).object(t)
		want(t, "show", s, "scriptId", scID)
		if s["dtLastRun"] == nil {
			t.Errorf("dtLastRun is still null after the machine booted with an enabled script")
		}
		runs, _ := e.ps(t, k, "scripts", "show", "--scriptId", scID).object(t)["machines"].([]any)
		if len(runs) != 1 || runs[0].(map[string]any)["machineId"] != id || runs[0].(map[string]any)["dtLastRun"] == nil {
			t.Errorf("scripts show machines = %v, want [{machineId: %s, dtLastRun: <time>}]", runs, id)
		}
		// scripts create --machineId assigns the new script to the machine instead.
		sc2 := e.ps(t, k, "scripts", "create", "--scriptName", "node-boot2", "--scriptText", "echo two", "--machineId", id).object(t)
		var m2 map[string]any
		e.ts.do(t, k, "GET", "/machines/getMachinePublic?machineId="+id, nil, &m2)
		if m2["scriptId"] != sc2["id"] {
			t.Errorf("after scripts create --machineId %s: machine scriptId %v, want %v", id, m2["scriptId"], sc2["id"])
		}
	})
	g.run("Network", func(t *testing.T) {
		m := checkMachine(t, e.ps(t, k, createArgs("node-net", "--networkId", e.network)...).object(t))
		want(t, "create --networkId", m, "networkId", e.network)
		s := e.ts.waitState(t, k, m["id"].(string), "ready", 20*time.Second)
		ip, err := netip.ParseAddr(s["privateIpAddress"].(string))
		if err != nil || !netip.MustParsePrefix("10.64.21.0/24").Contains(ip) || ip.As4()[3] == 0 {
			t.Errorf("privateIpAddress %v is not a host of the network 10.64.21.0/24", s["privateIpAddress"])
		}
		l := e.ps(t, k, "machines", "list", "--networkId", e.network).list(t)
		sameIDs(t, "list --networkId", l, m["id"].(string))
	})
	g.run("PublicIPAndRelease", func(t *testing.T) {
		m := checkMachine(t, e.ps(t, k, createArgs("node-publicip", "--assignPublicIp", "true")...).object(t))
		ip, err := netip.ParseAddr(strOr(m["publicIpAddress"]))
		if err != nil || !ip.Is4() {
			t.Errorf("create --assignPublicIp true: publicIpAddress %#v", m["publicIpAddress"])
		}
		want(t, "create --assignPublicIp", m, "dynamicPublicIp", false)
		// Without releasePublicIp the static address stays reserved to the team, and the
		// team's next static-IP machine gets it back (spec §2.9) …
		e.ps(t, k, "machines", "destroy", "--machineId", m["id"].(string)).noContent(t)
		m2 := e.ps(t, k, createArgs("node-publicip2", "--assignPublicIp", "true")...).object(t)
		if m2["publicIpAddress"] != m["publicIpAddress"] {
			t.Errorf("the kept address %v was not reused: new machine got %v", m["publicIpAddress"], m2["publicIpAddress"])
		}
		// … with it the address goes back to the pool.
		id := m2["id"].(string)
		e.ps(t, k, "machines", "destroy", "--machineId", id, "--releasePublicIp", "true").noContent(t)
		e.ps(t, k, "machines", "show", "--machineId", id).apiError(t, 404, "not found")
		var m3 map[string]any
		e.ts.do(t, k, "GET", "/machines/getMachinePublic?machineId="+
			e.httpCreate(t, k, map[string]any{"machineName": "node-publicip3", "assignPublicIp": true}), nil, &m3)
		if m3["publicIpAddress"] == nil || m3["publicIpAddress"] == m["publicIpAddress"] {
			t.Errorf("after releasePublicIp the team still holds %v (a new static-IP machine got %v)", m["publicIpAddress"], m3["publicIpAddress"])
		}
	})
	g.run("StartOnCreateFalse", func(t *testing.T) {
		m := checkMachine(t, e.ps(t, k, createArgs("node-off", "--startOnCreate", "false")...).object(t))
		id := m["id"].(string)
		w := e.ps(t, k, "machines", "waitfor", "--machineId", id, "--state", "off").object(t)
		want(t, "waitfor off", w, "state", "off")
		if got := eventNames(events(t, w)); !slices.Equal(got, []string{"create:done"}) {
			t.Errorf("events of a machine created off: %v, want [create:done]", got)
		}
		// Illegal transition (spec §3.2): restart while off.
		e.ps(t, k, "machines", "restart", "--machineId", id).apiError(t, 400, "off")
	})
}

func strOr(v any) string { s, _ := v.(string); return s }

// testNodeServiceReady runs on its own server whose machines provision for 20 s and then
// stay in serviceready for 6 s, so `waitfor --state serviceready` (5 s polls) can observe it
// and a call made right after create meets a provisioning machine even on a loaded machine.
func testNodeServiceReady(t *testing.T, cli *psCLI) {
	ts := startServer(t, "--sim-time-scale", "0.5", "--sim-serviceready-min", "6s")
	team := ts.newTeam(t, "Slow")
	admin := ts.newAccount(t, team, "sam@slow.test", true)
	in := psOpts{host: ts.URL, key: admin.Key, urgent: true}

	m := cli.exec(t, in, createArgs("node-slow")...).object(t)
	id := m["id"].(string)
	created := time.Now()
	// Illegal transitions while provisioning (spec §3.2). The machine was created before
	// `created`, so it leaves provisioning within 20 s of it: a call that has returned
	// within 18 s was answered while it was still provisioning. Each call is judged by
	// when it returned, since one CLI run can take seconds on a loaded machine.
	for _, op := range []string{"start", "stop"} {
		r := cli.exec(t, in, "machines", op, "--machineId", id)
		if took := time.Since(created); took < 18*time.Second {
			r.apiError(t, 400, "provisioning")
		} else {
			t.Logf("%s returned %v after create: too late to check it while provisioning", op, took)
		}
	}
	w := cli.exec(t, psOpts{host: ts.URL, key: admin.Key}, "machines", "waitfor", "--machineId", id, "--state", "serviceready").object(t)
	want(t, "waitfor serviceready", w, "id", id, "state", "serviceready")
	if got := eventNames(events(t, w)); !slices.Equal(got, []string{"start:in progress", "create:done"}) {
		t.Errorf("events in serviceready: %v, want [start:in progress create:done]", got)
	}
}

// testLists: machines list filters (exact match, AND), users, templates, networks.
func (e *nodeEnv) testLists(t *testing.T) {
	g := &concurrent{t: t}
	defer g.wait()
	k := e.admin.Key
	g.run("Machines", func(t *testing.T) {
		e := e.chain()
		list := func(args ...string) []map[string]any {
			l := e.ps(t, k, append([]string{"machines", "list"}, args...)...).list(t)
			for _, m := range l {
				checkMachine(t, m)
				if _, ok := m["events"]; ok {
					t.Errorf("machines list item %v has events", m["id"])
				}
			}
			return l
		}
		all := list()
		if got := ids(all); !slices.Contains(got, e.listA1) || !slices.Contains(got, e.listB) || slices.Contains(got, e.otherMachine) {
			t.Errorf("machines list: %v, want the team's machines (%s, %s) and not the other team's %s", got, e.listA1, e.listB, e.otherMachine)
		}
		sameIDs(t, "--name nodelist-a", list("--name", "nodelist-a"), e.listA1, e.listA2)
		sameIDs(t, "--name nodelist (exact, not prefix)", list("--name", "nodelist"))
		sameIDs(t, "--name nodelist-a --state ready", list("--name", "nodelist-a", "--state", "ready"), e.listA1)
		sameIDs(t, "--name nodelist-a --machineType P4000", list("--name", "nodelist-a", "--machineType", "P4000"), e.listA2)
		sameIDs(t, "--region CA1", list("--region", ca1), e.listB)
		sameIDs(t, "--region CA1 --machineType C2 --state ready", list("--region", ca1, "--machineType", "C2", "--state", "ready"))
		sameIDs(t, "--region CA1 --machineType C2 --state off", list("--region", ca1, "--machineType", "C2", "--state", "off"), e.listB)
		sameIDs(t, "--machineId", list("--machineId", e.listA2), e.listA2)
		a2 := list("--id", e.listA2)
		sameIDs(t, "--id", a2, e.listA2)
		if len(a2) == 1 {
			sameIDs(t, "--dtCreated (exact) --ram (digits) --shutdownTimeoutInHours --updatesPending",
				list("--dtCreated", strOr(a2[0]["dtCreated"]), "--ram", strOr(a2[0]["ram"]), "--shutdownTimeoutInHours", "168",
					"--updatesPending", "false"), e.listA2)
		}
		sameIDs(t, "--name nodelist-a --limit 1 (oldest first)", list("--name", "nodelist-a", "--limit", "1"), e.listA1)
		sameIDs(t, "--name nodelist-a --skip 1", list("--name", "nodelist-a", "--skip", "1"), e.listA2)
		sameIDs(t, "--name nodelist-b --publicIpAddress null --cpus 1 --frobnicate 7 (unknown flag ignored)",
			list("--name", "nodelist-b", "--publicIpAddress", "null", "--cpus", "1", "--frobnicate", "7"), e.listB)
		ready := list("--state", "ready")
		for _, m := range ready {
			if m["state"] != "ready" {
				t.Errorf("--state ready returned %v in state %v", m["id"], m["state"])
			}
		}
		if got := ids(ready); !slices.Contains(got, e.listA1) || slices.Contains(got, e.listA2) || slices.Contains(got, e.listB) {
			t.Errorf("--state ready: %v", got)
		}
	})
	g.run("Users", func(t *testing.T) {
		all := e.ps(t, k, "users", "list").list(t)
		got := ids(all)
		if !slices.Contains(got, e.admin.ID) || !slices.Contains(got, e.member.ID) || slices.Contains(got, e.otherAdmin.ID) {
			t.Errorf("users list: %v, want the team's users only", got)
		}
		l := e.ps(t, k, "users", "list", "--email", e.member.Email).list(t)
		sameIDs(t, "users list --email", l, e.member.ID)
		if len(l) == 1 {
			want(t, "member", l[0], "email", e.member.Email, "firstname", "Firstmax", "lastname", "Last", "teamId", e.team)
			if len(l[0]) != 6 || !isoTimeRe.MatchString(strOr(l[0]["dtCreated"])) {
				t.Errorf("user object %v, want exactly id, email, firstname, lastname, dtCreated, teamId", l[0])
			}
		}
		sameIDs(t, "users list --email --firstname (AND)", e.ps(t, k, "users", "list", "--email", e.member.Email, "--firstname", "Firstada").list(t))
	})
	g.run("Templates", func(t *testing.T) {
		all := e.ps(t, k, "templates", "list").list(t)
		if got := ids(all); len(got) < 15 || !slices.Contains(got, windowsTemplate) {
			t.Errorf("templates list: %d templates %v", len(got), got)
		}
		l := e.ps(t, k, "templates", "list", "--label", "Ubuntu 20.04 Server").list(t)
		sameIDs(t, "templates list --label", l, linuxTemplate)
		if len(l) == 1 {
			want(t, "template", l[0], "name", "paperspace/"+linuxTemplate, "os", "Ubuntu 20.04 Server",
				"label", "Ubuntu 20.04 Server", "dtCreated", "2021-10-20T00:50:49.780Z")
			for _, f := range []string{"teamId", "userId", "region"} {
				if _, ok := l[0][f]; ok {
					t.Errorf("public template has %s", f)
				}
			}
		}
		sameIDs(t, "templates list --label Windows 10 --os (AND)",
			e.ps(t, k, "templates", "list", "--label", "Windows 10", "--os", "Ubuntu 20.04 Server").list(t))
	})
	g.run("Networks", func(t *testing.T) {
		sameIDs(t, "networks list", e.ps(t, k, "networks", "list").list(t), e.network)
		l := e.ps(t, k, "networks", "list", "--name", "lan-ny2", "--region", ny2).list(t)
		sameIDs(t, "networks list --name --region", l, e.network)
		if len(l) == 1 {
			want(t, "network", l[0], "name", "lan-ny2", "region", ny2, "network", "10.64.21.0",
				"netmask", "255.255.255.0", "teamId", e.team)
		}
		sameIDs(t, "networks list --name --region CA1 (AND)", e.ps(t, k, "networks", "list", "--name", "lan-ny2", "--region", ca1).list(t))
	})
}

// testScripts: create from text and from a file (multipart), show, text, list, destroy.
func (e *nodeEnv) testScripts(t *testing.T) {
	e = e.chain()
	k := e.admin.Key
	const text = "#!/bin/bash\necho hello > /tmp/hello\n"
	sc := e.ps(t, k, "scripts", "create", "--scriptName", "node-text", "--scriptDescription", "A startup script",
		"--scriptText", text).object(t)
	textID, _ := sc["id"].(string)
	if !regexp.MustCompile(`^sc[a-z0-9]{7}$`).MatchString(textID) {
		t.Fatalf("script id %q", textID)
	}
	want(t, "scripts create --scriptText", sc, "ownerType", "user", "ownerId", e.admin.ID, "name", "node-text",
		"description", "A startup script", "isEnabled", true, "runOnce", false)
	if len(sc) != 8 || !isoTimeRe.MatchString(strOr(sc["dtCreated"])) {
		t.Errorf("script object %v, want the 8 fields of spec §4.7", sc)
	}

	dir := t.TempDir()
	const fileText = "#!/bin/bash\r\necho from-file\n"
	if err := os.WriteFile(filepath.Join(dir, "boot.sh"), []byte(fileText), 0o644); err != nil {
		t.Fatal(err)
	}
	r := e.cli.exec(t, psOpts{host: e.ts.URL, key: k, dir: dir, urgent: e.urgent}, "scripts", "create", "--scriptName", "node-file",
		"--scriptFile", "boot.sh", "--isEnabled", "true", "--runOnce", "true")
	fsc := r.object(t)
	fileID, _ := fsc["id"].(string)
	want(t, "scripts create --scriptFile", fsc, "name", "node-file", "description", nil, "isEnabled", true, "runOnce", true)

	show := e.ps(t, k, "scripts", "show", "--scriptId", textID).object(t)
	want(t, "scripts show", show, "id", textID, "name", "node-text", "description", "A startup script")
	if ms, ok := show["machines"].([]any); !ok || len(ms) != 0 {
		t.Errorf("scripts show machines = %#v, want []", show["machines"])
	}
	if _, ok := show["scriptText"]; ok {
		t.Errorf("scripts show includes the text")
	}
	for id, wantText := range map[string]string{textID: text, fileID: fileText} {
		r := e.ps(t, k, "scripts", "text", "--scriptId", id)
		var got string
		r.success(t, &got)
		if got != wantText {
			t.Errorf("scripts text %s = %q, want %q", id, got, wantText)
		}
	}
	sameIDs(t, "scripts list --name", e.ps(t, k, "scripts", "list", "--name", "node-file").list(t), fileID)
	sameIDs(t, "scripts list --name --runOnce false (AND)", e.ps(t, k, "scripts", "list", "--name", "node-file", "--runOnce", "false").list(t))
	if got := ids(e.ps(t, k, "scripts", "list", "--ownerId", e.admin.ID).list(t)); !slices.Contains(got, textID) || !slices.Contains(got, fileID) {
		t.Errorf("scripts list --ownerId: %v", got)
	}
	e.ps(t, k, "scripts", "create", "--scriptName", "node-text", "--scriptText", "x").apiError(t, 400, "node-text")

	e.ps(t, k, "scripts", "destroy", "--scriptId", fileID).noContent(t)
	e.ps(t, k, "scripts", "show", "--scriptId", fileID).apiError(t, 404, "not found")
	e.ps(t, k, "scripts", "text", "--scriptId", fileID).apiError(t, 404, "not found")
	e.ps(t, k, "scripts", "destroy", "--scriptId", fileID).apiError(t, 404, "not found")
	e.ps(t, e.otherAdmin.Key, "scripts", "show", "--scriptId", textID).apiError(t, 404, "not found")
}

// testLogin: login writes a working key to ~/.paperspace/config.json, logout clears it; a
// wrong password prints the CLI's own error text without crashing.
func (e *nodeEnv) testLogin(t *testing.T) {
	g := &concurrent{t: t}
	defer g.wait()
	g.run("LoginLogout", func(t *testing.T) {
		home := t.TempDir()
		in := psOpts{host: e.ts.URL, home: home}
		r := e.cli.exec(t, in, "login", "--email", e.admin.Email, "--password", e.admin.Password)
		if r.code != 0 || r.stdout != "" || r.stderr != "" {
			t.Fatalf("login: want exit 0 and no output\n%s", r)
		}
		b, err := os.ReadFile(filepath.Join(home, ".paperspace", "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		if err := json.Unmarshal(b, &cfg); err != nil || len(cfg) != 2 || strOr(cfg["apiKey"]) == "" || strOr(cfg["name"]) == "" {
			t.Fatalf("config.json = %s, want {apiKey, name}", b)
		}
		key := cfg["apiKey"].(string)
		// The stored key works: no PAPERSPACE_API_KEY, the CLI reads config.json.
		sameIDs(t, "users list with the stored key", e.cli.exec(t, in, "users", "list", "--email", e.admin.Email).list(t), e.admin.ID)
		var users []map[string]any
		if st := e.ts.do(t, key, "GET", "/users/getUsers?email="+url.QueryEscape(e.admin.Email), nil, &users); st != 200 || len(users) != 1 {
			t.Errorf("the login key over HTTP: %d %v", st, users)
		}
		var keys []struct{ Name, Prefix string }
		e.ts.admin(t, &keys, "keys", "list", "--user", e.admin.ID)
		if !slices.ContainsFunc(keys, func(k struct{ Name, Prefix string }) bool {
			return k.Name == cfg["name"] && strings.HasPrefix(key, k.Prefix)
		}) {
			t.Errorf("no key named %v for %s among %v", cfg["name"], e.admin.ID, keys)
		}

		r = e.cli.exec(t, in, "logout")
		if r.code != 0 || r.stdout != "" || r.stderr != "" {
			t.Fatalf("logout: want exit 0 and no output\n%s", r)
		}
		if b, _ := os.ReadFile(filepath.Join(home, ".paperspace", "config.json")); strings.TrimSpace(string(b)) != "{}" {
			t.Errorf("config.json after logout: %q", b)
		}
		e.cli.exec(t, in, "machines", "list").clientError(t, "Please provide authentication credentials")
	})
	g.run("NumericPassword", func(t *testing.T) {
		// The CLI sends --password 20192019 as a JSON number.
		var u struct{ ID string }
		e.ts.admin(t, &u, "users", "create", "--team", e.team, "--email", "num@acme.test", "--password", "20192019",
			"--first-name", "Num", "--last-name", "Ber")
		home := t.TempDir()
		r := e.cli.exec(t, psOpts{host: e.ts.URL, home: home}, "login", "--email", "num@acme.test", "--password", "20192019")
		if r.code != 0 || r.stdout != "" {
			t.Fatalf("login with a numeric password: want exit 0 and no output\n%s", r)
		}
		if b, err := os.ReadFile(filepath.Join(home, ".paperspace", "config.json")); err != nil || !strings.Contains(string(b), `"apiKey"`) {
			t.Errorf("config.json after login: %q %v", b, err)
		}
	})
	for name, creds := range map[string][2]string{
		"WrongPassword": {e.admin.Email, "not-the-password"},
		"UnknownEmail":  {"nobody@acme.test", "whatever-password"},
	} {
		g.run(name, func(t *testing.T) {
			home := t.TempDir()
			r := e.cli.exec(t, psOpts{host: e.ts.URL, home: home}, "login", "--email", creds[0], "--password", creds[1])
			// lib/login/user.js prints "Error: " + body.error.message + a note on 401; a 401
			// without error.message would crash with a TypeError on stderr.
			if r.code != 1 || !strings.HasPrefix(r.stdout, "Error: login failed") ||
				!strings.Contains(r.stdout, "Note: Please keep in mind") || r.stderr != "" {
				t.Errorf("login with bad credentials: want exit 1, stdout \"Error: login failed…Note…\", no stderr\n%s", r)
			}
			if _, err := os.Stat(filepath.Join(home, ".paperspace", "config.json")); err == nil {
				t.Errorf("a failed login wrote config.json")
			}
		})
	}
}

// testAvailability: GPU+ is not offered in CA1, P4000 in NY2 and C1 are (default fleet).
func (e *nodeEnv) testAvailability(t *testing.T) {
	g := &concurrent{t: t}
	defer g.wait()
	k := e.member.Key // any authenticated user
	for _, c := range []struct {
		region, mtype string
		avail         bool
	}{{ca1, "GPU+", false}, {ny2, "P4000", true}, {ca1, "C1", true}, {ny2, "GPU+", true}} {
		g.run(c.mtype+"/"+c.region, func(t *testing.T) {
			m := e.ps(t, k, "machines", "availability", "--region", c.region, "--machineType", c.mtype).object(t)
			if len(m) != 1 || m["available"] != c.avail {
				t.Errorf("availability %s in %s = %v, want {available: %v}", c.mtype, c.region, m, c.avail)
			}
		})
	}
	g.run("BadRegion", func(t *testing.T) {
		e.ps(t, k, "machines", "availability", "--region", "Mars (MRS1)", "--machineType", "C1").apiError(t, 400, "region")
	})
}

// testErrors: 401, 403, 404 (unknown and other team's), one 400 per create rule of spec
// §2.2, and no capacity.
func (e *nodeEnv) testErrors(t *testing.T) {
	g := &concurrent{t: t}
	defer g.wait()
	k := e.admin.Key
	g.run("BadKey401", func(t *testing.T) {
		e.ps(t, "0123456789abcdef0123456789abcdef", "machines", "list").apiError(t, 401, "")
	})
	g.run("MemberCreates403", func(t *testing.T) {
		e.ps(t, e.member.Key, createArgs("nodebad-member")...).apiError(t, 403, "")
	})
	g.run("Unknown404", func(t *testing.T) {
		e.ps(t, k, "machines", "show", "--machineId", "psnotthere").apiError(t, 404, "not found")
		// waitfor stops at the first HTTP error instead of polling forever.
		e.ps(t, k, "machines", "waitfor", "--machineId", "psnotthere", "--state", "ready").apiError(t, 404, "not found")
		e.ps(t, k, "machines", "start", "--machineId", "psnotthere").apiError(t, 404, "not found")
	})
	g.run("OtherTeam404", func(t *testing.T) {
		id := e.otherMachine
		e.ps(t, k, "machines", "show", "--machineId", id).apiError(t, 404, "not found")
		e.ps(t, k, "machines", "start", "--machineId", id).apiError(t, 404, "not found")
		e.ps(t, k, "machines", "destroy", "--machineId", id).apiError(t, 404, "not found")
		e.ps(t, k, "machines", "update", "--machineId", id, "--machineName", "hijacked").apiError(t, 404, "not found")
		var m map[string]any
		if st := e.ts.do(t, e.otherAdmin.Key, "GET", "/machines/getMachinePublic?machineId="+id, nil, &m); st != 200 ||
			m["state"] != "off" || m["name"] != "other-team" {
			t.Errorf("the other team's machine changed: HTTP %d %v %v", st, m["state"], m["name"])
		}
		// A member's key does not see the admin's machines either.
		e.ps(t, e.member.Key, "machines", "stop", "--machineId", e.listA1).apiError(t, 404, "not found")
	})

	// Create rules (spec §2.2): each is rejected with 400 and creates nothing. Missing
	// required parameters never reach the server from this CLI (it checks them itself), so
	// they are sent empty here and omitted over HTTP below.
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"EmptyRegion", []string{"--region", ""}, "region"},
		{"EmptyMachineType", []string{"--machineType", ""}, "machineType"},
		{"ZeroSize", []string{"--size", "0"}, "size"},
		{"EmptyBillingType", []string{"--billingType", ""}, "billingType"},
		{"EmptyMachineName", []string{"--machineName", ""}, "machineName"},
		{"EmptyTemplateID", []string{"--templateId", ""}, "templateId"},
		{"BadRegion", []string{"--region", "Mars (MRS1)"}, "region"},
		{"BadMachineType", []string{"--machineType", "C99"}, "machineType"},
		{"BadSize", []string{"--size", "75"}, "size"},
		{"BadBillingType", []string{"--billingType", "weekly"}, "billingType"},
		{"UnknownTemplate", []string{"--templateId", "tnotthere"}, "templateId not found"},
		{"WindowsTemplateC1", []string{"--templateId", windowsTemplate}, "Windows"},
		{"LinuxTemplateAir", []string{"--machineType", "Air"}, "Air"},
		{"AssignAndDynamicIP", []string{"--assignPublicIp", "true", "--dynamicPublicIp", "true"}, "dynamicPublicIp"},
		{"UserIDAndEmail", []string{"--userId", e.member.ID, "--email", "nodebad-both@acme.test", "--password", "long-enough-1",
			"--firstName", "B", "--lastName", "B"}, "userId"},
		{"EmailWithoutPassword", []string{"--email", "nodebad-nopw@acme.test", "--firstName", "N", "--lastName", "P"}, "password"},
		{"RestorePointWithoutSnapshot", []string{"--markSnapshotAsRestorePoint", "true", "--restorePointFrequency", "shutdown"}, "takeInitialSnapshot"},
		{"RestorePointFrequency", []string{"--takeInitialSnapshot", "true", "--restorePointFrequency", "hourly"}, "restorePointFrequency"},
		{"OtherTeamID", []string{"--teamId", e.otherTeam}, "teamId"},
		{"UnknownNetwork", []string{"--networkId", "nnothere"}, "networkId"},
		{"NetworkInOtherRegion", []string{"--networkId", e.network, "--region", ca1}, e.network},
		{"UnknownScript", []string{"--scriptId", "scnotthere"}, "scriptId"},
		{"UnknownUser", []string{"--userId", e.otherAdmin.ID}, "userId"},
	}
	for _, c := range cases {
		g.run("Create"+c.name, func(t *testing.T) {
			args := createArgs("nodebad-"+strings.ToLower(c.name), c.args...)
			e.ps(t, k, args...).apiError(t, 400, c.want)
		})
	}
	g.run("CreateMissingRequired", func(t *testing.T) {
		for _, p := range []string{"region", "machineType", "size", "billingType", "machineName", "templateId"} {
			// The CLI refuses before sending anything…
			if p == "region" || p == "size" {
				e.ps(t, k, createArgs("nodebad-missing", "--"+p, dropFlag)...).clientError(t, "Missing required parameter `"+p+"`")
			}
			// …and the server rejects the same request without the parameter.
			body := map[string]any{"region": ny2, "machineType": "C1", "size": 50, "billingType": "hourly",
				"machineName": "nodebad-missing", "templateId": linuxTemplate}
			delete(body, p)
			var res struct {
				Error struct {
					Message string
					Status  int
				}
			}
			if st := e.ts.do(t, k, "POST", "/machines/createSingleMachinePublic", body, &res); st != 400 ||
				res.Error.Status != 400 || !strings.Contains(res.Error.Message, p) {
				t.Errorf("create without %s: HTTP %d %+v", p, st, res)
			}
		}
	})
	g.run("CreateNoCapacity", func(t *testing.T) {
		// Take every P6000 slot of AMS1 away (hangar admin hosts update); nothing else uses AMS1.
		var hosts []struct {
			ID       string
			Capacity map[string]int
		}
		e.ts.admin(t, &hosts, "hosts", "list", "--region", ams1)
		if len(hosts) == 0 {
			t.Fatal("no hosts in AMS1")
		}
		for _, h := range hosts {
			args := []string{"hosts", "update", h.ID}
			h.Capacity["P6000"] = 0
			for typ, n := range h.Capacity {
				args = append(args, "--capacity", typ+"="+strconv.Itoa(n))
			}
			e.ts.admin(t, nil, args...)
		}
		m := e.ps(t, k, "machines", "availability", "--region", ams1, "--machineType", "P6000").object(t)
		want(t, "availability without capacity", m, "available", false)
		e.ps(t, k, createArgs("nodebad-capacity", "--region", ams1, "--machineType", "P6000")...).apiError(t, 400, "P6000")
		// Other types of the region are unaffected.
		want(t, "availability P5000 AMS1", e.ps(t, k, "machines", "availability", "--region", ams1, "--machineType", "P5000").object(t), "available", true)
	})

	t.Cleanup(func() {
		// Nothing was created by the rejected requests: no machine, no user.
		var ms []map[string]any
		e.ts.do(t, k, "GET", "/machines/getMachines", nil, &ms)
		for _, m := range ms {
			if strings.HasPrefix(strOr(m["name"]), "nodebad") {
				t.Errorf("a rejected create left machine %v (%v)", m["id"], m["name"])
			}
		}
		var us []map[string]any
		e.ts.do(t, k, "GET", "/users/getUsers", nil, &us)
		for _, u := range us {
			if strings.HasPrefix(strOr(u["email"]), "nodebad") {
				t.Errorf("a rejected create left user %v", u["email"])
			}
		}
	})
}
