package main

import (
	"net/url"
	"os"
	"testing"

	"hangar/internal/store/postgres/pgtest"
)

// withStdin makes os.Stdin read text for the rest of the test (hangar admin users update
// --password reads it there).
func withStdin(t *testing.T, text string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteString(text); err != nil {
		t.Fatal(err)
	}
	w.Close()
	old := os.Stdin
	os.Stdin = r
	t.Cleanup(func() { os.Stdin = old; r.Close() })
}

// TestAdminEndsTokensAndAccounts drives `hangar admin keys list/revoke` over login tokens and
// `hangar admin users update --password/--disable/--enable` against a real server.
func TestAdminEndsTokensAndAccounts(t *testing.T) {
	ts := startServer(t)
	team := ts.newTeam(t, "Acme")
	bob := ts.newAccount(t, team, "bob@acme.test", false)
	login := func(email, password string) (string, int) {
		var tok struct{ ID string }
		st := ts.do(t, "", "POST", "/users/login", map[string]any{"email": email, "password": password}, &tok)
		return tok.ID, st
	}
	calls := func(tok string) int {
		return ts.do(t, "", "GET", "/machines/getMachines?access_token="+url.QueryEscape(tok), nil, nil)
	}
	type cred struct{ ID, Kind, UserID string }

	// keys list shows the login token by kind; keys revoke ends it.
	tok, st := login(bob.Email, bob.Password)
	if st != 200 {
		t.Fatalf("login: %d", st)
	}
	var creds []cred
	ts.admin(t, &creds, "keys", "list", "--user", bob.ID)
	var tokID string
	for _, c := range creds {
		if c.Kind == "login" {
			tokID = c.ID
		}
	}
	if len(creds) != 2 || tokID == "" {
		t.Fatalf("keys list: %+v, want Bob's key and his login token", creds)
	}
	ts.admin(t, nil, "keys", "revoke", tokID)
	if st := calls(tok); st != 401 {
		t.Fatalf("a revoked login token: %d, want 401", st)
	}

	// A new password ends login tokens, not keys.
	tok, _ = login(bob.Email, bob.Password)
	withStdin(t, "a-brand-new-password\n")
	ts.admin(t, nil, "users", "update", bob.Email, "--password")
	if st := calls(tok); st != 401 {
		t.Fatalf("a token after a password change: %d, want 401", st)
	}
	if st := ts.do(t, bob.Key, "GET", "/machines/getMachines", nil, nil); st != 200 {
		t.Fatalf("a key after a password change: %d, want 200", st)
	}
	if _, st := login(bob.Email, bob.Password); st != 401 {
		t.Fatalf("login with the old password: %d", st)
	}

	// Disabled: token, key and login refused; enabled: key and login back.
	tok, _ = login(bob.Email, "a-brand-new-password")
	var u struct{ Disabled bool }
	ts.admin(t, &u, "users", "update", bob.ID, "--disable")
	if !u.Disabled || calls(tok) != 401 || ts.do(t, bob.Key, "GET", "/machines/getMachines", nil, nil) != 401 {
		t.Fatalf("disabled user %+v: token or key still works", u)
	}
	if _, st := login(bob.Email, "a-brand-new-password"); st != 401 {
		t.Fatalf("login of a disabled user: %d, want 401", st)
	}
	ts.admin(t, &u, "users", "update", bob.ID, "--enable")
	if u.Disabled || ts.do(t, bob.Key, "GET", "/machines/getMachines", nil, nil) != 200 || calls(tok) != 401 {
		t.Fatalf("enabled user %+v: want the key back and the old token still ended", u)
	}
	if _, st := login(bob.Email, "a-brand-new-password"); st != 200 {
		t.Fatalf("login after enable: %d", st)
	}
}

// TestDisableAndLogoutAcrossReplicasOnPostgres: two hangar processes share one PostgreSQL
// database. A user disabled on one replica is refused by the other at once, though it had
// the key cached; enabled again there, the key works on the first; a logout on one ends the
// token on the other.
func TestDisableAndLogoutAcrossReplicasOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real hangar processes")
	}
	dsn := pgtest.SchemaURL(t, "e2e")
	flags := []string{"--database", dsn, "--no-default-fleet"}
	dataA := t.TempDir()
	a := startProc(t, dataA, flags...)
	b := startProc(t, t.TempDir(), flags...)
	op := a.ts(readKey(t, dataA))
	opB := b.ts(op.Key)
	admin := newTeamAdmin(t, op)
	var keys []struct{ UserID string }
	if st := a.ts("").do(t, admin, "GET", "/hangar/v1/keys", nil, &keys); st != 200 || len(keys) != 1 {
		t.Fatalf("admin's keys: %d %+v", st, keys)
	}
	user := keys[0].UserID
	status := func(p *proc, key string) int { return p.ts("").do(t, key, "GET", "/machines/getMachines", nil, nil) }
	for range 3 {
		for _, p := range []*proc{a, b} {
			if st := status(p, admin); st != 200 {
				t.Fatalf("%s: %d before anything", p.url, st)
			}
		}
	}
	if st := op.do(t, op.Key, "POST", "/hangar/v1/users/"+user, map[string]any{"disabled": true}, nil); st != 200 {
		t.Fatalf("disable on a: %d", st)
	}
	if st := status(b, admin); st != 401 {
		t.Fatalf("replica b after a disable on a: %d, want 401", st)
	}
	if st := opB.do(t, op.Key, "POST", "/hangar/v1/users/"+user, map[string]any{"disabled": false}, nil); st != 200 {
		t.Fatalf("enable on b: %d", st)
	}
	if st := status(a, admin); st != 200 {
		t.Fatalf("replica a after an enable on b: %d, want 200", st)
	}

	var tok struct{ ID string }
	email := ""
	var users []struct{ ID, Email string }
	op.do(t, op.Key, "GET", "/hangar/v1/users", nil, &users)
	for _, u := range users {
		if u.ID == user {
			email = u.Email
		}
	}
	if st := a.ts("").do(t, "", "POST", "/users/login", map[string]any{"email": email, "password": "correct horse"}, &tok); st != 200 {
		t.Fatalf("login on a: %d", st)
	}
	q := "?access_token=" + url.QueryEscape(tok.ID)
	if st := a.ts("").do(t, "", "GET", "/machines/getMachines"+q, nil, nil); st != 200 {
		t.Fatalf("token on a: %d", st)
	}
	if st := b.ts("").do(t, "", "POST", "/users/logout"+q, nil, nil); st != 204 {
		t.Fatalf("logout on b: %d", st)
	}
	if st := a.ts("").do(t, "", "GET", "/machines/getMachines"+q, nil, nil); st != 401 {
		t.Fatalf("replica a after a logout on b: %d, want 401", st)
	}
}
