package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"hangar/api"
	"hangar/internal/core"
	"hangar/internal/reqid"
	"hangar/internal/store"
	"sync/atomic"
)

// TestAuditActionsCoverStateChangingRoutes: every route that can change state has an audit
// action, and every action names a served route; a route added without one fails here.
func TestAuditActionsCoverStateChangingRoutes(t *testing.T) {
	e := newEnv(t)
	served := map[string]bool{}
	for _, rt := range e.API.Routes() {
		key := rt.Method + " " + rt.Pattern
		served[key] = true
		changes := rt.Method != http.MethodGet || strings.Contains(rt.Pattern, "/setMachineAccess")
		if changes && rt.action == "" {
			t.Errorf("%s changes state but has no audit action (auditActions)", key)
		}
		if !changes && rt.action != "" {
			t.Errorf("%s is a read but is audited as %s", key, rt.action)
		}
	}
	for key := range auditActions {
		if !served[key] {
			t.Errorf("auditActions names %s, which is not a route", key)
		}
	}
}

// auditEntries reads the audit log through the operator API with the given query.
func (e *env) auditEntries(t *testing.T, query url.Values) []api.AuditEntry {
	t.Helper()
	var out []api.AuditEntry
	e.call(t, e.Operator.Key, "GET", api.OperatorPrefix+"/audit?"+query.Encode(), nil).must(t, 200).json(t, &out)
	return out
}

// TestAuditLog: state-changing calls, failed ones included, are recorded with who, team,
// action, target, result, request id and client address; reads are not; the operator API
// filters them; no secret reaches the log.
func TestAuditLog(t *testing.T) {
	e := newEnv(t)
	// The request id middleware is not part of this package: carry X-Request-Id into the
	// context the way it does.
	withID := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.Handler.ServeHTTP(w, r.WithContext(reqid.With(r.Context(), r.Header.Get("X-Request-Id"))))
	}))
	t.Cleanup(withID.Close)
	send := func(id string, rq request, status int) response {
		t.Helper()
		req := rq.build(t, withID.URL)
		req.Header.Set("X-Request-Id", id)
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		r := response{status: res.StatusCode, header: res.Header, body: b}
		return r.must(t, status)
	}
	start := e.Clock.Now()
	machine := send("r-create", request{method: "POST", path: "/machines/createSingleMachinePublic", key: e.Alice.Key,
		body: createBody("machineName", "audited")}, 200).obj(t)["id"].(string)
	e.Clock.add(time.Second)
	send("r-denied", request{method: "POST", path: "/machines/createSingleMachinePublic", key: e.Bob.Key,
		body: createBody("machineName", "denied")}, 403)
	send("r-read", request{method: "GET", path: "/machines/getMachines", key: e.Alice.Key}, 200)
	send("r-badkey", request{method: "POST", path: "/machines/" + machine + "/stop", key: "not-a-key"}, 401)
	e.Clock.add(time.Second)
	mid := e.Clock.Now()
	token := send("r-login", request{method: "POST", path: "/users/login",
		body: map[string]any{"email": e.Bob.Email, "password": e.Bob.Password}}, 200).obj(t)["id"].(string)
	send("r-badlogin", request{method: "POST", path: "/users/login",
		body: map[string]any{"email": e.Alice.Email, "password": e.Bob.Password}}, 401)
	send("r-pwfield", request{method: "POST", path: "/users/login",
		body: map[string]any{"email": e.Alice.Password, "password": e.Alice.Password}}, 401)
	newKey := send("r-token", request{method: "POST", path: "/apiTokens/createPublic?access_token=" + token}, 200).obj(t)
	e.Clock.add(time.Second)
	send("r-revoke", request{method: "POST", path: api.OperatorPrefix + "/keys/" + e.Carol.KeyID + "/revoke", key: e.Operator.Key}, 200)
	send("r-revoke-other", request{method: "POST", path: api.OperatorPrefix + "/keys/" + e.Alice.KeyID + "/revoke", key: e.Bob.Key}, 404)

	teamA := e.auditEntries(t, url.Values{"team": {e.TeamA}})
	all := e.auditEntries(t, nil)
	want := []api.AuditEntry{ // newest first
		{RequestID: "r-revoke-other", UserID: e.Bob.ID, Role: "member", TeamID: e.TeamA, Action: "keys.revoke",
			Target: e.Alice.KeyID, Status: 404, Error: "not_found"},
		{RequestID: "r-revoke", UserID: e.Operator.ID, Role: "operator", TeamID: e.OpTeam, Action: "keys.revoke",
			Target: e.Carol.KeyID, Status: 200},
		{RequestID: "r-token", UserID: e.Bob.ID, Role: "member", TeamID: e.TeamA, Action: "apiTokens.create",
			Status: 200},
		{RequestID: "r-pwfield", Action: "users.login", Status: 401, Error: "unauthorized"},
		{RequestID: "r-badlogin", Action: "users.login", Target: e.Alice.Email, Status: 401, Error: "unauthorized"},
		{RequestID: "r-login", UserID: e.Bob.ID, Role: "member", TeamID: e.TeamA, Action: "users.login",
			Target: e.Bob.ID, Status: 200},
		{RequestID: "r-badkey", Action: "machines.stop", Target: machine, Status: 401, Error: "unauthorized"},
		{RequestID: "r-denied", UserID: e.Bob.ID, Role: "member", TeamID: e.TeamA, Action: "machines.create",
			Status: 403, Error: "forbidden"},
		{RequestID: "r-create", UserID: e.Alice.ID, Role: "admin", TeamID: e.TeamA, Action: "machines.create",
			Target: machine, Status: 200},
	}
	if len(all) != len(want) {
		t.Fatalf("audit log has %d entries, want %d: %+v", len(all), len(want), all)
	}
	for i, w := range want {
		got := all[i]
		if w.Action == "apiTokens.create" {
			w.Target = got.Target // the new key's id, checked below
		}
		w.Seq, w.DtCreated, w.ClientAddr = got.Seq, got.DtCreated, "127.0.0.1"
		if got != w {
			t.Errorf("entry %d:\n got  %+v\n want %+v", i, got, w)
		}
	}
	if all[2].Target == "" || !strings.HasPrefix(all[2].Target, "k") {
		t.Errorf("apiTokens.create target %q, want the new key's id", all[2].Target)
	}
	if all[len(all)-1].DtCreated != core.FormatTime(start) {
		t.Errorf("first entry at %s, want %s", all[len(all)-1].DtCreated, core.FormatTime(start))
	}

	// Filters.
	var teamAIDs []string
	for _, x := range teamA {
		teamAIDs = append(teamAIDs, x.RequestID)
	}
	if got := strings.Join(teamAIDs, " "); got != "r-revoke-other r-token r-login r-denied r-create" {
		t.Errorf("team filter: %s", got)
	}
	check := func(q url.Values, want ...string) {
		t.Helper()
		var got []string
		for _, x := range e.auditEntries(t, q) {
			got = append(got, x.RequestID)
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("audit %s: %v, want %v", q.Encode(), got, want)
		}
	}
	check(url.Values{"user": {e.Bob.ID}}, "r-revoke-other", "r-token", "r-login", "r-denied")
	check(url.Values{"action": {"machines.create"}}, "r-denied", "r-create")
	check(url.Values{"action": {"users.login"}, "limit": {"2"}}, "r-pwfield", "r-badlogin")
	check(url.Values{"until": {core.FormatTime(mid)}}, "r-badkey", "r-denied", "r-create")
	check(url.Values{"since": {core.FormatTime(mid)}, "until": {core.FormatTime(mid.Add(time.Second))}},
		"r-token", "r-pwfield", "r-badlogin", "r-login")
	check(url.Values{"team": {e.TeamA}, "user": {e.Alice.ID}, "action": {"machines.create"}}, "r-create")

	// Bad queries and callers.
	for _, q := range []string{"since=yesterday", "until=2024-13-01T00:00:00Z", "limit=0", "limit=x", "limit=10001",
		"since=2024-03-15T00:00:00Z&until=2024-03-14T00:00:00Z"} {
		e.call(t, e.Operator.Key, "GET", api.OperatorPrefix+"/audit?"+q, nil).must(t, 400)
	}
	e.call(t, e.Operator.Key, "GET", api.OperatorPrefix+"/audit?team=tenope", nil).must(t, 404)
	e.call(t, e.Alice.Key, "GET", api.OperatorPrefix+"/audit", nil).must(t, 403)
	e.call(t, "", "GET", api.OperatorPrefix+"/audit", nil).must(t, 401)

	// No secret is in the log.
	raw := string(e.call(t, e.Operator.Key, "GET", api.OperatorPrefix+"/audit?limit=10000", nil).must(t, 200).body)
	for _, secret := range []string{e.Alice.Password, e.Bob.Password, e.Alice.Key, e.Bob.Key, e.Carol.Key,
		e.Operator.Key, token, newKey["key"].(string), "not-a-key"} {
		if strings.Contains(raw, secret) {
			t.Errorf("the audit log contains the secret %q", secret)
		}
	}
}

// TestKeysThroughOperatorAPI: users list and revoke their own keys through the operator API,
// team admins their team's; other keys are 404; a revoked key stops at once.
func TestKeysThroughOperatorAPI(t *testing.T) {
	e := newEnv(t)
	names := func(key, query string, status int) []string {
		t.Helper()
		r := e.call(t, key, "GET", api.OperatorPrefix+"/keys"+query, nil).must(t, status)
		if status != 200 {
			return nil
		}
		var ks []api.APIKey
		r.json(t, &ks)
		var out []string
		for _, k := range ks {
			if k.Key != "" || strings.Contains(string(r.body), "hash") {
				t.Fatalf("a key list shows a secret or hash: %s", r.body)
			}
			out = append(out, k.UserID)
		}
		return out
	}
	if got := names(e.Bob.Key, "", 200); len(got) != 1 || got[0] != e.Bob.ID {
		t.Errorf("Bob's keys: %v", got)
	}
	if got := names(e.Alice.Key, "", 200); len(got) != 2 {
		t.Errorf("Alice (team admin) sees keys of %v, want hers and Bob's", got)
	}
	names(e.Bob.Key, "?user="+e.Alice.ID, 403)
	names(e.Alice.Key, "?user="+e.Carol.ID, 404)
	if got := names(e.Alice.Key, "?user="+e.Bob.ID, 200); len(got) != 1 || got[0] != e.Bob.ID {
		t.Errorf("Alice lists Bob's keys: %v", got)
	}
	names("", "", 401)

	e.call(t, e.Carol.Key, "POST", api.OperatorPrefix+"/keys/"+e.Bob.KeyID+"/revoke", nil).must(t, 404)
	e.call(t, e.Bob.Key, "POST", api.OperatorPrefix+"/keys/"+e.Alice.KeyID+"/revoke", nil).must(t, 404)
	e.call(t, e.Bob.Key, "GET", "/machines/getMachines", nil).must(t, 200)
	var k api.APIKey
	e.call(t, e.Bob.Key, "POST", api.OperatorPrefix+"/keys/"+e.Bob.KeyID+"/revoke", nil).must(t, 200).json(t, &k)
	if k.ID != e.Bob.KeyID || k.Revoked == nil || k.Key != "" {
		t.Errorf("revoked key %+v", k)
	}
	e.call(t, e.Bob.Key, "GET", "/machines/getMachines", nil).must(t, 401)
	e.call(t, e.Alice.Key, "POST", api.OperatorPrefix+"/keys/"+e.Alice.KeyID+"/revoke", nil).must(t, 200)
	e.call(t, e.Alice.Key, "GET", "/machines/getMachines", nil).must(t, 401)
	// Only the operator creates keys.
	e.call(t, e.Carol.Key, "POST", api.OperatorPrefix+"/keys", map[string]any{"user": e.Carol.ID}).must(t, 403)
}

// TestClientGoneIsNotA500: a state-changing call whose client has gone (its request context
// ended) and that fails for it is logged at info and audited as 499 "cancelled", not as an
// internal error, and its audit entry is stored although the request's context is over.
func TestClientGoneIsNotA500(t *testing.T) {
	logs := &syncBuf{}
	e := newEnvWith(t, nil, func(c *Config) { c.Logger = jsonLogger(logs) })
	body, err := json.Marshal(createBody("machineName", "abandoned"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the client is gone before the server gets to the call
	req := httptest.NewRequest("POST", "/machines/createSingleMachinePublic", bytes.NewReader(body)).WithContext(ctx)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("x-api-key", e.Alice.Key)
	req.Header.Set("X-Request-Id", "client-gone-0001")
	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, req)
	if rec.Code != StatusClientClosed {
		t.Fatalf("status %d, want %d; body %s", rec.Code, StatusClientClosed, rec.Body)
	}
	var found bool
	for _, x := range e.auditEntries(t, nil) {
		if x.RequestID == "client-gone-0001" {
			found = true
			if x.Status != StatusClientClosed || x.Error != string(core.Cancelled) {
				t.Errorf("audit entry %+v, want status 499 and error cancelled", x)
			}
		}
	}
	if !found {
		t.Error("no audit entry for the call whose client went away")
	}
	for _, r := range logs.records(t) {
		if r["level"] == "ERROR" {
			t.Errorf("error logged for a client that went away: %v", r)
		}
	}
	if got := len(e.call(t, e.Alice.Key, "GET", "/machines/getMachines?machineName=abandoned", nil).must(t, 200).arr(t)); got != 0 {
		t.Errorf("%d machines created by the abandoned call", got)
	}
}

// diskFillsStore is a store whose disk fills up right after the first transaction that
// creates a machine commits: every later write fails, as SQLite's do on a full disk.
type diskFillsStore struct {
	store.Store
	full atomic.Bool
}

type creationTx struct {
	store.Tx
	created *bool
}

func (tx creationTx) CreateMachine(m *core.Machine) error {
	*tx.created = true
	return tx.Tx.CreateMachine(m)
}

func (s *diskFillsStore) Write(ctx context.Context, fn func(store.Tx) error) error {
	if s.full.Load() {
		return core.Errorf(core.Internal, "database or disk is full")
	}
	created := false
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		created = false
		return fn(creationTx{tx, &created})
	})
	if err == nil && created {
		s.full.Store(true)
	}
	return err
}

// TestAuditEntryCommitsWithItsChange: a create's audit entry is written in the transaction
// that creates the machine, so a disk that fills right after that commit cannot leave a
// machine without its entry (it did when the entry was a second write).
func TestAuditEntryCommitsWithItsChange(t *testing.T) {
	var fills *diskFillsStore
	e := newEnvStore(t, nil, nil, func(st store.Store) store.Store {
		fills = &diskFillsStore{Store: st}
		return fills
	})
	res := e.call(t, e.Alice.Key, "POST", "/machines/createSingleMachinePublic", createBody("machineName", "last-one"))
	if !fills.full.Load() {
		t.Fatal("the create did not commit a machine")
	}
	var m struct{ ID string }
	res.must(t, 200).json(t, &m)
	// Read the log straight from the database: the service's own writes fail from now on.
	entries, err := func() (out []core.AuditEntry, err error) {
		err = e.db.Read(context.Background(), func(tx store.Tx) error {
			out, err = tx.ListAudit(core.AuditQuery{Action: "machines.create"})
			return err
		})
		return out, err
	}()
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Target != m.ID || entries[0].Status != 200 || entries[0].UserID != e.Alice.ID {
		t.Fatalf("machines.create entries after the disk filled: %+v, want one for %s by %s", entries, m.ID, e.Alice.ID)
	}
	// A call that commits nothing is recorded after it (here that write fails too, and is
	// logged): the full disk refuses the next create without losing the first one's entry.
	e.call(t, e.Alice.Key, "POST", "/machines/createSingleMachinePublic", createBody("machineName", "refused")).must(t, 500)
}
