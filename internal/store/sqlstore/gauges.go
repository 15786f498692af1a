package sqlstore

import (
	"time"

	"hangar/internal/store"
)

// Gauges implements store.Tx: one GROUP BY over the live machines and two counts that the
// next_at indexes answer.
func (t *Tx) Gauges(now time.Time) (store.Gauges, error) {
	var g store.Gauges
	counts, err := list(t, "machine counts", func(s Row) (c store.MachineCount, err error) {
		err = s.Scan(&c.State, &c.MachineType, &c.Region, &c.Count)
		return c, err
	}, `SELECT state, machine_type, region, COUNT(*) FROM machines WHERE deleted_at IS NULL
		GROUP BY state, machine_type, region ORDER BY state, machine_type, region`)
	if err != nil {
		return g, err
	}
	g.Machines = counts
	err = t.x.QueryRow(`SELECT COUNT(*),
			COALESCE(SUM(CASE WHEN lease_owner IS NOT NULL AND lease_until <= $1 THEN 1 ELSE 0 END), 0)
		FROM machines WHERE deleted_at IS NULL AND next_at IS NOT NULL AND next_at <= $1`, ms(now)).
		Scan(&g.Due, &g.ExpiredLeases)
	if err != nil {
		return g, t.Err(err, "engine queue", "")
	}
	err = t.x.QueryRow(`SELECT COUNT(*) FROM outbox WHERE next_at IS NOT NULL`).Scan(&g.Outbox)
	return g, t.Err(err, "outbox depth", "")
}
