package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testServer is a hangar serve running in-process on a loopback port.
type testServer struct {
	URL  string
	Key  string // the operator key
	Data string
	srv  *server
	out  *syncBuffer
	// client, if set, sends the requests (a server with its own TLS certificate).
	client *http.Client
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs `hangar serve` in-process with fast sim timings and the given extra
// flags, on 127.0.0.1:0 in a temporary data directory. It stops when the test ends.
func startServer(t testing.TB, extra ...string) *testServer {
	t.Helper()
	data := t.TempDir()
	return startServerIn(t, data, extra...)
}

func startServerIn(t testing.TB, data string, extra ...string) *testServer {
	t.Helper()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data", data, "--sync", "normal",
		"--sim-time-scale", "0.01", "--sim-serviceready-min", "50ms", "--log-level", "warn"}, extra...)
	ctx, cancel := context.WithCancel(context.Background())
	srv, out, err := startArgs(t, ctx, args...)
	if err != nil {
		cancel()
		t.Fatalf("start: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		cancel()
		if err := srv.wait(); err != nil {
			t.Errorf("server stopped with %v", err)
		}
	})
	key, err := os.ReadFile(filepath.Join(data, "operator.key"))
	if err != nil {
		t.Fatal(err)
	}
	return &testServer{URL: "http://" + srv.addr, Key: strings.TrimSpace(string(key)), Data: data, srv: srv, out: out}
}

// startArgs parses args as hangar's command line (a serve) and starts the server under ctx. It
// returns the start's error and what the server printed.
func startArgs(t testing.TB, ctx context.Context, args ...string) (*server, *syncBuffer, error) {
	t.Helper()
	var r root
	out := &syncBuffer{}
	parser, err := newParser(&r, out, out, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parser.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	srv, err := r.Serve.start(ctx, out, out)
	return srv, out, err
}

// do sends a request with the given key and JSON body (nil: none) and decodes a JSON
// response into out (nil: ignore). It returns the status.
func (ts *testServer) do(t testing.TB, key, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c := http.DefaultClient
	if ts.client != nil {
		c = ts.client
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, b, err)
		}
	}
	return res.StatusCode
}

// waitState polls a machine until it reaches state or the deadline passes.
func (ts *testServer) waitState(t testing.TB, key, id, state string, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	var m map[string]any
	for time.Now().Before(deadline) {
		m = nil
		if ts.do(t, key, "GET", "/machines/getMachinePublic?machineId="+id, nil, &m) == 200 && m["state"] == state {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("machine %s did not reach %s within %v; last %v", id, state, within, m["state"])
	return nil
}

func TestServeBootstrapsOnce(t *testing.T) {
	data := t.TempDir()
	ts := startServerIn(t, data)
	info, err := os.Stat(filepath.Join(data, "operator.key"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("operator.key mode %v, want 0600", info.Mode().Perm())
	}
	if !strings.Contains(ts.out.String(), ts.Key) {
		t.Fatal("the operator key was not printed on first start")
	}
	var teams []map[string]any
	if st := ts.do(t, ts.Key, "GET", "/hangar/v1/teams", nil, &teams); st != 200 || len(teams) != 1 {
		t.Fatalf("teams: %d %v", st, teams)
	}
}

// TestServePortInUse: a port already in use fails the start with an error naming --listen,
// before anything is written: no data directory, no database, no operator account or key.
func TestServePortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	data := filepath.Join(t.TempDir(), "data")
	srv, out, err := startArgs(t, t.Context(), "serve", "--listen", addr, "--data", data)
	if err == nil {
		srv.stop()
		_ = srv.wait()
		t.Fatal("serve started on a port in use")
	}
	var op *net.OpError
	if !strings.Contains(err.Error(), "--listen "+addr) || !errors.As(err, &op) || op.Op != "listen" {
		t.Fatalf("error %q does not say that --listen %s cannot be bound", err, addr)
	}
	if _, err := os.Stat(data); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the data directory was written (stat: %v)", err)
	}
	if strings.Contains(out.String(), "Created the operator account") {
		t.Fatalf("an operator account was created:\n%s", out)
	}
}

// TestServeFailedStartCloses: a start that fails after binding the port and opening the
// database (a bad --smtp-from) closes what it opened: the port can be bound again, and a
// second serve starts on the same data directory.
func TestServeFailedStartCloses(t *testing.T) {
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := free.Addr().String()
	free.Close()
	data := t.TempDir()
	srv, _, err := startArgs(t, t.Context(), "serve", "--listen", addr, "--data", data, "--smtp-from", "not an address")
	if err == nil {
		srv.stop()
		_ = srv.wait()
		t.Fatal("a bad --smtp-from was accepted")
	}
	if !strings.Contains(err.Error(), "--smtp-from") {
		t.Fatalf("error %v does not name --smtp-from", err)
	}
	if _, err := os.Stat(filepath.Join(data, "hangar.db")); err != nil {
		t.Fatalf("the database was not opened before the failure: %v", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the failed start kept the port: %v", err)
	}
	ln.Close()
	ts := startServerIn(t, data)
	if st := ts.do(t, ts.Key, "GET", "/hangar/v1/teams", nil, nil); st != 200 {
		t.Fatalf("teams after the failed start: %d", st)
	}
}

// TestCleanupReverse: the cleanup stack runs its closers last pushed first, once, and joins
// their errors.
func TestCleanupReverse(t *testing.T) {
	var order []int
	var c cleanup
	boom := errors.New("boom")
	for i := range 3 {
		c.push(func() error {
			order = append(order, i)
			if i == 1 {
				return boom
			}
			return nil
		})
	}
	if err := c.run(); !errors.Is(err, boom) {
		t.Fatalf("run: %v, want boom", err)
	}
	if err := c.run(); err != nil || len(order) != 3 || order[0] != 2 || order[1] != 1 || order[2] != 0 {
		t.Fatalf("order %v, second run %v; want [2 1 0] and nothing", order, err)
	}
}

// TestRootMuxPaths: the root mux sends each API path, canonical or not, to the API that owns
// it, never to a redirect (Paperspace clients build URLs with double slashes), and the
// console and the metrics to theirs.
func TestRootMuxPaths(t *testing.T) {
	ts := startServer(t)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		path string
		want int
		body string
	}{
		{"/machines/getMachines", 200, "["},
		{"//machines//getMachines/", 200, "["},
		{"/machines/./getMachines", 200, "["},
		{"/x/../machines/getMachines", 200, "["},
		{"/hangar/v1/teams", 200, `"name"`},
		{"//hangar/v1//teams", 200, `"name"`},
		{"/hangar/v1/nope", 404, `"status":404`},
		{"//nope", 404, `"status":404`},
		{"/metrics", 200, "hangar_"},
		{"/console/", 303, "/console/"},
	} {
		req, err := http.NewRequest("GET", ts.URL+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = "//" + req.URL.Host + tc.path // the path sent exactly as written
		req.Header.Set("x-api-key", ts.Key)
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.want || !strings.Contains(string(b), tc.body) {
			t.Errorf("GET %s: %d %.120s; want %d with %q", tc.path, res.StatusCode, b, tc.want, tc.body)
		}
	}
}
