package sqlstore

import (
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"hangar/internal/core"
)

// Migration is one numbered schema change, from a file NNNN_name.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations reads the *.sql files of dir in fsys, ordered by version. Each name must start
// with a positive number and "_", and no two may share a version.
func Migrations(fsys fs.FS, dir string) ([]Migration, error) {
	names, err := fs.Glob(fsys, dir+"/*.sql")
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, name := range names {
		base := strings.TrimPrefix(name, dir+"/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and _", base)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: base, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s share a version", out[i-1].Name, out[i].Name)
		}
	}
	return out, nil
}

// Migrate applies the migrations of ms newer than the schema's version, in the transaction
// that x runs (which the caller begins and commits), and records each in schema_migrations,
// creating that table first if it is missing. A schema newer than ms is refused.
func Migrate(x Executor, d *Dialect, ms []Migration) error {
	if _, err := x.Exec(d.MigrationsTable); err != nil {
		return core.Wrap(core.Internal, err, d.Name+": create schema_migrations")
	}
	var current int
	if err := x.QueryRow(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return core.Wrap(core.Internal, err, d.Name+": read schema version")
	}
	if n := len(ms); n > 0 && current > ms[n-1].Version {
		return core.Errorf(core.Internal, "%s: database schema version %d is newer than this binary's %d",
			d.Name, current, ms[n-1].Version)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if _, err := x.Exec(m.SQL); err != nil {
			return core.Wrap(core.Internal, err, d.Name+": apply migration "+m.Name)
		}
		if _, err := x.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.Version, m.Name, time.Now().UnixMilli()); err != nil {
			return core.Wrap(core.Internal, err, d.Name+": record migration "+m.Name)
		}
	}
	return nil
}
