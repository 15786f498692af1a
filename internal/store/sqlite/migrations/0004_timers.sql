-- Timers, snapshots and the notification outbox (issue 3).
-- Timers are durable due times on the machine row; the engine's next_at is the earliest of
-- them, so they are claimed with the same lease as every other step of the machine.
ALTER TABLE machines ADD COLUMN mark_restore_point INTEGER NOT NULL DEFAULT 0;
ALTER TABLE machines ADD COLUMN shutdown_at INTEGER;
ALTER TABLE machines ADD COLUMN snapshot_at INTEGER;

CREATE TABLE snapshots (
	id         TEXT    PRIMARY KEY,
	machine_id TEXT    NOT NULL,
	kind       TEXT    NOT NULL,
	created    INTEGER NOT NULL,
	pruned     INTEGER NOT NULL
);
CREATE INDEX snapshots_machine ON snapshots (machine_id, created, id);

CREATE TABLE outbox (
	id          TEXT    PRIMARY KEY,
	machine_id  TEXT    NOT NULL,
	recipient   TEXT    NOT NULL,
	subject     TEXT    NOT NULL,
	body        TEXT    NOT NULL,
	created     INTEGER NOT NULL,
	attempts    INTEGER NOT NULL,
	next_at     INTEGER,
	sent        INTEGER,
	last_error  TEXT    NOT NULL,
	lease_owner TEXT,
	lease_until INTEGER
);
CREATE INDEX outbox_due ON outbox (next_at) WHERE next_at IS NOT NULL;
CREATE INDEX outbox_machine ON outbox (machine_id, created, id);
