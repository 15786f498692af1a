package cli

import (
	"fmt"
	"io"
	"os"
)

// UserKeysCmd is `hangar admin users keys`.
type UserKeysCmd struct {
	List   UserKeysListCmd   `cmd:"" help:"List a user's SSH public keys."`
	Add    UserKeysAddCmd    `cmd:"" help:"Add an SSH public key to a user; machines assigned to the user authorize it from their next boot."`
	Remove UserKeysRemoveCmd `cmd:"" help:"Remove an SSH public key of a user; machines stop authorizing it from their next boot."`
}

// UserKeysListCmd is `hangar admin users keys list`.
type UserKeysListCmd struct {
	User string `required:"" placeholder:"USER" help:"The user (handle)."`
}

// Run lists a user's SSH keys.
func (c *UserKeysListCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	keys, err := s.api.ListSSHKeys(s.ctx, c.User)
	if err != nil {
		return err
	}
	return s.table(keys, "ID\tFINGERPRINT\tKEY\tCREATED", func(w io.Writer) {
		for _, k := range keys {
			printf(w, "%s\t%s\t%s\t%s\n", k.ID, k.Fingerprint, k.PublicKey, k.DtCreated)
		}
	})
}

// UserKeysAddCmd is `hangar admin users keys add`.
type UserKeysAddCmd struct {
	User   string `required:"" placeholder:"USER" help:"The user (handle)."`
	SSHKey string `required:"" name:"ssh-key" placeholder:"FILE" help:"File holding one OpenSSH public key (e.g. ~/.ssh/id_ed25519.pub); - reads standard input."`
}

// Run adds an SSH key to a user.
func (c *UserKeysAddCmd) Run(g *Globals, a *Admin) error {
	var text []byte
	var err error
	if c.SSHKey == "-" {
		text, err = io.ReadAll(io.LimitReader(os.Stdin, 64<<10))
	} else {
		text, err = os.ReadFile(c.SSHKey)
	}
	if err != nil {
		return fmt.Errorf("--ssh-key: %w", err)
	}
	s, err := a.session(g)
	if err != nil {
		return err
	}
	k, err := s.api.AddSSHKey(s.ctx, c.User, string(text))
	if err != nil {
		return err
	}
	return s.emit(k, func(w io.Writer) {
		printf(w, "added SSH key %s (%s) to user %s\n", k.ID, k.Fingerprint, k.UserID)
	})
}

// UserKeysRemoveCmd is `hangar admin users keys remove`.
type UserKeysRemoveCmd struct {
	User string `required:"" placeholder:"USER" help:"The user (handle)."`
	ID   string `arg:"" name:"id" help:"SSH key id (sk…), as users keys list shows."`
}

// Run removes an SSH key of a user.
func (c *UserKeysRemoveCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	if err := s.api.RemoveSSHKey(s.ctx, c.User, c.ID); err != nil {
		return err
	}
	return s.emit(map[string]string{"id": c.ID, "userId": c.User, "removed": "true"}, func(w io.Writer) {
		printf(w, "removed SSH key %s of user %s\n", c.ID, c.User)
	})
}
