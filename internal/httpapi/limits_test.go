package httpapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"hangar/internal/reqid"
)

// syncBuf is a log sink the server writes from many goroutines.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// records returns the JSON log records written so far.
func (s *syncBuf) records(tb testing.TB) []map[string]any {
	tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(s.b.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			tb.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// jsonLogger logs everything as JSON into buf, with request ids, as hangar serve does.
func jsonLogger(buf *syncBuf) *slog.Logger {
	return slog.New(reqid.NewHandler(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

// mustLimited checks a 429: the Paperspace error body and a Retry-After of want seconds.
func mustLimited(tb testing.TB, r response, want string) {
	tb.Helper()
	r.must(tb, http.StatusTooManyRequests)
	if got := r.header.Get("Retry-After"); got != want {
		tb.Fatalf("Retry-After %q, want %q", got, want)
	}
}

// TestKeyRateLimit: one key gets its burst, then 429 with Retry-After until the fake clock
// refills its bucket; other keys and login tokens have their own buckets.
func TestKeyRateLimit(t *testing.T) {
	e := newEnvWith(t, nil, func(c *Config) { c.Limits = Limits{KeyRate: 0.5, KeyBurst: 3} })
	for i := range 3 {
		e.call(t, e.Alice.Key, "GET", "/machines/getMachines", nil).must(t, 200)
		_ = i
	}
	mustLimited(t, e.call(t, e.Alice.Key, "GET", "/machines/getMachines", nil), "2")
	mustLimited(t, e.call(t, e.Alice.Key, "POST", "/machines/createSingleMachinePublic", createBody()), "2")
	e.call(t, e.Bob.Key, "GET", "/machines/getMachines", nil).must(t, 200)
	e.call(t, e.Operator.Key, "GET", "/hangar/v1/teams", nil).must(t, 200)
	// A login token is a credential of its own.
	tok := e.call(t, "", "POST", "/users/login", map[string]any{"email": e.Alice.Email, "password": e.Alice.Password}).
		must(t, 200).obj(t)["id"].(string)
	e.call(t, "", "GET", "/machines/getMachines?access_token="+tok, nil).must(t, 200)
	// Bad keys are refused by authentication (401), not counted against anyone.
	e.call(t, "nope", "GET", "/machines/getMachines", nil).must(t, 401)
	e.Clock.add(1999 * time.Millisecond)
	mustLimited(t, e.call(t, e.Alice.Key, "GET", "/machines/getMachines", nil), "1")
	e.Clock.add(time.Millisecond)
	e.call(t, e.Alice.Key, "GET", "/machines/getMachines", nil).must(t, 200)
	mustLimited(t, e.call(t, e.Alice.Key, "GET", "/machines/getMachines", nil), "2")
}

// serveFrom sends a request through the handler as if from addr.
func (e *env) serveFrom(addr string, rq request) *httptest.ResponseRecorder {
	r := httptest.NewRequest(rq.method, rq.path, nil)
	if rq.body != nil {
		b, _ := json.Marshal(rq.body)
		r = httptest.NewRequest(rq.method, rq.path, bytes.NewReader(b))
		r.Header.Set("Content-Type", "application/json")
	}
	r.RemoteAddr = addr
	if rq.key != "" {
		r.Header.Set("x-api-key", rq.key)
	}
	rec := httptest.NewRecorder()
	e.Handler.ServeHTTP(rec, r)
	return rec
}

// TestAddressRateLimit: every request from one address counts, authenticated or not; an
// IPv6 client's whole /64 is one address.
func TestAddressRateLimit(t *testing.T) {
	e := newEnvWith(t, nil, func(c *Config) { c.Limits = Limits{AddressRate: 1, AddressBurst: 4} })
	from := func(addr, key string, want int) {
		t.Helper()
		rec := e.serveFrom(addr, request{method: "GET", path: "/machines/getMachines", key: key})
		checkTransport(t, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes())
		if rec.Code != want {
			t.Fatalf("%s: status %d, want %d: %s", addr, rec.Code, want, rec.Body)
		}
		if want == 429 && rec.Header().Get("Retry-After") != "1" {
			t.Fatalf("Retry-After %q", rec.Header().Get("Retry-After"))
		}
	}
	from("192.0.2.1:1000", "", 401)
	from("192.0.2.1:1001", "nope", 401)
	from("192.0.2.1:1002", e.Alice.Key, 200)
	from("192.0.2.1:1003", e.Bob.Key, 200)
	from("192.0.2.1:1004", e.Alice.Key, 429)
	from("192.0.2.1:1005", "", 429)
	from("192.0.2.2:1000", e.Alice.Key, 200)
	for i := range 4 {
		_ = i
		from("[2001:db8:1:2::5]:80", e.Alice.Key, 200)
	}
	from("[2001:db8:1:2:ffff::9]:80", e.Alice.Key, 429) // same /64
	from("[2001:db8:1:3::5]:80", e.Alice.Key, 200)      // another /64
	e.Clock.add(time.Second)
	from("192.0.2.1:1006", e.Alice.Key, 200)
}

// TestLoginThrottle: repeated logins for one email are refused with 429 and Retry-After,
// whether or not the email exists, with the same answers; the limit per address holds across
// emails; once the fake clock has refilled the bucket the right password works again.
func TestLoginThrottle(t *testing.T) {
	e := newEnvWith(t, nil, func(c *Config) { c.Limits = Limits{LoginPerEmail: 3, LoginPerAddress: 6} })
	login := func(addr, email, password string) *httptest.ResponseRecorder {
		rec := e.serveFrom(addr, request{method: "POST", path: "/users/login", body: map[string]any{"email": email, "password": password}})
		checkTransport(t, rec.Code, rec.Header().Get("Content-Type"), rec.Body.Bytes())
		return rec
	}
	answers := func(addr, email string) []string {
		var out []string
		for range 3 {
			rec := login(addr, email, "wrong password")
			out = append(out, rec.Header().Get("Retry-After")+" "+rec.Body.String())
			if rec.Code != 401 {
				t.Fatalf("attempt within the limit: %d %s", rec.Code, rec.Body)
			}
		}
		rec := login(addr, email, "wrong password")
		if rec.Code != 429 || rec.Header().Get("Retry-After") != "20" {
			t.Fatalf("4th attempt for %s: %d Retry-After %q: %s", email, rec.Code, rec.Header().Get("Retry-After"), rec.Body)
		}
		return append(out, rec.Header().Get("Retry-After")+" "+strings.ReplaceAll(rec.Body.String(), email, "<email>"))
	}
	existing := answers("192.0.2.10:1", e.Alice.Email)
	missing := answers("192.0.2.11:1", "nobody@acme.test")
	if strings.Join(existing, "\n") != strings.Join(missing, "\n") {
		t.Fatalf("an existing email is throttled differently from a missing one:\n%v\n%v", existing, missing)
	}
	// Throttled means throttled: the right password from another address waits too.
	if rec := login("192.0.2.12:1", e.Alice.Email, e.Alice.Password); rec.Code != 429 {
		t.Fatalf("right password while throttled: %d %s", rec.Code, rec.Body)
	}
	// Per address: six attempts on six emails, then 429 for a seventh email.
	for i := range 6 {
		if rec := login("192.0.2.20:1", "user"+string(rune('a'+i))+"@x.test", "pw"); rec.Code != 401 {
			t.Fatalf("attempt %d from one address: %d", i, rec.Code)
		}
	}
	if rec := login("192.0.2.20:1", "other@x.test", "pw"); rec.Code != 429 || rec.Header().Get("Retry-After") != "10" {
		t.Fatalf("7th attempt from one address: %d %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	e.Clock.add(20 * time.Second)
	if rec := login("192.0.2.13:1", e.Alice.Email, e.Alice.Password); rec.Code != 200 {
		t.Fatalf("after the wait: %d %s", rec.Code, rec.Body)
	}
}

// TestListLimitCapped: a list never returns more than MaxListLimit rows, whatever limit asks.
func TestListLimitCapped(t *testing.T) {
	e := newEnvWith(t, nil, func(c *Config) { c.MaxListLimit = 2 })
	for range 3 {
		e.createMachine(t, e.Alice.Key)
	}
	for _, path := range []string{"/machines/getMachines?limit=1000", "/machines/getMachines", "/templates/getTemplates?limit=50",
		"/users/getUsers?limit=9"} {
		if n := len(e.call(t, e.Alice.Key, "GET", path, nil).must(t, 200).arr(t)); n != 2 {
			t.Errorf("%s: %d rows, cap is 2", path, n)
		}
	}
	if n := len(e.call(t, e.Alice.Key, "GET", "/machines/getMachines?limit=1", nil).must(t, 200).arr(t)); n != 1 {
		t.Errorf("limit=1: %d rows", n)
	}
}

// TestRequestID: every response carries X-Request-Id — a sane id sent by the client is echoed,
// anything else is replaced by a fresh one — and every log line of the request names it.
func TestRequestID(t *testing.T) {
	logs := &syncBuf{}
	e := newEnvWith(t, nil, func(c *Config) { c.Logger = jsonLogger(logs) })
	seen := map[string]bool{}
	for _, rq := range []request{
		{method: "GET", path: "/machines/getMachines", key: e.Alice.Key},
		{method: "GET", path: "/machines/getMachines"},
		{method: "GET", path: "/no/such/route", key: e.Alice.Key},
		{method: "DELETE", path: "/machines/getMachines", key: e.Alice.Key},
		{method: "POST", path: "/users/login", body: map[string]any{"email": "x@y.z", "password": "nope"}},
	} {
		r := e.do(t, rq)
		id := r.header.Get("X-Request-Id")
		if len(id) != 32 || !reqid.Valid(id) || seen[id] {
			t.Fatalf("%s %s: X-Request-Id %q (want a fresh 32-character id)", rq.method, rq.path, id)
		}
		seen[id] = true
	}
	for sent, echoed := range map[string]bool{
		"client-req-1":           true,
		"abc:DEF/123+x=_.-":      true,
		strings.Repeat("a", 128): true,
		strings.Repeat("a", 129): false,
		"has space":              false,
		"quote\"d":               false,
		"new\\nline level=ERROR": false,
		"ünïcode":                false,
	} {
		r := e.do(t, request{method: "GET", path: "/machines/getMachines", key: e.Alice.Key, header: map[string]string{"X-Request-Id": sent}})
		got := r.header.Get("X-Request-Id")
		if echoed && got != sent || !echoed && (got == sent || len(got) != 32) {
			t.Errorf("sent %q, got %q (echo %v)", sent, got, echoed)
		}
	}
	// The access log line (debug) of a request names its id, method, path and status.
	e.do(t, request{method: "GET", path: "/scripts/getScript?scriptId=scnope", key: e.Alice.Key, header: map[string]string{"X-Request-Id": "trace-me-1"}}).must(t, 404)
	var found bool
	for _, rec := range logs.records(t) {
		if rec[reqid.Attr] == "trace-me-1" {
			found = true
			if rec["msg"] != "request" || rec["path"] != "/scripts/getScript" || rec["status"] != 404.0 {
				t.Errorf("log record %v", rec)
			}
		}
		if rec["msg"] == "request" && rec[reqid.Attr] == nil {
			t.Errorf("request log without a request id: %v", rec)
		}
	}
	if !found {
		t.Fatal("no log line names the request id")
	}
}

// TestPanicRecovered: a handler that panics (mounted for this test; no API route panics on
// purpose) answers 500 with the Paperspace body and its request id, logs the panic with the
// request id and the stack, and the server keeps serving. A panic after the answer began
// cuts the connection instead of appending an error to a half-written body.
func TestPanicRecovered(t *testing.T) {
	logs := &syncBuf{}
	e := newEnvWith(t, nil, func(c *Config) {
		c.Logger = jsonLogger(logs)
		c.Mount = map[string]http.Handler{
			"/test/panic": http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panicForTest("boom") }),
			"/test/panic-late": http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.WriteHeader(200)
				_, _ = w.Write([]byte(`{"partial":`))
				w.(http.Flusher).Flush()
				panicForTest("late boom")
			}),
		}
	})
	r := e.do(t, request{method: "POST", path: "/test/panic", header: map[string]string{"X-Request-Id": "panic-req-7"}}).must(t, 500)
	if r.header.Get("X-Request-Id") != "panic-req-7" {
		t.Fatalf("X-Request-Id %q", r.header.Get("X-Request-Id"))
	}
	if msg := r.errMessage(t); strings.Contains(msg, "boom") {
		t.Fatalf("the panic value reached the client: %q", msg)
	}
	var logged bool
	for _, rec := range logs.records(t) {
		if rec["msg"] == "panic serving request" && rec[reqid.Attr] == "panic-req-7" {
			logged = true
			if rec["panic"] != "boom" || !strings.Contains(rec["stack"].(string), "panicForTest") {
				t.Fatalf("panic log %v", rec)
			}
		}
	}
	if !logged {
		t.Fatal("the panic was not logged with its request id")
	}
	res, err := http.Get(e.URL + "/test/panic-late")
	if err == nil {
		b, rerr := io.ReadAll(res.Body)
		res.Body.Close()
		if rerr == nil {
			t.Fatalf("late panic: the client got a complete response %d %q", res.StatusCode, b)
		}
	}
	late := false
	for _, rec := range logs.records(t) {
		late = late || rec["msg"] == "panic serving request" && rec["panic"] == "late boom" && rec[reqid.Attr] != nil
	}
	if !late {
		t.Fatal("the late panic was not logged with a request id")
	}
	e.call(t, e.Alice.Key, "GET", "/machines/getMachines", nil).must(t, 200)
}

//go:noinline
func panicForTest(v string) { panic(v) }
