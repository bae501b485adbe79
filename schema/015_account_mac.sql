-- 015: an account or API key row counts only as the frontend wrote it.
--
-- The hsmca_frontend role may UPDATE accounts (role, pw_hash, disabled) and api_keys (profile, disabled), and
-- INSERT both: with its password one could make any account an administrator, set its password
-- hash to one of a known password, re-enable it, or give it an API key, and then act as it through the API,
-- within every check the frontend makes (approvals by a second administrator included). Now the frontend
-- writes HMAC-SHA-256 under its intent key (never stored here; frontend/rowmac.h gives the exact bytes) into
-- row_mac with every row it writes, over the row's id, its fields that give authority and mac_seq, and
-- refuses a row whose MAC does not check: the login fails as for an unknown account (logged as
-- event=row_refused, counted in /metrics).
--
-- mac_seq: set by the trigger below, 0 on INSERT and the old value + 1 on every UPDATE, whatever the UPDATE
-- says. The frontend reads the row under FOR UPDATE and writes the MAC over the next value, so an old row's
-- fields and MAC written back (a demoted administrator's role, a replaced password hash) do not check: the
-- UPDATE that writes them back moves mac_seq past the value the old MAC covers.
--
-- Rows that exist now have no MAC. They are listed in legacy_accounts and legacy_api_keys with the SHA-256 of
-- their fields as they stand, and a row without a MAC counts only if it is listed with the same fields and
-- mac_seq is still 0 (never updated since). Like legacy_intents (013) the lists are filled here once and
-- frozen by a trigger.
--
-- What this does not stop: the database's owner (or a superuser) can disable triggers, so it can add to the
-- legacy lists, or write an older version of a row back with its mac_seq. Against the owner, only rows with a
-- MAC that were never legacy hold, and only as far as the owner cannot roll them back.
ALTER TABLE accounts ADD COLUMN mac_seq bigint NOT NULL DEFAULT 0, ADD COLUMN row_mac bytea;
ALTER TABLE accounts ADD CONSTRAINT accounts_row_mac_check
	CHECK (row_mac IS NULL OR octet_length(row_mac) = 32) NOT VALID;
ALTER TABLE api_keys ADD COLUMN mac_seq bigint NOT NULL DEFAULT 0, ADD COLUMN row_mac bytea;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_row_mac_check
	CHECK (row_mac IS NULL OR octet_length(row_mac) = 32) NOT VALID;
GRANT UPDATE (row_mac) ON accounts, api_keys TO hsmca_frontend;

CREATE FUNCTION row_mac_seq() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		NEW.mac_seq := 0;
	ELSE
		NEW.mac_seq := OLD.mac_seq + 1;
	END IF;
	RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION row_mac_seq() FROM PUBLIC;
CREATE TRIGGER accounts_mac_seq BEFORE INSERT OR UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION row_mac_seq();
CREATE TRIGGER api_keys_mac_seq BEFORE INSERT OR UPDATE ON api_keys FOR EACH ROW EXECUTE FUNCTION row_mac_seq();

-- the fields' digests: the same expressions as frontend/db_priv.h's DB_ACCOUNT_LEGACY_SQL and
-- DB_APIKEY_LEGACY_SQL
CREATE TABLE legacy_accounts (
	id     bigint PRIMARY KEY,
	digest bytea NOT NULL CHECK (octet_length(digest) = 32)
);
INSERT INTO legacy_accounts (id, digest)
	SELECT a.id, sha256(convert_to(jsonb_build_array(a.name, a.role, a.pw_hash, a.disabled)::text, 'UTF8'))
	FROM accounts a;
CREATE TABLE legacy_api_keys (
	id     bigint PRIMARY KEY,
	digest bytea NOT NULL CHECK (octet_length(digest) = 32)
);
INSERT INTO legacy_api_keys (id, digest)
	SELECT k.id, sha256(convert_to(jsonb_build_array(k.key_hash, k.account_id, k.profile, k.disabled)::text,
				       'UTF8'))
	FROM api_keys k;
CREATE TRIGGER legacy_accounts_frozen BEFORE INSERT OR UPDATE OR DELETE ON legacy_accounts
	FOR EACH ROW EXECUTE FUNCTION legacy_rows_refuse('015');
CREATE TRIGGER legacy_accounts_no_truncate BEFORE TRUNCATE ON legacy_accounts
	FOR EACH STATEMENT EXECUTE FUNCTION legacy_rows_refuse('015');
CREATE TRIGGER legacy_api_keys_frozen BEFORE INSERT OR UPDATE OR DELETE ON legacy_api_keys
	FOR EACH ROW EXECUTE FUNCTION legacy_rows_refuse('015');
CREATE TRIGGER legacy_api_keys_no_truncate BEFORE TRUNCATE ON legacy_api_keys
	FOR EACH STATEMENT EXECUTE FUNCTION legacy_rows_refuse('015');
GRANT SELECT ON legacy_accounts, legacy_api_keys TO hsmca_frontend;
