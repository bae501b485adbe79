/* What a CRL is built from (db.h: db_crl_*): an issuer's revocations and the CRL numbers (schema 029). */
#include <stdlib.h>
#include <string.h>

#include "db_priv.h"

/* A bigint column printed as text: its value, or -1 for anything else (the query casts it: never). */
static int64_t db_crl_i64(const PGresult *r, int row, int col)
{
	const char *s = PQgetvalue(r, row, col);
	char *end = NULL;
	long long v = strtoll(s, &end, 10);
	return end && end != s && *end == '\0' ? (int64_t)v : -1;
}

int db_crl_state(struct db *db, const char *issuer, struct db_crl_state *out)
{
	static const char *const names[] = { "seq", "n" };
	struct db_params p = { 0 };
	PGresult *r = NULL;
	int cols[2], rc;
	memset(out, 0, sizeof(*out));
	if ((rc = db_check_name(db, "issuer", issuer, DB_NAME_MAX)))
		return rc;
	db_params_text(&p, issuer);
	rc = db_exec(db, "SELECT coalesce(max(change_seq), 0)::text AS seq, count(*)::text AS n FROM revocations "
			 "WHERE issuer = $1", &p, DB_FMT_TEXT, &r);
	if (!rc && !(rc = db_columns(db, r, names, cols, 2)) && PQntuples(r) == 1) {
		out->last_seq = db_crl_i64(r, 0, cols[0]);
		out->count = db_crl_i64(r, 0, cols[1]);
	}
	PQclear(r);
	return rc;
}

int db_crl_number_next(struct db *db, int64_t *out)
{
	PGresult *r = NULL;
	int rc = db_exec(db, "SELECT nextval('public.crl_number')::text", NULL, DB_FMT_TEXT, &r);
	*out = 0;
	if (!rc && (PQntuples(r) != 1 || PQnfields(r) != 1 || (*out = db_crl_i64(r, 0, 0)) <= 0))
		rc = db_fail(db, HSMCA_ERR_STATE, "crl_number: not a positive number");
	PQclear(r);
	return rc;
}

int db_crl_revocations(struct db *db, const char *issuer, struct db_crl_state *state,
		       int (*fn)(void *ctx, const char *serial_hex, const char *reason, int64_t revoked_at), void *ctx)
{
	static const char *const names[] = { "serial_hex", "reason", "at", "seq" };
	struct db_params p = { 0 };
	PGresult *r = NULL;
	int cols[4], rc;
	memset(state, 0, sizeof(*state));
	if ((rc = db_check_name(db, "issuer", issuer, DB_NAME_MAX)))
		return rc;
	db_params_text(&p, issuer);
	/* the whole list is held, so fn may use this connection; its own state in the same snapshot */
	rc = db_exec(db, "SELECT serial_hex, reason, extract(epoch FROM created_at)::bigint::text AS at, "
			 "change_seq::text AS seq FROM revocations WHERE issuer = $1 ORDER BY created_at, serial_hex",
		     &p, DB_FMT_TEXT, &r);
	if (rc || (rc = db_columns(db, r, names, cols, 4)))
		goto out;
	for (int i = 0; i < PQntuples(r) && !rc; i++) {
		int64_t at = db_crl_i64(r, i, cols[2]), seq = db_crl_i64(r, i, cols[3]);
		if (at < 0 || seq < 0) {
			rc = db_fail(db, HSMCA_ERR_STATE, "revocations: a row without its time or sequence");
			break;
		}
		if (seq > state->last_seq)
			state->last_seq = seq;
		state->count++;
		rc = fn(ctx, PQgetvalue(r, i, cols[0]), PQgetvalue(r, i, cols[1]), at);
	}
out:
	PQclear(r);
	return rc;
}
