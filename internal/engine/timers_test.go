package engine

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/core/clocktest"
	"hangar/internal/hypervisor"
	"hangar/internal/hypervisor/sim"
	"hangar/internal/lifecycle"
	"hangar/internal/service"
	"hangar/internal/store"
	"hangar/internal/store/postgres"
	"hangar/internal/store/postgres/pgtest"
	"hangar/internal/store/sqlite"
)

// stack builds a service and an engine over st and drv, as hangar serve does, and
// bootstraps the store (a no-op on a store bootstrapped before).
func stack(t *testing.T, clock *clocktest.Clock, st store.Store, drv *sim.Driver) *bundle {
	t.Helper()
	ctx := context.Background()
	cat := core.DefaultCatalog()
	env := &lifecycle.Env{Clock: clock, PublicPool: netip.MustParsePrefix("198.18.0.0/24"),
		DefaultNet: netip.MustParsePrefix("10.128.0.0/16"), Expect: drv.Expect}
	eng := mustNew(t, Config{Store: st, Drivers: hypervisor.Single{Driver: drv}, Env: env})
	t.Cleanup(eng.Wait)
	svc := service.New(st, service.Config{Catalog: cat, Env: env, DefaultShutdownHours: 168, Engine: eng})
	if _, err := svc.Bootstrap(ctx, true); err != nil {
		t.Fatal(err)
	}
	var admin core.Principal
	err := st.Read(ctx, func(tx store.Tx) error {
		users, err := tx.ListUsersByEmail("operator@hangar.local")
		if err != nil || len(users) != 1 {
			return fmt.Errorf("operator: %v %v", users, err)
		}
		u := users[0]
		team, err := tx.GetTeam(u.TeamID)
		admin = core.Principal{User: u, Team: team}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{clock: clock, st: st, svc: svc, eng: eng, drv: drv, admin: admin, tim: sim.DefaultTimings()}
}

func newClock() *clocktest.Clock { return clocktest.New(time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)) }

func openSQLite(t *testing.T, path string, clock core.Clock) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, sqlite.Options{Synchronous: "NORMAL", Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func hours(n int) *int { return &n }

// stopEvents counts a machine's stop events.
func (b *bundle) stopEvents(t *testing.T, id string) int {
	t.Helper()
	var evs []core.Event
	if err := b.st.Read(context.Background(), func(tx store.Tx) (err error) { evs, err = tx.ListEvents(id, 0); return }); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Name == core.EventStop {
			n++
		}
	}
	return n
}

func (b *bundle) snapshots(t *testing.T, id string) []core.Snapshot {
	t.Helper()
	var out []core.Snapshot
	if err := b.st.Read(context.Background(), func(tx store.Tx) (err error) { out, err = tx.ListSnapshots(id); return }); err != nil {
		t.Fatal(err)
	}
	return out
}

func (b *bundle) mails(t *testing.T, id string) []core.Mail {
	t.Helper()
	var out []core.Mail
	if err := b.st.Read(context.Background(), func(tx store.Tx) (err error) { out, err = tx.ListMail(id); return }); err != nil {
		t.Fatal(err)
	}
	return out
}

func snapshotIDs(ss []core.Snapshot) []string {
	ids := []string{}
	for _, s := range ss {
		ids = append(ids, s.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestAutoShutdown(t *testing.T) {
	b := setup(t)
	m := b.ready(t, func(c *service.CreateMachine) {
		c.ShutdownTimeoutSet, c.ShutdownTimeoutInHours = true, hours(2)
	})
	b.advance(t, 2*time.Hour-time.Millisecond)
	b.wantState(t, m.ID, core.StateReady)
	b.advance(t, time.Millisecond)
	d := b.wantState(t, m.ID, core.StateStopping)
	if got := events(d); got[0] != "stop:in progress" {
		t.Fatalf("events after auto-shutdown = %v", got)
	}
	b.advance(t, b.tim.Stopping)
	d = b.wantState(t, m.ID, core.StateOff)
	if got := events(d); got[0] != "stop:done" {
		t.Fatalf("events after the stop = %v", got)
	}
	if d.Machine.ShutdownAt != nil || d.Machine.NextAt != nil {
		t.Fatalf("an off machine keeps timers: shutdownAt %v nextAt %v", d.Machine.ShutdownAt, d.Machine.NextAt)
	}
	if b.used(t, "P4000") != 0 {
		t.Fatal("auto-shutdown kept the host slot")
	}
	// A start arms it again, from the moment the machine is ready.
	b.power(t, m.ID, core.ActionStart)
	b.advance(t, b.tim.Starting)
	b.advance(t, b.tim.ServiceReady)
	b.wantState(t, m.ID, core.StateReady)
	b.advance(t, 2*time.Hour-time.Millisecond)
	b.wantState(t, m.ID, core.StateReady)
	b.advance(t, time.Millisecond)
	b.wantState(t, m.ID, core.StateStopping)
	b.advance(t, b.tim.Stopping)
	if n := b.stopEvents(t, m.ID); n != 2 {
		t.Fatalf("%d stop events, want 2", n)
	}
}

func TestAutoShutdownDisabled(t *testing.T) {
	b := setup(t)
	zero := b.ready(t, func(c *service.CreateMachine) { c.ShutdownTimeoutSet, c.ShutdownTimeoutInHours = true, hours(0) })
	null := b.ready(t, func(c *service.CreateMachine) { c.ShutdownTimeoutSet = true })
	def := b.ready(t, nil) // the configured default, 168 h
	b.advance(t, 168*time.Hour-time.Hour)
	b.wantState(t, def.ID, core.StateReady)
	b.advance(t, time.Hour)
	b.wantState(t, def.ID, core.StateStopping)
	b.advance(t, 10000*time.Hour)
	b.wantState(t, zero.ID, core.StateReady)
	b.wantState(t, null.ID, core.StateReady)
}

func TestUpdateRearmsShutdown(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	m := b.ready(t, func(c *service.CreateMachine) { c.ShutdownTimeoutSet, c.ShutdownTimeoutInHours = true, hours(2) })
	b.advance(t, time.Hour)
	// A new timeout counts from the update, not from when the machine became ready.
	if _, err := b.svc.UpdateMachine(ctx, b.admin, m.ID, service.UpdateMachine{ShutdownTimeoutSet: true, ShutdownTimeoutInHours: hours(3)}); err != nil {
		t.Fatal(err)
	}
	b.advance(t, 3*time.Hour-time.Millisecond)
	b.wantState(t, m.ID, core.StateReady)
	// 0 disarms it.
	if _, err := b.svc.UpdateMachine(ctx, b.admin, m.ID, service.UpdateMachine{ShutdownTimeoutSet: true, ShutdownTimeoutInHours: hours(0)}); err != nil {
		t.Fatal(err)
	}
	b.advance(t, 1000*time.Hour)
	d := b.wantState(t, m.ID, core.StateReady)
	if d.Machine.NextAt != nil {
		t.Fatalf("a ready machine without timers is due at %v", d.Machine.NextAt)
	}
	// Sending the same value again changes nothing; a new one arms it from now.
	if _, err := b.svc.UpdateMachine(ctx, b.admin, m.ID, service.UpdateMachine{ShutdownTimeoutSet: true, ShutdownTimeoutInHours: hours(1)}); err != nil {
		t.Fatal(err)
	}
	b.advance(t, 30*time.Minute)
	if _, err := b.svc.UpdateMachine(ctx, b.admin, m.ID, service.UpdateMachine{ShutdownTimeoutSet: true, ShutdownTimeoutInHours: hours(1)}); err != nil {
		t.Fatal(err)
	}
	b.advance(t, 30*time.Minute)
	b.wantState(t, m.ID, core.StateStopping)
	// On a stopped machine an update arms nothing.
	b.advance(t, b.tim.Stopping)
	if _, err := b.svc.UpdateMachine(ctx, b.admin, m.ID, service.UpdateMachine{ShutdownTimeoutSet: true, ShutdownTimeoutInHours: hours(5)}); err != nil {
		t.Fatal(err)
	}
	if d := b.wantState(t, m.ID, core.StateOff); d.Machine.ShutdownAt != nil || d.Machine.NextAt != nil {
		t.Fatalf("update armed a timer on an off machine: %v %v", d.Machine.ShutdownAt, d.Machine.NextAt)
	}
}

// TestShutdownTimerSurvivesRestart schedules auto-shutdown, closes the store and engine,
// opens them again (a restarted hangar serve) and fires the timer: once.
func TestShutdownTimerSurvivesRestart(t *testing.T) {
	clock := newClock()
	path := filepath.Join(t.TempDir(), "h.db")
	st := openSQLite(t, path, clock)
	b := stack(t, clock, st, sim.New(sim.DefaultTimings(), core.DefaultCatalog()))
	m := b.ready(t, func(c *service.CreateMachine) {
		c.ShutdownTimeoutSet, c.ShutdownTimeoutInHours = true, hours(1)
		c.PerformAutoSnapshot, c.AutoSnapshotFrequency, c.AutoSnapshotSaveCount = true, ptrTo("hour"), hours(5)
	})
	b.eng.Wait()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	clock.Advance(time.Hour)
	st2 := openSQLite(t, path, clock)
	t.Cleanup(func() { st2.Close() })
	b2 := stack(t, clock, st2, sim.New(sim.DefaultTimings(), core.DefaultCatalog()))
	b2.advance(t, 0)
	b2.wantState(t, m.ID, core.StateStopping)
	b2.advance(t, b2.tim.Stopping)
	b2.advance(t, time.Hour)
	b2.wantState(t, m.ID, core.StateOff)
	if n := b2.stopEvents(t, m.ID); n != 1 {
		t.Fatalf("%d stop events after a restart, want 1", n)
	}
	// The hourly snapshot due 1 h after provisioning and the one an hour later, each once.
	if snaps := b2.snapshots(t, m.ID); len(snaps) != 2 {
		t.Fatalf("snapshots after a restart: %+v, want 2", snaps)
	}
}

func TestTimersFireOnceWithTwoEnginesSQLite(t *testing.T) {
	clock := newClock()
	st := openSQLite(t, filepath.Join(t.TempDir(), "h.db"), clock)
	t.Cleanup(func() { st.Close() })
	twoEngines(t, clock, st)
}

func TestTimersFireOnceWithTwoEnginesPostgres(t *testing.T) {
	clock := newClock()
	u := pgtest.SchemaURL(t, "engine")
	st, err := postgres.Open(context.Background(), u, postgres.Options{MaxConns: 8, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	twoEngines(t, clock, st)
}

// twoEngines runs two engines (as two replicas would) on one store and checks that each
// auto-shutdown and each auto-snapshot happens once.
func twoEngines(t *testing.T, clock *clocktest.Clock, st store.Store) {
	drv := sim.New(sim.DefaultTimings(), core.DefaultCatalog())
	a := stack(t, clock, st, drv)
	b := stack(t, clock, st, drv) // another engine, another lease owner
	const n = 6
	var ids []string
	for i := range n {
		m := a.create(t, func(c *service.CreateMachine) {
			c.Name = fmt.Sprintf("m%d", i)
			c.ShutdownTimeoutSet, c.ShutdownTimeoutInHours = true, hours(3)
			c.PerformAutoSnapshot, c.AutoSnapshotFrequency, c.AutoSnapshotSaveCount = true, ptrTo("hour"), hours(10)
		})
		ids = append(ids, m.ID)
	}
	both := func(d time.Duration) {
		clock.Advance(d)
		var wg sync.WaitGroup
		for _, x := range []*bundle{a, b} {
			wg.Go(func() {
				if _, err := x.eng.Drain(context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		// Whatever one engine left leased for the other is due again after the lease.
		if _, err := a.eng.Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	both(a.tim.Provisioning)
	both(a.tim.Starting)
	both(a.tim.ServiceReady)
	for range 3 * 60 {
		both(time.Minute)
	}
	both(a.tim.Stopping)
	for _, id := range ids {
		a.wantState(t, id, core.StateOff)
		if got := a.stopEvents(t, id); got != 1 {
			t.Fatalf("machine %s: %d stop events, want 1", id, got)
		}
		snaps := a.snapshots(t, id)
		// Provisioning ended at 40 s, so snapshots were due at 1:00:40, 2:00:40 and 3:00:40;
		// the machine was ready at 71 s and auto-shutdown stopped it at 3:01:11.
		if len(snaps) != 3 {
			t.Fatalf("machine %s: %d auto-snapshots, want 3: %+v", id, len(snaps), snaps)
		}
		if got, want := drv.SnapshotIDs(id), snapshotIDs(snaps); !slices.Equal(got, want) {
			t.Fatalf("machine %s: driver holds %v, store %v", id, got, want)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestAutoSnapshotRetention(t *testing.T) {
	b := setup(t)
	m := b.ready(t, func(c *service.CreateMachine) {
		c.PerformAutoSnapshot, c.AutoSnapshotFrequency, c.AutoSnapshotSaveCount = true, ptrTo("hour"), hours(2)
		c.ShutdownTimeoutSet = true
	})
	// Provisioning ended 31 s ago (starting 25 s + serviceready 6 s): the first snapshot is
	// due one hour after it.
	var contents []string
	for i := range 4 {
		data := fmt.Sprintf("data-%d", i)
		if err := b.drv.WriteDisk(m.ID, data); err != nil {
			t.Fatal(err)
		}
		contents = append(contents, data)
		b.advance(t, time.Hour)
	}
	snaps := b.snapshots(t, m.ID)
	if len(snaps) != 2 {
		t.Fatalf("%d snapshots kept, want 2: %+v", len(snaps), snaps)
	}
	for _, s := range snaps {
		if s.Kind != core.SnapshotAuto || s.Pruned {
			t.Fatalf("snapshot %+v", s)
		}
	}
	if !snaps[0].Created.Before(snaps[1].Created) {
		t.Fatal("the kept snapshots are not the two newest")
	}
	if got, want := b.drv.SnapshotIDs(m.ID), snapshotIDs(snaps); !slices.Equal(got, want) {
		t.Fatalf("driver holds %v, store %v", got, want)
	}
	// The kept snapshots hold the two newest disk contents: revert to each and look.
	for i, s := range snaps {
		if err := b.drv.Revert(context.Background(), m, s.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := b.drv.Disk(m.ID); got != contents[2+i] {
			t.Fatalf("snapshot %d holds %q, want %q", i, got, contents[2+i])
		}
	}
	b.wantState(t, m.ID, core.StateReady) // snapshots do not stop the machine

	// Lowering the count prunes at the next snapshot; disabling stops snapshots.
	ctx := context.Background()
	if _, err := b.svc.UpdateMachine(ctx, b.admin, m.ID, service.UpdateMachine{AutoSnapshotCountSet: true, AutoSnapshotSaveCount: hours(1)}); err != nil {
		t.Fatal(err)
	}
	b.advance(t, time.Hour)
	if got := b.snapshots(t, m.ID); len(got) != 1 || len(b.drv.SnapshotIDs(m.ID)) != 1 {
		t.Fatalf("after lowering the count to 1: store %v, driver %v", got, b.drv.SnapshotIDs(m.ID))
	}
	off := false
	if _, err := b.svc.UpdateMachine(ctx, b.admin, m.ID, service.UpdateMachine{PerformAutoSnapshot: &off}); err != nil {
		t.Fatal(err)
	}
	before := snapshotIDs(b.snapshots(t, m.ID))
	b.advance(t, 48*time.Hour)
	if got := snapshotIDs(b.snapshots(t, m.ID)); !slices.Equal(got, before) {
		t.Fatalf("snapshots after disabling: %v, want %v", got, before)
	}
}

func TestAutoSnapshotFrequencies(t *testing.T) {
	from := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
	for freq, want := range map[string]time.Time{
		"hour":  from.Add(time.Hour),
		"day":   from.Add(24 * time.Hour),
		"week":  from.Add(7 * 24 * time.Hour),
		"month": time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC), // Go's AddDate normalises Feb 31
	} {
		got, ok := lifecycle.AddFrequency(freq, from)
		if !ok || !got.Equal(want) {
			t.Errorf("%s: %v, want %v", freq, got, want)
		}
	}
	if _, ok := lifecycle.AddFrequency("fortnight", from); ok {
		t.Error("an unknown frequency was accepted")
	}
}

func TestRestorePointOnStop(t *testing.T) {
	b := setup(t)
	m := b.ready(t, func(c *service.CreateMachine) {
		c.TakeInitialSnapshot, c.MarkSnapshotAsRestorePoint, c.RestorePointFrequency = true, true, ptrTo("shutdown")
		c.ShutdownTimeoutSet, c.ShutdownTimeoutInHours = true, hours(5)
	})
	d := b.machine(t, m.ID)
	snaps := b.snapshots(t, m.ID)
	if len(snaps) != 1 || snaps[0].Kind != core.SnapshotInitial {
		t.Fatalf("snapshots after provisioning: %+v", snaps)
	}
	if d.Machine.RestorePointSnapshotID == nil || *d.Machine.RestorePointSnapshotID != snaps[0].ID {
		t.Fatalf("restorePointSnapshotId = %v, want %s", d.Machine.RestorePointSnapshotID, snaps[0].ID)
	}
	initial, _ := b.drv.Disk(m.ID)

	// Data written after the snapshot is gone after a stop...
	if err := b.drv.WriteDisk(m.ID, "written after the snapshot"); err != nil {
		t.Fatal(err)
	}
	b.power(t, m.ID, core.ActionStop)
	if got, _ := b.drv.Disk(m.ID); got != "written after the snapshot" {
		t.Fatalf("disk reverted before the machine was off: %q", got)
	}
	b.advance(t, b.tim.Stopping)
	b.wantState(t, m.ID, core.StateOff)
	if got, _ := b.drv.Disk(m.ID); got != initial {
		t.Fatalf("disk after stop = %q, want the restore point's %q", got, initial)
	}
	// ...every time, including an auto-shutdown.
	b.power(t, m.ID, core.ActionStart)
	b.advance(t, b.tim.Starting)
	b.advance(t, b.tim.ServiceReady)
	if err := b.drv.WriteDisk(m.ID, "second session"); err != nil {
		t.Fatal(err)
	}
	b.advance(t, 5*time.Hour)
	b.advance(t, b.tim.Stopping)
	b.wantState(t, m.ID, core.StateOff)
	if got, _ := b.drv.Disk(m.ID); got != initial {
		t.Fatalf("disk after auto-shutdown = %q, want %q", got, initial)
	}

	// Without a restore point, data survives a stop.
	keep := b.ready(t, func(c *service.CreateMachine) { c.TakeInitialSnapshot = true })
	if d := b.machine(t, keep.ID); d.Machine.RestorePointSnapshotID != nil || len(b.snapshots(t, keep.ID)) != 1 {
		t.Fatalf("takeInitialSnapshot alone: restore point %v, snapshots %v", d.Machine.RestorePointSnapshotID, b.snapshots(t, keep.ID))
	}
	_ = b.drv.WriteDisk(keep.ID, "kept")
	b.power(t, keep.ID, core.ActionStop)
	b.advance(t, b.tim.Stopping)
	if got, _ := b.drv.Disk(keep.ID); got != "kept" {
		t.Fatalf("disk of a machine without restore point = %q after stop", got)
	}

	// Destroy deletes the snapshots from the driver and the store.
	if err := b.svc.DestroyMachine(context.Background(), b.admin, m.ID, true); err != nil {
		t.Fatal(err)
	}
	b.eng.Wait()
	if ids := b.drv.SnapshotIDs(m.ID); len(ids) != 0 {
		t.Fatalf("driver keeps snapshots %v of a destroyed machine", ids)
	}
	if _, ok := b.drv.Disk(m.ID); ok {
		t.Fatal("driver keeps the disk of a destroyed machine")
	}
	if got := b.snapshots(t, m.ID); len(got) != 0 {
		t.Fatalf("store keeps snapshots %v of a destroyed machine", got)
	}
}

func TestNotificationMail(t *testing.T) {
	b := setup(t)
	to := "ada@example.com"
	m := b.ready(t, func(c *service.CreateMachine) { c.NotificationEmail = &to })
	mails := b.mails(t, m.ID)
	if len(mails) != 1 || mails[0].To != to || mails[0].NextAt == nil {
		t.Fatalf("outbox after ready: %+v", mails)
	}
	for _, want := range []string{m.ID, "State:      ready"} {
		if !contains(mails[0].Body, want) {
			t.Fatalf("message lacks %q:\n%s", want, mails[0].Body)
		}
	}
	// Later boots send nothing.
	b.power(t, m.ID, core.ActionRestart)
	b.advance(t, b.tim.Restarting)
	b.advance(t, b.tim.ServiceReady)
	b.power(t, m.ID, core.ActionStop)
	b.advance(t, b.tim.Stopping)
	b.power(t, m.ID, core.ActionStart)
	b.advance(t, b.tim.Starting)
	b.advance(t, b.tim.ServiceReady)
	if n := len(b.mails(t, m.ID)); n != 1 {
		t.Fatalf("%d messages after more boots, want 1", n)
	}

	// A failed provisioning sends one failure message; no address, no message.
	b.drv.InjectFault(sim.Fault{Action: "create", Remaining: 1})
	failed := b.create(t, func(c *service.CreateMachine) { c.NotificationEmail = &to })
	b.advance(t, b.tim.Provisioning)
	b.wantState(t, failed.ID, core.StateOff)
	mails = b.mails(t, failed.ID)
	if len(mails) != 1 || !contains(mails[0].Body, failed.ID) || !contains(mails[0].Body, "State:      off") ||
		!contains(mails[0].Body, "out of capacity") {
		t.Fatalf("outbox after a failed create: %+v", mails)
	}
	quiet := b.ready(t, nil)
	if n := len(b.mails(t, quiet.ID)); n != 0 {
		t.Fatalf("%d messages for a machine without notificationEmail", n)
	}

	// startOnCreate=false: the message comes with the first start.
	later := b.create(t, func(c *service.CreateMachine) { c.NotificationEmail = &to; c.StartOnCreate = false })
	b.advance(t, b.tim.Provisioning)
	b.wantState(t, later.ID, core.StateOff)
	if n := len(b.mails(t, later.ID)); n != 0 {
		t.Fatalf("%d messages for a machine that never was ready", n)
	}
	b.power(t, later.ID, core.ActionStart)
	b.advance(t, b.tim.Starting)
	b.advance(t, b.tim.ServiceReady)
	if n := len(b.mails(t, later.ID)); n != 1 {
		t.Fatalf("%d messages after the first start, want 1", n)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestScriptRunsAreRecorded(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	sc, err := b.svc.CreateScript(ctx, b.admin, service.NewScript{Name: "s", Text: "echo hi"})
	if err != nil {
		t.Fatal(err)
	}
	m := b.ready(t, func(c *service.CreateMachine) { c.ScriptID = &sc.ID })
	d := b.machine(t, m.ID)
	if d.Machine.LastRun == nil || !d.Machine.LastRun.Equal(d.Machine.PhaseSince) {
		t.Fatalf("dtLastRun = %v, want the boot's end %v", d.Machine.LastRun, d.Machine.PhaseSince)
	}
	var runs []core.ScriptRun
	if err := b.st.Read(ctx, func(tx store.Tx) (err error) { runs, err = tx.ListScriptRuns(sc.ID); return }); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].MachineID != m.ID || runs[0].LastRun == nil || !runs[0].LastRun.Equal(*d.Machine.LastRun) {
		t.Fatalf("script machines = %+v", runs)
	}
}

// TestAutoSnapshotQuota: automatic snapshots stop at the team's snapshots quota (the driver
// keeps none that the store does not record), while a machine at its save count still
// replaces its oldest one.
func TestAutoSnapshotQuota(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	limit := 3
	if _, err := b.svc.UpdateTeamQuotas(ctx, b.admin, b.admin.Team.ID, map[core.Quota]*int{core.QuotaSnapshots: &limit}); err != nil {
		t.Fatal(err)
	}
	hourly := func(c *service.CreateMachine) {
		c.PerformAutoSnapshot, c.AutoSnapshotFrequency, c.AutoSnapshotSaveCount = true, ptrTo("hour"), hours(2)
		c.ShutdownTimeoutSet = true
	}
	m1 := b.ready(t, hourly)
	m2 := b.ready(t, hourly)
	var first []string
	for i := range 5 {
		b.advance(t, time.Hour)
		if i == 1 {
			first = append(snapshotIDs(b.snapshots(t, m1.ID)), snapshotIDs(b.snapshots(t, m2.ID))...)
		}
	}
	s1, s2 := b.snapshots(t, m1.ID), b.snapshots(t, m2.ID)
	if len(s1)+len(s2) != limit {
		t.Fatalf("%d + %d snapshots kept, want %d in all", len(s1), len(s2), limit)
	}
	for _, m := range []core.Machine{m1, m2} {
		if got, want := b.drv.SnapshotIDs(m.ID), snapshotIDs(b.snapshots(t, m.ID)); !slices.Equal(got, want) {
			t.Fatalf("machine %s: driver holds %v, store %v", m.ID, got, want)
		}
	}
	// The machine at its save count kept rotating: its snapshots are not those of hour two.
	full := s1
	if len(s2) == 2 {
		full = s2
	}
	if len(full) != 2 || slices.Contains(first, full[1].ID) {
		t.Fatalf("the machine at its save count holds %v; it should have replaced %v", snapshotIDs(full), first)
	}
}

// TestDynamicIPOverQuotaFailsProvisioning: a dynamic IP the create admitted but that the
// team's publicIps quota no longer allows when provisioning ends fails the start (the machine
// is off, its events in error naming the quota) instead of retrying for ever.
func TestDynamicIPOverQuotaFailsProvisioning(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	limit := 1
	if _, err := b.svc.UpdateTeamQuotas(ctx, b.admin, b.admin.Team.ID, map[core.Quota]*int{core.QuotaPublicIPs: &limit}); err != nil {
		t.Fatal(err)
	}
	dyn := b.create(t, func(c *service.CreateMachine) { c.DynamicPublicIP = true })
	b.create(t, func(c *service.CreateMachine) { c.AssignPublicIP = true }) // takes the one address now
	b.advance(t, b.tim.Provisioning)
	d := b.wantState(t, dyn.ID, core.StateOff)
	if d.Machine.PublicIP != nil {
		t.Fatalf("the failed machine holds %s", *d.Machine.PublicIP)
	}
	found := false
	for _, ev := range d.Events {
		if ev.State == core.EventError && strings.Contains(ev.ErrorMsg, `(quota "publicIps")`) {
			found = true
		}
	}
	if !found {
		t.Fatalf("no event in error names the publicIps quota: %+v", d.Events)
	}
}
