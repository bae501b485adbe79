-- schema/024_approvals_guard.sql: an approval is filed pending and decided once, the decision with its audit row.
-- 023 ties a decision (pending -> approved, rejected or expired) to its audit row in the same transaction, but
-- only an UPDATE from pending fired it: hsmca_frontend could INSERT a row already decided (status, decided_by
-- and decided_at are among its INSERT columns, 017), or UPDATE a decided row to another decision or decider,
-- with no audit row, and the approval list then showed decisions the log never saw. Now a new row is pending
-- and undecided, and a decided row's status, decided_by and decided_at never change (HS001, as
-- certificates_guard refuses a transition). The frontend files pending rows and decides them only from pending
-- (db_approval.c), so nothing it does is refused.
CREATE FUNCTION approvals_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		IF NEW.status <> 'pending' OR NEW.decided_by IS NOT NULL OR NEW.decided_at IS NOT NULL THEN
			RAISE EXCEPTION 'approval: a new approval is pending and undecided (status %)', NEW.status
				USING ERRCODE = 'HS001';
		END IF;
	ELSIF OLD.status <> 'pending' AND (NEW.status, NEW.decided_by, NEW.decided_at) IS DISTINCT FROM
					      (OLD.status, OLD.decided_by, OLD.decided_at) THEN
		RAISE EXCEPTION 'approval %: % already; a decision does not change', OLD.id, OLD.status
			USING ERRCODE = 'HS001';
	END IF;
	RETURN NEW;
END $$;
REVOKE ALL ON FUNCTION approvals_guard() FROM PUBLIC;
-- BEFORE triggers of one event fire by name: after approvals_stamp, which sets change_seq and updated_at
CREATE TRIGGER approvals_state_guard BEFORE INSERT OR UPDATE ON approvals
	FOR EACH ROW EXECUTE FUNCTION approvals_guard();
