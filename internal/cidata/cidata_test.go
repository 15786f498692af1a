package cidata_test

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"hangar/internal/cidata"
)

func TestFiles(t *testing.T) {
	s := cidata.Seed{
		MachineID: "ps123", Hostname: `it's "odd"`, User: "u1",
		IP: netip.MustParsePrefix("10.64.0.5/24"), Gateway: netip.MustParseAddr("10.64.0.1"),
		MAC: "52:54:00:00:00:01", Script: "#!/bin/sh\necho hi\n", RunOnce: true,
	}
	files := s.Files()
	want := map[string]string{
		"meta-data": "instance-id: \"ps123\"\nlocal-hostname: \"it's \\\"odd\\\"\"\n",
		"user-data": "#!/bin/sh\necho hi\n",
		"network-config": "version: 1\nconfig:\n  - type: physical\n    name: eth0\n" +
			"    mac_address: \"52:54:00:00:00:01\"\n    subnets:\n      - type: static\n" +
			"        address: 10.64.0.5/24\n        gateway: 10.64.0.1\n",
	}
	for name, content := range want {
		if files[name] != content {
			t.Errorf("%s =\n%s\nwant\n%s", name, files[name], content)
		}
	}
	if _, ok := (cidata.Seed{MachineID: "ps1"}).Files()["user-data"]; ok {
		t.Error("a seed without a script has user-data")
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
