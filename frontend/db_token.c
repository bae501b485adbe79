/* Authsign tokens seen (schema/006_authsign_tokens.sql). */
#include <stdio.h>
#include <string.h>

#include "db_priv.h"

int db_token_claim(struct db *db, const uint8_t token[DB_TOKEN_LEN], unsigned ttl_seconds, bool prune)
{
	struct db_params p = { 0 };
	PGresult *r = NULL;
	char ttl[16];
	int rc;

	if (prune && (rc = db_exec_cmd(db, "DELETE FROM authsign_tokens WHERE expires_at < now()", NULL)))
		return rc;
	snprintf(ttl, sizeof ttl, "%u", ttl_seconds);
	db_params_bin(&p, token, DB_TOKEN_LEN);
	db_params_text(&p, ttl);
	/* a live row is left alone (no row affected: a replay); an expired one is taken again */
	rc = db_exec(db,
		     "INSERT INTO authsign_tokens AS t (token, expires_at) "
		     "VALUES ($1, now() + make_interval(secs => $2::integer)) "
		     "ON CONFLICT (token) DO UPDATE SET seen_at = now(), expires_at = EXCLUDED.expires_at "
		     "WHERE t.expires_at < now()",
		     &p, DB_FMT_TEXT, &r);
	if (rc)
		return rc;
	rc = strcmp(PQcmdTuples(r), "1") == 0 ? 0 : HSMCA_ERR_EXISTS;
	PQclear(r);
	return rc;
}

int db_token_cert(struct db *db, const uint8_t token[DB_TOKEN_LEN], char serial[DB_SERIAL_HEX_MAX],
		  char status[DB_STATUS_MAX])
{
	struct db_params p = { 0 };
	PGresult *r = NULL;
	int rc;

	db_params_bin(&p, token, DB_TOKEN_LEN);
	rc = db_exec(db,
		     "SELECT serial_hex, status FROM certificates WHERE authsign_token = $1 AND status <> 'failed' "
		     "ORDER BY status = 'revoked' DESC, id DESC LIMIT 1",
		     &p, DB_FMT_TEXT, &r);
	if (rc)
		return rc;
	if (PQntuples(r) != 1)
		rc = db_fail(db, HSMCA_ERR_NOTFOUND, "no certificate for this token");
	else if (!(rc = db_copy_text(db, r, 0, 0, serial, DB_SERIAL_HEX_MAX)))
		rc = db_copy_text(db, r, 0, 1, status, DB_STATUS_MAX);
	PQclear(r);
	return rc;
}

int db_token_release(struct db *db, const uint8_t token[DB_TOKEN_LEN])
{
	struct db_params p = { 0 };
	db_params_bin(&p, token, DB_TOKEN_LEN);
	return db_exec_cmd(db,
			   "DELETE FROM authsign_tokens t WHERE t.token = $1 AND NOT EXISTS (SELECT 1 FROM certificates c "
			   "WHERE c.authsign_token = t.token AND c.status <> 'failed')",
			   &p);
}
