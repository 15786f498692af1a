package main

import (
	"net/url"
	"os"
	"testing"
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
