-- 025: the definer triggers look functions up in pg_catalog alone.
--
-- audit_log_chain, audit_log_head_advance, stamp_change, notify_change and notify_accounts run as the schema's
-- owner (SECURITY DEFINER) with search_path = pg_catalog, public, pg_temp. Their tables are all named
-- public.x, but the functions they call are not: nextval('public.change_seq') takes a literal of no type yet,
-- and a public.nextval(text) outranks pg_catalog.nextval(regclass) (text is its category's preferred type)
-- wherever it stands in the path; so would a public.convert_to(text, text). 012 revoked CREATE in public from
-- everyone but the owner, and the frontend refuses to run as a role that has it back (db.c), but a later
-- GRANT left the triggers exposed meanwhile: a function of hsmca_frontend's making would run as the owner in
-- the next audit row's trigger (and could switch the audit log's triggers off). Found by review. Their bodies
-- name no object outside pg_catalog unqualified, so public leaves their path. pg_temp stays last (009).
ALTER FUNCTION audit_log_chain() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION audit_log_head_advance() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION stamp_change() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION notify_change() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION notify_accounts() SET search_path = pg_catalog, pg_temp;
DO $$
DECLARE
	f text;
BEGIN
	SELECT string_agg(p.oid::regprocedure::text, ', ') INTO f FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public' AND p.prosecdef
		AND COALESCE(array_to_string(p.proconfig, ',') LIKE '%search_path=%public%', true);
	IF f IS NOT NULL THEN /* (proconfig NULL: no setting at all, so the caller's search_path) */
		RAISE EXCEPTION '025: definer functions still searching public (or with no settings at all): %', f;
	END IF;
END $$;
