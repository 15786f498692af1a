package cidata

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Seed is what a machine learns at boot.
type Seed struct {
	MachineID string       // instance-id
	Hostname  string       // local-hostname
	IP        netip.Prefix // the machine's private address with its network's prefix length; zero for none
	Gateway   netip.Addr   // default route; zero for none
	MAC       string       // of the interface network-config configures; empty matches eth0 by name
	Script    string       // startup script (user-data), empty for none
	RunOnce   bool         // run Script on the first boot of the disk only
	User      string       // the user the machine is assigned to, for information
}

// Files returns the seed's files by name.
func (s Seed) Files() map[string]string {
	files := map[string]string{
		"meta-data":      fmt.Sprintf("instance-id: %s\nlocal-hostname: %s\n", yamlString(s.MachineID), yamlString(s.Hostname)),
		"network-config": s.networkConfig(),
		"hangar.env":     s.env(),
	}
	if s.Script != "" {
		files["user-data"] = s.Script
	}
	return files
}

func (s Seed) networkConfig() string {
	var b strings.Builder
	b.WriteString("version: 1\nconfig:\n  - type: physical\n    name: eth0\n")
	if s.MAC != "" {
		fmt.Fprintf(&b, "    mac_address: %s\n", yamlString(s.MAC))
	}
	if s.IP.IsValid() {
		fmt.Fprintf(&b, "    subnets:\n      - type: static\n        address: %s\n", s.IP)
		if s.Gateway.IsValid() {
			fmt.Fprintf(&b, "        gateway: %s\n", s.Gateway)
		}
	}
	return b.String()
}

func (s Seed) env() string {
	runOnce := "0"
	if s.RunOnce {
		runOnce = "1"
	}
	vars := [][2]string{
		{"HANGAR_MACHINE_ID", s.MachineID},
		{"HANGAR_HOSTNAME", s.Hostname},
		{"HANGAR_IP", ""},
		{"HANGAR_GATEWAY", ""},
		{"HANGAR_SCRIPT_RUN_ONCE", runOnce},
		{"HANGAR_USER", s.User},
	}
	if s.IP.IsValid() {
		vars[2][1] = s.IP.String()
	}
	if s.Gateway.IsValid() {
		vars[3][1] = s.Gateway.String()
	}
	var b strings.Builder
	for _, kv := range vars {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], shellQuote(kv[1]))
	}
	return b.String()
}

// shellQuote quotes v for a POSIX shell.
func shellQuote(v string) string { return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'" }

// yamlString quotes v as a YAML double-quoted scalar (JSON string syntax is valid YAML).
func yamlString(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// WriteISO writes the seed as an ISO 9660 image (volume label cidata, Rock Ridge and Joliet
// names) at path with genisoimage.
func (s Seed) WriteISO(ctx context.Context, path string) error {
	dir, err := os.MkdirTemp(filepath.Dir(path), ".cidata-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	files := s.Files()
	names := make([]string, 0, len(files))
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return err
		}
		names = append(names, name)
	}
	sort.Strings(names)
	args := append([]string{"-quiet", "-output", path, "-volid", "cidata", "-joliet", "-rock"}, names...)
	cmd := exec.CommandContext(ctx, "genisoimage", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("genisoimage: %v: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}
