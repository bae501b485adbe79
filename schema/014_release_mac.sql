-- 014: a held request is signed only after an approval made through the frontend, not after one written in SQL.
--
-- 012 made certificates_guard refuse held -> pending without an approved approvals row decided by someone other
-- than its requester, and 013 made every intent carry the frontend's MAC. But the hsmca_frontend role can write
-- approvals rows itself (UPDATE status, decided_by, decided_at): with its password, a held request (whose
-- intent the frontend did write, so its MAC checks) could be released without any administrator, and the
-- recovery pass would sign it. Now the frontend, after its own checks of the approver (an administrator, not
-- the requester, no recent hold of each other's accounts), writes HMAC-SHA-256 under its intent key over the
-- serial (frontend/intent.h, "hsmca-release-v1") into release_mac in the same UPDATE as held -> pending. The
-- recovery pass and the approval sign a row that has a certificate.issue approval only if that MAC checks
-- (the approvals row cannot be removed or pointed elsewhere: the role has no DELETE, and no UPDATE of action
-- or object); without it the row is failed and the signer is not asked.
--
-- The column is set only on held -> pending, once (certificates_guard), and never changed afterwards. A request
-- stored held carries its intent MAC under another domain (frontend/intent.h), so it needs its release MAC
-- even if its approval row is gone (the owner can delete one); the approval row is what marks the held rows
-- stored before that domain.
--
-- Rows already released when this runs: the pending rows with such an approval now (released by an older
-- frontend; a crash or a signer outage kept them pending) are listed in legacy_releases and signed without a
-- release MAC. Like legacy_intents (013) the list is filled here once and frozen by a trigger.
ALTER TABLE certificates ADD COLUMN release_mac bytea;
ALTER TABLE certificates ADD CONSTRAINT certificates_release_mac_check
	CHECK (release_mac IS NULL OR octet_length(release_mac) = 32) NOT VALID;
GRANT UPDATE (release_mac) ON certificates TO hsmca_frontend;

CREATE TABLE legacy_releases (
	serial_hex text PRIMARY KEY
);
INSERT INTO legacy_releases (serial_hex)
	SELECT c.serial_hex FROM certificates c WHERE c.status = 'pending' AND EXISTS
		(SELECT 1 FROM approvals a WHERE a.object = c.serial_hex AND a.action = 'certificate.issue');
CREATE FUNCTION legacy_releases_refuse() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RAISE EXCEPTION 'legacy_releases is written by migration 014 only: % refused', TG_OP USING ERRCODE = 'HS002';
END $$;
REVOKE ALL ON FUNCTION legacy_releases_refuse() FROM PUBLIC;
CREATE TRIGGER legacy_releases_frozen BEFORE INSERT OR UPDATE OR DELETE ON legacy_releases
	FOR EACH ROW EXECUTE FUNCTION legacy_releases_refuse();
CREATE TRIGGER legacy_releases_no_truncate BEFORE TRUNCATE ON legacy_releases
	FOR EACH STATEMENT EXECUTE FUNCTION legacy_releases_refuse();
GRANT SELECT ON legacy_releases TO hsmca_frontend;

-- 013's guard, and release_mac: set once, on held -> pending only
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
	IF NEW.release_mac IS DISTINCT FROM OLD.release_mac AND
	   NOT (OLD.release_mac IS NULL AND OLD.status = 'held' AND NEW.status = 'pending') THEN
		RAISE EXCEPTION 'certificate %: release_mac is set once, when a held request is released',
			OLD.serial_hex USING ERRCODE = 'HS001';
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
