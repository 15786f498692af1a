package sqlstore

import (
	"sort"
	"time"
)

// skipLocked is the clause that ends the subquery by which a claim picks its rows: on a
// backend with row locks, concurrent claimers skip each other's rows instead of queueing on
// them.
func (t *Tx) skipLocked() string {
	if t.d.RowLocks {
		return " FOR UPDATE SKIP LOCKED"
	}
	return ""
}

// ClaimDue leases due machines. With row locks (PostgreSQL) the inner SELECT skips rows
// that other claimers hold; a row another claimer leased and committed after this
// transaction's snapshot fails it with a serialization failure, and the retried Write sees
// the lease. No machine is ever leased to two owners at once. SQLite has one writer and
// needs nothing more.
func (t *Tx) ClaimDue(now time.Time, owner string, leaseUntil time.Time, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	type claimed struct {
		id          string
		nextAt, seq int64
	}
	cs, err := list(t, "due machines", func(s Row) (c claimed, err error) {
		err = s.Scan(&c.id, &c.nextAt, &c.seq)
		return c, err
	}, `UPDATE machines SET lease_owner = $1, lease_until = $2
		WHERE internal_id IN (
			SELECT internal_id FROM machines
			WHERE deleted_at IS NULL AND next_at IS NOT NULL AND next_at <= $3
			  AND (lease_until IS NULL OR lease_until <= $3)
			ORDER BY next_at, internal_id
			LIMIT $4`+t.skipLocked()+`)
		RETURNING id, next_at, internal_id`, owner, ms(leaseUntil), ms(now), limit)
	if err != nil {
		return nil, err
	}
	// RETURNING has no defined order.
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].nextAt != cs[j].nextAt {
			return cs[i].nextAt < cs[j].nextAt
		}
		return cs[i].seq < cs[j].seq
	})
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.id
	}
	return ids, nil
}

// ReleaseLease is a no-op unless owner holds the lease.
func (t *Tx) ReleaseLease(machineID, owner string) error {
	_, err := t.x.Exec(`UPDATE machines SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2`,
		machineID, owner)
	return t.Err(err, "machine lease", machineID)
}

// ResetLeases implements store.Tx.
func (t *Tx) ResetLeases() error {
	_, err := t.x.Exec(`UPDATE machines SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL`)
	return t.Err(err, "machine leases", "")
}

// NextDue is the earliest NextAt of a live machine, leased or not: a caller that sleeps
// until then and finds the machine leased simply claims nothing.
func (t *Tx) NextDue() (*time.Time, error) {
	var next *time.Time
	err := t.x.QueryRow(`SELECT MIN(next_at) FROM machines WHERE deleted_at IS NULL AND next_at IS NOT NULL`).
		Scan(nullTimeCol{&next})
	return next, t.Err(err, "next due machine", "")
}
