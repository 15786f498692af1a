package httpapi

import (
	"testing"
	"time"
)

// TestRestorePointFieldsAndAutoShutdown: over HTTP, a machine created with a restore point
// shows restorePointSnapshotId and restorePointFrequency once provisioned, and auto-shutdown
// stops it (a stop event) when its timeout passes.
func TestRestorePointFieldsAndAutoShutdown(t *testing.T) {
	e := newEnv(t)
	id := e.createMachine(t, e.Alice.Key, "takeInitialSnapshot", true, "markSnapshotAsRestorePoint", true,
		"restorePointFrequency", "shutdown", "shutdownTimeoutInHours", 1)
	m := e.machine(t, e.Alice.Key, id)
	if m["restorePointSnapshotId"] != nil || m["restorePointFrequency"] != "shutdown" {
		t.Fatalf("while provisioning: restorePointSnapshotId %v, restorePointFrequency %v", m["restorePointSnapshotId"], m["restorePointFrequency"])
	}
	e.driveTo(t, "ready", id)
	m = e.machine(t, e.Alice.Key, id)
	if snap, _ := m["restorePointSnapshotId"].(string); snap == "" || m["restorePointFrequency"] != "shutdown" {
		t.Fatalf("when ready: restorePointSnapshotId %v, restorePointFrequency %v", m["restorePointSnapshotId"], m["restorePointFrequency"])
	}
	e.advance(time.Hour)
	e.waitState(t, id, "stopping")
	if ev := e.events(t, id); ev[0].Name != "stop" || ev[0].State != "in progress" {
		t.Fatalf("events after auto-shutdown: %+v", ev)
	}
	e.next(t, "off", id)
}
