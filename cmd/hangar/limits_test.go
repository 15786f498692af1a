package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// readUntilClosed reads conn until the server closes it or within passes; it returns what
// was read and whether the server closed the connection.
func readUntilClosed(t *testing.T, conn net.Conn, within time.Duration) (string, bool) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(within))
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		b.Write(buf[:n])
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return b.String(), false
		}
		return b.String(), true // EOF or reset: closed by the server
	}
}

// trickle writes parts to conn one every interval until stop is closed or a write fails.
func trickle(conn net.Conn, interval time.Duration, stop <-chan struct{}, part string) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if _, err := io.WriteString(conn, part); err != nil {
				return
			}
		}
	}
}

func dial(t *testing.T, ts *testServer) net.Conn {
	t.Helper()
	u, err := url.Parse(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestSlowClients: a raw TCP client that trickles its headers, one that trickles its body
// and one that idles on a keep-alive connection are all cut off by the server's timeouts
// (short here; minutes by default), while a normal request on the same server works.
func TestSlowClients(t *testing.T) {
	ts := startServer(t, "--read-header-timeout", "300ms", "--read-timeout", "600ms", "--idle-timeout", "300ms")
	// The trickle would go on for 10 s; the timeouts must end it long before.
	const patience = 5 * time.Second

	t.Run("headers", func(t *testing.T) {
		conn := dial(t, ts)
		stop := make(chan struct{})
		defer close(stop)
		if _, err := io.WriteString(conn, "GET /machines/getMachines HTTP/1.1\r\nHost: hangar\r\nx-api-key: "+ts.Key+"\r\n"); err != nil {
			t.Fatal(err)
		}
		go trickle(conn, 50*time.Millisecond, stop, "X-Slow: a\r\n")
		start := time.Now()
		got, closed := readUntilClosed(t, conn, patience)
		if !closed {
			t.Fatalf("connection still open after %v of trickled headers", patience)
		}
		if strings.HasPrefix(got, "HTTP/1.1 200") {
			t.Fatalf("a request with unfinished headers was answered: %q", got)
		}
		t.Logf("closed after %v", time.Since(start).Round(10*time.Millisecond))
	})
	t.Run("body", func(t *testing.T) {
		conn := dial(t, ts)
		stop := make(chan struct{})
		defer close(stop)
		if _, err := fmt.Fprintf(conn, "POST /scripts/createScript HTTP/1.1\r\nHost: hangar\r\nx-api-key: %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"scriptName\":\"slow\",\"scriptText\":\"", ts.Key); err != nil {
			t.Fatal(err)
		}
		go trickle(conn, 50*time.Millisecond, stop, "x")
		got, closed := readUntilClosed(t, conn, patience)
		if !closed {
			t.Fatalf("connection still open after %v of a trickled body", patience)
		}
		if strings.HasPrefix(got, "HTTP/1.1 2") {
			t.Fatalf("a request with an unfinished body succeeded: %q", got)
		}
	})
	t.Run("idle keep-alive", func(t *testing.T) {
		conn := dial(t, ts)
		if _, err := io.WriteString(conn, "GET /hangar/v1/teams HTTP/1.1\r\nHost: hangar\r\nx-api-key: "+ts.Key+"\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		got, closed := readUntilClosed(t, conn, patience)
		if !strings.HasPrefix(got, "HTTP/1.1 200") {
			t.Fatalf("keep-alive request: %q", got)
		}
		if !closed {
			t.Fatalf("idle connection still open after %v", patience)
		}
	})
	var teams []map[string]any
	if st := ts.do(t, ts.Key, "GET", "/hangar/v1/teams", nil, &teams); st != 200 {
		t.Fatalf("normal request after the slow ones: %d", st)
	}
}

// TestAnnouncedBodyTooLarge: a request whose Content-Length is over the body cap gets its 413
// at once, in the Paperspace shape, without the server waiting (up to --read-timeout, a minute
// by default) for a body the client never sends.
func TestAnnouncedBodyTooLarge(t *testing.T) {
	ts := startServer(t)
	for _, path := range []string{"/machines/createSingleMachinePublic", "/scripts/createScript"} {
		conn := dial(t, ts)
		if _, err := fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: hangar\r\nx-api-key: %s\r\n"+
			"Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{\"a\":", path, ts.Key); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		got, _ := readUntilClosed(t, conn, 10*time.Second)
		if !strings.HasPrefix(got, "HTTP/1.1 413") || !strings.Contains(got, `"status":413`) {
			t.Fatalf("POST %s with Content-Length 10 GB: %q", path, got)
		}
		t.Logf("%s: 413 after %v", path, time.Since(start).Round(time.Millisecond))
	}
}

// TestLimitFlags: negative limits are refused at start, and the limits reach the server over
// real HTTP: the body caps (413, the larger one for createScript), repeated bad logins (429)
// and a burst beyond --key-burst (429 with Retry-After).
func TestLimitFlags(t *testing.T) {
	for _, flag := range []string{"--key-rate", "--max-upload", "--login-per-email", "--address-burst"} {
		if srv, _, err := startArgs(t, t.Context(), "serve", "--data", t.TempDir(), flag+"=-1"); err == nil {
			srv.stop()
			_ = srv.wait()
			t.Fatalf("%s -1 accepted", flag)
		} else if !strings.Contains(err.Error(), flag) {
			t.Fatalf("%s -1: error %v does not name the flag", flag, err)
		}
	}
	t.Setenv("HANGAR_KEY_BURST", "5") // the environment sets limits too
	ts := startServer(t, "--key-rate", "0.1", "--max-body", "2000", "--max-upload", "5000", "--login-per-email", "2")
	send := func(path, ctype string, body string) (int, string) {
		t.Helper()
		res, err := http.Post(ts.URL+path, ctype, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	pad := func(n int) string { return `{"scriptName":"s","scriptText":"` + strings.Repeat("x", n) + `"}` }
	if st, b := send("/machines/createSingleMachinePublic", "application/json", pad(3000)); st != 413 || !strings.Contains(b, `"status":413`) {
		t.Fatalf("3000-byte body with --max-body 2000: %d %s", st, b)
	}
	// createScript has the larger cap: 3000 bytes pass it (and fail authentication), 6000 do not.
	if st, b := send("/scripts/createScript", "application/json", pad(3000)); st != 401 {
		t.Fatalf("3000-byte script with --max-upload 5000: %d %s", st, b)
	}
	if st, b := send("/scripts/createScript", "application/json", pad(6000)); st != 413 {
		t.Fatalf("6000-byte script with --max-upload 5000: %d %s", st, b)
	}
	for i, want := range []int{401, 401, 429} {
		if st, b := send("/users/login", "application/json", `{"email":"nobody@example.com","password":"wrong"}`); st != want {
			t.Fatalf("bad login %d: %d %s, want %d", i+1, st, b, want)
		}
	}
	codes := map[int]int{}
	var last string
	for range 8 {
		req, err := http.NewRequest("GET", ts.URL+"/hangar/v1/teams", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("x-api-key", ts.Key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		codes[res.StatusCode]++
		if res.StatusCode == 429 {
			last = res.Header.Get("Retry-After") + " " + string(b)
		}
	}
	if codes[200] != 5 || codes[429] != 3 {
		t.Fatalf("statuses %v, want 5×200 then 3×429", codes)
	}
	if !strings.HasPrefix(last, "10 {\"error\":{\"name\":\"Error\"") || !strings.Contains(last, `"status":429`) {
		t.Fatalf("429 answer %q", last)
	}
}

// TestServeLogsRequestIDs: hangar serve echoes X-Request-Id and names it in its log lines.
func TestServeLogsRequestIDs(t *testing.T) {
	ts := startServer(t, "--log-level", "debug")
	req, err := http.NewRequest("GET", ts.URL+"/machines/getMachines", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Request-Id", "e2e-trace-1")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 || res.Header.Get("X-Request-Id") != "e2e-trace-1" {
		t.Fatalf("status %d, X-Request-Id %q", res.StatusCode, res.Header.Get("X-Request-Id"))
	}
	var line string
	for l := range strings.SplitSeq(ts.out.String(), "\n") {
		if strings.Contains(l, "request_id=e2e-trace-1") {
			line = l
		}
	}
	if !strings.Contains(line, "path=/machines/getMachines") || !strings.Contains(line, "status=401") {
		t.Fatalf("no request log line with the id; log:\n%s", ts.out.String())
	}
}

// TestServerOwnErrorsArePaperspaceShaped: the answers net/http writes before any handler runs
// (a malformed request, headers over the limit, an unsupported transfer encoding or HTTP
// version) carry the Paperspace error body in JSON, while normal answers are untouched.
func TestServerOwnErrorsArePaperspaceShaped(t *testing.T) {
	ts := startServer(t)
	for _, tc := range []struct {
		name, request string
		status        int
	}{
		{"malformed request line", "NOT A REQUEST\r\n\r\n", 400},
		{"no Host header", "GET /machines/getMachines HTTP/1.1\r\n\r\n", 400},
		{"malformed header", "GET /machines/getMachines HTTP/1.1\r\nHost: hangar\r\nno colon here\r\n\r\n", 400},
		{"headers over the limit", "GET /machines/getMachines HTTP/1.1\r\nHost: hangar\r\nX-Big: " +
			strings.Repeat("a", 1<<21) + "\r\n\r\n", 431},
		{"unsupported transfer encoding", "POST /machines/createSingleMachinePublic HTTP/1.1\r\nHost: hangar\r\n" +
			"Transfer-Encoding: gzip, chunked\r\n\r\n", 501},
		{"unsupported HTTP version", "GET /machines/getMachines HTTP/2.7\r\nHost: hangar\r\n\r\n", 505},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn := dial(t, ts)
			go func() { _, _ = io.WriteString(conn, tc.request) }() // the server may answer before it has read it all
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct {
				Error struct {
					Name, Message string
					Status        int
				}
			}
			raw, _ := io.ReadAll(res.Body)
			if err := json.Unmarshal(raw, &body); err != nil || res.StatusCode != tc.status || body.Error.Status != tc.status ||
				body.Error.Name != "Error" || body.Error.Message == "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("%d %s %q (%v), want %d in the Paperspace shape", res.StatusCode, res.Header.Get("Content-Type"), raw, err, tc.status)
			}
		})
	}
	var teams []map[string]any
	if st := ts.do(t, ts.Key, "GET", "/hangar/v1/teams", nil, &teams); st != 200 {
		t.Fatalf("a normal request: %d", st)
	}
}

// TestLockedDatabaseAnswersBeforeTheWriteTimeout: while another process holds the SQLite
// database's write lock for longer than --write-timeout, a create answers a clear 503 before
// the HTTP write timeout would cut the connection, and it is not applied once the lock is
// released; the audit log records it.
func TestLockedDatabaseAnswersBeforeTheWriteTimeout(t *testing.T) {
	ts := startServer(t, "--write-timeout", "3s")
	key := newTeamAdmin(t, ts)
	db, err := sql.Open("sqlite", filepath.Join(ts.Data, "hangar.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	holder, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	if _, err := holder.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil { // another process's write lock
		t.Fatal(err)
	}
	start := time.Now()
	var out map[string]any
	st := ts.do(t, key, "POST", "/machines/createSingleMachinePublic", createBody("while-locked"), &out)
	took := time.Since(start)
	if st != 503 || out["error"] == nil || took >= 3*time.Second {
		t.Fatalf("create under a held lock: %d %v after %v; want a 503 in the Paperspace shape before the 3 s write timeout", st, out, took)
	}
	t.Logf("503 after %v", took.Round(10*time.Millisecond))
	if _, err := holder.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	// Writes are serialised: once this create has committed, the refused one has been dropped.
	if st := ts.do(t, key, "POST", "/machines/createSingleMachinePublic", createBody("after-lock"), &out); st != 200 {
		t.Fatalf("create after the lock: %d %v", st, out)
	}
	var ms []map[string]any
	if st := ts.do(t, key, "GET", "/machines/getMachines", nil, &ms); st != 200 || len(ms) != 1 || ms[0]["name"] != "after-lock" {
		t.Fatalf("machines after the lock: %d %v; want only after-lock", st, ms)
	}
	// The timed-out call's audit entry is written once the database takes writes again.
	var audit []map[string]any
	timedOut := 0
	for deadline := time.Now().Add(10 * time.Second); timedOut == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ts.do(t, ts.Key, "GET", "/hangar/v1/audit?action=machines.create", nil, &audit)
		for _, e := range audit {
			if e["status"] == float64(503) && e["error"] == "timeout" {
				timedOut++
			}
		}
	}
	if timedOut != 1 {
		t.Errorf("audit: %d timed-out creates recorded, want 1: %v", timedOut, audit)
	}
}
