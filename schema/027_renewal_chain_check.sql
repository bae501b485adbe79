-- 027: a renewal is signed only while nothing down its renewal chain is revoked (but as superseded).
--
-- The frontend refuses to renew a certificate that renews a revoked one (403 chain-revoked: whoever stole that
-- key may have renewed it into this one), but only when the renewal is asked for: a held renewal approved
-- after such a revocation, a revocation committed while the signer worked, and the recovery pass signed it all
-- the same (found by review; 022 checks the renewed certificate alone). Now held -> pending and
-- pending -> issued of a renewal walk the chain below the certificate it renews and refuse (HS003, which the
-- frontend answers as it does 022's) a revocation for any reason but superseded, the rotation's own. Only
-- renewals pay for it, and their chains are walked by key (the primary key's index).
CREATE OR REPLACE FUNCTION certificates_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	gone record;
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
	/* 027: down the renewal chain, below the certificate it renews, nothing revoked but as superseded */
	IF OLD.renews_serial IS NOT NULL AND NEW.status <> OLD.status
	   AND OLD.status || '>' || NEW.status IN ('held>pending', 'pending>issued') THEN
		WITH RECURSIVE chain (serial, renews, depth) AS (
			SELECT c.serial_hex, c.renews_serial, 0 FROM public.certificates c
				WHERE c.serial_hex = OLD.renews_serial
			UNION ALL
			SELECT c.serial_hex, c.renews_serial, chain.depth + 1 FROM public.certificates c
				JOIN chain ON c.serial_hex = chain.renews WHERE chain.depth < 100000)
		SELECT x.serial_hex, x.reason INTO gone FROM (
			SELECT r.serial_hex, r.reason, chain.depth FROM chain JOIN public.revocations r
				ON r.serial_hex = chain.serial WHERE chain.depth > 0 AND r.reason <> 'superseded'
			UNION ALL /* a chain past the bound is not known to be clean (the frontend refuses it too) */
			SELECT chain.serial, 'chain-too-long', chain.depth FROM chain
				WHERE chain.depth >= 100000 AND chain.renews IS NOT NULL) x
			ORDER BY x.depth LIMIT 1;
		IF FOUND THEN
			RAISE EXCEPTION 'certificate %: a certificate down its renewal chain, %, was revoked (%)',
				OLD.serial_hex, gone.serial_hex, gone.reason USING ERRCODE = 'HS003';
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
