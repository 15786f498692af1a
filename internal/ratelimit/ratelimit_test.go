package ratelimit

import (
	"fmt"
	"hangar/internal/core/clocktest"
	"testing"
	"time"
)

func TestBurstThenRefill(t *testing.T) {
	c := clocktest.New(time.Unix(1e9, 0))
	l := New(2, 3, c, 0) // 2 per second, bursts of 3
	for i := range 3 {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.Allow("k")
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("4th request: ok=%v wait=%v, want refused for 500ms", ok, wait)
	}
	if ok, _ := l.Allow("other"); !ok {
		t.Fatal("another key shares the bucket")
	}
	c.Advance(499 * time.Millisecond)
	if ok, _ := l.Allow("k"); ok {
		t.Fatal("allowed before a token was back")
	}
	c.Advance(time.Millisecond)
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("refused after a token came back")
	}
	c.Advance(time.Hour)
	for i := range 3 {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatalf("after idling, request %d refused: the burst must not exceed 3 but must refill to it", i)
		}
	}
	if ok, _ := l.Allow("k"); ok {
		t.Fatal("idle time accumulated beyond the burst")
	}
}

func TestNilAllowsEverything(t *testing.T) {
	l := New(0, 10, nil, 0)
	if l != nil {
		t.Fatal("rate 0 must disable the limiter")
	}
	for range 1000 {
		if ok, _ := l.Allow("k"); !ok {
			t.Fatal("nil limiter refused")
		}
	}
}

// TestMemoryBounded: idle keys are forgotten, and a flood of distinct keys never grows the
// map beyond its bound.
func TestMemoryBounded(t *testing.T) {
	c := clocktest.New(time.Unix(1e9, 0))
	l := New(10, 1, c, 100)
	for i := range 50 {
		l.Allow(fmt.Sprint("idle-", i))
	}
	c.Advance(2 * sweepEvery)
	l.Allow("new")
	if n := l.Len(); n != 1 {
		t.Fatalf("%d keys tracked after the idle ones refilled, want 1", n)
	}
	for i := range 10_000 {
		l.Allow(fmt.Sprint("flood-", i))
		if n := l.Len(); n > 100 {
			t.Fatalf("%d keys tracked, bound is 100", n)
		}
	}
	// A busy key keeps its state while there is room.
	l2 := New(1, 1, c, 100)
	l2.Allow("busy")
	for i := range 50 {
		l2.Allow(fmt.Sprint("x-", i))
	}
	if ok, _ := l2.Allow("busy"); ok {
		t.Fatal("busy key's empty bucket was forgotten")
	}
}

// BenchmarkAllow is the cost the limits add to a request: one Allow on a tracked key.
func BenchmarkAllow(b *testing.B) {
	l := New(1e9, 1e9, nil, 0)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = fmt.Sprint("key-", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		l.Allow(keys[i%len(keys)])
	}
}
