-- Hosts on other machines (issue 12): hosts run by `hangar agent`, their join tokens and the
-- operations handed to their agents.
--
-- A host made before this migration (the sim fleet, the qemu host, hosts made by hand) has no
-- agent: an empty driver, no credential, never unreachable.
ALTER TABLE hosts ADD COLUMN agent_driver      TEXT    NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN agent_accelerator TEXT    NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN agent_gpus        TEXT    NOT NULL DEFAULT '{}'; -- JSON: model -> PCI addresses
ALTER TABLE hosts ADD COLUMN agent_version     TEXT    NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN credential_hash   TEXT;   -- SHA-256 of the agent's credential; NULL: none
ALTER TABLE hosts ADD COLUMN last_seen         INTEGER;
ALTER TABLE hosts ADD COLUMN unreachable       INTEGER NOT NULL DEFAULT 0;
ALTER TABLE hosts ADD COLUMN vms               TEXT    NOT NULL DEFAULT '[]'; -- JSON: running machine ids
ALTER TABLE hosts ADD COLUMN vms_at            INTEGER;
CREATE UNIQUE INDEX hosts_credential ON hosts (credential_hash);

-- One-time join tokens, by the SHA-256 of their secret.
CREATE TABLE join_tokens (
	id      TEXT    PRIMARY KEY,
	hash    TEXT    NOT NULL UNIQUE,
	region  TEXT    NOT NULL,
	expires INTEGER NOT NULL,
	created INTEGER NOT NULL,
	used    INTEGER,
	host_id TEXT    NOT NULL DEFAULT ''
);

-- Operations for agents. The id is derived from the work (see core.AgentOp), so the engine
-- steps of one transition share one row; result is NULL until the agent reports it.
CREATE TABLE agent_ops (
	id         TEXT    PRIMARY KEY,
	host_id    TEXT    NOT NULL,
	machine_id TEXT    NOT NULL,
	kind       TEXT    NOT NULL,
	request    TEXT    NOT NULL,
	result     TEXT,
	created    INTEGER NOT NULL,
	finished   INTEGER
);
CREATE INDEX agent_ops_pending ON agent_ops (host_id, created) WHERE finished IS NULL;
CREATE INDEX agent_ops_finished ON agent_ops (finished) WHERE finished IS NOT NULL;
