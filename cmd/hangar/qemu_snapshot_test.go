package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQEMURestorePoint proves a restore point on a real guest through the API: a machine
// created with takeInitialSnapshot, markSnapshotAsRestorePoint and restorePointFrequency
// "shutdown" gets its initial snapshot as a real qcow2 internal snapshot when provisioning
// ends; a startup script (run at every boot) appends a line naming the boot to a log on the
// guest's disk and writes a file of its own; after stop and start the disk is back at the
// snapshot, so the log holds only the second boot's line and the first boot's file is gone.
// Destroy removes the VM directory with the disk and its snapshots.
func TestQEMURestorePoint(t *testing.T) {
	t.Parallel() // at most -parallel (GOMAXPROCS) real-VM tests at once, after the serial tests
	e := requireVMs(t)
	data := vmData(t, e)
	ts := startServerIn(t, data, qemuFlags(e)...)
	tmpl := kernelTemplate(t, ts, e)
	key := newTeamAdmin(t, ts)

	// Each boot gets a fresh id from the kernel; the script appends it to log (surviving
	// reboots unless the disk is reverted), names the boot in marker and leaves extra-<id>.
	script := createScript(t, ts, key, "journal", "#!/bin/sh\nb=$(cat /proc/sys/kernel/random/uuid)\n"+
		"echo \"boot $b\" >> log\necho \"$b\" > marker\necho \"written after the snapshot\" > \"extra-$b\"\n")
	created := time.Now()
	m := createVM(t, ts, key, map[string]any{"templateId": tmpl, "machineName": "journal", "assignPublicIp": true,
		"scriptId": script, "takeInitialSnapshot": true, "markSnapshotAsRestorePoint": true, "restorePointFrequency": "shutdown"})
	id, pub := m["id"].(string), m["publicIpAddress"].(string)
	ready := waitVM(t, ts, key, id, "ready", 3*time.Minute)
	t.Logf("ready in %v", time.Since(created).Round(10*time.Millisecond))
	snap, _ := ready["restorePointSnapshotId"].(string)
	if snap == "" || ready["restorePointFrequency"] != "shutdown" {
		t.Fatalf("ready machine: restorePointSnapshotId %v restorePointFrequency %v, want a snapshot and shutdown",
			ready["restorePointSnapshotId"], ready["restorePointFrequency"])
	}
	disk := filepath.Join(data, "vms", id, "disk.qcow2")
	if got := snapshotList(t, disk); !strings.Contains(got, snap) {
		t.Errorf("qemu-img snapshot -l %s does not list the restore point %s:\n%s", disk, snap, got)
	}

	boot1 := strings.TrimSpace(fetch(t, e, pub, "marker"))
	if got := fetch(t, e, pub, "log"); got != "boot "+boot1+"\n" {
		t.Errorf("log after the first boot = %q, want only boot %s", got, boot1)
	}
	if got := fetch(t, e, pub, "extra-"+boot1); got != "written after the snapshot\n" {
		t.Errorf("extra-%s = %q", boot1, got)
	}

	power := func(action, state string) map[string]any {
		if st := ts.do(t, key, "POST", "/machines/"+id+"/"+action, nil, nil); st != 204 {
			t.Fatalf("%s: HTTP %d", action, st)
		}
		start := time.Now()
		m := waitVM(t, ts, key, id, state, 3*time.Minute)
		t.Logf("%s -> %s in %v", action, state, time.Since(start).Round(10*time.Millisecond))
		return m
	}
	power("stop", "off")
	if got := snapshotList(t, disk); !strings.Contains(got, snap) {
		t.Errorf("after stop, qemu-img snapshot -l does not list %s:\n%s", snap, got)
	}
	again := power("start", "ready")
	if again["restorePointSnapshotId"] != snap || again["restorePointFrequency"] != "shutdown" {
		t.Errorf("after start: restorePointSnapshotId %v restorePointFrequency %v, want %s shutdown",
			again["restorePointSnapshotId"], again["restorePointFrequency"], snap)
	}
	boot2 := strings.TrimSpace(fetch(t, e, pub, "marker"))
	if boot2 == boot1 || boot2 == "" {
		t.Fatalf("marker after the second boot = %q (first boot %q): the script did not run again", boot2, boot1)
	}
	if got := fetch(t, e, pub, "log"); got != "boot "+boot2+"\n" {
		t.Errorf("log after stop and start = %q, want only this boot's line %q (the disk was not reverted)", got, "boot "+boot2)
	}
	if out, err := httpGetIn(e.outside, pub, "extra-"+boot1); err == nil {
		t.Errorf("extra-%s, written after the snapshot, survived the revert: %q", boot1, out)
	}

	if st := ts.do(t, key, "POST", "/machines/"+id+"/destroyMachine", nil, nil); st != 204 {
		t.Fatalf("destroy: HTTP %d", st)
	}
	vmDir := filepath.Join(data, "vms", id)
	deadline := time.Now().Add(time.Minute)
	for {
		_, err := os.Stat(vmDir)
		if os.IsNotExist(err) && len(qemuPids(data)) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after destroy: VM directory %s still there (%v), QEMU processes %v", vmDir, err, qemuPids(data))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// snapshotList returns qemu-img's list of the internal snapshots of a qcow2 disk (-U: the
// disk may be open in a running QEMU).
func snapshotList(t *testing.T, disk string) string {
	t.Helper()
	out, err := exec.Command("qemu-img", "snapshot", "-l", "-U", disk).CombinedOutput()
	if err != nil {
		t.Fatalf("qemu-img snapshot -l %s: %v %s", disk, err, out)
	}
	return string(out)
}
