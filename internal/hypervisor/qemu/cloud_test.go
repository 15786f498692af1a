package qemu

import (
	"context"
	"strings"
	"testing"
	"time"

	"hangar/internal/cloudimage"
	"hangar/internal/core"
	"hangar/internal/hypervisor"
	"hangar/internal/hypervisor/qemu/qga"
	"hangar/internal/testimage"
)

// guestFile reads a file in the guest through its agent.
func guestFile(t *testing.T, d *Driver, m core.Machine, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := qga.Dial(ctx, d.dir(m).qga())
	if err != nil {
		t.Fatalf("guest agent: %v", err)
	}
	defer c.Close()
	b, err := c.ReadFile(ctx, path, 1<<20)
	if err != nil {
		t.Fatalf("guest file %s: %v", path, err)
	}
	return string(b)
}

// TestCloudImageLifecycle boots the Debian cloud image that scripts/build-cloud-image makes
// (a stock cloud-init image, through UEFI) under the driver as the engine would: ready comes
// from the guest agent and cloud-init's result, the startup script's run time and exit status
// from the guest, the login user has the machine user's keys, the host name is the machine's;
// a reboot reruns the per-boot script; stop is an ACPI power-down.
func TestCloudImageLifecycle(t *testing.T) {
	testimage.RequireTools(t, "qemu-system-x86_64", "qemu-img", "genisoimage")
	image := cloudimage.Ensure(t)
	d, err := New(Config{Dir: shortDir(t), DefaultRAMMB: 1024, Firmware: cloudimage.Firmware,
		FirmwareVars: "/usr/share/OVMF/OVMF_VARS_4M.fd"})
	if err != nil {
		t.Fatal(err)
	}
	m := core.Machine{ID: "pscloud1", Name: "Cloud Box", MachineType: "C1", SizeGB: 10}
	key := "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGz0l6ZCdZ3o0mDAIWnD0Nnqf6jFJvTnUzPpOk0BKSVp ada@example.com"
	req := hypervisor.Request{Machine: m, Template: core.Template{ID: "tdeb", OS: "Debian 12", Image: image},
		Script:  &core.Script{Text: "#!/bin/bash\necho \"ran $(hostname)\" >> /root/startup.log\nexit 4\n"},
		SSHKeys: []string{key}}
	t.Cleanup(func() { _ = d.Destroy(context.Background(), m) })

	step(t, d, req, core.StateProvisioning)
	step(t, d, req, core.StateStarting)
	before := time.Now().Add(-5 * time.Minute)
	res := step(t, d, req, core.StateServiceReady)
	if res.Facts.ScriptRan == nil || res.Facts.ScriptRan.Before(before) || res.Facts.ScriptRan.After(time.Now().Add(time.Minute)) {
		t.Errorf("ScriptRan = %v, want the guest's time of the run", res.Facts.ScriptRan)
	}
	if got := d.ScriptExit(m); got != "4" {
		t.Errorf("script exit status %q, want 4", got)
	}
	if got := guestFile(t, d, m, "/root/startup.log"); got != "ran cloud-box\n" {
		t.Errorf("startup.log = %q, want one run on host cloud-box", got)
	}
	if got := guestFile(t, d, m, "/home/paperspace/.ssh/authorized_keys"); got != key+"\n" {
		t.Errorf("paperspace's authorized_keys = %q", got)
	}
	if got := guestFile(t, d, m, "/etc/hostname"); strings.TrimSpace(got) != "cloud-box" {
		t.Errorf("/etc/hostname = %q", got)
	}

	// A reboot: the per-boot script runs again.
	step(t, d, req, core.StateRestarting)
	res = step(t, d, req, core.StateServiceReady)
	if res.Facts.ScriptRan == nil {
		t.Error("the per-boot script did not report a run after the reboot")
	}
	if got := guestFile(t, d, m, "/root/startup.log"); got != "ran cloud-box\nran cloud-box\n" {
		t.Errorf("startup.log after a reboot = %q, want two runs", got)
	}

	start := time.Now()
	step(t, d, req, core.StateStopping)
	if d.Running(m) != 0 {
		t.Fatal("the VM runs after stop")
	}
	if time.Since(start) > d.cfg.StopTimeout {
		t.Errorf("stop took %s: the guest ignored the ACPI power-down", time.Since(start))
	}
	if !strings.Contains(readFile(d.SerialLog(m)), "reboot: Power down") {
		t.Error("the guest did not power itself down")
	}
}
