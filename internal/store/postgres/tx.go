package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"hangar/internal/core"
	"hangar/internal/store"
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

// tx implements store.Tx on a pgx.Tx. Its methods live in one file per resource.
type tx struct {
	ctx   context.Context
	q     pgx.Tx
	write bool // a Write transaction (SERIALIZABLE), not a Read
	clock core.Clock
	// retryErr is the first serialization failure or deadlock a statement hit. The
	// transaction can then only be retried, whatever fn does with the error.
	retryErr error
}

// exec, query and queryRow run a statement. pgx prepares each statement text once per
// connection and caches it.
func (t *tx) exec(query string, args ...any) (pgconn.CommandTag, error) {
	return t.q.Exec(t.ctx, query, args...)
}

func (t *tx) query(query string, args ...any) (pgx.Rows, error) {
	return t.q.Query(t.ctx, query, args...)
}

func (t *tx) queryRow(query string, args ...any) pgx.Row {
	return t.q.QueryRow(t.ctx, query, args...)
}

// savepoint names the savepoint of guarded; one at a time, so one name suffices.
const savepoint = "hangar_stmt"

// guarded runs a statement that may fail on a constraint inside a savepoint, so that its
// failure undoes only the statement and leaves the transaction usable. SAVEPOINT, the
// statement and RELEASE go in one pipelined batch: one round trip, plus one more on failure.
func (t *tx) guarded(query string, args ...any) (pgconn.CommandTag, error) {
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
		return tag, spErr
	case err != nil:
		// Simple protocol (no arguments): both commands in one round trip.
		if _, rbErr := t.q.Exec(t.ctx, "ROLLBACK TO SAVEPOINT "+savepoint+"; RELEASE SAVEPOINT "+savepoint); rbErr != nil {
			return tag, errors.Join(err, rbErr)
		}
		return tag, err
	case relErr != nil:
		return tag, relErr
	}
	return tag, closeErr
}

// execOne runs a statement that must change exactly one row; NotFound otherwise.
func (t *tx) execOne(what, id, query string, args ...any) error {
	tag, err := t.exec(query, args...)
	if err != nil {
		return t.dbErr(err, what, id)
	}
	if tag.RowsAffected() == 0 {
		return notFound(what, id)
	}
	return nil
}

// insert runs an INSERT ... ON CONFLICT DO NOTHING and reports a Conflict when it inserted
// nothing: a duplicate key then raises no error and aborts nothing. msg is the Conflict's
// message ("" for "<what> <id> already exists").
func (t *tx) insert(what, id, msg, query string, args ...any) error {
	tag, err := t.exec(query, args...)
	if err != nil {
		return t.dbErr(err, what, id)
	}
	if tag.RowsAffected() == 0 {
		return conflict(what, id, msg)
	}
	return nil
}

// insertReturning is insert for an INSERT ... ON CONFLICT DO NOTHING RETURNING that scans
// its one row into dest.
func (t *tx) insertReturning(what, id, msg, query string, args []any, dest ...any) error {
	err := t.queryRow(query, args...).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return conflict(what, id, msg)
	}
	return t.dbErr(err, what, id)
}

// scanner is a pgx.Row or pgx.Rows.
type scanner interface{ Scan(dest ...any) error }

// list runs query and scans every row with scan.
func list[T any](t *tx, what string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := t.query(query, args...)
	if err != nil {
		return nil, t.dbErr(err, what, "")
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, t.dbErr(err, what, "")
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, t.dbErr(err, what, "")
	}
	return out, nil
}

// Errors.

func notFound(what, id string) error {
	return core.Errorf(core.NotFound, "%s not found", name(what, id))
}

// conflict is the Conflict of a duplicate key, with msg or a default message.
func conflict(what, id, msg string) error {
	if msg == "" {
		msg = name(what, id) + " already exists"
	}
	return core.Errorf(core.Conflict, "%s", msg)
}

// name is what followed by id, if any.
func name(what, id string) string {
	if id == "" {
		return what
	}
	return what + " " + id
}

// dbErr translates a driver error: no rows is NotFound, a unique violation Conflict,
// anything else Internal. A serialization failure or deadlock also marks t for retry.
func (t *tx) dbErr(err error, what, id string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound(what, id)
	}
	if retryable(err) {
		if t.retryErr == nil {
			t.retryErr = core.Wrap(core.Internal, err, "postgres: "+name(what, id)+": concurrent transactions conflicted")
		}
		return t.retryErr
	}
	if pgCode(err) == codeUnique {
		return core.Wrap(core.Conflict, err, name(what, id)+" already exists")
	}
	var ce *core.Error
	if errors.As(err, &ce) {
		return err
	}
	return core.Wrap(core.Internal, err, "postgres: "+name(what, id))
}

// dbErrConflict is dbErr with msg as the message of a Conflict, for tables with several
// unique keys.
func (t *tx) dbErrConflict(err error, what, id, msg string) error {
	e := t.dbErr(err, what, id)
	if core.ErrorCode(e) == core.Conflict {
		return core.Wrap(core.Conflict, err, msg)
	}
	return e
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
func retryable(err error) bool {
	switch pgCode(err) {
	case codeSerialization, codeDeadlock:
		return true
	}
	return false
}

// Column conversions. Times are unix milliseconds; nil pointers are NULL (pgx binds a nil
// pointer as NULL and scans NULL into a pointer-to-pointer as nil).

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// nullMS is the column value of an optional time.
func nullMS(t *time.Time) *int64 {
	if t == nil {
		return nil
	}
	v := t.UnixMilli()
	return &v
}

// timeCol scans a millisecond column into a time.Time.
type timeCol struct{ dst *time.Time }

// ScanInt64 implements pgtype.Int64Scanner.
func (c timeCol) ScanInt64(v pgtype.Int8) error {
	if !v.Valid {
		return errors.New("NULL in a NOT NULL time column")
	}
	*c.dst = fromMS(v.Int64)
	return nil
}

// nullTimeCol scans a nullable millisecond column into a *time.Time.
type nullTimeCol struct{ dst **time.Time }

// ScanInt64 implements pgtype.Int64Scanner.
func (c nullTimeCol) ScanInt64(v pgtype.Int8) error {
	if !v.Valid {
		*c.dst = nil
		return nil
	}
	t := fromMS(v.Int64)
	*c.dst = &t
	return nil
}
