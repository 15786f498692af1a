package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Helpers to run the real paperspace-node 0.2.4 CLI (tools/paperspace-node) against an
// in-process hangar serve; the scenario is in nodecli_test.go.

// psCLI locates node and the installed paperspace CLI.
type psCLI struct {
	node string // node executable
	bin  string // tools/paperspace-node/node_modules/.bin/paperspace
	home string // shared empty HOME for calls that do not log in
	cwd  string // shared empty working directory

	// sem bounds the node processes of non-urgent runs (each needs a core for ~0.6 s), so
	// the wide groups of independent calls fill the CPU without starving the chains.
	sem   chan struct{}
	calls atomic.Int64
	nanos atomic.Int64
}

// findPaperspaceCLI returns the CLI, or skips the test when node or the node_modules are
// missing (fails instead with HANGAR_REQUIRE_TOOLS=1).
func findPaperspaceCLI(t *testing.T) *psCLI {
	t.Helper()
	missing := func(why string) {
		t.Helper()
		msg := "paperspace-node CLI unavailable: " + why +
			"; run scripts/test or `npm ci --prefix tools/paperspace-node`"
		if os.Getenv("HANGAR_REQUIRE_TOOLS") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing(fmt.Sprintf("node is not on PATH (%v)", err))
	}
	root, err := repoRoot()
	if err != nil {
		missing(fmt.Sprintf("cannot find the repository root (%v)", err))
	}
	bin := filepath.Join(root, "tools", "paperspace-node", "node_modules", ".bin", "paperspace")
	if _, err := os.Stat(bin); err != nil {
		missing(bin + " is missing")
	}
	return &psCLI{node: node, bin: bin, home: t.TempDir(), cwd: t.TempDir(),
		sem: make(chan struct{}, min(max(runtime.NumCPU(), 2), 8))}
}

// repoRoot walks up from the working directory to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// psOpts are the environment of one CLI run.
type psOpts struct {
	host    string        // PAPERSPACE_CONFIG_HOST
	key     string        // PAPERSPACE_API_KEY; empty: not set
	home    string        // HOME; empty: the shared empty home
	dir     string        // working directory; empty: the shared empty directory
	timeout time.Duration // default 60s
	urgent  bool          // do not queue for a CPU slot (critical path, races with the simulated clock)
}

// psResult is the outcome of one CLI run.
type psResult struct {
	args   []string
	code   int
	stdout string
	stderr string
	took   time.Duration
}

func (r psResult) String() string {
	var b strings.Builder
	b.WriteString("$ paperspace")
	for _, a := range r.args {
		if a == "" || strings.ContainsAny(a, " ()+\"'") {
			a = "'" + a + "'"
		}
		b.WriteString(" " + a)
	}
	fmt.Fprintf(&b, "\nexit=%d took=%v", r.code, r.took.Round(10*time.Millisecond))
	b.WriteString("\n--- stdout:\n" + r.stdout + "--- stderr:\n" + r.stderr)
	return b.String()
}

// exec runs `node <bin> args...` with a clean environment: only PATH, HOME, the server, the
// key and AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE. stdin is /dev/null and the child has
// no controlling terminal, so a login prompt crashes instead of hanging.
func (c *psCLI) exec(t testing.TB, o psOpts, args ...string) psResult {
	t.Helper()
	if o.timeout == 0 {
		o.timeout = 60 * time.Second
	}
	if o.home == "" {
		o.home = c.home
	}
	if o.dir == "" {
		o.dir = c.cwd
	}
	// waitfor sleeps 5 s between polls: it does not take a CPU slot. The timeout starts once
	// the run has its slot, so that waiting in the queue on a loaded machine is not counted
	// against the CLI.
	if !o.urgent && (len(args) < 2 || args[1] != "waitfor") {
		c.sem <- struct{}{}
		defer func() { <-c.sem }()
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.node, append([]string{c.bin}, args...)...)
	cmd.Dir = o.dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + o.home,
		"PAPERSPACE_CONFIG_HOST=" + o.host,
		"AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE=1",
	}
	if o.key != "" {
		cmd.Env = append(cmd.Env, "PAPERSPACE_API_KEY="+o.key)
	}
	detach(cmd)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	r := psResult{args: args, stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	c.calls.Add(1)
	c.nanos.Add(int64(r.took))
	if ctx.Err() != nil {
		t.Fatalf("paperspace CLI did not finish within %v\n%s", o.timeout, r)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("run paperspace CLI: %v\n%s", err, r)
	}
	return r
}

// object asserts success (exit 0, empty stderr) and returns stdout as a JSON object.
func (r psResult) object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	r.success(t, &m)
	return m
}

// list asserts success and returns stdout as a JSON array of objects.
func (r psResult) list(t testing.TB) []map[string]any {
	t.Helper()
	var l []map[string]any
	r.success(t, &l)
	if l == nil {
		t.Fatalf("expected a JSON array, got null\n%s", r)
	}
	return l
}

// noContent asserts the `{}` a 204 prints.
func (r psResult) noContent(t testing.TB) {
	t.Helper()
	if m := r.object(t); len(m) != 0 {
		t.Fatalf("expected {} (HTTP 204), got %v\n%s", m, r)
	}
}

func (r psResult) success(t testing.TB, out any) {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("expected exit 0\n%s", r)
	}
	if r.stderr != "" {
		t.Errorf("unexpected stderr\n%s", r)
	}
	if err := json.Unmarshal([]byte(r.stdout), out); err != nil {
		t.Fatalf("stdout is not the expected JSON: %v\n%s", err, r)
	}
}

// apiError asserts the CLI's rendering of a server error: exit 1 and exactly
// {"error": <message containing want>, "status": status} on stdout.
func (r psResult) apiError(t testing.TB, status int, want string) string {
	t.Helper()
	if r.code != 1 {
		t.Fatalf("expected exit 1\n%s", r)
	}
	if r.stderr != "" {
		t.Errorf("unexpected stderr (crash?)\n%s", r)
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, r)
	}
	msg, _ := e["error"].(string)
	st, _ := e["status"].(float64)
	if len(e) != 2 || msg == "" || int(st) != status {
		t.Fatalf("expected {\"error\": msg, \"status\": %d}\n%s", status, r)
	}
	if !strings.Contains(strings.ToLower(msg), strings.ToLower(want)) {
		t.Errorf("error message %q does not mention %q\n%s", msg, want, r)
	}
	return msg
}

// clientError asserts an error the CLI raises itself (no request): exit 1 and exactly
// {"error": msg}.
func (r psResult) clientError(t testing.TB, msg string) {
	t.Helper()
	var e map[string]any
	if r.code != 1 || json.Unmarshal([]byte(r.stdout), &e) != nil || len(e) != 1 || e["error"] != msg {
		t.Fatalf("expected exit 1 and {\"error\": %q}\n%s", msg, r)
	}
}

// admin runs `hangar admin -o json <args>` in-process against ts and decodes its output.
func (ts *testServer) admin(t testing.TB, out any, args ...string) {
	t.Helper()
	var stdout, stderr syncBuffer
	full := append([]string{"admin", "--url", ts.URL, "--api-key", ts.Key, "-o", "json"}, args...)
	if code := run(context.Background(), full, &stdout, &stderr); code != 0 {
		t.Fatalf("hangar %s: exit %d\n%s%s", strings.Join(full[5:], " "), code, stdout.String(), stderr.String())
	}
	if out != nil {
		if err := json.Unmarshal([]byte(stdout.String()), out); err != nil {
			t.Fatalf("hangar %s: %v\n%s", strings.Join(full[5:], " "), err, stdout.String())
		}
	}
}

// account is a user with an API key.
type account struct {
	ID, Email, Password, Key string
}

// newAccount creates a user in team (admin or member) and a key for it.
func (ts *testServer) newAccount(t testing.TB, team, email string, admin bool) account {
	t.Helper()
	a := account{Email: email, Password: "pw-" + strings.SplitN(email, "@", 2)[0] + "-secret"}
	args := []string{"users", "create", "--team", team, "--email", email, "--password", a.Password,
		"--first-name", "First" + strings.SplitN(email, "@", 2)[0], "--last-name", "Last"}
	if admin {
		args = append(args, "--admin")
	}
	var u struct{ ID string }
	ts.admin(t, &u, args...)
	var k struct{ Key string }
	ts.admin(t, &k, "keys", "create", "--user", u.ID)
	if u.ID == "" || k.Key == "" {
		t.Fatalf("user %s: id %q key %q", email, u.ID, k.Key)
	}
	a.ID, a.Key = u.ID, k.Key
	return a
}

// newTeam creates a team and returns its handle.
func (ts *testServer) newTeam(t testing.TB, name string) string {
	t.Helper()
	var team struct{ ID string }
	ts.admin(t, &team, "teams", "create", "--name", name)
	return team.ID
}

// concurrent runs subtests in goroutines: t.Run may be called from several goroutines at
// once. Unlike t.Parallel, whose limit is -parallel (GOMAXPROCS, 2 on a small CI machine)
// for the whole test binary, this lets CLI calls that mostly wait (polls, node startup I/O)
// overlap; psCLI.sem still bounds the CPU work.
type concurrent struct {
	t  *testing.T
	wg sync.WaitGroup
}

// run starts the subtest name.
func (c *concurrent) run(name string, f func(t *testing.T)) {
	c.wg.Go(func() { c.t.Run(name, f) })
}

// wait returns when every started subtest has finished.
func (c *concurrent) wait() { c.wg.Wait() }
