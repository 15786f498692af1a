package cidata_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hangar/internal/cidata"
)

func TestFiles(t *testing.T) {
	s := cidata.Seed{
		MachineID: "ps123", Hostname: `it's "odd"`, User: "u1",
		IP: netip.MustParsePrefix("10.64.0.5/24"), Gateway: netip.MustParseAddr("10.64.0.1"),
		MAC: "52:54:00:00:00:0A", Script: "#!/bin/sh\necho hi\n", RunOnce: true,
	}
	files := s.Files()
	want := map[string]string{
		"meta-data": "instance-id: \"ps123\"\nlocal-hostname: \"it's \\\"odd\\\"\"\n",
		"network-config": "version: 2\nethernets:\n  eth0:\n    match:\n      macaddress: \"52:54:00:00:00:0a\"\n" +
			"    set-name: eth0\n    dhcp4: false\n    dhcp6: false\n    addresses:\n      - 10.64.0.5/24\n" +
			"    routes:\n      - to: 0.0.0.0/0\n        via: 10.64.0.1\n",
	}
	for name, content := range want {
		if files[name] != content {
			t.Errorf("%s =\n%s\nwant\n%s", name, files[name], content)
		}
	}
	if nc := (cidata.Seed{MachineID: "ps1"}).Files()["network-config"]; strings.Contains(nc, "addresses") || strings.Contains(nc, "match") {
		t.Errorf("a seed without address or MAC configures one:\n%s", nc)
	}
}

// parts splits user-data as cloud-init does (a MIME multi-part message) into content types
// and bodies by filename.
func parts(t *testing.T, userData string) (types, bodies map[string]string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(userData))
	if err != nil {
		t.Fatal(err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("user-data is %q (%v), want multipart/mixed", mt, err)
	}
	types, bodies = map[string]string{}, map[string]string{}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			return types, bodies
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		types[p.FileName()], bodies[p.FileName()] = ct, string(b)
	}
}

// TestUserData checks the multi-part user-data: its parts and their cloud-init content
// types (per-boot or per-instance script), the login user with the keys.
func TestUserData(t *testing.T) {
	keys := []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAbc ada@example.com", "ssh-rsa AAAAB3Nza x"}
	for _, runOnce := range []bool{false, true} {
		s := cidata.Seed{MachineID: "ps1", Hostname: "web-1", Script: "echo hi\n", RunOnce: runOnce, SSHKeys: keys}
		types, bodies := parts(t, s.Files()["user-data"])
		wantScript := "text/x-shellscript-per-boot"
		if runOnce {
			wantScript = "text/x-shellscript"
		}
		want := map[string]string{"cloud-config": "text/cloud-config", "ssh-keys": "text/x-shellscript-per-boot", "startup-script": wantScript}
		if fmt.Sprint(types) != fmt.Sprint(want) {
			t.Errorf("runOnce %v: parts %v, want %v", runOnce, types, want)
		}
		cc := bodies["cloud-config"]
		for _, line := range []string{"#cloud-config\n", "hostname: \"web-1\"\n", "  - name: paperspace\n",
			"    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n", "    ssh_authorized_keys:\n      - \"" + keys[0] + "\"\n      - \"" + keys[1] + "\"\n"} {
			if !strings.Contains(cc, line) {
				t.Errorf("cloud-config lacks %q:\n%s", line, cc)
			}
		}
	}
	types, _ := parts(t, cidata.Seed{MachineID: "ps1", Hostname: "h"}.Files()["user-data"])
	if _, ok := types["startup-script"]; ok {
		t.Error("a seed without a script has a startup-script part")
	}
}

// TestScriptWrapper runs the startup-script part in a real shell (with its status file moved
// into a temporary directory): the script runs, with or without a #! line, the wrapper exits
// with its status and records it with the time of the run.
func TestScriptWrapper(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, tc := range []struct {
		script string
		rc     int
	}{
		{"#!/bin/sh\necho \"$0 ran\" > out; exit 3\n", 3},
		{"echo 'no shebang, quotes \"ok\"' > out\n", 0},
		{"#!/usr/bin/env sh\necho \"env $0\" > out\n", 0},
	} {
		dir := t.TempDir()
		_, bodies := parts(t, cidata.Seed{MachineID: "ps1", Hostname: "h", Script: tc.script}.Files()["user-data"])
		wrapper := strings.ReplaceAll(bodies["startup-script"], "/run/hangar", dir)
		before := time.Now().Unix()
		cmd := exec.Command(sh, "-c", wrapper)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if got := cmd.ProcessState.ExitCode(); got != tc.rc {
			t.Errorf("%q: wrapper exit %d (%v: %s), want %d", tc.script, got, err, out, tc.rc)
		}
		if b, err := os.ReadFile(filepath.Join(dir, "out")); err != nil || len(b) == 0 {
			t.Errorf("%q: the script did not run: %v", tc.script, err)
		}
		st, err := os.ReadFile(filepath.Join(dir, filepath.Base(cidata.StatusFile)))
		if err != nil {
			t.Fatal(err)
		}
		var rc int
		var at int64
		if _, err := fmt.Sscanf(string(st), "rc=%d time=%d", &rc, &at); err != nil || rc != tc.rc || at < before {
			t.Errorf("%q: status %q (%v), want rc=%d and a time after %d", tc.script, st, err, tc.rc, before)
		}
	}
}

// TestKeysScript runs the ssh-keys part against a fake getent/install/chown so that the
// authorized_keys it writes can be read back: exactly the seed's keys, none when the user
// has none (removed keys are removed).
func TestKeysScript(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, keys := range [][]string{{"ssh-ed25519 AAAA one", "ssh-rsa BBBB two"}, nil} {
		dir := t.TempDir()
		bin := filepath.Join(dir, "bin")
		home := filepath.Join(dir, "home")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		fakes := map[string]string{
			"getent":  "#!/bin/sh\n[ \"$2\" = paperspace ] && echo \"paperspace:x:1000:1000::" + home + ":/bin/bash\"\n",
			"install": "#!/bin/sh\nfor a; do d=$a; done; mkdir -p \"$d\"\n",
			"chown":   "#!/bin/sh\ntrue\n",
		}
		for name, body := range fakes {
			if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		_, bodies := parts(t, cidata.Seed{MachineID: "ps1", Hostname: "h", SSHKeys: keys}.Files()["user-data"])
		cmd := exec.Command(sh, "-c", bodies["ssh-keys"])
		cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"))
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		got, err := os.ReadFile(filepath.Join(home, ".ssh", "authorized_keys"))
		if err != nil {
			t.Fatal(err)
		}
		want := ""
		for _, k := range keys {
			want += k + "\n"
		}
		if string(got) != want {
			t.Errorf("authorized_keys %q, want %q", got, want)
		}
	}
}

func TestValidSSHKey(t *testing.T) {
	for k, want := range map[string]bool{
		"ssh-ed25519 AAAA x": true, "": false, "a\nb": false, "a\rb": false,
		"x ==HANGAR-USER-DATA-7c1f0b==": false,
	} {
		if got := cidata.ValidSSHKey(k); got != want {
			t.Errorf("ValidSSHKey(%q) = %v, want %v", k, got, want)
		}
	}
}

// TestEnvSourcedByShell checks that hangar.env, sourced by a real shell as the guest does,
// gives back every value unchanged, quotes included.
func TestEnvSourcedByShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	s := cidata.Seed{
		MachineID: "ps123", Hostname: `a'b"c $(x)`, User: "u 1",
		IP: netip.MustParsePrefix("10.64.0.5/24"), Gateway: netip.MustParseAddr("10.64.0.1"), RunOnce: true,
	}
	env := filepath.Join(t.TempDir(), "hangar.env")
	if err := os.WriteFile(env, []byte(s.Files()["hangar.env"]), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sh, "-c", `. "$1"; printf '%s|' "$HANGAR_MACHINE_ID" "$HANGAR_HOSTNAME" "$HANGAR_IP" "$HANGAR_GATEWAY" "$HANGAR_SCRIPT_RUN_ONCE" "$HANGAR_USER"`, "sh", env).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if want := `ps123|a'b"c $(x)|10.64.0.5/24|10.64.0.1|1|u 1|`; string(out) != want {
		t.Errorf("sourced values %q, want %q", out, want)
	}
	none := cidata.Seed{}.Files()["hangar.env"]
	if !strings.Contains(none, "HANGAR_IP=''\n") || !strings.Contains(none, "HANGAR_SCRIPT_RUN_ONCE='0'\n") {
		t.Errorf("empty seed env:\n%s", none)
	}
}

func TestWriteISOLabel(t *testing.T) {
	if _, err := exec.LookPath("genisoimage"); err != nil {
		if os.Getenv("HANGAR_REQUIRE_TOOLS") == "1" {
			t.Fatal("genisoimage missing (scripts/install-test-deps installs it)")
		}
		t.Skip("genisoimage missing (scripts/install-test-deps installs it)")
	}
	iso := filepath.Join(t.TempDir(), "seed.iso")
	s := cidata.Seed{MachineID: "ps9", Hostname: "h", Script: "#!/bin/sh\ntrue\n"}
	if err := s.WriteISO(context.Background(), iso); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(iso)
	if err != nil {
		t.Fatal(err)
	}
	// The primary volume descriptor is sector 16; its volume identifier is bytes 40..71.
	pvd := data[16*2048:]
	if pvd[0] != 1 || string(pvd[1:6]) != "CD001" {
		t.Fatalf("no primary volume descriptor")
	}
	if label := string(bytes.TrimRight(pvd[40:72], " ")); label != "cidata" {
		t.Errorf("volume label %q, want cidata", label)
	}
	for _, content := range s.Files() {
		if !bytes.Contains(data, []byte(content)) {
			t.Errorf("ISO lacks %q", content)
		}
	}
}
