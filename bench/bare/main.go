// Command bare is the baseline of Hangar's load benchmark: a plain net/http server that
// answers the three benchmarked routes with JSON captured from a real Hangar, so a run
// measures what net/http alone costs on the same machine for the same bytes. It does no
// authentication, no parsing beyond net/http's own, and no storage: the bodies are written
// as precomputed bytes.
//
//	go run ./bench/bare -listen 127.0.0.1:0 -get machine.json -create created.json -list list.json
//
// It prints "bare serving addr=HOST:PORT" on stderr once listening and stops on SIGINT or
// SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on (loopback)")
	get := flag.String("get", "", "body of GET /machines/getMachinePublic")
	create := flag.String("create", "", "body of POST /machines/createSingleMachinePublic")
	list := flag.String("list", "", "body of GET /machines/getMachines")
	flag.Parse()
	if err := run(*listen, map[string]string{
		"GET /machines/getMachinePublic":           *get,
		"POST /machines/createSingleMachinePublic": *create,
		"GET /machines/getMachines":                *list,
	}); err != nil {
		fmt.Fprintln(os.Stderr, "bare:", err)
		os.Exit(1)
	}
}

func run(listen string, bodies map[string]string) error {
	mux := http.NewServeMux()
	for pattern, file := range bodies {
		b := []byte(`{}`)
		if file != "" {
			var err error
			if b, err = os.ReadFile(file); err != nil {
				return err
			}
		}
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(b)
		})
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		ln.Close()
		return errors.New("refusing a non-loopback address")
	}
	// The same server settings as hangar serve.
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
	}()
	fmt.Fprintf(os.Stderr, "bare serving addr=%s\n", ln.Addr())
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
