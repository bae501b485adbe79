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
-- The column is set only on held -> pending, once (certificates_release_once), and never changed afterwards. A request
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
-- (the freeze of a list a migration fills once; TG_ARGV[0]: that migration, for the message; 015 uses it too)
CREATE FUNCTION legacy_rows_refuse() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RAISE EXCEPTION '% is written by migration % only: % refused', TG_TABLE_NAME, TG_ARGV[0], TG_OP
		USING ERRCODE = 'HS002';
END $$;
REVOKE ALL ON FUNCTION legacy_rows_refuse() FROM PUBLIC;
CREATE TRIGGER legacy_releases_frozen BEFORE INSERT OR UPDATE OR DELETE ON legacy_releases
	FOR EACH ROW EXECUTE FUNCTION legacy_rows_refuse('014');
CREATE TRIGGER legacy_releases_no_truncate BEFORE TRUNCATE ON legacy_releases
	FOR EACH STATEMENT EXECUTE FUNCTION legacy_rows_refuse('014');
GRANT SELECT ON legacy_releases TO hsmca_frontend;

-- release_mac: set once, on held -> pending only (a trigger of its own, beside 013's guard, run only by an UPDATE
-- that names the column: the issued result's UPDATE does not)
CREATE FUNCTION certificates_release_once() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF NEW.release_mac IS DISTINCT FROM OLD.release_mac AND
	   NOT (OLD.release_mac IS NULL AND OLD.status = 'held' AND NEW.status = 'pending') THEN
		RAISE EXCEPTION 'certificate %: release_mac is set once, when a held request is released',
			OLD.serial_hex USING ERRCODE = 'HS001';
	END IF;
	RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION certificates_release_once() FROM PUBLIC;
CREATE TRIGGER certificates_release_once BEFORE UPDATE OF release_mac ON certificates
	FOR EACH ROW EXECUTE FUNCTION certificates_release_once();
