package apibench

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/httpapi"
	"hangar/internal/metrics"
)

// metricsAPIs returns the fixture's API twice over the same service: without metrics and
// with them, as hangar serve wires them (the request observer and GET /metrics).
func metricsAPIs(f *fixture) map[string]http.Handler {
	met := metrics.New()
	met.WatchStore(f.db, core.SystemClock{}, nil)
	return map[string]http.Handler{
		"metrics=off": httpapi.New(httpapi.Config{Service: f.svc, Driver: "sim"}),
		"metrics=on":  httpapi.New(httpapi.Config{Service: f.svc, Driver: "sim", Observer: met.HTTP(), Metrics: met.Handler()}),
	}
}

// BenchmarkGetMachineMetrics is BenchmarkGetMachine without and with metrics, side by side:
// run with -count N, the two alternate, so that the machine's noise hits both alike.
func BenchmarkGetMachineMetrics(b *testing.B) {
	f := setup(b, 1000, 0)
	apis := metricsAPIs(f)
	for _, name := range []string{"metrics=off", "metrics=on"} {
		h := apis[name]
		b.Run(name, func(b *testing.B) {
			defer cpuPerOp(b)()
			i := 0
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, f.request("GET", "/machines/getMachinePublic?machineId="+f.ids[i%len(f.ids)], ""))
				if rec.Code != 200 {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
				i++
			}
		})
	}
}

// BenchmarkGetMachineMetricsInterleaved alternates two servers in rounds of abRound requests
// each (A, B, B, A, A, B, …) inside one benchmark, so that a shared machine's load, which
// drifts over seconds, hits both alike; sequential -count runs of the two sub-benchmarks
// above do not interleave. "off-vs-on" is the comparison; "off-vs-off" pits two servers
// without metrics against each other, the harness's own noise floor. It reports the median
// per-request time of each ("A-ns/op", "B-ns/op") and the median of the per-round-pair ratios
// ("B/A"). One op is one round pair.
func BenchmarkGetMachineMetricsInterleaved(b *testing.B) {
	f := setup(b, 1000, 0)
	apis := metricsAPIs(f)
	reqs := make([]*http.Request, len(f.ids))
	for i, id := range f.ids {
		reqs[i] = f.request("GET", "/machines/getMachinePublic?machineId="+id, "")
	}
	off2 := httpapi.New(httpapi.Config{Service: f.svc, Driver: "sim"})
	for _, pair := range []struct {
		name string
		a, b http.Handler
	}{
		{"off-vs-off", apis["metrics=off"], off2},
		{"off-vs-on", apis["metrics=off"], apis["metrics=on"]},
	} {
		b.Run(pair.name, func(b *testing.B) { interleave(b, reqs, pair.a, pair.b) })
	}
}

const abRound = 200

func interleave(b *testing.B, reqs []*http.Request, ha, hb http.Handler) {
	i := 0
	round := func(h http.Handler) time.Duration {
		start := time.Now()
		for range abRound {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, reqs[i%len(reqs)])
			if rec.Code != 200 {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
			i++
		}
		return time.Since(start)
	}
	var as, bs, ratios []float64
	for n := 0; b.Loop(); n++ {
		var da, db time.Duration
		if n%2 == 0 { // alternate which goes first
			da, db = round(ha), round(hb)
		} else {
			db, da = round(hb), round(ha)
		}
		as, bs = append(as, float64(da)/abRound), append(bs, float64(db)/abRound)
		ratios = append(ratios, float64(db)/float64(da))
	}
	med := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
	b.ReportMetric(med(as), "A-ns/op")
	b.ReportMetric(med(bs), "B-ns/op")
	b.ReportMetric(med(ratios), "B/A")
}

// BenchmarkGetMachineMetricsParallel is the same with GOMAXPROCS callers, where contention
// on shared series would show.
func BenchmarkGetMachineMetricsParallel(b *testing.B) {
	f := setup(b, 1000, 0)
	apis := metricsAPIs(f)
	for _, name := range []string{"metrics=off", "metrics=on"} {
		h := apis[name]
		b.Run(name, func(b *testing.B) {
			defer cpuPerOp(b)()
			var n atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, f.request("GET", "/machines/getMachinePublic?machineId="+f.ids[int(i)%len(f.ids)], ""))
					if rec.Code != 200 {
						b.Errorf("%d %s", rec.Code, rec.Body)
						return
					}
				}
			})
		})
	}
}

// BenchmarkMetricsScrape is one operator scrape of GET /metrics over 10,000 machines: the
// fleet gauges' store reads and the encoding of every family.
func BenchmarkMetricsScrape(b *testing.B) {
	f := setup(b, 10000, 100)
	met := metrics.New()
	met.WatchStore(f.db, core.SystemClock{}, nil)
	h := httpapi.New(httpapi.Config{Service: f.svc, Driver: "sim", Observer: met.HTTP(), Metrics: met.Handler()})
	op := f.operatorKey
	defer cpuPerOp(b)()
	for b.Loop() {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.Header.Set("x-api-key", op)
		h.ServeHTTP(rec, r)
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}
