-- 026: every function of the schema looks functions and operators up in pg_catalog alone.
--
-- 025 took public out of the SECURITY DEFINER triggers' search_path. The invoker triggers (certificates_guard,
-- state_audited, approvals_guard, revocation_tied, audit_checkpoints_check, schema_version_notify) kept
-- "pg_catalog, public, pg_temp": they run as whoever writes, and the owner writes too (migrate, an
-- administrator's revocation or repair in SQL). A function or operator that public gained while some role had
-- CREATE there (an administrator's GRANT, refused at the frontend's next start but usable meanwhile), if it
-- matched an argument's type better than pg_catalog's, would have run as the owner inside those triggers.
-- Their bodies name every table as public.x and call nothing outside pg_catalog, so public leaves their path;
-- pg_temp stays last (009). The check below then holds for every function of the schema in public, not only the
-- definer ones; an extension's functions there (pgcrypto's, pg_stat_statements') are the extension's business and
-- not looked at (they have no settings, and the migration must not fail on a database that has one).
ALTER FUNCTION certificates_guard() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION state_audited() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION approvals_guard() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION revocation_tied() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION audit_checkpoints_check() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION schema_version_notify() SET search_path = pg_catalog, pg_temp;
DO $$
DECLARE
	f text;
BEGIN
	SELECT string_agg(p.oid::regprocedure::text, ', ') INTO f FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public'
		AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
				AND d.deptype = 'e')
		AND COALESCE(array_to_string(p.proconfig, ',') LIKE '%search_path=%public%', true);
	IF f IS NOT NULL THEN /* (proconfig NULL: no setting at all, so the caller's search_path) */
		RAISE EXCEPTION '026: functions still searching public (or with no settings at all): %', f;
	END IF;
END $$;
