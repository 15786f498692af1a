package sqlstore

import (
	"time"

	"hangar/internal/core"
)

// StartUsage opens a billable interval; the partial unique index machine_usage_open keeps at
// most one open interval per machine, so a second start is a no-op.
func (t *Tx) StartUsage(machineID string, at time.Time) error {
	_, err := t.x.Exec(`INSERT INTO machine_usage (machine_id, started, ended) VALUES ($1, $2, NULL)
		ON CONFLICT (machine_id) WHERE ended IS NULL DO NOTHING`, machineID, ms(at))
	return t.Err(err, "machine usage", machineID)
}

// EndUsage closes the open billable interval; one that would end at or before its start is
// dropped, so that the meter holds no empty intervals.
func (t *Tx) EndUsage(machineID string, at time.Time) error {
	if _, err := t.x.Exec(`DELETE FROM machine_usage WHERE machine_id = $1 AND ended IS NULL AND started >= $2`,
		machineID, ms(at)); err != nil {
		return t.Err(err, "machine usage", machineID)
	}
	_, err := t.x.Exec(`UPDATE machine_usage SET ended = $2 WHERE machine_id = $1 AND ended IS NULL`, machineID, ms(at))
	return t.Err(err, "machine usage", machineID)
}

const usageMachineSelect = `SELECT id, team_id, user_id, machine_type, billing_type, size_gb, created, deleted_at
	FROM machines`

func scanUsageMachine(s Row) (core.MachineUsage, error) {
	var u core.MachineUsage
	err := s.Scan(&u.MachineID, &u.TeamID, &u.UserID, &u.MachineType, &u.BillingType, &u.SizeGB,
		timeCol{&u.Created}, nullTimeCol{&u.Destroyed})
	return u, err
}

// usageRow is one billable interval of a machine.
type usageRow struct {
	machineID string
	iv        core.UsageInterval
}

func scanUsageRow(s Row) (usageRow, error) {
	var r usageRow
	err := s.Scan(&r.machineID, timeCol{&r.iv.Start}, nullTimeCol{&r.iv.End})
	return r, err
}

// GetUsage implements store.Tx.
func (t *Tx) GetUsage(machineID string, from, to time.Time) (core.MachineUsage, error) {
	u, err := scanUsageMachine(t.x.QueryRow(usageMachineSelect+` WHERE id = $1`, machineID))
	if err != nil {
		return u, t.Err(err, "machine", machineID)
	}
	rows, err := list(t, "machine usage", scanUsageRow, `SELECT machine_id, started, ended FROM machine_usage
		WHERE machine_id = $1 AND started < $3 AND (ended IS NULL OR ended > $2) ORDER BY started, id`,
		machineID, ms(from), ms(to))
	if err != nil {
		return u, err
	}
	for _, r := range rows {
		u.Billable = append(u.Billable, r.iv)
	}
	return u, nil
}

// ListUsage implements store.Tx.
func (t *Tx) ListUsage(from, to time.Time) ([]core.MachineUsage, error) {
	out, err := list(t, "machines", scanUsageMachine, usageMachineSelect+`
		WHERE created < $2 AND (deleted_at IS NULL OR deleted_at > $1) ORDER BY team_id, id`, ms(from), ms(to))
	if err != nil || len(out) == 0 {
		return out, err
	}
	rows, err := list(t, "machine usage", scanUsageRow, `SELECT machine_id, started, ended FROM machine_usage
		WHERE started < $2 AND (ended IS NULL OR ended > $1) ORDER BY machine_id, started, id`, ms(from), ms(to))
	if err != nil {
		return nil, err
	}
	index := make(map[string]int, len(out))
	for i, u := range out {
		index[u.MachineID] = i
	}
	for _, r := range rows {
		if i, ok := index[r.machineID]; ok {
			out[i].Billable = append(out[i].Billable, r.iv)
		}
	}
	return out, nil
}
