package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// requireTool skips (fails with HANGAR_REQUIRE_TOOLS=1) when a tool the test needs is missing.
func requireTool(t *testing.T, what, hint string) {
	t.Helper()
	msg := what + " unavailable; " + hint
	if os.Getenv("HANGAR_REQUIRE_TOOLS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// consoleE2E finds node, chromium and the pinned playwright-core of tools/console-e2e.
func consoleE2E(t *testing.T) (node, script, chromium string) {
	t.Helper()
	hint := "run scripts/install-test-deps (Debian's chromium, npm ci in tools/console-e2e)"
	node, err := exec.LookPath("node")
	if err != nil {
		requireTool(t, "node", hint)
	}
	chromium = os.Getenv("HANGAR_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		requireTool(t, "chromium ("+chromium+")", hint)
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "tools", "console-e2e")
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		requireTool(t, "playwright-core", hint)
	}
	return node, filepath.Join(dir, "e2e.mjs"), chromium
}

// TestConsoleBrowser drives the web console of a real `hangar serve` in headless chromium
// (tools/console-e2e/e2e.mjs): sign-in, a create watched to ready without a reload, stop,
// start, destroy, a member's view, another team's machine, markup in a name, a form without
// its token, sign-out. Screenshots of each page go to $HANGAR_CONSOLE_SHOTS, or to the test's
// temporary directory.
func TestConsoleBrowser(t *testing.T) {
	node, script, chromium := consoleE2E(t)
	data := t.TempDir()
	p := startProc(t, data, "--sim-time-scale", "0.05", "--sim-serviceready-min", "300ms")
	ts := p.ts(readKey(t, data))
	teamA, teamB := ts.newTeam(t, "Acme"), ts.newTeam(t, "Rival")
	admin := ts.newAccount(t, teamA, "ada@acme.test", true)
	member := ts.newAccount(t, teamA, "max@acme.test", false)
	rival := ts.newAccount(t, teamB, "rita@rival.test", true)
	var other struct{ ID string }
	if st := ts.do(t, rival.Key, "POST", "/machines/createSingleMachinePublic", createBody("rival-box"), &other); st != 200 || other.ID == "" {
		t.Fatalf("create in team B: %d %v", st, other)
	}
	shots := os.Getenv("HANGAR_CONSOLE_SHOTS")
	if shots == "" {
		shots = filepath.Join(t.TempDir(), "shots")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = filepath.Dir(script)
	cmd.Env = append(os.Environ(), "HANGAR_URL="+p.url, "OPERATOR_KEY="+ts.Key, "CHROMIUM="+chromium, "SHOTS="+shots,
		"ADMIN_EMAIL="+admin.Email, "ADMIN_PASSWORD="+admin.Password,
		"MEMBER_EMAIL="+member.Email, "MEMBER_PASSWORD="+member.Password, "OTHER_MACHINE="+other.ID)
	out, err := cmd.CombinedOutput()
	t.Logf("e2e.mjs:\n%s", out)
	if err != nil {
		t.Fatalf("console e2e failed: %v\nserver log:\n%s", err, p.stderr.String())
	}
	t.Logf("screenshots in %s", shots)
	for _, name := range []string{"signin", "machines", "machine", "new-machine", "member-machines", "hosts", "usage", "audit"} {
		if _, err := os.Stat(filepath.Join(shots, name+".png")); err != nil {
			t.Errorf("screenshot %s: %v", name, err)
		}
	}
}
