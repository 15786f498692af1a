package waittest

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestEventuallyReturnsOnceTheConditionHolds(t *testing.T) {
	n := 0
	Eventually(t, time.Minute, func() error {
		n++
		if n < 4 {
			return fmt.Errorf("call %d", n)
		}
		return nil
	})
	if n != 4 {
		t.Fatalf("cond called %d times, want 4 (stop at the first nil)", n)
	}
}

func TestWithinReportsTheLastError(t *testing.T) {
	n := 0
	err := within(10*time.Millisecond, func() error {
		n++
		return fmt.Errorf("still waiting (%d)", n)
	})
	if want := fmt.Sprintf("still waiting (%d)", n); err == nil || err.Error() != want {
		t.Fatalf("err %v, want %q", err, want)
	}
}

// fatalTB records Fatal instead of stopping the test.
type fatalTB struct {
	testing.TB
	failed []any
}

func (f *fatalTB) Helper()           {}
func (f *fatalTB) Fatal(args ...any) { f.failed = args }

func TestEventuallyFailsWithTheConditionsError(t *testing.T) {
	tb := &fatalTB{TB: t}
	never := errors.New("machine m1: state off, want ready")
	Eventually(tb, 5*time.Millisecond, func() error { return never })
	if len(tb.failed) != 1 || tb.failed[0] != any(never) { // the very error cond returned, unwrapped
		t.Fatalf("Fatal(%v), want Fatal(%v)", tb.failed, never)
	}
}
