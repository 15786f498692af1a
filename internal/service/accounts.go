package service

import (
	"context"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"hangar/internal/core"
	"hangar/internal/store"
)

// keyTouchInterval limits how often an API key's last-used time is written.
const keyTouchInterval = time.Minute

func badCredentials() error {
	return core.Errorf(core.Unauthorized, "Invalid API token or access token")
}

// Authenticate resolves an API key to its principal. Unknown and revoked keys are
// Unauthorized. Successful resolutions are cached briefly (see authCache); when the store is
// shared with other replicas (Config.SharedStore), a cached resolution is used only while the
// store's credential generation is the one it was read at, so that a revocation made by any
// replica takes effect on the next request.
func (s *Service) Authenticate(ctx context.Context, key string) (core.Principal, error) {
	e, err := s.authenticate(ctx, key)
	return e.p, err
}

// authenticate is Authenticate, returning the whole cache entry (which says whether the key
// backs a console session).
func (s *Service) authenticate(ctx context.Context, key string) (authEntry, error) {
	hash := SecretHash(key)
	now := s.clock.Now()
	shared := s.cfg.SharedStore
	if e, ok := s.auth.get(hash, now); ok {
		current := true
		if shared {
			g, err := s.authGeneration(ctx)
			if err != nil {
				return authEntry{}, err
			}
			current = g == e.authGen
		}
		if current {
			s.touchKey(ctx, hash, e.keyID, e.lastUsed, now)
			return e, nil
		}
	}
	gen := s.auth.generation()
	var p core.Principal
	var k core.APIKey
	var authGen int64
	expires := now.Add(authCacheTTL)
	session := false
	err := s.read(ctx, func(tx store.Tx) error {
		var err error
		if shared {
			if authGen, err = tx.AuthGeneration(); err != nil {
				return err
			}
		}
		if k, err = tx.GetAPIKeyByHash(hash); err != nil {
			return err
		}
		if k.Revoked != nil {
			return badCredentials()
		}
		if origin, ok := sessionOrigin(k.Name); ok {
			session = true
			end, err := s.checkSession(tx, k, origin, now)
			if err != nil {
				return err
			}
			expires = minTime(expires, end)
		}
		p, err = principal(tx, k.UserID)
		return err
	})
	if core.IsNotFound(err) {
		return authEntry{}, badCredentials()
	}
	if err != nil {
		return authEntry{}, err
	}
	e := authEntry{p: p, keyID: k.ID, lastUsed: k.LastUsed, expires: expires, authGen: authGen, session: session}
	s.auth.put(hash, e, gen)
	s.touchKey(ctx, hash, k.ID, k.LastUsed, now)
	return e, nil
}

// authGeneration reads the store's credential generation, in one statement when the store
// offers it.
func (s *Service) authGeneration(ctx context.Context) (int64, error) {
	if r, ok := s.st.(store.AuthGenerationReader); ok {
		return r.AuthGeneration(ctx)
	}
	var g int64
	err := s.read(ctx, func(tx store.Tx) (err error) { g, err = tx.AuthGeneration(); return })
	return g, err
}

// touchKey records that a key was used, at most once per keyTouchInterval.
func (s *Service) touchKey(ctx context.Context, hash, keyID string, lastUsed *time.Time, now time.Time) {
	if !s.auth.claimTouch(hash, lastUsed, now) {
		return
	}
	_ = s.writeQuiet(ctx, func(tx store.Tx) error {
		cur, err := tx.GetAPIKey(keyID)
		if err != nil {
			return err
		}
		cur.LastUsed = &now
		return tx.UpdateAPIKey(&cur)
	})
}

// AuthenticateToken resolves a login access token to its principal. Unknown, expired and
// revoked tokens, and the tokens of a disabled user, are Unauthorized. Tokens are not cached:
// every request reads the store, so a revocation anywhere ends a token at once.
func (s *Service) AuthenticateToken(ctx context.Context, token string) (core.Principal, error) {
	var p core.Principal
	err := s.read(ctx, func(tx store.Tx) error {
		t, err := tx.GetAccessToken(SecretHash(token))
		if err != nil {
			return err
		}
		if t.Revoked != nil || !s.clock.Now().Before(t.Expires) {
			return badCredentials()
		}
		p, err = principal(tx, t.UserID)
		return err
	})
	if core.IsNotFound(err) {
		return p, badCredentials()
	}
	return p, err
}

// principal returns the user userID and its team. A disabled user's credentials are
// Unauthorized, as an unknown key is.
func principal(tx store.Tx, userID string) (core.Principal, error) {
	u, err := tx.GetUser(userID)
	if err != nil {
		return core.Principal{}, err
	}
	if u.Disabled {
		return core.Principal{}, badCredentials()
	}
	t, err := tx.GetTeam(u.TeamID)
	if err != nil {
		return core.Principal{}, err
	}
	return core.Principal{User: u, Team: t}, nil
}

// LoginResult is a new access token.
type LoginResult struct {
	Token     core.AccessToken
	ID        string         // the secret token, shown once
	Principal core.Principal // who logged in
}

// Login checks an email and password and issues an access token. Any failure is the same
// Unauthorized "login failed", so callers cannot probe which emails exist.
func (s *Service) Login(ctx context.Context, email, password string) (LoginResult, error) {
	p, err := s.checkPassword(ctx, email, password)
	if err != nil {
		return LoginResult{}, err
	}
	secret := core.NewSecret(32)
	now := s.clock.Now()
	t := core.AccessToken{ID: core.NewID(core.PrefixLoginToken, 10), Hash: SecretHash(secret), UserID: p.User.ID, Created: now, Expires: now.Add(s.cfg.TokenTTL)}
	auditCaller(ctx, p)
	auditTarget(ctx, p.User.ID)
	if err := s.write(ctx, func(tx store.Tx) error { return tx.CreateAccessToken(&t) }); err != nil {
		return LoginResult{}, err
	}
	return LoginResult{Token: t, ID: secret, Principal: p}, nil
}

// checkPassword returns the user with email and password and its team. Any failure is the same
// Unauthorized "login failed", so callers cannot probe which emails exist. An email is unique
// within a team only, so several teams may have a user with it: each candidate's hash is
// checked, oldest user first, and the first enabled one whose password matches logs in.
func (s *Service) checkPassword(ctx context.Context, email, password string) (core.Principal, error) {
	fail := core.Errorf(core.Unauthorized, "login failed")
	var users []core.User
	err := s.read(ctx, func(tx store.Tx) error {
		var err error
		users, err = tx.ListUsersByEmail(strings.TrimSpace(email))
		return err
	})
	if err != nil {
		return core.Principal{}, err
	}
	// Each email is its own caller of the hasher: logins for one account cannot hold up
	// another's.
	caller := "login:" + strings.ToLower(strings.TrimSpace(email))
	checked := 0
	for _, u := range users {
		if u.PasswordHash == "" {
			continue // an account without a password (the operator's) logs in with keys only
		}
		checked++
		ok, herr := s.pw.verify(ctx, caller, u.PasswordHash, password)
		if herr != nil {
			return core.Principal{}, herr
		}
		// A disabled user gets the answer of a wrong password, after the same work.
		if !ok || u.Disabled {
			continue
		}
		var team core.Team
		if err := s.read(ctx, func(tx store.Tx) error {
			var err error
			team, err = tx.GetTeam(u.TeamID)
			return err
		}); err != nil {
			return core.Principal{}, err
		}
		return core.Principal{User: u, Team: team}, nil
	}
	if checked == 0 {
		// Spend the time of a real check, so that the answer's delay does not tell whether
		// the email exists.
		if _, herr := s.pw.verify(ctx, caller, dummyHash(), password); herr != nil {
			return core.Principal{}, herr
		}
	}
	return core.Principal{}, fail
}

// TokenTTL is the lifetime of access tokens.
func (s *Service) TokenTTL() time.Duration { return s.cfg.TokenTTL }

// NewKey is a created API key with its secret, which is shown only this once.
type NewKey struct {
	Key    core.APIKey
	Secret string
}

func newKey(userID, name string, kind core.KeyKind, now time.Time) NewKey {
	secret := core.NewSecret(24)
	return NewKey{Secret: secret, Key: core.APIKey{ID: core.NewID(core.PrefixKey, 8), UserID: userID,
		Name: name, Kind: kind, Prefix: secret[:6], Hash: SecretHash(secret), Created: now}}
}

// CreateAPIToken issues a new API key for the caller (POST /apiTokens/createPublic). With a
// name, the caller must already have a key of that name (NotFound otherwise); since keys are
// stored hashed the existing secret cannot be shown again, so a new key of that name is issued
// and the old one keeps working.
func (s *Service) CreateAPIToken(ctx context.Context, p core.Principal, name string) (NewKey, error) {
	if err := core.CheckText("apiToken", name, core.MaxNameLen); err != nil {
		return NewKey{}, err
	}
	var nk NewKey
	err := s.write(ctx, func(tx store.Tx) error {
		if name != "" {
			keys, err := tx.ListAPIKeys(p.User.ID)
			if err != nil {
				return err
			}
			found := false
			for _, k := range keys {
				found = found || (k.Name == name && k.Revoked == nil)
			}
			if !found {
				return core.Errorf(core.NotFound, "apiToken %q not found", name)
			}
		} else {
			name = "cli-" + core.NewID("", 6)
		}
		nk = newKey(p.User.ID, name, core.KindAPIToken, s.clock.Now())
		auditTarget(ctx, nk.Key.ID)
		return tx.CreateAPIKey(&nk.Key)
	})
	return nk, err
}

// Bootstrap creates the operator account and its first API key if they do not exist yet, and
// seeds the public templates and the default simulated fleet. It returns the new key's secret,
// or "" when the operator already existed.
func (s *Service) Bootstrap(ctx context.Context, fleet bool) (string, error) {
	var secret string
	err := s.write(ctx, func(tx store.Tx) error {
		// Emails are unique per team only: a tenant's user may share the operator's email, so
		// the operator is the user with that email and the operator role.
		users, err := tx.ListUsersByEmail(s.cfg.OperatorEmail)
		if err != nil {
			return err
		}
		for _, u := range users {
			if u.Role == core.RoleOperator {
				return nil
			}
		}
		now := s.clock.Now()
		team := core.Team{ID: core.NewID(core.PrefixTeam, 7), Name: "Hangar operator", Individual: true, Created: now}
		if err := tx.CreateTeam(&team); err != nil {
			return err
		}
		u := core.User{ID: core.NewID(core.PrefixUser, 7), TeamID: team.ID, Email: s.cfg.OperatorEmail,
			FirstName: "Hangar", LastName: "Operator", Role: core.RoleOperator, Created: now}
		if err := tx.CreateUser(&u); err != nil {
			return err
		}
		nk := newKey(u.ID, "operator", core.KindKey, now)
		if err := tx.CreateAPIKey(&nk.Key); err != nil {
			return err
		}
		secret = nk.Secret
		for _, t := range s.cfg.Catalog.Templates {
			if err := tx.CreateTemplate(&t); err != nil {
				return err
			}
		}
		if fleet {
			return s.seedFleet(tx, now)
		}
		return nil
	})
	return secret, err
}

// seedFleet creates two simulated hosts per region offering the region's machine types.
func (s *Service) seedFleet(tx store.Tx, now time.Time) error {
	for _, r := range s.cfg.Catalog.Regions {
		for i := 1; i <= 2; i++ {
			h := core.Host{ID: core.NewID(core.PrefixHost, 7), Name: "sim-" + strings.ToLower(r.Code) + "-" + strconv.Itoa(i),
				Region: r.Name, Available: true, Capacity: map[string]int{}, Created: now}
			for _, t := range s.cfg.Catalog.DefaultFleet[r.Name] {
				mt, _ := s.cfg.Catalog.Type(t)
				switch mt.Class {
				case "cpu":
					h.Capacity[t] = 64
				default:
					h.Capacity[t] = 8
				}
			}
			if err := tx.CreateHost(&h); err != nil {
				return err
			}
		}
	}
	return nil
}

// requireOperator fails unless p is an operator.
func requireOperator(p core.Principal) error {
	if p.User.Role != core.RoleOperator {
		return forbidden("This operation requires the Hangar operator role")
	}
	return nil
}

// resolveTeam finds a team by handle or numeric id.
func resolveTeam(tx store.Tx, ref string) (core.Team, error) {
	ref = strings.TrimSpace(ref)
	if n, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return tx.GetTeamByNum(n)
	}
	return tx.GetTeam(ref)
}

// teamScope resolves an optional team reference for operator listings: "" means every team.
func teamScope(tx store.Tx, ref string) (string, error) {
	if ref == "" {
		return "", nil
	}
	t, err := resolveTeam(tx, ref)
	return t.ID, err
}

// CreateTeam creates a team (operator only).
func (s *Service) CreateTeam(ctx context.Context, p core.Principal, name string, individual bool) (core.Team, error) {
	if err := requireOperator(p); err != nil {
		return core.Team{}, err
	}
	name = strings.TrimSpace(name)
	if err := core.CheckName("name", name); err != nil {
		return core.Team{}, err
	}
	t := core.Team{ID: core.NewID(core.PrefixTeam, 7), Name: name, Individual: individual, Created: s.clock.Now()}
	auditTarget(ctx, t.ID)
	return t, s.write(ctx, func(tx store.Tx) error { return tx.CreateTeam(&t) })
}

// ListTeams lists every team (operator only).
func (s *Service) ListTeams(ctx context.Context, p core.Principal) ([]core.Team, error) {
	if err := requireOperator(p); err != nil {
		return nil, err
	}
	var out []core.Team
	return out, s.read(ctx, func(tx store.Tx) (err error) { out, err = tx.ListTeams(); return })
}

// NewUser describes a user to create.
type NewUser struct {
	Team      string // handle or numeric id
	Email     string
	Password  string
	FirstName string
	LastName  string
	Admin     bool
}

func validateNewUser(u NewUser) error {
	if err := core.CheckEmailLen("email", u.Email); err != nil {
		return err
	}
	if _, err := mail.ParseAddress(u.Email); err != nil || strings.ContainsAny(u.Email, "<> ") {
		return invalid("email %q is not a valid email address", u.Email)
	}
	if err := validatePassword(u.Password); err != nil {
		return err
	}
	if strings.TrimSpace(u.FirstName) == "" || strings.TrimSpace(u.LastName) == "" {
		return invalid("firstName and lastName are required")
	}
	if err := core.CheckName("firstName", u.FirstName); err != nil {
		return err
	}
	return core.CheckName("lastName", u.LastName)
}

func validatePassword(pw string) error {
	if len(pw) < 8 {
		return invalid("password must be at least 8 characters")
	}
	if len(pw) > 256 {
		return invalid("password must be at most 256 characters")
	}
	return nil
}

// insertUser creates a user inside tx; an individual team takes exactly one user, its admin.
// emailFree is nil when no user of team teamID has email, else the Invalid error of a taken
// email. Other teams' users are not looked at: whether another team (the operator's
// included) has an email is none of this team's business, so the answer must not depend on
// it.
func emailFree(tx store.Tx, teamID, email string) error {
	users, err := tx.ListUsersByEmail(email)
	if err != nil {
		return err
	}
	for _, u := range users {
		if u.TeamID == teamID {
			return invalid("email %s is already in use in this team", email)
		}
	}
	return nil
}

func insertUser(tx store.Tx, team core.Team, u *core.User) error {
	if team.Individual {
		users, err := tx.ListUsers(team.ID)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return invalid("team %s is an individual account and already has its user", team.ID)
		}
		u.Role = core.RoleAdmin
	}
	if err := emailFree(tx, team.ID, u.Email); err != nil {
		return err
	}
	err := tx.CreateUser(u)
	if core.ErrorCode(err) == core.Conflict {
		return invalid("email %s is already in use in this team", u.Email)
	}
	return err
}

// CreateUser creates a user in a team (operator only).
func (s *Service) CreateUser(ctx context.Context, p core.Principal, nu NewUser) (core.User, error) {
	if err := requireOperator(p); err != nil {
		return core.User{}, err
	}
	nu.Email = strings.TrimSpace(nu.Email)
	if err := validateNewUser(nu); err != nil {
		return core.User{}, err
	}
	hash, err := s.pw.hash(ctx, "operator:"+p.User.ID, nu.Password)
	if err != nil {
		return core.User{}, err
	}
	u := core.User{ID: core.NewID(core.PrefixUser, 7), Email: nu.Email, FirstName: strings.TrimSpace(nu.FirstName),
		LastName: strings.TrimSpace(nu.LastName), Role: core.RoleMember, PasswordHash: hash, Created: s.clock.Now()}
	if nu.Admin {
		u.Role = core.RoleAdmin
	}
	auditTarget(ctx, u.ID)
	err = s.write(ctx, func(tx store.Tx) error {
		team, err := resolveTeam(tx, nu.Team)
		if core.IsNotFound(err) {
			return invalid("team %q not found", nu.Team)
		}
		if err != nil {
			return err
		}
		u.TeamID = team.ID
		return insertUser(tx, team, &u)
	})
	return u, err
}

// AdminListUsers lists the users of a team, or of every team (operator only).
func (s *Service) AdminListUsers(ctx context.Context, p core.Principal, teamRef string) ([]core.User, error) {
	if err := requireOperator(p); err != nil {
		return nil, err
	}
	var out []core.User
	err := s.read(ctx, func(tx store.Tx) error {
		id, err := teamScope(tx, teamRef)
		if err == nil {
			out, err = tx.ListUsers(id)
		}
		return err
	})
	return out, err
}

// ListUsers lists the caller's team (GET /users/getUsers).
func (s *Service) ListUsers(ctx context.Context, p core.Principal) ([]core.User, error) {
	var out []core.User
	return out, s.read(ctx, func(tx store.Tx) (err error) { out, err = tx.ListUsers(p.Team.ID); return })
}

// TeamOf returns the team with handle id (for rendering).
func (s *Service) TeamOf(ctx context.Context, id string) (core.Team, error) {
	var t core.Team
	return t, s.read(ctx, func(tx store.Tx) (err error) { t, err = tx.GetTeam(id); return })
}

// CreateKey creates an API key for a user (operator only).
func (s *Service) CreateKey(ctx context.Context, p core.Principal, userID, name string) (NewKey, error) {
	if err := requireOperator(p); err != nil {
		return NewKey{}, err
	}
	if name == "" {
		name = "default"
	}
	if err := core.CheckName("name", name); err != nil {
		return NewKey{}, err
	}
	if _, ok := sessionOrigin(name); ok {
		return NewKey{}, invalid("key names starting with %q are reserved for console sessions", SessionKeyName)
	}
	var nk NewKey
	err := s.write(ctx, func(tx store.Tx) error {
		if _, err := tx.GetUser(userID); core.IsNotFound(err) {
			return invalid("user %q not found", userID)
		} else if err != nil {
			return err
		}
		nk = newKey(userID, name, core.KindKey, s.clock.Now())
		auditTarget(ctx, nk.Key.ID)
		return tx.CreateAPIKey(&nk.Key)
	})
	return nk, err
}

// ListKeys lists a user's credentials (never their secrets): API keys of every kind and login
// tokens (Kind core.KindLogin, with Expires), ordered by creation. An operator sees any
// user's, or every credential with userID ""; a team admin those of the team's users; a
// member only their own. A user the caller may not see is NotFound (another team) or
// Forbidden (a member asking for a teammate's keys).
func (s *Service) ListKeys(ctx context.Context, p core.Principal, userID string) ([]core.APIKey, error) {
	userID = strings.TrimSpace(userID)
	var out []core.APIKey
	err := s.read(ctx, func(tx store.Tx) error {
		var err error
		switch {
		case p.User.Role == core.RoleOperator:
			out, err = credentials(tx, userID)
			return err
		case userID == "" && p.User.Role == core.RoleAdmin:
			users, err := tx.ListUsers(p.Team.ID)
			if err != nil {
				return err
			}
			for _, u := range users {
				ks, err := credentials(tx, u.ID)
				if err != nil {
					return err
				}
				out = append(out, ks...)
			}
			return nil
		case userID == "" || userID == p.User.ID:
			out, err = credentials(tx, p.User.ID)
			return err
		}
		u, err := tx.GetUser(userID)
		if core.IsNotFound(err) || (err == nil && u.TeamID != p.Team.ID) {
			return core.Errorf(core.NotFound, "user %s not found", userID)
		}
		if err != nil {
			return err
		}
		if p.User.Role != core.RoleAdmin {
			return forbidden("Only a team admin may list another user's keys")
		}
		out, err = credentials(tx, userID)
		return err
	})
	return out, err
}

// RevokeKey revokes an API key or a login token (by its id, PrefixLoginToken…): an operator
// any, a team admin those of the team's users, a member only their own; any other is
// NotFound. Revoking a revoked credential changes nothing. The revocation advances the
// store's credential generation in the same transaction, so every replica refuses the
// credential from its next request on.
func (s *Service) RevokeKey(ctx context.Context, p core.Principal, id string) (core.APIKey, error) {
	id = strings.TrimSpace(id)
	if strings.HasPrefix(id, core.PrefixLoginToken) {
		return s.revokeToken(ctx, p, id)
	}
	var k core.APIKey
	err := s.write(ctx, func(tx store.Tx) error {
		var err error
		if k, err = tx.GetAPIKey(id); core.IsNotFound(err) {
			return core.Errorf(core.NotFound, "API key %s not found", id)
		} else if err != nil {
			return err
		}
		if ok, err := mayManageKeysOf(tx, p, k.UserID); err != nil {
			return err
		} else if !ok {
			return core.Errorf(core.NotFound, "API key %s not found", id)
		}
		return s.revokeInTx(tx, &k)
	})
	if err == nil {
		s.auth.invalidate() // the key must stop working now, not when its cache entry expires
	}
	return k, err
}

// revokeInTx revokes k (nothing changes if it is revoked already) and advances the store's
// credential generation in the same transaction, so every replica refuses the key from its
// next request on. The caller invalidates the auth cache after the commit.
func (s *Service) revokeInTx(tx store.Tx, k *core.APIKey) error {
	if k.Revoked != nil {
		return nil
	}
	now := s.clock.Now()
	k.Revoked = &now
	if err := tx.UpdateAPIKey(k); err != nil {
		return err
	}
	return tx.BumpAuthGeneration()
}

// mayManageKeysOf reports whether p may see and revoke the keys of user userID.
func mayManageKeysOf(tx store.Tx, p core.Principal, userID string) (bool, error) {
	switch {
	case p.User.Role == core.RoleOperator, userID == p.User.ID:
		return true, nil
	case p.User.Role != core.RoleAdmin:
		return false, nil
	}
	u, err := tx.GetUser(userID)
	if core.IsNotFound(err) {
		return false, nil
	}
	return err == nil && u.TeamID == p.Team.ID, err
}
