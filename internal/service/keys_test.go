package service_test

import (
	"context"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/core/clocktest"
	"hangar/internal/lifecycle"
	"hangar/internal/service"
	"hangar/internal/store"
	"hangar/internal/store/sqlite"
)

// keyWorld is a store with an operator, two teams and their users, each with one API key.
type keyWorld struct {
	st    store.Store
	clock *clocktest.Clock
	svc   *service.Service
	ps    map[string]core.Principal // operator, admin1, member1, member1b, admin2
	keys  map[string]service.NewKey // the same names
}

func newKeyWorld(t *testing.T) *keyWorld {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.MemoryPath, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w := &keyWorld{st: db, clock: clocktest.New(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)),
		ps: map[string]core.Principal{}, keys: map[string]service.NewKey{}}
	w.svc = w.replica()
	opKey, err := w.svc.Bootstrap(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if w.ps["operator"], err = w.svc.Authenticate(ctx, opKey); err != nil {
		t.Fatal(err)
	}
	op := w.ps["operator"]
	opKeys, err := w.svc.ListKeys(ctx, op, op.User.ID)
	if err != nil || len(opKeys) != 1 {
		t.Fatalf("operator keys: %v %v", opKeys, err)
	}
	w.keys["operator"] = service.NewKey{Key: opKeys[0], Secret: opKey}
	for _, team := range []struct {
		name  string
		users []string
	}{{"one", []string{"admin1", "member1", "member1b"}}, {"two", []string{"admin2"}}} {
		tm, err := w.svc.CreateTeam(ctx, op, team.name, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range team.users {
			u, err := w.svc.CreateUser(ctx, op, service.NewUser{Team: tm.ID, Email: name + "@example.com",
				Password: "password-" + name, FirstName: name, LastName: "X", Admin: name[:5] == "admin"})
			if err != nil {
				t.Fatal(err)
			}
			if w.keys[name], err = w.svc.CreateKey(ctx, op, u.ID, name); err != nil {
				t.Fatal(err)
			}
			if w.ps[name], err = w.svc.Authenticate(ctx, w.keys[name].Secret); err != nil {
				t.Fatal(err)
			}
		}
	}
	return w
}

// replica returns another service over the same store, as a second hangar serve process on a
// shared PostgreSQL database.
func (w *keyWorld) replica() *service.Service {
	env := &lifecycle.Env{Clock: w.clock, PublicPool: netip.MustParsePrefix("198.18.0.0/15"),
		DefaultNet: netip.MustParsePrefix("10.128.0.0/12"), Expect: func(core.State) time.Duration { return time.Second }}
	return service.New(w.st, service.Config{Catalog: core.DefaultCatalog(), Env: env, TokenTTL: time.Hour, SharedStore: true})
}

func keyIDs(ks []core.APIKey) map[string]bool {
	out := map[string]bool{}
	for _, k := range ks {
		out[k.Name] = true
	}
	return out
}

func TestListKeysByRole(t *testing.T) {
	w := newKeyWorld(t)
	ctx := context.Background()
	for _, tc := range []struct {
		caller, user string
		want         []string  // key names listed
		code         core.Code // or this error
	}{
		{"operator", "", []string{"operator", "admin1", "member1", "member1b", "admin2"}, ""},
		{"operator", "member1", []string{"member1"}, ""},
		{"admin1", "", []string{"admin1", "member1", "member1b"}, ""},
		{"admin1", "member1", []string{"member1"}, ""},
		{"admin1", "admin2", nil, core.NotFound},   // another team's user
		{"admin1", "operator", nil, core.NotFound}, // the operator is in no customer team
		{"member1", "", []string{"member1"}, ""},
		{"member1", "member1", []string{"member1"}, ""},
		{"member1", "member1b", nil, core.Forbidden}, // a teammate's keys
		{"member1", "admin2", nil, core.NotFound},
		{"admin2", "", []string{"admin2"}, ""},
	} {
		user := ""
		if tc.user != "" {
			user = w.ps[tc.user].User.ID
		}
		ks, err := w.svc.ListKeys(ctx, w.ps[tc.caller], user)
		if core.ErrorCode(err) != tc.code {
			t.Errorf("%s lists keys of %q: %v, want code %q", tc.caller, tc.user, err, tc.code)
			continue
		}
		got := keyIDs(ks)
		if len(got) != len(tc.want) {
			t.Errorf("%s lists keys of %q: %v, want %v", tc.caller, tc.user, got, tc.want)
		}
		for _, name := range tc.want {
			if !got[name] {
				t.Errorf("%s lists keys of %q: %v, want %v", tc.caller, tc.user, got, tc.want)
			}
		}
		for _, k := range ks {
			if k.Hash == "" || k.Prefix == "" || len(k.Prefix) >= len(w.keys[k.Name].Secret) {
				t.Errorf("listed key %+v: want its hash and a short prefix", k)
			}
		}
	}
}

func TestRevokeKeyByRole(t *testing.T) {
	for _, tc := range []struct {
		caller, owner string
		code          core.Code
	}{
		{"operator", "admin2", ""},
		{"admin1", "member1", ""},
		{"admin1", "admin1", ""},
		{"member1", "member1", ""},
		{"member1", "member1b", core.NotFound}, // a teammate's key is not the member's to see
		{"member1", "admin1", core.NotFound},
		{"admin1", "admin2", core.NotFound}, // another team's key
		{"admin2", "member1", core.NotFound},
		{"admin1", "operator", core.NotFound},
	} {
		t.Run(tc.caller+"_revokes_"+tc.owner, func(t *testing.T) {
			w := newKeyWorld(t)
			ctx := context.Background()
			k, err := w.svc.RevokeKey(ctx, w.ps[tc.caller], w.keys[tc.owner].Key.ID)
			if core.ErrorCode(err) != tc.code {
				t.Fatalf("revoke: %v, want code %q", err, tc.code)
			}
			_, authErr := w.svc.Authenticate(ctx, w.keys[tc.owner].Secret)
			if tc.code != "" {
				if authErr != nil {
					t.Fatalf("a refused revocation still stopped the key: %v", authErr)
				}
				return
			}
			if k.Revoked == nil || !k.Revoked.Equal(w.clock.Now()) {
				t.Fatalf("revoked key %+v: want Revoked = now", k)
			}
			if core.ErrorCode(authErr) != core.Unauthorized {
				t.Fatalf("revoked key authenticates: %v", authErr)
			}
			// Revoking again changes nothing.
			w.clock.Advance(time.Minute)
			again, err := w.svc.RevokeKey(ctx, w.ps[tc.caller], k.ID)
			if err != nil || !again.Revoked.Equal(*k.Revoked) {
				t.Fatalf("second revoke: %+v %v, want the first revocation time", again, err)
			}
		})
	}
	w := newKeyWorld(t)
	if _, err := w.svc.RevokeKey(context.Background(), w.ps["operator"], "knope"); core.ErrorCode(err) != core.NotFound {
		t.Fatalf("unknown key: %v", err)
	}
}

// TestRevocationReachesEveryReplica: two services share one store (SharedStore), as replicas
// share PostgreSQL. Both have the key cached; a revocation through one must make the
// other refuse the key on its very next call, with no clock movement.
func TestRevocationReachesEveryReplica(t *testing.T) {
	w := newKeyWorld(t)
	ctx := context.Background()
	a, b := w.svc, w.replica()
	key := w.keys["member1"]
	for range 3 {
		for _, s := range []*service.Service{a, b} {
			if _, err := s.Authenticate(ctx, key.Secret); err != nil {
				t.Fatal(err)
			}
		}
	}
	// An unrelated revocation on b leaves a's cached key working.
	if _, err := b.RevokeKey(ctx, w.ps["operator"], w.keys["admin2"].Key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, key.Secret); err != nil {
		t.Fatalf("a key revoked nowhere stopped working: %v", err)
	}
	if _, err := b.RevokeKey(ctx, w.ps["member1"], key.Key.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, key.Secret); core.ErrorCode(err) != core.Unauthorized {
		t.Fatalf("replica a after a revocation on b: %v, want Unauthorized", err)
	}
}

func TestLoginTokenExpires(t *testing.T) {
	w := newKeyWorld(t) // TokenTTL: one hour
	ctx := context.Background()
	res, err := w.svc.Login(ctx, "member1@example.com", "password-member1")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Token.Expires.Equal(w.clock.Now().Add(time.Hour)) || res.Principal.User.ID != w.ps["member1"].User.ID {
		t.Fatalf("login result %+v: want expiry in one hour for member1", res)
	}
	if _, err := w.svc.Login(ctx, "member1@example.com", "wrong-password"); core.ErrorCode(err) != core.Unauthorized {
		t.Fatalf("bad password: %v", err)
	}
	p, err := w.svc.AuthenticateToken(ctx, res.ID)
	if err != nil || p.User.ID != w.ps["member1"].User.ID {
		t.Fatalf("fresh token: %+v %v", p.User, err)
	}
	w.clock.Advance(time.Hour - time.Millisecond)
	if _, err := w.svc.AuthenticateToken(ctx, res.ID); err != nil {
		t.Fatalf("token a millisecond before expiry: %v", err)
	}
	w.clock.Advance(time.Millisecond)
	if _, err := w.svc.AuthenticateToken(ctx, res.ID); core.ErrorCode(err) != core.Unauthorized {
		t.Fatalf("token at expiry: %v, want Unauthorized", err)
	}
	if _, err := w.svc.AuthenticateToken(ctx, "not-a-token"); core.ErrorCode(err) != core.Unauthorized {
		t.Fatalf("unknown token: %v", err)
	}
}

func TestAuditRecordAndList(t *testing.T) {
	w := newKeyWorld(t)
	ctx := context.Background()
	one := w.ps["admin1"].Team
	entries := []core.AuditEntry{
		{UserID: w.ps["admin1"].User.ID, TeamID: one.ID, Role: core.RoleAdmin, Action: "machines.create", Target: "ps1", Status: 200},
		{UserID: w.ps["member1"].User.ID, TeamID: one.ID, Role: core.RoleMember, Action: "machines.create", Status: 403, Error: core.Forbidden},
		{UserID: w.ps["admin2"].User.ID, TeamID: w.ps["admin2"].Team.ID, Role: core.RoleAdmin, Action: "machines.stop", Status: 204},
	}
	for _, e := range entries {
		w.clock.Advance(time.Second)
		if err := w.svc.RecordAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	op := w.ps["operator"]
	list := func(f service.AuditFilter) []core.AuditEntry {
		t.Helper()
		es, err := w.svc.ListAudit(ctx, op, f)
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	if es := list(service.AuditFilter{}); len(es) != 3 || es[0].Action != "machines.stop" || !es[0].Time.Equal(w.clock.Now()) {
		t.Fatalf("all entries: %+v", es)
	}
	// The team filter takes the numeric id too.
	if es := list(service.AuditFilter{Team: "  " + strconv.FormatInt(one.Num, 10)}); len(es) != 2 || es[0].Error != core.Forbidden {
		t.Fatalf("team %d: %+v", one.Num, es)
	}
	if es := list(service.AuditFilter{User: w.ps["admin1"].User.ID, Action: "machines.create"}); len(es) != 1 || es[0].Target != "ps1" {
		t.Fatalf("admin1's creates: %+v", es)
	}
	if es := list(service.AuditFilter{Since: w.clock.Now().Add(-time.Second), Until: w.clock.Now()}); len(es) != 1 || es[0].Status != 403 {
		t.Fatalf("time range: %+v", es)
	}
	if es := list(service.AuditFilter{Limit: 1}); len(es) != 1 {
		t.Fatalf("limit 1: %+v", es)
	}
	for _, f := range []service.AuditFilter{{Limit: -1}, {Limit: service.MaxAuditLimit + 1},
		{Since: w.clock.Now(), Until: w.clock.Now()}} {
		if _, err := w.svc.ListAudit(ctx, op, f); core.ErrorCode(err) != core.Invalid {
			t.Errorf("ListAudit(%+v): %v, want Invalid", f, err)
		}
	}
	if _, err := w.svc.ListAudit(ctx, op, service.AuditFilter{Team: "tenope"}); core.ErrorCode(err) != core.NotFound {
		t.Errorf("unknown team: %v, want NotFound", err)
	}
	if _, err := w.svc.ListAudit(ctx, w.ps["admin1"], service.AuditFilter{}); core.ErrorCode(err) != core.Forbidden {
		t.Errorf("a team admin reads the audit log: %v, want Forbidden", err)
	}
}
