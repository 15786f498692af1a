package sqlstore

import (
	"strings"

	"hangar/internal/core"
)

const userCols = `id, team_id, email, first_name, last_name, role, password_hash, created`

func scanUser(s Row) (core.User, error) {
	var u core.User
	err := s.Scan(&u.ID, &u.TeamID, &u.Email, &u.FirstName, &u.LastName, &u.Role, &u.PasswordHash,
		timeCol{&u.Created})
	return u, err
}

// emailKey is the case-insensitive form of an email that the UNIQUE index holds. It is
// computed in Go, so that both backends fold case identically.
func emailKey(email string) string { return strings.ToLower(email) }

// CreateUser is guarded: besides its two unique keys it can fail on the team's foreign key.
func (t *Tx) CreateUser(u *core.User) error {
	_, err := t.x.ExecGuarded(`INSERT INTO users (id, team_id, email, email_key, first_name, last_name, role,
		password_hash, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		u.ID, u.TeamID, u.Email, emailKey(u.Email), u.FirstName, u.LastName, u.Role, u.PasswordHash, ms(u.Created))
	return t.errConflict(err, "user", u.ID, "a user with id "+u.ID+" or email "+u.Email+" already exists")
}

// GetUser implements store.Tx.
func (t *Tx) GetUser(id string) (core.User, error) {
	u, err := scanUser(t.x.QueryRow(`SELECT `+userCols+` FROM users WHERE id = $1`, id))
	return u, t.Err(err, "user", id)
}

// GetUserByEmail implements store.Tx.
func (t *Tx) GetUserByEmail(email string) (core.User, error) {
	u, err := scanUser(t.x.QueryRow(`SELECT `+userCols+` FROM users WHERE email_key = $1`, emailKey(email)))
	return u, t.Err(err, "user with email", email)
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
	return t.guardedOne("user", u.ID, "a user with email "+u.Email+" already exists",
		`UPDATE users SET team_id = $2, email = $3, email_key = $4,
		first_name = $5, last_name = $6, role = $7, password_hash = $8, created = $9 WHERE id = $1`,
		u.ID, u.TeamID, u.Email, emailKey(u.Email), u.FirstName, u.LastName, u.Role, u.PasswordHash, ms(u.Created))
}

const apiKeyCols = `id, user_id, name, prefix, hash, created, last_used, revoked`

func scanAPIKey(s Row) (core.APIKey, error) {
	var k core.APIKey
	err := s.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &k.Hash, timeCol{&k.Created},
		nullTimeCol{&k.LastUsed}, nullTimeCol{&k.Revoked})
	return k, err
}

// CreateAPIKey is guarded: it can fail on the user's foreign key.
func (t *Tx) CreateAPIKey(k *core.APIKey) error {
	_, err := t.x.ExecGuarded(`INSERT INTO api_keys (`+apiKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		k.ID, k.UserID, k.Name, k.Prefix, k.Hash, ms(k.Created), nullMS(k.LastUsed), nullMS(k.Revoked))
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

// CreateAccessToken is guarded: it can fail on the user's foreign key.
func (t *Tx) CreateAccessToken(a *core.AccessToken) error {
	_, err := t.x.ExecGuarded(`INSERT INTO access_tokens (hash, user_id, created, expires) VALUES ($1, $2, $3, $4)`,
		a.Hash, a.UserID, ms(a.Created), ms(a.Expires))
	return t.Err(err, "access token", "")
}

// GetAccessToken implements store.Tx.
func (t *Tx) GetAccessToken(hash string) (core.AccessToken, error) {
	var a core.AccessToken
	err := t.x.QueryRow(`SELECT hash, user_id, created, expires FROM access_tokens WHERE hash = $1`, hash).
		Scan(&a.Hash, &a.UserID, timeCol{&a.Created}, timeCol{&a.Expires})
	return a, t.Err(err, "access token", "")
}
