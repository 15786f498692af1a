package service_test

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/core/clocktest"
	"hangar/internal/lifecycle"
	"hangar/internal/service"
	"hangar/internal/store"
	"hangar/internal/store/sqlite"
)

// countingStore counts the read transactions that reach the store.
type countingStore struct {
	store.Store
	reads atomic.Int64
}

func (s *countingStore) Read(ctx context.Context, fn func(store.Tx) error) error {
	s.reads.Add(1)
	return s.Store.Read(ctx, fn)
}

type authBundle struct {
	svc   *service.Service
	st    *countingStore
	clock *clocktest.Clock
	op    core.Principal
	key   string // a team admin's key
	keyID string
}

func setupAuth(t *testing.T) authBundle {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.MemoryPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b := authBundle{st: &countingStore{Store: db}, clock: clocktest.New(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))}
	env := &lifecycle.Env{Clock: b.clock, PublicPool: netip.MustParsePrefix("198.18.0.0/15"),
		DefaultNet: netip.MustParsePrefix("10.128.0.0/12"), Expect: func(core.State) time.Duration { return time.Second }}
	b.svc = service.New(b.st, service.Config{Catalog: core.DefaultCatalog(), Env: env})
	opKey, err := b.svc.Bootstrap(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if b.op, err = b.svc.Authenticate(ctx, opKey); err != nil {
		t.Fatal(err)
	}
	team, err := b.svc.CreateTeam(ctx, b.op, "t", false)
	if err != nil {
		t.Fatal(err)
	}
	u, err := b.svc.CreateUser(ctx, b.op, service.NewUser{Team: team.ID, Email: "a@example.com", Password: "password-1",
		FirstName: "A", LastName: "B", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	nk, err := b.svc.CreateKey(ctx, b.op, u.ID, "k")
	if err != nil {
		t.Fatal(err)
	}
	b.key, b.keyID = nk.Secret, nk.Key.ID
	return b
}

func (b authBundle) lastUsed(t *testing.T) *time.Time {
	t.Helper()
	keys, err := b.svc.ListKeys(context.Background(), b.op, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.ID == b.keyID {
			return k.LastUsed
		}
	}
	t.Fatalf("key %s not listed", b.keyID)
	return nil
}

func TestAuthenticateCachesBriefly(t *testing.T) {
	b := setupAuth(t)
	ctx := context.Background()
	p1, err := b.svc.Authenticate(ctx, b.key)
	if err != nil {
		t.Fatal(err)
	}
	reads := b.st.reads.Load()
	p2, err := b.svc.Authenticate(ctx, b.key)
	if err != nil || p2 != p1 {
		t.Fatalf("second authentication: %v %+v, want %+v", err, p2, p1)
	}
	if n := b.st.reads.Load() - reads; n != 0 {
		t.Fatalf("a cached key cost %d read transactions", n)
	}
	b.clock.Advance(3 * time.Second) // past the TTL: read again
	if _, err := b.svc.Authenticate(ctx, b.key); err != nil {
		t.Fatal(err)
	}
	if n := b.st.reads.Load() - reads; n != 1 {
		t.Fatalf("an expired entry cost %d read transactions, want 1", n)
	}
	if _, err := b.svc.Authenticate(ctx, "psk_not_a_key"); core.ErrorCode(err) != core.Unauthorized {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestRevokedKeyStopsAtOnce(t *testing.T) {
	b := setupAuth(t)
	ctx := context.Background()
	if _, err := b.svc.Authenticate(ctx, b.key); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.RevokeKey(ctx, b.op, b.keyID); err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.Authenticate(ctx, b.key); core.ErrorCode(err) != core.Unauthorized {
		t.Fatalf("revoked key within the cache TTL: %v, want Unauthorized", err)
	}
}

func TestLastUsedWrittenOncePerInterval(t *testing.T) {
	b := setupAuth(t)
	ctx := context.Background()
	t0 := b.clock.Now()
	if _, err := b.svc.Authenticate(ctx, b.key); err != nil {
		t.Fatal(err)
	}
	if lu := b.lastUsed(t); lu == nil || !lu.Equal(t0) {
		t.Fatalf("lastUsed after first use = %v, want %v", lu, t0)
	}
	for range 40 { // 40 s of use, cached and not: no new write
		b.clock.Advance(time.Second)
		if _, err := b.svc.Authenticate(ctx, b.key); err != nil {
			t.Fatal(err)
		}
	}
	if lu := b.lastUsed(t); !lu.Equal(t0) {
		t.Fatalf("lastUsed moved to %v within the interval", lu)
	}
	b.clock.Advance(30 * time.Second)
	t1 := b.clock.Now()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := b.svc.Authenticate(ctx, b.key); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if lu := b.lastUsed(t); lu == nil || !lu.Equal(t1) {
		t.Fatalf("lastUsed after the interval = %v, want %v", lu, t1)
	}
}
