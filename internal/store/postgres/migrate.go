package postgres

import (
	"context"
	"embed"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hangar/internal/core"
	"hangar/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLockKey is the first key of the advisory lock that serialises migrations; the second
// is a hash of the schema name, so databases with one schema per tenant or test do not wait
// for each other.
const migrateLockKey = 0x48414e47 // "HANG"

// migrations returns the embedded migrations ordered by version.
func migrations() ([]sqlstore.Migration, error) {
	return sqlstore.Migrations(migrationFS, "migrations")
}

// migrate applies the migrations newer than the schema's version in one transaction. The
// transaction first takes an advisory lock, so replicas that start together run it one at a
// time, and each later one finds the work done. It is READ COMMITTED whatever the server's
// default, so that every statement after the lock sees what earlier holders committed.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := migrations()
	if err != nil {
		return core.Wrap(core.Internal, err, "postgres: read migrations")
	}
	pgTx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite})
	if err != nil {
		return core.Wrap(core.Internal, err, "postgres: connect")
	}
	defer end(ctx, pgTx.Rollback)
	var schema *string
	if err := pgTx.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return core.Wrap(core.Internal, err, "postgres: read current schema")
	}
	if schema == nil {
		return core.Errorf(core.Invalid, "postgres: the search_path names no existing schema")
	}
	if _, err := pgTx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, migrateLockKey, *schema); err != nil {
		return core.Wrap(core.Internal, err, "postgres: lock for migration")
	}
	if err := sqlstore.Migrate(newTx(ctx, pgTx, nil, true), &dialect, ms); err != nil {
		return err
	}
	if err := pgTx.Commit(ctx); err != nil {
		return core.Wrap(core.Internal, err, "postgres: commit migrations")
	}
	return nil
}
