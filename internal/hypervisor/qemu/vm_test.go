package qemu

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/hypervisor"
	"hangar/internal/testimage"
)

// testImage returns the test template's kernel and initrd, building it on first use; it
// skips without QEMU and the build tools unless HANGAR_REQUIRE_TOOLS=1.
func testImage(t *testing.T) (kernel, initrd string) {
	t.Helper()
	img := testimage.Ensure(t)
	return img.Kernel, img.Initrd
}

// shortDir is a temporary directory with a short path (QMP socket paths are limited).
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hq")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// step drives one state of m to completion as the engine would, in real time.
func step(t *testing.T, d *Driver, req hypervisor.Request, s core.State) hypervisor.Result {
	t.Helper()
	req.Machine.State, req.Since = s, time.Now()
	for attempt := 0; ; attempt++ {
		req.Attempt, req.Now = attempt, time.Now()
		res, err := d.Advance(context.Background(), req)
		if err != nil {
			if hypervisor.IsPermanent(err) {
				t.Fatalf("%s: %v\nserial log:\n%s", s, err, readFile(d.SerialLog(req.Machine)))
			}
			t.Logf("%s: retrying after %v", s, err)
			time.Sleep(200 * time.Millisecond) //nolint:forbidigo // the engine's retry pacing, which this drives in its place
			continue
		}
		if res.Done {
			t.Logf("%s done in %v", s, time.Since(req.Since).Round(time.Millisecond))
			return res
		}
		if time.Since(req.Since) > 5*time.Minute {
			t.Fatalf("%s did not complete", s)
		}
		time.Sleep(res.RetryAfter) //nolint:forbidigo // the driver asks to be called again after RetryAfter, as the engine would
	}
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// counts returns the values the test script printed, one per boot.
func counts(d *Driver, m core.Machine) []string {
	var out []string
	for _, l := range strings.Split(readFile(d.SerialLog(m)), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "HANGAR-TEST count="); ok {
			out = append(out, v)
		}
	}
	return out
}

// countScript prints how often it ran before on this disk and counts itself.
const countScript = "#!/bin/sh\nn=$(cat count 2>/dev/null || echo 0)\necho \"HANGAR-TEST count=$n\"\necho $((n+1)) > count\n"

// TestVMLifecycle boots a real guest under TCG and drives it as the engine does: provision,
// start to ready with a startup script, snapshot while off, start, a real reboot, stop, revert
// (the script's counter goes back), destroy (nothing left).
func TestVMLifecycle(t *testing.T) {
	kernel, initrd := testImage(t)
	dir := shortDir(t)
	d, err := New(Config{Dir: dir, Accel: AccelTCG, MaxRAMMB: 192, MaxCPUs: 1, StopTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	m := core.Machine{ID: "psvmtest1", Name: "vm test", MachineType: "C5", SizeGB: 50, UserID: "u1"}
	tmpl := core.Template{ID: "tk", OS: "Hangar test (busybox)", Kernel: kernel, Initrd: initrd}
	script := &core.Script{Text: countScript, Enabled: true}
	req := hypervisor.Request{Machine: m, Template: tmpl, Script: script}
	t.Cleanup(func() { _ = d.Destroy(context.Background(), m) })

	res := step(t, d, req, core.StateProvisioning)
	f := res.Facts
	if f.StorageTotal == nil || *f.StorageTotal != 50<<30 || f.StorageUsed == nil || *f.StorageUsed <= 0 || *f.StorageUsed > 10<<20 {
		t.Errorf("storage facts = %v / %v, want 50 GiB total and a small overlay", f.StorageTotal, f.StorageUsed)
	}
	if f.CPUs != 1 || f.RAM == nil || *f.RAM != 192<<20 || f.OS == nil || *f.OS != tmpl.OS {
		t.Errorf("facts = %+v, want 1 CPU (capped), 192 MiB (capped) and the template's OS", f)
	}
	vmdir := filepath.Join(dir, m.ID)
	for _, p := range []string{"disk.qcow2", "seed.iso"} {
		if _, err := os.Stat(filepath.Join(vmdir, p)); err != nil {
			t.Fatalf("after provisioning: %v", err)
		}
	}
	if d.Running(m) != 0 {
		t.Fatal("provisioning started the VM")
	}

	boot := func(s core.State) hypervisor.Result {
		step(t, d, req, s)
		if d.Running(m) == 0 {
			t.Fatalf("%s done but no VM runs", s)
		}
		return step(t, d, req, core.StateServiceReady)
	}
	res = boot(core.StateStarting)
	if res.Facts.ScriptRan == nil {
		t.Error("ScriptRan not reported although the script ran")
	}
	if got := counts(d, m); strings.Join(got, ",") != "0" {
		t.Fatalf("script output per boot = %v, want [0]", got)
	}
	step(t, d, req, core.StateStopping)
	if d.Running(m) != 0 {
		t.Fatal("stopped but the VM runs")
	}
	if !strings.Contains(readFile(d.SerialLog(m)), "HANGAR-READY") {
		t.Fatal("no HANGAR-READY in the serial log")
	}
	if err := d.Snapshot(context.Background(), m, "snap1"); err != nil {
		t.Fatal(err)
	}
	if err := d.Snapshot(context.Background(), m, "snap1"); err != nil { // idempotent
		t.Fatal(err)
	}

	boot(core.StateStarting)
	pid := d.Running(m)
	boot(core.StateRestarting)
	if d.Running(m) != pid {
		t.Errorf("restart replaced the QEMU process (%d -> %d); want a guest reboot", pid, d.Running(m))
	}
	// Taken while running, over QMP; deleted again below.
	if err := d.Snapshot(context.Background(), m, "live"); err != nil {
		t.Fatal(err)
	}
	if err := d.Revert(context.Background(), m, "snap1"); err == nil {
		t.Error("revert of a running machine succeeded")
	}
	step(t, d, req, core.StateStopping)
	if got := counts(d, m); strings.Join(got, ",") != "0,1,2" {
		t.Fatalf("script output per boot = %v, want [0 1 2] (data persists across stop and reboot)", got)
	}
	if err := d.Revert(context.Background(), m, "snap1"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteSnapshot(context.Background(), m, "live"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteSnapshot(context.Background(), m, "live"); err != nil { // idempotent
		t.Fatal(err)
	}
	req.Template = core.Template{} // deleted meanwhile: the machine boots what it was made from
	boot(core.StateStarting)
	if got := counts(d, m); strings.Join(got, ",") != "0,1,2,1" {
		t.Fatalf("script output per boot = %v, want [0 1 2 1] (the revert restored the counter)", got)
	}

	pid = d.Running(m)
	if err := d.Destroy(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Errorf("QEMU %d still runs after destroy", pid)
	}
	if _, err := os.Stat(vmdir); !os.IsNotExist(err) {
		t.Errorf("machine directory left behind: %v", err)
	}
}

// TestProvisionImageTemplate provisions a machine from an image template: its disk is a qcow2
// overlay backed by the image, as large as the machine's size (or the image, if larger), and
// the facts come from the overlay. Nothing is booted.
func TestProvisionImageTemplate(t *testing.T) {
	testimage.RequireTools(t, "qemu-img", "qemu-system-x86_64", "genisoimage")
	dir := shortDir(t)
	d, err := New(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		imageGB, sizeGB int
		want            int64
	}{{2, 50, 50 << 30}, {100, 50, 100 << 30}} {
		image := filepath.Join(dir, fmt.Sprintf("base%d.qcow2", tc.imageGB))
		if err := d.qemuImg(ctx, "create", "-q", "-f", "qcow2", image, fmt.Sprintf("%dG", tc.imageGB)); err != nil {
			t.Fatal(err)
		}
		m := core.Machine{ID: fmt.Sprintf("psimg%d", tc.imageGB), Name: "img", MachineType: "C1", SizeGB: tc.sizeGB}
		res := step(t, d, hypervisor.Request{Machine: m, Template: core.Template{ID: "ti", OS: "Ubuntu 22.04", Image: image}}, core.StateProvisioning)
		if res.Facts.StorageTotal == nil || *res.Facts.StorageTotal != tc.want {
			t.Errorf("image %dG, size %dG: storageTotal %v, want %d", tc.imageGB, tc.sizeGB, res.Facts.StorageTotal, tc.want)
		}
		if res.Facts.CPUs != 1 || *res.Facts.RAM != 512<<20 {
			t.Errorf("C1: cpus %d ram %d, want the catalog's 1 and 512 MiB", res.Facts.CPUs, *res.Facts.RAM)
		}
		out, err := exec.Command("qemu-img", "info", "--output=json", filepath.Join(dir, m.ID, "disk.qcow2")).Output()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), `"backing-filename": "`+image+`"`) {
			t.Errorf("overlay is not backed by the image:\n%s", out)
		}
		if err := d.Destroy(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// A template without an image or kernel fails provisioning permanently.
	_, err = d.Advance(ctx, hypervisor.Request{Machine: core.Machine{ID: "psnone", State: core.StateProvisioning, SizeGB: 50},
		Template: core.Template{ID: "tnone"}})
	if !hypervisor.IsPermanent(err) || !strings.Contains(err.Error(), "no image") {
		t.Errorf("imageless template: %v", err)
	}
}
