package lifecycle

import (
	"hangar/internal/core"
	"hangar/internal/store"
)

// QuotaDefaults returns the limits of a team without overrides: the operator's (Env.Quotas,
// `hangar serve --quota`) over the built-in ones.
func (e *Env) QuotaDefaults() core.QuotaLimits {
	out := core.DefaultQuotas()
	for q, n := range e.Quotas {
		out[q] = n
	}
	return out
}

// TeamLimits returns the limits of a team, and which of them are the team's overrides.
func (e *Env) TeamLimits(tx store.Tx, teamID string) (limits, overrides core.QuotaLimits, err error) {
	overrides, err = tx.TeamQuotas(teamID)
	if err != nil {
		return nil, nil, err
	}
	limits = e.QuotaDefaults()
	for q, n := range overrides {
		if q.Valid() {
			limits[q] = n
		}
	}
	return limits, overrides, nil
}

// CheckQuota fails with core.QuotaExceeded unless the team may hold one more of each of qs.
// It reads the counts in tx, so a write that it allows commits with the counts it saw:
// concurrent writes that would together go over the limit conflict (serialisable
// transactions on PostgreSQL, one writer at a time on SQLite).
func (e *Env) CheckQuota(tx store.Tx, teamID string, qs ...core.Quota) error {
	if len(qs) == 0 {
		return nil
	}
	limits, _, err := e.TeamLimits(tx, teamID)
	if err != nil {
		return err
	}
	usage, err := tx.TeamUsage(teamID, qs...)
	if err != nil {
		return err
	}
	for _, q := range qs {
		if n := limits[q]; n != core.Unlimited && usage[q]+1 > n {
			return core.QuotaExceeded(teamID, q, n)
		}
	}
	return nil
}
