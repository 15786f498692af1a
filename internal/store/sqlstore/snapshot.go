package sqlstore

import "hangar/internal/core"

const snapshotCols = `id, machine_id, kind, created, pruned`

func scanSnapshot(s Row) (core.Snapshot, error) {
	var v core.Snapshot
	err := s.Scan(&v.ID, &v.MachineID, &v.Kind, timeCol{&v.Created}, &v.Pruned)
	return v, err
}

// CreateSnapshot implements store.Tx.
func (t *Tx) CreateSnapshot(s *core.Snapshot) error {
	return t.insert("snapshot", s.ID, "", `INSERT INTO snapshots (`+snapshotCols+`) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT DO NOTHING`, s.ID, s.MachineID, s.Kind, ms(s.Created), s.Pruned)
}

// ListSnapshots implements store.Tx.
func (t *Tx) ListSnapshots(machineID string) ([]core.Snapshot, error) {
	return list(t, "snapshots", scanSnapshot, `SELECT `+snapshotCols+` FROM snapshots
		WHERE machine_id = $1 ORDER BY created, id`, machineID)
}

// PruneSnapshot implements store.Tx.
func (t *Tx) PruneSnapshot(id string) error {
	return t.execOne("snapshot", id, `UPDATE snapshots SET pruned = TRUE WHERE id = $1`, id)
}

// DeleteSnapshot implements store.Tx.
func (t *Tx) DeleteSnapshot(id string) error {
	return t.execOne("snapshot", id, `DELETE FROM snapshots WHERE id = $1`, id)
}
