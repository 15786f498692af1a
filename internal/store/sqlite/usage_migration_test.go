package sqlite

import (
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

// TestTeamEmailsAndUsageMigration opens a database at schema version 9 with users and
// machines, and checks that migration 0010 keeps every user findable by email (in any case)
// and unique within its team only, and that 0011 counts each team's live and running machines
// from what the table holds.
func TestTeamEmailsAndUsageMigration(t *testing.T) {
	path, raw := openAtVersion(t, 9)
	for _, q := range []string{
		`INSERT INTO teams (id, name, individual, created) VALUES ('te1', 'A', 0, 1), ('te2', 'B', 0, 1)`,
		`INSERT INTO users (id, team_id, email, email_key, first_name, last_name, role, password_hash, created)
			VALUES ('u1', 'te1', 'Ada@Example.com', 'ada@example.com', 'A', 'B', 'admin', 'x', 1)`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, m := range []struct {
		id, team string
		state    core.State
		deleted  any // the deleted_at column: nil for a live machine
	}{{"ps1", "te1", core.StateReady, nil}, {"ps2", "te1", core.StateOff, nil},
		{"ps3", "te1", core.StateReady, 5}, {"ps4", "te2", core.StateStarting, nil}} {
		if _, err := raw.Exec(`INSERT INTO machines (id, name, team_id, user_id, region, machine_type, billing_type,
			template_id, size_gb, cpus, agent_type, shutdown_timeout_forces, perform_auto_snapshot, dynamic_public_ip,
			is_managed, updates_pending, take_initial_snapshot, state, host_id, holds_capacity, booted, op_event,
			phase_since, attempts, created, deleted_at)
			VALUES ($1, 'm', $2, 'u1', 'East Coast (NY2)', 'C1', 'hourly', 't1', 50, 1, 'LinuxHeadless',
			0, 0, 0, 1, 0, 0, $3, 'h1', 0, 0, '', 1, 0, 1, $4)`, m.id, m.team, string(m.state), m.deleted); err != nil {
			t.Fatal(err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Read(t.Context(), func(tx store.Tx) error {
		users, err := tx.ListUsersByEmail("ADA@example.COM")
		if err != nil || len(users) != 1 || users[0].ID != "u1" {
			t.Errorf("users by email after the migration: %+v %v, want u1", users, err)
		}
		for team, want := range map[string][2]int{"te1": {2, 1}, "te2": {1, 1}, "te9": {0, 0}} {
			u, err := tx.TeamUsage(team, core.QuotaMachines, core.QuotaRunning)
			if got := [2]int{u[core.QuotaMachines], u[core.QuotaRunning]}; err != nil || got != want {
				t.Errorf("team %s: machines, running = %v %v, want %v", team, got, err, want)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The same email in another team is another user; in the same team, a conflict.
	other := core.User{ID: "u2", TeamID: "te2", Email: "ada@EXAMPLE.com", Role: core.RoleAdmin, Created: time.UnixMilli(2).UTC()}
	if err := db.Write(t.Context(), func(tx store.Tx) error { return tx.CreateUser(&other) }); err != nil {
		t.Errorf("same email in another team: %v", err)
	}
	other.ID, other.TeamID = "u3", "te1"
	if err := db.Write(t.Context(), func(tx store.Tx) error { return tx.CreateUser(&other) }); core.ErrorCode(err) != core.Conflict {
		t.Errorf("same email in the same team: %v, want a conflict", err)
	}
}
