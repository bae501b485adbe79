-- schema/003_fast_triggers.sql: the same guarantees as 001/002 with less work per row, for batched writes
-- (the frontend's group committer inserts the intents of a batch, or marks its certificates issued, in one
-- statement each, with their audit rows in the same statement).
--
-- Audit chain. 001's trigger locked the head, read it, and UPDATEd it once per row: a transaction appending
-- n rows left n versions of the single head row (each read walks them: quadratic in a batch), and the
-- canonical bytes went through an SQL function with unnest/string_agg per row. Now:
--   * BEFORE INSERT, per row: lock the head FOR UPDATE as before (held to the end of the transaction, so
--     appends stay serialised); the predecessor is the last row appended by this statement (id above the
--     head: the head only moves at the end of a statement, and every other transaction waits on the lock)
--     or, for the statement's first row, the head itself. So a deleted tail still shows as a gap, as before.
--     The canonical bytes (unchanged, see 001) are built by one concatenation; sha256 as before.
--   * AFTER INSERT, per statement: the head moves to the last row the statement appended.
-- ids stay dense in chain order; rows are still append-only (001's refusal triggers are untouched); the
-- frontend's verifier (frontend/db_audit.c) recomputes every hash as before.
--
-- Change notification. stamp_change still stamps change_seq, created_at and updated_at on every row, but
-- NOTIFY hsmca_change is sent once per statement (payload "<table>:<N>", N the sequence's last value, at
-- least the change_seq of every row the statement stamped) instead of once per row. Readers poll the view
-- `changes` from their last seen number with an overlap, as 001 says; the payload is a hint.

CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
	prev_id bigint;
	prev_hash bytea;
	stmt_id bigint;
	stmt_hash bytea;
	id_text text;
	ts_text text;
	prev_text text;
BEGIN
	SELECT h.last_id, h.last_hash INTO STRICT prev_id, prev_hash FROM public.audit_chain_head h
		WHERE h.singleton FOR UPDATE;
	SELECT a.id, a.row_hash INTO stmt_id, stmt_hash FROM public.audit_log a WHERE a.id > prev_id
		ORDER BY a.id DESC LIMIT 1;
	IF FOUND THEN
		prev_id := stmt_id;
		prev_hash := stmt_hash;
	END IF;
	NEW.id := prev_id + 1;
	NEW.ts := clock_timestamp();
	NEW.prev_hash := prev_hash;
	NEW.change_seq := nextval('public.change_seq');
	id_text := NEW.id::text;
	ts_text := to_char(NEW.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
	prev_text := encode(prev_hash, 'hex');
	NEW.row_hash := sha256(convert_to('hsmca-audit-v1' || E'\n' ||
		octet_length(id_text)::text || ':' || id_text || E'\n' ||
		octet_length(ts_text)::text || ':' || ts_text || E'\n' ||
		octet_length(NEW.actor)::text || ':' || NEW.actor || E'\n' ||
		octet_length(NEW.action)::text || ':' || NEW.action || E'\n' ||
		octet_length(NEW.object)::text || ':' || NEW.object || E'\n' ||
		octet_length(NEW.details)::text || ':' || NEW.details || E'\n' ||
		octet_length(prev_text)::text || ':' || prev_text || E'\n', 'UTF8'));
	RETURN NEW;
END $$;

CREATE FUNCTION audit_log_head_advance() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
	UPDATE public.audit_chain_head h SET last_id = l.id, last_hash = l.row_hash
	FROM (SELECT a.id, a.row_hash FROM public.audit_log a
	      WHERE a.id > (SELECT c.last_id FROM public.audit_chain_head c WHERE c.singleton)
	      ORDER BY a.id DESC LIMIT 1) AS l
	WHERE h.singleton;
	RETURN NULL;
END $$;

CREATE TRIGGER audit_log_head AFTER INSERT ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_head_advance();

CREATE OR REPLACE FUNCTION stamp_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
	NEW.change_seq := nextval('public.change_seq');
	IF TG_OP = 'INSERT' THEN
		NEW.created_at := now();
	ELSE
		NEW.created_at := OLD.created_at;
	END IF;
	NEW.updated_at := now();
	RETURN NEW;
END $$;

CREATE FUNCTION notify_change() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
	PERFORM pg_notify('hsmca_change', TG_TABLE_NAME || ':' || (SELECT s.last_value FROM public.change_seq s));
	RETURN NULL;
END $$;

CREATE TRIGGER issuers_notify AFTER INSERT OR UPDATE ON issuers
	FOR EACH STATEMENT EXECUTE FUNCTION notify_change();
CREATE TRIGGER certificates_notify AFTER INSERT OR UPDATE ON certificates
	FOR EACH STATEMENT EXECUTE FUNCTION notify_change();
CREATE TRIGGER revocations_notify AFTER INSERT OR UPDATE ON revocations
	FOR EACH STATEMENT EXECUTE FUNCTION notify_change();
CREATE TRIGGER accounts_notify AFTER INSERT OR UPDATE ON accounts
	FOR EACH STATEMENT EXECUTE FUNCTION notify_change();
CREATE TRIGGER api_keys_notify AFTER INSERT OR UPDATE ON api_keys
	FOR EACH STATEMENT EXECUTE FUNCTION notify_change();
CREATE TRIGGER profiles_notify AFTER INSERT OR UPDATE ON profiles
	FOR EACH STATEMENT EXECUTE FUNCTION notify_change();
CREATE TRIGGER approvals_notify AFTER INSERT OR UPDATE ON approvals
	FOR EACH STATEMENT EXECUTE FUNCTION notify_change();

REVOKE ALL ON FUNCTION audit_log_chain(), audit_log_head_advance(), stamp_change(), notify_change() FROM PUBLIC;
