-- 017: the frontend's role cannot choose a row's id.
--
-- An identity column GENERATED ALWAYS still takes any value an INSERT gives it with OVERRIDING SYSTEM VALUE,
-- and a table-level INSERT grant allows that. The MACs of 015 cover (id, fields, mac_seq), and mac_seq starts
-- at 0 on every INSERT: so after the owner deleted a row (a leaked API key, an account), hsmca_frontend could
-- insert it again at its old id with its old row_mac and one UPDATE later (or at once, for a row listed in
-- legacy_accounts or legacy_api_keys) the frontend accepted it again. An approval at a chosen id could take
-- the place of one an administrator expects, and a checkpoint at id 2^63-1 stopped the checkpoint thread from
-- ever seeing a newer one (it looks at checkpoints stored after the highest id it has seen).
--
-- So on these tables the role has INSERT on every column but id: an INSERT that names id (with or without
-- OVERRIDING SYSTEM VALUE) is refused with permission denied (42501), and the id always comes from the
-- identity. A privilege is checked once per statement, not per row. A later migration that adds a column to
-- one of these tables must GRANT INSERT on it if the frontend writes it.
--
-- Not here: audit_log (its BEFORE INSERT trigger sets id, whatever the INSERT says: 001, 003) and certificates,
-- whose INSERT is the issuance's hot path. Its id is covered by no MAC (an intent's covers its serial, issuer
-- and TBS, its release its serial); rows are found by serial, and id only orders the recovery pass. An id
-- the role chose can only make a later intent's INSERT collide with it (a failed request, as the role can
-- cause in many other ways).
DO $$
DECLARE
	t text;
	cols text;
BEGIN
	FOREACH t IN ARRAY ARRAY['accounts', 'api_keys', 'approvals', 'audit_checkpoints'] LOOP
		SELECT string_agg(pg_catalog.quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO STRICT cols
		FROM pg_catalog.pg_attribute a
		WHERE a.attrelid = pg_catalog.format('public.%I', t)::regclass AND a.attnum > 0
		      AND NOT a.attisdropped AND a.attname <> 'id';
		EXECUTE pg_catalog.format('REVOKE INSERT ON public.%I FROM hsmca_frontend', t); -- and its columns'
		EXECUTE pg_catalog.format('GRANT INSERT (%s) ON public.%I TO hsmca_frontend', cols, t);
		-- also through a role it is a member of (pg_write_all_data, the owner's): refuse to go on
		IF pg_catalog.has_column_privilege('hsmca_frontend', pg_catalog.format('public.%I', t)::regclass, 'id',
						   'INSERT') THEN
			RAISE EXCEPTION 'role hsmca_frontend can still insert %.id: it must not be a member of a role that can', t;
		END IF;
	END LOOP;
END $$;
