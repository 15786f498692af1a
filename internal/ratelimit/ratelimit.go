// Package ratelimit keeps one token bucket per key (an API key's hash, a client address, an
// email) in bounded memory, on an injectable clock.
package ratelimit

import (
	"math"
	"sync"
	"time"

	"hangar/internal/core"
)

// DefaultMaxKeys bounds the keys a Limiter tracks when New is given no bound.
const DefaultMaxKeys = 100_000

// sweepEvery is how often idle buckets are dropped.
const sweepEvery = time.Minute

// Limiter allows each key rate events per second on average and burst at once. A nil
// *Limiter allows everything.
type Limiter struct {
	rate    float64 // tokens per second
	burst   float64
	clock   core.Clock
	maxKeys int

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

// New returns a Limiter of rate events per second with bursts of burst (at least 1), or nil
// (no limit) when rate is not positive. maxKeys bounds the keys tracked (DefaultMaxKeys when
// not positive).
func New(rate float64, burst int, clock core.Clock, maxKeys int) *Limiter {
	if rate <= 0 || math.IsNaN(rate) || math.IsInf(rate, 0) {
		return nil
	}
	if clock == nil {
		clock = core.SystemClock{}
	}
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Limiter{rate: rate, burst: float64(max(burst, 1)), clock: clock, maxKeys: maxKeys,
		buckets: map[string]*bucket{}, lastSweep: clock.Now()}
}

// Allow takes one token from key's bucket. When the bucket is empty it takes nothing and
// returns false with the time until a token is available.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	if l == nil {
		return true, 0
	}
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.maxKeys || now.Sub(l.lastSweep) >= sweepEvery {
			l.sweep(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return false, max(wait, time.Nanosecond)
}

func (l *Limiter) refill(b *bucket, now time.Time) {
	if el := now.Sub(b.last); el > 0 {
		b.tokens = min(l.burst, b.tokens+el.Seconds()*l.rate)
		b.last = now
	}
}

// sweep drops the buckets that have refilled completely: forgetting them changes nothing. If
// every key is still busy and the map is full, it is emptied: memory stays bounded at the
// price of one fresh burst for the keys that were tracked.
func (l *Limiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, b := range l.buckets {
		l.refill(b, now)
		if b.tokens >= l.burst {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= l.maxKeys {
		clear(l.buckets)
	}
}

// Len returns the number of keys tracked.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
