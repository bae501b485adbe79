-- 016: a revocation is a certificate's status and its revocations row, together.
--
-- db_cert_revoke writes both in one statement (issued -> revoked, and the row the CRL is built from), but
-- nothing held them together: the hsmca_frontend role could set a certificate revoked with no revocations row
-- (OCSP would say revoked, the CRL would not list it), or insert a revocations row for a certificate that is
-- issued, or under another issuer's name (the CRL would list what OCSP calls good, or list it on the wrong
-- CRL). Two constraint triggers, checked at commit (the statement of db_cert_revoke writes the two rows in
-- either order), refuse a transaction that leaves one without the other: SQLSTATE HS001.
CREATE FUNCTION revocation_tied() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
	IF TG_TABLE_NAME = 'revocations' THEN
		PERFORM 1 FROM public.certificates c WHERE c.serial_hex = NEW.serial_hex AND c.status = 'revoked'
			AND c.issuer = NEW.issuer;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'revocation of %: the certificate is not revoked, or not under issuer %',
				NEW.serial_hex, NEW.issuer USING ERRCODE = 'HS001';
		END IF;
	ELSE
		PERFORM 1 FROM public.revocations r WHERE r.serial_hex = NEW.serial_hex;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'certificate %: revoked without its revocations row', NEW.serial_hex
				USING ERRCODE = 'HS001';
		END IF;
	END IF;
	RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION revocation_tied() FROM PUBLIC;
CREATE CONSTRAINT TRIGGER revocations_tied AFTER INSERT ON revocations DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW EXECUTE FUNCTION revocation_tied();
CREATE CONSTRAINT TRIGGER certificates_revoked_tied AFTER UPDATE ON certificates DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW WHEN (NEW.status = 'revoked' AND OLD.status <> 'revoked') EXECUTE FUNCTION revocation_tied();
