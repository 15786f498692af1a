package postgres

import (
	"sort"
	"time"
)

// ClaimDue leases due machines. The inner SELECT takes FOR UPDATE SKIP LOCKED, so claimers
// on several replicas skip each other's rows instead of queueing on them; a row another
// claimer leased and committed after this transaction's snapshot fails it with a
// serialization failure, and the retried Write sees the lease. No machine is ever leased to
// two owners at once.
func (t *tx) ClaimDue(now time.Time, owner string, leaseUntil time.Time, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := t.query(`UPDATE machines SET lease_owner = $1, lease_until = $2
		WHERE internal_id IN (
			SELECT internal_id FROM machines
			WHERE deleted_at IS NULL AND next_at IS NOT NULL AND next_at <= $3
			  AND (lease_until IS NULL OR lease_until <= $3)
			ORDER BY next_at, internal_id
			LIMIT $4
			FOR UPDATE SKIP LOCKED)
		RETURNING id, next_at, internal_id`, owner, ms(leaseUntil), ms(now), limit)
	if err != nil {
		return nil, t.dbErr(err, "due machines", "")
	}
	defer rows.Close()
	type claimed struct {
		id     string
		nextAt int64
		seq    int64
	}
	var cs []claimed
	for rows.Next() {
		var c claimed
		if err := rows.Scan(&c.id, &c.nextAt, &c.seq); err != nil {
			return nil, t.dbErr(err, "due machines", "")
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, t.dbErr(err, "due machines", "")
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
func (t *tx) ReleaseLease(machineID, owner string) error {
	_, err := t.exec(`UPDATE machines SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2`,
		machineID, owner)
	return t.dbErr(err, "machine lease", machineID)
}

func (t *tx) ResetLeases() error {
	_, err := t.exec(`UPDATE machines SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL`)
	return t.dbErr(err, "machine leases", "")
}

// NextDue is the earliest NextAt of a live machine, leased or not: a caller that sleeps
// until then and finds the machine leased simply claims nothing.
func (t *tx) NextDue() (*time.Time, error) {
	var next *time.Time
	err := t.queryRow(`SELECT MIN(next_at) FROM machines WHERE deleted_at IS NULL AND next_at IS NOT NULL`).
		Scan(nullTimeCol{&next})
	return next, t.dbErr(err, "next due machine", "")
}
