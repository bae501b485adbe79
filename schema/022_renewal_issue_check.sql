-- 022: a renewal becomes issued only while the certificate it renews is issued.
--
-- 013 checks the renewed certificate when a renewal's intent is inserted and when a held renewal is released
-- (held -> pending), and the recovery pass checks it before it signs; but nothing checked it between the
-- intent's commit and the signed result's: a revocation committed while the signer worked (keyCompromise,
-- say, by the database's owner, as revocation has no API yet) was not seen, and the renewal became issued,
-- a new certificate for the holder of the key just revoked (found by review). Now pending -> issued of a
-- renewal locks the renewed row (FOR SHARE) and is refused (HS003) unless that row is issued; the frontend
-- then records the renewal as failed, with the reason, and answers 403 not-renewable. NOWAIT as in 013's
-- insert check (the batch statement must not wait on a revocation under way): a locked row fails the result
-- at once (55P03), the row stays pending, and the recovery pass decides it (it signs a renewal only of an
-- issued certificate). A revocation that comes after the renewal is issued does not touch the renewal: that
-- is the revocation's own business (revoke it too when the key is compromised and the renewal kept the key).
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
		IF OLD.renews_serial IS NOT NULL THEN
			PERFORM 1 FROM public.certificates r WHERE r.serial_hex = OLD.renews_serial
				AND r.status = 'issued' FOR SHARE;
			IF NOT FOUND THEN
				RAISE EXCEPTION 'certificate %: it renews %, which is not issued', OLD.serial_hex,
					OLD.renews_serial USING ERRCODE = 'HS003';
			END IF;
		END IF;
	END IF;
	IF OLD.status = 'pending' AND NEW.status = 'issued' AND OLD.renews_serial IS NOT NULL THEN
		/* NOWAIT: this runs in the group committer's batch statement, after the chain's head may be taken */
		PERFORM 1 FROM public.certificates r WHERE r.serial_hex = OLD.renews_serial
			AND r.status = 'issued' FOR SHARE NOWAIT;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'certificate %: it renews %, which is not issued now', OLD.serial_hex,
				OLD.renews_serial USING ERRCODE = 'HS003';
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
