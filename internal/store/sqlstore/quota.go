package sqlstore

import "hangar/internal/core"

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

// TeamUsage implements store.Tx: one statement, each count on an index that starts with
// team_id (snapshots through the team's live machines). A machine still provisioning with
// takeInitialSnapshot counts its initial snapshot already: the create that admitted it
// reserved it.
func (t *Tx) TeamUsage(teamID string) (core.QuotaLimits, error) {
	var machines, running, networks, ips, scripts, snapshots int
	err := t.x.QueryRow(`SELECT
		(SELECT COUNT(*) FROM machines WHERE team_id = $1 AND deleted_at IS NULL),
		(SELECT COUNT(*) FROM machines WHERE team_id = $1 AND deleted_at IS NULL AND state <> 'off'),
		(SELECT COUNT(*) FROM networks WHERE team_id = $1 AND deleted_at IS NULL),
		(SELECT COUNT(*) FROM public_ips WHERE team_id = $1),
		(SELECT COUNT(*) FROM scripts WHERE team_id = $1),
		(SELECT COUNT(*) FROM snapshots s JOIN machines m ON m.id = s.machine_id
			WHERE m.team_id = $1 AND m.deleted_at IS NULL AND NOT s.pruned) +
		(SELECT COUNT(*) FROM machines WHERE team_id = $1 AND deleted_at IS NULL AND state = 'provisioning'
			AND take_initial_snapshot)`, teamID).
		Scan(&machines, &running, &networks, &ips, &scripts, &snapshots)
	if err != nil {
		return nil, t.Err(err, "usage of team", teamID)
	}
	return core.QuotaLimits{core.QuotaMachines: machines, core.QuotaRunning: running, core.QuotaNetworks: networks,
		core.QuotaPublicIPs: ips, core.QuotaScripts: scripts, core.QuotaSnapshots: snapshots}, nil
}
