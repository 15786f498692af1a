-- Emails are unique within a team, not across teams: a team creating a user must not learn
-- whether another team (or the operator) already has that email. email_key, still UNIQUE,
-- becomes "<team id> <lower-cased email>" (team ids and emails hold no space); email_lower is
-- the lower-cased email alone, indexed, for users/login, which looks the email up in every
-- team. Both are computed by the store.
ALTER TABLE users ADD COLUMN email_lower TEXT COLLATE "C" NOT NULL DEFAULT '';
UPDATE users SET email_lower = email_key, email_key = team_id || ' ' || email_key;
CREATE INDEX users_email ON users (email_lower, created, id);
