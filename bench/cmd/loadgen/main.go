// Command loadgen drives HTTP load at a loopback server and prints the result.
//
//	go run ./bench/cmd/loadgen -c 32 -d 10s -H "x-api-key: $KEY" \
//	    'http://127.0.0.1:3102/machines/getMachinePublic?machineId=psXXXXXXX'
//
// Several URLs (all on one host) are sent in rotation. -rate switches to open loop (a fixed
// request rate; latency counted from each request's due time). -json prints the result as
// JSON. See bench/loadgen for the details.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"hangar/bench/loadgen"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	var (
		hs      headers
		method  = flag.String("X", "GET", "HTTP method")
		body    = flag.String("body", "", "request body (POST); @file reads a file")
		conns   = flag.Int("c", 16, "connections")
		dur     = flag.Duration("d", 10*time.Second, "duration of the measured run (max 10m)")
		n       = flag.Int64("n", 0, "stop after this many requests (0: duration only)")
		rate    = flag.Float64("rate", 0, "open loop: requests per second over all connections (0: closed loop)")
		warmup  = flag.Duration("warmup", 0, "unrecorded warm-up before the run")
		asJSON  = flag.Bool("json", false, "print the result as JSON")
		timeout = flag.Duration("timeout", 10*time.Second, "timeout of one request")
	)
	flag.Var(&hs, "H", `header "Name: value" (repeatable)`)
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: loadgen [flags] URL...")
		flag.PrintDefaults()
		os.Exit(2)
	}
	h := http.Header{}
	for _, kv := range hs {
		k, v, ok := strings.Cut(kv, ":")
		if !ok {
			fatal(fmt.Errorf("header %q: want Name: value", kv))
		}
		h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	b := []byte(*body)
	if strings.HasPrefix(*body, "@") {
		var err error
		if b, err = os.ReadFile((*body)[1:]); err != nil {
			fatal(err)
		}
	}
	cfg := loadgen.Config{Conns: *conns, Duration: *dur, MaxRequests: *n, Rate: *rate, Warmup: *warmup, Timeout: *timeout}
	for _, raw := range flag.Args() {
		addr, path, err := loadgen.ParseURL(raw)
		if err != nil {
			fatal(err)
		}
		if cfg.Addr != "" && addr != cfg.Addr {
			fatal(fmt.Errorf("all URLs must be on one host (%s, %s)", cfg.Addr, addr))
		}
		cfg.Addr = addr
		cfg.Requests = append(cfg.Requests, loadgen.Request{Method: *method, Path: path, Header: h, Body: b})
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		fatal(err)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(res)
		return
	}
	fmt.Println(res)
	if res.FirstError != "" {
		fmt.Println("first error:", res.FirstError)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(1)
}
