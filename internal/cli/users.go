package cli

import (
	"errors"
	"io"
	"strings"

	"hangar/api"
)

// UsersCmd is `hangar admin users`.
type UsersCmd struct {
	List   UsersListCmd   `cmd:"" help:"List users."`
	Create UsersCreateCmd `cmd:"" help:"Create a user in a team."`
	Update UsersUpdateCmd `cmd:"" help:"Disable or enable a user, or set their password."`
	Keys   UserKeysCmd    `cmd:"" help:"SSH public keys of a user, authorized on the machines assigned to them (login user paperspace)."`
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
			role := u.Role
			if u.Disabled {
				role += " (disabled)"
			}
			printf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, name, u.TeamID, role, u.DtCreated)
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

// UsersUpdateCmd is `hangar admin users update`.
type UsersUpdateCmd struct {
	User     string `arg:"" name:"user" help:"The user (handle or email)."`
	Disable  bool   `xor:"state" help:"Disable the user: their login tokens and console sessions end, their API keys and logins are refused until --enable."`
	Enable   bool   `xor:"state" help:"Enable a disabled user: their API keys work again; they log in anew."`
	Password bool   `help:"Set a new password, read from standard input (a prompt on a terminal), never from the command line; their login tokens and console sessions end."`
}

// Run changes a user.
func (c *UsersUpdateCmd) Run(g *Globals, a *Admin) error {
	if !c.Disable && !c.Enable && !c.Password {
		return errors.New("nothing to change: give --disable, --enable or --password")
	}
	var req api.UpdateUserRequest
	if c.Disable || c.Enable {
		req.Disabled = &c.Disable
	}
	if c.Password {
		pw, err := readPassword(g)
		if err != nil {
			return err
		}
		req.Password = &pw
	}
	s, err := a.session(g)
	if err != nil {
		return err
	}
	u, err := s.api.UpdateUser(s.ctx, c.User, req)
	if err != nil {
		return err
	}
	return s.emit(u, func(w io.Writer) {
		var did []string
		if c.Password {
			did = append(did, "set a new password")
		}
		if c.Disable {
			did = append(did, "disabled")
		} else if c.Enable {
			did = append(did, "enabled")
		}
		printf(w, "user %s (%s): %s\n", u.ID, u.Email, strings.Join(did, ", "))
	})
}
