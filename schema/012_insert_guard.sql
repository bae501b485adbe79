-- 012: a certificate row starts as an intent, a held one is released only by a second administrator's
-- approval, and nobody but the owner creates objects in schema public.
--
-- Insert guard. certificates_guard (001, 002, 011) checks every UPDATE, but nothing checked an INSERT: the
-- frontend's role could insert a row straight as issued, revoked or failed, with any DER and no intent
-- before it (and renewal by challenge trusts the public key of a stored DER). Now a row is inserted as an
-- intent only: status pending or held, no DER, no failure reason; everything after that goes through the
-- UPDATE guard's transitions. The check runs in the row's existing stamp trigger (one trigger call per row,
-- as before): certificates_stamp is stamp_change (003) plus the insert rules, for this table alone.
--
-- Held rows. certificates_guard allowed held -> pending from anyone with the frontend's UPDATE grant: a row
-- could be released for signing (the recovery pass signs pending rows) without the approval its profile
-- requires. The frontend records the approval first and releases the row after it, in one transaction
-- (frontend/db_approval.c); the guard now asks for that approval row: action certificate.issue on this
-- serial, approved, decided by someone other than its requester (002's CHECK says the same of the row).
--
-- Schema public. PostgreSQL 15 no longer grants CREATE on schema public to PUBLIC in a new database, but a
-- database upgraded from an older version (pg_upgrade, a dump restored into one) keeps the old grant. With
-- it, hsmca_frontend could create functions in public that shadow pg_catalog's for the SECURITY DEFINER
-- triggers whose search_path names public (an exact match on argument types wins over pg_catalog's
-- implicit casts, e.g. convert_to(text, text) over convert_to(text, name)): code run as their owner.
-- Revoked here, and the migration fails if the role can still create there (through another role).
CREATE FUNCTION certificates_stamp() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF TG_OP = 'INSERT' AND (NEW.status NOT IN ('pending', 'held') OR NEW.der IS NOT NULL OR
				 NEW.failure_reason IS NOT NULL) THEN
		RAISE EXCEPTION 'certificate %: a new row is an intent (pending or held, no certificate, no failure)',
			NEW.serial_hex USING ERRCODE = 'HS001';
	END IF;
	NEW.change_seq := nextval('public.change_seq');
	IF TG_OP = 'INSERT' THEN
		NEW.created_at := now();
	ELSE
		NEW.created_at := OLD.created_at;
	END IF;
	NEW.updated_at := now();
	RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION certificates_stamp() FROM PUBLIC;
DROP TRIGGER certificates_stamp ON certificates;
CREATE TRIGGER certificates_stamp BEFORE INSERT OR UPDATE ON certificates
	FOR EACH ROW EXECUTE FUNCTION certificates_stamp();

CREATE OR REPLACE FUNCTION certificates_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
	IF (NEW.id, NEW.serial_hex, NEW.issuer, NEW.subject, NEW.sans, NEW.not_before, NEW.not_after,
	    NEW.profile, NEW.requester, NEW.tbs, NEW.renews_serial, NEW.authsign_token)
	   IS DISTINCT FROM
	   (OLD.id, OLD.serial_hex, OLD.issuer, OLD.subject, OLD.sans, OLD.not_before, OLD.not_after,
	    OLD.profile, OLD.requester, OLD.tbs, OLD.renews_serial, OLD.authsign_token) THEN
		RAISE EXCEPTION 'certificate %: only status, der and failure_reason may change', OLD.serial_hex
			USING ERRCODE = 'HS001';
	END IF;
	IF NEW.status <> OLD.status AND
	   OLD.status || '>' || NEW.status NOT IN ('held>pending', 'held>failed', 'pending>issued',
						   'pending>failed', 'issued>revoked') THEN
		RAISE EXCEPTION 'certificate %: % -> % is not a permitted transition', OLD.serial_hex, OLD.status,
			NEW.status USING ERRCODE = 'HS001';
	END IF;
	IF OLD.status = 'held' AND NEW.status = 'pending' THEN /* a plain test first: the query only for these */
		IF NOT EXISTS (SELECT 1 FROM public.approvals a WHERE a.object = OLD.serial_hex
			       AND a.action = 'certificate.issue' AND a.status = 'approved'
			       AND a.decided_by IS NOT NULL AND a.decided_by <> a.requested_by) THEN
			RAISE EXCEPTION 'certificate %: held -> pending needs its approval by a second administrator',
				OLD.serial_hex USING ERRCODE = 'HS001';
		END IF;
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
REVOKE ALL ON FUNCTION certificates_guard() FROM PUBLIC;

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM hsmca_frontend;
DO $$
BEGIN
	IF has_schema_privilege('hsmca_frontend', 'public', 'CREATE') THEN
		RAISE EXCEPTION '012: hsmca_frontend may still create objects in schema public (through another role?)';
	END IF;
END $$;
