-- 006: authsign tokens seen, shared by every frontend of the database and kept across restarts.
-- A CFSSL authsign token is an HMAC over the inner request bytes only (cfssl does not cover the timestamp),
-- so the frontend refuses a token it has seen within CFSSL_WINDOW * 2 whatever the timestamp says. Until
-- 006 each process remembered the last 4,096 tokens in memory: a restart, another frontend behind the
-- same load balancer, or 4,096 other requests within the window let a captured request be replayed.
-- A row lives until expires_at; a token seen again after that is taken again (the row is refreshed), so
-- a client that sends the same CSR to the same profile later is not refused for ever. Expired rows are
-- deleted by the frontend (at most once a minute per process).
CREATE TABLE authsign_tokens (
	token bytea PRIMARY KEY CHECK (octet_length(token) = 32),
	seen_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL
);
CREATE INDEX authsign_tokens_expires ON authsign_tokens (expires_at);

GRANT SELECT, INSERT, DELETE ON authsign_tokens TO hsmca_frontend;
GRANT UPDATE (seen_at, expires_at) ON authsign_tokens TO hsmca_frontend;
