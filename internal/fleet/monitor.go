package fleet

import (
	"context"
	"log/slog"
	"time"

	"hangar/internal/core"
	"hangar/internal/lifecycle"
	"hangar/internal/store"
)

// UnreachableEvent is the name of the event in error recorded on every machine of a host
// whose agent became unreachable.
const UnreachableEvent = "host-unreachable"

// Monitor marks the agent hosts that missed their heartbeats for Timeout unreachable: in
// the transaction that marks a host (one replica's, MarkHostsUnreachable), each of its
// machines gets an event in error saying so; the machines keep their state. It also prunes
// the operations finished more than an hour ago.
type Monitor struct {
	Store   store.Store
	Env     *lifecycle.Env
	Timeout time.Duration
	Logger  *slog.Logger

	pruned time.Time // when Check last pruned finished operations
}

// Run checks every Timeout/6 until ctx ends.
func (m *Monitor) Run(ctx context.Context) {
	t := time.NewTicker(max(m.Timeout/6, 100*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.Check(ctx); err != nil {
				m.Logger.Warn("fleet: host check failed", "err", err)
			}
		}
	}
}

// Check marks the hosts whose agents were last seen more than Timeout ago. It writes only
// when a host is overdue (an idle control plane without agents writes nothing), and prunes
// the operations finished more than an hour ago at most once an hour.
func (m *Monitor) Check(ctx context.Context) error {
	now := m.Env.Clock.Now()
	cutoff := now.Add(-m.Timeout)
	overdue := false
	err := m.Store.Read(ctx, func(tx store.Tx) error {
		hs, err := tx.ListHosts("")
		for _, h := range hs {
			if h.Remote() && !h.Agent.Unreachable && h.Agent.LastSeen != nil && h.Agent.LastSeen.Before(cutoff) {
				overdue = true
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	if overdue {
		var marked []string
		err = m.Store.Write(ctx, func(tx store.Tx) error {
			var err error
			if marked, err = tx.MarkHostsUnreachable(cutoff); err != nil || len(marked) == 0 {
				return err
			}
			return m.noteMachines(tx, marked)
		})
		for _, id := range marked {
			m.Logger.Warn("fleet: host unreachable", "host", id, "timeout", m.Timeout)
		}
		if err != nil {
			return err
		}
	}
	if now.Sub(m.pruned) < time.Hour {
		return nil
	}
	m.pruned = now
	return m.Store.Write(ctx, func(tx store.Tx) error { _, err := tx.PruneAgentOps(now.Add(-time.Hour)); return err })
}

// noteMachines records the event in error on every live machine of hosts.
func (m *Monitor) noteMachines(tx store.Tx, hosts []string) error {
	for _, h := range hosts {
		ms, err := tx.ListHostMachines(h)
		if err != nil {
			return err
		}
		for _, mc := range ms {
			ev, err := m.Env.NewEvent(tx, mc.ID, UnreachableEvent)
			if err != nil {
				return err
			}
			msg := "host unreachable: the machine's host missed its heartbeats; " + string(mc.State) +
				" is its last known state"
			if err := m.Env.FinishEvent(tx, ev.Handle, core.EventError, msg); err != nil {
				return err
			}
		}
	}
	return nil
}
