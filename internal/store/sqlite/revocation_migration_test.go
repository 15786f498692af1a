package sqlite

import (
	"strings"
	"testing"

	"hangar/internal/core"
	"hangar/internal/store"
)

// TestRevocationMigrationBackfill opens a database at schema version 7 that holds a user, a
// login token, an API key and a console session, and checks that migration 0009 gives the
// token an id it can be found and revoked by, marks the session key as a session and leaves
// the user enabled.
func TestRevocationMigrationBackfill(t *testing.T) {
	path, raw := openAtVersion(t, 7)
	for _, q := range []string{
		`INSERT INTO teams (id, name, individual, created) VALUES ('te1', 'A', 0, 1)`,
		`INSERT INTO users (id, team_id, email, email_key, first_name, last_name, role, password_hash, created)
			VALUES ('u1', 'te1', 'a@b.c', 'a@b.c', 'A', 'B', 'member', 'x', 1)`,
		`INSERT INTO access_tokens (hash, user_id, created, expires) VALUES ('0123456789abcdef0123', 'u1', 1, 2)`,
		`INSERT INTO access_tokens (hash, user_id, created, expires) VALUES ('fedcba9876543210fedc', 'u1', 1, 2)`,
		`INSERT INTO api_keys (id, user_id, name, prefix, hash, created) VALUES ('k1', 'u1', 'default', 'abc', 'h1', 1)`,
		`INSERT INTO api_keys (id, user_id, name, prefix, hash, created) VALUES ('k2', 'u1', 'console session via k1', 'def', 'h2', 1)`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Read(t.Context(), func(tx store.Tx) error {
		u, err := tx.GetUser("u1")
		if err != nil || u.Disabled {
			t.Errorf("user after the migration: %+v %v, want enabled", u, err)
		}
		toks, err := tx.ListAccessTokens("u1")
		if err != nil || len(toks) != 2 {
			t.Fatalf("tokens: %+v %v", toks, err)
		}
		for _, tok := range toks {
			if !strings.HasPrefix(tok.ID, core.PrefixLoginToken) || tok.Revoked != nil {
				t.Errorf("token after the migration: %+v, want an lt… id and not revoked", tok)
			}
			if got, err := tx.GetAccessTokenByID(tok.ID); err != nil || got.Hash != tok.Hash {
				t.Errorf("token %s by id: %+v %v", tok.ID, got, err)
			}
		}
		for id, kind := range map[string]core.KeyKind{"k1": core.KindKey, "k2": core.KindSession} {
			if k, err := tx.GetAPIKey(id); err != nil || k.Kind != kind {
				t.Errorf("key %s after the migration: %+v %v, want kind %s", id, k, err, kind)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
