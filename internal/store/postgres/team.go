package postgres

import (
	"strconv"

	"hangar/internal/core"
)

const teamCols = `num, id, name, individual, created`

func scanTeam(s scanner) (core.Team, error) {
	var t core.Team
	err := s.Scan(&t.Num, &t.ID, &t.Name, &t.Individual, timeCol{&t.Created})
	return t, err
}

func (t *tx) CreateTeam(tm *core.Team) error {
	return t.insertReturning("team", tm.ID, "",
		`INSERT INTO teams (id, name, individual, created) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING RETURNING num`,
		[]any{tm.ID, tm.Name, tm.Individual, ms(tm.Created)}, &tm.Num)
}

func (t *tx) GetTeam(id string) (core.Team, error) {
	tm, err := scanTeam(t.queryRow(`SELECT `+teamCols+` FROM teams WHERE id = $1`, id))
	return tm, t.dbErr(err, "team", id)
}

func (t *tx) GetTeamByNum(num int64) (core.Team, error) {
	tm, err := scanTeam(t.queryRow(`SELECT `+teamCols+` FROM teams WHERE num = $1`, num))
	return tm, t.dbErr(err, "team", strconv.FormatInt(num, 10))
}

func (t *tx) ListTeams() ([]core.Team, error) {
	return list(t, "teams", scanTeam, `SELECT `+teamCols+` FROM teams ORDER BY num`)
}
