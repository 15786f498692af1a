package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// adminAs runs `hangar admin` with key against ts and returns its exit code and output.
func (ts *testServer) adminAs(key string, args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	full := append([]string{"admin", "--url", ts.URL, "--api-key", key}, args...)
	code := run(context.Background(), full, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

type teamQuotas struct {
	ID     string
	Quotas []struct {
		Name   string
		Limit  int
		Source string
		Used   int
	}
}

func (q teamQuotas) of(t *testing.T, name string) (limit int, source string, used int) {
	t.Helper()
	for _, x := range q.Quotas {
		if x.Name == name {
			return x.Limit, x.Source, x.Used
		}
	}
	t.Fatalf("team %s shows no %s quota: %+v", q.ID, name, q)
	return 0, "", 0
}

// TestServeQuotas: `hangar serve --quota` sets the default, `hangar admin teams update
// --quota` a team's override (and `=default` clears it), `teams show` shows both with the
// usage, and a create over the quota is a 400 that names it, on the real server.
func TestServeQuotas(t *testing.T) {
	ts := startServer(t, "--quota", "networks=2", "--quota", "publicIps=unlimited")
	team := ts.newTeam(t, "Quota Co")
	admin := ts.newAccount(t, team, "admin@quota.test", true)
	other := ts.newAccount(t, ts.newTeam(t, "Other Co"), "admin@other.test", true)

	var q teamQuotas
	ts.admin(t, &q, "teams", "show", team)
	if l, s, u := q.of(t, "networks"); l != 2 || s != "default" || u != 0 {
		t.Fatalf("networks: limit %d source %s used %d, want the --quota default 2", l, s, u)
	}
	if l, s, _ := q.of(t, "publicIps"); l != -1 || s != "default" {
		t.Fatalf("publicIps: limit %d source %s, want unlimited by default", l, s)
	}
	if l, _, _ := q.of(t, "machines"); l != 100 {
		t.Fatalf("machines: limit %d, want the built-in 100", l)
	}

	network := func(key, name string) (int, string) {
		var out struct {
			Error struct{ Message string }
		}
		status := ts.do(t, key, "POST", "/networks", map[string]any{"name": name, "regionId": 1}, &out)
		return status, out.Error.Message
	}
	for i, name := range []string{"a", "b"} {
		if status, msg := network(admin.Key, name); status != 200 {
			t.Fatalf("network %d: %d %s", i, status, msg)
		}
	}
	want := "quota exceeded: team " + team + ` may have at most 2 networks (quota "networks")`
	if status, msg := network(admin.Key, "c"); status != 400 || msg != want {
		t.Fatalf("third network: %d %q, want 400 %q", status, msg, want)
	}
	if status, msg := network(other.Key, "theirs"); status != 200 {
		t.Fatalf("the other team's network: %d %s", status, msg)
	}

	ts.admin(t, &q, "teams", "update", team, "--quota", "networks=3", "--quota", "scripts=0")
	if l, s, u := q.of(t, "networks"); l != 3 || s != "team" || u != 2 {
		t.Fatalf("after update, networks: limit %d source %s used %d", l, s, u)
	}
	if status, msg := network(admin.Key, "c"); status != 200 {
		t.Fatalf("network under the override: %d %s", status, msg)
	}
	var out struct {
		Error struct{ Message string }
	}
	if status := ts.do(t, admin.Key, "POST", "/scripts/createScript", map[string]any{"scriptName": "s", "scriptText": "echo"}, &out); status != 400 ||
		!strings.Contains(out.Error.Message, `at most 0 scripts (quota "scripts")`) {
		t.Fatalf("script with scripts=0: %d %q", status, out.Error.Message)
	}

	code, text, errOut := ts.adminAs(ts.Key, "teams", "update", team, "--quota", "networks=default")
	if code != 0 || !strings.Contains(text, "networks   2          default  3") || !strings.Contains(text, "scripts    0          team     0") {
		t.Fatalf("teams update networks=default: exit %d\n%s%s", code, text, errOut)
	}
	code, text, errOut = ts.adminAs(ts.Key, "teams", "show", team)
	if code != 0 || !strings.Contains(text, "team "+team+" (Quota Co)") || !strings.Contains(text, "QUOTA") {
		t.Fatalf("teams show: exit %d\n%s%s", code, text, errOut)
	}
	if code, _, errOut = ts.adminAs(ts.Key, "teams", "update", team, "--quota", "gpus=1"); code == 0 || !strings.Contains(errOut, `unknown quota "gpus"`) {
		t.Fatalf("teams update gpus=1: exit %d, stderr %q", code, errOut)
	}
}

// TestServeReleasePublicIP: a team admin lists and releases, with the team's own key, a
// static IP kept after a destroy; an attached one is a 400, another team's a 404.
func TestServeReleasePublicIP(t *testing.T) {
	ts := startServer(t)
	team := ts.newTeam(t, "Keep Co")
	admin := ts.newAccount(t, team, "admin@keep.test", true)
	other := ts.newAccount(t, ts.newTeam(t, "Other Co"), "admin@other.test", true)
	var m struct {
		ID              string
		PublicIPAddress string `json:"publicIpAddress"`
	}
	if status := ts.do(t, admin.Key, "POST", "/machines/createSingleMachinePublic", map[string]any{"region": "East Coast (NY2)",
		"machineType": "C2", "size": 50, "billingType": "hourly", "machineName": "kept", "templateId": "tkni3aa4",
		"assignPublicIp": true}, &m); status != 200 || m.PublicIPAddress == "" {
		t.Fatalf("create: %d %+v", status, m)
	}
	code, _, errOut := ts.adminAs(admin.Key, "public-ips", "release", m.PublicIPAddress)
	if code == 0 || !strings.Contains(errOut, "is attached to machine "+m.ID) {
		t.Fatalf("release of an attached IP: exit %d, stderr %q", code, errOut)
	}
	if status := ts.do(t, admin.Key, "POST", "/machines/"+m.ID+"/destroyMachine", nil, nil); status != 204 {
		t.Fatalf("destroy: %d", status)
	}
	code, text, errOut := ts.adminAs(admin.Key, "public-ips", "list")
	if code != 0 || !strings.Contains(text, m.PublicIPAddress+"  "+team+"  -        static") {
		t.Fatalf("public-ips list as the team admin: exit %d\n%s%s", code, text, errOut)
	}
	code, _, errOut = ts.adminAs(other.Key, "public-ips", "release", m.PublicIPAddress)
	if code == 0 || !strings.Contains(errOut, "not found") {
		t.Fatalf("release by another team's admin: exit %d, stderr %q", code, errOut)
	}
	code, text, errOut = ts.adminAs(admin.Key, "public-ips", "release", m.PublicIPAddress)
	if code != 0 || text != "released public IP "+m.PublicIPAddress+" (team "+team+")\n" {
		t.Fatalf("release: exit %d\n%s%s", code, text, errOut)
	}
	var ips []any
	ts.admin(t, &ips, "public-ips", "list", "--team", team)
	if len(ips) != 0 {
		t.Fatalf("team's IPs after the release: %v", ips)
	}
	var audit []struct{ Action, Target string }
	ts.admin(t, &audit, "audit", "--action", "publicIps.release")
	if len(audit) != 3 {
		t.Fatalf("audit entries of publicIps.release: %+v, want 3 (two refused, one released)", audit)
	}
}

// TestServeBadQuotaFlag: a bad --quota stops the start with a message that says why.
func TestServeBadQuotaFlag(t *testing.T) {
	for _, tc := range []struct{ flag, want string }{
		{"gpus=1", `--quota: unknown quota "gpus"`},
		{"networks=-3", `--quota: quota networks: quota limit "-3" must be a count`},
		{"networks", `--quota: quota "networks" must be NAME=N`},
	} {
		srv, _, err := startArgs(t, t.Context(), "serve", "--listen", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "d"),
			"--quota", tc.flag)
		if err == nil {
			srv.stop()
			_ = srv.wait()
			t.Fatalf("--quota %s: serve started", tc.flag)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("--quota %s: %v, want %q", tc.flag, err, tc.want)
		}
	}
	srv, _, err := startArgs(t, t.Context(), "serve", "--listen", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "d"),
		"--quota", "networks=1", "--quota", "networks=2")
	if err == nil {
		srv.stop()
		_ = srv.wait()
		t.Fatal("--quota twice: serve started")
	}
	if !strings.Contains(err.Error(), "networks is given twice") {
		t.Errorf("--quota twice: %v", err)
	}
}
