-- 019: the frontend's role cannot choose a certificate row's id either.
--
-- 017 took INSERT on id away for accounts, api_keys, approvals and audit_checkpoints and left certificates out
-- as the issuance's hot path. A privilege is checked once per statement, not per row, so the hot path pays
-- nothing measurable, and an id the role chose could still make a later intent's INSERT collide with it (a
-- failed request) or move a row to the end or the start of the recovery pass's order. Now the role has INSERT
-- on every column of certificates but id: an INSERT that names id (with or without OVERRIDING SYSTEM VALUE) is
-- refused with permission denied (42501), and the id always comes from the identity. A later migration that
-- adds a column to certificates must GRANT INSERT on it if the frontend writes it.
DO $$
DECLARE
	cols text;
BEGIN
	SELECT string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO STRICT cols
	FROM pg_catalog.pg_attribute a
	WHERE a.attrelid = 'public.certificates'::regclass AND a.attnum > 0 AND NOT a.attisdropped
	      AND a.attname <> 'id';
	REVOKE INSERT ON public.certificates FROM hsmca_frontend; -- and its columns'
	EXECUTE pg_catalog.format('GRANT INSERT (%s) ON public.certificates TO hsmca_frontend', cols);
	-- also through a role it is a member of (pg_write_all_data, the owner's): refuse to go on
	IF pg_catalog.has_column_privilege('hsmca_frontend', 'public.certificates'::regclass, 'id', 'INSERT') THEN
		RAISE EXCEPTION 'role hsmca_frontend can still insert certificates.id: it must not be a member of a role that can';
	END IF;
END $$;
