-- team_usage keeps, per team, the live machines and those that are not off, so that the
-- quota check of every create and start reads one row instead of counting a team's machines
-- (which grows with the team: 3.6 ms a create at 20,000 machines). Triggers keep it exact in
-- the transaction of every change to machines; the counts are rebuilt here from the table.
CREATE TABLE team_usage (
    team_id  TEXT PRIMARY KEY,
    machines INTEGER NOT NULL DEFAULT 0,
    running  INTEGER NOT NULL DEFAULT 0
);
INSERT INTO team_usage (team_id, machines, running)
    SELECT team_id, COUNT(*), SUM(state <> 'off') FROM machines WHERE deleted_at IS NULL GROUP BY team_id;

CREATE TRIGGER machines_usage_insert AFTER INSERT ON machines WHEN NEW.deleted_at IS NULL BEGIN
    INSERT INTO team_usage (team_id, machines, running) VALUES (NEW.team_id, 1, NEW.state <> 'off')
        ON CONFLICT (team_id) DO UPDATE SET machines = machines + 1, running = running + excluded.running;
END;

CREATE TRIGGER machines_usage_update AFTER UPDATE OF team_id, state, deleted_at ON machines
WHEN OLD.team_id IS NOT NEW.team_id OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
    OR (OLD.state <> 'off') <> (NEW.state <> 'off') BEGIN
    UPDATE team_usage SET machines = machines - (OLD.deleted_at IS NULL),
        running = running - (OLD.deleted_at IS NULL AND OLD.state <> 'off')
        WHERE team_id = OLD.team_id;
    INSERT INTO team_usage (team_id, machines, running)
        VALUES (NEW.team_id, NEW.deleted_at IS NULL, NEW.deleted_at IS NULL AND NEW.state <> 'off')
        ON CONFLICT (team_id) DO UPDATE SET machines = machines + excluded.machines, running = running + excluded.running;
END;

CREATE TRIGGER machines_usage_delete AFTER DELETE ON machines WHEN OLD.deleted_at IS NULL BEGIN
    UPDATE team_usage SET machines = machines - 1, running = running - (OLD.state <> 'off')
        WHERE team_id = OLD.team_id;
END;
