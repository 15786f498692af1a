// Package clocktest is a core.Clock that tests move by hand, so that time-dependent code
// (timers, token expiry, rate limits, retries) is tested without sleeping.
package clocktest

import (
	"sync"
	"time"
)

// Clock is a core.Clock standing at a time the test sets; safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New returns a Clock standing at t.
func New(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the time the clock stands at.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
