package loadgen

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func setup(t *testing.T) (addr string, hits *atomic.Int64) {
	t.Helper()
	hits = &atomic.Int64{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write([]byte(`{"ok":true}`))
		case "/big": // chunked: larger than net/http's buffer
			_, _ = w.Write([]byte(strings.Repeat("x", 100<<10)))
		case "/echo":
			_, _ = w.Write(body)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	addr, _, err := ParseURL(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	return addr, hits
}

func TestClosedLoopCountsAndBodies(t *testing.T) {
	addr, hits := setup(t)
	res, err := Run(context.Background(), Config{Addr: addr, Conns: 4, Duration: 5 * time.Second, MaxRequests: 300,
		Requests: []Request{{Path: "/ok"}, {Path: "/big"}, {Path: "/missing"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 300 || hits.Load() != 300 {
		t.Fatalf("requests %d, server saw %d, want 300", res.Requests, hits.Load())
	}
	if res.Non2xx != 100 || res.Status[404] != 100 || res.Status[200] != 200 || res.Errors != 0 {
		t.Fatalf("statuses %v non2xx %d errors %d", res.Status, res.Non2xx, res.Errors)
	}
	if res.P50 <= 0 || res.P99 < res.P50 || res.Max < res.P99 {
		t.Fatalf("percentiles %+v", res)
	}
	if res.BodyBytes < 30<<10 { // a third of the bodies are 100 KiB
		t.Fatalf("mean body %v bytes: chunked bodies were not read", res.BodyBytes)
	}
}

func TestPostBody(t *testing.T) {
	addr, _ := setup(t)
	res, err := Run(context.Background(), Config{Addr: addr, Conns: 2, MaxRequests: 10,
		Requests: []Request{{Method: "POST", Path: "/echo", Body: []byte("0123456789"),
			Header: http.Header{"Content-Type": {"application/json"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 10 || res.BodyBytes != 10 {
		t.Fatalf("%+v", res)
	}
}

func TestOpenLoopRate(t *testing.T) {
	addr, hits := setup(t)
	res, err := Run(context.Background(), Config{Addr: addr, Conns: 4, Duration: time.Second, Rate: 200,
		Requests: []Request{{Path: "/ok"}}})
	if err != nil {
		t.Fatal(err)
	}
	if n := hits.Load(); n < 150 || n > 202 {
		t.Fatalf("server saw %d requests in 1s at 200/s", n)
	}
	if res.RPS < 150 || res.RPS > 210 {
		t.Fatalf("rps %v", res.RPS)
	}
}

func TestDeadServerCountsErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	dead, _, _ := ParseURL(srv.URL + "/")
	srv.Close()
	res, err := Run(context.Background(), Config{Addr: dead, Conns: 2, Duration: 200 * time.Millisecond,
		Requests: []Request{{Path: "/ok"}}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors == 0 || res.Requests != 0 || res.FirstError == "" {
		t.Fatalf("%+v", res)
	}
}

func TestRejectsNonLoopback(t *testing.T) {
	for _, addr := range []string{"10.0.0.1:80", "example.com:80", "0.0.0.0:80"} {
		if _, err := Run(context.Background(), Config{Addr: addr, Conns: 1, MaxRequests: 1,
			Requests: []Request{{Path: "/"}}}); err == nil {
			t.Errorf("%s accepted", addr)
		}
	}
}
