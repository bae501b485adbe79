-- 021: the failed-login limits and the addresses accounts logged in from, shared by every frontend of the
-- database.
--
-- Until 021 each frontend process counted failures in its own memory: N frontends behind a load balancer
-- allowed N times as many guesses, and a restart forgot them. Now a failure a frontend counts (a wrong
-- password, an unknown account, an unknown API key, malformed credentials, a failed renewal proof) is also
-- counted here, and a login is refused (429) when this table says its address, or its account from an
-- address the account has not logged in from, is limited. A password verification reserves its attempt here
-- before it runs (pending; settled as a failure or given back), so no more than the limit's number run or
-- fail per window across the frontends; a success moves no failure's time (frontend/db_authlimit.c; the limits and the window
-- are the frontend's: 5 failures with no 60-second pause between them). Rows are keyed by tags, not names or
-- addresses: HMAC-SHA-256 under the frontends' shared intent key over a domain, the kind ("acct", "addr",
-- "proof") and the account's name or the address's group; an (account, address) pair that logged in is a
-- tag of both. The frontend deletes rows past their window (failures after 60 s, pairs after 30 days), at
-- most once a minute per process.
CREATE TABLE auth_failures (
	tag        bytea PRIMARY KEY CHECK (octet_length(tag) = 32),
	failures   integer NOT NULL DEFAULT 0 CHECK (failures >= 0), -- counted failures; they count while last_at is in the window
	last_at    timestamptz,                                        -- the last counted failure (NULL: none yet)
	pending    integer NOT NULL DEFAULT 0 CHECK (pending >= 0),   -- verifications running (reserved, not yet settled)
	pending_at timestamptz                                         -- the newest reservation: a process that died holding
	                                                               -- one leaves it counted for one window at most
);
CREATE TABLE auth_known (
	tag     bytea PRIMARY KEY CHECK (octet_length(tag) = 32),
	last_at timestamptz NOT NULL
);
CREATE INDEX auth_known_last ON auth_known (last_at);

GRANT SELECT, INSERT, DELETE ON auth_failures, auth_known TO hsmca_frontend;
GRANT UPDATE (failures, last_at, pending, pending_at) ON auth_failures TO hsmca_frontend;
GRANT UPDATE (last_at) ON auth_known TO hsmca_frontend;
