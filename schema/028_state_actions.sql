-- 028: a state change's audit row says what the change was, a failed certificate's reason stays as recorded,
-- and a pending approval has no decider.
--
-- Found by review, each a change hsmca_frontend's grants allowed with no audit row that says it:
-- * 023 tied a certificate failed or revoked to an audit row whose object is its serial, whatever its action:
--   a revocation committed beside a "certificate.requested" row passed, and the log never said "revoked".
--   Now pending -> failed needs certificate.failed (issue.c), held -> failed approval.rejected or
--   approval.expired (the decision's row, approve.c), and revoked needs certificate.revoked.
-- * failure_reason (a column the role may UPDATE, for the move to failed) could be rewritten afterwards on a
--   failed row, with no audit row: GET then told another reason than the log. It is now set once, with the
--   move to failed (HS001, as certificates_guard refuses other columns).
-- * a pending approval could be given a decided_by or decided_at (024 guarded decided rows only), and the
--   approvals list showed a decider the log never saw. A pending row is now undecided (HS001).
-- The frontend does nothing these refuse.
-- The certificates' constraint trigger gets a function of its own (023's state_audited keeps the approvals'
-- check, unchanged): the same trigger name, so it still fires after 016's certificates_revoked_tied.
CREATE FUNCTION certificate_state_audited() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM 1 FROM public.audit_log a WHERE a.object IN (NEW.serial_hex, upper(NEW.serial_hex))
		AND a.xact = pg_current_xact_id()
		AND a.action = ANY (CASE WHEN NEW.status = 'revoked' THEN ARRAY['certificate.revoked']
			WHEN OLD.status = 'held' THEN ARRAY['approval.rejected', 'approval.expired']
			ELSE ARRAY['certificate.failed'] END);
	IF NOT FOUND THEN
		RAISE EXCEPTION 'certificate %: % without its audit row in the same transaction (%)', NEW.serial_hex,
			NEW.status, CASE WHEN NEW.status = 'revoked' THEN 'certificate.revoked'
			WHEN OLD.status = 'held' THEN 'approval.rejected or approval.expired'
			ELSE 'certificate.failed' END USING ERRCODE = 'HS004';
	END IF;
	RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION certificate_state_audited() FROM PUBLIC;
DROP TRIGGER certificates_state_audited ON certificates;
CREATE CONSTRAINT TRIGGER certificates_state_audited AFTER UPDATE ON certificates DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW WHEN (NEW.status IN ('failed', 'revoked') AND OLD.status IS DISTINCT FROM NEW.status)
	EXECUTE FUNCTION certificate_state_audited();

CREATE FUNCTION state_frozen() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF TG_TABLE_NAME = 'certificates' THEN
		RAISE EXCEPTION 'certificate %: a failed certificate''s failure_reason does not change', OLD.serial_hex
			USING ERRCODE = 'HS001';
	END IF;
	RAISE EXCEPTION 'approval %: a pending approval has no decided_by or decided_at', OLD.id USING ERRCODE = 'HS001';
END $$;
REVOKE ALL ON FUNCTION state_frozen() FROM PUBLIC;
CREATE TRIGGER certificates_reason_frozen BEFORE UPDATE ON certificates FOR EACH ROW
	WHEN (OLD.status = 'failed' AND OLD.failure_reason IS DISTINCT FROM NEW.failure_reason)
	EXECUTE FUNCTION state_frozen();
CREATE TRIGGER approvals_pending_undecided BEFORE UPDATE ON approvals FOR EACH ROW
	WHEN (NEW.status = 'pending' AND (NEW.decided_by IS NOT NULL OR NEW.decided_at IS NOT NULL))
	EXECUTE FUNCTION state_frozen();
