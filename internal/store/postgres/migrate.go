package postgres

import (
	"context"
	"embed"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hangar/internal/core"
	"hangar/internal/store/sqlq"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLockKey is the first key of the advisory lock that serialises migrations; the second
// is a hash of the schema name, so databases with one schema per tenant or test do not wait
// for each other.
const migrateLockKey = 0x48414e47 // "HANG"

// migrations returns the embedded migrations ordered by version.
func migrations() ([]sqlq.Migration, error) { return sqlq.Migrations(migrationFS, "migrations") }

// migrate applies the migrations newer than the schema's version in one transaction. The
// transaction first takes an advisory lock, so replicas that start together run it one at a
// time, and each later one finds the work done. It is READ COMMITTED whatever the server's
// default, so that every statement after the lock sees what earlier holders committed.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := migrations()
	if err != nil {
		return core.Wrap(core.Internal, err, "postgres: read migrations")
	}
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite})
	if err != nil {
		return core.Wrap(core.Internal, err, "postgres: connect")
	}
	defer end(ctx, tx.Rollback)
	var schema *string
	if err := tx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return core.Wrap(core.Internal, err, "postgres: read current schema")
	}
	if schema == nil {
		return core.Errorf(core.Invalid, "postgres: the search_path names no existing schema")
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, migrateLockKey, *schema); err != nil {
		return core.Wrap(core.Internal, err, "postgres: lock for migration")
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at BIGINT  NOT NULL)`); err != nil {
		return core.Wrap(core.Internal, err, "postgres: create schema_migrations")
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return core.Wrap(core.Internal, err, "postgres: read schema version")
	}
	if n := len(ms); n > 0 && current > ms[n-1].Version {
		return core.Errorf(core.Internal, "postgres: database schema version %d is newer than this binary's %d",
			current, ms[n-1].Version)
	}
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return core.Wrap(core.Internal, err, "postgres: apply migration "+m.Name)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.Version, m.Name, time.Now().UnixMilli()); err != nil {
			return core.Wrap(core.Internal, err, "postgres: record migration "+m.Name)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return core.Wrap(core.Internal, err, "postgres: commit migrations")
	}
	return nil
}
