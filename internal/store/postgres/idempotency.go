package postgres

import "hangar/internal/core"

func (t *tx) GetIdempotency(userID, key string) (core.Idempotency, error) {
	var r core.Idempotency
	err := t.queryRow(`SELECT user_id, key, request_hash, machine_id, response, created FROM idempotency
		WHERE user_id = $1 AND key = $2`, userID, key).
		Scan(&r.UserID, &r.Key, &r.RequestHash, &r.MachineID, &r.Response, timeCol{&r.Created})
	return r, t.dbErr(err, "idempotency key", key)
}

func (t *tx) CreateIdempotency(r *core.Idempotency) error {
	return t.insert("idempotency key", r.Key, "",
		`INSERT INTO idempotency (user_id, key, request_hash, machine_id, response, created)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
		r.UserID, r.Key, r.RequestHash, r.MachineID, r.Response, ms(r.Created))
}
