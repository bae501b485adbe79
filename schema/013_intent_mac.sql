-- 013: every certificate intent carries the frontend's MAC, so that a row written by anyone else who can write
-- this database is never signed.
--
-- The recovery pass signs the stored TBS of every pending row (a crash between an intent's commit and its
-- signature), and an approval signs a held row's. Anyone with the hsmca_frontend role's password (or the
-- owner's) could insert such a row with a TBS of their own: any subject and names the signer's pinned profile
-- allows, past the frontend's policy (name rules, the accounts a profile allows, approvals). Now the frontend
-- writes HMAC-SHA-256 under a key only it holds (its intent_key_file, never stored here) over the serial, the
-- issuer label and the TBS (frontend/intent.h gives the exact bytes) with each intent, and checks it before it
-- signs a stored TBS; a row whose MAC is missing or wrong is failed, and the signer is not asked.
--
-- Rows written before this migration have no MAC: a row without one is signed only if its created_at (set by
-- certificates_stamp, which nobody but the owner can bypass) is older than this migration's applied_at in
-- schema_version. The frontend cannot UPDATE the column (its column grants are status, der, failure_reason and
-- owner), and certificates_guard refuses a change of it from anyone else.
ALTER TABLE certificates ADD COLUMN intent_mac bytea CHECK (intent_mac IS NULL OR octet_length(intent_mac) = 32);

CREATE OR REPLACE FUNCTION certificates_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
	IF (NEW.id, NEW.serial_hex, NEW.issuer, NEW.subject, NEW.sans, NEW.not_before, NEW.not_after,
	    NEW.profile, NEW.requester, NEW.tbs, NEW.renews_serial, NEW.authsign_token, NEW.intent_mac)
	   IS DISTINCT FROM
	   (OLD.id, OLD.serial_hex, OLD.issuer, OLD.subject, OLD.sans, OLD.not_before, OLD.not_after,
	    OLD.profile, OLD.requester, OLD.tbs, OLD.renews_serial, OLD.authsign_token, OLD.intent_mac) THEN
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
