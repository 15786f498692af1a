package main

import (
	"context"
	"encoding/json"
	"fmt"
	"hangar/internal/store/postgres/pgtest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestNoSecretInLogsOrDatabase runs a real hangar server with debug logging, logs in, creates
// keys, users with passwords and login tokens, uses and revokes them, fails with wrong ones —
// then scans everything the server wrote (its log output, every file of its data directory
// including the SQLite database and WAL, and with TEST_DATABASE_URL a dump of its PostgreSQL
// schema) for each secret it was given or gave out. Only two places may hold the operator's
// key: operator.key and the one line that shows it on first start, on stdout.
func TestNoSecretInLogsOrDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real hangar processes")
	}
	t.Run("sqlite", func(t *testing.T) { secretScan(t, "") })
	t.Run("postgres", func(t *testing.T) { secretScan(t, pgtest.SchemaURL(t, "e2e")) })
}

// secrets collects every secret a test used, with a label for failure messages.
type secrets map[string]string

func (s secrets) add(label, v string) string {
	if v == "" {
		panic("empty secret " + label)
	}
	s[v] = label
	return v
}

// forms are the spellings in which a secret could be written: as sent, URL-encoded,
// JSON-escaped and as PostgreSQL's row text quotes it.
func forms(secret string) []string {
	out := []string{secret, url.QueryEscape(secret), url.PathEscape(secret)}
	b, _ := json.Marshal(secret)
	pgRow := strings.NewReplacer(`\`, `\\`, `"`, `""`).Replace(secret)
	return append(out, string(b[1:len(b)-1]), pgRow)
}

// scan fails the test for every secret found in content.
func (s secrets) scan(t *testing.T, where string, content []byte, allow ...string) {
	t.Helper()
	if len(content) == 0 {
		return
	}
	text := string(content)
	for secret, label := range s {
		if contains(allow, secret) {
			continue
		}
		for _, f := range forms(secret) {
			if strings.Contains(text, f) {
				t.Errorf("%s holds the %s (%q)", where, label, f)
				break
			}
		}
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// scanDir scans every file under dir (but operator.key, whose purpose is to hold the
// operator's key), and returns how many bytes it read.
func (s secrets) scanDir(t *testing.T, dir, opKey string) int {
	t.Helper()
	total := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		total += len(b)
		var allow []string
		if d.Name() == "operator.key" {
			allow = []string{opKey}
		}
		s.scan(t, path, b, allow...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

// pgDump returns every row of every table of the schema dsn's search_path names, as text.
func pgDump(t *testing.T, dsn string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < 10 {
		t.Fatalf("schema has only the tables %v", tables)
	}
	var out strings.Builder
	for _, table := range tables {
		var text *string
		if err := conn.QueryRow(ctx, `SELECT string_agg(t::text, E'\n') FROM `+pgx.Identifier{table}.Sanitize()+` t`).Scan(&text); err != nil {
			t.Fatalf("dump %s: %v", table, err)
		}
		if text != nil {
			fmt.Fprintf(&out, "-- %s\n%s\n", table, *text)
		}
	}
	return []byte(out.String())
}

func secretScan(t *testing.T, dsn string) {
	data := t.TempDir()
	flags := []string{"--log-level", "debug", "--sim-time-scale", "0.01", "--sim-serviceready-min", "50ms"}
	if dsn != "" {
		flags = append(flags, "--database", dsn)
	}
	p := startProc(t, data, flags...)
	sec := secrets{}
	opKey := sec.add("operator key", readKey(t, data))
	op := p.ts(opKey)
	must := func(want int, key, method, path string, body any) map[string]any {
		t.Helper()
		var out any
		if st := op.do(t, key, method, path, body, &out); st != want {
			t.Fatalf("%s %s: %d, want %d: %v", method, path, st, want, out)
		}
		m, _ := out.(map[string]any)
		return m
	}

	// Accounts, through the operator API and the hangar admin CLI.
	team := must(200, opKey, "POST", "/hangar/v1/teams", map[string]any{"name": "Acme"})["id"].(string)
	adminPW := sec.add("admin's password", "Adm1n pass/+&=?#%\"ünï")
	admin := must(200, opKey, "POST", "/hangar/v1/users", map[string]any{"team": team, "email": "ada@acme.test",
		"password": adminPW, "firstName": "Ada", "lastName": "Admin", "admin": true})["id"].(string)
	memberPW := sec.add("member's password", "member-pw-"+fmt.Sprint(time.Now().UnixNano()))
	var member struct{ ID string }
	op.admin(t, &member, "users", "create", "--team", team, "--email", "bob@acme.test", "--password", memberPW,
		"--first-name", "Bob", "--last-name", "Member")
	adminKey := sec.add("admin's key", must(200, opKey, "POST", "/hangar/v1/keys", map[string]any{"user": admin})["key"].(string))
	var mk struct{ ID, Key string }
	op.admin(t, &mk, "keys", "create", "--user", member.ID, "--name", "laptop")
	memberKey := sec.add("member's key", mk.Key)
	must(400, opKey, "POST", "/hangar/v1/users", map[string]any{"team": team, "email": "short@acme.test",
		"password": sec.add("a rejected password", "short"), "firstName": "S", "lastName": "P"})

	// Machines, including one that creates a user with a password (spec §2.2).
	newPW := sec.add("password of a user made by a create", "new-user-pw-"+fmt.Sprint(time.Now().UnixNano()))
	body := createBody("with-user")
	for k, v := range map[string]any{"email": "carl@acme.test", "password": newPW, "firstName": "Carl", "lastName": "New"} {
		body[k] = v
	}
	m := must(200, adminKey, "POST", "/machines/createSingleMachinePublic", body)
	machine := m["id"].(string)
	must(403, memberKey, "POST", "/machines/createSingleMachinePublic", createBody("denied"))
	must(200, memberKey, "GET", "/machines/getMachines", nil)

	// Logins, tokens in the query and in a body, API tokens made from a login.
	token := sec.add("member's login token", must(200, "", "POST", "/users/login",
		map[string]any{"email": "bob@acme.test", "password": memberPW})["id"].(string))
	carlToken := sec.add("new user's login token", must(200, "", "POST", "/users/login",
		map[string]any{"email": "carl@acme.test", "password": newPW})["id"].(string))
	must(401, "", "POST", "/users/login", map[string]any{"email": "bob@acme.test",
		"password": sec.add("a wrong password", "wrong-"+memberPW)})
	must(401, "", "POST", "/users/login", map[string]any{"email": adminPW, "password": adminPW})
	must(200, "", "GET", "/machines/getMachines?access_token="+url.QueryEscape(token), nil)
	must(200, "", "GET", "/machines/getMachinePublic?machineId="+machine+"&access_token="+carlToken, nil)
	must(404, "", "POST", "/machines/psnope123/stop", map[string]any{"access_token": token})
	fromToken := must(200, "", "POST", "/apiTokens/createPublic?access_token="+token, map[string]any{})
	tokenKey := sec.add("key made from a login", fromToken["key"].(string))
	sec.add("key re-issued by name", must(200, "", "POST", "/apiTokens/createPublic?access_token="+token,
		map[string]any{"apiToken": fromToken["name"]})["key"].(string))
	must(200, tokenKey, "GET", "/users/getUsers", nil)
	must(401, "", "GET", "/machines/getMachines?access_token="+sec.add("a made-up token", "f00d"+token[4:]), nil)
	must(401, sec.add("a made-up key", "beef"+memberKey[4:]), "GET", "/machines/getMachines", nil)

	// Key lifecycle: list, self-revoke, admin revoke, use after revocation.
	var keys []map[string]any
	if st := op.do(t, memberKey, "GET", "/hangar/v1/keys", nil, &keys); st != 200 || len(keys) < 3 {
		t.Fatalf("member's keys: %d %v", st, keys)
	}
	for _, k := range keys { // both keys of the name made from the login
		if k["name"] == fromToken["name"] {
			must(200, memberKey, "POST", "/hangar/v1/keys/"+k["id"].(string)+"/revoke", nil)
		}
	}
	must(401, tokenKey, "GET", "/users/getUsers", nil)
	must(200, adminKey, "POST", "/hangar/v1/keys/"+mk.ID+"/revoke", nil)
	must(401, memberKey, "GET", "/machines/getMachines", nil)
	must(200, "", "GET", "/machines/getMachines?access_token="+token, nil) // a login token outlives a key revocation
	must(204, adminKey, "POST", "/machines/"+machine+"/destroyMachine", nil)
	var audit []map[string]any
	op.admin(t, &audit, "audit", "--limit", "10000")
	count := map[string]int{}
	for _, e := range audit {
		count[fmt.Sprint(e["action"], " ", e["status"])]++
	}
	for what, n := range map[string]int{"users.login 200": 2, "users.login 401": 2, "keys.revoke 200": 3,
		"apiTokens.create 200": 2, "users.create 200": 2, "users.create 400": 1, "keys.create 200": 2,
		"machines.create 200": 1, "machines.create 403": 1, "machines.stop 404": 1, "machines.destroy 204": 1} {
		if count[what] != n {
			t.Errorf("audit log: %d × %s, want %d (all: %v)", count[what], what, n, count)
		}
	}

	// Scan while running (the WAL holds the recent writes), then after a clean stop.
	if n := sec.scanDir(t, data, opKey); dsn == "" && n < 100_000 {
		t.Fatalf("the data directory holds only %d bytes: is the database there?", n)
	}
	p.stop(t)
	sec.scanDir(t, data, opKey)
	logs := p.stderr.String()
	if !strings.Contains(logs, "level=DEBUG") || !strings.Contains(logs, "users.login") {
		t.Fatalf("the server logged no debug lines or no audit lines:\n%s", logs)
	}
	sec.scan(t, "the server log (stderr)", []byte(logs))
	out := p.stdout.String()
	if strings.Count(out, opKey) != 1 || !strings.Contains(out, "shown only this once") {
		t.Fatalf("stdout should show the operator key once, on first start:\n%s", out)
	}
	sec.scan(t, "the server's stdout", []byte(out), opKey)
	if dsn != "" {
		dump := pgDump(t, dsn)
		if !strings.Contains(string(dump), "-- audit_log") || !strings.Contains(string(dump), "-- api_keys") {
			t.Fatalf("the dump misses tables:\n%.2000s", dump)
		}
		sec.scan(t, "the PostgreSQL schema", dump)
	}
	if t.Failed() {
		t.Logf("server log:\n%s", logs)
	}
}
