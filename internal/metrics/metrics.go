// Package metrics exposes Hangar's Prometheus metrics. It owns one registry (never the
// global one) and implements the observer hooks of the other packages — httpapi.Observer,
// engine.Config.OnStep, notify.Config.OnAttempt and the stores' OnWrite and OnBatch — by
// their method shapes, so that none of them imports Prometheus or this package. Gauges of
// the fleet (machines, hosts, engine queue, outbox) are read from the store at scrape time
// by a Collector (WatchStore), with aggregate queries that stay cheap at any fleet size.
//
// Only cmd/hangar wires it.
package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every Hangar metric.
const Namespace = "hangar"

// Buckets, in seconds.
var (
	// requestBuckets span an API call answered from memory to a slow write.
	requestBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	// stepBuckets span a sim step to a QEMU boot step.
	stepBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
	// writeBuckets span a group-committed write to one stuck behind a slow fsync.
	writeBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}
	// batchBuckets are group-commit sizes in Writes, up to SQLite's default MaxBatch (256).
	batchBuckets = []float64{1, 2, 4, 8, 16, 32, 64, 128, 256}
)

// Metrics is the registry and the collectors of one hangar serve.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	rateLimited  *prometheus.CounterVec
	engineSteps  *prometheus.CounterVec
	engineTime   *prometheus.HistogramVec
	mailSent     prometheus.Counter
	mailFailures *prometheus.CounterVec
	storeWrites  prometheus.Histogram
	storeBatches prometheus.Histogram

	handler http.Handler

	// routes caches the request series by route and status: the hot path then costs one
	// map read instead of hashing three label values.
	routes sync.Map // routeKey -> *routeSeries
}

type routeKey struct {
	method, pattern string
	status          int
}

type routeSeries struct {
	count    prometheus.Counter
	duration prometheus.Observer
}

// New returns Metrics with every Hangar collector and the Go runtime and process collectors
// registered on a registry of its own.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "http",
		Name: "requests_total", Help: "API requests answered, by route (the route table's method and pattern; route=\"unmatched\" for none) and status code."},
		[]string{"method", "route", "code"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: "http",
		Name: "request_duration_seconds", Help: "Time to answer an API request, by route.", Buckets: requestBuckets},
		[]string{"method", "route"})
	m.rateLimited = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace,
		Name: "rate_limit_rejections_total", Help: "API requests refused with 429 by a rate limit (key, address, login_email, login_address)."},
		[]string{"limit"})
	m.engineSteps = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "engine",
		Name: "steps_total", Help: "Engine steps of claimed machines, by outcome (done, pending, retry, failed, superseded, timers, skipped, expired, error)."},
		[]string{"outcome"})
	m.engineTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: "engine",
		Name: "step_duration_seconds", Help: "Time of one engine step, driver call and commit included, by outcome.", Buckets: stepBuckets},
		[]string{"outcome"})
	m.mailSent = prometheus.NewCounter(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "mail",
		Name: "sent_total", Help: "Notification emails delivered."})
	m.mailFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Subsystem: "mail",
		Name: "delivery_failures_total", Help: "Failed delivery attempts of notification emails; final=\"true\" when the message was given up."},
		[]string{"final"})
	m.storeWrites = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: "store",
		Name: "write_duration_seconds", Help: "Time of one store write transaction as its caller sees it, queueing, retries and commit included.",
		Buckets: writeBuckets})
	m.storeBatches = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Subsystem: "store",
		Name: "group_commit_writes", Help: "Write transactions committed together in one SQLite group commit.", Buckets: batchBuckets})
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.rateLimited, m.engineSteps, m.engineTime,
		m.mailSent, m.mailFailures, m.storeWrites, m.storeBatches,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, final := range []string{"false", "true"} { // present at zero from the start
		m.mailFailures.WithLabelValues(final)
	}
	m.handler = promhttp.InstrumentMetricHandler(m.reg,
		promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError}))
	return m
}

// Registry is the registry every collector is registered on.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format (or OpenMetrics, if the
// scraper asks), counting its own scrapes (promhttp_metric_handler_*). A collector that
// fails is reported in the answer and the rest still served. Every call returns the same
// handler, so the API and the --metrics-listen listener share the scrape counters.
func (m *Metrics) Handler() http.Handler { return m.handler }

// HTTP returns the observer of the API server's requests (httpapi.Observer).
func (m *Metrics) HTTP() HTTP { return HTTP{m} }

// HTTP implements httpapi.Observer.
type HTTP struct{ m *Metrics }

// Request counts an answered request and records its duration.
func (h HTTP) Request(method, pattern string, status int, d time.Duration) {
	if status == 0 {
		status = http.StatusOK // nothing written: net/http answers 200
	}
	k := routeKey{method, pattern, status}
	v, ok := h.m.routes.Load(k)
	if !ok {
		v, _ = h.m.routes.LoadOrStore(k, &routeSeries{
			count:    h.m.httpRequests.WithLabelValues(method, pattern, strconv.Itoa(status)),
			duration: h.m.httpDuration.WithLabelValues(method, pattern),
		})
	}
	s := v.(*routeSeries)
	s.count.Inc()
	s.duration.Observe(d.Seconds())
}

// RateLimited counts a request refused by a rate limit.
func (h HTTP) RateLimited(limit string) { h.m.rateLimited.WithLabelValues(limit).Inc() }

// EngineStep records one engine step (engine.Config.OnStep).
func (m *Metrics) EngineStep(outcome string, d time.Duration) {
	m.engineSteps.WithLabelValues(outcome).Inc()
	m.engineTime.WithLabelValues(outcome).Observe(d.Seconds())
}

// MailAttempt records one delivery attempt (notify.Config.OnAttempt).
func (m *Metrics) MailAttempt(err error, final bool) {
	if err == nil {
		m.mailSent.Inc()
		return
	}
	m.mailFailures.WithLabelValues(strconv.FormatBool(final)).Inc()
}

// StoreWrite records one store write's duration (the stores' OnWrite).
func (m *Metrics) StoreWrite(d time.Duration) { m.storeWrites.Observe(d.Seconds()) }

// StoreBatch records one group commit's size (sqlite.Options.OnBatch).
func (m *Metrics) StoreBatch(writes int) { m.storeBatches.Observe(float64(writes)) }
