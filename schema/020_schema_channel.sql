-- 020: a migration tells the running frontends.
--
-- A frontend checks the schema version when it connects and whenever it reconnects, but a frontend whose
-- connections never drop used to notice a migration only at its next reconnection: until then it wrote rows
-- under a schema it did not know. Now every change of schema_version (a migration's row, or one written by
-- hand) sends a NOTIFY on hsmca_schema, delivered when its transaction commits; the frontend's listener
-- (the account watch's connection) makes every session check the version again before its next unit of work,
-- with the same refusal as a reconnection's (503 while the version is not this build's). The payload is the
-- highest version after the change.
CREATE FUNCTION schema_version_notify() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
	PERFORM pg_catalog.pg_notify('hsmca_schema', (SELECT coalesce(max(v.version), 0)::text FROM public.schema_version v));
	RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION schema_version_notify() FROM PUBLIC;
CREATE TRIGGER schema_version_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON schema_version
	FOR EACH STATEMENT EXECUTE FUNCTION schema_version_notify();
