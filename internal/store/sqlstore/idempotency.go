package sqlstore

import "hangar/internal/core"

// GetIdempotency implements store.Tx.
func (t *Tx) GetIdempotency(userID, key string) (core.Idempotency, error) {
	var r core.Idempotency
	err := t.x.QueryRow(`SELECT user_id, key, request_hash, machine_id, response, created FROM idempotency
		WHERE user_id = $1 AND key = $2`, userID, key).
		Scan(&r.UserID, &r.Key, &r.RequestHash, &r.MachineID, &r.Response, timeCol{&r.Created})
	return r, t.Err(err, "idempotency key", key)
}

// CreateIdempotency implements store.Tx.
func (t *Tx) CreateIdempotency(r *core.Idempotency) error {
	return t.insert("idempotency key", r.Key, "",
		`INSERT INTO idempotency (user_id, key, request_hash, machine_id, response, created)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		r.UserID, r.Key, r.RequestHash, r.MachineID, r.Response, ms(r.Created))
}
