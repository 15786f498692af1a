package main

import (
	"context"
	"hangar/internal/store/postgres/pgtest"
	"strings"
	"testing"
	"time"
)

// TestAdminKeysAndAudit drives `hangar admin keys` and `hangar admin audit` against a real
// server: a user's keys are listed without secrets, a revoked key stops at once, users list
// their own keys with the same CLI, and the audit log shows the calls, failed ones included.
func TestAdminKeysAndAudit(t *testing.T) {
	ts := startServer(t)
	team := ts.newTeam(t, "Acme")
	admin := ts.newAccount(t, team, "ada@acme.test", true)
	member := ts.newAccount(t, team, "bob@acme.test", false)

	type key struct {
		ID, UserID, Name, Prefix, DtCreated string
		LastUsed, Revoked                   *string
		Key                                 string
	}
	var keys []key
	ts.admin(t, &keys, "keys", "list", "--user", member.ID)
	if len(keys) != 1 || keys[0].UserID != member.ID || keys[0].Name == "" || keys[0].DtCreated == "" ||
		keys[0].LastUsed != nil || keys[0].Revoked != nil || keys[0].Key != "" || !strings.HasPrefix(member.Key, keys[0].Prefix) ||
		len(keys[0].Prefix) >= len(member.Key)/2 {
		t.Fatalf("keys list --user: %+v", keys)
	}
	memberKeyID := keys[0].ID
	if st := ts.do(t, member.Key, "GET", "/machines/getMachines", nil, nil); st != 200 {
		t.Fatalf("member lists machines: %d", st)
	}
	if st := ts.do(t, member.Key, "POST", "/machines/createSingleMachinePublic", createBody("denied"), nil); st != 403 {
		t.Fatalf("member creates: %d, want 403", st)
	}
	ts.admin(t, &keys, "keys", "list", "--user", member.ID)
	if keys[0].LastUsed == nil {
		t.Fatalf("lastUsed not set after use: %+v", keys[0])
	}

	// A user runs the same CLI with their own key: they see their keys, not others'.
	(&testServer{URL: ts.URL, Key: member.Key}).admin(t, &keys, "keys", "list")
	if len(keys) != 1 || keys[0].ID != memberKeyID {
		t.Fatalf("member's own keys: %+v", keys)
	}
	var adminsView []key
	(&testServer{URL: ts.URL, Key: admin.Key}).admin(t, &adminsView, "keys", "list")
	if len(adminsView) != 2 {
		t.Fatalf("team admin sees %d keys, want the team's 2", len(adminsView))
	}

	var revoked key
	ts.admin(t, &revoked, "keys", "revoke", memberKeyID)
	if revoked.ID != memberKeyID || revoked.Revoked == nil {
		t.Fatalf("keys revoke: %+v", revoked)
	}
	if st := ts.do(t, member.Key, "GET", "/machines/getMachines", nil, nil); st != 401 {
		t.Fatalf("revoked key: %d, want 401", st)
	}

	type entry struct {
		Seq                                                        int64
		DtCreated, RequestID, UserID, Role, TeamID, Action, Target string
		Status                                                     int
		Error, ClientAddr                                          string
	}
	var es []entry
	ts.admin(t, &es, "audit", "--action", "keys.revoke")
	if len(es) != 1 || es[0].Target != memberKeyID || es[0].Role != "operator" || es[0].Status != 200 || es[0].ClientAddr != "127.0.0.1" {
		t.Fatalf("audit --action keys.revoke: %+v", es)
	}
	ts.admin(t, &es, "audit", "--user", member.ID, "--since", "10m")
	if len(es) != 1 || es[0].Action != "machines.create" || es[0].Status != 403 || es[0].Error != "forbidden" || es[0].TeamID != team {
		t.Fatalf("audit --user member: %+v", es)
	}
	ts.admin(t, &es, "audit", "--team", team)
	if len(es) != 1 {
		t.Fatalf("audit --team: %+v", es)
	}
	ts.admin(t, &es, "audit", "--limit", "2")
	if len(es) != 2 || es[0].Action != "keys.revoke" || es[0].Seq <= es[1].Seq {
		t.Fatalf("audit --limit 2: %+v", es)
	}
	ts.admin(t, &es, "audit", "--until", time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	if len(es) != 0 {
		t.Fatalf("audit --until an hour ago: %+v", es)
	}
	// The operator's own setup calls (teams, users, keys create) are there too.
	ts.admin(t, &es, "audit", "--action", "users.create")
	if len(es) != 2 || es[0].Target != member.ID || es[1].Target != admin.ID {
		t.Fatalf("audit --action users.create: %+v", es)
	}

	// Text output and a bad flag.
	var out, errOut syncBuffer
	if code := run(context.Background(), []string{"admin", "--url", ts.URL, "--api-key", ts.Key, "audit", "--action", "keys.revoke"},
		&out, &errOut); code != 0 || !strings.Contains(out.String(), memberKeyID) || !strings.Contains(out.String(), "ACTION") {
		t.Fatalf("text audit: %d\n%s%s", code, out.String(), errOut.String())
	}
	out, errOut = syncBuffer{}, syncBuffer{}
	if code := run(context.Background(), []string{"admin", "--url", ts.URL, "--api-key", ts.Key, "audit", "--since", "yesterday"},
		&out, &errOut); code != 1 || !strings.Contains(errOut.String(), "--since") {
		t.Fatalf("bad --since: %d\n%s%s", code, out.String(), errOut.String())
	}
	out, errOut = syncBuffer{}, syncBuffer{}
	if code := run(context.Background(), []string{"admin", "--url", ts.URL, "--api-key", admin.Key, "audit"},
		&out, &errOut); code != 1 || !strings.Contains(errOut.String(), "403") {
		t.Fatalf("audit as a team admin: %d\n%s%s", code, out.String(), errOut.String())
	}
}

// TestRevocationAcrossReplicasOnPostgres: two hangar processes share one PostgreSQL database.
// Both have authenticated a key (and cached it); a revocation through one makes the other
// refuse the key on the very next request.
func TestRevocationAcrossReplicasOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real hangar processes")
	}
	dsn := pgtest.SchemaURL(t, "e2e")
	flags := []string{"--database", dsn, "--no-default-fleet"}
	dataA := t.TempDir()
	a := startProc(t, dataA, flags...)
	b := startProc(t, t.TempDir(), flags...)
	op := a.ts(readKey(t, dataA))
	admin := newTeamAdmin(t, op)
	var keys []struct{ ID, UserID string }
	if st := b.ts("").do(t, admin, "GET", "/hangar/v1/keys", nil, &keys); st != 200 || len(keys) != 1 {
		t.Fatalf("admin's keys: %d %+v", st, keys)
	}
	second := map[string]any{}
	if st := op.do(t, op.Key, "POST", "/hangar/v1/keys", map[string]any{"user": keys[0].UserID, "name": "second"}, &second); st != 200 {
		t.Fatalf("second key: %d %v", st, second)
	}
	warm := func(key string) {
		for range 3 {
			for _, p := range []*proc{a, b} {
				if st := p.ts("").do(t, key, "GET", "/machines/getMachines", nil, nil); st != 200 {
					t.Fatalf("%s: %d before any revocation", p.url, st)
				}
			}
		}
	}
	warm(admin)
	warm(second["key"].(string))

	// The operator revokes on a; b refuses at once.
	if st := op.do(t, op.Key, "POST", "/hangar/v1/keys/"+keys[0].ID+"/revoke", nil, nil); st != 200 {
		t.Fatalf("revoke on a: %d", st)
	}
	if st := b.ts("").do(t, admin, "GET", "/machines/getMachines", nil, nil); st != 401 {
		t.Fatalf("replica b after a revocation on a: %d, want 401", st)
	}
	if st := a.ts("").do(t, admin, "GET", "/machines/getMachines", nil, nil); st != 401 {
		t.Fatalf("replica a after its own revocation: %d, want 401", st)
	}
	// The user revokes their other key on b; a refuses at once.
	key2 := second["key"].(string)
	if st := b.ts("").do(t, key2, "POST", "/hangar/v1/keys/"+second["id"].(string)+"/revoke", nil, nil); st != 200 {
		t.Fatalf("self-revoke on b: %d", st)
	}
	if st := a.ts("").do(t, key2, "GET", "/machines/getMachines", nil, nil); st != 401 {
		t.Fatalf("replica a after a revocation on b: %d, want 401", st)
	}
	// Both revocations are in the shared audit log, readable through either replica.
	var es []struct{ Action, Target string }
	if st := b.ts("").do(t, op.Key, "GET", "/hangar/v1/audit?action=keys.revoke", nil, &es); st != 200 || len(es) != 2 ||
		es[0].Target != second["id"] || es[1].Target != keys[0].ID {
		t.Fatalf("audit: %d %+v", st, es)
	}
}
