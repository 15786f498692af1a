package qemu

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Seed is what a machine's NoCloud seed tells the guest.
type Seed struct {
	MachineID string
	Hostname  string
	IP        string // CIDR form, e.g. 10.64.0.5/24; "" when the machine has no NIC
	Gateway   string
	Script    string // startup script; "" for none
	RunOnce   bool
	User      string // the assigned user's email
}

// Files returns the files of the cidata volume: meta-data, user-data (only with a script),
// network-config (v1, static) and hangar.env (shell KEY=VALUE lines for minimal guests).
func (s Seed) Files() map[string]string {
	f := map[string]string{
		"meta-data": fmt.Sprintf("instance-id: %s\nlocal-hostname: %s\n", s.MachineID, s.Hostname),
	}
	if s.Script != "" {
		f["user-data"] = s.Script
	}
	if s.IP != "" {
		var b strings.Builder
		b.WriteString("version: 1\nconfig:\n  - type: physical\n    name: eth0\n    subnets:\n      - type: static\n")
		fmt.Fprintf(&b, "        address: %s\n", s.IP)
		if s.Gateway != "" {
			fmt.Fprintf(&b, "        gateway: %s\n", s.Gateway)
		}
		f["network-config"] = b.String()
	}
	once := "0"
	if s.RunOnce {
		once = "1"
	}
	env := [][2]string{{"HANGAR_MACHINE_ID", s.MachineID}, {"HANGAR_HOSTNAME", s.Hostname}, {"HANGAR_IP", s.IP},
		{"HANGAR_GATEWAY", s.Gateway}, {"HANGAR_SCRIPT_RUN_ONCE", once}, {"HANGAR_USER", s.User}}
	var b strings.Builder
	for _, kv := range env {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], shellQuote(kv[1]))
	}
	f["hangar.env"] = b.String()
	return f
}

// shellQuote quotes v for a POSIX shell.
func shellQuote(v string) string { return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'" }

// Hostname turns a machine name into a valid host name (RFC 1123 label), falling back to the
// machine id.
func Hostname(name, id string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
	}
	h := strings.Trim(b.String(), "-")
	if len(h) > 63 {
		h = strings.Trim(h[:63], "-")
	}
	if h == "" {
		return id
	}
	return h
}

// withPrefix returns ip in CIDR form with the prefix length of cidr ("" if either is bad).
func withPrefix(ip, cidr string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return ""
	}
	return netip.PrefixFrom(a, p.Bits()).String()
}

// writeSeed writes the cidata ISO for s to path (atomically: a running QEMU keeps reading the
// file it opened).
func writeSeed(genisoimage, path string, s Seed) error {
	dir, err := os.MkdirTemp(filepath.Dir(path), ".seed-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	files := s.Files()
	names := make([]string, 0, len(files))
	for n, body := range files {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(body), 0o600); err != nil {
			return err
		}
		names = append(names, n)
	}
	sort.Strings(names)
	tmp := path + ".tmp"
	cmd := exec.Command(genisoimage, append([]string{"-quiet", "-output", tmp, "-volid", "cidata", "-joliet", "-rock"}, names...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("genisoimage: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return os.Rename(tmp, path)
}
