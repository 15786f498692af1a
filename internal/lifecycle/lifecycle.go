// Package lifecycle holds the transactional steps shared by the service (user calls) and the
// engine (background progress) when a machine changes state: capacity, IP addresses, events
// and the engine's schedule. Every function works inside a caller's store.Tx.
package lifecycle

import (
	"net/netip"
	"time"

	"hangar/internal/core"
	"hangar/internal/scheduler"
	"hangar/internal/store"
)

// Env is what the steps need from the outside world.
type Env struct {
	Clock      core.Clock
	PublicPool netip.Prefix                   // public addresses (static and dynamic)
	DefaultNet netip.Prefix                   // private range of machines without a network
	Expect     func(core.State) time.Duration // the driver's typical dwell per state
	// Quotas are the operator's default limits per team (`hangar serve --quota`), over
	// core.DefaultQuotas; a team's overrides in the store take precedence.
	Quotas core.QuotaLimits
}

// Enter moves m into state s now and schedules the engine: transitional states are looked at
// after the driver's expected duration, stable states (ready, off) when their earliest timer
// is due (never, without timers). Entering ready arms the auto-shutdown timer; entering any
// other state disarms it. Crossing between off and the billable states opens or closes the
// machine's billable interval in tx (the meter, spec §2.13), so the meter commits with the
// state change. With a Logged store the change is logged once tx has committed.
func (e *Env) Enter(tx store.Tx, m *core.Machine, s core.State) error {
	now := e.Clock.Now()
	was := m.State
	m.State, m.PhaseSince, m.Attempts = s, now, 0
	if s == core.StateReady {
		ArmShutdown(m, now)
	} else {
		m.ShutdownAt = nil
	}
	if Stable(s) {
		Reschedule(m)
	} else {
		at := now.Add(e.Expect(s))
		m.NextAt = &at
	}
	noteTransition(tx, m, was)
	switch {
	case s.Billable() && !was.Billable():
		return tx.StartUsage(m.ID, now)
	case !s.Billable() && was.Billable():
		return tx.EndUsage(m.ID, now)
	}
	return nil
}

// EndUsage stops the meter of a machine that is being destroyed.
func (e *Env) EndUsage(tx store.Tx, m *core.Machine) error {
	return tx.EndUsage(m.ID, e.Clock.Now())
}

// NewEvent records an event in progress for m and returns it.
func (e *Env) NewEvent(tx store.Tx, machineID, name string) (core.Event, error) {
	now := e.Clock.Now()
	ev := core.Event{Handle: core.NewUUID(), MachineID: machineID, Name: name,
		State: core.EventInProgress, Created: now, Modified: now}
	return ev, tx.CreateEvent(&ev)
}

// FinishEvent moves an in-progress event to state (done, error or cancelled). Events already
// finished and empty handles are left alone, so finishing twice is harmless.
func (e *Env) FinishEvent(tx store.Tx, handle string, state core.EventState, msg string) error {
	if handle == "" {
		return nil
	}
	ev, err := tx.GetEvent(handle)
	if err != nil {
		return err
	}
	if ev.State != core.EventInProgress {
		return nil
	}
	now := e.Clock.Now()
	ev.State, ev.ErrorMsg, ev.Modified, ev.Finished = state, msg, now, &now
	if err := tx.UpdateEvent(&ev); err != nil {
		return err
	}
	noteFailure(tx, ev)
	return nil
}

// AcquireCapacity reserves a slot of m's type on a host of its region, preferring its current
// host. core.Unavailable when no host has room.
func (e *Env) AcquireCapacity(tx store.Tx, m *core.Machine) error {
	if m.HoldsCapacity {
		return nil
	}
	hosts, err := tx.PlacementHosts(m.Region, m.MachineType, m.HostID)
	if err != nil {
		return err
	}
	id, err := scheduler.Pick(m.MachineType, m.Region, m.HostID, hosts)
	if err != nil {
		return err
	}
	if err := tx.AddHostUsage(id, m.MachineType, 1); err != nil {
		return err
	}
	m.HostID, m.HoldsCapacity = id, true
	return nil
}

// ReleaseCapacity gives m's slot back to its host.
func (e *Env) ReleaseCapacity(tx store.Tx, m *core.Machine) error {
	if !m.HoldsCapacity {
		return nil
	}
	m.HoldsCapacity = false
	if m.HostID == "" {
		return nil
	}
	err := tx.AddHostUsage(m.HostID, m.MachineType, -1)
	if core.IsNotFound(err) { // the host was deleted under it
		return nil
	}
	return err
}
