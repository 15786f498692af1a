package metrics

import (
	"testing"
	"time"
)

// BenchmarkHTTPRequest is what the API's request observer adds to one request: a cached
// series lookup, a counter increment and a histogram observation.
func BenchmarkHTTPRequest(b *testing.B) {
	h := New().HTTP()
	for b.Loop() {
		h.Request("GET", "/machines/getMachinePublic", 200, 150*time.Microsecond)
	}
}

// BenchmarkHTTPRequestParallel is the same from GOMAXPROCS goroutines on one series, the
// worst case for contention on its atomics.
func BenchmarkHTTPRequestParallel(b *testing.B) {
	h := New().HTTP()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h.Request("GET", "/machines/getMachinePublic", 200, 150*time.Microsecond)
		}
	})
}
