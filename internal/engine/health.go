package engine

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// The engine's backoff while the store fails: the first failure pauses the loop for
// storeBackoffMin, each failure after a pause has ended doubles it, up to storeBackoffMax.
// The first claim round that succeeds (Engine.Run) resets it.
const (
	storeBackoffMin = 100 * time.Millisecond
	storeBackoffMax = 5 * time.Second
	// storeLogEvery is the least time between two error lines about the store, whatever the
	// backoff: a store that fails and recovers in turn logs no more than this.
	storeLogEvery = time.Second
)

// health tracks the store's failures as the engine sees them: how long the loop and the
// watcher must leave the store alone, and which failures are worth a log line. A full disk
// fails every transaction of every machine; logging each, and retrying at once, gave
// thousands of lines a second.
type health struct {
	mu         sync.Mutex
	log        *slog.Logger
	wall       func() time.Time
	failures   int // backoff periods in a row that ended in a failure
	delay      time.Duration
	until      time.Time // no claim or watch before this
	nextLog    time.Time // no error line before this
	suppressed int       // failures not logged since the last line
	logged     bool      // this run of failures was logged: its end is worth a line too
}

// failed records a failed store call of what (attrs add context, a machine for instance)
// and pauses the loop. Failures within the current pause neither lengthen it nor log,
// beyond storeLogEvery: they are counted in the next line.
func (h *health) failed(what string, err error, attrs ...any) {
	if errors.Is(err, context.Canceled) {
		return // shutting down, not the store failing
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.wall()
	if !now.Before(h.until) { // a new failure, not one more of the pause's
		h.failures++
		h.delay = min(storeBackoffMin<<min(h.failures-1, 16), storeBackoffMax)
		h.until = now.Add(h.delay)
	}
	if now.Before(h.nextLog) {
		h.suppressed++
		return
	}
	h.log.Error("engine: store failing, backing off "+h.delay.String(), append([]any{"op", what, "err", err,
		"backoff", h.delay, "failures", h.failures, "suppressed", h.suppressed}, attrs...)...)
	h.suppressed, h.logged = 0, true
	h.nextLog = now.Add(max(h.delay, storeLogEvery))
}

// ok records that the store works again: the backoff starts over.
func (h *health) ok() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failures == 0 {
		return
	}
	if h.logged {
		h.log.Info("engine: store recovered", "failures", h.failures, "suppressed", h.suppressed)
		h.suppressed, h.logged = 0, false
	}
	h.failures, h.delay, h.until = 0, 0, time.Time{}
}

// pause returns how long the store must be left alone from now (0: not at all).
func (h *health) pause() time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return max(h.until.Sub(h.wall()), 0)
}

// backingOff reports whether the engine is leaving the store alone now.
func (h *health) backingOff() bool { return h.pause() > 0 }
