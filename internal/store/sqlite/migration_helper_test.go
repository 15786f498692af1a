package sqlite

import (
	"database/sql"
	"path/filepath"
	"testing"
)

// openAtVersion creates a database in a new temporary directory with the migrations up to
// version only, as an older Hangar left it, and returns its path and a raw connection that
// writes rows in that schema's columns. The caller closes raw before opening the store on
// path, which applies the later migrations.
func openAtVersion(t *testing.T, version int) (path string, raw *sql.DB) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "hangar.db")
	migs, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if raw, err = sql.Open("sqlite", path); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range migs {
		if m.Version > version {
			break
		}
		if _, err := raw.Exec(m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := raw.Exec(`INSERT INTO schema_migrations VALUES ($1, $2, 0)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	return path, raw
}
