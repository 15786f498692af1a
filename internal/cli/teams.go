package cli

import (
	"io"

	"hangar/api"
)

// TeamsCmd is `hangar admin teams`.
type TeamsCmd struct {
	List   TeamsListCmd   `cmd:"" help:"List teams."`
	Create TeamsCreateCmd `cmd:"" help:"Create a team."`
}

// TeamsListCmd is `hangar admin teams list`.
type TeamsListCmd struct{}

// Run lists teams.
func (c *TeamsListCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	teams, err := s.api.ListTeams(s.ctx)
	if err != nil {
		return err
	}
	return s.table(teams, "ID\tNUM\tNAME\tINDIVIDUAL\tCREATED", func(w io.Writer) {
		for _, t := range teams {
			printf(w, "%s\t%d\t%s\t%t\t%s\n", t.ID, t.Num, t.Name, t.Individual, t.DtCreated)
		}
	})
}

// TeamsCreateCmd is `hangar admin teams create`.
type TeamsCreateCmd struct {
	Name       string `required:"" placeholder:"NAME" help:"Team name."`
	Individual bool   `help:"Make an individual (one-user) account instead of a team."`
}

// Run creates a team.
func (c *TeamsCreateCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	t, err := s.api.CreateTeam(s.ctx, api.CreateTeamRequest{Name: c.Name, Individual: c.Individual})
	if err != nil {
		return err
	}
	return s.emit(t, func(w io.Writer) { printf(w, "created team %s (%s)\n", t.ID, t.Name) })
}
