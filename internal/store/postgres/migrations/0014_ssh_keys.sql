-- SSH public keys of users (issue 11): machines assigned to a user authorize them for their
-- login user. An operator-API extension; Paperspace's API has none.
CREATE TABLE ssh_keys (
	id          TEXT   COLLATE "C" PRIMARY KEY,
	user_id     TEXT   COLLATE "C" NOT NULL REFERENCES users (id),
	public_key  TEXT   COLLATE "C" NOT NULL,
	fingerprint TEXT   COLLATE "C" NOT NULL,
	created     BIGINT NOT NULL,
	UNIQUE (user_id, fingerprint)
);
CREATE INDEX ssh_keys_user ON ssh_keys (user_id, created, id);
