package sqlstore

import (
	"strconv"

	"hangar/internal/core"
)

const teamCols = `num, id, name, individual, created`

func scanTeam(s Row) (core.Team, error) {
	var t core.Team
	err := s.Scan(&t.Num, &t.ID, &t.Name, &t.Individual, timeCol{&t.Created})
	return t, err
}

// CreateTeam implements store.Tx.
func (t *Tx) CreateTeam(tm *core.Team) error {
	return t.insertReturning("team", tm.ID,
		`INSERT INTO teams (id, name, individual, created) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING RETURNING num`,
		[]any{tm.ID, tm.Name, tm.Individual, ms(tm.Created)}, &tm.Num)
}

// GetTeam implements store.Tx.
func (t *Tx) GetTeam(id string) (core.Team, error) {
	tm, err := scanTeam(t.x.QueryRow(`SELECT `+teamCols+` FROM teams WHERE id = $1`, id))
	return tm, t.Err(err, "team", id)
}

// GetTeamByNum implements store.Tx.
func (t *Tx) GetTeamByNum(num int64) (core.Team, error) {
	tm, err := scanTeam(t.x.QueryRow(`SELECT `+teamCols+` FROM teams WHERE num = $1`, num))
	return tm, t.Err(err, "team", strconv.FormatInt(num, 10))
}

// ListTeams implements store.Tx.
func (t *Tx) ListTeams() ([]core.Team, error) {
	return list(t, "teams", scanTeam, `SELECT `+teamCols+` FROM teams ORDER BY num`)
}
