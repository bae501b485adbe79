-- 011: each certificate requested through CFSSL authsign carries its token, so a replay gets an answer about
-- the certificate its request produced instead of a new one.
--
-- A token is an HMAC over the inner request bytes only; cfssl does not cover the timestamp, so a captured
-- request is good for ever. 006 held a token for CFSSL_WINDOW * 2 (600 s) and then let the same bytes
-- through again: someone who kept a request could, after a revocation for key compromise, get a new
-- certificate for the compromised key. With the token on the certificate row the frontend now:
--   * refuses the request for good once a certificate it produced is revoked (a new key means a new CSR,
--     hence new request bytes);
--   * answers a replay within the hold with the certificate the first request produced (a client retrying
--     after a lost answer gets its certificate, not "replayed");
--   * still issues a new certificate for the same bytes after the hold (cfssl clients that renew by sending
--     the same CSR again keep working).
-- The column is set by INSERT only (the frontend has no UPDATE on it, and certificates_guard refuses a
-- change from anyone); the partial index serves the frontend's lookup by token.
ALTER TABLE certificates ADD COLUMN authsign_token bytea
	CHECK (authsign_token IS NULL OR octet_length(authsign_token) = 32);
CREATE INDEX certificates_authsign_token ON certificates (authsign_token) WHERE authsign_token IS NOT NULL;

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
