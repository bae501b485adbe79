/* Reading a certificate row back (GET of a certificate, renewal, approval). */
#include <stdlib.h>
#include <string.h>

#include "db_lifecycle.h"
#include "db_priv.h"

void db_cert_row_free(struct db_cert_row *r)
{
	if (!r)
		return;
	free(r->subject);
	free(r->sans);
	free(r->failure_reason);
	free(r->tbs);
	free(r->der);
	memset(r, 0, sizeof(*r));
}

/* A NUL-terminated copy of a binary-format value (text columns come as their bytes); NULL stays NULL. */
static int db_dup(struct db *db, const PGresult *r, int col, uint8_t **out, size_t *out_len)
{
	*out = NULL;
	if (PQgetisnull(r, 0, col))
		return 0;
	size_t n = (size_t)PQgetlength(r, 0, col);
	if (!(*out = malloc(n + 1)))
		return db_fail(db, HSMCA_ERR_NOMEM, "out of memory");
	memcpy(*out, PQgetvalue(r, 0, col), n);
	(*out)[n] = 0;
	if (out_len)
		*out_len = n;
	return 0;
}

static int db_time(struct db *db, const PGresult *r, int col, time_t *out)
{
	char buf[32], *end = NULL;
	int rc = db_copy_text(db, r, 0, col, buf, sizeof(buf));
	if (rc)
		return rc;
	long long v = strtoll(buf, &end, 10);
	if (end == buf || *end)
		return db_fail(db, HSMCA_ERR_STATE, "bad time value %s", buf);
	*out = (time_t)v;
	return 0;
}

/* Runs sql with serial_hex, normalised, as $1 (text results). */
static int db_cert_exec_serial(struct db *db, const char *serial_hex, const char *sql, PGresult **r)
{
	char serial[DB_SERIAL_HEX_MAX];
	struct db_params p = { 0 };
	int rc = db_serial_norm(db, serial_hex, serial);
	if (rc)
		return rc;
	db_params_text(&p, serial);
	return db_exec(db, sql, &p, DB_FMT_TEXT, r);
}

int db_cert_by_machine(struct db *db, const char *serial_hex, bool *machine)
{
	PGresult *r = NULL;
	*machine = false;
	int rc = db_cert_exec_serial(db, serial_hex,
		     "WITH RECURSIVE chain (serial, renews, token, revoked, depth) AS ("
		     "SELECT c.serial_hex, c.renews_serial, c.authsign_token IS NOT NULL, false, 0 FROM certificates c "
		     "WHERE c.serial_hex = $1 UNION ALL "
		     "SELECT c.serial_hex, c.renews_serial, c.authsign_token IS NOT NULL, "
		     /* revoked for any reason but superseded, the rotation's own (as db_cert_chain_revoked) */
		     "c.status = 'revoked' AND EXISTS (SELECT 1 FROM revocations r WHERE r.serial_hex = c.serial_hex "
		     "AND r.reason <> 'superseded'), "
		     "chain.depth + 1 "
		     "FROM certificates c JOIN chain ON c.serial_hex = chain.renews WHERE chain.depth < 1000) "
		     /* a chain that goes on past the bound counts as a machine's: renewing a key's certificate a
		      * thousand times must not wash its origin out; a revoked certificate below it may have been
		      * renewed by whoever stole its key */
		     "SELECT (coalesce(bool_or(chain.token OR chain.revoked "
		     "OR (chain.depth >= 1000 AND chain.renews IS NOT NULL)), false) "
		     "OR EXISTS (SELECT 1 FROM audit_log a "
		     "JOIN chain ch ON a.object = ch.serial WHERE a.action IN ('certificate.requested', "
		     "'certificate.held') AND a.details::jsonb->>'credential' IN ('api-key', 'login-certificate')))::text "
		     "FROM chain",
		     &r);
	if (rc)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return db_fail(db, HSMCA_ERR_STATE, "certificate %.40s: an unexpected result", serial_hex);
	}
	*machine = strcmp(PQgetvalue(r, 0, 0), "true") == 0;
	PQclear(r);
	return 0;
}

int db_cert_chain_revoked(struct db *db, const char *serial_hex, char out_serial[DB_SERIAL_HEX_MAX],
			  char out_reason[DB_NAME_MAX])
{
	PGresult *r = NULL;
	out_serial[0] = out_reason[0] = '\0';
	int rc = db_cert_exec_serial(db, serial_hex,
		     "WITH RECURSIVE chain (serial, renews, depth) AS ("
		     "SELECT c.serial_hex, c.renews_serial, 0 FROM certificates c WHERE c.serial_hex = $1 UNION ALL "
		     "SELECT c.serial_hex, c.renews_serial, chain.depth + 1 FROM certificates c "
		     "JOIN chain ON c.serial_hex = chain.renews WHERE chain.depth < " DB_CHAIN_MAX_TEXT ") "
		     "SELECT serial, reason FROM ("
		     "SELECT r.serial_hex AS serial, r.reason, chain.depth FROM chain JOIN revocations r "
		     "ON r.serial_hex = chain.serial WHERE chain.depth > 0 AND r.reason <> 'superseded' UNION ALL "
		     /* a chain that goes on past the bound is not known to be clean (schema 027 walks as far): before,
		      * a revocation below it was not seen, and the renewal went through */
		     "SELECT chain.serial, '" DB_CHAIN_TOO_LONG "', chain.depth FROM chain "
		     "WHERE chain.depth >= " DB_CHAIN_MAX_TEXT " AND chain.renews IS NOT NULL) x "
		     "ORDER BY depth LIMIT 1",
		     &r);
	if (rc)
		return rc;
	if (PQntuples(r) == 1) {
		snprintf(out_serial, DB_SERIAL_HEX_MAX, "%s", PQgetvalue(r, 0, 0));
		snprintf(out_reason, DB_NAME_MAX, "%s", PQgetvalue(r, 0, 1));
	}
	PQclear(r);
	return 0;
}

int db_cert_get(struct db *db, const char *serial_hex, struct db_cert_row *out)
{
	static const char *const names[] = { "serial_hex", "issuer", "profile", "requester", "status", "renews",
					     "renewed_by", "subject", "sans", "failure_reason", "approval",
					     "nb", "na", "tbs", "der", DB_INTENT_NAMES, "rv_reason", "rv_at", "by_authsign" };
	enum { N = sizeof(names) / sizeof(names[0]) };
	char serial[DB_SERIAL_HEX_MAX], num[32], by_authsign[8] = "", *end = NULL;
	struct db_params p = { 0 };
	PGresult *r = NULL;
	int cols[N], rc;

	memset(out, 0, sizeof(*out));
	if ((rc = db_serial_norm(db, serial_hex, serial)))
		return rc;
	db_params_text(&p, serial);
	rc = db_exec(db,
		     "SELECT c.serial_hex, c.issuer, c.profile, c.requester, c.status, "
		     "coalesce(c.renews_serial, '') AS renews, "
		     "coalesce((SELECT n.serial_hex FROM certificates n WHERE n.renews_serial = c.serial_hex "
		     "AND n.status <> 'failed' LIMIT 1), '') AS renewed_by, "
		     "c.subject, c.sans, c.failure_reason, "
		     "coalesce((SELECT a.id FROM approvals a WHERE a.action = 'certificate.issue' "
		     "AND a.object = c.serial_hex), 0)::text AS approval, "
		     "extract(epoch FROM c.not_before)::bigint::text AS nb, "
		     "extract(epoch FROM c.not_after)::bigint::text AS na, c.tbs, c.der, "
		     DB_INTENT_SQL("c") ", coalesce(rv.reason, '') AS rv_reason, "
		     "coalesce(extract(epoch FROM rv.created_at)::bigint, 0)::text AS rv_at, "
		     "(c.authsign_token IS NOT NULL)::text AS by_authsign "
		     "FROM certificates c LEFT JOIN revocations rv ON rv.serial_hex = c.serial_hex WHERE c.serial_hex = $1",
		     &p, DB_FMT_BINARY, &r);
	if (rc || (rc = db_columns(db, r, names, cols, N)))
		goto out;
	if (PQntuples(r) != 1) {
		rc = db_fail(db, HSMCA_ERR_NOTFOUND, "certificate %s: not found", serial);
		goto out;
	}
	if ((rc = db_copy_text(db, r, 0, cols[0], out->serial_hex, sizeof(out->serial_hex))) ||
	    (rc = db_copy_text(db, r, 0, cols[1], out->issuer, sizeof(out->issuer))) ||
	    (rc = db_copy_text(db, r, 0, cols[2], out->profile, sizeof(out->profile))) ||
	    (rc = db_copy_text(db, r, 0, cols[3], out->requester, sizeof(out->requester))) ||
	    (rc = db_copy_text(db, r, 0, cols[4], out->status, sizeof(out->status))) ||
	    (rc = db_copy_text(db, r, 0, cols[5], out->renews, sizeof(out->renews))) ||
	    (rc = db_copy_text(db, r, 0, cols[6], out->renewed_by, sizeof(out->renewed_by))) ||
	    (rc = db_dup(db, r, cols[7], (uint8_t **)&out->subject, NULL)) ||
	    (rc = db_dup(db, r, cols[8], (uint8_t **)&out->sans, NULL)) ||
	    (rc = db_dup(db, r, cols[9], (uint8_t **)&out->failure_reason, NULL)) ||
	    (rc = db_copy_text(db, r, 0, cols[10], num, sizeof(num))) ||
	    (rc = db_time(db, r, cols[11], &out->not_before)) || (rc = db_time(db, r, cols[12], &out->not_after)) ||
	    (rc = db_dup(db, r, cols[13], &out->tbs, &out->tbs_len)) ||
	    (rc = db_dup(db, r, cols[14], &out->der, &out->der_len)))
		goto out;
	out->approval_id = strtoll(num, &end, 10);
	if ((rc = db_intent_cols(db, r, 0, cols + 15, &out->macs)) ||
	    (rc = db_copy_text(db, r, 0, cols[N - 3], out->revoked_reason, sizeof(out->revoked_reason))) ||
	    (rc = db_time(db, r, cols[N - 2], &out->revoked_at)) ||
	    (rc = db_copy_text(db, r, 0, cols[N - 1], by_authsign, sizeof(by_authsign))))
		goto out;
	out->by_authsign = strcmp(by_authsign, "true") == 0;
	if (!out->subject || !out->sans || !out->tbs)
		rc = db_fail(db, HSMCA_ERR_STATE, "certificate %s: incomplete row", serial);
out:
	PQclear(r);
	if (rc)
		db_cert_row_free(out);
	return rc;
}
