package cidata

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// LoginUser is the guest's login user, as on Paperspace's Linux machines.
const LoginUser = "paperspace"

// StatusFile is where the startup script's wrapper records, on every run, "rc=<exit status>
// time=<unix seconds>" inside the guest (under /run: it describes the current boot only).
const StatusFile = "/run/hangar/startup-script.status"

// Seed is what a machine learns at boot.
type Seed struct {
	MachineID string       // instance-id
	Hostname  string       // local-hostname
	IP        netip.Prefix // the machine's private address with its network's prefix length; zero for none
	Gateway   netip.Addr   // default route; zero for none
	MAC       string       // of the interface network-config configures; empty matches eth0 by name
	Script    string       // startup script, empty for none
	RunOnce   bool         // run Script on the first boot of the disk only
	User      string       // the email of the user the machine is assigned to, for information
	// SSHKeys are the OpenSSH public keys (one line each) of the machine's assigned user,
	// authorized for LoginUser.
	SSHKeys []string
}

// Files returns the seed's files by name.
func (s Seed) Files() map[string]string {
	return map[string]string{
		"meta-data":      fmt.Sprintf("instance-id: %s\nlocal-hostname: %s\n", yamlString(s.MachineID), yamlString(s.Hostname)),
		"network-config": s.networkConfig(),
		"user-data":      s.UserData(),
		"hangar.env":     s.env(),
	}
}

// boundary separates the parts of user-data; no part contains it (scripts are embedded in
// base64, keys are single lines checked to be free of it).
const boundary = "==HANGAR-USER-DATA-7c1f0b=="

// UserData is the seed's user-data: a MIME multi-part message (cloud-init's documented
// format) with a #cloud-config part, a per-boot part installing the SSH keys, and the startup
// script's part, per boot (text/x-shellscript-per-boot) or, for runOnce, per instance
// (text/x-shellscript).
func (s Seed) UserData() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=\"%s\"\nMIME-Version: 1.0\n", boundary)
	part := func(contentType, filename, body string) {
		fmt.Fprintf(&b, "\n--%s\nContent-Type: %s; charset=\"us-ascii\"\nMIME-Version: 1.0\n"+
			"Content-Transfer-Encoding: 7bit\nContent-Disposition: attachment; filename=\"%s\"\n\n%s",
			boundary, contentType, filename, body)
	}
	part("text/cloud-config", "cloud-config", s.cloudConfig())
	part("text/x-shellscript-per-boot", "ssh-keys", s.keysScript())
	if s.Script != "" {
		kind := "text/x-shellscript-per-boot"
		if s.RunOnce {
			kind = "text/x-shellscript"
		}
		part(kind, "startup-script", s.scriptWrapper())
	}
	fmt.Fprintf(&b, "\n--%s--\n", boundary)
	return b.String()
}

// cloudConfig is the #cloud-config part: the host name, the login user with sudo and its
// keys (cloud-init creates it on the first boot), no password logins.
func (s Seed) cloudConfig() string {
	var b strings.Builder
	b.WriteString("#cloud-config\n")
	fmt.Fprintf(&b, "hostname: %s\npreserve_hostname: false\nmanage_etc_hosts: true\n", yamlString(s.Hostname))
	b.WriteString("locale: C.UTF-8\nssh_pwauth: false\ndisable_root: true\n")
	fmt.Fprintf(&b, "users:\n  - name: %s\n    gecos: Paperspace\n    shell: /bin/bash\n"+
		"    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n    groups: [sudo]\n    lock_passwd: true\n", LoginUser)
	if len(s.SSHKeys) > 0 {
		b.WriteString("    ssh_authorized_keys:\n")
		for _, k := range s.SSHKeys {
			fmt.Fprintf(&b, "      - %s\n", yamlString(k))
		}
	}
	return b.String()
}

// keysScript rewrites the login user's authorized_keys on every boot, so that keys added to
// or removed from the user reach a machine on its next boot (cloud-config's users run once).
func (s Seed) keysScript() string {
	var keys strings.Builder
	for _, k := range s.SSHKeys {
		keys.WriteString(k + "\n")
	}
	return fmt.Sprintf(`#!/bin/sh
# Hangar: the SSH keys of the machine's user for %[1]s, on every boot.
set -e
home=$(getent passwd %[1]s | cut -d: -f6)
[ -n "$home" ] || exit 0
install -d -m 0700 -o %[1]s -g %[1]s "$home/.ssh"
echo '%[2]s' | base64 -d > "$home/.ssh/authorized_keys.new"
chown %[1]s:%[1]s "$home/.ssh/authorized_keys.new"
chmod 0600 "$home/.ssh/authorized_keys.new"
mv "$home/.ssh/authorized_keys.new" "$home/.ssh/authorized_keys"
`, LoginUser, base64.StdEncoding.EncodeToString([]byte(keys.String())))
}

// scriptWrapper runs the startup script (as root, through its #! interpreter or sh) and records
// its exit status and time in StatusFile, where Hangar reads it through the guest agent; it
// exits with the script's status, so cloud-init reports a failure too. The script is carried
// in base64, so any bytes survive the MIME part.
func (s Seed) scriptWrapper() string {
	enc := base64.StdEncoding.EncodeToString([]byte(s.Script))
	var lines strings.Builder
	for len(enc) > 76 {
		lines.WriteString(enc[:76] + "\n")
		enc = enc[76:]
	}
	lines.WriteString(enc + "\n")
	return fmt.Sprintf(`#!/bin/sh
# Hangar: the machine's startup script, run and its exit status recorded in %[1]s.
mkdir -p /run/hangar
base64 -d > /run/hangar/startup-script <<'HANGAR_SCRIPT_END'
%[2]sHANGAR_SCRIPT_END
# Run through its #! interpreter (/run may be mounted noexec), or sh without one.
interp=sh
if [ "$(head -c 2 /run/hangar/startup-script)" = '#!' ]; then
  interp=$(head -n 1 /run/hangar/startup-script | cut -c3-)
fi
# $interp is split into the interpreter and its optional argument, as the kernel does.
$interp /run/hangar/startup-script </dev/null
rc=$?
echo "rc=$rc time=$(date +%%s)" > %[1]s.tmp
mv %[1]s.tmp %[1]s
exit $rc
`, StatusFile, lines.String())
}

// networkConfig is network-config version 2: the interface with the machine's MAC (named
// eth0) gets the private address and the default route; no DHCP.
func (s Seed) networkConfig() string {
	var b strings.Builder
	b.WriteString("version: 2\nethernets:\n  eth0:\n")
	if s.MAC != "" {
		fmt.Fprintf(&b, "    match:\n      macaddress: %s\n    set-name: eth0\n", yamlString(strings.ToLower(s.MAC)))
	}
	b.WriteString("    dhcp4: false\n    dhcp6: false\n")
	if s.IP.IsValid() {
		fmt.Fprintf(&b, "    addresses:\n      - %s\n", s.IP)
		if s.Gateway.IsValid() {
			fmt.Fprintf(&b, "    routes:\n      - to: 0.0.0.0/0\n        via: %s\n", s.Gateway)
		}
	}
	return b.String()
}

// ValidSSHKey reports whether k can go into a seed: one line, no control characters.
// (Callers check it is an OpenSSH public key.)
func ValidSSHKey(k string) bool {
	if k == "" || strings.Contains(k, boundary) {
		return false
	}
	for _, r := range k {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
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
