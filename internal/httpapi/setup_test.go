// The tests of this package run the whole Hangar stack in-process: SQLite in a temporary
// file, the sim driver, the service, the engine in the background and this HTTP API on a
// loopback httptest server, with a fake clock that moves only when a test advances it.
//
//	go test ./internal/httpapi                 # every test, plus the fuzz seeds
//	go test ./internal/httpapi -run TestGolden -update   # rewrite testdata/golden/*.json
//	go test ./internal/httpapi -run '^$' -fuzz FuzzDecode -fuzztime 60s   # or FuzzParams
//	FUZZ_LOG=1 go test ./internal/httpapi -run FuzzDecode -v   # log what each seed got
//
// Files: setup_test.go (this harness), golden_util_test.go (normaliser, golden files),
// golden_test.go (every route, success and error), transport_test.go (how each client sends
// parameters), create_test.go (§2.2 rules, atomic create-with-user, Idempotency-Key),
// transitions_test.go (§3.2), tenancy_test.go (teams, members, operator), lists_test.go
// (list filters, scripts, body limits), update_test.go (§2.10/§2.11), fuzz_test.go (FuzzDecode:
// raw requests; FuzzParams: every route's parameters), authz_test.go (the authorization
// matrix, token expiry), limits_test.go (rate limits, login throttling, request ids, panics).

package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hangar/api"
	"hangar/internal/core"
	"hangar/internal/engine"
	"hangar/internal/hypervisor"
	"hangar/internal/hypervisor/sim"
	"hangar/internal/lifecycle"
	"hangar/internal/service"
	"hangar/internal/store"
	"hangar/internal/store/sqlite"
	"hangar/internal/waittest"
)

// fakeClock is a core.Clock that only moves when a test advances it.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// epoch is the fake clock's start: every timestamp a test server writes is derived from it.
var epoch = time.Date(2024, 3, 14, 15, 9, 51, 974_000_000, time.UTC)

// phase is the simulated duration of every transitional state, in fake time. Because the
// clock only moves when a test advances it, each state can be observed for as long as a test
// wants, and advancing the clock by exactly phase moves a machine exactly one state on.
const phase = 10 * time.Second

// principal is a fixture user with an API key.
type principal struct {
	ID, Email, Password, Key, KeyID string
}

// env is the real Hangar stack (SQLite in a temporary file, the sim driver, the service, the
// engine running in the background and the HTTP API) served on a loopback httptest server.
type env struct {
	URL     string
	Handler http.Handler
	API     *Server
	Clock   *fakeClock
	Svc     *service.Service
	Eng     *engine.Engine
	Drv     *sim.Driver
	db      *sqlite.DB

	Operator, Alice, Bob, Carol principal // Alice admins team A, Bob is a member of A, Carol owns B
	OpTeam, TeamA, TeamB        string
	NetA, NetA2, NetB           string // NetA in NY2, NetA2 in AMS1 (both team A), NetB team B
	TmplA                       string // team A's Linux template, NY2 only
	TmplB                       string // team B's template

	mu     sync.Mutex
	names  map[string]string // value -> placeholder, for the golden normaliser
	owners map[string]string // machine id -> the key that created it
}

// Public template ids seeded from the catalog (spec §4.4).
const (
	linuxTmpl   = "t04azgph" // Ubuntu 18.04 Server
	windowsTmpl = "tnr2oh1m" // Windows 10 (Server 2022) - Licensed
	desktopTmpl = "tz0ireoj" // Ubuntu 20.04 Desktop
)

// newEnv builds a fresh stack with two teams and the default catalog. It stops when tb ends.
func newEnv(tb testing.TB) *env {
	tb.Helper()
	return newEnvCatalog(tb, core.DefaultCatalog())
}

// newEnvCatalog is newEnv with the given catalog (rates an operator configured).
func newEnvCatalog(tb testing.TB, cat *core.Catalog) *env {
	tb.Helper()
	return newEnvWith(tb, cat, nil)
}

// newEnvWith is newEnv with a catalog (nil: the default) and the server's Config adjusted by
// configure (limits, mounted handlers, a logger); the rate limits run on the fake clock.
func newEnvWith(tb testing.TB, cat *core.Catalog, configure func(*Config)) *env {
	return newEnvStore(tb, cat, configure, nil)
}

// newEnvStore is newEnvWith whose service (not its engine) uses wrap(db) as its store, when
// wrap is not nil: a store that fails on demand, for instance.
func newEnvStore(tb testing.TB, cat *core.Catalog, configure func(*Config), wrap func(store.Store) store.Store) *env {
	if cat == nil {
		cat = core.DefaultCatalog()
	}
	tb.Helper()
	ctx := context.Background()
	clock := &fakeClock{now: epoch}
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "hangar.db"), sqlite.Options{Synchronous: "NORMAL", Clock: clock})
	if err != nil {
		tb.Fatal(err)
	}
	drv := sim.New(sim.Timings{Provisioning: phase, Starting: phase, ServiceReady: phase, Stopping: phase, Restarting: phase}, cat)
	lenv := &lifecycle.Env{Clock: clock, PublicPool: netip.MustParsePrefix("198.18.0.0/15"),
		DefaultNet: netip.MustParsePrefix("10.128.0.0/12"), Expect: drv.Expect}
	eng, err := engine.New(engine.Config{Store: db, Drivers: hypervisor.Single{Driver: drv}, Env: lenv, Workers: 4,
		ResetLeases: true, PollInterval: 25 * time.Millisecond})
	if err != nil {
		db.Close()
		tb.Fatal(err)
	}
	var svcStore store.Store = db
	if wrap != nil {
		svcStore = wrap(db)
	}
	svc := service.New(svcStore, service.Config{Catalog: cat, Env: lenv, TokenTTL: 14 * 24 * time.Hour, DefaultShutdownHours: 168,
		Engine: eng})
	secret, err := svc.Bootstrap(ctx, true)
	if err != nil {
		db.Close()
		tb.Fatal(err)
	}
	cfg := Config{Service: svc, Faults: simFaults{drv}, Driver: drv.Name(), Clock: clock}
	if configure != nil {
		configure(&cfg)
	}
	api := New(cfg)
	srv := httptest.NewServer(api)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- eng.Run(runCtx) }()
	tb.Cleanup(func() {
		srv.Close()
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("engine: %v", err)
		}
		eng.Wait()
		if err := db.Close(); err != nil {
			tb.Errorf("close db: %v", err)
		}
	})
	e := &env{URL: srv.URL, Handler: api, API: api, Clock: clock, Svc: svc, Eng: eng, Drv: drv, db: db, names: map[string]string{}, owners: map[string]string{}}
	e.fixtures(tb, secret)
	e.Clock.add(time.Minute)
	return e
}

// fixtures creates the teams, users, keys, networks and templates every test uses, through
// the service as the operator.
func (e *env) fixtures(tb testing.TB, opSecret string) {
	tb.Helper()
	ctx := context.Background()
	op, err := e.Svc.Authenticate(ctx, opSecret)
	if err != nil {
		tb.Fatal(err)
	}
	e.Operator = principal{ID: op.User.ID, Email: op.User.Email, Key: opSecret}
	e.OpTeam = op.Team.ID
	e.Clock.add(time.Second)
	teamA, err := e.Svc.CreateTeam(ctx, op, "Acme", false)
	if err != nil {
		tb.Fatal(err)
	}
	e.Clock.add(time.Second)
	teamB, err := e.Svc.CreateTeam(ctx, op, "Globex", true)
	if err != nil {
		tb.Fatal(err)
	}
	e.TeamA, e.TeamB = teamA.ID, teamB.ID
	// Every fixture gets its own creation second, so that lists ordered by dtCreated (then by
	// random id) come out in the same order on every run.
	tick := func() { e.Clock.add(time.Second) }
	mk := func(team, email, first, last string, admin bool) principal {
		tick()
		pw := "pw-" + first + "-secret"
		u, err := e.Svc.CreateUser(ctx, op, service.NewUser{Team: team, Email: email, Password: pw,
			FirstName: first, LastName: last, Admin: admin})
		if err != nil {
			tb.Fatal(err)
		}
		tick()
		k, err := e.Svc.CreateKey(ctx, op, u.ID, "default")
		if err != nil {
			tb.Fatal(err)
		}
		return principal{ID: u.ID, Email: email, Password: pw, Key: k.Secret, KeyID: k.Key.ID}
	}
	e.Alice = mk(teamA.ID, "alice@acme.test", "Alice", "Admin", true)
	e.Bob = mk(teamA.ID, "bob@acme.test", "Bob", "Member", false)
	e.Carol = mk(teamB.ID, "carol@globex.test", "Carol", "Owner", false) // individual: made admin
	net := func(team, name, region, cidr string) string {
		tick()
		n, err := e.Svc.CreateNetwork(ctx, op, service.NewNetwork{Team: team, Name: name, Region: region, CIDR: cidr})
		if err != nil {
			tb.Fatal(err)
		}
		return n.ID
	}
	e.NetA = net(teamA.ID, "Acme Net", "East Coast (NY2)", "10.64.21.0/24")
	e.NetA2 = net(teamA.ID, "Acme Europe", "Europe (AMS1)", "10.64.22.0/24")
	e.NetB = net(teamB.ID, "Globex Net", "East Coast (NY2)", "10.64.30.0/24")
	tmpl := func(team, name string) string {
		tick()
		t, err := e.Svc.CreateTemplate(ctx, op, service.NewTemplate{Name: name, Label: "Custom " + name,
			OS:     "Ubuntu 18.04.1 LTS; uname: 4.15.0-38-generic; distro: ubuntu; major: 18; minor: 04",
			Region: "East Coast (NY2)", Team: team})
		if err != nil {
			tb.Fatal(err)
		}
		return t.ID
	}
	e.TmplA = tmpl(teamA.ID, "acme-base")
	e.TmplB = tmpl(teamB.ID, "globex-base")
	for v, n := range map[string]string{
		e.OpTeam: "<operator-team-id>", e.TeamA: "<teamA-id>", e.TeamB: "<teamB-id>",
		e.Operator.ID: "<operator-id>", e.Alice.ID: "<alice-id>", e.Bob.ID: "<bob-id>", e.Carol.ID: "<carol-id>",
		e.Operator.Key: "<operator-key>", e.Alice.Key: "<alice-key>", e.Bob.Key: "<bob-key>", e.Carol.Key: "<carol-key>",
		e.Alice.KeyID: "<alice-key-id>", e.Bob.KeyID: "<bob-key-id>", e.Carol.KeyID: "<carol-key-id>",
		e.NetA: "<netA-id>", e.NetA2: "<netA2-id>", e.NetB: "<netB-id>", e.TmplA: "<tmplA-id>", e.TmplB: "<tmplB-id>",
	} {
		e.learn(v, n)
	}
	hosts, err := e.Svc.ListHosts(ctx, op, "")
	if err != nil {
		tb.Fatal(err)
	}
	for _, h := range hosts {
		e.learn(h.ID, "<host-id:"+h.Name+">")
	}
	keys, err := e.Svc.ListKeys(ctx, op, op.User.ID)
	if err != nil {
		tb.Fatal(err)
	}
	for _, k := range keys {
		e.learn(k.ID, "<operator-key-id>")
	}
}

// learn makes the normaliser replace value with placeholder wherever it appears.
func (e *env) learn(value, placeholder string) {
	if value == "" {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.names[value] = placeholder
}

// advance moves the fake clock and wakes the engine.
func (e *env) advance(d time.Duration) {
	e.Clock.add(d)
	e.Eng.Wake()
}

// simFaults adapts the sim driver to the operator API's fault injection, as `hangar serve`
// does (cmd/hangar/serve.go).
type simFaults struct{ d *sim.Driver }

func (f simFaults) InjectFault(action string, count int, message string) (api.Fault, error) {
	got, err := f.d.Arm(sim.Fault{Action: action, Remaining: count, Message: message})
	return api.Fault(got), err // the same fields; zero on error
}

func (f simFaults) Faults() []api.Fault {
	out := []api.Fault{}
	for _, x := range f.d.Faults() {
		out = append(out, api.Fault(x))
	}
	return out
}

// request describes one HTTP call.
type request struct {
	method, path string
	key          string            // x-api-key; "" sends none
	body         any               // nil: no body; string or []byte: raw; otherwise JSON
	ctype        string            // default application/json when there is a body
	header       map[string]string // extra headers, names sent as written
}

// response is what came back.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) String() string { return fmt.Sprintf("%d %s", r.status, r.body) }

// json decodes the body into v (numbers as json.Number).
func (r response) json(tb testing.TB, v any) {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		tb.Fatalf("decode %q: %v", r.body, err)
	}
}

// obj decodes a JSON object body.
func (r response) obj(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	r.json(tb, &m)
	return m
}

// arr decodes a JSON array body.
func (r response) arr(tb testing.TB) []map[string]any {
	tb.Helper()
	var a []map[string]any
	r.json(tb, &a)
	if a == nil {
		tb.Fatalf("body %q is not a JSON array", r.body)
	}
	return a
}

func (rq request) build(tb testing.TB, base string) *http.Request {
	tb.Helper()
	var rd io.Reader
	ctype := rq.ctype
	switch b := rq.body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	if rd != nil && ctype == "" {
		ctype = "application/json"
	}
	req, err := http.NewRequest(rq.method, base+rq.path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if rq.key != "" {
		req.Header.Set("x-api-key", rq.key)
	}
	for k, v := range rq.header {
		req.Header[k] = []string{v} // as written: casing variants reach the wire
	}
	return req
}

// client never follows redirects: the API must not answer with one (spec §1.1), and a
// followed 301 would turn a POST into a GET.
var client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// do sends rq to the test server over loopback.
func (e *env) do(tb testing.TB, rq request) response {
	tb.Helper()
	res, err := client.Do(rq.build(tb, e.URL))
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// call is do for the common case: a key, a method, a path and an optional JSON body.
func (e *env) call(tb testing.TB, key, method, path string, body any) response {
	tb.Helper()
	return e.do(tb, request{method: method, path: path, key: key, body: body})
}

// must fails the test unless the response has the given status, and checks the transport
// contract of every response (spec §1.4, §1.6).
func (r response) must(tb testing.TB, status int) response {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	checkTransport(tb, r.status, r.header.Get("Content-Type"), r.body)
	return r
}

// checkTransport asserts the rules every response follows: 204 has an empty body; everything
// else is JSON with the charset content type; errors have the Paperspace shape with
// error.status equal to the HTTP status.
func checkTransport(tb testing.TB, status int, ctype string, body []byte) {
	tb.Helper()
	if status == http.StatusNoContent {
		if len(body) != 0 {
			tb.Fatalf("204 with body %q", body)
		}
		return
	}
	if ctype != "application/json; charset=utf-8" {
		tb.Fatalf("Content-Type %q, want application/json; charset=utf-8 (status %d, body %q)", ctype, status, body)
	}
	if !json.Valid(body) {
		tb.Fatalf("status %d: body is not JSON: %q", status, body)
	}
	if status >= 400 {
		checkErrorShape(tb, status, body)
	}
}

// checkErrorShape asserts {"error":{"name":"Error","message":"…","status":N}} with N == status
// and nothing else at the top level.
func checkErrorShape(tb testing.TB, status int, body []byte) {
	tb.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || len(top) != 1 || top["error"] == nil {
		tb.Fatalf("error body %q is not {\"error\":{…}}", body)
	}
	var detail map[string]any
	dec := json.NewDecoder(bytes.NewReader(top["error"]))
	dec.UseNumber()
	if err := dec.Decode(&detail); err != nil || len(detail) != 3 {
		tb.Fatalf("error body %q: error must have exactly name, message, status", body)
	}
	if detail["name"] != "Error" {
		tb.Fatalf("error body %q: name must be \"Error\"", body)
	}
	if msg, ok := detail["message"].(string); !ok || msg == "" {
		tb.Fatalf("error body %q: message must be a non-empty string", body)
	}
	if n, ok := detail["status"].(json.Number); !ok || n.String() != fmt.Sprint(status) {
		tb.Fatalf("error body %q: error.status must be the integer %d", body, status)
	}
}

// errMessage returns error.message of an error response.
func (r response) errMessage(tb testing.TB) string {
	tb.Helper()
	var b struct {
		Error struct{ Message string }
	}
	r.json(tb, &b)
	return b.Error.Message
}

// createBody is a valid create request of a C1 machine on the public Linux template.
func createBody(extra ...any) map[string]any {
	b := map[string]any{"region": "East Coast (NY2)", "machineType": "C1", "size": 50, "billingType": "hourly",
		"machineName": "box", "templateId": linuxTmpl}
	for i := 0; i+1 < len(extra); i += 2 {
		k := extra[i].(string)
		if extra[i+1] == nil {
			delete(b, k)
			continue
		}
		b[k] = extra[i+1]
	}
	return b
}

// omit is a createBody value that removes the key (a JSON null is sent with jsonNull).
var omit any

// jsonNull sends an explicit JSON null in createBody.
type jsonNullT struct{}

func (jsonNullT) MarshalJSON() ([]byte, error) { return []byte("null"), nil }

var jsonNull = jsonNullT{}

// createMachine creates a machine as key and returns its id.
func (e *env) createMachine(tb testing.TB, key string, extra ...any) string {
	tb.Helper()
	m := e.call(tb, key, "POST", "/machines/createSingleMachinePublic", createBody(extra...)).must(tb, 200).obj(tb)
	id, _ := m["id"].(string)
	if id == "" {
		tb.Fatalf("create returned no id: %v", m)
	}
	e.mu.Lock()
	e.owners[id] = key
	e.mu.Unlock()
	return id
}

// machine fetches a machine as key (200 required).
func (e *env) machine(tb testing.TB, key, id string) map[string]any {
	tb.Helper()
	return e.call(tb, key, "GET", "/machines/getMachinePublic?machineId="+id, nil).must(tb, 200).obj(tb)
}

// state returns a machine's state as its creator (default Alice) sees it.
func (e *env) state(tb testing.TB, id string) string {
	tb.Helper()
	s, _ := e.machine(tb, e.keyOf(id), id)["state"].(string)
	return s
}

// keyOf is the key that created machine id (Alice's when unknown).
func (e *env) keyOf(id string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if k := e.owners[id]; k != "" {
		return k
	}
	return e.Alice.Key
}

// waitState waits (in real time) until the engine has moved machine id to state.
func (e *env) waitState(tb testing.TB, id, state string) {
	tb.Helper()
	waittest.Eventually(tb, 10*time.Second, func() error {
		if last := e.state(tb, id); last != state {
			return fmt.Errorf("machine %s: state %s, want %s", id, last, state)
		}
		return nil
	})
}

// settle waits (in real time) until the engine has done everything due at the fake clock's
// time: no machine is due now (a machine being stepped stays due until its step commits).
func (e *env) settle(tb testing.TB) {
	tb.Helper()
	waittest.Eventually(tb, 10*time.Second, func() error {
		var next *time.Time
		err := e.db.Read(context.Background(), func(tx store.Tx) (err error) { next, err = tx.NextDue(); return })
		if err != nil {
			tb.Fatal(err)
		}
		if now := e.Clock.Now(); next != nil && !next.After(now) {
			return fmt.Errorf("the engine has machines due at %v still to do (now %v)", next, now)
		}
		return nil
	})
}

// next advances fake time by one phase and waits until every machine given has moved to want.
func (e *env) next(tb testing.TB, want string, ids ...string) {
	tb.Helper()
	e.advance(phase)
	for _, id := range ids {
		e.waitState(tb, id, want)
	}
}

// driveTo takes machines created together (all provisioning, startOnCreate) to state, one
// phase at a time, checking each state on the way.
func (e *env) driveTo(tb testing.TB, state string, ids ...string) {
	tb.Helper()
	path := []string{"provisioning", "starting", "serviceready", "ready"}
	switch state {
	case "stopping", "off":
		path = append(path, "stopping", "off")
	case "restarting":
		path = append(path, "restarting")
	}
	for i, s := range path {
		switch {
		case i == 0:
			for _, id := range ids {
				if got := e.state(tb, id); got != s {
					tb.Fatalf("machine %s starts in %s, want provisioning", id, got)
				}
			}
		case s == "stopping":
			for _, id := range ids {
				e.call(tb, e.keyOf(id), "POST", "/machines/"+id+"/stop", nil).must(tb, 204)
				e.waitState(tb, id, s)
			}
		case s == "restarting":
			for _, id := range ids {
				e.call(tb, e.keyOf(id), "POST", "/machines/"+id+"/restart", nil).must(tb, 204)
				e.waitState(tb, id, s)
			}
		default:
			e.next(tb, s, ids...)
		}
		if s == state {
			return
		}
	}
	tb.Fatalf("driveTo: unknown state %s", state)
}

// multipartBody builds a multipart/form-data body with a "file" part.
func multipartBody(tb testing.TB, file string) (string, []byte) {
	tb.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, err := w.CreateFormFile("file", "startup.sh")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.WriteString(fw, file); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return w.FormDataContentType(), buf.Bytes()
}
