package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
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
	var r root
	out := &syncBuffer{}
	parser, err := newParser(&r, out, out, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parser.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := r.Serve.start(ctx, out, out)
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
	res, err := http.DefaultClient.Do(req)
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
