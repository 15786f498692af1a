package service_test

import (
	"context"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"hangar/internal/core"
	"hangar/internal/core/clocktest"
	"hangar/internal/lifecycle"
	"hangar/internal/service"
	"hangar/internal/store"
	"hangar/internal/store/postgres"
	"hangar/internal/store/sqlite"
)

// BenchmarkAuthenticateCached measures an authentication whose key is in the cache: on SQLite
// (one process, no store read), and on PostgreSQL as one process and as a replica
// (SharedStore: one read of the credential generation per request), and a cache miss:
//
//	TEST_DATABASE_URL=postgres://… go test -run '^$' -bench AuthenticateCached ./internal/service
func BenchmarkAuthenticateCached(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		db, err := sqlite.Open(context.Background(), sqlite.MemoryPath, sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		benchAuth(b, db, false, 0)
	})
	for _, shared := range []bool{false, true} {
		b.Run(fmt.Sprintf("postgres/shared=%v", shared), func(b *testing.B) {
			benchAuth(b, pgBenchStore(b), shared, 0)
		})
	}
	// For comparison, the full lookup (key, user, team) a cache miss costs; one in 20 of these
	// also writes the key's last-used time.
	b.Run("postgres/miss", func(b *testing.B) { benchAuth(b, pgBenchStore(b), true, 3*time.Second) })
}

// benchAuth authenticates one key over and over; a non-zero advance moves a fake clock by
// that much before each call (past the cache TTL: every call misses).
func benchAuth(b *testing.B, st store.Store, shared bool, advance time.Duration) {
	ctx := context.Background()
	clock := clocktest.New(time.Now().UTC().Truncate(time.Millisecond))
	env := &lifecycle.Env{Clock: clock, PublicPool: netip.MustParsePrefix("198.18.0.0/15"),
		DefaultNet: netip.MustParsePrefix("10.128.0.0/12"), Expect: func(core.State) time.Duration { return time.Second }}
	svc := service.New(st, service.Config{Catalog: core.DefaultCatalog(), Env: env, SharedStore: shared})
	key, err := svc.Bootstrap(ctx, false)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, key); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clock.Advance(advance)
		if _, err := svc.Authenticate(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}

// pgBenchStore opens a PostgreSQL store on a fresh schema of TEST_DATABASE_URL, or skips.
func pgBenchStore(b *testing.B) store.Store {
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		b.Skip("TEST_DATABASE_URL not set")
	}
	ctx := context.Background()
	schema := fmt.Sprintf("svc_bench_%d", time.Now().UnixNano())
	admin := func(sql string) {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			b.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
	admin("CREATE SCHEMA " + pgx.Identifier{schema}.Sanitize())
	b.Cleanup(func() { admin("DROP SCHEMA " + pgx.Identifier{schema}.Sanitize() + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := postgres.Open(ctx, u.String(), postgres.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}
