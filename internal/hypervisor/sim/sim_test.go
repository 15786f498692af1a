package sim

import (
	"context"
	"slices"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/hypervisor"
)

func TestSnapshotter(t *testing.T) {
	ctx := context.Background()
	d := New(DefaultTimings(), core.DefaultCatalog())
	m := core.Machine{ID: "ps1", TemplateID: "t04azgph", State: core.StateProvisioning, SizeGB: 50}
	if _, ok := d.Disk(m.ID); ok {
		t.Fatal("a machine has a disk before provisioning")
	}
	since := time.Unix(0, 0)
	if res, err := d.Advance(ctx, hypervisor.Request{Machine: m, Since: since, Now: since.Add(time.Hour)}); err != nil || !res.Done {
		t.Fatalf("provisioning: %+v %v", res, err)
	}
	if got, _ := d.Disk(m.ID); got != "template:t04azgph" {
		t.Fatalf("fresh disk %q", got)
	}
	if err := d.Snapshot(ctx, m, "a"); err != nil {
		t.Fatal(err)
	}
	_ = d.WriteDisk(m.ID, "v2")
	// Taking the same id again keeps the first copy (a retried step).
	if err := d.Snapshot(ctx, m, "a"); err != nil {
		t.Fatal(err)
	}
	if err := d.Snapshot(ctx, m, "b"); err != nil {
		t.Fatal(err)
	}
	_ = d.WriteDisk(m.ID, "v3")
	if err := d.Revert(ctx, m, "a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Disk(m.ID); got != "template:t04azgph" {
		t.Fatalf("after Revert(a): %q", got)
	}
	if err := d.Revert(ctx, m, "b"); err != nil {
		t.Fatal(err)
	}
	if got, _ := d.Disk(m.ID); got != "v2" {
		t.Fatalf("after Revert(b): %q", got)
	}
	if err := d.Revert(ctx, m, "nope"); !hypervisor.IsPermanent(err) {
		t.Fatalf("Revert to an unknown snapshot: %v, want a permanent error", err)
	}
	if err := d.DeleteSnapshot(ctx, m, "a"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteSnapshot(ctx, m, "a"); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	if got := d.SnapshotIDs(m.ID); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("snapshots %v", got)
	}
	if err := d.Destroy(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, ok := d.Disk(m.ID); ok || len(d.SnapshotIDs(m.ID)) != 0 {
		t.Fatal("Destroy kept the disk or its snapshots")
	}
}

func TestScriptRanReported(t *testing.T) {
	ctx := context.Background()
	d := New(DefaultTimings(), core.DefaultCatalog())
	since := time.Unix(0, 0)
	now := since.Add(time.Minute)
	m := core.Machine{ID: "ps1", State: core.StateServiceReady}
	res, err := d.Advance(ctx, hypervisor.Request{Machine: m, Since: since, Now: now, Script: &core.Script{ID: "sc1", Enabled: true}})
	if err != nil || res.Facts.ScriptRan == nil || !res.Facts.ScriptRan.Equal(now) {
		t.Fatalf("with a script: %+v %v", res, err)
	}
	res, err = d.Advance(ctx, hypervisor.Request{Machine: m, Since: since, Now: now})
	if err != nil || res.Facts.ScriptRan != nil {
		t.Fatalf("without a script: %+v %v", res, err)
	}
}

// TestArmValidates: Arm refuses unknown actions and counts outside 1..MaxFaultCount with
// core.Invalid and arms nothing; a valid fault is armed with the default message.
func TestArmValidates(t *testing.T) {
	d := New(DefaultTimings(), core.DefaultCatalog())
	for _, f := range []Fault{{Action: "destroy", Remaining: 1}, {Action: "", Remaining: 1},
		{Action: "start", Remaining: 0}, {Action: "start", Remaining: -1}, {Action: "stop", Remaining: MaxFaultCount + 1}} {
		if _, err := d.Arm(f); core.ErrorCode(err) != core.Invalid {
			t.Errorf("Arm(%+v): %v, want an Invalid error", f, err)
		}
	}
	if got := d.Faults(); len(got) != 0 {
		t.Fatalf("refused faults were armed: %v", got)
	}
	got, err := d.Arm(Fault{Action: "restart", Remaining: MaxFaultCount})
	if err != nil {
		t.Fatal(err)
	}
	if got.Message != defaultFaultMessage("restart") || got.Remaining != MaxFaultCount {
		t.Fatalf("armed %+v", got)
	}
	if list := d.Faults(); len(list) != 1 || list[0] != got {
		t.Fatalf("faults %v, want [%v]", list, got)
	}
}
