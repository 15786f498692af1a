package engine

import (
	"errors"

	"hangar/internal/core"
	"hangar/internal/hypervisor"
	"hangar/internal/lifecycle"
	"hangar/internal/notify"
	"hangar/internal/store"
)

// complete applies the end of m's current state (spec §3.2) inside tx. snapshot is the
// initial snapshot diskEffects took when provisioning finished ("" for none).
func (e *Engine) complete(tx store.Tx, m *core.Machine, res hypervisor.Result, snapshot string) error {
	if ran := res.Facts.ScriptRan; ran != nil { // the guest ran its startup script on this boot
		t := *ran
		m.LastRun = &t
	}
	switch m.State {
	case core.StateProvisioning:
		applyFacts(m, res.Facts)
		if err := e.finishNamed(tx, m.ID, core.EventCreate, core.EventDone, ""); err != nil {
			return err
		}
		if snapshot != "" {
			if err := e.recordSnapshot(tx, m.ID, snapshot, core.SnapshotInitial); err != nil {
				return err
			}
			if m.MarkRestorePoint {
				m.RestorePointSnapshotID = &snapshot
			}
		}
		lifecycle.ArmAutoSnapshot(m, e.env.Clock.Now())
		if m.OpEvent == "" { // startOnCreate=false
			if err := e.env.Enter(tx, m, core.StateOff); err != nil {
				return err
			}
			return e.env.ReleaseCapacity(tx, m)
		}
		if m.DynamicPublicIP {
			if err := e.env.AllocatePublicIP(tx, m, true); err != nil {
				if core.ErrorCode(err) == core.Unavailable || errors.Is(err, core.ErrQuotaExceeded) {
					return e.fail(tx, m, core.ErrorMessage(err))
				}
				return err
			}
		}
		return e.env.Enter(tx, m, core.StateStarting)
	case core.StateStarting, core.StateRestarting:
		return e.env.Enter(tx, m, core.StateServiceReady)
	case core.StateServiceReady:
		if err := e.env.FinishEvent(tx, m.OpEvent, core.EventDone, ""); err != nil {
			return err
		}
		m.OpEvent = ""
		if res.Facts.StorageUsed != nil {
			m.StorageUsed = res.Facts.StorageUsed
		}
		first := !m.Booted
		m.Booted = true
		if err := e.env.Enter(tx, m, core.StateReady); err != nil {
			return err
		}
		if first && m.NotificationMail != nil {
			mail := notify.ReadyMail(*m, e.env.Clock.Now())
			return tx.CreateMail(&mail)
		}
	case core.StateStopping:
		if err := e.env.FinishEvent(tx, m.OpEvent, core.EventDone, ""); err != nil {
			return err
		}
		m.OpEvent = ""
		return e.powerOff(tx, m)
	default: // stable states have nothing to complete
		lifecycle.Reschedule(m)
	}
	return nil
}

// fail ends m's current operation with an error event and a safe state. A failed
// provisioning sends the failure message to m's notificationEmail.
func (e *Engine) fail(tx store.Tx, m *core.Machine, msg string) error {
	if m.State == core.StateProvisioning {
		if err := e.finishNamed(tx, m.ID, core.EventCreate, core.EventError, msg); err != nil {
			return err
		}
		if err := e.env.FinishEvent(tx, m.OpEvent, core.EventError, msg); err != nil {
			return err
		}
		m.OpEvent = ""
		if err := e.powerOff(tx, m); err != nil {
			return err
		}
		if m.NotificationMail == nil {
			return nil
		}
		mail := notify.FailedMail(*m, msg, e.env.Clock.Now())
		return tx.CreateMail(&mail)
	}
	if err := e.env.FinishEvent(tx, m.OpEvent, core.EventError, msg); err != nil {
		return err
	}
	m.OpEvent = ""
	if m.State == core.StateStopping { // a failed stop leaves the machine running
		return e.env.Enter(tx, m, core.StateReady)
	}
	return e.powerOff(tx, m)
}

func (e *Engine) powerOff(tx store.Tx, m *core.Machine) error {
	if err := e.env.Enter(tx, m, core.StateOff); err != nil {
		return err
	}
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

// bootScript returns the startup script to hand to the driver while m boots (spec §3.2):
// an enabled script on every boot, a runOnce script on the first boot only (before m first
// reached ready); nil otherwise, and outside the boot states.
func bootScript(tx store.Tx, m core.Machine) (*core.Script, error) {
	switch m.State {
	case core.StateProvisioning, core.StateStarting, core.StateRestarting, core.StateServiceReady:
	default:
		return nil, nil
	}
	if m.ScriptID == nil {
		return nil, nil
	}
	sc, err := tx.GetScript(*m.ScriptID)
	if core.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !sc.Enabled || (sc.RunOnce && m.Booted) {
		return nil, nil
	}
	return &sc, nil
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
