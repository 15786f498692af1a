package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hangar/internal/core"
	"hangar/internal/store"
	"hangar/internal/store/sqlstore"
	"hangar/internal/store/storetest"
)

// testMaxConns keeps each test's pool small: the suite runs many stores in parallel.
const testMaxConns = 8

// serverURL returns TEST_DATABASE_URL, or skips the test without it (fails instead when
// HANGAR_REQUIRE_TOOLS=1, as scripts/test sets).
func serverURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("TEST_DATABASE_URL")
	if u == "" {
		if os.Getenv("HANGAR_REQUIRE_TOOLS") == "1" {
			tb.Fatal("TEST_DATABASE_URL not set, and HANGAR_REQUIRE_TOOLS=1 forbids skipping")
		}
		tb.Skip("TEST_DATABASE_URL not set; scripts/test starts a PostgreSQL server")
	}
	return u
}

// newSchema creates an empty schema on the test server, dropped by tb.Cleanup, and returns
// a URL whose connections use it. A schema per test keeps tests apart at the cost of one
// CREATE SCHEMA, instead of a CREATE DATABASE.
func newSchema(tb testing.TB) string {
	tb.Helper()
	base := serverURL(tb)
	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "hangar_test_" + hex.EncodeToString(b[:])
	admin(tb, base, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	tb.Cleanup(func() { admin(tb, base, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE") })
	return withSearchPath(tb, base, schema)
}

// admin runs one statement on its own connection to the test server.
func admin(tb testing.TB, base, sql string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to TEST_DATABASE_URL: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

// withSearchPath adds search_path=schema to a postgres:// URL or a keyword/value string;
// pgx sends it as a run-time parameter in the startup message, so it costs no round trip.
func withSearchPath(tb testing.TB, base, schema string) string {
	tb.Helper()
	if !strings.HasPrefix(base, "postgres://") && !strings.HasPrefix(base, "postgresql://") {
		return base + " search_path=" + schema
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// openAt opens a store on u, closed by tb.Cleanup.
func openAt(tb testing.TB, u string, opts Options) *DB {
	tb.Helper()
	if opts.MaxConns == 0 {
		opts.MaxConns = testMaxConns
	}
	db, err := Open(context.Background(), u, opts)
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

// openTestDB opens a store on a fresh schema.
func openTestDB(tb testing.TB, opts Options) *DB {
	tb.Helper()
	return openAt(tb, newSchema(tb), opts)
}

func TestConformance(t *testing.T) {
	serverURL(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		db := openTestDB(t, Options{})
		t.Cleanup(func() {
			if n := db.retries.Load(); n > 0 {
				t.Logf("%d of %d write transactions were retried; the worst Write took %d attempts", n, db.attempts.Load(), db.worst.Load())
			}
		})
		return db
	})
}

// TestMigrations: replicas opening a fresh schema at once all succeed and migrate it
// once, and reopening keeps the data.
func TestMigrations(t *testing.T) {
	u := newSchema(t)
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		t.Fatalf("migrations: %v, %d", err, len(ms))
	}
	const replicas = 6
	dbs := make([]*DB, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { dbs[i], errs[i] = Open(t.Context(), u, Options{MaxConns: 2}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open #%d: %v", i, err)
		}
		t.Cleanup(func() { _ = dbs[i].Close() })
	}
	var n, max int
	if err := dbs[0].pool.QueryRow(t.Context(), `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || max != ms[len(ms)-1].Version {
		t.Errorf("%d migrations up to %d recorded, want %d up to %d", n, max, len(ms), ms[len(ms)-1].Version)
	}
	if err := dbs[1].Write(t.Context(), func(tx store.Tx) error {
		return tx.CreateTeam(&core.Team{ID: "te1", Name: "kept", Created: time.UnixMilli(1).UTC()})
	}); err != nil {
		t.Fatal(err)
	}
	again := openAt(t, u, Options{})
	if err := again.Read(t.Context(), func(tx store.Tx) error { _, err := tx.GetTeam("te1"); return err }); err != nil {
		t.Errorf("reopened store lost data: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(t.Context(), "postgres://%zz", Options{}); core.ErrorCode(err) != core.Invalid {
		t.Errorf("Open with a malformed URL: %v, want Invalid", err)
	}
	u := withSearchPath(t, serverURL(t), "hangar_no_such_schema")
	if _, err := Open(t.Context(), u, Options{}); core.ErrorCode(err) != core.Invalid {
		t.Errorf("Open with a search_path naming no schema: %v, want Invalid", err)
	}
}

// TestNewerSchema: a binary refuses a database migrated by a newer one.
func TestNewerSchema(t *testing.T) {
	u := newSchema(t)
	db := openAt(t, u, Options{})
	if _, err := db.pool.Exec(t.Context(), `INSERT INTO schema_migrations VALUES (9999, '9999_future.sql', 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(t.Context(), u, Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("Open of a newer schema: %v, want a refusal", err)
	}
}

// TestTxUsableAfterFailures: every Tx method that fails on a constraint leaves the
// transaction usable, and what fn did before and after commits.
func TestTxUsableAfterFailures(t *testing.T) {
	db := openTestDB(t, Options{})
	if err := db.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.CreateTeam(&core.Team{ID: "te1"}); err != nil {
			return err
		}
		if err := tx.CreateUser(&core.User{ID: "u1", TeamID: "te1", Email: "a@x"}); err != nil {
			return err
		}
		return tx.CreateHost(&core.Host{ID: "h1", Name: "h1"})
	}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		want core.Code
		fn   func(tx store.Tx) error
	}{
		{"CreateTeam duplicate", core.Conflict, func(tx store.Tx) error { return tx.CreateTeam(&core.Team{ID: "te1"}) }},
		{"CreateUser unknown team", core.Internal, func(tx store.Tx) error {
			return tx.CreateUser(&core.User{ID: "u2", TeamID: "nope", Email: "b@x"})
		}},
		{"CreateUser duplicate email", core.Conflict, func(tx store.Tx) error {
			return tx.CreateUser(&core.User{ID: "u3", TeamID: "te1", Email: "A@X"})
		}},
		{"UpdateUser unknown team", core.Internal, func(tx store.Tx) error {
			return tx.UpdateUser(&core.User{ID: "u1", TeamID: "nope", Email: "a@x"})
		}},
		{"CreateAPIKey unknown user", core.Internal, func(tx store.Tx) error {
			return tx.CreateAPIKey(&core.APIKey{ID: "k1", UserID: "nope", Hash: "h"})
		}},
		{"CreateAccessToken unknown user", core.Internal, func(tx store.Tx) error {
			return tx.CreateAccessToken(&core.AccessToken{Hash: "t", UserID: "nope"})
		}},
		{"UpdateHost name taken", core.Conflict, func(tx store.Tx) error {
			if err := tx.CreateHost(&core.Host{ID: "h2", Name: "h2"}); err != nil {
				return err
			}
			return tx.UpdateHost(&core.Host{ID: "h2", Name: "h1"})
		}},
		{"AddHostUsage unknown host", core.NotFound, func(tx store.Tx) error { return tx.AddHostUsage("nope", "C2", 1) }},
		{"AddHostUsage unknown host, negative", core.NotFound, func(tx store.Tx) error { return tx.AddHostUsage("nope", "C2", -1) }},
		{"AddHostUsage below zero", core.Conflict, func(tx store.Tx) error { return tx.AddHostUsage("h1", "C2", -1) }},
		{"AddHostUsage below zero on a row", core.Conflict, func(tx store.Tx) error {
			if err := tx.AddHostUsage("h1", "P4000", 2); err != nil {
				return err
			}
			return tx.AddHostUsage("h1", "P4000", -3)
		}},
		{"InsertPrivateIP taken", core.Conflict, func(tx store.Tx) error {
			if err := tx.InsertPrivateIP("n1", "10.0.0.2", "ps1"); err != nil {
				return err
			}
			return tx.InsertPrivateIP("n1", "10.0.0.2", "ps2")
		}},
	}
	var got []string
	err := db.Write(t.Context(), func(tx store.Tx) error {
		got = got[:0]
		for i, s := range steps {
			if err := s.fn(tx); core.ErrorCode(err) != s.want {
				got = append(got, s.name+": "+string(core.ErrorCode(err))+" ("+errString(err)+"), want "+string(s.want))
			}
			if err := tx.CreateTeam(&core.Team{ID: "after" + string(rune('a'+i))}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	for _, g := range got {
		t.Error(g)
	}
	var h1, h2 core.HostLoad
	if err := db.Read(t.Context(), func(tx store.Tx) (err error) {
		if _, err := tx.GetTeam("after" + string(rune('a'+len(steps)-1))); err != nil {
			return err
		}
		if h1, err = tx.GetHost("h1"); err != nil {
			return err
		}
		h2, err = tx.GetHost("h2")
		return err
	}); err != nil {
		t.Fatalf("after the failures: %v", err)
	}
	if h2.Name != "h2" {
		t.Errorf("h2 renamed to %q by a failed UpdateHost", h2.Name)
	}
	if len(h1.Used) != 1 || h1.Used["P4000"] != 2 {
		t.Errorf("h1 usage %v, want only P4000: 2", h1.Used)
	}
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

// TestSwallowedFailureRollsBack: fn that ignores a failure of an unguarded statement cannot
// commit a half-aborted transaction.
func TestSwallowedFailureRollsBack(t *testing.T) {
	db := openTestDB(t, Options{})
	err := db.Write(t.Context(), func(st store.Tx) error {
		if err := st.CreateTeam(&core.Team{ID: "te1"}); err != nil {
			return err
		}
		_, _ = st.(*tx).Exec(`SELECT 1/0`) // aborts the transaction
		return nil
	})
	if core.ErrorCode(err) != core.Internal {
		t.Fatalf("Write: %v, want Internal", err)
	}
	if err := db.Read(t.Context(), func(tx store.Tx) error { _, err := tx.GetTeam("te1"); return err }); !core.IsNotFound(err) {
		t.Fatalf("GetTeam after the failed Write: %v, want NotFound", err)
	}
}

// TestWriteRetriesSerializationFailure: a write whose read was overtaken by another
// transaction is rolled back and run again, and the retry sees the other's update.
func TestWriteRetriesSerializationFailure(t *testing.T) {
	db := openTestDB(t, Options{})
	if err := db.Write(t.Context(), func(tx store.Tx) error {
		return tx.CreateHost(&core.Host{ID: "h1", Name: "h1", Capacity: map[string]int{"n": 0}})
	}); err != nil {
		t.Fatal(err)
	}
	var runs int
	read, overtaken := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.Write(t.Context(), func(tx store.Tx) error {
			runs++
			h, err := tx.GetHost("h1")
			if err != nil {
				return err
			}
			if runs == 1 {
				close(read)
				<-overtaken
			}
			h.Capacity["n"] += 10
			return tx.UpdateHost(&h.Host)
		})
	}()
	<-read
	if err := db.Write(t.Context(), func(tx store.Tx) error {
		h, err := tx.GetHost("h1")
		if err != nil {
			return err
		}
		h.Capacity["n"]++
		return tx.UpdateHost(&h.Host)
	}); err != nil {
		t.Fatal(err)
	}
	close(overtaken)
	if err := <-done; err != nil {
		t.Fatalf("overtaken Write: %v", err)
	}
	if runs != 2 {
		t.Errorf("fn ran %d times, want 2", runs)
	}
	var h core.HostLoad
	if err := db.Read(t.Context(), func(tx store.Tx) (err error) { h, err = tx.GetHost("h1"); return err }); err != nil {
		t.Fatal(err)
	}
	if h.Capacity["n"] != 11 {
		t.Errorf("counter = %d, want 11 (no lost update)", h.Capacity["n"])
	}
}

// TestWriteGivesUp: a write that keeps conflicting fails after MaxAttempts, with an
// Internal error, and commits nothing.
func TestWriteGivesUp(t *testing.T) {
	db := openTestDB(t, Options{MaxAttempts: 3})
	var runs int
	err := db.Write(t.Context(), func(st store.Tx) error {
		runs++
		if err := st.CreateTeam(&core.Team{ID: "te1"}); err != nil {
			return err
		}
		_, err := st.(*tx).Exec(`DO $$ BEGIN RAISE EXCEPTION 'forced' USING ERRCODE = 'serialization_failure'; END $$`)
		return st.(*tx).Err(err, "forced", "")
	})
	if core.ErrorCode(err) != core.Internal || runs != 3 || !strings.Contains(err.Error(), "3 attempts") {
		t.Errorf("Write: %v after %d runs, want Internal after 3", err, runs)
	}
	if err := db.Read(t.Context(), func(tx store.Tx) error { _, err := tx.GetTeam("te1"); return err }); !core.IsNotFound(err) {
		t.Errorf("GetTeam: %v, want NotFound", err)
	}
}

func TestWritePanic(t *testing.T) {
	db := openTestDB(t, Options{})
	err := db.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.CreateTeam(&core.Team{ID: "te1"}); err != nil {
			return err
		}
		panic("boom")
	})
	if core.ErrorCode(err) != core.Internal || !strings.Contains(err.Error(), "boom") {
		t.Errorf("panicking Write: %v, want an Internal error mentioning the panic", err)
	}
	if err := db.Read(t.Context(), func(tx store.Tx) error { _, err := tx.GetTeam("te1"); return err }); !core.IsNotFound(err) {
		t.Errorf("GetTeam after the panic: %v, want NotFound", err)
	}
	if err := db.Write(t.Context(), func(tx store.Tx) error { return tx.CreateTeam(&core.Team{ID: "te2"}) }); err != nil {
		t.Errorf("Write after a panic: %v", err)
	}
}

func TestWriteCancelledContext(t *testing.T) {
	db := openTestDB(t, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	if err := db.Write(ctx, func(store.Tx) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Errorf("Write with a cancelled context: %v (fn ran: %v), want context.Canceled", err, ran)
	}
}

// TestMachineQueryEdges: an int filter beyond int32 matches nothing instead of failing,
// and ListMachines needs a team.
func TestMachineQueryEdges(t *testing.T) {
	db := openTestDB(t, Options{})
	err := db.Read(t.Context(), func(tx store.Tx) error {
		ms, err := tx.ListMachines(core.MachineQuery{TeamID: "te1",
			Where: []core.Filter{{Field: "cpus", Value: core.FilterValue{Int: 1 << 40}}}})
		if err == nil && len(ms) != 0 {
			t.Errorf("cpus = 2^40 matched %d machines", len(ms))
		}
		return err
	})
	if err != nil {
		t.Errorf("ListMachines with a huge cpus filter: %v", err)
	}
	err = db.Read(t.Context(), func(tx store.Tx) error {
		_, err := tx.ListMachines(core.MachineQuery{})
		return err
	})
	if core.ErrorCode(err) != core.Invalid {
		t.Errorf("ListMachines without a team: %v, want Invalid", err)
	}
}

// buildMachineQuery is the SELECT that ListMachines runs for q.
func buildMachineQuery(q core.MachineQuery) (string, []any, error) {
	return sqlstore.MachineQuery(q, &dialect)
}

// TestMachineQueryPlan checks that the common machine listings can use an index.
func TestMachineQueryPlan(t *testing.T) {
	db := openTestDB(t, Options{})
	for _, q := range []core.MachineQuery{
		{TeamID: "te1"},
		{TeamID: "te1", VisibleTo: "u1", Limit: 10},
		{TeamID: "te1", Where: []core.Filter{{Field: "state", Value: core.FilterValue{Str: "ready"}}}},
	} {
		query, args, err := buildMachineQuery(q)
		if err != nil {
			t.Fatal(err)
		}
		c, err := db.pool.Acquire(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		// An empty table would be scanned sequentially: forbid that to see if an index fits.
		_, err = c.Exec(t.Context(), "SET enable_seqscan = off")
		var plan []string
		if err == nil {
			rows, qerr := c.Query(t.Context(), "EXPLAIN "+query, args...)
			plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
			if qerr != nil {
				err = qerr
			}
		}
		_, _ = c.Exec(t.Context(), "RESET enable_seqscan")
		c.Release()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v: %s", q, strings.Join(plan, " | "))
		if !strings.Contains(strings.Join(plan, "\n"), "Index") {
			t.Errorf("query %+v does not use an index: %v", q, plan)
		}
	}
}

// TestOnWrite checks that OnWrite hears of every Write, failed ones included.
func TestOnWrite(t *testing.T) {
	var n atomic.Int64
	db := openTestDB(t, Options{OnWrite: func(d time.Duration) {
		if d > 0 {
			n.Add(1)
		}
	}})
	tm := core.Team{ID: "teonwrite", Name: "t", Created: time.Unix(1, 0)}
	for range 2 { // the second fails: the id exists
		_ = db.Write(t.Context(), func(tx store.Tx) error { return tx.CreateTeam(&tm) })
	}
	if n.Load() != 2 {
		t.Fatalf("OnWrite called %d times with a positive duration, want 2", n.Load())
	}
}
