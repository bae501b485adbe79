-- schema/001_init.sql: hsmca's initial schema.
--
-- Applied by db_migrate (frontend/db.c) as the database owner, who must be able to create roles (the superuser
-- of the private clusters of quickstart and the tests), in ONE transaction together with its schema_version
-- row: no BEGIN/COMMIT in here. Migrations are never edited after release (db_migrate stores each file's
-- SHA-256 and refuses a changed one); a change is a new file NNN_what.sql, and DB_SCHEMA_VERSION in
-- frontend/db_priv.h is raised to the new highest NNN (tests/integration/db_test.c checks that they agree).
--
-- Conventions
-- * Every state-changing row carries change_seq, a number from the single sequence change_seq, stamped
--   by a trigger on every INSERT and UPDATE (the frontend cannot choose it). Readers that cannot LISTEN (hot
--   standbys) poll the view `changes` with "change_seq > N". Numbers are taken when a row is written, not
--   when its transaction commits, so a row may become visible after a higher-numbered one: poll with an
--   overlap (re-read a margin below the last number seen) rather than trusting N exactly.
-- * Each such write also NOTIFYs channel hsmca_change with payload "<table>:<change_seq>" (the fast path).
-- * The frontend connects as role hsmca_frontend, created here with least privilege: SELECT and INSERT
--   where it records, UPDATE only of the columns that legitimately change, no DELETE or TRUNCATE anywhere.
-- * Custom SQLSTATEs: HS001 forbidden change of a row, HS002 audit_log is append-only.

DO $$
BEGIN
	IF pg_catalog.current_setting('server_encoding') <> 'UTF8' THEN
		RAISE EXCEPTION 'hsmca needs a UTF8 database (audit hashes are over UTF-8 bytes); this one is %',
			pg_catalog.current_setting('server_encoding');
	END IF;
END $$;

CREATE TABLE schema_version (
	version    integer PRIMARY KEY CHECK (version > 0),
	name       text NOT NULL,                              -- the file name, e.g. 001_init.sql
	sha256     text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'), -- of the file's bytes
	applied_at timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------------------------------------------------
-- Change sequence, stamping, notification
-- ---------------------------------------------------------------------------------------------------------
CREATE SEQUENCE change_seq AS bigint;

CREATE FUNCTION stamp_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
	NEW.change_seq := nextval('public.change_seq');
	IF TG_OP = 'INSERT' THEN
		NEW.created_at := now();
	ELSE
		NEW.created_at := OLD.created_at;
	END IF;
	NEW.updated_at := now();
	PERFORM pg_notify('hsmca_change', TG_TABLE_NAME || ':' || NEW.change_seq);
	RETURN NEW;
END $$;

-- ---------------------------------------------------------------------------------------------------------
-- Issuing CAs (key label in the HSM, certificate)
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE issuers (
	key_label  text PRIMARY KEY CHECK (octet_length(key_label) BETWEEN 1 AND 63),
	cert_der   bytea NOT NULL CHECK (length(cert_der) > 0),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	change_seq bigint NOT NULL UNIQUE
);

-- ---------------------------------------------------------------------------------------------------------
-- Certificates: the intent (status pending, TBS) is committed before the signer is asked.
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE certificates (
	id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	serial_hex     text NOT NULL UNIQUE CHECK (serial_hex ~ '^[0-9a-f]{1,40}$'), -- lowercase, no 0x
	issuer         text NOT NULL CHECK (octet_length(issuer) BETWEEN 1 AND 63),  -- issuing key label
	subject        text NOT NULL,                                                -- RFC 4514
	sans           text NOT NULL DEFAULT '',            -- "DNS:a.example.com,IP:10.0.0.1"
	not_before     timestamptz NOT NULL,
	not_after      timestamptz NOT NULL,
	profile        text NOT NULL CHECK (octet_length(profile) BETWEEN 1 AND 63),
	requester      text NOT NULL CHECK (octet_length(requester) BETWEEN 1 AND 63),
	tbs            bytea NOT NULL CHECK (length(tbs) > 0),
	der            bytea,
	status         text NOT NULL DEFAULT 'pending'
	               CHECK (status IN ('pending', 'issued', 'failed', 'revoked')),
	failure_reason text,
	renews_serial  text REFERENCES certificates (serial_hex),
	created_at     timestamptz NOT NULL DEFAULT now(),
	updated_at     timestamptz NOT NULL DEFAULT now(),
	change_seq     bigint NOT NULL UNIQUE,
	CHECK (not_after > not_before),
	CHECK ((status IN ('issued', 'revoked')) = (der IS NOT NULL)),
	CHECK ((status = 'failed') = (failure_reason IS NOT NULL)),
	CHECK (renews_serial IS DISTINCT FROM serial_hex)
);
-- serial lookups use the UNIQUE index; recovery scans the pending ones
CREATE INDEX certificates_pending ON certificates (id) WHERE status = 'pending';
CREATE INDEX certificates_issuer ON certificates (issuer, status);
CREATE INDEX certificates_renews ON certificates (renews_serial) WHERE renews_serial IS NOT NULL;

-- Only status, der and failure_reason change, only along pending->issued|failed and issued->revoked,
-- and the signed certificate must carry the very TBS that was committed as the intent.
CREATE FUNCTION certificates_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
BEGIN
	IF (NEW.id, NEW.serial_hex, NEW.issuer, NEW.subject, NEW.sans, NEW.not_before, NEW.not_after,
	    NEW.profile, NEW.requester, NEW.tbs, NEW.renews_serial)
	   IS DISTINCT FROM
	   (OLD.id, OLD.serial_hex, OLD.issuer, OLD.subject, OLD.sans, OLD.not_before, OLD.not_after,
	    OLD.profile, OLD.requester, OLD.tbs, OLD.renews_serial) THEN
		RAISE EXCEPTION 'certificate %: only status, der and failure_reason may change', OLD.serial_hex
			USING ERRCODE = 'HS001';
	END IF;
	IF NEW.status <> OLD.status AND
	   OLD.status || '>' || NEW.status NOT IN ('pending>issued', 'pending>failed', 'issued>revoked') THEN
		RAISE EXCEPTION 'certificate %: % -> % is not a permitted transition', OLD.serial_hex, OLD.status,
			NEW.status USING ERRCODE = 'HS001';
	END IF;
	IF OLD.der IS NOT NULL AND NEW.der IS DISTINCT FROM OLD.der THEN
		RAISE EXCEPTION 'certificate %: the signed certificate cannot change', OLD.serial_hex
			USING ERRCODE = 'HS001';
	END IF;
	-- Certificate ::= SEQUENCE { tbs, ... }: the TBS starts after a 2..6 byte header (1-based 3..7)
	IF OLD.der IS NULL AND NEW.der IS NOT NULL AND
	   (get_byte(NEW.der, 0) <> 48 OR position(NEW.tbs IN NEW.der) NOT BETWEEN 3 AND 7) THEN
		RAISE EXCEPTION 'certificate %: the signed certificate does not carry the committed TBS',
			OLD.serial_hex USING ERRCODE = 'HS001';
	END IF;
	RETURN NEW;
END $$;

-- ---------------------------------------------------------------------------------------------------------
-- Revocations (permanent: the frontend may INSERT but never UPDATE or DELETE)
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE revocations (
	serial_hex text PRIMARY KEY REFERENCES certificates (serial_hex),
	issuer     text NOT NULL CHECK (octet_length(issuer) BETWEEN 1 AND 63),
	reason     text NOT NULL CHECK (reason IN ('unspecified', 'keyCompromise', 'cACompromise',
	               'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold',
	               'privilegeWithdrawn', 'aACompromise')),                   -- RFC 5280 5.3.1 names
	revoked_by text NOT NULL CHECK (octet_length(revoked_by) BETWEEN 1 AND 63),
	created_at timestamptz NOT NULL DEFAULT now(),                          -- the revocation time
	updated_at timestamptz NOT NULL DEFAULT now(),
	change_seq bigint NOT NULL UNIQUE
);
CREATE INDEX revocations_issuer ON revocations (issuer, created_at); -- one CRL per issuer

-- ---------------------------------------------------------------------------------------------------------
-- Accounts and API keys (keys stored only as SHA-256 hex)
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE accounts (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name       text NOT NULL UNIQUE                 -- no ':' (HTTP Basic) and no control characters
	           CHECK (octet_length(name) BETWEEN 1 AND 63 AND name !~ '[[:cntrl:]:]'),
	role       text NOT NULL CHECK (role IN ('requester', 'admin', 'auditor')),
	pw_hash    text NOT NULL CHECK (octet_length(pw_hash) BETWEEN 1 AND 255),
	disabled   boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	change_seq bigint NOT NULL UNIQUE
);

CREATE TABLE api_keys (
	id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	key_hash   text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
	account_id bigint NOT NULL REFERENCES accounts (id),
	profile    text CHECK (octet_length(profile) BETWEEN 1 AND 63), -- NULL: any profile of the account
	disabled   boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	change_seq bigint NOT NULL UNIQUE
);
CREATE INDEX api_keys_account ON api_keys (account_id);

-- ---------------------------------------------------------------------------------------------------------
-- Profiles (the declarative text as loaded) and approvals (second administrator)
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE profiles (
	name              text PRIMARY KEY CHECK (octet_length(name) BETWEEN 1 AND 63),
	issuer            text NOT NULL CHECK (octet_length(issuer) BETWEEN 1 AND 63),
	definition        text NOT NULL,
	requires_approval boolean NOT NULL DEFAULT false,
	created_at        timestamptz NOT NULL DEFAULT now(),
	updated_at        timestamptz NOT NULL DEFAULT now(),
	change_seq        bigint NOT NULL UNIQUE
);

CREATE TABLE approvals (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	action       text NOT NULL CHECK (octet_length(action) BETWEEN 1 AND 63),
	object       text NOT NULL,
	details      text NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(details::jsonb) = 'object'),
	requested_by text NOT NULL CHECK (octet_length(requested_by) BETWEEN 1 AND 63),
	status       text NOT NULL DEFAULT 'pending'
	             CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
	decided_by   text,
	decided_at   timestamptz,
	expires_at   timestamptz NOT NULL,
	created_at   timestamptz NOT NULL DEFAULT now(),
	updated_at   timestamptz NOT NULL DEFAULT now(),
	change_seq   bigint NOT NULL UNIQUE,
	CHECK ((status IN ('approved', 'rejected')) = (decided_by IS NOT NULL AND decided_at IS NOT NULL)),
	CHECK (status <> 'approved' OR decided_by <> requested_by) -- a second administrator
);
CREATE INDEX approvals_pending ON approvals (created_at) WHERE status = 'pending';

CREATE TRIGGER certificates_guard BEFORE UPDATE ON certificates
	FOR EACH ROW EXECUTE FUNCTION certificates_guard();
CREATE TRIGGER issuers_stamp BEFORE INSERT OR UPDATE ON issuers FOR EACH ROW EXECUTE FUNCTION stamp_change();
CREATE TRIGGER certificates_stamp BEFORE INSERT OR UPDATE ON certificates
	FOR EACH ROW EXECUTE FUNCTION stamp_change();
CREATE TRIGGER revocations_stamp BEFORE INSERT OR UPDATE ON revocations
	FOR EACH ROW EXECUTE FUNCTION stamp_change();
CREATE TRIGGER accounts_stamp BEFORE INSERT OR UPDATE ON accounts FOR EACH ROW EXECUTE FUNCTION stamp_change();
CREATE TRIGGER api_keys_stamp BEFORE INSERT OR UPDATE ON api_keys FOR EACH ROW EXECUTE FUNCTION stamp_change();
CREATE TRIGGER profiles_stamp BEFORE INSERT OR UPDATE ON profiles FOR EACH ROW EXECUTE FUNCTION stamp_change();
CREATE TRIGGER approvals_stamp BEFORE INSERT OR UPDATE ON approvals
	FOR EACH ROW EXECUTE FUNCTION stamp_change();

-- ---------------------------------------------------------------------------------------------------------
-- Audit log: append-only, hash-chained.
--
-- Canonical bytes of a row (version 1), the input of row_hash = SHA-256(canonical):
--     "hsmca-audit-v1\n"
--     then for each of the 7 fields below, in this order:  <L> ":" <field bytes> "\n"
--     where <L> is the field's length in bytes, in ASCII decimal without leading zeros ("0" when empty).
--   1 id         ASCII decimal, no sign, no leading zeros
--   2 ts         UTC as YYYY-MM-DDTHH:MM:SS.ffffffZ (exactly 6 fraction digits), e.g. 2024-05-01T12:00:00.000042Z
--   3 actor      UTF-8 text as stored
--   4 action     UTF-8 text as stored
--   5 object     UTF-8 text as stored (may be empty)
--   6 details    the JSON text exactly as stored (a text column, not jsonb, so it is never re-normalised)
--   7 prev_hash  64 lowercase hex digits of the previous row's row_hash (64 '0' for the first row)
-- The length prefix makes the encoding unambiguous whatever the fields contain. frontend/db_audit.c
-- recomputes the same bytes independently in C (OpenSSL) to verify the chain.
--
-- The BEFORE INSERT trigger locks the single row of audit_chain_head (FOR UPDATE, held until the
-- transaction ends), so appends are serialised: ids are dense from 1 in chain order and no two rows can
-- link to the same predecessor. A rolled-back append also rolls back the head. The frontend should append
-- its audit row late in a transaction (the lock is held until commit). Under REPEATABLE READ or SERIALIZABLE
-- a concurrent append fails with a serialization error (retry); the frontend uses READ COMMITTED.
-- ---------------------------------------------------------------------------------------------------------
CREATE TABLE audit_log (
	id         bigint PRIMARY KEY,          -- set by the trigger
	ts         timestamptz NOT NULL,        -- set by the trigger (clock_timestamp())
	actor      text NOT NULL CHECK (octet_length(actor) BETWEEN 1 AND 255),
	action     text NOT NULL CHECK (octet_length(action) BETWEEN 1 AND 63),
	object     text NOT NULL CHECK (octet_length(object) <= 1024),
	details    text NOT NULL CHECK (octet_length(details) <= 65536 AND jsonb_typeof(details::jsonb) = 'object'),
	prev_hash  bytea NOT NULL CHECK (length(prev_hash) = 32),
	row_hash   bytea NOT NULL CHECK (length(row_hash) = 32),
	change_seq bigint NOT NULL UNIQUE
);
CREATE INDEX audit_log_object ON audit_log (object);

CREATE TABLE audit_chain_head (
	singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
	last_id   bigint NOT NULL CHECK (last_id >= 0),
	last_hash bytea NOT NULL CHECK (length(last_hash) = 32)
);
INSERT INTO audit_chain_head (singleton, last_id, last_hash) VALUES (true, 0, decode(repeat('00', 32), 'hex'));

CREATE FUNCTION audit_canonical(p_id bigint, p_ts timestamptz, p_actor text, p_action text, p_object text,
				p_details text, p_prev bytea) RETURNS bytea
LANGUAGE sql STABLE STRICT SET search_path = pg_catalog AS $$
	SELECT convert_to('hsmca-audit-v1' || E'\n' ||
		string_agg(octet_length(f)::text || ':' || f || E'\n', '' ORDER BY n), 'UTF8')
	FROM unnest(ARRAY[p_id::text,
			  to_char(p_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
			  p_actor, p_action, p_object, p_details,
			  encode(p_prev, 'hex')]) WITH ORDINALITY AS t(f, n)
$$;

CREATE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
	head public.audit_chain_head%ROWTYPE;
BEGIN
	SELECT * INTO STRICT head FROM public.audit_chain_head WHERE singleton FOR UPDATE;
	NEW.id := head.last_id + 1;
	NEW.ts := clock_timestamp();
	NEW.prev_hash := head.last_hash;
	NEW.change_seq := nextval('public.change_seq');
	NEW.row_hash := sha256(public.audit_canonical(NEW.id, NEW.ts, NEW.actor, NEW.action, NEW.object,
						      NEW.details, NEW.prev_hash));
	UPDATE public.audit_chain_head SET last_id = NEW.id, last_hash = NEW.row_hash WHERE singleton;
	RETURN NEW;
END $$;

CREATE FUNCTION audit_log_refuse() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'HS002';
END $$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_refuse();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse();

-- ---------------------------------------------------------------------------------------------------------
-- "Changes since N" for readers without LISTEN (see the header): ... WHERE change_seq > N ORDER BY change_seq
-- ---------------------------------------------------------------------------------------------------------
CREATE VIEW changes AS
	SELECT change_seq, 'issuers'::text AS tbl, key_label AS key FROM issuers
	UNION ALL SELECT change_seq, 'certificates', serial_hex FROM certificates
	UNION ALL SELECT change_seq, 'revocations', serial_hex FROM revocations
	UNION ALL SELECT change_seq, 'accounts', name FROM accounts
	UNION ALL SELECT change_seq, 'api_keys', id::text FROM api_keys
	UNION ALL SELECT change_seq, 'profiles', name FROM profiles
	UNION ALL SELECT change_seq, 'approvals', id::text FROM approvals
	UNION ALL SELECT change_seq, 'audit_log', id::text FROM audit_log;

-- ---------------------------------------------------------------------------------------------------------
-- The frontend's role: least privilege
-- ---------------------------------------------------------------------------------------------------------
DO $$
DECLARE
	r pg_catalog.pg_roles%ROWTYPE;
BEGIN
	SELECT * INTO r FROM pg_catalog.pg_roles WHERE rolname = 'hsmca_frontend';
	IF NOT FOUND THEN
		CREATE ROLE hsmca_frontend LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
	ELSIF r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolreplication THEN
		RAISE EXCEPTION 'role hsmca_frontend exists with more privileges than it may have';
	END IF;
END $$;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM PUBLIC;
REVOKE ALL ON FUNCTION stamp_change(), certificates_guard(), audit_log_chain(), audit_log_refuse() FROM PUBLIC;

GRANT USAGE ON SCHEMA public TO hsmca_frontend;
GRANT SELECT ON schema_version, audit_chain_head, changes TO hsmca_frontend;
GRANT SELECT, INSERT ON issuers, certificates, revocations, accounts, api_keys, profiles, approvals,
	audit_log TO hsmca_frontend;
GRANT UPDATE (cert_der) ON issuers TO hsmca_frontend;
GRANT UPDATE (status, der, failure_reason) ON certificates TO hsmca_frontend;
GRANT UPDATE (role, pw_hash, disabled) ON accounts TO hsmca_frontend;
GRANT UPDATE (profile, disabled) ON api_keys TO hsmca_frontend;
GRANT UPDATE (issuer, definition, requires_approval) ON profiles TO hsmca_frontend;
GRANT UPDATE (status, decided_by, decided_at) ON approvals TO hsmca_frontend;
-- audit_log: INSERT and SELECT only (no UPDATE, DELETE, TRUNCATE); revocations likewise.
