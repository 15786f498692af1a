package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/hypervisor"
	"hangar/internal/store"
	"hangar/internal/waittest"
)

// errDiskFull is what failingStore's transactions return while it fails.
var errDiskFull = core.Errorf(core.Internal, "database or disk is full")

// failingStore is a store that fails on demand, as a full disk makes SQLite fail: a failing
// Read returns an error; a failing Write runs fn (which may have produced results, claimed
// machine ids for instance) and then returns an error instead of committing, so nothing fn
// wrote persists. It counts every call.
type failingStore struct {
	store.Store
	failReads, failWrites atomic.Bool
	reads, writes, claims atomic.Int64
}

// countingTx counts its store's ClaimDue calls.
type countingTx struct {
	store.Tx
	s *failingStore
}

func (tx countingTx) ClaimDue(now time.Time, owner string, until time.Time, limit int) ([]string, error) {
	tx.s.claims.Add(1)
	return tx.Tx.ClaimDue(now, owner, until, limit)
}

func (s *failingStore) Read(ctx context.Context, fn func(store.Tx) error) error {
	s.reads.Add(1)
	if s.failReads.Load() {
		return errDiskFull
	}
	return s.Store.Read(ctx, fn)
}

func (s *failingStore) Write(ctx context.Context, fn func(store.Tx) error) error {
	s.writes.Add(1)
	fail := s.failWrites.Load()
	return s.Store.Write(ctx, func(tx store.Tx) error {
		if err := fn(countingTx{tx, s}); err != nil || !fail {
			return err
		}
		return errDiskFull // the commit failed: roll back what fn did
	})
}

func (s *failingStore) calls() int64 { return s.reads.Load() + s.writes.Load() }

// failing replaces b's engine with one for cfg over a failingStore wrapping b's store; the
// service keeps using b's store directly.
func (b *bundle) failing(t *testing.T, cfg Config) *failingStore {
	t.Helper()
	fs := &failingStore{Store: b.st}
	cfg.Store, cfg.Env = fs, b.eng.env
	b.eng = mustNew(t, cfg)
	t.Cleanup(b.eng.Wait)
	return fs
}

// run runs b's engine until stop is called (at the latest when the test ends); stop
// returns once Run has, every step in progress or queued included.
func (b *bundle) run(t *testing.T) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	eng := b.eng
	go func() { done <- eng.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// advances counts the driver's Advance calls.
func advances(rec *recordingDriver) int {
	n := 0
	for _, c := range rec.all() {
		if c.method == "Advance" {
			n++
		}
	}
	return n
}

// TestFailedClaimCommitRunsNoStep: a claim whose transaction returned an error leased
// nothing, even when ClaimDue itself returned rows, so no step runs for them: neither in
// Drain nor in Run.
func TestFailedClaimCommitRunsNoStep(t *testing.T) {
	b := setup(t)
	rec := &recordingDriver{Driver: b.drv}
	fs := b.failing(t, Config{Drivers: hypervisor.Single{Driver: rec}})
	m := b.create(t, nil)
	b.clock.Advance(b.tim.Provisioning)
	fs.failWrites.Store(true)

	if n, err := b.eng.Drain(context.Background()); err == nil || n != 0 {
		t.Fatalf("Drain over a failing commit = %d, %v; want 0 and the error", n, err)
	}
	if n := advances(rec); n != 0 {
		t.Fatalf("Drain called Advance %d times after a failed claim commit", n)
	}

	before := fs.claims.Load()
	stop := b.run(t)
	waittest.Eventually(t, 10*time.Second, func() error {
		if n := fs.claims.Load() - before; n < 3 {
			return fmt.Errorf("the loop claimed %d times, want a few failed claims", n)
		}
		return nil
	})
	stop() // Run returns once every job it handed to a worker has been stepped
	if n := advances(rec); n != 0 {
		t.Fatalf("Run called Advance %d times after failed claim commits", n)
	}
	b.wantState(t, m.ID, core.StateProvisioning)
}

// TestEngineBacksOffWhileTheStoreFails: while every commit fails (a full disk), the loop
// backs off exponentially instead of spinning, logs a few summary lines rather than one per
// machine and attempt, runs no step, and once the store works again advances the machines
// promptly.
func TestEngineBacksOffWhileTheStoreFails(t *testing.T) {
	for _, reads := range []bool{false, true} {
		t.Run(map[bool]string{false: "commits fail", true: "reads and commits fail"}[reads], func(t *testing.T) {
			testBackoff(t, reads)
		})
	}
}

func testBackoff(t *testing.T, failReads bool) {
	b := setup(t)
	rec := &recordingDriver{Driver: b.drv}
	var logs logBuffer
	fs := b.failing(t, Config{Drivers: hypervisor.Single{Driver: rec}, Logger: logs.logger(),
		WatchInterval: 10 * time.Millisecond})
	const machines = 5
	var ids []string
	for range machines {
		ids = append(ids, b.create(t, nil).ID)
	}
	b.clock.Advance(b.tim.Provisioning)
	fs.failWrites.Store(true)
	fs.failReads.Store(failReads)

	b.run(t)
	// A measurement window, not a wait for a condition: what matters is how much the engine
	// does in it.
	const window = 2 * time.Second
	<-time.After(window)
	calls, lines, adv := fs.calls(), strings.Count(logs.String(), "\n"), advances(rec)
	t.Logf("in %s of failures: %d store calls (%d writes), %d log lines, %d Advance calls\n%s",
		window, calls, fs.writes.Load(), lines, adv, logs.String())
	// Pauses of 0.1, 0.2, 0.4 and 0.8 s: claims at 0, 0.1, 0.3, 0.7 and 1.5 s, each a read and
	// a write, and a look of the 10 ms watcher (two reads) after each pause.
	if w := fs.writes.Load(); w > 10 {
		t.Errorf("%d writes in %s of failures, want a backed-off loop (at most 10)", w, window)
	}
	if calls > 50 {
		t.Errorf("%d store calls in %s of failures, want a backed-off loop (at most 50)", calls, window)
	}
	if lines > 6 {
		t.Errorf("%d log lines in %s of failures, want a few summaries:\n%s", lines, window, logs.String())
	}
	if adv != 0 {
		t.Errorf("%d Advance calls while no claim could commit, want none", adv)
	}
	if !strings.Contains(logs.String(), "backing off") {
		t.Errorf("log does not tell of the backoff:\n%s", logs.String())
	}

	fs.failWrites.Store(false)
	fs.failReads.Store(false)
	waittest.Eventually(t, 10*time.Second, func() error {
		for _, id := range ids {
			if s := b.row(t, id).State; s == core.StateProvisioning {
				return fmt.Errorf("machine %s still %s after the store recovered", id, s)
			}
		}
		return nil
	})
	if !strings.Contains(logs.String(), "store recovered") {
		t.Errorf("log does not tell of the recovery:\n%s", logs.String())
	}
}

// TestHealthBacksOffAndLogsSparingly: the pause doubles per failed pause up to its cap,
// failures within a pause neither lengthen it nor log, a line at most every storeLogEvery
// counts the ones left out, and a success starts over with one line saying so.
func TestHealthBacksOffAndLogsSparingly(t *testing.T) {
	now := time.Date(2026, 3, 14, 15, 0, 0, 0, time.UTC)
	var logs logBuffer
	h := &health{log: logs.logger(), wall: func() time.Time { return now }}
	var pauses []time.Duration
	for range 10 {
		for range 3 { // three machines fail at once: one pause
			h.failed("commit step", errDiskFull, "machine", "m")
		}
		pauses = append(pauses, h.pause())
		now = now.Add(h.pause())
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
		800 * time.Millisecond, 1600 * time.Millisecond, 3200 * time.Millisecond, 5 * time.Second,
		5 * time.Second, 5 * time.Second, 5 * time.Second}
	if fmt.Sprint(pauses) != fmt.Sprint(want) {
		t.Errorf("pauses = %v, want %v", pauses, want)
	}
	// Pauses begin at 0, 0.1, 0.3, 0.7, 1.5, 3.1, 6.3, 11.3, 16.3 and 21.3 s; lines at 0, then
	// at 1.5 s (the first pause to begin 1 s after it) and at every pause from then on.
	if n := strings.Count(logs.String(), "backing off"); n != 7 {
		t.Errorf("%d error lines for 30 failures over 26 s, want 7:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "suppressed=11") { // 2 at 0 s, then 3 each at 0.1, 0.3, 0.7 s
		t.Errorf("the line after the quiet ones does not count them:\n%s", logs.String())
	}
	h.ok()
	if h.pause() != 0 || !strings.Contains(logs.String(), "store recovered") {
		t.Errorf("after a success: pause %s, log:\n%s", h.pause(), logs.String())
	}
	h.failed("claim", errDiskFull)
	if h.pause() != storeBackoffMin {
		t.Errorf("first pause after a recovery = %s, want %s", h.pause(), storeBackoffMin)
	}
	h.failed("claim", context.Canceled)
	if strings.Count(logs.String(), "\n") != 9 {
		t.Errorf("want 7 + 1 + 1 lines, a cancelled call not counted:\n%s", logs.String())
	}
}
