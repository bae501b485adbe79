-- schema/002_approvals.sql: certificates that wait for an administrator's approval.
--
-- A request under a profile with needs_approval is committed as status 'held' (its TBS, serial and an
-- approvals row, action 'certificate.issue', object = the serial). Nothing is signed while a row is held:
-- the recovery pass only re-signs 'pending' rows. A second person (an administrator other than the
-- requester) approves: held -> pending in the same transaction as the approval and its audit row, then the
-- signer is asked exactly as for any intent. A rejection or expiry is held -> failed.

ALTER TABLE certificates DROP CONSTRAINT certificates_status_check;
ALTER TABLE certificates ADD CONSTRAINT certificates_status_check
	CHECK (status IN ('held', 'pending', 'issued', 'failed', 'revoked'));

CREATE OR REPLACE FUNCTION certificates_guard() RETURNS trigger
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
	   OLD.status || '>' || NEW.status NOT IN ('held>pending', 'held>failed', 'pending>issued',
						   'pending>failed', 'issued>revoked') THEN
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
REVOKE ALL ON FUNCTION certificates_guard() FROM PUBLIC;

-- one approval per held certificate
CREATE UNIQUE INDEX approvals_certificate ON approvals (object) WHERE action = 'certificate.issue';

-- A certificate is renewed at most once (renew the newest one): two racing renewals of the same
-- certificate cannot both be recorded. A failed renewal does not count.
CREATE UNIQUE INDEX certificates_renewed_once ON certificates (renews_serial)
	WHERE renews_serial IS NOT NULL AND status <> 'failed';
