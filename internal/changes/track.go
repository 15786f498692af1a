package changes

import (
	"context"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

// Track returns st with every committed write of a machine row published to pub: creates,
// updates (the engine's state changes among them), destroys and access grants. A change is
// published only after its transaction committed, so a subscriber that reads the machine then
// sees the change; a transaction that fails publishes nothing.
func Track(st store.Store, pub Publisher) store.Store {
	return store.KeepAuthGeneration(&tracked{Store: st, pub: pub}, st)
}

type tracked struct {
	store.Store
	pub Publisher
}

// Write implements store.Store. fn may be run more than once (store.Store.Write); only the
// changes of the run that committed are published.
func (t *tracked) Write(ctx context.Context, fn func(store.Tx) error) error {
	var rec recorder
	err := t.Store.Write(ctx, func(tx store.Tx) error {
		rec.changes = rec.changes[:0]
		return fn(&recTx{Tx: tx, rec: &rec})
	})
	if err == nil && len(rec.changes) > 0 {
		t.pub.Publish(rec.changes...)
	}
	return err
}

type recorder struct{ changes []Change }

func (r *recorder) add(team, id string) {
	for _, c := range r.changes {
		if c.MachineID == id {
			return
		}
	}
	r.changes = append(r.changes, Change{TeamID: team, MachineID: id})
}

// recTx records the machines a transaction writes.
type recTx struct {
	store.Tx
	rec *recorder
}

func (t *recTx) CreateMachine(m *core.Machine) error {
	err := t.Tx.CreateMachine(m)
	if err == nil {
		t.rec.add(m.TeamID, m.ID)
	}
	return err
}

func (t *recTx) UpdateMachine(m *core.Machine) error {
	err := t.Tx.UpdateMachine(m)
	if err == nil {
		t.rec.add(m.TeamID, m.ID)
	}
	return err
}

func (t *recTx) DeleteMachine(id string, at time.Time) error {
	m, err := t.Tx.GetMachine(id)
	if err != nil {
		return err
	}
	if err := t.Tx.DeleteMachine(id, at); err != nil {
		return err
	}
	t.rec.add(m.TeamID, id)
	return nil
}

// SetAccess changes what a member sees, so it counts as a change of the machine.
func (t *recTx) SetAccess(machineID, userID string, on bool) error {
	if err := t.Tx.SetAccess(machineID, userID, on); err != nil {
		return err
	}
	if m, err := t.Tx.GetMachine(machineID); err == nil {
		t.rec.add(m.TeamID, machineID)
	}
	return nil
}
