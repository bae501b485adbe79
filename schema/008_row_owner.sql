-- 008: which frontend process a pending certificate belongs to, so that recovery in another process leaves
-- it alone while that process is alive.
--
-- A frontend's recovery pass re-signs pending rows older than recover_after_seconds. Within one process the
-- rows it is still signing are known (frontend/inflight.c); across processes they were not, so a second
-- frontend on the same database could re-sign a row the first was still signing (a slow or stopped signer):
-- the TBS signed twice, and the first's UPDATE to issued blocked behind the second's row lock.
--
-- Every frontend connection sets application_name to 'hsmca-frontend:<random id of the process>'
-- (frontend/db.c). A certificate row records it in owner when it is inserted and when an approval makes it
-- pending; recovery (frontend/db_cert.c) takes a row only if its owner is NULL, its own, or no session with
-- that application_name is connected (the process is gone), or 10 minutes after the row's last change
-- whatever the sessions say. Rows written by anything else (a command-line tool, an older frontend) get NULL
-- and are recovered as before.
ALTER TABLE certificates ADD COLUMN owner text
	DEFAULT (CASE WHEN current_setting('application_name') LIKE 'hsmca-frontend:%'
		 THEN current_setting('application_name') END)
	CHECK (owner IS NULL OR (octet_length(owner) <= 64 AND owner LIKE 'hsmca-frontend:%'));
GRANT UPDATE (owner) ON certificates TO hsmca_frontend;
