-- Hosts on other machines (issue 12): hosts run by `hangar agent`, their join tokens and the
-- operations handed to their agents.
--
-- A host made before this migration (the sim fleet, the qemu host, hosts made by hand) has no
-- agent: an empty driver, no credential, never unreachable.
ALTER TABLE hosts ADD COLUMN agent_driver      TEXT    COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN agent_accelerator TEXT    COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN agent_gpus        JSONB   NOT NULL DEFAULT '{}'; -- JSON: model -> PCI addresses
ALTER TABLE hosts ADD COLUMN agent_version     TEXT    COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE hosts ADD COLUMN credential_hash   TEXT    COLLATE "C";   -- SHA-256 of the agent's credential; NULL: none
ALTER TABLE hosts ADD COLUMN last_seen         BIGINT;
ALTER TABLE hosts ADD COLUMN unreachable       BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE hosts ADD COLUMN vms               JSONB   NOT NULL DEFAULT '[]'; -- JSON: running machine ids
ALTER TABLE hosts ADD COLUMN vms_at            BIGINT;
CREATE UNIQUE INDEX hosts_credential ON hosts (credential_hash);

-- One-time join tokens, by the SHA-256 of their secret.
CREATE TABLE join_tokens (
	id      TEXT    COLLATE "C" PRIMARY KEY,
	hash    TEXT    COLLATE "C" NOT NULL UNIQUE,
	region  TEXT    COLLATE "C" NOT NULL,
	expires BIGINT NOT NULL,
	created BIGINT NOT NULL,
	used    BIGINT,
	host_id TEXT    COLLATE "C" NOT NULL DEFAULT ''
);

-- Operations for agents. The id is derived from the work (see core.AgentOp), so the engine
-- steps of one transition share one row; result is NULL until the agent reports it.
CREATE TABLE agent_ops (
	id         TEXT    COLLATE "C" PRIMARY KEY,
	host_id    TEXT    COLLATE "C" NOT NULL,
	machine_id TEXT    COLLATE "C" NOT NULL,
	kind       TEXT    COLLATE "C" NOT NULL,
	request    TEXT    COLLATE "C" NOT NULL,
	result     TEXT    COLLATE "C",
	created    BIGINT NOT NULL,
	finished   BIGINT
);
CREATE INDEX agent_ops_pending ON agent_ops (host_id, created) WHERE finished IS NULL;
CREATE INDEX agent_ops_finished ON agent_ops (finished) WHERE finished IS NOT NULL;
