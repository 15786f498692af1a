package main

import (
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

// startMetrics serves /metrics without credentials on addr (`serve --metrics-listen`), on a
// listener and mux of its own, for a scraper on a private network; the API's /metrics
// answers only to the operator's key. It returns the server and the bound address.
func startMetrics(addr string, met *metrics.Metrics, log *slog.Logger) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("--metrics-listen: %w", err)
	}
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
	bound := ln.Addr().String()
	log.Info("metrics serving", "metrics_addr", bound)
	return hs, bound, nil
}
