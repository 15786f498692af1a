package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
	"hangar/internal/store/sqlstore"
	"hangar/internal/store/storetest"
)

// openTestDB opens a fresh database in t's temporary directory, closed by t.Cleanup.
func openTestDB(tb testing.TB, opts Options) *DB {
	tb.Helper()
	db, err := Open(context.Background(), filepath.Join(tb.TempDir(), "hangar.db"), opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTestDB(t, Options{}) })
}

// TestConformanceSmallBatches runs the suite with a group-commit batch of 2, so that the
// concurrent tests cross many batch boundaries.
func TestConformanceSmallBatches(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	storetest.Run(t, func(t *testing.T) store.Store { return openTestDB(t, Options{MaxBatch: 2}) })
}

func TestOpenSettings(t *testing.T) {
	for _, mode := range []string{"", "full", "NORMAL"} {
		t.Run("synchronous="+mode, func(t *testing.T) {
			db := openTestDB(t, Options{Synchronous: mode})
			want := map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000",
				"synchronous": map[string]string{"": "1", "full": "2", "NORMAL": "1"}[mode]}
			for pragma, v := range want {
				var got string
				if err := db.write.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != v {
					t.Errorf("writer PRAGMA %s = %s, want %s", pragma, got, v)
				}
			}
			var qo string
			if err := db.read.QueryRow("PRAGMA query_only").Scan(&qo); err != nil || qo != "1" {
				t.Errorf("reader PRAGMA query_only = %q (%v), want 1", qo, err)
			}
		})
	}
	if _, err := Open(t.Context(), filepath.Join(t.TempDir(), "x.db"), Options{Synchronous: "sometimes"}); core.ErrorCode(err) != core.Invalid {
		t.Errorf("Open with a bad synchronous: %v, want Invalid", err)
	}
	if _, err := Open(t.Context(), filepath.Join(t.TempDir(), "x.db?mode=ro"), Options{}); core.ErrorCode(err) != core.Invalid {
		t.Errorf("Open with a query in the path: %v, want Invalid", err)
	}
}

func TestMigrationsIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hangar.db")
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		t.Fatalf("migrations: %v, %d", err, len(ms))
	}
	for i := range 3 {
		db, err := Open(t.Context(), path, Options{})
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		var n, max int
		if err := db.write.QueryRow(`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
			t.Fatal(err)
		}
		if n != len(ms) || max != ms[len(ms)-1].Version {
			t.Errorf("open #%d: %d migrations up to %d, want %d up to %d", i, n, max, len(ms), ms[len(ms)-1].Version)
		}
		if i == 0 {
			if err := db.Write(t.Context(), func(tx store.Tx) error {
				return tx.CreateTeam(&core.Team{ID: "te1", Name: "kept", Created: time.UnixMilli(1).UTC()})
			}); err != nil {
				t.Fatal(err)
			}
		} else if err := db.Read(t.Context(), func(tx store.Tx) error {
			_, err := tx.GetTeam("te1")
			return err
		}); err != nil {
			t.Errorf("open #%d: data lost: %v", i, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMemoryPath(t *testing.T) {
	db, err := Open(t.Context(), MemoryPath, Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	if err := db.Write(t.Context(), func(tx store.Tx) error {
		return tx.CreateTeam(&core.Team{ID: "te1", Name: "x"})
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Read(t.Context(), func(tx store.Tx) error { _, err := tx.GetTeam("te1"); return err }); err != nil {
		t.Fatalf("Read of a Write on MemoryPath: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Dir(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary database %s left behind (%v)", path, err)
	}
}

func TestWritePanic(t *testing.T) {
	db := openTestDB(t, Options{})
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 16)
	for i := range errs {
		wg.Go(func() {
			<-start
			errs[i] = db.Write(t.Context(), func(tx store.Tx) error {
				if err := tx.CreateTeam(&core.Team{ID: "te" + string(rune('a'+i))}); err != nil {
					return err
				}
				if i%4 == 0 {
					panic("boom")
				}
				if i%4 == 1 {
					return core.Errorf(core.Invalid, "refused %d", i)
				}
				return nil
			})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if i%4 == 0 {
			if core.ErrorCode(err) != core.Internal || !strings.Contains(err.Error(), "boom") {
				t.Errorf("panicking write %d: %v, want an Internal error mentioning the panic", i, err)
			}
		} else if i%4 == 1 {
			if core.ErrorMessage(err) != fmt.Sprintf("refused %d", i) {
				t.Errorf("failing write %d: %v, want its own error", i, err)
			}
		} else if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	var teams []core.Team
	if err := db.Read(t.Context(), func(tx store.Tx) (err error) { teams, err = tx.ListTeams(); return err }); err != nil {
		t.Fatal(err)
	}
	if len(teams) != 8 {
		t.Errorf("%d teams committed, want 8 (the writes that neither panicked nor failed)", len(teams))
	}
}

func TestWriteCancelledContext(t *testing.T) {
	db := openTestDB(t, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var ran atomic.Bool
	for range 20 { // the queue and ctx.Done race inside Write; either way fn must not run
		err := db.Write(ctx, func(tx store.Tx) error { ran.Store(true); return nil })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Write with a cancelled context: %v, want context.Canceled", err)
		}
	}
	if ran.Load() {
		t.Fatal("fn ran although its context was cancelled")
	}
}

// TestWriteCancelWhileQueued: a caller whose context ends while an earlier batch holds the
// writer gives up; the writes already running still commit.
func TestWriteCancelWhileQueued(t *testing.T) {
	db := openTestDB(t, Options{})
	inside, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- db.Write(t.Context(), func(tx store.Tx) error {
			close(inside)
			<-release
			return tx.CreateTeam(&core.Team{ID: "te1"})
		})
	}()
	<-inside
	ctx, cancel := context.WithCancel(t.Context())
	queued := make(chan error, 1)
	go func() {
		queued <- db.Write(ctx, func(tx store.Tx) error { return tx.CreateTeam(&core.Team{ID: "te2"}) })
	}()
	cancel()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Fatalf("queued Write: %v, want context.Canceled", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("running Write: %v", err)
	}
	if err := db.Read(t.Context(), func(tx store.Tx) error {
		if _, err := tx.GetTeam("te1"); err != nil {
			return err
		}
		if _, err := tx.GetTeam("te2"); !core.IsNotFound(err) {
			return errors.New("the cancelled write committed")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestCloseDrains(t *testing.T) {
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "hangar.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	var (
		wg        sync.WaitGroup
		committed atomic.Int64
	)
	for i := range n {
		wg.Go(func() {
			err := db.Write(context.Background(), func(tx store.Tx) error {
				return tx.CreateTeam(&core.Team{ID: "te" + strings.Repeat("x", i+1)})
			})
			switch {
			case err == nil:
				committed.Add(1)
			case !strings.Contains(err.Error(), "closed"):
				t.Errorf("Write during Close: %v", err)
			}
		})
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := db.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := db.Write(t.Context(), func(store.Tx) error { return nil }); err == nil {
		t.Error("Write after Close succeeded")
	}
	// Every write reported as committed is in the file.
	db2 := openAt(t, db.Path())
	var teams []core.Team
	if err := db2.Read(t.Context(), func(tx store.Tx) (err error) { teams, err = tx.ListTeams(); return err }); err != nil {
		t.Fatal(err)
	}
	if int64(len(teams)) != committed.Load() {
		t.Errorf("%d teams in the file, %d writes reported committed", len(teams), committed.Load())
	}
}

func openAt(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestAddHostUsageErrors(t *testing.T) {
	db := openTestDB(t, Options{})
	err := db.Write(t.Context(), func(tx store.Tx) error { return tx.AddHostUsage("nope", "C2", 1) })
	if !core.IsNotFound(err) {
		t.Errorf("AddHostUsage on an unknown host: %v, want NotFound", err)
	}
	if err := db.Write(t.Context(), func(tx store.Tx) error {
		return tx.CreateHost(&core.Host{ID: "h1", Name: "h1"})
	}); err != nil {
		t.Fatal(err)
	}
	for _, deltas := range [][]int{{-1}, {2, -3}} {
		err := db.Write(t.Context(), func(tx store.Tx) error {
			for _, d := range deltas {
				if err := tx.AddHostUsage("h1", "C2", d); err != nil {
					return err
				}
			}
			return nil
		})
		if core.ErrorCode(err) != core.Conflict {
			t.Errorf("AddHostUsage %v: %v, want Conflict", deltas, err)
		}
	}
}

// buildMachineQuery is the SELECT that ListMachines runs for q.
func buildMachineQuery(q core.MachineQuery) (string, []any, error) {
	return sqlstore.MachineQuery(q, &dialect)
}

// TestMachineQueryPlan checks that the common machine listings use an index.
func TestMachineQueryPlan(t *testing.T) {
	db := openTestDB(t, Options{})
	for _, q := range []core.MachineQuery{
		{TeamID: "te1"},
		{TeamID: "te1", VisibleTo: "u1", Limit: 10},
		{TeamID: "te1", Where: []core.Filter{{Field: "state", Value: core.FilterValue{Str: "ready"}}}},
		{TeamID: "te1", Where: []core.Filter{{Field: "machineType", Value: core.FilterValue{Str: "C2"}}}, Limit: 1000},
		{TeamID: "te1", Where: []core.Filter{{Field: "name", Value: core.FilterValue{Str: "needle"}}}, Limit: 1000},
	} {
		query, args, err := buildMachineQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.read.Query("EXPLAIN QUERY PLAN "+query, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		t.Logf("%+v: %v", q, plan)
		if !strings.Contains(plan[0], "machines USING INDEX") {
			t.Errorf("query %+v does not use a machines index: %v", q, plan)
		}
		if len(q.Where) > 0 && !strings.Contains(strings.Join(plan, " "), "team_id=? AND") {
			t.Errorf("filtered query %+v does not seek on team and filter: %v", q, plan)
		}
		if strings.Contains(strings.Join(plan, " "), "TEMP B-TREE") {
			t.Errorf("query %+v sorts in a temporary b-tree instead of reading in index order: %v", q, plan)
		}
	}
}

// TestWriteBrokenTransaction: a fn that ends the shared transaction behind the writer's
// back fails alone; the other Writes of its batch are retried and commit.
func TestWriteBrokenTransaction(t *testing.T) {
	db := openTestDB(t, Options{})
	const n = 16
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = db.Write(t.Context(), func(st store.Tx) error {
				if err := st.CreateTeam(&core.Team{ID: "te" + string(rune('a'+i))}); err != nil {
					return err
				}
				if i == 5 {
					// As SQLite does on SQLITE_FULL or SQLITE_IOERR: a statement fails and the
					// transaction is gone; this fn ignores the failure and carries on.
					if _, err := st.(*tx).q.ExecContext(context.Background(), "ROLLBACK"); err != nil {
						return err
					}
					_, _ = st.(*tx).Exec("INSERT INTO no_such_table VALUES (1)")
					return nil
				}

				return nil
			})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if i == 5 && err == nil {
			t.Errorf("the write that broke the transaction succeeded")
		}
		if i != 5 && err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	var teams []core.Team
	if err := db.Read(t.Context(), func(tx store.Tx) (err error) { teams, err = tx.ListTeams(); return err }); err != nil {
		t.Fatal(err)
	}
	if len(teams) != n-1 {
		t.Errorf("%d teams committed, want %d", len(teams), n-1)
	}
	t.Logf("%d writes in %d transactions (retries included)", db.w.writes.Load(), db.w.batches.Load())
	// The writer still works.
	if err := db.Write(t.Context(), func(tx store.Tx) error { return tx.CreateTeam(&core.Team{ID: "after"}) }); err != nil {
		t.Fatal(err)
	}
}

func TestListMachinesNeedsTeam(t *testing.T) {
	db := openTestDB(t, Options{})
	err := db.Read(t.Context(), func(tx store.Tx) error {
		_, err := tx.ListMachines(core.MachineQuery{})
		return err
	})
	if core.ErrorCode(err) != core.Invalid {
		t.Fatalf("ListMachines without a team: %v, want Invalid", err)
	}
}
