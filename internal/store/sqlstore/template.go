package sqlstore

import "hangar/internal/core"

const templateCols = `id, name, label, os, os_family, agent_type, team_id, user_id, region, image, kernel,
	initrd, created`

func scanTemplate(s Row) (core.Template, error) {
	var m core.Template
	err := s.Scan(&m.ID, &m.Name, &m.Label, &m.OS, &m.OSFamily, &m.AgentType, &m.TeamID,
		&m.UserID, &m.Region, &m.Image, &m.Kernel, &m.Initrd, timeCol{&m.Created})
	return m, err
}

// CreateTemplate implements store.Tx.
func (t *Tx) CreateTemplate(m *core.Template) error {
	return t.insert("template", m.ID, "", `INSERT INTO templates (`+templateCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING`,
		m.ID, m.Name, m.Label, m.OS, m.OSFamily, m.AgentType, m.TeamID, m.UserID,
		m.Region, m.Image, m.Kernel, m.Initrd, ms(m.Created))
}

// GetTemplate implements store.Tx.
func (t *Tx) GetTemplate(id string) (core.Template, error) {
	m, err := scanTemplate(t.x.QueryRow(`SELECT `+templateCols+` FROM templates WHERE id = $1`, id))
	return m, t.Err(err, "template", id)
}

// ListTemplates implements store.Tx.
func (t *Tx) ListTemplates(teamID string) ([]core.Template, error) {
	if teamID == "" {
		return list(t, "templates", scanTemplate, `SELECT `+templateCols+` FROM templates ORDER BY created, id`)
	}
	return list(t, "templates", scanTemplate, `SELECT `+templateCols+` FROM templates
		WHERE team_id IS NULL OR team_id = $1 ORDER BY created, id`, teamID)
}

// DeleteTemplate implements store.Tx.
func (t *Tx) DeleteTemplate(id string) error {
	return t.execOne("template", id, `DELETE FROM templates WHERE id = $1`, id)
}
