package main

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// runHangar runs `hangar args…` in-process and returns its exit code and output.
func runHangar(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersionFlag(t *testing.T) {
	code, out, errOut := runHangar(t, "--version")
	if code != 0 || errOut != "" {
		t.Fatalf("--version: exit %d, stderr %q", code, errOut)
	}
	if want := version() + "\n"; out != want {
		t.Fatalf("--version printed %q, want %q", out, want)
	}
	if !regexp.MustCompile(`^hangar \S+`).MatchString(out) {
		t.Fatalf("--version printed %q", out)
	}
}

func TestVersionOf(t *testing.T) {
	for _, c := range []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "hangar devel"},
		{"go run", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "hangar", Version: "(devel)"}},
			"hangar devel go1.26.8"},
		{"tagged", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "hangar", Version: "v1.2.3"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "43b005d89c9e0123456789abcdef012345678901"},
				{Key: "vcs.time", Value: "2026-12-03T07:42:25Z"}, {Key: "vcs.modified", Value: "true"}}},
			"hangar v1.2.3 (43b005d89c9e 2026-12-03T07:42:25Z, modified) go1.26.8"},
		{"pseudo-version", &debug.BuildInfo{GoVersion: "go1.26.8",
			Main: debug.Module{Path: "hangar", Version: "v0.0.0-20261203074225-43b005d89c9e"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "43b005d89c9e0123456789abcdef012345678901"},
				{Key: "vcs.time", Value: "2026-12-03T07:42:25Z"}}},
			"hangar v0.0.0-20261203074225-43b005d89c9e go1.26.8"},
		{"revision without version", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "hangar", Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "43b005d89c9e0123"}}},
			"hangar devel (43b005d89c9e) go1.26.8"},
	} {
		if got := versionOf(c.info); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestHelpCommand(t *testing.T) {
	code, out, errOut := runHangar(t, "help")
	if code != 0 || errOut != "" {
		t.Fatalf("help: exit %d, stderr %q", code, errOut)
	}
	_, want, _ := runHangar(t, "--help")
	if out != want || !strings.Contains(out, "Usage: hangar <command>") || !strings.Contains(out, "serve") {
		t.Fatalf("help printed %q, --help %q", out, want)
	}
	code, out, errOut = runHangar(t, "help", "admin", "keys")
	if code != 0 || errOut != "" || !strings.Contains(out, "Usage: hangar admin keys <command>") {
		t.Fatalf("help admin keys: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut = runHangar(t, "help", "bogus"); code == 0 || !strings.Contains(errOut, "bogus") {
		t.Fatalf("help bogus: exit %d, stderr %q", code, errOut)
	}
}

func TestBareHangarPointsToHelp(t *testing.T) {
	code, out, errOut := runHangar(t)
	if code != 2 || out != "" {
		t.Fatalf("bare hangar: exit %d, stdout %q", code, out)
	}
	if !strings.Contains(errOut, "hangar --help") || strings.Count(errOut, "\n") != 1 {
		t.Fatalf("bare hangar printed %q, want one line pointing to hangar --help", errOut)
	}
}

func TestAdminServerNotReachable(t *testing.T) {
	// A loopback port nobody listens on: bind one, then close it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	code, out, errOut := runHangar(t, "admin", "teams", "list", "--url", url, "--api-key", "k")
	if code != 1 || out != "" {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
	want := "hangar: the server is not reachable at " + url + ": is `hangar serve` running there?"
	if !strings.HasPrefix(errOut, want) || strings.Contains(errOut, "/hangar/v1/teams") {
		t.Fatalf("stderr %q, want it to start with %q and not name the request", errOut, want)
	}
}

// TestServeLogsTransitions checks that at the default log level a server logs every state a
// machine goes through, one info line each with the machine, the states and the host.
func TestServeLogsTransitions(t *testing.T) {
	ts := startServer(t, "--log-level", "info")
	var m map[string]any
	if st := ts.do(t, ts.Key, "POST", "/machines/createSingleMachinePublic", createBody("logged"), &m); st != 200 {
		t.Fatalf("create: %d %v", st, m)
	}
	id := m["id"].(string)
	ts.waitState(t, ts.Key, id, "ready", 20*time.Second)
	var hosts []map[string]any
	if st := ts.do(t, ts.Key, "GET", "/hangar/v1/hosts", nil, &hosts); st != 200 {
		t.Fatalf("hosts: %d", st)
	}
	isHost := map[string]bool{}
	for _, h := range hosts {
		isHost[h["id"].(string)] = true
	}
	// The line is written after the commit, which the state read may just have overtaken.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(ts.out.String(), "to=ready") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	logs := ts.out.String()
	for _, step := range [][2]string{{"new", "provisioning"}, {"provisioning", "starting"},
		{"starting", "serviceready"}, {"serviceready", "ready"}} {
		re := regexp.MustCompile(`(?m)^time=\S+ level=INFO msg="machine state" machine=` + id +
			` from=` + step[0] + ` to=` + step[1] + ` host=(\S*)( request_id=\S+)?$`)
		got := re.FindAllStringSubmatch(logs, -1)
		if len(got) != 1 {
			t.Fatalf("%d lines for %s → %s of %s, want 1; log:\n%s", len(got), step[0], step[1], id, logs)
		}
		if !isHost[got[0][1]] {
			t.Errorf("%s → %s logged host %q, which is no host's id (%v)", step[0], step[1], got[0][1], isHost)
		}
	}
}
