package postgres

import (
	"strings"

	"hangar/internal/core"
)

const userCols = `id, team_id, email, first_name, last_name, role, password_hash, created`

func scanUser(s scanner) (core.User, error) {
	var u core.User
	err := s.Scan(&u.ID, &u.TeamID, &u.Email, &u.FirstName, &u.LastName, &u.Role, &u.PasswordHash,
		timeCol{&u.Created})
	return u, err
}

// emailKey is the case-insensitive form of an email that the UNIQUE index holds. It is
// computed in Go, as in the sqlite package, so both backends fold case identically.
func emailKey(email string) string { return strings.ToLower(email) }

// CreateUser is guarded: besides its two unique keys it can fail on the team's foreign key.
func (t *tx) CreateUser(u *core.User) error {
	_, err := t.guarded(`INSERT INTO users (id, team_id, email, email_key, first_name, last_name, role,
		password_hash, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		u.ID, u.TeamID, u.Email, emailKey(u.Email), u.FirstName, u.LastName, u.Role, u.PasswordHash, ms(u.Created))
	return t.dbErrConflict(err, "user", u.ID, "a user with id "+u.ID+" or email "+u.Email+" already exists")
}

func (t *tx) GetUser(id string) (core.User, error) {
	u, err := scanUser(t.queryRow(`SELECT `+userCols+` FROM users WHERE id = $1`, id))
	return u, t.dbErr(err, "user", id)
}

func (t *tx) GetUserByEmail(email string) (core.User, error) {
	u, err := scanUser(t.queryRow(`SELECT `+userCols+` FROM users WHERE email_key = $1`, emailKey(email)))
	return u, t.dbErr(err, "user with email", email)
}

func (t *tx) ListUsers(teamID string) ([]core.User, error) {
	if teamID == "" {
		return list(t, "users", scanUser, `SELECT `+userCols+` FROM users ORDER BY created, id`)
	}
	return list(t, "users", scanUser, `SELECT `+userCols+` FROM users WHERE team_id = $1 ORDER BY created, id`, teamID)
}

// UpdateUser is guarded: the new email or team may violate a constraint.
func (t *tx) UpdateUser(u *core.User) error {
	tag, err := t.guarded(`UPDATE users SET team_id = $2, email = $3, email_key = $4,
		first_name = $5, last_name = $6, role = $7, password_hash = $8, created = $9 WHERE id = $1`,
		u.ID, u.TeamID, u.Email, emailKey(u.Email), u.FirstName, u.LastName, u.Role, u.PasswordHash, ms(u.Created))
	if err != nil {
		return t.dbErrConflict(err, "user", u.ID, "a user with email "+u.Email+" already exists")
	}
	if tag.RowsAffected() == 0 {
		return notFound("user", u.ID)
	}
	return nil
}

const apiKeyCols = `id, user_id, name, prefix, hash, created, last_used, revoked`

func scanAPIKey(s scanner) (core.APIKey, error) {
	var k core.APIKey
	err := s.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &k.Hash, timeCol{&k.Created},
		nullTimeCol{&k.LastUsed}, nullTimeCol{&k.Revoked})
	return k, err
}

// CreateAPIKey is guarded: it can fail on the user's foreign key.
func (t *tx) CreateAPIKey(k *core.APIKey) error {
	_, err := t.guarded(`INSERT INTO api_keys (`+apiKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		k.ID, k.UserID, k.Name, k.Prefix, k.Hash, ms(k.Created), nullMS(k.LastUsed), nullMS(k.Revoked))
	return t.dbErrConflict(err, "API key", k.ID, "an API key with id "+k.ID+" or the same hash already exists")
}

func (t *tx) GetAPIKeyByHash(hash string) (core.APIKey, error) {
	k, err := scanAPIKey(t.queryRow(`SELECT `+apiKeyCols+` FROM api_keys WHERE hash = $1`, hash))
	return k, t.dbErr(err, "API key", "")
}

func (t *tx) GetAPIKey(id string) (core.APIKey, error) {
	k, err := scanAPIKey(t.queryRow(`SELECT `+apiKeyCols+` FROM api_keys WHERE id = $1`, id))
	return k, t.dbErr(err, "API key", id)
}

func (t *tx) ListAPIKeys(userID string) ([]core.APIKey, error) {
	if userID == "" {
		return list(t, "API keys", scanAPIKey, `SELECT `+apiKeyCols+` FROM api_keys ORDER BY created, id`)
	}
	return list(t, "API keys", scanAPIKey, `SELECT `+apiKeyCols+` FROM api_keys
		WHERE user_id = $1 ORDER BY created, id`, userID)
}

func (t *tx) UpdateAPIKey(k *core.APIKey) error {
	return t.execOne("API key", k.ID, `UPDATE api_keys SET last_used = $2, revoked = $3 WHERE id = $1`,
		k.ID, nullMS(k.LastUsed), nullMS(k.Revoked))
}

// CreateAccessToken is guarded: it can fail on the user's foreign key.
func (t *tx) CreateAccessToken(a *core.AccessToken) error {
	_, err := t.guarded(`INSERT INTO access_tokens (hash, user_id, created, expires) VALUES ($1, $2, $3, $4)`,
		a.Hash, a.UserID, ms(a.Created), ms(a.Expires))
	return t.dbErr(err, "access token", "")
}

func (t *tx) GetAccessToken(hash string) (core.AccessToken, error) {
	var a core.AccessToken
	err := t.queryRow(`SELECT hash, user_id, created, expires FROM access_tokens WHERE hash = $1`, hash).
		Scan(&a.Hash, &a.UserID, timeCol{&a.Created}, timeCol{&a.Expires})
	return a, t.dbErr(err, "access token", "")
}
