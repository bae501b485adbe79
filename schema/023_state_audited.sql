-- 023: a certificate failed or revoked, or an approval decided or expired, only with its audit row in the same
-- transaction.
--
-- The frontend writes every state change and its audit row in one transaction, but nothing in the database
-- held it to that: a session with only hsmca_frontend's password could revoke or fail a certificate, or decide
-- an approval, in SQL with no audit row at all (found by review). Rows forged so are caught elsewhere (the
-- intent, release and row MACs, the stored certificate's check), these changes were not.
--
-- * audit_log.xact: the transaction that appended the row (pg_current_xact_id(), the top-level one also
--   inside a savepoint), set by the chain trigger whatever the INSERT says. It is not part of the row's
--   canonical bytes (001): the chain proves what a row says, xact only lets the database check the tie at
--   commit. Rows from before 023 have none.
-- * Constraint triggers, checked at commit, refuse (HS004) a transaction that
--   - sets a certificate failed or revoked without an audit row whose object is its serial (as stored, in
--     lower case, or in upper case), or
--   - moves an approval out of pending without an audit row approval.<its new status> whose details name
--     the approval's id ({"approval": ID, ...}) and whose object is the approval's object or '' (the
--     expiry's row for an object that is not a serial, frontend/approve.c).
--   The hot path's transitions (an intent inserted, pending -> issued) are not checked here: the intent MAC
--   and the stored certificate's checks cover them, and a check per row would cost the group committer's
--   statement its share.
CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
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
	NEW.xact := pg_current_xact_id();
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

ALTER TABLE audit_log ADD COLUMN xact xid8;

CREATE FUNCTION state_audited() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
	IF TG_TABLE_NAME = 'certificates' THEN
		PERFORM 1 FROM public.audit_log a WHERE a.object IN (NEW.serial_hex, upper(NEW.serial_hex))
			AND a.xact = pg_current_xact_id();
		IF NOT FOUND THEN
			RAISE EXCEPTION 'certificate %: % without its audit row in the same transaction', NEW.serial_hex,
				NEW.status USING ERRCODE = 'HS004';
		END IF;
	ELSE
		PERFORM 1 FROM public.audit_log a WHERE a.object IN (NEW.object, '') AND a.xact = pg_current_xact_id()
			AND a.action = 'approval.' || NEW.status AND a.details::jsonb ->> 'approval' = NEW.id::text;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'approval %: % without its audit row in the same transaction', NEW.id, NEW.status
				USING ERRCODE = 'HS004';
		END IF;
	END IF;
	RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION state_audited() FROM PUBLIC;
-- named to run after 016's certificates_revoked_tied (constraint triggers of one event fire by name), whose
-- refusal of a revocation without its revocations row stays the one reported
CREATE CONSTRAINT TRIGGER certificates_state_audited AFTER UPDATE ON certificates DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW WHEN (NEW.status IN ('failed', 'revoked') AND OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION state_audited();
CREATE CONSTRAINT TRIGGER approvals_state_audited AFTER UPDATE ON approvals DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW WHEN (OLD.status = 'pending' AND NEW.status <> 'pending') EXECUTE FUNCTION state_audited();
