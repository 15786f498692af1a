package sqlstore

import (
	"errors"
	"fmt"
	"runtime/debug"

	"hangar/internal/core"
	"hangar/internal/store"
)

var _ store.Tx = (*Tx)(nil)

// Tx implements store.Tx over an Executor. Its methods live in one file per resource. A
// backend embeds it in its own transaction type, which is also the Executor.
type Tx struct {
	x     Executor
	d     *Dialect
	clock core.Clock
	write bool
	// retryErr is the first serialization failure or deadlock a statement hit: the
	// transaction can then only be retried, whatever fn does with the error.
	retryErr error
}

// NewTx returns a Tx that runs its statements on x in dialect d. write tells a read-write
// transaction from a read-only one; clock stamps the deletions that take no time argument.
func NewTx(x Executor, d *Dialect, clock core.Clock, write bool) Tx {
	return Tx{x: x, d: d, clock: clock, write: write}
}

// RetryErr returns the Internal error of the first serialization failure or deadlock that
// a statement of t hit, or nil. A backend that sees one rolls back and runs fn again,
// whether or not fn returned the error.
func (t *Tx) RetryErr() error { return t.retryErr }

// Err translates err, met on what (and id, if any): nil stays nil, no rows is NotFound, a
// duplicate key Conflict, a serialization failure or deadlock marks t for retry, a core
// error is kept and anything else becomes Internal.
func (t *Tx) Err(err error, what, id string) error {
	if err == nil {
		return nil
	}
	switch t.d.Classify(err) {
	case ErrNoRows:
		return notFound(what, id)
	case ErrRetry:
		return t.retry(err, name(what, id)+": concurrent transactions conflicted")
	case ErrUnique:
		return core.Wrap(core.Conflict, err, name(what, id)+" already exists")
	}
	var ce *core.Error
	if errors.As(err, &ce) {
		return err
	}
	return core.Wrap(core.Internal, err, t.d.Name+": "+name(what, id))
}

// retry marks t for retry with err, if it is not marked yet, and returns the mark.
func (t *Tx) retry(err error, msg string) error {
	if t.retryErr == nil {
		t.retryErr = core.Wrap(core.Internal, err, t.d.Name+": "+msg)
	}
	return t.retryErr
}

// errConflict is Err with msg as the message of a Conflict, for tables with several unique
// keys.
func (t *Tx) errConflict(err error, what, id, msg string) error {
	e := t.Err(err, what, id)
	if core.ErrorCode(e) == core.Conflict {
		return core.Wrap(core.Conflict, err, msg)
	}
	return e
}

// execOne runs a statement that must change exactly one row; NotFound otherwise.
func (t *Tx) execOne(what, id, query string, args ...any) error {
	n, err := t.x.Exec(query, args...)
	if err != nil {
		return t.Err(err, what, id)
	}
	if n == 0 {
		return notFound(what, id)
	}
	return nil
}

// guardedOne is execOne for a statement that may fail on a constraint (ExecGuarded); a
// Conflict gets msg as its message.
func (t *Tx) guardedOne(what, id, msg, query string, args ...any) error {
	n, err := t.x.ExecGuarded(query, args...)
	if err != nil {
		return t.errConflict(err, what, id, msg)
	}
	if n == 0 {
		return notFound(what, id)
	}
	return nil
}

// insert runs an INSERT … ON CONFLICT DO NOTHING and reports a Conflict when it inserted
// nothing. msg is the Conflict's message ("" for "<what> <id> already exists").
func (t *Tx) insert(what, id, msg, query string, args ...any) error {
	n, err := t.x.Exec(query, args...)
	if err != nil {
		return t.Err(err, what, id)
	}
	if n == 0 {
		return conflict(what, id, msg)
	}
	return nil
}

// insertReturning is insert for an INSERT … ON CONFLICT DO NOTHING RETURNING, whose one
// row it scans into dest.
func (t *Tx) insertReturning(what, id, query string, args []any, dest ...any) error {
	err := t.x.QueryRow(query, args...).Scan(dest...)
	if err != nil && t.d.Classify(err) == ErrNoRows {
		return conflict(what, id, "")
	}
	return t.Err(err, what, id)
}

// list runs a fixed query and scans every row with scan.
func list[T any](t *Tx, what string, scan func(Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := t.x.Query(query, args...)
	return collect(t, rows, err, what, scan)
}

// collect scans every row of rows (the result of a query that failed with err, if err is
// set) with scan.
func collect[T any](t *Tx, rows Rows, err error, what string, scan func(Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, t.Err(err, what, "")
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, t.Err(err, what, "")
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, t.Err(err, what, "")
	}
	return out, nil
}

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

// Call runs fn on t, turning a panic into an Internal error that carries the panic value
// and stack.
func Call(fn func(store.Tx) error, t store.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = core.Wrap(core.Internal, fmt.Errorf("panic: %v\n%s", p, debug.Stack()), "transaction panicked")
		}
	}()
	return fn(t)
}
