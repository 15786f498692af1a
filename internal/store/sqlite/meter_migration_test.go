package sqlite

import (
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

// TestMeterMigrationBackfill opens a database at schema version 2 (before the meter) that
// holds a running, a stopped and a destroyed machine, and checks that migration 0003 meters
// the running one from the start of its current state and nothing else.
func TestMeterMigrationBackfill(t *testing.T) {
	path, raw := openAtVersion(t, 2)
	created := time.Date(2026, 10, 30, 12, 0, 0, 0, time.UTC)
	since := created.Add(26 * time.Hour)
	// The rows are written with the columns of schema version 2 only: the store's own insert
	// names columns that later migrations add.
	for _, m := range []struct {
		id    string
		state core.State
	}{{"psrunning", core.StateReady}, {"psstopped", core.StateOff}, {"psdestroy", core.StateReady}} {
		if _, err := raw.Exec(`INSERT INTO machines (id, name, team_id, user_id, region, machine_type, billing_type,
			template_id, size_gb, cpus, agent_type, shutdown_timeout_forces, perform_auto_snapshot, dynamic_public_ip,
			is_managed, updates_pending, take_initial_snapshot, state, host_id, holds_capacity, booted, op_event,
			phase_since, attempts, created)
			VALUES ($1, 'm', 'te1', 'u1', 'East Coast (NY2)', 'C5', 'hourly', 't04azgph', 50, 1, 'LinuxHeadless',
			0, 0, 0, 0, 0, 0, $2, '', 0, 0, '', $3, 0, $4)`, m.id, string(m.state), ms(since), ms(created)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.Exec(`UPDATE machines SET deleted_at = $1 WHERE id = 'psdestroy'`, ms(since)); err != nil {
		t.Fatal(err)
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := map[string][]core.UsageInterval{"psrunning": {{Start: since}}, "psstopped": nil, "psdestroy": nil}
	for id, ivs := range want {
		var u core.MachineUsage
		if err := db.Read(t.Context(), func(tx store.Tx) (err error) {
			u, err = tx.GetUsage(id, created, created.AddDate(1, 0, 0))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if len(u.Billable) != len(ivs) || (len(ivs) == 1 && (!u.Billable[0].Start.Equal(since) || u.Billable[0].End != nil)) {
			t.Errorf("%s: billable %+v, want %+v", id, u.Billable, ivs)
		}
	}
}

// ms is the column value of a time: unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }
