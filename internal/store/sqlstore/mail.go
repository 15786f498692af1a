package sqlstore

import (
	"sort"
	"time"

	"hangar/internal/core"
)

const mailCols = `id, machine_id, recipient, subject, body, created, attempts, next_at, sent, last_error`

func scanMail(s Row) (core.Mail, error) {
	var m core.Mail
	err := s.Scan(&m.ID, &m.MachineID, &m.To, &m.Subject, &m.Body, timeCol{&m.Created}, &m.Attempts,
		nullTimeCol{&m.NextAt}, nullTimeCol{&m.Sent}, &m.LastError)
	return m, err
}

// CreateMail implements store.Tx.
func (t *Tx) CreateMail(m *core.Mail) error {
	return t.insert("mail", m.ID, "", `INSERT INTO outbox (`+mailCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT DO NOTHING`, m.ID, m.MachineID, m.To, m.Subject, m.Body, ms(m.Created), m.Attempts,
		nullMS(m.NextAt), nullMS(m.Sent), m.LastError)
}

// ListMail implements store.Tx.
func (t *Tx) ListMail(machineID string) ([]core.Mail, error) {
	return list(t, "mail", scanMail, `SELECT `+mailCols+` FROM outbox
		WHERE machine_id = $1 ORDER BY created, id`, machineID)
}

// ClaimMail leases due messages like ClaimDue, skipping rows other claimers hold where the
// backend has row locks.
func (t *Tx) ClaimMail(now time.Time, owner string, leaseUntil time.Time, limit int) ([]core.Mail, error) {
	if limit <= 0 {
		return nil, nil
	}
	out, err := list(t, "due mail", scanMail, `UPDATE outbox SET lease_owner = $1, lease_until = $2
		WHERE id IN (
			SELECT id FROM outbox
			WHERE next_at IS NOT NULL AND next_at <= $3 AND (lease_until IS NULL OR lease_until <= $3)
			ORDER BY next_at, id
			LIMIT $4`+t.skipLocked()+`)
		RETURNING `+mailCols, owner, ms(leaseUntil), ms(now), limit)
	sort.Slice(out, func(i, j int) bool { // RETURNING has no defined order
		if !out[i].NextAt.Equal(*out[j].NextAt) {
			return out[i].NextAt.Before(*out[j].NextAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, err
}

// FinishMailAttempt implements store.Tx.
func (t *Tx) FinishMailAttempt(m *core.Mail, owner string) (bool, error) {
	n, err := t.x.Exec(`UPDATE outbox SET attempts = $3, next_at = $4, sent = $5, last_error = $6,
		lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2`,
		m.ID, owner, m.Attempts, nullMS(m.NextAt), nullMS(m.Sent), m.LastError)
	if err != nil {
		return false, t.Err(err, "mail", m.ID)
	}
	if n == 1 {
		return true, nil
	}
	var exists bool
	if err := t.x.QueryRow(`SELECT EXISTS (SELECT 1 FROM outbox WHERE id = $1)`, m.ID).Scan(&exists); err != nil {
		return false, t.Err(err, "mail", m.ID)
	}
	if !exists {
		return false, notFound("mail", m.ID)
	}
	return false, nil
}

// NextMailDue implements store.Tx.
func (t *Tx) NextMailDue() (*time.Time, error) {
	var next *time.Time
	err := t.x.QueryRow(`SELECT MIN(next_at) FROM outbox WHERE next_at IS NOT NULL`).Scan(nullTimeCol{&next})
	return next, t.Err(err, "next due mail", "")
}
