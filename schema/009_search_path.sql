-- 009: pg_temp last in every function's search_path, and no temporary objects for anyone but the owner.
--
-- A search_path that does not name pg_temp searches the session's temporary schema FIRST for relations and
-- types. The functions of 001-007 set search_path = pg_catalog, public (or pg_catalog), so a session that may
-- create temporary objects (PostgreSQL grants TEMPORARY on a new database to PUBLIC) could shadow the types
-- and tables they name: `CREATE DOMAIN pg_temp.text AS name` as hsmca_frontend made the SECURITY DEFINER
-- audit trigger cut the previous row's hash to 63 characters, storing a row hash that audit-verify then
-- refused for ever (the log is append-only), with every later row unverified. Naming pg_temp last keeps it
-- out of the way (functions and operators are never looked up there); revoking TEMPORARY takes the tool
-- away as well. Both, so that a later GRANT TEMPORARY by an administrator does not reopen it.
DO $$
DECLARE
	f record;
	su boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
BEGIN
	FOR f IN SELECT p.oid::regprocedure AS sig, pg_get_userbyid(p.proowner) AS owner,
			COALESCE(array_to_string(p.proconfig, ',') LIKE '%public%', true) AS pub
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = 'public'
		AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
				AND d.deptype = 'e')
	LOOP
		IF f.owner <> current_user AND NOT su THEN /* fail, rather than leave one open and record 009 */
			RAISE EXCEPTION '009: function % belongs to %, not to %: run the migrations as its owner', f.sig,
				f.owner, current_user;
		END IF;
		EXECUTE format('ALTER FUNCTION %s SET search_path = %s', f.sig,
			       CASE WHEN f.pub THEN 'pg_catalog, public, pg_temp' ELSE 'pg_catalog, pg_temp' END);
	END LOOP;
	EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC', current_database());
	EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM hsmca_frontend', current_database());
	IF has_database_privilege('hsmca_frontend', current_database(), 'TEMPORARY') THEN
		RAISE EXCEPTION '009: hsmca_frontend may still create temporary objects in % (through another role?)',
			current_database();
	END IF;
END $$;
