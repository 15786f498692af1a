package engine

import (
	"slices"
	"sync"
	"testing"
	"time"

	"hangar/internal/core"
	"hangar/internal/hypervisor/sim"
)

// stepLog records what Config.OnStep hears.
type stepLog struct {
	mu       sync.Mutex
	outcomes []string
}

func (l *stepLog) observe(outcome string, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d <= 0 {
		outcome += "(no duration)"
	}
	l.outcomes = append(l.outcomes, outcome)
}

func (l *stepLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.outcomes
	l.outcomes = nil
	return out
}

func TestOnStepOutcomes(t *testing.T) {
	b := setup(t)
	var log stepLog
	b.eng.cfg.OnStep = log.observe

	m := b.create(t, nil)
	b.advance(t, b.tim.Provisioning)
	b.wantState(t, m.ID, core.StateStarting)
	if got := log.take(); !slices.Equal(got, []string{StepDone}) {
		t.Fatalf("provisioning step: outcomes %v, want [done]", got)
	}
	b.advance(t, b.tim.Starting)
	b.advance(t, b.tim.ServiceReady)
	b.wantState(t, m.ID, core.StateReady)
	if got := log.take(); !slices.Equal(got, []string{StepDone, StepDone}) {
		t.Fatalf("starting and serviceready: outcomes %v, want [done done]", got)
	}
	// The ready machine's auto-shutdown timer fires, then the stop completes.
	b.advance(t, 168*time.Hour)
	b.advance(t, b.tim.Stopping)
	b.wantState(t, m.ID, core.StateOff)
	if got := log.take(); !slices.Equal(got, []string{StepTimers, StepDone}) {
		t.Fatalf("auto-shutdown: outcomes %v, want [timers done]", got)
	}

	b.drv.InjectFault(sim.Fault{Action: "create", Remaining: 1})
	f := b.create(t, nil)
	b.advance(t, b.tim.Provisioning)
	b.wantState(t, f.ID, core.StateOff)
	if got := log.take(); !slices.Equal(got, []string{StepFailed}) {
		t.Fatalf("injected create failure: outcomes %v, want [failed]", got)
	}
}
