package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"time"

	"hangar/internal/core"
	"hangar/internal/store/sqlq"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations returns the embedded migrations ordered by version.
func migrations() ([]sqlq.Migration, error) { return sqlq.Migrations(migrationFS, "migrations") }

// migrate applies the migrations newer than the database's version in one transaction.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migrations()
	if err != nil {
		return core.Wrap(core.Internal, err, "sqlite: read migrations")
	}
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: concurrent openers run one at a time
	if err != nil {
		return core.Wrap(core.Internal, err, "sqlite: begin migration")
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL)`); err != nil {
		return core.Wrap(core.Internal, err, "sqlite: create schema_migrations")
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return core.Wrap(core.Internal, err, "sqlite: read schema version")
	}
	if n := len(ms); n > 0 && current > ms[n-1].Version {
		return core.Errorf(core.Internal, "sqlite: database schema version %d is newer than this binary's %d",
			current, ms[n-1].Version)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return core.Wrap(core.Internal, err, "sqlite: apply migration "+m.Name)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.Version, m.Name, time.Now().UnixMilli()); err != nil {
			return core.Wrap(core.Internal, err, "sqlite: record migration "+m.Name)
		}
	}
	if err := tx.Commit(); err != nil {
		return core.Wrap(core.Internal, err, "sqlite: commit migrations")
	}
	return nil
}
