package engine

import (
	"context"
	"time"

	"hangar/internal/core"
	"hangar/internal/hypervisor"
	"hangar/internal/store"
)

// lostMessage is the errorMsg of the stop event recorded for a VM that went away by itself.
const lostMessage = "The machine's virtual machine stopped unexpectedly."

// watch checks the machines shown ready against their hosts' drivers every WatchInterval.
func (e *Engine) watch(ctx context.Context) {
	t := time.NewTicker(e.cfg.WatchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if e.health.backingOff() {
			continue // the store is failing: the next tick after the pause looks again
		}
		if _, err := e.Reconcile(ctx); err != nil && ctx.Err() == nil {
			e.health.failed("watch", err)
		}
	}
}

// Reconcile records every ready machine whose VM the driver of its host reports lost as off,
// with a stop event in state error, and returns how many it found. Machines on hosts whose
// drivers are not hypervisor.Watchers are left alone; when no host's driver is one, no
// machine is read. Each driver call ends within DriverTimeout.
func (e *Engine) Reconcile(ctx context.Context) (int, error) {
	var hosts []core.HostLoad
	if err := e.st.Read(ctx, func(tx store.Tx) (err error) { hosts, err = tx.ListHosts(""); return }); err != nil {
		return 0, err
	}
	watchers := map[string]hypervisor.Watcher{} // by host id; nil: not watched
	watcher := func(hostID string) hypervisor.Watcher {
		w, seen := watchers[hostID]
		if !seen {
			dctx, cancel := context.WithTimeout(ctx, e.cfg.DriverTimeout)
			drv, err := e.drvs.DriverFor(dctx, hostID)
			cancel()
			if err != nil {
				e.log.Warn("engine: watch: no driver for host", "host", hostID, "err", err)
			}
			w, _ = drv.(hypervisor.Watcher)
			watchers[hostID] = w
		}
		return w
	}
	watched := false
	for _, h := range hosts {
		watched = watcher(h.ID) != nil || watched
	}
	if !watched {
		return 0, nil
	}
	var ready []core.Machine
	err := e.st.Read(ctx, func(tx store.Tx) error {
		teams, err := tx.ListTeams()
		if err != nil {
			return err
		}
		for _, t := range teams {
			ms, err := tx.ListMachines(core.MachineQuery{TeamID: t.ID,
				Where: []core.Filter{{Field: "state", Value: core.FilterValue{Str: string(core.StateReady)}}}})
			if err != nil {
				return err
			}
			ready = append(ready, ms...)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range ready {
		w := watcher(m.HostID)
		if w == nil {
			continue
		}
		dctx, cancel := context.WithTimeout(ctx, e.cfg.DriverTimeout)
		lost := w.Lost(dctx, m)
		cancel()
		if !lost {
			continue
		}
		changed := false
		err := e.st.Write(ctx, func(tx store.Tx) error {
			changed = false
			cur, err := tx.GetMachine(m.ID)
			if err != nil || cur.State != core.StateReady || !cur.PhaseSince.Equal(m.PhaseSince) {
				return err // gone, or a user call moved it meanwhile
			}
			ev, err := e.env.NewEvent(tx, cur.ID, core.EventStop)
			if err != nil {
				return err
			}
			if err := e.env.FinishEvent(tx, ev.Handle, core.EventError, lostMessage); err != nil {
				return err
			}
			if err := e.powerOff(tx, &cur); err != nil {
				return err
			}
			changed = true
			return tx.UpdateMachine(&cur)
		})
		if err != nil && !core.IsNotFound(err) {
			return n, err
		}
		if changed {
			n++
			e.log.Warn("engine: the machine's VM is gone; recorded as off", "machine", m.ID)
		}
	}
	return n, nil
}
