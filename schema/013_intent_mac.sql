-- 013: every certificate intent carries the frontend's MAC, so that a row written by anyone else who can write
-- this database is never signed; and a renewal's intent is refused once the certificate it renews is revoked.
--
-- The recovery pass signs the stored TBS of every pending row (a crash between an intent's commit and its
-- signature), and an approval signs a held row's. Anyone with the hsmca_frontend role's password (or the
-- owner's) could insert such a row with a TBS of their own: any subject and names the signer's pinned profile
-- allows, past the frontend's policy (name rules, the accounts a profile allows, approvals). Now the frontend
-- writes HMAC-SHA-256 under a key only it holds (its intent_key_file, never stored here) over the serial, the
-- issuer label and the TBS (frontend/intent.h gives the exact bytes) with each intent, and checks it before it
-- signs a stored TBS; a row whose MAC is missing or wrong is failed, and the signer is not asked.
--
-- The frontend cannot UPDATE the column (its column grants are status, der, failure_reason and owner), and
-- certificates_guard refuses a change of it from anyone else.
--
-- Rows written before this migration have no MAC. The pending and held ones that exist now (a crash's
-- leftovers, requests waiting for approval) are listed in legacy_intents with their TBS's SHA-256, and a row
-- without a MAC is signed only if it is listed there with the TBS it holds. The list is filled here, once;
-- afterwards a trigger refuses every change (the frontend may read it). A time rule (created before this
-- migration) would not do: created_at is a transaction's start, so a session opened before the migration
-- could insert an "older" row after it.
-- (NOT VALID: every existing row holds NULL, so the table is not scanned under the exclusive lock; new rows are
-- checked.)
ALTER TABLE certificates ADD COLUMN intent_mac bytea;
ALTER TABLE certificates ADD CONSTRAINT certificates_intent_mac_check
	CHECK (intent_mac IS NULL OR octet_length(intent_mac) = 32) NOT VALID;

CREATE TABLE legacy_intents (
	serial_hex text PRIMARY KEY,
	tbs_sha256 bytea NOT NULL CHECK (octet_length(tbs_sha256) = 32)
);
INSERT INTO legacy_intents (serial_hex, tbs_sha256)
	SELECT serial_hex, sha256(tbs) FROM certificates WHERE status IN ('pending', 'held');
CREATE FUNCTION legacy_intents_refuse() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RAISE EXCEPTION 'legacy_intents is written by migration 013 only: % refused', TG_OP USING ERRCODE = 'HS002';
END $$;
REVOKE ALL ON FUNCTION legacy_intents_refuse() FROM PUBLIC;
CREATE TRIGGER legacy_intents_frozen BEFORE INSERT OR UPDATE OR DELETE ON legacy_intents
	FOR EACH ROW EXECUTE FUNCTION legacy_intents_refuse();
CREATE TRIGGER legacy_intents_no_truncate BEFORE TRUNCATE ON legacy_intents
	FOR EACH STATEMENT EXECUTE FUNCTION legacy_intents_refuse();
GRANT SELECT ON legacy_intents TO hsmca_frontend;

-- Renewals of revoked certificates. The frontend checks that the certificate a renewal replaces is issued (not
-- revoked) when the request arrives (frontend/renew.c), but the group committer stores the renewal's intent
-- later: a revocation committed in between (keyCompromise, say) was not seen, and a new certificate was signed
-- for the holder of the key just revoked. Now the INSERT of a renewal locks the renewed row (FOR SHARE) and
-- refuses it unless that row is issued. NOWAIT: the INSERT runs in the group committer's batch statement, which
-- must not wait on a revocation under way (every other request of the batch would wait with it, and a
-- revocation that writes its audit row after its UPDATE could deadlock with a batch holding the audit chain's
-- head); a locked row fails this renewal at once (SQLSTATE 55P03, a 503 to retry), and the committer stores the
-- batch's other items one by one. Releasing a held renewal (held -> pending, after its approval, which may come
-- days later) checks the same, waiting (it is not on the committer's path). A revocation that
-- comes after the renewal's intent is committed finds the renewal on record (renewed_by) and revokes that too
-- if it must. New SQLSTATE HS003: a renewal of a certificate that is not issued.
CREATE OR REPLACE FUNCTION certificates_stamp() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	renewed text;
BEGIN
	IF TG_OP = 'INSERT' AND (NEW.status NOT IN ('pending', 'held') OR NEW.der IS NOT NULL OR
				 NEW.failure_reason IS NOT NULL) THEN
		RAISE EXCEPTION 'certificate %: a new row is an intent (pending or held, no certificate, no failure)',
			NEW.serial_hex USING ERRCODE = 'HS001';
	END IF;
	IF TG_OP = 'INSERT' AND NEW.renews_serial IS NOT NULL THEN
		/* no such row: the foreign key refuses it */
		SELECT r.status INTO renewed FROM public.certificates r WHERE r.serial_hex = NEW.renews_serial
			FOR SHARE NOWAIT;
		IF FOUND AND renewed <> 'issued' THEN
			RAISE EXCEPTION 'certificate %: it renews %, which is % (not issued)', NEW.serial_hex,
				NEW.renews_serial, renewed USING ERRCODE = 'HS003';
		END IF;
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
