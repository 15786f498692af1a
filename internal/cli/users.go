package cli

import (
	"io"
	"strings"

	"hangar/api"
)

// UsersCmd is `hangar admin users`.
type UsersCmd struct {
	List   UsersListCmd   `cmd:"" help:"List users."`
	Create UsersCreateCmd `cmd:"" help:"Create a user in a team."`
}

// UsersListCmd is `hangar admin users list`.
type UsersListCmd struct {
	Team string `placeholder:"TEAM" help:"Only users of this team (handle or numeric id)."`
}

// Run lists users.
func (c *UsersListCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	users, err := s.api.ListUsers(s.ctx, c.Team)
	if err != nil {
		return err
	}
	return s.table(users, "ID\tEMAIL\tNAME\tTEAM\tROLE\tCREATED", func(w io.Writer) {
		for _, u := range users {
			name := strings.TrimSpace(u.FirstName + " " + u.LastName)
			printf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, name, u.TeamID, u.Role, u.DtCreated)
		}
	})
}

// UsersCreateCmd is `hangar admin users create`.
type UsersCreateCmd struct {
	Team      string `required:"" placeholder:"TEAM" help:"Team of the user (handle or numeric id)."`
	Email     string `required:"" placeholder:"EMAIL" help:"Email address (the login name)."`
	Password  string `required:"" env:"HANGAR_PASSWORD" placeholder:"PASSWORD" help:"Login password."`
	FirstName string `required:"" placeholder:"NAME" help:"First name."`
	LastName  string `required:"" placeholder:"NAME" help:"Last name."`
	Admin     bool   `help:"Make the user an admin of the team (default: member)."`
}

// Run creates a user.
func (c *UsersCreateCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	u, err := s.api.CreateUser(s.ctx, api.CreateUserRequest{Team: c.Team, Email: c.Email,
		Password: c.Password, FirstName: c.FirstName, LastName: c.LastName, Admin: c.Admin})
	if err != nil {
		return err
	}
	return s.emit(u, func(w io.Writer) {
		printf(w, "created user %s (%s) in team %s as %s\n", u.ID, u.Email, u.TeamID, u.Role)
	})
}
