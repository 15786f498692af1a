package cli

import (
	"io"

	"hangar/api"
)

// KeysCmd is `hangar admin keys`.
type KeysCmd struct {
	List   KeysListCmd   `cmd:"" help:"List API keys, console sessions and login tokens, by kind (never their secrets)."`
	Create KeysCreateCmd `cmd:"" help:"Create an API key; its secret is shown only once."`
	Revoke KeysRevokeCmd `cmd:"" help:"Revoke an API key, a console session or a login token."`
}

// KeysListCmd is `hangar admin keys list`.
type KeysListCmd struct {
	User string `placeholder:"USER" help:"Only keys of this user (handle)."`
}

// Run lists API keys.
func (c *KeysListCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	keys, err := s.api.ListKeys(s.ctx, c.User)
	if err != nil {
		return err
	}
	return s.table(keys, "ID\tKIND\tUSER\tNAME\tPREFIX\tCREATED\tLAST USED\tEXPIRES\tREVOKED", func(w io.Writer) {
		for _, k := range keys {
			printf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Kind, k.UserID, k.Name, orDash(&k.Prefix),
				k.DtCreated, orDash(k.LastUsed), orDash(k.Expires), orDash(k.Revoked))
		}
	})
}

// KeysCreateCmd is `hangar admin keys create`.
type KeysCreateCmd struct {
	User string `required:"" placeholder:"USER" help:"Owner of the key (user handle)."`
	Name string `placeholder:"NAME" help:"Key name (default: chosen by the server)."`
}

// Run creates an API key and prints its secret.
func (c *KeysCreateCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	k, err := s.api.CreateKey(s.ctx, api.CreateKeyRequest{User: c.User, Name: c.Name})
	if err != nil {
		return err
	}
	return s.emit(k, func(w io.Writer) {
		printf(w, "created key %s (%s) for user %s; secret, shown only once: %s\n", k.ID, k.Name, k.UserID, k.Key)
	})
}

// KeysRevokeCmd is `hangar admin keys revoke`.
type KeysRevokeCmd struct {
	ID string `arg:"" name:"id" help:"Key id (k…) or login token id (lt…), as keys list shows."`
}

// Run revokes an API key.
func (c *KeysRevokeCmd) Run(g *Globals, a *Admin) error {
	s, err := a.session(g)
	if err != nil {
		return err
	}
	k, err := s.api.RevokeKey(s.ctx, c.ID)
	if err != nil {
		return err
	}
	return s.emit(k, func(w io.Writer) {
		if k.Kind == "login" {
			printf(w, "revoked login token %s of user %s\n", k.ID, k.UserID)
			return
		}
		printf(w, "revoked key %s (%s)\n", k.ID, k.Name)
	})
}
