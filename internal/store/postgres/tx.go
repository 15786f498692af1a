package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"hangar/internal/core"
	"hangar/internal/store"
	"hangar/internal/store/sqlstore"
)

var _ store.Tx = (*tx)(nil)

// PostgreSQL error codes the store translates.
const (
	codeSerialization = "40001" // serialization_failure
	codeDeadlock      = "40P01" // deadlock_detected
	codeUnique        = "23505" // unique_violation
	codeForeignKey    = "23503" // foreign_key_violation
	codeCheck         = "23514" // check_violation
)

// dialect is PostgreSQL's: an integer filter is cast to bigint, LIMIT NULL is no limit, and
// concurrent writers lock the rows they place on or claim.
var dialect = sqlstore.Dialect{
	Name:     "postgres",
	Classify: classify,
	IntCast:  "::bigint",
	NoLimit:  nil,
	RowLocks: true,
	// lower() would follow the locale; the machine name search folds ASCII only, as SQLite does.
	FoldASCII: "translate(%s, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')",
	MigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at BIGINT  NOT NULL)`,
}

// tx is a store.Tx on a pgx.Tx: the shared methods of sqlstore.Tx over tx itself as their
// executor. pgx prepares each statement text once per connection and caches it.
type tx struct {
	sqlstore.Tx
	ctx context.Context
	q   pgx.Tx
}

func newTx(ctx context.Context, q pgx.Tx, clock core.Clock, write bool) *tx {
	t := &tx{ctx: ctx, q: q}
	t.Tx = sqlstore.NewTx(t, &dialect, clock, write)
	return t
}

// Exec implements sqlstore.Executor.
func (t *tx) Exec(query string, args ...any) (int64, error) {
	tag, err := t.q.Exec(t.ctx, query, args...)
	return tag.RowsAffected(), err
}

// Query implements sqlstore.Executor.
func (t *tx) Query(query string, args ...any) (sqlstore.Rows, error) {
	return t.q.Query(t.ctx, query, args...)
}

// QueryBuilt implements sqlstore.Executor; pgx's statement cache is bounded (LRU), so a
// built query is treated like a fixed one.
func (t *tx) QueryBuilt(query string, args ...any) (sqlstore.Rows, error) {
	return t.Query(query, args...)
}

// QueryRow implements sqlstore.Executor.
func (t *tx) QueryRow(query string, args ...any) sqlstore.Row {
	return t.q.QueryRow(t.ctx, query, args...)
}

// savepoint names the savepoint of ExecGuarded; one at a time, so one name suffices.
const savepoint = "hangar_stmt"

// ExecGuarded implements sqlstore.Executor: it runs the statement inside a savepoint, so
// that its failure undoes only the statement and leaves the transaction usable. SAVEPOINT,
// the statement and RELEASE go in one pipelined batch: one round trip, plus one more on
// failure.
func (t *tx) ExecGuarded(query string, args ...any) (int64, error) {
	b := &pgx.Batch{}
	b.Queue("SAVEPOINT " + savepoint)
	b.Queue(query, args...)
	b.Queue("RELEASE SAVEPOINT " + savepoint)
	br := t.q.SendBatch(t.ctx, b)
	_, spErr := br.Exec()
	tag, err := br.Exec()
	_, relErr := br.Exec()
	closeErr := br.Close()
	switch {
	case spErr != nil: // the transaction was unusable before the statement
		return 0, spErr
	case err != nil:
		// Simple protocol (no arguments): both commands in one round trip.
		if _, rbErr := t.q.Exec(t.ctx, "ROLLBACK TO SAVEPOINT "+savepoint+"; RELEASE SAVEPOINT "+savepoint); rbErr != nil {
			return 0, errors.Join(err, rbErr)
		}
		return 0, err
	case relErr != nil:
		return 0, relErr
	}
	return tag.RowsAffected(), closeErr
}

// classify implements sqlstore.Dialect.Classify on SQLSTATE codes.
func classify(err error) sqlstore.ErrorKind {
	if errors.Is(err, pgx.ErrNoRows) {
		return sqlstore.ErrNoRows
	}
	switch pgCode(err) {
	case codeSerialization, codeDeadlock:
		return sqlstore.ErrRetry
	case codeUnique:
		return sqlstore.ErrUnique
	case codeForeignKey:
		return sqlstore.ErrForeignKey
	case codeCheck:
		return sqlstore.ErrCheck
	}
	return sqlstore.ErrOther
}

// pgCode returns the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// retryable reports a serialization failure or deadlock: the transaction may succeed if
// run again.
func retryable(err error) bool { return classify(err) == sqlstore.ErrRetry }
