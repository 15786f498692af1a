-- team_usage keeps, per team, the live machines and those that are not off, so that the
-- quota check of every create and start reads one row instead of counting a team's machines
-- (which grows with the team). Triggers keep it exact in the transaction of every change to
-- machines; the counts are rebuilt here from the table.
CREATE TABLE team_usage (
    team_id  TEXT COLLATE "C" PRIMARY KEY,
    machines BIGINT NOT NULL DEFAULT 0,
    running  BIGINT NOT NULL DEFAULT 0
);
INSERT INTO team_usage (team_id, machines, running)
    SELECT team_id, COUNT(*), COUNT(*) FILTER (WHERE state <> 'off') FROM machines
    WHERE deleted_at IS NULL GROUP BY team_id;

CREATE FUNCTION machines_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.deleted_at IS NULL THEN
        UPDATE team_usage SET machines = machines - 1,
            running = running - (OLD.state <> 'off')::int
            WHERE team_id = OLD.team_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.deleted_at IS NULL THEN
        INSERT INTO team_usage (team_id, machines, running) VALUES (NEW.team_id, 1, (NEW.state <> 'off')::int)
            ON CONFLICT (team_id) DO UPDATE SET machines = team_usage.machines + 1,
                running = team_usage.running + excluded.running;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER machines_usage_insert AFTER INSERT ON machines
    FOR EACH ROW WHEN (NEW.deleted_at IS NULL) EXECUTE FUNCTION machines_usage();
CREATE TRIGGER machines_usage_update AFTER UPDATE OF team_id, state, deleted_at ON machines
    FOR EACH ROW WHEN (OLD.team_id IS DISTINCT FROM NEW.team_id
        OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
        OR (OLD.state <> 'off') <> (NEW.state <> 'off'))
    EXECUTE FUNCTION machines_usage();
CREATE TRIGGER machines_usage_delete AFTER DELETE ON machines
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL) EXECUTE FUNCTION machines_usage();
