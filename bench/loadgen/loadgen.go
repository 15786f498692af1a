// Package loadgen is a small HTTP/1.1 load generator for Hangar's benchmarks. Each connection
// is one goroutine that writes a pre-serialised request and reads the response with
// http.ReadResponse, so the client costs far less CPU than net/http's Transport (which moves
// every response between goroutines). That matters on a 2-core box where the client and the
// server share the CPUs.
//
// Two modes:
//   - closed loop (Rate 0): every connection sends its next request as soon as the previous
//     answer arrived; throughput is what the server sustains at Conns outstanding requests.
//   - open loop (Rate > 0): request k is due at start+k/Rate, whichever connection is free
//     sends it, and its latency is measured from the due time, so a server that falls behind
//     is charged for the queueing it causes (no coordinated omission).
//
// Every run is bounded: by Duration (at most MaxDuration) and by MaxRequests (at most
// HardMaxRequests). Only loopback addresses are accepted.
package loadgen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits every run obeys whatever the configuration says.
const (
	MaxDuration     = 10 * time.Minute
	HardMaxRequests = 20_000_000
	MaxConns        = 1024
	// maxSamples bounds the recorded latencies (8 bytes each); later requests still count.
	maxSamples = 10_000_000
)

// Request is one request to send. Header may be nil.
type Request struct {
	Method string
	Path   string // path and query, e.g. "/machines/getMachinePublic?machineId=m1"
	Header http.Header
	Body   []byte
}

// Config is one load run.
type Config struct {
	// Addr is the server's host:port; the host must be a loopback address.
	Addr string
	// Requests are sent in rotation: the n-th request of the run is Requests[n % len].
	Requests []Request
	// Conns is the number of connections (and of requests in flight in closed loop).
	Conns int
	// Duration bounds the measured part of the run. Zero means MaxDuration, so set
	// MaxRequests then.
	Duration time.Duration
	// MaxRequests stops the run after that many requests (0: HardMaxRequests).
	MaxRequests int64
	// Rate is the open-loop request rate per second over all connections; 0 is closed loop.
	Rate float64
	// Warmup runs the same load first, unrecorded.
	Warmup time.Duration
	// Timeout bounds one request (default 10s).
	Timeout time.Duration
}

// Result summarises a run. Latencies are from the start of the write (closed loop) or from
// the due time (open loop) to the last byte of the body.
type Result struct {
	Requests int64   `json:"requests"` // completed with a response
	Errors   int64   `json:"errors"`   // transport errors and timeouts
	Non2xx   int64   `json:"non2xx"`
	Elapsed  float64 `json:"elapsedSeconds"`
	RPS      float64 `json:"rps"` // completed responses per second (2xx or not)
	Mean     float64 `json:"meanMs"`
	P50      float64 `json:"p50Ms"`
	P90      float64 `json:"p90Ms"`
	P99      float64 `json:"p99Ms"`
	P999     float64 `json:"p999Ms"`
	Max      float64 `json:"maxMs"`
	// Status counts the responses by status code.
	Status map[int]int64 `json:"status"`
	// BodyBytes is the mean response body size.
	BodyBytes  float64 `json:"bodyBytes"`
	FirstError string  `json:"firstError,omitempty"`
	// MaxLate is, in open loop, the most a request was sent after its due time (all
	// connections were busy); Behind is set when that exceeded 10 ms.
	MaxLate float64 `json:"maxLateMs,omitempty"`
	Behind  bool    `json:"behind,omitempty"`
}

func (c *Config) check() error {
	if len(c.Requests) == 0 {
		return errors.New("loadgen: no requests")
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("loadgen: address %q: %w", c.Addr, err)
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("loadgen: %q is not a loopback address", c.Addr)
	}
	if c.Conns <= 0 || c.Conns > MaxConns {
		return fmt.Errorf("loadgen: conns must be 1..%d", MaxConns)
	}
	if c.Duration <= 0 || c.Duration > MaxDuration {
		c.Duration = MaxDuration
	}
	if c.Warmup < 0 || c.Warmup > MaxDuration {
		return errors.New("loadgen: bad warmup")
	}
	if c.MaxRequests <= 0 || c.MaxRequests > HardMaxRequests {
		c.MaxRequests = HardMaxRequests
	}
	if c.Rate < 0 {
		return errors.New("loadgen: negative rate")
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	return nil
}

// ParseURL splits an http://host:port/path?query URL into Addr and a request path.
func ParseURL(raw string) (addr, path string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", err
	}
	if u.Scheme != "http" {
		return "", "", fmt.Errorf("loadgen: %q: only http:// URLs", raw)
	}
	return u.Host, u.RequestURI(), nil
}

// serialise renders r as HTTP/1.1 bytes.
func serialise(addr string, r Request) []byte {
	var b strings.Builder
	method := r.Method
	if method == "" {
		method = http.MethodGet
	}
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: hangar-loadgen\r\n", method, r.Path, addr)
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if len(r.Body) > 0 || method == http.MethodPost || method == http.MethodPut {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(r.Body))
	}
	b.WriteString("\r\n")
	b.Write(r.Body)
	return []byte(b.String())
}

// conn is one keep-alive connection.
type conn struct {
	addr    string
	timeout time.Duration
	c       net.Conn
	br      *bufio.Reader
}

func (c *conn) close() {
	if c.c != nil {
		_ = c.c.Close()
		c.c = nil
	}
}

// do sends raw and reads the response; it returns the status and the body size.
func (c *conn) do(raw []byte) (int, int64, error) {
	if c.c == nil {
		nc, err := net.DialTimeout("tcp", c.addr, c.timeout)
		if err != nil {
			return 0, 0, err
		}
		c.c = nc
		if c.br == nil {
			c.br = bufio.NewReaderSize(nc, 64<<10)
		} else {
			c.br.Reset(nc)
		}
	}
	_ = c.c.SetDeadline(time.Now().Add(c.timeout))
	if _, err := c.c.Write(raw); err != nil {
		c.close()
		return 0, 0, err
	}
	res, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		return 0, 0, err
	}
	n, err := io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	if err != nil {
		c.close()
		return 0, 0, err
	}
	if res.Close {
		c.close()
	}
	return res.StatusCode, n, nil
}

// worker results, merged at the end.
type tally struct {
	samples []int64 // ns
	n       int64
	errs    int64
	non2xx  int64
	bytes   int64
	status  map[int]int64
	first   error
}

// Run performs the load described by cfg; ctx cancels it early.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.check(); err != nil {
		return Result{}, err
	}
	raws := make([][]byte, len(cfg.Requests))
	for i, r := range cfg.Requests {
		raws[i] = serialise(cfg.Addr, r)
	}
	conns := make([]*conn, cfg.Conns)
	for i := range conns {
		conns[i] = &conn{addr: cfg.Addr, timeout: cfg.Timeout}
	}
	defer func() {
		for _, c := range conns {
			c.close()
		}
	}()
	if cfg.Warmup > 0 {
		w := cfg
		w.Duration, w.MaxRequests = cfg.Warmup, HardMaxRequests
		runPhase(ctx, w, raws, conns, false)
	}
	return runPhase(ctx, cfg, raws, conns, true), nil
}

func runPhase(ctx context.Context, cfg Config, raws [][]byte, conns []*conn, record bool) Result {
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var (
		next    atomic.Int64 // index of the next request
		maxLate atomic.Int64 // ns the latest open-loop send was behind its due time
		wg      sync.WaitGroup
		tallies = make([]tally, len(conns))
		perConn = maxSamples / len(conns)
	)
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var interval float64
	if cfg.Rate > 0 {
		interval = float64(time.Second) / cfg.Rate
	}
	for i, c := range conns {
		wg.Go(func() {
			t := &tallies[i]
			t.status = map[int]int64{}
			for ctx.Err() == nil {
				k := next.Add(1) - 1
				if k >= cfg.MaxRequests {
					return
				}
				t0 := time.Now()
				if interval > 0 {
					due := start.Add(time.Duration(float64(k) * interval))
					if due.After(deadline) {
						return
					}
					if d := time.Until(due); d > 0 {
						select {
						case <-time.After(d):
						case <-ctx.Done():
							return
						}
					} else if late := int64(-d); late > maxLate.Load() {
						maxLate.Store(late) // racy max: good enough for a flag
					}
					t0 = due
				}
				status, n, err := c.do(raws[int(k%int64(len(raws)))])
				lat := time.Since(t0)
				if err != nil {
					if ctx.Err() != nil {
						return // cut off by the end of the run, not an error
					}
					t.errs++
					if t.first == nil {
						t.first = err
					}
					time.Sleep(5 * time.Millisecond) // no hot loop against a dead server
					continue
				}
				t.n++
				t.bytes += n
				t.status[status]++
				if status < 200 || status > 299 {
					t.non2xx++
				}
				if record && len(t.samples) < perConn {
					t.samples = append(t.samples, int64(lat))
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if !record {
		return Result{}
	}
	res := Result{Status: map[int]int64{}, Elapsed: elapsed.Seconds()}
	var all []int64
	var bytes int64
	for _, t := range tallies {
		res.Requests += t.n
		res.Errors += t.errs
		res.Non2xx += t.non2xx
		bytes += t.bytes
		for s, n := range t.status {
			res.Status[s] += n
		}
		if t.first != nil && res.FirstError == "" {
			res.FirstError = t.first.Error()
		}
		all = append(all, t.samples...)
	}
	res.RPS = float64(res.Requests) / elapsed.Seconds()
	if res.Requests > 0 {
		res.BodyBytes = float64(bytes) / float64(res.Requests)
	}
	res.MaxLate = float64(maxLate.Load()) / 1e6
	res.Behind = interval > 0 && maxLate.Load() > int64(10*time.Millisecond)
	if len(all) > 0 {
		slices.Sort(all)
		var sum int64
		for _, v := range all {
			sum += v
		}
		ms := func(ns int64) float64 { return float64(ns) / 1e6 }
		q := func(p float64) float64 { return ms(all[min(len(all)-1, int(p*float64(len(all))))]) }
		res.Mean = ms(sum / int64(len(all)))
		res.P50, res.P90, res.P99, res.P999 = q(0.50), q(0.90), q(0.99), q(0.999)
		res.Max = ms(all[len(all)-1])
	}
	return res
}

// String renders a one-line summary.
func (r Result) String() string {
	return "requests=" + strconv.FormatInt(r.Requests, 10) + fmt.Sprintf(
		" rps=%.0f p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms errors=%d non2xx=%d",
		r.RPS, r.P50, r.P90, r.P99, r.Max, r.Errors, r.Non2xx)
}
