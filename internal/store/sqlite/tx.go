package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"hangar/internal/core"
	"hangar/internal/store"
)

var _ store.Tx = (*tx)(nil)

// tx implements store.Tx on a *sql.Tx. Its methods live in one file per resource.
type tx struct {
	ctx   context.Context
	q     *sql.Tx
	stmts *stmtCache
	clock core.Clock
}

// exec, query and queryRow run a fixed statement, prepared once per connection. Queries
// built at run time go to t.q directly so they do not crowd the cache.
func (t *tx) exec(query string, args ...any) (sql.Result, error) {
	if s := t.stmts.lookup(query); s != nil {
		return t.q.StmtContext(t.ctx, s).ExecContext(t.ctx, args...)
	}
	return t.q.ExecContext(t.ctx, query, args...)
}

func (t *tx) query(query string, args ...any) (*sql.Rows, error) {
	if s := t.stmts.lookup(query); s != nil {
		return t.q.StmtContext(t.ctx, s).QueryContext(t.ctx, args...)
	}
	return t.q.QueryContext(t.ctx, query, args...)
}

func (t *tx) queryRow(query string, args ...any) *sql.Row {
	if s := t.stmts.lookup(query); s != nil {
		return t.q.StmtContext(t.ctx, s).QueryRowContext(t.ctx, args...)
	}
	return t.q.QueryRowContext(t.ctx, query, args...)
}

// execOne runs a statement that must change exactly one row; NotFound otherwise.
func (t *tx) execOne(what, id, query string, args ...any) error {
	res, err := t.exec(query, args...)
	if err != nil {
		return dbErr(err, what, id)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbErr(err, what, id)
	}
	if n == 0 {
		return notFound(what, id)
	}
	return nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// list runs query and scans every row with scan.
func list[T any](t *tx, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := t.query(query, args...)
	return collect(rows, err, what, scan)
}

// collect scans every row of rows with scan.
func collect[T any](rows *sql.Rows, err error, what string, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, dbErr(err, what, "")
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, dbErr(err, what, "")
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(err, what, "")
	}
	return out, nil
}

// Errors.

func notFound(what, id string) error {
	return core.Errorf(core.NotFound, "%s not found", name(what, id))
}

// name is what followed by id, if any.
func name(what, id string) string {
	if id == "" {
		return what
	}
	return what + " " + id
}

// dbErr translates a driver error: no rows is NotFound, a UNIQUE or PRIMARY KEY violation is
// Conflict, anything else Internal.
func dbErr(err error, what, id string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(what, id)
	}
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return core.Wrap(core.Conflict, err, name(what, id)+" already exists")
	}
	var ce *core.Error
	if errors.As(err, &ce) {
		return err
	}
	return core.Wrap(core.Internal, err, "sqlite: "+name(what, id))
}

// dbErrConflict is dbErr with msg as the message of a Conflict, for tables with several
// unique keys.
func dbErrConflict(err error, what, id, msg string) error {
	e := dbErr(err, what, id)
	if core.ErrorCode(e) == core.Conflict {
		return core.Wrap(core.Conflict, err, msg)
	}
	return e
}

// sqliteCode returns the extended result code of a SQLite error, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// Column conversions. Times are unix milliseconds; nil pointers are NULL.

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// nullMS is the column value of an optional time.
func nullMS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

// nullable is the column value of an optional scalar.
func nullable[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// timeCol scans a millisecond column into a time.Time.
type timeCol struct{ dst *time.Time }

func (c timeCol) Scan(v any) error {
	var n sql.NullInt64
	if err := n.Scan(v); err != nil {
		return err
	}
	if !n.Valid {
		return errors.New("NULL in a NOT NULL time column")
	}
	*c.dst = fromMS(n.Int64)
	return nil
}

// nullTimeCol scans a nullable millisecond column into a *time.Time.
type nullTimeCol struct{ dst **time.Time }

func (c nullTimeCol) Scan(v any) error {
	var n sql.NullInt64
	if err := n.Scan(v); err != nil {
		return err
	}
	if !n.Valid {
		*c.dst = nil
		return nil
	}
	t := fromMS(n.Int64)
	*c.dst = &t
	return nil
}

// nullCol scans a nullable column into a *T.
type nullCol[T any] struct{ dst **T }

func (c nullCol[T]) Scan(v any) error {
	var n sql.Null[T]
	if err := n.Scan(v); err != nil {
		return err
	}
	if !n.Valid {
		*c.dst = nil
		return nil
	}
	*c.dst = &n.V
	return nil
}

func ptrCol[T any](dst **T) nullCol[T] { return nullCol[T]{dst} }
