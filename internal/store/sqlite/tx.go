package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"hangar/internal/core"
	"hangar/internal/store"
	"hangar/internal/store/sqlstore"
)

var _ store.Tx = (*tx)(nil)

// dialect is SQLite's: LIMIT -1 is no limit, and the single writer needs no row locks.
var dialect = sqlstore.Dialect{
	Name:     "sqlite",
	Classify: classify,
	NoLimit:  int64(-1),
	// SQLite's lower() folds ASCII letters only.
	FoldASCII: "lower(%s)",
	MigrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL)`,
}

// tx is a store.Tx on a *sql.Tx: the shared methods of sqlstore.Tx over tx itself as their
// executor.
type tx struct {
	sqlstore.Tx
	ctx   context.Context
	q     *sql.Tx
	stmts *stmtCache // nil: nothing is prepared (migrations)
	// failed is set when a statement failed other than on a constraint or a missing row:
	// SQLite may have rolled the whole transaction back then (SQLITE_FULL, SQLITE_IOERR,
	// SQLITE_NOMEM, SQLITE_BUSY, SQLITE_INTERRUPT), even if fn carries on.
	failed bool
}

// note records err's kind (failed) and returns it.
func (t *tx) note(err error) error {
	if err != nil && classify(err) == sqlstore.ErrOther {
		t.failed = true
	}
	return err
}

func newTx(ctx context.Context, q *sql.Tx, stmts *stmtCache, clock core.Clock, write bool) *tx {
	t := &tx{ctx: ctx, q: q, stmts: stmts}
	t.Tx = sqlstore.NewTx(t, &dialect, clock, write)
	return t
}

// stmt returns the prepared statement of a fixed query bound to t, or nil if it is not
// prepared yet (or t prepares nothing).
func (t *tx) stmt(query string) *sql.Stmt {
	if t.stmts == nil {
		return nil
	}
	if s := t.stmts.lookup(query); s != nil {
		return t.q.StmtContext(t.ctx, s)
	}
	return nil
}

// Exec implements sqlstore.Executor with a statement prepared once per connection.
func (t *tx) Exec(query string, args ...any) (int64, error) {
	var (
		res sql.Result
		err error
	)
	if s := t.stmt(query); s != nil {
		res, err = s.ExecContext(t.ctx, args...)
	} else {
		res, err = t.q.ExecContext(t.ctx, query, args...)
	}
	if err != nil {
		return 0, t.note(err)
	}
	return res.RowsAffected()
}

// ExecGuarded implements sqlstore.Executor. SQLite undoes a failed statement by itself and
// leaves the transaction usable, so it is Exec.
func (t *tx) ExecGuarded(query string, args ...any) (int64, error) { return t.Exec(query, args...) }

// Query implements sqlstore.Executor with a statement prepared once per connection.
func (t *tx) Query(query string, args ...any) (sqlstore.Rows, error) {
	if s := t.stmt(query); s != nil {
		return t.wrapRows(s.QueryContext(t.ctx, args...))
	}
	return t.QueryBuilt(query, args...)
}

// QueryBuilt implements sqlstore.Executor: the query goes to the transaction directly, so
// that queries built at run time do not crowd the statement cache.
func (t *tx) QueryBuilt(query string, args ...any) (sqlstore.Rows, error) {
	return t.wrapRows(t.q.QueryContext(t.ctx, query, args...))
}

// QueryRow implements sqlstore.Executor with a statement prepared once per connection.
func (t *tx) QueryRow(query string, args ...any) sqlstore.Row {
	if s := t.stmt(query); s != nil {
		return row{s.QueryRowContext(t.ctx, args...), t}
	}
	return row{t.q.QueryRowContext(t.ctx, query, args...), t}
}

// row adapts *sql.Row, noting the error of its Scan.
type row struct {
	*sql.Row
	t *tx
}

func (r row) Scan(dest ...any) error { return r.t.note(r.Row.Scan(dest...)) }

// rows adapts *sql.Rows to sqlstore.Rows, whose Close reports nothing (its error, if any,
// also comes from Err).
type rows struct {
	*sql.Rows
	t *tx
}

func (r rows) Close() { _ = r.Rows.Close() }

func (r rows) Err() error { return r.t.note(r.Rows.Err()) }

func (t *tx) wrapRows(r *sql.Rows, err error) (sqlstore.Rows, error) {
	if err != nil {
		return nil, t.note(err)
	}
	return rows{r, t}, nil
}

// classify implements sqlstore.Dialect.Classify on modernc.org/sqlite's extended result
// codes.
func classify(err error) sqlstore.ErrorKind {
	if errors.Is(err, sql.ErrNoRows) {
		return sqlstore.ErrNoRows
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return sqlstore.ErrOther
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return sqlstore.ErrUnique
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return sqlstore.ErrForeignKey
	case sqlite3.SQLITE_CONSTRAINT_CHECK:
		return sqlstore.ErrCheck
	}
	return sqlstore.ErrOther
}
