package postgres

import (
	"sort"
	"time"

	"hangar/internal/core"
)

const snapshotCols = `id, machine_id, kind, created, pruned`

func scanSnapshot(s scanner) (core.Snapshot, error) {
	var v core.Snapshot
	err := s.Scan(&v.ID, &v.MachineID, &v.Kind, timeCol{&v.Created}, &v.Pruned)
	return v, err
}

func (t *tx) CreateSnapshot(s *core.Snapshot) error {
	return t.insert("snapshot", s.ID, "", `INSERT INTO snapshots (`+snapshotCols+`) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT DO NOTHING`, s.ID, s.MachineID, s.Kind, ms(s.Created), s.Pruned)
}

func (t *tx) ListSnapshots(machineID string) ([]core.Snapshot, error) {
	return list(t, "snapshots", scanSnapshot, `SELECT `+snapshotCols+` FROM snapshots
		WHERE machine_id = $1 ORDER BY created, id`, machineID)
}

func (t *tx) PruneSnapshot(id string) error {
	return t.execOne("snapshot", id, `UPDATE snapshots SET pruned = TRUE WHERE id = $1`, id)
}

func (t *tx) DeleteSnapshot(id string) error {
	return t.execOne("snapshot", id, `DELETE FROM snapshots WHERE id = $1`, id)
}

const mailCols = `id, machine_id, recipient, subject, body, created, attempts, next_at, sent, last_error`

func scanMail(s scanner) (core.Mail, error) {
	var m core.Mail
	err := s.Scan(&m.ID, &m.MachineID, &m.To, &m.Subject, &m.Body, timeCol{&m.Created}, &m.Attempts,
		nullTimeCol{&m.NextAt}, nullTimeCol{&m.Sent}, &m.LastError)
	return m, err
}

func (t *tx) CreateMail(m *core.Mail) error {
	return t.insert("mail", m.ID, "", `INSERT INTO outbox (`+mailCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT DO NOTHING`, m.ID, m.MachineID, m.To, m.Subject, m.Body, ms(m.Created), m.Attempts,
		nullMS(m.NextAt), nullMS(m.Sent), m.LastError)
}

func (t *tx) ListMail(machineID string) ([]core.Mail, error) {
	return list(t, "mail", scanMail, `SELECT `+mailCols+` FROM outbox
		WHERE machine_id = $1 ORDER BY created, id`, machineID)
}

// ClaimMail leases due messages like ClaimDue: FOR UPDATE SKIP LOCKED lets replicas skip
// each other's rows.
func (t *tx) ClaimMail(now time.Time, owner string, leaseUntil time.Time, limit int) ([]core.Mail, error) {
	if limit <= 0 {
		return nil, nil
	}
	out, err := list(t, "due mail", scanMail, `UPDATE outbox SET lease_owner = $1, lease_until = $2
		WHERE id IN (
			SELECT id FROM outbox
			WHERE next_at IS NOT NULL AND next_at <= $3 AND (lease_until IS NULL OR lease_until <= $3)
			ORDER BY next_at, id
			LIMIT $4
			FOR UPDATE SKIP LOCKED)
		RETURNING `+mailCols, owner, ms(leaseUntil), ms(now), limit)
	sort.Slice(out, func(i, j int) bool { // RETURNING has no defined order
		if !out[i].NextAt.Equal(*out[j].NextAt) {
			return out[i].NextAt.Before(*out[j].NextAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, err
}

func (t *tx) FinishMailAttempt(m *core.Mail, owner string) (bool, error) {
	res, err := t.exec(`UPDATE outbox SET attempts = $3, next_at = $4, sent = $5, last_error = $6,
		lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2`,
		m.ID, owner, m.Attempts, nullMS(m.NextAt), nullMS(m.Sent), m.LastError)
	if err != nil {
		return false, t.dbErr(err, "mail", m.ID)
	}
	if res.RowsAffected() == 1 {
		return true, nil
	}
	var exists bool
	if err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM outbox WHERE id = $1)`, m.ID).Scan(&exists); err != nil {
		return false, t.dbErr(err, "mail", m.ID)
	}
	if !exists {
		return false, notFound("mail", m.ID)
	}
	return false, nil
}

func (t *tx) NextMailDue() (*time.Time, error) {
	var next *time.Time
	err := t.queryRow(`SELECT MIN(next_at) FROM outbox WHERE next_at IS NOT NULL`).Scan(nullTimeCol{&next})
	return next, t.dbErr(err, "next due mail", "")
}
