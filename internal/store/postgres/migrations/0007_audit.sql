-- The audit log: one row per state-changing API call (core.AuditEntry). No foreign keys: an
-- entry outlives the users, teams and objects it names, and anonymous calls have no user.
CREATE TABLE audit_log (
	seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at          BIGINT  NOT NULL,
	request_id  TEXT    COLLATE "C" NOT NULL,
	user_id     TEXT    COLLATE "C" NOT NULL,
	role        TEXT    COLLATE "C" NOT NULL,
	team_id     TEXT    COLLATE "C" NOT NULL,
	action      TEXT    COLLATE "C" NOT NULL,
	target      TEXT    COLLATE "C" NOT NULL,
	status      INTEGER NOT NULL,
	error       TEXT    COLLATE "C" NOT NULL,
	client_addr TEXT    COLLATE "C" NOT NULL
);
-- Every state-changing call writes a row, so each index costs every create, start and stop:
-- only the time order (appended at the end, cheap) and the team filter, the operator's usual
-- question, are indexed. User and action filters read the time index newest first.
CREATE INDEX audit_log_at ON audit_log (at, seq);
CREATE INDEX audit_log_team ON audit_log (team_id, at, seq);

-- The credential generation: advanced in the transaction of every change that can make an
-- authenticated key stop resolving (a revocation). Replicas sharing a database read it to know
-- whether a cached authentication is still good.
CREATE TABLE auth_generation (
	id  INTEGER PRIMARY KEY CHECK (id = 1),
	gen BIGINT NOT NULL
);
INSERT INTO auth_generation (id, gen) VALUES (1, 0);
