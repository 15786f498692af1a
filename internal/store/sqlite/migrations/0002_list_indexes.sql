-- Indexes for the filtered machine lists most clients send (machineType, name, state), each
-- ending in the default order (created, id) so that a filtered page needs no sort and no scan
-- of the whole team (BENCHMARKS.md: a 10,000-machine team, p99 14 ms → 6 ms).
CREATE INDEX machines_team_type ON machines (team_id, machine_type, created, id) WHERE deleted_at IS NULL;
CREATE INDEX machines_team_name ON machines (team_id, name, created, id) WHERE deleted_at IS NULL;
DROP INDEX machines_team_state;
CREATE INDEX machines_team_state ON machines (team_id, state, created, id) WHERE deleted_at IS NULL;
