package lifecycle

import (
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

// Timers are durable due times on the machine row (ShutdownAt, SnapshotAt). A machine in a
// stable state has NextAt at its earliest timer, so the engine claims it with the same lease
// as any other step and fires the timer in the transaction that records its effect: a timer
// fires once, whatever the number of engines and restarts. A machine in a transitional state
// keeps NextAt for the transition; its timers wait until it is stable again.

// Stable reports whether s is a state the engine does not advance (ready, off).
func Stable(s core.State) bool { return s == core.StateReady || s == core.StateOff }

// ArmShutdown sets m's auto-shutdown timer to shutdownTimeoutInHours after now, or disarms it
// when the timeout is 0 or null. The caller makes sure m is ready.
func ArmShutdown(m *core.Machine, now time.Time) {
	m.ShutdownAt = nil
	if h := m.ShutdownTimeoutInHours; h != nil && *h > 0 {
		at := now.Add(time.Duration(*h) * time.Hour)
		m.ShutdownAt = &at
	}
}

// ArmAutoSnapshot sets m's next automatic snapshot one autoSnapshotFrequency after from, or
// disarms it when performAutoSnapshot is off or no frequency is set.
func ArmAutoSnapshot(m *core.Machine, from time.Time) {
	m.SnapshotAt = nil
	if m.PerformAutoSnapshot && m.AutoSnapshotFrequency != nil {
		if at, ok := AddFrequency(*m.AutoSnapshotFrequency, from); ok {
			m.SnapshotAt = &at
		}
	}
}

// NextAutoSnapshot is the due time after a snapshot due at due was taken at now: one period
// after due, or one period after now if that is already past (missed periods are not
// caught up one by one).
func NextAutoSnapshot(m *core.Machine, due, now time.Time) *time.Time {
	if !m.PerformAutoSnapshot || m.AutoSnapshotFrequency == nil {
		return nil
	}
	next, ok := AddFrequency(*m.AutoSnapshotFrequency, due)
	if !ok {
		return nil
	}
	if !next.After(now) {
		next, _ = AddFrequency(*m.AutoSnapshotFrequency, now)
	}
	return &next
}

// AddFrequency adds one autoSnapshotFrequency period (hour, day, week, month) to t; false for
// an unknown frequency. A month is a calendar month in UTC.
func AddFrequency(freq string, t time.Time) (time.Time, bool) {
	switch freq {
	case "hour":
		return t.Add(time.Hour), true
	case "day":
		return t.Add(24 * time.Hour), true
	case "week":
		return t.Add(7 * 24 * time.Hour), true
	case "month":
		return t.UTC().AddDate(0, 1, 0), true
	}
	return t, false
}

// Reschedule points a stable machine's NextAt at its earliest timer (nil: idle). Machines in
// transitional states are left alone: their NextAt belongs to the transition.
func Reschedule(m *core.Machine) {
	if !Stable(m.State) {
		return
	}
	m.NextAt = nil
	for _, t := range []*time.Time{m.ShutdownAt, m.SnapshotAt} {
		if t != nil && (m.NextAt == nil || t.Before(*m.NextAt)) {
			at := *t
			m.NextAt = &at
		}
	}
}

// Apply applies a user action (start, stop, restart) to m inside tx, as the API does and
// as auto-shutdown does (spec §3.2): an illegal transition is a Conflict, a no-op changes
// nothing and returns false. The in-progress operation is cancelled and a new event starts.
// A start that finds no host slot ends its event in error and leaves m off; a start over the
// team's running quota fails with core.QuotaExceeded. m is not written.
func (e *Env) Apply(tx store.Tx, m *core.Machine, action core.Action) (bool, error) {
	next, outcome := core.NextState(m.State, action)
	switch outcome {
	case core.OutcomeReject:
		return false, core.Errorf(core.Conflict, "Cannot %s machine %s while it is %s", action, m.ID, m.State)
	case core.OutcomeNoop:
		return false, nil
	}
	if next == core.StateStarting {
		// A start from off makes one more running machine: over the team's quota the call
		// fails, before anything is written.
		if err := e.CheckQuota(tx, m.TeamID, core.QuotaRunning); err != nil {
			return false, err
		}
	}
	if err := e.FinishEvent(tx, m.OpEvent, core.EventCancelled, "superseded by "+string(action)); err != nil {
		return false, err
	}
	ev, err := e.NewEvent(tx, m.ID, string(action))
	if err != nil {
		return false, err
	}
	m.OpEvent = ev.Handle
	if next == core.StateStarting {
		// A start needs a slot on a host; without one the start fails like Paperspace's
		// (an error event, the machine stays off) rather than the call.
		if err := e.AcquireCapacity(tx, m); err != nil {
			if core.ErrorCode(err) != core.Unavailable {
				return false, err
			}
			m.OpEvent = ""
			return true, e.FinishEvent(tx, ev.Handle, core.EventError, core.ErrorMessage(err))
		}
		if m.DynamicPublicIP {
			if err := e.AllocatePublicIP(tx, m, true); err != nil {
				return false, err
			}
		}
	}
	if err := e.Enter(tx, m, next); err != nil {
		return false, err
	}
	return true, nil
}
