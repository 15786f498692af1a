package service

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"hangar/internal/core"
	"hangar/internal/store"
)

// Ending tokens and accounts (issue 10, point 6). A login token ends when its holder logs out
// (Logout), when a team admin or the operator revokes it (RevokeKey with its id), when the
// user's password changes and when the user is disabled (UpdateUser). Every such write
// advances the store's credential generation in its transaction and empties this process's
// auth cache after the commit, so that every replica refuses what it ended from the next
// request on.

// tokenView shows a login token in a listing of credentials.
func tokenView(t core.AccessToken) core.APIKey {
	exp := t.Expires
	return core.APIKey{ID: t.ID, UserID: t.UserID, Name: "login", Kind: core.KindLogin, Hash: t.Hash,
		Created: t.Created, Revoked: t.Revoked, Expires: &exp}
}

// credentials lists the API keys and login tokens of userID ("" = every user), by creation
// time, then id.
func credentials(tx store.Tx, userID string) ([]core.APIKey, error) {
	keys, err := tx.ListAPIKeys(userID)
	if err != nil {
		return nil, err
	}
	toks, err := tx.ListAccessTokens(userID)
	if err != nil {
		return nil, err
	}
	for _, t := range toks {
		keys = append(keys, tokenView(t))
	}
	slices.SortStableFunc(keys, func(a, b core.APIKey) int {
		return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
	})
	return keys, nil
}

// revokeToken is RevokeKey for a login token.
func (s *Service) revokeToken(ctx context.Context, p core.Principal, id string) (core.APIKey, error) {
	var t core.AccessToken
	err := s.write(ctx, func(tx store.Tx) error {
		var err error
		if t, err = tx.GetAccessTokenByID(id); core.IsNotFound(err) {
			return core.Errorf(core.NotFound, "login token %s not found", id)
		} else if err != nil {
			return err
		}
		if ok, err := mayManageKeysOf(tx, p, t.UserID); err != nil {
			return err
		} else if !ok {
			return core.Errorf(core.NotFound, "login token %s not found", id)
		}
		return s.revokeTokenInTx(tx, &t)
	})
	if err == nil {
		s.auth.invalidate()
	}
	return tokenView(t), err
}

// revokeTokenInTx revokes t (nothing changes if it is revoked already) and advances the
// credential generation in the same transaction.
func (s *Service) revokeTokenInTx(tx store.Tx, t *core.AccessToken) error {
	if t.Revoked != nil {
		return nil
	}
	now := s.clock.Now()
	t.Revoked = &now
	if err := tx.UpdateAccessToken(t); err != nil {
		return err
	}
	return tx.BumpAuthGeneration()
}

// Logout ends the login token token (POST /users/logout): it stops authenticating at once, on
// every replica. An unknown, expired or revoked token is Unauthorized, as it would be for any
// other call.
func (s *Service) Logout(ctx context.Context, token string) error {
	err := s.write(ctx, func(tx store.Tx) error {
		t, err := tx.GetAccessToken(SecretHash(token))
		if err != nil {
			return err
		}
		if t.Revoked != nil || !s.clock.Now().Before(t.Expires) {
			return badCredentials()
		}
		if u, err := tx.GetUser(t.UserID); err == nil {
			auditCaller(ctx, core.Principal{User: u, Team: core.Team{ID: u.TeamID}})
		}
		auditTarget(ctx, t.ID)
		return s.revokeTokenInTx(tx, &t)
	})
	if core.IsNotFound(err) {
		return badCredentials()
	}
	if err == nil {
		s.auth.invalidate()
	}
	return err
}

// endLogins revokes every live login token and console session of user userID, in tx. Its
// API keys (of kinds key and apiToken) are left alone.
func (s *Service) endLogins(tx store.Tx, userID string) error {
	toks, err := tx.ListAccessTokens(userID)
	if err != nil {
		return err
	}
	for i := range toks {
		if err := s.revokeTokenInTx(tx, &toks[i]); err != nil {
			return err
		}
	}
	keys, err := tx.ListAPIKeys(userID)
	if err != nil {
		return err
	}
	for i := range keys {
		if _, session := sessionOrigin(keys[i].Name); session || keys[i].Kind == core.KindSession {
			if err := s.revokeInTx(tx, &keys[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// UserUpdate is a change to a user's account; nil fields stay as they are.
type UserUpdate struct {
	Disabled *bool
	Password *string
}

// UpdateUser disables or enables a user, or sets their password (operator only). The user is
// a handle or an email. Disabling ends the user's login tokens and console sessions and makes
// their API keys refuse to authenticate while the user is disabled (the keys are not revoked:
// enabling the user brings them back, and a suspension is undone without reissuing every
// key); users/login answers a disabled user as it answers a wrong password. A new password
// ends the user's login tokens and console sessions, which were opened with the old one; API
// keys, which are credentials of their own, keep working. The operator's account cannot be
// disabled (nobody could enable it again).
func (s *Service) UpdateUser(ctx context.Context, p core.Principal, ref string, up UserUpdate) (core.User, error) {
	if err := requireOperator(p); err != nil {
		return core.User{}, err
	}
	if up.Disabled == nil && up.Password == nil {
		return core.User{}, invalid("nothing to change: give disabled or password")
	}
	var hash string
	if up.Password != nil {
		if err := validatePassword(*up.Password); err != nil {
			return core.User{}, err
		}
		var err error
		if hash, err = s.pw.hash(ctx, "operator:"+p.User.ID, *up.Password); err != nil {
			return core.User{}, err
		}
	}
	var u core.User
	err := s.write(ctx, func(tx store.Tx) error {
		var err error
		if u, err = resolveUser(tx, ref); err != nil {
			return err
		}
		auditTarget(ctx, u.ID)
		end := false
		if up.Disabled != nil {
			if *up.Disabled && u.Role == core.RoleOperator {
				return invalid("the operator account cannot be disabled")
			}
			end = *up.Disabled && !u.Disabled
			u.Disabled = *up.Disabled
		}
		if up.Password != nil {
			u.PasswordHash, end = hash, true
		}
		if err := tx.UpdateUser(&u); err != nil {
			return err
		}
		if end {
			if err := s.endLogins(tx, u.ID); err != nil {
				return err
			}
		}
		// The user's keys now resolve differently (disabled or not): every replica must drop
		// what it cached.
		return tx.BumpAuthGeneration()
	})
	if err == nil {
		s.auth.invalidate()
	}
	return u, err
}

// resolveUser finds a user by handle or email.
func resolveUser(tx store.Tx, ref string) (core.User, error) {
	ref = strings.TrimSpace(ref)
	var u core.User
	var err error
	if strings.Contains(ref, "@") {
		var users []core.User
		if users, err = tx.ListUsersByEmail(ref); err == nil {
			switch len(users) {
			case 0:
				err = core.Errorf(core.NotFound, "user %s not found", ref)
			case 1:
				u = users[0]
			default:
				ids := make([]string, len(users))
				for i, x := range users {
					ids[i] = x.ID + " (team " + x.TeamID + ")"
				}
				return u, invalid("%d users have the email %s, in different teams: give the user's id, one of %s",
					len(users), ref, strings.Join(ids, ", "))
			}
		}
	} else {
		u, err = tx.GetUser(ref)
	}
	if core.IsNotFound(err) {
		return u, core.Errorf(core.NotFound, "user %s not found", ref)
	}
	return u, err
}
