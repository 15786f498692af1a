package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"hangar/internal/core"
	"hangar/internal/store"
	"hangar/internal/store/sqlstore"
)

var _ store.Store = (*DB)(nil)

// Retry backoff of Write: attempt n sleeps a uniformly random time below
// min(backoffBase<<n, backoffMax), so colliding writers spread out.
const (
	backoffBase = 500 * time.Microsecond
	backoffMax  = 20 * time.Millisecond
)

// endTimeout bounds COMMIT and ROLLBACK, which run even after the caller's ctx ended so that
// a Write whose fn has run learns its real outcome.
const endTimeout = 30 * time.Second

// Options tune a DB. The zero value gives the defaults.
type Options struct {
	// MaxAttempts is how many times Write runs fn when its transaction fails with a
	// serialization failure or a deadlock (default 20).
	MaxAttempts int
	// MaxConns caps the connection pool. 0 keeps pool_max_conns from the URL, or pgxpool's
	// default (the larger of 4 and the number of CPUs).
	MaxConns int32
	// Clock stamps deletions that take no time argument (default core.SystemClock).
	Clock core.Clock
	// OnWrite, if set, is told how long each Write took, retries included. It is called on
	// the hot path and must be cheap.
	OnWrite func(time.Duration)
}

func (o *Options) setDefaults() {
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 20
	}
	if o.Clock == nil {
		o.Clock = core.SystemClock{}
	}
}

// DB is a PostgreSQL-backed store.Store. It is safe for concurrent use.
type DB struct {
	pool *pgxpool.Pool
	opts Options

	// lane admits one write attempt at a time among the Writes in lane mode; contended
	// counts those Writes (see Write).
	lane      chan struct{}
	contended atomic.Int32

	// Write statistics: transactions begun, those retried, and the most attempts one Write
	// took.
	attempts, retries, worst atomic.Int64

	closeOnce sync.Once
}

// Open connects to the database at url (a postgres:// URL or a keyword/value string, as
// pgx accepts), migrates its schema and returns the store.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	opts.setDefaults()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, core.Wrap(core.Invalid, err, "postgres: invalid database URL")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, core.Wrap(core.Internal, err, "postgres: open pool")
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &DB{pool: pool, opts: opts, lane: make(chan struct{}, 1)}, nil
}

// Read runs fn in a READ ONLY REPEATABLE READ transaction: every statement sees the
// snapshot taken by the first. Statements run under ctx.
func (db *DB) Read(ctx context.Context, fn func(store.Tx) error) error {
	pgTx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return core.Wrap(core.Internal, err, "postgres: begin read")
	}
	defer end(ctx, pgTx.Rollback)
	return sqlstore.Call(fn, newTx(ctx, pgTx, db.opts.Clock, false))
}

// Write runs fn in a SERIALIZABLE transaction and commits it, running fn again in a new
// transaction after a serialization failure or deadlock (see the package doc). Statements
// run under ctx; once fn has returned, the commit runs to completion even if ctx ends, so a
// nil result always means committed.
//
// Contention. Under SERIALIZABLE, when one transaction commits a change to a row that others
// in flight have read (a host's usage, a counter), all of those fail; N writers retrying
// freely on one hot row need O(N²) attempts. So a Write whose attempt failed switches to
// lane mode, in which its attempts run one at a time with the other lane-mode Writes of this
// DB, and while any Write is in lane mode new Writes join it. Under sustained contention a
// replica thus becomes a single writer, as SQLite always is; once the lane drains, writes
// run concurrently again. Writes of other replicas still conflict, and are retried.
func (db *DB) Write(ctx context.Context, fn func(store.Tx) error) error {
	if db.opts.OnWrite != nil {
		start := time.Now()
		defer func() { db.opts.OnWrite(time.Since(start)) }()
	}
	inLane := false
	defer func() {
		if inLane {
			db.contended.Add(-1)
		}
	}()
	for attempt := 1; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !inLane && db.contended.Load() > 0 {
			inLane = true
			db.contended.Add(1)
		}
		retry, err := db.attempt(ctx, inLane, fn)
		if !retry {
			db.noteAttempts(attempt)
			return err
		}
		db.retries.Add(1)
		if attempt >= db.opts.MaxAttempts {
			return core.Wrap(core.Internal, err,
				fmt.Sprintf("postgres: write still conflicting after %d attempts", attempt))
		}
		if !inLane {
			inLane = true
			db.contended.Add(1)
		}
		if !sleep(ctx, backoff(attempt)) {
			return ctx.Err()
		}
	}
}

// noteAttempts records that a Write ended after n attempts.
func (db *DB) noteAttempts(n int) {
	for {
		w := db.worst.Load()
		if int64(n) <= w || db.worst.CompareAndSwap(w, int64(n)) {
			return
		}
	}
}

// attempt runs writeOnce, holding the lane if inLane.
func (db *DB) attempt(ctx context.Context, inLane bool, fn func(store.Tx) error) (retry bool, err error) {
	if inLane {
		select {
		case db.lane <- struct{}{}:
			defer func() { <-db.lane }()
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	return db.writeOnce(ctx, fn)
}

// writeOnce runs fn in one transaction. retry reports a serialization failure or deadlock
// anywhere in it, in which case nothing was committed.
func (db *DB) writeOnce(ctx context.Context, fn func(store.Tx) error) (retry bool, err error) {
	db.attempts.Add(1)
	pgTx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
	if err != nil {
		return retryable(err), core.Wrap(core.Internal, err, "postgres: begin write")
	}
	t := newTx(ctx, pgTx, db.opts.Clock, true)
	fnErr := sqlstore.Call(fn, t)
	if retryErr := t.RetryErr(); retryErr != nil {
		end(ctx, pgTx.Rollback)
		if fnErr == nil {
			fnErr = retryErr // fn swallowed the failure
		}
		return true, fnErr
	}
	if fnErr != nil {
		end(ctx, pgTx.Rollback)
		return false, fnErr
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), endTimeout)
	defer cancel()
	if err := pgTx.Commit(cctx); err != nil {
		if errors.Is(err, pgx.ErrTxCommitRollback) {
			return false, core.Wrap(core.Internal, err, "postgres: the transaction was aborted by a failed statement")
		}
		return retryable(err), core.Wrap(core.Internal, err, "postgres: commit")
	}
	return false, nil
}

// Close closes the pool, waiting for the transactions in flight. Later calls do nothing.
func (db *DB) Close() error {
	db.closeOnce.Do(db.pool.Close)
	return nil
}

// end runs a transaction's Rollback with a context that outlives ctx, bounded by endTimeout.
func end(ctx context.Context, rollback func(context.Context) error) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), endTimeout)
	defer cancel()
	_ = rollback(rctx) // a failed rollback closes the connection, which ends the transaction
}

// backoff returns the sleep before the attempt after attempt n: full jitter below an
// exponentially growing cap.
func backoff(n int) time.Duration {
	limit := backoffMax
	if n < 16 && backoffBase<<n < backoffMax {
		limit = backoffBase << n
	}
	return rand.N(limit) + time.Millisecond/4
}

// sleep waits d or until ctx ends, reporting whether the whole d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

var _ store.AuthGenerationReader = (*DB)(nil)

// AuthGeneration reads the credential generation in one statement, outside any transaction:
// one round trip instead of the three of a Read.
func (db *DB) AuthGeneration(ctx context.Context) (int64, error) {
	var g int64
	if err := db.pool.QueryRow(ctx, sqlstore.AuthGenerationQuery).Scan(&g); err != nil {
		return 0, core.Wrap(core.Internal, err, "postgres: read the auth generation")
	}
	return g, nil
}
