-- Timers, snapshots and the notification outbox (issue 3).
-- Timers are durable due times on the machine row; the engine's next_at is the earliest of
-- them, so they are claimed with the same lease as every other step of the machine.
ALTER TABLE machines ADD COLUMN mark_restore_point BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE machines ADD COLUMN shutdown_at BIGINT;
ALTER TABLE machines ADD COLUMN snapshot_at BIGINT;

CREATE TABLE snapshots (
	id         TEXT    COLLATE "C" PRIMARY KEY,
	machine_id TEXT    COLLATE "C" NOT NULL,
	kind       TEXT    COLLATE "C" NOT NULL,
	created    BIGINT  NOT NULL,
	pruned     BOOLEAN NOT NULL
);
CREATE INDEX snapshots_machine ON snapshots (machine_id, created, id);

CREATE TABLE outbox (
	id          TEXT    COLLATE "C" PRIMARY KEY,
	machine_id  TEXT    COLLATE "C" NOT NULL,
	recipient   TEXT    NOT NULL,
	subject     TEXT    NOT NULL,
	body        TEXT    NOT NULL,
	created     BIGINT  NOT NULL,
	attempts    INTEGER NOT NULL,
	next_at     BIGINT,
	sent        BIGINT,
	last_error  TEXT    NOT NULL,
	lease_owner TEXT,
	lease_until BIGINT
);
CREATE INDEX outbox_due ON outbox (next_at) WHERE next_at IS NOT NULL;
CREATE INDEX outbox_machine ON outbox (machine_id, created, id);
