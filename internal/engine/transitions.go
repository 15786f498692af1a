package engine

import (
	"time"

	"hangar/internal/core"
	"hangar/internal/hypervisor"
	"hangar/internal/store"
)

// complete applies the end of m's current state (spec §3.2) inside tx.
func (e *Engine) complete(tx store.Tx, m *core.Machine, res hypervisor.Result) error {
	switch m.State {
	case core.StateProvisioning:
		applyFacts(m, res.Facts)
		if err := e.finishNamed(tx, m.ID, core.EventCreate, core.EventDone, ""); err != nil {
			return err
		}
		if m.OpEvent == "" { // startOnCreate=false
			e.env.Enter(m, core.StateOff)
			return e.env.ReleaseCapacity(tx, m)
		}
		if m.DynamicPublicIP {
			if err := e.env.AllocatePublicIP(tx, m, true); err != nil {
				if core.ErrorCode(err) == core.Unavailable {
					return e.fail(tx, m, core.ErrorMessage(err))
				}
				return err
			}
		}
		e.env.Enter(m, core.StateStarting)
	case core.StateStarting, core.StateRestarting:
		e.env.Enter(m, core.StateServiceReady)
	case core.StateServiceReady:
		if err := e.env.FinishEvent(tx, m.OpEvent, core.EventDone, ""); err != nil {
			return err
		}
		m.OpEvent = ""
		if res.Facts.StorageUsed != nil {
			m.StorageUsed = res.Facts.StorageUsed
		}
		if err := e.runScript(tx, m, res.Facts.ScriptRan); err != nil {
			return err
		}
		m.Booted = true
		e.env.Enter(m, core.StateReady)
	case core.StateStopping:
		if err := e.env.FinishEvent(tx, m.OpEvent, core.EventDone, ""); err != nil {
			return err
		}
		m.OpEvent = ""
		return e.powerOff(tx, m)
	default: // stable states have nothing to complete
		m.NextAt = nil
	}
	return nil
}

// fail ends m's current operation with an error event and a safe state.
func (e *Engine) fail(tx store.Tx, m *core.Machine, msg string) error {
	if m.State == core.StateProvisioning {
		if err := e.finishNamed(tx, m.ID, core.EventCreate, core.EventError, msg); err != nil {
			return err
		}
	}
	if err := e.env.FinishEvent(tx, m.OpEvent, core.EventError, msg); err != nil {
		return err
	}
	m.OpEvent = ""
	if m.State == core.StateStopping { // a failed stop leaves the machine running
		e.env.Enter(m, core.StateReady)
		return nil
	}
	return e.powerOff(tx, m)
}

func (e *Engine) powerOff(tx store.Tx, m *core.Machine) error {
	e.env.Enter(m, core.StateOff)
	if m.DynamicPublicIP {
		if err := e.env.ReleasePublicIP(tx, m, false); err != nil {
			return err
		}
	}
	return e.env.ReleaseCapacity(tx, m)
}

// finishNamed finishes the in-progress event called name of a machine.
func (e *Engine) finishNamed(tx store.Tx, machineID, name string, state core.EventState, msg string) error {
	events, err := tx.ListEvents(machineID, 0)
	if err != nil {
		return err
	}
	for _, ev := range events {
		if ev.Name == name && ev.State == core.EventInProgress {
			if err := e.env.FinishEvent(tx, ev.Handle, state, msg); err != nil {
				return err
			}
		}
	}
	return nil
}

// runScript records a startup-script run when the machine boots (spec §3.2): enabled scripts
// run on every boot, runOnce scripts on the first only. Drivers that run real guests report
// when the guest ran it (ran); for them nothing is recorded without that report.
func (e *Engine) runScript(tx store.Tx, m *core.Machine, ran *time.Time) error {
	if ran != nil {
		m.LastRun = ran
		return nil
	}
	if e.cfg.GuestScripts {
		return nil
	}
	if m.ScriptID == nil {
		return nil
	}
	sc, err := tx.GetScript(*m.ScriptID)
	if core.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if !sc.Enabled || (sc.RunOnce && m.Booted) {
		return nil
	}
	now := e.env.Clock.Now()
	m.LastRun = &now
	return nil
}

func applyFacts(m *core.Machine, f hypervisor.Facts) {
	if f.OS != nil {
		m.OS = f.OS
	}
	if f.CPUs > 0 {
		m.CPUs = f.CPUs
	}
	if f.RAM != nil {
		m.RAM = f.RAM
	}
	if f.GPU != nil {
		m.GPU = f.GPU
	}
	if f.StorageTotal != nil {
		m.StorageTotal = f.StorageTotal
	}
	if f.StorageUsed != nil {
		m.StorageUsed = f.StorageUsed
	}
}
