// Package waittest waits, in a test, for something running in the background (an engine
// loop, a subprocess, a server starting) to make a condition true, with a deadline: the
// one shared alternative to fixed sleeps and hand-rolled polling loops in tests.
//
// A test that can be told when the thing happened (a channel, a fake clock it moves itself)
// waits for that signal instead; Eventually is for conditions only observable by looking.
package waittest

import (
	"testing"
	"time"
)

// Poll intervals: the first look is immediate, then the interval doubles from minPoll up to
// maxPoll, so a condition that holds soon is seen soon and a slow one is not busy-polled.
const (
	minPoll = time.Millisecond
	maxPoll = 50 * time.Millisecond
)

// Eventually calls cond until it returns nil and fails tb with cond's last error if that has
// not happened within timeout. cond runs on the test's goroutine, so it may call tb.Fatal
// itself; its error says what was seen and what was wanted, and is the failure message.
func Eventually(tb testing.TB, timeout time.Duration, cond func() error) {
	tb.Helper()
	if err := within(timeout, cond); err != nil {
		tb.Fatal(err)
	}
}

// within returns nil as soon as cond does, or cond's last error once timeout has passed.
func within(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	poll := minPoll
	timer := time.NewTimer(minPoll)
	defer timer.Stop()
	for {
		err := cond()
		if err == nil {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return err
		}
		timer.Reset(min(poll, left))
		<-timer.C
		poll = min(2*poll, maxPoll)
	}
}
