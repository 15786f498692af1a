package sqlstore

import (
	"slices"
	"strings"

	"hangar/internal/core"
)

// TeamQuotas implements store.Tx.
func (t *Tx) TeamQuotas(teamID string) (core.QuotaLimits, error) {
	type row struct {
		q string
		n int
	}
	rows, err := list(t, "team quotas", func(s Row) (row, error) {
		var r row
		err := s.Scan(&r.q, &r.n)
		return r, err
	}, `SELECT name, max_count FROM team_quotas WHERE team_id = $1 ORDER BY name`, teamID)
	if err != nil {
		return nil, err
	}
	out := core.QuotaLimits{}
	for _, r := range rows {
		out[core.Quota(r.q)] = r.n
	}
	return out, nil
}

// SetTeamQuota implements store.Tx with one upsert (or delete) both databases run.
func (t *Tx) SetTeamQuota(teamID string, q core.Quota, limit *int) error {
	if limit == nil {
		_, err := t.x.Exec(`DELETE FROM team_quotas WHERE team_id = $1 AND name = $2`, teamID, string(q))
		return t.Err(err, "team quota", teamID)
	}
	_, err := t.x.Exec(`INSERT INTO team_quotas (team_id, name, max_count) VALUES ($1, $2, $3)
		ON CONFLICT (team_id, name) DO UPDATE SET max_count = excluded.max_count`, teamID, string(q), *limit)
	return t.Err(err, "team quota", teamID)
}

// usageCounts are the statements of TeamUsage: machines and running are read from team_usage,
// which triggers keep in step with machines (migration 0011), so that the check of every
// create costs the same however many machines the team has; the others, whose default limits
// are small, are counts on an index that starts with team_id (snapshots through the team's
// live machines). A machine still provisioning with
// takeInitialSnapshot counts its initial snapshot already: the create that admitted it
// reserved it.
var usageCounts = map[core.Quota]string{
	core.QuotaMachines:  `COALESCE((SELECT machines FROM team_usage WHERE team_id = $1), 0)`,
	core.QuotaRunning:   `COALESCE((SELECT running FROM team_usage WHERE team_id = $1), 0)`,
	core.QuotaNetworks:  `(SELECT COUNT(*) FROM networks WHERE team_id = $1 AND deleted_at IS NULL)`,
	core.QuotaPublicIPs: `(SELECT COUNT(*) FROM public_ips WHERE team_id = $1)`,
	core.QuotaScripts:   `(SELECT COUNT(*) FROM scripts WHERE team_id = $1)`,
	core.QuotaSnapshots: `((SELECT COUNT(*) FROM snapshots s JOIN machines m ON m.id = s.machine_id
			WHERE m.team_id = $1 AND m.deleted_at IS NULL AND NOT s.pruned) +
		(SELECT COUNT(*) FROM machines WHERE team_id = $1 AND deleted_at IS NULL AND state = 'provisioning'
			AND take_initial_snapshot))`,
}

// TeamUsage implements store.Tx in one statement of the counts asked for.
func (t *Tx) TeamUsage(teamID string, qs ...core.Quota) (core.QuotaLimits, error) {
	if len(qs) == 0 {
		qs = core.Quotas()
	}
	var cols []string
	var asked []core.Quota
	for _, q := range qs {
		if c, ok := usageCounts[q]; ok && !slices.Contains(asked, q) {
			cols = append(cols, c)
			asked = append(asked, q)
		}
	}
	if len(asked) == 0 {
		return core.QuotaLimits{}, nil
	}
	vals := make([]int, len(asked))
	dest := make([]any, len(asked))
	for i := range vals {
		dest[i] = &vals[i]
	}
	if err := t.x.QueryRow(`SELECT `+strings.Join(cols, ", "), teamID).Scan(dest...); err != nil {
		return nil, t.Err(err, "usage of team", teamID)
	}
	out := make(core.QuotaLimits, len(asked))
	for i, q := range asked {
		out[q] = vals[i]
	}
	return out, nil
}
