/* Authsign tokens seen (schema/006_authsign_tokens.sql). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_lifecycle.h"
#include "db_priv.h"

#define DB_TOKEN_APPROVED_SECS_TEXT "604800" /* DB_APPROVAL_TTL_DEFAULT */
_Static_assert(DB_APPROVAL_TTL_DEFAULT == 604800, "DB_TOKEN_APPROVED_SECS_TEXT is the approval TTL");

/* A certificate row c issued after an administrator approved it (its approval's status): a client polling
 * the request may come back any time an approval may take, so it is answered for that long (SQL fragment). */
#define DB_TOKEN_APPROVED_SQL                                                                                  \
	"EXISTS (SELECT 1 FROM approvals a WHERE a.object = c.serial_hex AND a.action = 'certificate.issue' "   \
	"AND a.status = 'approved')"

int db_token_prune(struct db *db, unsigned ttl_seconds)
{
	struct db_params p = { 0 };
	char ttl[16];
	snprintf(ttl, sizeof ttl, "%u", ttl_seconds);
	db_params_text(&p, ttl);
	return db_exec_cmd(db,
			   "DELETE FROM authsign_tokens t WHERE t.expires_at < now() AND NOT EXISTS "
			   "(SELECT 1 FROM certificates c WHERE c.authsign_token = t.token "
			   "AND (c.status IN ('held', 'pending') OR (c.status = 'issued' "
			   "AND c.updated_at > now() - make_interval(secs => $1::integer)) OR "
			   "(c.updated_at > now() - make_interval(secs => " DB_TOKEN_APPROVED_SECS_TEXT ") "
			   "AND (c.status = 'failed' OR (c.status = 'issued' AND c.not_after > now())) AND "
			   DB_TOKEN_APPROVED_SQL ")))",
			   &p);
}

int db_token_claim(struct db *db, const uint8_t token[DB_TOKEN_LEN], unsigned ttl_seconds)
{
	struct db_params p = { 0 };
	PGresult *r = NULL;
	char ttl[16];
	int rc;

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

int db_token_release(struct db *db, const uint8_t token[DB_TOKEN_LEN])
{
	struct db_params p = { 0 };
	db_params_bin(&p, token, DB_TOKEN_LEN);
	return db_exec_cmd(db,
			   "DELETE FROM authsign_tokens t WHERE t.token = $1 AND NOT EXISTS (SELECT 1 FROM certificates c "
			   "WHERE c.authsign_token = t.token AND c.created_at >= t.seen_at)",
			   &p);
}

void db_token_state_free(struct db_token_state *s)
{
	if (s) {
		free(s->der);
		memset(s, 0, sizeof(*s));
	}
}

int db_token_state(struct db *db, const uint8_t token[DB_TOKEN_LEN], unsigned recent_seconds,
		   struct db_token_state *out)
{
	static const char *const names[] = { "revoked", "serial_hex", "status", "recent", "der", "reason", "live",
					     "rejected" };
	enum { N = sizeof(names) / sizeof(names[0]) };
	struct db_params p = { 0 };
	PGresult *r = NULL;
	char secs[16], recent[8] = "", live[8] = "";
	int cols[N], rc;

	memset(out, 0, sizeof(*out));
	snprintf(secs, sizeof(secs), "%u", recent_seconds);
	db_params_bin(&p, token, DB_TOKEN_LEN);
	db_params_text(&p, secs);
	/* the last claim's rows: created since it was taken (the claim commits before the request's intent) */
	rc = db_exec(db,
		     "SELECT coalesce((SELECT r.serial_hex FROM certificates r WHERE r.authsign_token = $1 "
		     "AND r.status = 'revoked' LIMIT 1), '') AS revoked, "
		     /* the newest request with the token (any claim) was rejected: after that nothing is filed again */
		     "coalesce((SELECT r.serial_hex FROM (SELECT serial_hex FROM certificates WHERE authsign_token = $1 "
		     "ORDER BY id DESC LIMIT 1) r JOIN approvals a ON a.object = r.serial_hex "
		     "AND a.action = 'certificate.issue' AND a.status = 'rejected'), '') AS rejected, "
		     "coalesce(c.serial_hex, '') AS serial_hex, coalesce(c.status, '') AS status, "
		     "coalesce(c.updated_at > now() - make_interval(secs => CASE WHEN c.approved AND c.not_after > now() "
		     "THEN " DB_TOKEN_APPROVED_SECS_TEXT " ELSE $2::integer END), false)::text AS recent, c.der, "
		     "left(coalesce(c.failure_reason, ''), 240) AS reason, coalesce(c.live OR (c.approved AND "
		     "c.updated_at > now() - make_interval(secs => " DB_TOKEN_APPROVED_SECS_TEXT ")), false)::text AS live "
		     "FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT c.serial_hex, c.status, c.updated_at, c.not_after, c.der, "
		     "c.failure_reason, t.expires_at >= now() AS live, " DB_TOKEN_APPROVED_SQL " AS approved "
		     "FROM authsign_tokens t JOIN certificates c ON c.authsign_token = t.token "
		     "AND c.created_at >= t.seen_at WHERE t.token = $1 "
		     "ORDER BY c.id DESC LIMIT 1) AS c ON true",
		     &p, DB_FMT_BINARY, &r);
	if (rc || (rc = db_columns(db, r, names, cols, N)))
		goto out;
	if (PQntuples(r) != 1) {
		rc = db_fail(db, HSMCA_ERR_STATE, "authsign token state: %d rows", PQntuples(r));
		goto out;
	}
	if ((rc = db_copy_text(db, r, 0, cols[0], out->revoked, sizeof(out->revoked))) ||
	    (rc = db_copy_text(db, r, 0, cols[1], out->serial, sizeof(out->serial))) ||
	    (rc = db_copy_text(db, r, 0, cols[2], out->status, sizeof(out->status))) ||
	    (rc = db_copy_text(db, r, 0, cols[3], recent, sizeof(recent))) ||
	    (rc = db_copy_text(db, r, 0, cols[5], out->reason, sizeof(out->reason))) ||
	    (rc = db_copy_text(db, r, 0, cols[6], live, sizeof(live))) ||
	    (rc = db_copy_text(db, r, 0, cols[7], out->rejected, sizeof(out->rejected))))
		goto out;
	out->recent = strcmp(recent, "true") == 0;
	out->live = strcmp(live, "true") == 0;
	if (!PQgetisnull(r, 0, cols[4])) {
		size_t n = (size_t)PQgetlength(r, 0, cols[4]);
		if (!n || !(out->der = malloc(n))) {
			rc = db_fail(db, n ? HSMCA_ERR_NOMEM : HSMCA_ERR_STATE, "authsign token state: certificate");
			goto out;
		}
		memcpy(out->der, PQgetvalue(r, 0, cols[4]), n);
		out->der_len = n;
	}
out:
	PQclear(r);
	return rc;
}
