package sqlite

import (
	"context"
	"database/sql"
	"embed"

	"hangar/internal/core"
	"hangar/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations returns the embedded migrations ordered by version.
func migrations() ([]sqlstore.Migration, error) {
	return sqlstore.Migrations(migrationFS, "migrations")
}

// migrate applies the migrations newer than the database's version in one transaction.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migrations()
	if err != nil {
		return core.Wrap(core.Internal, err, "sqlite: read migrations")
	}
	sqlTx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: concurrent openers run one at a time
	if err != nil {
		return core.Wrap(core.Internal, err, "sqlite: begin migration")
	}
	defer func() { _ = sqlTx.Rollback() }()
	if err := sqlstore.Migrate(newTx(ctx, sqlTx, nil, nil, true), &dialect, ms); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return core.Wrap(core.Internal, err, "sqlite: commit migrations")
	}
	return nil
}
