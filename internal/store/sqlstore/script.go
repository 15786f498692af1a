package sqlstore

import "hangar/internal/core"

const scriptCols = `id, owner_type, owner_id, team_id, name, description, body, enabled, run_once, created`

func scanScript(s Row) (core.Script, error) {
	var c core.Script
	err := s.Scan(&c.ID, &c.OwnerType, &c.OwnerID, &c.TeamID, &c.Name, &c.Description, &c.Text,
		&c.Enabled, &c.RunOnce, timeCol{&c.Created})
	return c, err
}

// CreateScript covers both unique keys (the id, and the name per owner) with one ON
// CONFLICT DO NOTHING.
func (t *Tx) CreateScript(c *core.Script) error {
	return t.insert("script", c.ID, "script "+c.ID+" exists, or its owner already has a script named "+c.Name,
		`INSERT INTO scripts (`+scriptCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
		c.ID, c.OwnerType, c.OwnerID, c.TeamID, c.Name, c.Description, c.Text, c.Enabled, c.RunOnce, ms(c.Created))
}

// GetScript implements store.Tx.
func (t *Tx) GetScript(id string) (core.Script, error) {
	c, err := scanScript(t.x.QueryRow(`SELECT `+scriptCols+` FROM scripts WHERE id = $1`, id))
	return c, t.Err(err, "script", id)
}

// ListScripts implements store.Tx.
func (t *Tx) ListScripts(teamID string) ([]core.Script, error) {
	return list(t, "scripts", scanScript, `SELECT `+scriptCols+` FROM scripts
		WHERE team_id = $1 ORDER BY created, id`, teamID)
}

// DeleteScript removes the script and clears scriptId on every machine, destroyed ones
// included.
func (t *Tx) DeleteScript(id string) error {
	if err := t.execOne("script", id, `DELETE FROM scripts WHERE id = $1`, id); err != nil {
		return err
	}
	_, err := t.x.Exec(`UPDATE machines SET script_id = NULL WHERE script_id = $1`, id)
	return t.Err(err, "script machines", id)
}

// ListScriptRuns implements store.Tx.
func (t *Tx) ListScriptRuns(scriptID string) ([]core.ScriptRun, error) {
	return list(t, "script runs", func(s Row) (core.ScriptRun, error) {
		var r core.ScriptRun
		err := s.Scan(&r.MachineID, nullTimeCol{&r.LastRun})
		return r, err
	}, `SELECT id, last_run FROM machines WHERE script_id = $1 AND deleted_at IS NULL ORDER BY created, id`, scriptID)
}
