package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"

	"hangar/internal/core"
	"hangar/internal/store"
	"hangar/internal/store/sqlstore"
)

// writeReq is one Write call waiting for the writer goroutine.
type writeReq struct {
	ctx  context.Context
	fn   func(store.Tx) error
	done chan error // buffered: the writer never blocks on a caller
	// state decides, once, between the writer running fn and the caller giving up on it:
	// reqWaiting until one of them moves it (reqRunning or reqAbandoned).
	state atomic.Int32
}

// The states of a writeReq.
const (
	reqWaiting   int32 = iota // queued, or in a batch whose transaction has not begun
	reqRunning                // fn is running or has run in the batch's transaction
	reqAbandoned              // the caller gave up (its context ended): fn never runs
)

// givenUp reports whether r's caller has given up, giving r up first if its context has ended.
func (r *writeReq) givenUp() bool {
	if r.ctx.Err() != nil {
		r.state.CompareAndSwap(reqWaiting, reqAbandoned)
	}
	return r.state.Load() == reqAbandoned
}

// writer owns the write connection and commits queued Writes in groups.
type writer struct {
	db       *sql.DB
	stmts    *stmtCache
	maxBatch int
	clock    core.Clock

	reqs    chan *writeReq // unbuffered: a blocked sender is a queued request
	closing chan struct{}
	stopped chan struct{}
	once    sync.Once

	batches, writes atomic.Int64 // transactions committed or tried, and the Writes they ran
	lastFailed      bool         // a fn of the last batch failed: the next one uses savepoints (loop only)
	onBatch         func(int)    // Options.OnBatch; nil: none
}

func newWriter(db *sql.DB, stmts *stmtCache, maxBatch int, clock core.Clock) *writer {
	w := &writer{
		db:       db,
		stmts:    stmts,
		maxBatch: maxBatch,
		clock:    clock,
		reqs:     make(chan *writeReq),
		closing:  make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	go w.loop()
	return w
}

// submit queues fn and waits for its result. It gives up with ctx's error while fn has not
// begun — queued, or in a batch still waiting for the database's lock (another process holding
// it) — and then fn never runs; once fn has begun it waits for the outcome. Either way the
// answer is exact: an error from ctx means nothing was written.
func (w *writer) submit(ctx context.Context, fn func(store.Tx) error) error {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case w.reqs <- r:
		select {
		case err := <-r.done:
			return err
		case <-ctx.Done():
			if r.state.CompareAndSwap(reqWaiting, reqAbandoned) {
				return ctx.Err()
			}
			return <-r.done // begun: its outcome is what happened
		}
	case <-ctx.Done():
		return ctx.Err()
	case <-w.closing:
		return core.Errorf(core.Internal, "sqlite: store is closed")
	}
}

// close stops accepting writes, waits for the queued ones to commit and stops the loop.
func (w *writer) close() {
	w.once.Do(func() { close(w.closing) })
	<-w.stopped
}

func (w *writer) loop() {
	defer close(w.stopped)
	for {
		select {
		case r := <-w.reqs:
			w.run(w.gather(r))
		case <-w.closing:
			// Drain the senders that are already blocked; later ones see closing.
			for {
				select {
				case r := <-w.reqs:
					w.run(w.gather(r))
				default:
					return
				}
			}
		}
	}
}

// gather returns first plus every request queued right now, up to maxBatch.
func (w *writer) gather(first *writeReq) []*writeReq {
	batch := []*writeReq{first}
	for len(batch) < w.maxBatch {
		select {
		case r := <-w.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// run commits batch and answers every request. If the shared transaction fails, each
// request is run again alone so one bad request cannot fail the others.
func (w *writer) run(batch []*writeReq) {
	results, err := w.commit(batch)
	w.stmts.fill() // the connection is free now
	if err == nil {
		for i, r := range batch {
			r.done <- results[i]
		}
		return
	}
	if len(batch) == 1 {
		if results != nil && results[0] != nil {
			err = results[0] // fn's own error explains the failure best
		}
		batch[0].done <- err
		return
	}
	for _, r := range batch {
		// Nothing of the batch was committed: what had begun is waiting again, for its run alone.
		r.state.CompareAndSwap(reqRunning, reqWaiting)
		w.run([]*writeReq{r})
	}
}

// commit runs batch in one transaction. It returns each fn's result and a non-nil error if
// the transaction as a whole failed, in which case nothing was committed.
//
// A savepoint per fn, so that a failing fn is undone alone, costs three statements per Write.
// Most Writes succeed, so commit first runs a batch without them when the previous batch had
// no failing fn: a lone fn that fails is undone by rolling the transaction back, and a
// failing fn in a larger batch rolls the whole attempt back and the batch runs again at once,
// with savepoints. While fns keep failing, batches keep their savepoints, so a stream of
// refused Writes costs no second attempt each.
func (w *writer) commit(batch []*writeReq) ([]error, error) {
	w.batches.Add(1)
	w.writes.Add(int64(len(batch)))
	if w.onBatch != nil {
		w.onBatch(len(batch))
	}
	results := make([]error, len(batch))
	live := false
	for i, r := range batch {
		if r.givenUp() {
			results[i] = r.ctx.Err()
		} else {
			live = true
		}
	}
	if !live { // every caller has given up: no transaction to wait for
		return results, nil
	}
	if len(batch) == 1 || !w.lastFailed {
		results, err, again := w.attempt(batch, false)
		if !again {
			w.lastFailed = failed(results)
			return results, err
		}
	}
	results, err, _ := w.attempt(batch, true)
	w.lastFailed = failed(results)
	return results, err
}

// failed reports whether a fn of a batch failed on its own (not by its caller giving up).
func failed(results []error) bool {
	for _, err := range results {
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			return true
		}
	}
	return false
}

// attempt runs batch in one transaction, each fn in a savepoint if savepoints is set. Without
// savepoints a failing fn ends the attempt: a lone one's result is its error (the transaction
// rolled back); in a larger batch the attempt is rolled back and again is set.
func (w *writer) attempt(batch []*writeReq, savepoints bool) (results []error, txErr error, again bool) {
	results = make([]error, len(batch))
	// Background: a caller's cancellation must not roll back the others' work.
	ctx := context.Background()
	sqlTx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, core.Wrap(core.Internal, err, "sqlite: begin write"), false
	}
	for i, r := range batch {
		// A fn that began in an earlier attempt of this batch runs again: its caller waits
		// for it. Any other runs only if its caller has not given up.
		if r.state.Load() != reqRunning && (r.givenUp() || !r.state.CompareAndSwap(reqWaiting, reqRunning)) {
			results[i] = r.ctx.Err() // given up before it began: fn never runs
			continue
		}
		if savepoints {
			if results[i], err = w.runOne(ctx, sqlTx, r.fn); err != nil {
				_ = sqlTx.Rollback()
				return results, err, false
			}
			continue
		}
		t := newTx(ctx, sqlTx, w.stmts, w.clock, true)
		if results[i] = sqlstore.Call(r.fn, t); results[i] != nil || t.failed {
			// A statement that failed may have ended the transaction under fn (see tx.failed):
			// only a savepoint's RELEASE would tell, so the batch takes that path.
			_ = sqlTx.Rollback()
			if len(batch) == 1 && results[i] != nil {
				return results, nil, false
			}
			return nil, nil, true
		}
	}
	if err := sqlTx.Commit(); err != nil {
		return results, core.Wrap(core.Internal, err, "sqlite: commit"), false
	}
	return results, nil, false
}

// runOne runs fn inside a savepoint, rolling back to it if fn fails or panics. The second
// result is an error of the transaction itself.
func (w *writer) runOne(ctx context.Context, sqlTx *sql.Tx, fn func(store.Tx) error) (fnErr, txErr error) {
	if _, err := sqlTx.ExecContext(ctx, "SAVEPOINT w"); err != nil {
		return nil, core.Wrap(core.Internal, err, "sqlite: savepoint")
	}
	fnErr = sqlstore.Call(fn, newTx(ctx, sqlTx, w.stmts, w.clock, true))
	if fnErr != nil {
		if _, err := sqlTx.ExecContext(ctx, "ROLLBACK TO w"); err != nil {
			return fnErr, core.Wrap(core.Internal, err, "sqlite: rollback to savepoint")
		}
	}
	if _, err := sqlTx.ExecContext(ctx, "RELEASE w"); err != nil {
		return fnErr, core.Wrap(core.Internal, err, "sqlite: release savepoint")
	}
	return fnErr, nil
}
