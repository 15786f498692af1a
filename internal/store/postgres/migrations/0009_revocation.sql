-- Ending tokens and accounts (issue 10, point 6).
--
-- A disabled user cannot log in and none of their credentials authenticate; enabling them
-- again brings their API keys back (login tokens and console sessions are revoked when the
-- user is disabled).
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT FALSE;

-- How a key was made: 'key' (hangar admin keys create), 'apiToken' (POST
-- /apiTokens/createPublic), 'session' (a console sign-in). Keys made before this migration are
-- 'key', except console sessions, whose names are reserved.
ALTER TABLE api_keys ADD COLUMN kind TEXT COLLATE "C" NOT NULL DEFAULT 'key';
UPDATE api_keys SET kind = 'session' WHERE name LIKE 'console session%';

-- Login tokens get an id (to be listed and revoked by) and a revocation time. Tokens issued
-- before this migration take an id derived from their hash, which is no secret.
ALTER TABLE access_tokens ADD COLUMN id TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE access_tokens ADD COLUMN revoked BIGINT;
UPDATE access_tokens SET id = 'lt' || substr(hash, 1, 16);
CREATE UNIQUE INDEX access_tokens_id ON access_tokens (id);
CREATE INDEX access_tokens_user_created ON access_tokens (user_id, created, id);
