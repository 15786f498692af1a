package sqlite

import (
	"testing"

	"hangar/internal/core"
	"hangar/internal/store"
)

// TestAgentsMigration opens a database at schema version 11 with a host made by hand and
// checks that migration 0013 keeps it as a host without an agent: up, never unreachable,
// no credential, taking placements as before.
func TestAgentsMigration(t *testing.T) {
	path, raw := openAtVersion(t, 11)
	if _, err := raw.Exec(`INSERT INTO hosts (id, name, region, capacity, available, created)
		VALUES ('h1', 'old', 'East Coast (NY2)', '{"C5":2}', 1, 1)`); err != nil {
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
	if err := db.Read(t.Context(), func(tx store.Tx) error {
		h, err := tx.GetHost("h1")
		if err != nil {
			return err
		}
		if h.Remote() || h.State() != core.HostUp || h.Agent.CredentialHash != "" || h.Free("C5") != 2 {
			t.Errorf("host after the migration: %+v (state %s)", h, h.State())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
