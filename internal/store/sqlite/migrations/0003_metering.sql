-- The meter: every stretch of time a machine spends in a billable state (every state but
-- off), written in the same transaction as the state change that opens or closes it. The
-- storage lifetime needs no table: it runs from machines.created to machines.deleted_at.
-- Only the indexes the write path needs: the operator's monthly report reads whole tables.
CREATE TABLE machine_usage (
	id         INTEGER PRIMARY KEY, -- rowid; only empty intervals are ever deleted
	machine_id TEXT    NOT NULL,
	started    INTEGER NOT NULL,
	ended      INTEGER -- NULL while the machine is billable
);
CREATE INDEX machine_usage_machine ON machine_usage (machine_id, started);
CREATE UNIQUE INDEX machine_usage_open ON machine_usage (machine_id) WHERE ended IS NULL;

-- Machines that are billable when the meter is installed are metered from the start of their
-- current state, the earliest moment the database knows they were billable.
INSERT INTO machine_usage (machine_id, started, ended)
	SELECT id, phase_since, NULL FROM machines WHERE deleted_at IS NULL AND state <> 'off';
