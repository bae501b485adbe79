-- 012: a certificate row starts as an intent, and nobody but the owner creates objects in schema public.
--
-- Insert guard. certificates_guard (001, 002, 011) checks every UPDATE, but nothing checked an INSERT: the
-- frontend's role could insert a row straight as issued, revoked or failed, with any DER and no intent
-- before it (and renewal by challenge trusts the public key of a stored DER). Now a row is inserted as an
-- intent only: status pending or held, no DER, no failure reason; everything after that goes through the
-- UPDATE guard's transitions. The check runs in the row's existing stamp trigger (one trigger call per row,
-- as before): certificates_stamp is stamp_change (003) plus the insert rules, for this table alone.
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

REVOKE CREATE ON SCHEMA public FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM hsmca_frontend;
DO $$
BEGIN
	IF has_schema_privilege('hsmca_frontend', 'public', 'CREATE') THEN
		RAISE EXCEPTION '012: hsmca_frontend may still create objects in schema public (through another role?)';
	END IF;
END $$;
