-- 010: a checkpoint row must name an audit_log row and hold that row's hash.
--
-- The frontend's role may INSERT audit_checkpoints (it stores the signatures it gets from the signer), and
-- nothing checked what it inserted: a row for an audit_id past the end made `audit-verify` report rows cut off
-- the log, and the frontend's checkpoint thread took the newest row as its starting point, found its signature
-- bad and stopped signing (an alarm only the owner can clear, the table being append-only). The signature
-- cannot be checked here (no ECDSA in SQL); audit-verify --checkpoint-cert checks it first and calls a
-- checkpoint that does not verify forged or damaged. What can be checked here is: the row exists and the
-- hash is its row_hash, which is all the frontend ever stores.
CREATE FUNCTION audit_checkpoints_check() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM public.audit_log a WHERE a.id = NEW.audit_id AND a.row_hash = NEW.head_hash) THEN
		RAISE EXCEPTION 'audit_checkpoints: audit_log row % does not exist or does not hold that hash',
			NEW.audit_id USING ERRCODE = 'HS003';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER audit_checkpoints_row BEFORE INSERT ON audit_checkpoints
	FOR EACH ROW EXECUTE FUNCTION audit_checkpoints_check();
REVOKE ALL ON FUNCTION audit_checkpoints_check() FROM PUBLIC;
