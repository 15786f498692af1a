package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"hangar/internal/core"
	"hangar/internal/store"
)

var _ store.Store = (*DB)(nil)

// MemoryPath is the path that opens a private database in a temporary file, removed by
// Close. A true in-memory database cannot be shared between the writer and the read pool.
const MemoryPath = ":memory:"

// Options tune a DB. The zero value gives the defaults.
type Options struct {
	// Synchronous is SQLite's synchronous setting: "NORMAL" (default; survives a process
	// crash) or "FULL" (also survives power loss), or "OFF"/"EXTRA".
	Synchronous string
	// BusyTimeout is how long a connection waits for a lock (default 10s).
	BusyTimeout time.Duration
	// ReadConns is the size of the read pool (default 4).
	ReadConns int
	// MaxBatch is the most Write calls committed in one transaction (default 256).
	MaxBatch int
	// Clock stamps deletions that take no time argument (default core.SystemClock).
	Clock core.Clock
	// OnWrite, if set, is told how long each Write took, queue and commit included; OnBatch
	// how many Writes each group commit carried. Both are called on the hot path and must be
	// cheap.
	OnWrite func(time.Duration)
	OnBatch func(writes int)
}

func (o *Options) setDefaults() error {
	if o.Synchronous == "" {
		o.Synchronous = "NORMAL"
	}
	switch strings.ToUpper(o.Synchronous) {
	case "OFF", "NORMAL", "FULL", "EXTRA":
		o.Synchronous = strings.ToUpper(o.Synchronous)
	default:
		return core.Errorf(core.Invalid, "sqlite: synchronous %q is not OFF, NORMAL, FULL or EXTRA", o.Synchronous)
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 10 * time.Second
	}
	if o.ReadConns <= 0 {
		o.ReadConns = 4
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.Clock == nil {
		o.Clock = core.SystemClock{}
	}
	return nil
}

// DB is a SQLite-backed store.Store. It is safe for concurrent use.
type DB struct {
	path   string
	opts   Options
	write  *sql.DB // one connection, BEGIN IMMEDIATE
	read   *sql.DB // query_only pool
	wstmts *stmtCache
	rstmts *stmtCache
	w      *writer
	tmpDir string // set for MemoryPath; removed by Close

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the database at path, migrates it to the current schema
// and starts the writer. path may be MemoryPath for a throwaway database.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	db := &DB{path: path, opts: opts}
	if path == MemoryPath || path == "" {
		dir, err := os.MkdirTemp("", "hangar-sqlite-")
		if err != nil {
			return nil, core.Wrap(core.Internal, err, "sqlite: create temporary directory")
		}
		db.tmpDir, db.path = dir, filepath.Join(dir, "hangar.db")
	}
	if strings.ContainsAny(db.path, "?#") || strings.HasPrefix(db.path, "file:") {
		db.removeTmp()
		return nil, core.Errorf(core.Invalid, "sqlite: path %q must be a plain file name", path)
	}
	// SQLite would create the file 0644, and its -wal and -shm take the file's mode: made here
	// first, all three are the owner's only.
	if f, err := os.OpenFile(db.path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	}
	if err := db.open(ctx); err != nil {
		db.closeConns()
		db.removeTmp()
		return nil, err
	}
	db.wstmts, db.rstmts = newStmtCache(db.write), newStmtCache(db.read)
	db.w = newWriter(db.write, db.wstmts, opts.MaxBatch, opts.Clock)
	db.w.onBatch = opts.OnBatch
	return db, nil
}

func (db *DB) open(ctx context.Context) error {
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(%s)&_pragma=temp_store(MEMORY)&_pragma=cache_size(-32768)",
		db.opts.BusyTimeout.Milliseconds(), db.opts.Synchronous)
	var err error
	db.write, err = sql.Open("sqlite", db.path+"?_pragma=journal_mode(WAL)&"+common+"&_txlock=immediate")
	if err != nil {
		return core.Wrap(core.Internal, err, "sqlite: open writer")
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	db.write.SetConnMaxLifetime(0)
	db.write.SetConnMaxIdleTime(0)
	var mode string
	if err := db.write.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return core.Wrap(core.Internal, err, "sqlite: open "+db.path)
	}
	if !strings.EqualFold(mode, "wal") {
		return core.Errorf(core.Internal, "sqlite: journal_mode is %q, want wal", mode)
	}
	if err := migrate(ctx, db.write); err != nil {
		return err
	}
	db.read, err = sql.Open("sqlite", db.path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		return core.Wrap(core.Internal, err, "sqlite: open readers")
	}
	db.read.SetMaxOpenConns(db.opts.ReadConns)
	db.read.SetMaxIdleConns(db.opts.ReadConns)
	db.read.SetConnMaxLifetime(0)
	db.read.SetConnMaxIdleTime(0)
	if err := db.read.PingContext(ctx); err != nil {
		return core.Wrap(core.Internal, err, "sqlite: open readers")
	}
	return nil
}

// Path returns the database file name.
func (db *DB) Path() string { return db.path }

// Read runs fn in a read-only transaction on one consistent snapshot. Statements run under
// ctx.
func (db *DB) Read(ctx context.Context, fn func(store.Tx) error) error {
	sqlTx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return core.Wrap(core.Internal, err, "sqlite: begin read")
	}
	defer func() {
		_ = sqlTx.Rollback()
		db.rstmts.fill() // this Read's connection is back in the pool
	}()
	return fn(newTx(ctx, sqlTx, db.rstmts, db.opts.Clock, false))
}

// Write runs fn in a read-write transaction, committed together with the Writes queued at
// the same moment (see the package doc). ctx bounds only the wait in the queue: once fn
// has started, the call waits for the commit, so its result is never lost. fn's statements
// run without ctx, because interrupting a statement would abort the shared transaction.
func (db *DB) Write(ctx context.Context, fn func(store.Tx) error) error {
	if db.opts.OnWrite == nil {
		return db.w.submit(ctx, fn)
	}
	start := time.Now()
	err := db.w.submit(ctx, fn)
	db.opts.OnWrite(time.Since(start))
	return err
}

// Close drains the queued writes, then closes the connections. Later calls return the
// first result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		if db.w != nil {
			db.w.close()
			db.wstmts.close()
			db.rstmts.close()
		}
		db.closeErr = db.closeConns()
		db.removeTmp()
	})
	return db.closeErr
}

func (db *DB) closeConns() error {
	var first error
	for _, c := range []*sql.DB{db.read, db.write} {
		if c == nil {
			continue
		}
		if err := c.Close(); err != nil && first == nil {
			first = core.Wrap(core.Internal, err, "sqlite: close")
		}
	}
	return first
}

func (db *DB) removeTmp() {
	if db.tmpDir != "" {
		_ = os.RemoveAll(db.tmpDir)
	}
}
