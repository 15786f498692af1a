-- SSH public keys of users (issue 11): machines assigned to a user authorize them for their
-- login user. An operator-API extension; Paperspace's API has none.
CREATE TABLE ssh_keys (
	id          TEXT    PRIMARY KEY,
	user_id     TEXT    NOT NULL REFERENCES users (id),
	public_key  TEXT    NOT NULL,
	fingerprint TEXT    NOT NULL,
	created     INTEGER NOT NULL,
	UNIQUE (user_id, fingerprint)
);
CREATE INDEX ssh_keys_user ON ssh_keys (user_id, created, id);
