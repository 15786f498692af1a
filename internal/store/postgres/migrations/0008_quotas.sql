-- Per-team quota overrides (core.Quota): a row replaces the operator's default (`hangar serve
-- --quota`) for one quota of one team; no row, the default applies. max_count -1 is unlimited.
CREATE TABLE team_quotas (
	team_id   TEXT    COLLATE "C" NOT NULL REFERENCES teams (id),
	name      TEXT    COLLATE "C" NOT NULL,
	max_count BIGINT  NOT NULL,
	PRIMARY KEY (team_id, name)
);
