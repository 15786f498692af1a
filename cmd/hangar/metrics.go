package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"hangar/api"
	"hangar/internal/httpapi"
	"hangar/internal/metrics"
)

// listenMetrics binds --metrics-listen (nil without it), with the API's listener and before
// anything is written, so that an address in use fails the start at once.
func (c *ServeCmd) listenMetrics(closers *cleanup) (net.Listener, error) {
	if c.MetricsListen == "" {
		return nil, nil
	}
	return listen("--metrics-listen", c.MetricsListen, closers)
}

// serveMetrics serves /metrics without credentials on ln (`serve --metrics-listen`), with a
// mux of its own, for a scraper on a private network; the API's /metrics answers only to the
// operator's key. The server is shut down by the closers; serveMetrics returns the bound
// address.
func serveMetrics(ln net.Listener, met *metrics.Metrics, closers *cleanup, log *slog.Logger) string {
	mux := http.NewServeMux()
	mux.Handle("GET "+httpapi.MetricsPath, met.Handler())
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusNotFound)
		_ = json.NewEncoder(w).Encode(api.ErrorBody{Error: api.ErrorDetail{Name: "Error",
			Message: fmt.Sprintf("Cannot %s %s: this listener serves only GET %s", r.Method, r.URL.Path, httpapi.MetricsPath),
			Status:  http.StatusNotFound}})
	})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics server stopped", "err", err)
		}
	}()
	closers.push(func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return hs.Shutdown(ctx)
	})
	bound := ln.Addr().String()
	log.Info("metrics serving", "metrics_addr", bound)
	return bound
}
