package engine

import (
	"context"
	"strconv"
	"time"

	"hangar/internal/core"
	"hangar/internal/hypervisor"
	"hangar/internal/lifecycle"
	"hangar/internal/store"
)

// DefaultAutoSnapshotSaveCount is how many automatic snapshots are kept when
// autoSnapshotSaveCount is null.
const DefaultAutoSnapshotSaveCount = 1

// SnapshotID is the id of a machine's snapshot for tag: the initial snapshot's tag is
// "init", an automatic snapshot's its due time. Deterministic ids make a retried step ask the
// driver for the same snapshot again instead of leaving a second one behind.
func SnapshotID(machineID, tag string) string { return "snap-" + machineID + "-" + tag }

func autoSnapshotID(machineID string, due time.Time) string {
	return SnapshotID(machineID, strconv.FormatInt(due.UnixMilli(), 36))
}

// snapshotter is drv's snapshot support, or nil.
func snapshotter(drv hypervisor.Driver) hypervisor.Snapshotter {
	sn, _ := drv.(hypervisor.Snapshotter)
	return sn
}

// diskEffects does the driver's disk work at the end of a completed state, before its
// commit: the initial snapshot when provisioning finishes (its id is returned), and the
// return to the restore point when a stop finishes. Both are idempotent, so a step retried
// after a failed commit repeats them harmlessly. A permanent driver error skips the work
// (logged); other errors are returned and the step is retried.
func (e *Engine) diskEffects(ctx context.Context, drv hypervisor.Driver, m core.Machine) (string, error) {
	sn := snapshotter(drv)
	switch {
	case m.State == core.StateProvisioning && m.TakeInitialSnapshot:
		if sn == nil {
			e.log.Warn("engine: driver keeps no snapshots; takeInitialSnapshot ignored", "machine", m.ID)
			return "", nil
		}
		id := SnapshotID(m.ID, "init")
		if err := sn.Snapshot(ctx, m, id); err != nil {
			if hypervisor.IsPermanent(err) {
				e.log.Error("engine: initial snapshot failed", "machine", m.ID, "err", err)
				return "", nil
			}
			return "", err
		}
		return id, nil
	case m.State == core.StateStopping && restoresOnStop(m):
		if sn == nil {
			e.log.Warn("engine: driver keeps no snapshots; restore point ignored", "machine", m.ID)
			return "", nil
		}
		if err := sn.Revert(ctx, m, *m.RestorePointSnapshotID); err != nil {
			if hypervisor.IsPermanent(err) {
				e.log.Error("engine: restore point not restored", "machine", m.ID,
					"snapshot", *m.RestorePointSnapshotID, "err", err)
				return "", nil
			}
			return "", err
		}
		e.log.Info("engine: restored restore point", "machine", m.ID, "snapshot", *m.RestorePointSnapshotID)
	}
	return "", nil
}

// restoresOnStop reports whether m returns to its restore point whenever it stops.
func restoresOnStop(m core.Machine) bool {
	return m.RestorePointSnapshotID != nil && m.RestorePointFrequency != nil && *m.RestorePointFrequency == "shutdown"
}

// recordSnapshot records a snapshot the driver took, unless a retried step already did.
func (e *Engine) recordSnapshot(tx store.Tx, machineID, id, kind string) error {
	s := core.Snapshot{ID: id, MachineID: machineID, Kind: kind, Created: e.env.Clock.Now()}
	err := tx.CreateSnapshot(&s)
	if core.ErrorCode(err) == core.Conflict {
		return nil
	}
	return err
}

// fireTimers fires the due timers of a machine in a stable state: auto-shutdown stops a
// ready machine through the same transition as the API's stop (a stop event), and
// auto-snapshot takes a snapshot and prunes the automatic ones beyond autoSnapshotSaveCount.
// Each timer is cleared or moved on in the transaction that records its effect, and only if
// it is still the one that was due, so it fires once. The driver of m's host is looked up
// only when a snapshot is to be taken or deleted, and its calls end by j's deadline.
func (e *Engine) fireTimers(ctx context.Context, j job, m core.Machine) {
	now := e.env.Clock.Now()
	dctx, cancel := context.WithDeadline(ctx, e.deadline(j))
	defer cancel()
	var sn hypervisor.Snapshotter
	var lerr error // the lookup's error
	looked := false
	lookup := func() error {
		if !looked {
			looked = true
			var drv hypervisor.Driver
			if drv, lerr = e.driverFor(dctx, m); lerr == nil {
				sn = snapshotter(drv)
			}
		}
		return lerr
	}
	var taken string
	var due time.Time
	if m.SnapshotAt != nil && !m.SnapshotAt.After(now) {
		due = *m.SnapshotAt
		if err := lookup(); err != nil {
			if !hypervisor.IsPermanent(err) { // try again later
				e.log.Warn("engine: no driver for the machine's host; auto-snapshot will retry", "machine", m.ID, "host", m.HostID, "err", err)
				e.retryLater(ctx, m)
				return
			}
			e.log.Error("engine: auto-snapshot failed: no driver for the machine's host", "machine", m.ID, "host", m.HostID, "err", err)
		} else if sn == nil {
			e.log.Warn("engine: driver keeps no snapshots; auto-snapshot skipped", "machine", m.ID)
		} else {
			id := autoSnapshotID(m.ID, due)
			switch err := sn.Snapshot(dctx, m, id); {
			case err == nil:
				taken = id
			case hypervisor.IsPermanent(err):
				e.log.Error("engine: auto-snapshot failed", "machine", m.ID, "err", err)
			default: // try again later
				e.log.Warn("engine: auto-snapshot failed, will retry", "machine", m.ID, "err", err)
				e.retryLater(ctx, m)
				return
			}
		}
	}
	if e.expired(j) {
		// A snapshot taken here is kept under its deterministic id, so the step that runs
		// again finds it and records it.
		e.log.Warn("engine: timers outlived their lease; left for the next claim", "machine", m.ID)
		e.release(ctx, m.ID)
		return
	}
	var prune []core.Snapshot
	recorded := false
	err := e.st.Write(ctx, func(tx store.Tx) error {
		prune, recorded = nil, false
		cur, err := tx.GetMachine(m.ID)
		if err != nil {
			return err
		}
		if !lifecycle.Stable(cur.State) {
			// A user call started a transition meanwhile: the timers stay due and fire once
			// the machine is stable again.
			return tx.ReleaseLease(m.ID, e.owner)
		}
		if !due.IsZero() && cur.SnapshotAt != nil && cur.SnapshotAt.Equal(due) {
			if taken != "" {
				fits, err := e.snapshotFits(tx, cur)
				if err != nil {
					return err
				}
				if fits {
					if err := e.recordSnapshot(tx, cur.ID, taken, core.SnapshotAuto); err != nil {
						return err
					}
					recorded = true
				} else { // deleted from the driver below, as one taken for a timer that moved
					e.log.Warn("engine: auto-snapshot not kept: the team is at its snapshots quota",
						"machine", cur.ID, "team", cur.TeamID)
				}
			}
			cur.SnapshotAt = lifecycle.NextAutoSnapshot(&cur, due, now)
			if prune, err = retention(tx, cur); err != nil {
				return err
			}
		}
		if cur.State == core.StateReady && cur.ShutdownAt != nil && !cur.ShutdownAt.After(now) {
			e.log.Info("engine: auto-shutdown", "machine", cur.ID, "timeout_hours", deref(cur.ShutdownTimeoutInHours))
			if _, err := e.env.Apply(tx, &cur, core.ActionStop); err != nil {
				return err
			}
		}
		if lifecycle.Stable(cur.State) {
			cur.Attempts = 0
		}
		lifecycle.Reschedule(&cur)
		if err := tx.UpdateMachine(&cur); err != nil {
			return err
		}
		return tx.ReleaseLease(m.ID, e.owner)
	})
	if err != nil {
		if !core.IsNotFound(err) {
			e.health.failed("commit timers", err, "machine", m.ID)
		}
		e.release(ctx, m.ID)
	}
	if taken != "" && !recorded { // taken for a timer that moved meanwhile
		if derr := sn.DeleteSnapshot(dctx, m, taken); derr != nil {
			e.log.Warn("engine: delete unrecorded snapshot", "machine", m.ID, "snapshot", taken, "err", derr)
		}
	}
	if err == nil && len(prune) > 0 {
		if err := lookup(); err != nil {
			// The records stay marked pruned; the next auto-snapshot deletes them again.
			e.log.Warn("engine: no driver for the machine's host; pruned snapshots kept", "machine", m.ID, "host", m.HostID, "err", err)
			return
		}
		e.dropSnapshots(ctx, dctx, sn, m, prune)
	}
}

// snapshotFits reports whether one more automatic snapshot of m keeps its team within its
// snapshots quota, counting the automatic snapshot of m that retention then prunes: a
// machine that only rotates its snapshots never grows the count, even over a lowered quota.
func (e *Engine) snapshotFits(tx store.Tx, m core.Machine) (bool, error) {
	limits, _, err := e.env.TeamLimits(tx, m.TeamID)
	if err != nil {
		return false, err
	}
	limit := limits[core.QuotaSnapshots]
	if limit == core.Unlimited {
		return true, nil
	}
	usage, err := tx.TeamUsage(m.TeamID, core.QuotaSnapshots)
	if err != nil {
		return false, err
	}
	all, err := tx.ListSnapshots(m.ID)
	if err != nil {
		return false, err
	}
	keep := DefaultAutoSnapshotSaveCount
	if m.AutoSnapshotSaveCount != nil {
		keep = *m.AutoSnapshotSaveCount
	}
	live := 0
	for _, s := range all {
		if s.Kind == core.SnapshotAuto && !s.Pruned && (m.RestorePointSnapshotID == nil || s.ID != *m.RestorePointSnapshotID) {
			live++
		}
	}
	now := usage[core.QuotaSnapshots]
	after := now + 1 - max(0, live+1-keep)
	return after <= limit || after <= now, nil
}

// retention marks the automatic snapshots of m beyond autoSnapshotSaveCount (oldest first)
// pruned and returns every pruned snapshot of m, including ones an earlier crash left behind.
func retention(tx store.Tx, m core.Machine) ([]core.Snapshot, error) {
	keep := DefaultAutoSnapshotSaveCount
	if m.AutoSnapshotSaveCount != nil {
		keep = *m.AutoSnapshotSaveCount
	}
	all, err := tx.ListSnapshots(m.ID)
	if err != nil {
		return nil, err
	}
	var live []core.Snapshot
	for _, s := range all {
		if s.Kind == core.SnapshotAuto && !s.Pruned && (m.RestorePointSnapshotID == nil || s.ID != *m.RestorePointSnapshotID) {
			live = append(live, s)
		}
	}
	drop := map[string]bool{}
	for i := 0; i < len(live)-keep; i++ { // oldest first
		if err := tx.PruneSnapshot(live[i].ID); err != nil {
			return nil, err
		}
		drop[live[i].ID] = true
	}
	var out []core.Snapshot
	for _, s := range all {
		if s.Pruned || drop[s.ID] {
			s.Pruned = true
			out = append(out, s)
		}
	}
	return out, nil
}

// dropSnapshots deletes pruned snapshots from sn (nil: a driver that keeps none) under
// dctx, then their records. A crash in between leaves records marked pruned, which the next
// auto-snapshot deletes again.
func (e *Engine) dropSnapshots(ctx, dctx context.Context, sn hypervisor.Snapshotter, m core.Machine, prune []core.Snapshot) {
	var gone []string
	for _, s := range prune {
		if sn != nil {
			if err := sn.DeleteSnapshot(dctx, m, s.ID); err != nil {
				e.log.Warn("engine: delete snapshot", "machine", m.ID, "snapshot", s.ID, "err", err)
				continue
			}
		}
		gone = append(gone, s.ID)
	}
	err := e.st.Write(ctx, func(tx store.Tx) error {
		for _, id := range gone {
			if err := tx.DeleteSnapshot(id); err != nil && !core.IsNotFound(err) {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.health.failed("forget deleted snapshots", err, "machine", m.ID)
	}
}

// retryLater looks at m again after a backoff without changing its timers.
func (e *Engine) retryLater(ctx context.Context, m core.Machine) {
	err := e.st.Write(ctx, func(tx store.Tx) error {
		cur, err := tx.GetMachine(m.ID)
		if err != nil {
			return err
		}
		if lifecycle.Stable(cur.State) {
			cur.Attempts++
			at := e.env.Clock.Now().Add(backoff(cur.Attempts))
			cur.NextAt = &at
			if err := tx.UpdateMachine(&cur); err != nil {
				return err
			}
		}
		return tx.ReleaseLease(m.ID, e.owner)
	})
	if err != nil && !core.IsNotFound(err) {
		e.health.failed("reschedule timers", err, "machine", m.ID)
	}
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}
