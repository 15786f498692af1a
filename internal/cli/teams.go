package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"hangar/api"
	"hangar/internal/core"
)

// TeamsCmd is `hangar admin teams`.
type TeamsCmd struct {
	List   TeamsListCmd   `cmd:"" help:"List teams."`
	Create TeamsCreateCmd `cmd:"" help:"Create a team."`
	Show   TeamsShowCmd   `cmd:"" help:"Show a team with its quotas: limit, default or override, and usage."`
	Update TeamsUpdateCmd `cmd:"" help:"Set or clear a team's quota overrides."`
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

// TeamsShowCmd is `hangar admin teams show`.
type TeamsShowCmd struct {
	Team string `arg:"" name:"team" help:"Team id or numeric id."`
}

// Run shows a team and its quotas.
func (c *TeamsShowCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	d, err := s.api.GetTeam(s.ctx, c.Team)
	if err != nil {
		return err
	}
	return s.emit(d, func(w io.Writer) { printTeamDetail(w, d) })
}

// TeamsUpdateCmd is `hangar admin teams update`.
type TeamsUpdateCmd struct {
	Team  string   `arg:"" name:"team" help:"Team id or numeric id."`
	Quota []string `required:"" placeholder:"NAME=N" help:"Quota override, repeatable: NAME=N (0: none allowed), NAME=unlimited (or -1), or NAME=default to return to the server's default. Names: machines, running, networks, publicIps, scripts, snapshots."`
}

// Run sets the team's quota overrides.
func (c *TeamsUpdateCmd) Run(g *Globals, a *Admin) error {
	req := api.UpdateTeamRequest{Quotas: map[string]*int{}}
	for _, f := range c.Quota {
		name, val, _ := strings.Cut(f, "=")
		if strings.TrimSpace(val) == "default" {
			if !core.Quota(strings.TrimSpace(name)).Valid() {
				return fmt.Errorf("--quota: unknown quota %q; quotas are %s", name, core.QuotaNames())
			}
			req.Quotas[strings.TrimSpace(name)] = nil
			continue
		}
		q, n, err := core.ParseQuotaSetting(f)
		if err != nil {
			return fmt.Errorf("--quota: %s", core.ErrorMessage(err))
		}
		req.Quotas[string(q)] = &n
	}
	s, err := a.session(g)
	if err != nil {
		return err
	}
	d, err := s.api.UpdateTeam(s.ctx, c.Team, req)
	if err != nil {
		return err
	}
	return s.emit(d, func(w io.Writer) {
		printf(w, "updated team %s\n", d.ID)
		printTeamDetail(w, d)
	})
}

// printTeamDetail prints a team's line and its quota table.
func printTeamDetail(out io.Writer, d *api.TeamDetail) {
	printf(out, "team %s (%s), num %d, individual %t, created %s\n", d.ID, d.Name, d.Num, d.Individual, d.DtCreated)
	w := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
	printf(w, "QUOTA\tLIMIT\tSOURCE\tUSED\n")
	for _, q := range d.Quotas {
		limit := strconv.Itoa(q.Limit)
		if q.Limit == core.Unlimited {
			limit = "unlimited"
		}
		printf(w, "%s\t%s\t%s\t%d\n", q.Name, limit, q.Source, q.Used)
	}
	_ = w.Flush()
}
