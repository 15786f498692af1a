-- Hangar schema, version 1. Times are INTEGER unix milliseconds (UTC); booleans are 0/1.
-- Soft-deleted rows (machines, networks) keep their row with deleted_at set.

CREATE TABLE teams (
	num        INTEGER PRIMARY KEY AUTOINCREMENT,
	id         TEXT    NOT NULL UNIQUE,
	name       TEXT    NOT NULL,
	individual INTEGER NOT NULL,
	created    INTEGER NOT NULL
);

CREATE TABLE users (
	id            TEXT    PRIMARY KEY,
	team_id       TEXT    NOT NULL REFERENCES teams (id),
	email         TEXT    NOT NULL,
	email_key     TEXT    NOT NULL UNIQUE, -- lower-cased email, computed by the store
	first_name    TEXT    NOT NULL,
	last_name     TEXT    NOT NULL,
	role          TEXT    NOT NULL,
	password_hash TEXT    NOT NULL,
	created       INTEGER NOT NULL
);
CREATE INDEX users_team ON users (team_id, created, id);

CREATE TABLE api_keys (
	id        TEXT    PRIMARY KEY,
	user_id   TEXT    NOT NULL REFERENCES users (id),
	name      TEXT    NOT NULL,
	prefix    TEXT    NOT NULL,
	hash      TEXT    NOT NULL UNIQUE,
	created   INTEGER NOT NULL,
	last_used INTEGER,
	revoked   INTEGER
);
CREATE INDEX api_keys_user ON api_keys (user_id, created, id);

CREATE TABLE access_tokens (
	hash    TEXT    PRIMARY KEY,
	user_id TEXT    NOT NULL REFERENCES users (id),
	created INTEGER NOT NULL,
	expires INTEGER NOT NULL
);

CREATE TABLE templates (
	id         TEXT    PRIMARY KEY,
	name       TEXT    NOT NULL,
	label      TEXT,
	os         TEXT    NOT NULL,
	os_family  TEXT    NOT NULL,
	agent_type TEXT    NOT NULL,
	team_id    TEXT,
	user_id    TEXT,
	region     TEXT,
	image      TEXT    NOT NULL,
	kernel     TEXT    NOT NULL,
	initrd     TEXT    NOT NULL,
	created    INTEGER NOT NULL
);
CREATE INDEX templates_team ON templates (team_id, created, id);

CREATE TABLE networks (
	num        INTEGER PRIMARY KEY AUTOINCREMENT,
	id         TEXT    NOT NULL UNIQUE,
	name       TEXT    NOT NULL,
	team_id    TEXT    NOT NULL,
	region     TEXT    NOT NULL,
	cidr       TEXT    NOT NULL,
	vlan       INTEGER NOT NULL,
	managed    INTEGER NOT NULL,
	created    INTEGER NOT NULL,
	deleted_at INTEGER
);
CREATE INDEX networks_team ON networks (team_id, num) WHERE deleted_at IS NULL;

CREATE TABLE scripts (
	id          TEXT    PRIMARY KEY,
	owner_type  TEXT    NOT NULL,
	owner_id    TEXT    NOT NULL,
	team_id     TEXT    NOT NULL,
	name        TEXT    NOT NULL,
	description TEXT,
	body        TEXT    NOT NULL,
	enabled     INTEGER NOT NULL,
	run_once    INTEGER NOT NULL,
	created     INTEGER NOT NULL,
	UNIQUE (owner_type, owner_id, name)
);
CREATE INDEX scripts_team ON scripts (team_id, created, id);

CREATE TABLE machines (
	internal_id               INTEGER PRIMARY KEY AUTOINCREMENT,
	id                        TEXT    NOT NULL UNIQUE, -- unique among destroyed machines too
	name                      TEXT    NOT NULL,
	team_id                   TEXT    NOT NULL,
	user_id                   TEXT    NOT NULL,
	region                    TEXT    NOT NULL,
	machine_type              TEXT    NOT NULL,
	billing_type              TEXT    NOT NULL,
	template_id               TEXT    NOT NULL,
	size_gb                   INTEGER NOT NULL,
	os                        TEXT,
	ram                       INTEGER,
	cpus                      INTEGER NOT NULL,
	gpu                       TEXT,
	storage_total             INTEGER,
	storage_used              INTEGER,
	agent_type                TEXT    NOT NULL,
	shutdown_timeout_in_hours INTEGER,
	shutdown_timeout_forces   INTEGER NOT NULL,
	perform_auto_snapshot     INTEGER NOT NULL,
	auto_snapshot_frequency   TEXT,
	auto_snapshot_save_count  INTEGER,
	dynamic_public_ip         INTEGER NOT NULL,
	is_managed                INTEGER NOT NULL,
	updates_pending           INTEGER NOT NULL,
	network_id                TEXT,
	private_ip                TEXT,
	public_ip                 TEXT,
	script_id                 TEXT,
	last_run                  INTEGER,
	notification_mail         TEXT,
	take_initial_snapshot     INTEGER NOT NULL,
	restore_point_snapshot_id TEXT,
	restore_point_frequency   TEXT,
	state                     TEXT    NOT NULL,
	host_id                   TEXT    NOT NULL,
	holds_capacity            INTEGER NOT NULL,
	booted                    INTEGER NOT NULL,
	op_event                  TEXT    NOT NULL,
	phase_since               INTEGER NOT NULL,
	next_at                   INTEGER,
	attempts                  INTEGER NOT NULL,
	created                   INTEGER NOT NULL,
	lease_owner               TEXT,    -- engine lease; never written by UpdateMachine
	lease_until               INTEGER,
	deleted_at                INTEGER  -- set when destroyed; the row stays for billing
);
CREATE INDEX machines_team_created ON machines (team_id, created, id) WHERE deleted_at IS NULL;
CREATE INDEX machines_team_state ON machines (team_id, state) WHERE deleted_at IS NULL;
CREATE INDEX machines_user ON machines (user_id) WHERE deleted_at IS NULL;
CREATE INDEX machines_next_at ON machines (next_at) WHERE deleted_at IS NULL AND next_at IS NOT NULL;
CREATE INDEX machines_script ON machines (script_id) WHERE script_id IS NOT NULL;
CREATE INDEX machines_network ON machines (network_id) WHERE deleted_at IS NULL AND network_id IS NOT NULL;
CREATE INDEX machines_host ON machines (host_id) WHERE deleted_at IS NULL;

CREATE TABLE machine_access (
	machine_id TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	PRIMARY KEY (machine_id, user_id)
);

CREATE TABLE events (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	handle     TEXT    NOT NULL UNIQUE,
	machine_id TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	state      TEXT    NOT NULL,
	error_msg  TEXT    NOT NULL,
	created    INTEGER NOT NULL,
	modified   INTEGER NOT NULL,
	finished   INTEGER
);
CREATE INDEX events_machine ON events (machine_id, created, seq);

CREATE TABLE hosts (
	id        TEXT    PRIMARY KEY,
	name      TEXT    NOT NULL UNIQUE,
	region    TEXT    NOT NULL,
	capacity  TEXT    NOT NULL, -- JSON object: machine type -> slots
	available INTEGER NOT NULL,
	created   INTEGER NOT NULL
);
CREATE INDEX hosts_region ON hosts (region, name);

CREATE TABLE host_usage (
	host_id      TEXT    NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
	machine_type TEXT    NOT NULL,
	used         INTEGER NOT NULL CHECK (used >= 0),
	PRIMARY KEY (host_id, machine_type)
);

CREATE TABLE private_ips (
	scope      TEXT NOT NULL,
	addr       TEXT NOT NULL,
	machine_id TEXT NOT NULL,
	UNIQUE (scope, addr)
);
CREATE INDEX private_ips_machine ON private_ips (machine_id);

CREATE TABLE public_ips (
	address    TEXT    PRIMARY KEY,
	team_id    TEXT,
	machine_id TEXT,
	dynamic    INTEGER NOT NULL
);
CREATE INDEX public_ips_team ON public_ips (team_id, address);

CREATE TABLE idempotency (
	user_id      TEXT    NOT NULL,
	key          TEXT    NOT NULL,
	request_hash TEXT    NOT NULL,
	machine_id   TEXT    NOT NULL,
	response     BLOB,
	created      INTEGER NOT NULL,
	PRIMARY KEY (user_id, key)
);
