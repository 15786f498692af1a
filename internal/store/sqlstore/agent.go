package sqlstore

import (
	"time"

	"hangar/internal/core"
)

const joinTokenCols = `id, hash, region, expires, created, used, host_id`

func scanJoinToken(r Row) (core.JoinToken, error) {
	var j core.JoinToken
	err := r.Scan(&j.ID, &j.Hash, &j.Region, timeCol{&j.Expires}, timeCol{&j.Created}, nullTimeCol{&j.Used}, &j.HostID)
	return j, err
}

// CreateJoinToken implements store.Tx.
func (t *Tx) CreateJoinToken(j *core.JoinToken) error {
	return t.insert("join token", j.ID, "",
		`INSERT INTO join_tokens (`+joinTokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
		j.ID, j.Hash, j.Region, ms(j.Expires), ms(j.Created), nullMS(j.Used), j.HostID)
}

// GetJoinTokenByHash implements store.Tx.
func (t *Tx) GetJoinTokenByHash(hash string) (core.JoinToken, error) {
	j, err := scanJoinToken(t.x.QueryRow(`SELECT `+joinTokenCols+` FROM join_tokens WHERE hash = $1`, hash))
	return j, t.Err(err, "join token", "")
}

// UseJoinToken implements store.Tx: the update only matches an unused token, so of two
// transactions using one token only the first changes a row.
func (t *Tx) UseJoinToken(id, hostID string, at time.Time) error {
	n, err := t.x.Exec(`UPDATE join_tokens SET used = $2, host_id = $3 WHERE id = $1 AND used IS NULL`, id, ms(at), hostID)
	if err != nil {
		return t.Err(err, "join token", id)
	}
	if n == 0 {
		return core.Errorf(core.Conflict, "join token %s was used already", id)
	}
	return nil
}

const agentOpCols = `id, host_id, machine_id, kind, request, result, created, finished`

func scanAgentOp(r Row) (core.AgentOp, error) {
	var (
		o      core.AgentOp
		req    string
		result *string
	)
	err := r.Scan(&o.ID, &o.HostID, &o.MachineID, &o.Kind, &req, &result, timeCol{&o.Created}, nullTimeCol{&o.Finished})
	o.Request = []byte(req)
	if result != nil {
		o.Result = []byte(*result)
	}
	return o, err
}

// EnsureAgentOp implements store.Tx.
func (t *Tx) EnsureAgentOp(o *core.AgentOp) (core.AgentOp, error) {
	if _, err := t.x.Exec(`INSERT INTO agent_ops (`+agentOpCols+`) VALUES ($1, $2, $3, $4, $5, NULL, $6, NULL)
		ON CONFLICT DO NOTHING`, o.ID, o.HostID, o.MachineID, o.Kind, string(o.Request), ms(o.Created)); err != nil {
		return core.AgentOp{}, t.Err(err, "agent operation", o.ID)
	}
	return t.GetAgentOp(o.ID)
}

// GetAgentOp implements store.Tx.
func (t *Tx) GetAgentOp(id string) (core.AgentOp, error) {
	o, err := scanAgentOp(t.x.QueryRow(`SELECT `+agentOpCols+` FROM agent_ops WHERE id = $1`, id))
	return o, t.Err(err, "agent operation", id)
}

// ListPendingAgentOps implements store.Tx.
func (t *Tx) ListPendingAgentOps(hostID string, limit int) ([]core.AgentOp, error) {
	return list(t, "agent operations", scanAgentOp, `SELECT `+agentOpCols+` FROM agent_ops
		WHERE host_id = $1 AND finished IS NULL ORDER BY created, id LIMIT $2`, hostID, limit)
}

// FinishAgentOp implements store.Tx: only an unfinished operation takes a result.
func (t *Tx) FinishAgentOp(id string, result []byte, at time.Time) (bool, error) {
	n, err := t.x.Exec(`UPDATE agent_ops SET result = $2, finished = $3 WHERE id = $1 AND finished IS NULL`,
		id, string(result), ms(at))
	if err != nil {
		return false, t.Err(err, "agent operation", id)
	}
	return n == 1, nil
}

// PruneAgentOps implements store.Tx.
func (t *Tx) PruneAgentOps(finishedBefore time.Time) (int, error) {
	n, err := t.x.Exec(`DELETE FROM agent_ops WHERE finished IS NOT NULL AND finished < $1`, ms(finishedBefore))
	return int(n), t.Err(err, "agent operations", "")
}

// ListPendingAgentOpKeys implements store.Tx.
func (t *Tx) ListPendingAgentOpKeys(limit int) ([]core.AgentOpKey, error) {
	return list(t, "agent operations", func(r Row) (k core.AgentOpKey, err error) { err = r.Scan(&k.HostID, &k.ID); return },
		`SELECT host_id, id FROM agent_ops WHERE finished IS NULL ORDER BY host_id, created, id LIMIT $1`, limit)
}

// SupersedeAgentOps implements store.Tx.
func (t *Tx) SupersedeAgentOps(machineID, kind, keepID string, result []byte, at time.Time) (int, error) {
	n, err := t.x.Exec(`UPDATE agent_ops SET result = $4, finished = $5
		WHERE machine_id = $1 AND kind = $2 AND id <> $3 AND finished IS NULL`, machineID, kind, keepID, string(result), ms(at))
	return int(n), t.Err(err, "agent operations", "")
}

// ListHostMachines implements store.Tx.
func (t *Tx) ListHostMachines(hostID string) ([]core.Machine, error) {
	return list(t, "machines", scanMachine, machineSelect+` WHERE host_id = $1 AND deleted_at IS NULL ORDER BY id`, hostID)
}

// DeleteAgentOp implements store.Tx.
func (t *Tx) DeleteAgentOp(id string) error {
	_, err := t.x.Exec(`DELETE FROM agent_ops WHERE id = $1`, id)
	return t.Err(err, "agent operation", id)
}
