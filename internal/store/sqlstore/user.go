package sqlstore

import (
	"strings"

	"hangar/internal/core"
)

const userCols = `id, team_id, email, first_name, last_name, role, password_hash, disabled, created`

func scanUser(s Row) (core.User, error) {
	var u core.User
	err := s.Scan(&u.ID, &u.TeamID, &u.Email, &u.FirstName, &u.LastName, &u.Role, &u.PasswordHash,
		&u.Disabled, timeCol{&u.Created})
	return u, err
}

// emailLower is the case-insensitive form of an email, and emailKey the one the UNIQUE index
// holds: an email is unique within its team. Both are computed in Go, so that both backends
// fold case identically.
func emailLower(email string) string { return strings.ToLower(email) }

func emailKey(teamID, email string) string { return teamID + " " + emailLower(email) }

// CreateUser is guarded: besides its two unique keys it can fail on the team's foreign key.
func (t *Tx) CreateUser(u *core.User) error {
	_, err := t.x.ExecGuarded(`INSERT INTO users (id, team_id, email, email_key, email_lower, first_name, last_name,
		role, password_hash, created, disabled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		u.ID, u.TeamID, u.Email, emailKey(u.TeamID, u.Email), emailLower(u.Email), u.FirstName, u.LastName, u.Role,
		u.PasswordHash, ms(u.Created), u.Disabled)
	return t.errConflict(err, "user", u.ID, "a user with id "+u.ID+" or email "+u.Email+" already exists in its team")
}

// GetUser implements store.Tx.
func (t *Tx) GetUser(id string) (core.User, error) {
	u, err := scanUser(t.x.QueryRow(`SELECT `+userCols+` FROM users WHERE id = $1`, id))
	return u, t.Err(err, "user", id)
}

// ListUsersByEmail implements store.Tx.
func (t *Tx) ListUsersByEmail(email string) ([]core.User, error) {
	return list(t, "users", scanUser, `SELECT `+userCols+` FROM users WHERE email_lower = $1 ORDER BY created, id`,
		emailLower(email))
}

// ListUsers implements store.Tx.
func (t *Tx) ListUsers(teamID string) ([]core.User, error) {
	if teamID == "" {
		return list(t, "users", scanUser, `SELECT `+userCols+` FROM users ORDER BY created, id`)
	}
	return list(t, "users", scanUser, `SELECT `+userCols+` FROM users WHERE team_id = $1 ORDER BY created, id`, teamID)
}

// UpdateUser is guarded: the new email or team may violate a constraint.
func (t *Tx) UpdateUser(u *core.User) error {
	return t.guardedOne("user", u.ID, "a user with email "+u.Email+" already exists in its team",
		`UPDATE users SET team_id = $2, email = $3, email_key = $4, email_lower = $5,
		first_name = $6, last_name = $7, role = $8, password_hash = $9, created = $10, disabled = $11 WHERE id = $1`,
		u.ID, u.TeamID, u.Email, emailKey(u.TeamID, u.Email), emailLower(u.Email), u.FirstName, u.LastName, u.Role,
		u.PasswordHash, ms(u.Created), u.Disabled)
}

const apiKeyCols = `id, user_id, name, prefix, hash, created, last_used, revoked, kind`

func scanAPIKey(s Row) (core.APIKey, error) {
	var k core.APIKey
	err := s.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &k.Hash, timeCol{&k.Created},
		nullTimeCol{&k.LastUsed}, nullTimeCol{&k.Revoked}, &k.Kind)
	return k, err
}

// CreateAPIKey is guarded: it can fail on the user's foreign key.
func (t *Tx) CreateAPIKey(k *core.APIKey) error {
	if k.Kind == "" {
		k.Kind = core.KindKey
	}
	_, err := t.x.ExecGuarded(`INSERT INTO api_keys (`+apiKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		k.ID, k.UserID, k.Name, k.Prefix, k.Hash, ms(k.Created), nullMS(k.LastUsed), nullMS(k.Revoked), k.Kind)
	return t.errConflict(err, "API key", k.ID, "an API key with id "+k.ID+" or the same hash already exists")
}

// GetAPIKeyByHash implements store.Tx.
func (t *Tx) GetAPIKeyByHash(hash string) (core.APIKey, error) {
	k, err := scanAPIKey(t.x.QueryRow(`SELECT `+apiKeyCols+` FROM api_keys WHERE hash = $1`, hash))
	return k, t.Err(err, "API key", "")
}

// GetAPIKey implements store.Tx.
func (t *Tx) GetAPIKey(id string) (core.APIKey, error) {
	k, err := scanAPIKey(t.x.QueryRow(`SELECT `+apiKeyCols+` FROM api_keys WHERE id = $1`, id))
	return k, t.Err(err, "API key", id)
}

// ListAPIKeys implements store.Tx.
func (t *Tx) ListAPIKeys(userID string) ([]core.APIKey, error) {
	if userID == "" {
		return list(t, "API keys", scanAPIKey, `SELECT `+apiKeyCols+` FROM api_keys ORDER BY created, id`)
	}
	return list(t, "API keys", scanAPIKey, `SELECT `+apiKeyCols+` FROM api_keys
		WHERE user_id = $1 ORDER BY created, id`, userID)
}

// UpdateAPIKey implements store.Tx.
func (t *Tx) UpdateAPIKey(k *core.APIKey) error {
	return t.execOne("API key", k.ID, `UPDATE api_keys SET last_used = $2, revoked = $3 WHERE id = $1`,
		k.ID, nullMS(k.LastUsed), nullMS(k.Revoked))
}

const accessTokenCols = `id, hash, user_id, created, expires, revoked`

func scanAccessToken(s Row) (core.AccessToken, error) {
	var a core.AccessToken
	err := s.Scan(&a.ID, &a.Hash, &a.UserID, timeCol{&a.Created}, timeCol{&a.Expires}, nullTimeCol{&a.Revoked})
	return a, err
}

// CreateAccessToken is guarded: it can fail on the user's foreign key.
func (t *Tx) CreateAccessToken(a *core.AccessToken) error {
	_, err := t.x.ExecGuarded(`INSERT INTO access_tokens (`+accessTokenCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		a.ID, a.Hash, a.UserID, ms(a.Created), ms(a.Expires), nullMS(a.Revoked))
	return t.Err(err, "access token", "")
}

// GetAccessToken implements store.Tx.
func (t *Tx) GetAccessToken(hash string) (core.AccessToken, error) {
	a, err := scanAccessToken(t.x.QueryRow(`SELECT `+accessTokenCols+` FROM access_tokens WHERE hash = $1`, hash))
	return a, t.Err(err, "access token", "")
}

// GetAccessTokenByID implements store.Tx.
func (t *Tx) GetAccessTokenByID(id string) (core.AccessToken, error) {
	a, err := scanAccessToken(t.x.QueryRow(`SELECT `+accessTokenCols+` FROM access_tokens WHERE id = $1`, id))
	return a, t.Err(err, "access token", id)
}

// ListAccessTokens implements store.Tx.
func (t *Tx) ListAccessTokens(userID string) ([]core.AccessToken, error) {
	if userID == "" {
		return list(t, "access tokens", scanAccessToken, `SELECT `+accessTokenCols+` FROM access_tokens ORDER BY created, id`)
	}
	return list(t, "access tokens", scanAccessToken, `SELECT `+accessTokenCols+` FROM access_tokens
		WHERE user_id = $1 ORDER BY created, id`, userID)
}

// UpdateAccessToken implements store.Tx.
func (t *Tx) UpdateAccessToken(a *core.AccessToken) error {
	return t.execOne("access token", a.ID, `UPDATE access_tokens SET revoked = $2 WHERE id = $1`, a.ID, nullMS(a.Revoked))
}
