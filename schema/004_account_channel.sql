-- 004: changes of accounts and API keys are also announced on a channel of their own, hsmca_accounts
-- (payload "<table>:<N>" as on hsmca_change), so a frontend's account watcher (frontend/acctwatch.c, which
-- voids its cache of account rows on each one) is woken by those changes only and not by every batch of
-- certificates. hsmca_change is unchanged. DELETE and TRUNCATE are announced too: the frontend never
-- deletes an account or key, but an operator's psql might, and a cached row must not outlive its row.
CREATE FUNCTION notify_accounts() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
BEGIN
	PERFORM pg_notify('hsmca_accounts', TG_TABLE_NAME || ':' || (SELECT s.last_value FROM public.change_seq s));
	RETURN NULL;
END $$;

CREATE TRIGGER accounts_notify_accounts AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON accounts
	FOR EACH STATEMENT EXECUTE FUNCTION notify_accounts();
CREATE TRIGGER api_keys_notify_accounts AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON api_keys
	FOR EACH STATEMENT EXECUTE FUNCTION notify_accounts();

REVOKE ALL ON FUNCTION notify_accounts() FROM PUBLIC;
