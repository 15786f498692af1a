-- The audit log: one row per state-changing API call (core.AuditEntry). No foreign keys: an
-- entry outlives the users, teams and objects it names, and anonymous calls have no user.
CREATE TABLE audit_log (
	seq         INTEGER PRIMARY KEY AUTOINCREMENT,
	at          INTEGER NOT NULL,
	request_id  TEXT    NOT NULL,
	user_id     TEXT    NOT NULL,
	role        TEXT    NOT NULL,
	team_id     TEXT    NOT NULL,
	action      TEXT    NOT NULL,
	target      TEXT    NOT NULL,
	status      INTEGER NOT NULL,
	error       TEXT    NOT NULL,
	client_addr TEXT    NOT NULL
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
	gen INTEGER NOT NULL
);
INSERT INTO auth_generation (id, gen) VALUES (1, 0);
