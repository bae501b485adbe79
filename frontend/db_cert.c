/* Certificates (intent before signing), revocations and issuers. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "db_priv.h"

#define DB_TIME_DEC_MAX 24

static int db_blob_check(struct db *db, const char *what, const uint8_t *p, size_t len)
{
	if (p == NULL || len == 0)
		return db_fail(db, HSMCA_ERR_PARSE, "%s: empty", what);
	if (len > DB_BLOB_MAX)
		return db_fail(db, HSMCA_ERR_LIMIT, "%s: larger than %d bytes", what, DB_BLOB_MAX);
	return 0;
}

static int db_text_check(struct db *db, const char *what, const char *s)
{
	if (s == NULL)
		return db_fail(db, HSMCA_ERR_PARSE, "%s: missing", what);
	if (strlen(s) >= DB_TEXT_MAX)
		return db_fail(db, HSMCA_ERR_LIMIT, "%s: longer than %d bytes", what, DB_TEXT_MAX - 1);
	return 0;
}

int db_cert_check(struct db *db, const struct db_cert *c, char *serial, char *renews)
{
	int rc;

	if ((rc = db_serial_norm(db, c->serial_hex, serial)) ||
	    (c->renews_serial_hex && (rc = db_serial_norm(db, c->renews_serial_hex, renews))) ||
	    (rc = db_check_name(db, "issuer", c->issuer, DB_NAME_MAX)) ||
	    (rc = db_check_name(db, "profile", c->profile, DB_NAME_MAX)) ||
	    (rc = db_check_name(db, "requester", c->requester, DB_NAME_MAX)) ||
	    (rc = db_text_check(db, "subject", c->subject)) ||
	    (rc = db_text_check(db, "sans", c->sans ? c->sans : "")) ||
	    (rc = db_blob_check(db, "tbs", c->tbs, c->tbs_len)))
		return rc;
	if (!c->intent_mac)
		return db_fail(db, HSMCA_ERR_PARSE, "intent_mac: missing");
	if (c->not_after <= c->not_before)
		return db_fail(db, HSMCA_ERR_PARSE, "validity: not_after is not after not_before");
	return 0;
}

int db_cert_insert_as(struct db *db, const struct db_cert *c, const char *status)
{
	char serial[DB_SERIAL_HEX_MAX], renews[DB_SERIAL_HEX_MAX];
	char nb[DB_TIME_DEC_MAX], na[DB_TIME_DEC_MAX];
	struct db_params p = {0};
	int rc;

	if ((rc = db_cert_check(db, c, serial, renews)))
		return rc;
	snprintf(nb, sizeof nb, "%" PRId64, (int64_t)c->not_before);
	snprintf(na, sizeof na, "%" PRId64, (int64_t)c->not_after);
	db_params_text(&p, serial);
	db_params_text(&p, c->issuer);
	db_params_text(&p, c->subject);
	db_params_text(&p, c->sans ? c->sans : "");
	db_params_text(&p, nb);
	db_params_text(&p, na);
	db_params_text(&p, c->profile);
	db_params_text(&p, c->requester);
	db_params_bin(&p, c->tbs, c->tbs_len);
	db_params_text(&p, c->renews_serial_hex ? renews : NULL);
	db_params_text(&p, status);
	if (c->authsign_token)
		db_params_bin(&p, c->authsign_token, DB_TOKEN_LEN);
	else
		db_params_text(&p, NULL);
	db_params_bin(&p, c->intent_mac, DB_MAC_LEN);
	return db_exec_cmd(db,
			   "INSERT INTO certificates (serial_hex, issuer, subject, sans, not_before, not_after, "
			   "profile, requester, tbs, renews_serial, status, authsign_token, intent_mac) VALUES ($1, $2, "
			   "$3, $4, to_timestamp($5::bigint), to_timestamp($6::bigint), $7, $8, $9::bytea, $10, $11, "
			   "$12::bytea, $13::bytea)",
			   &p);
}

int db_cert_insert_pending(struct db *db, const struct db_cert *c)
{
	return db_cert_insert_as(db, c, "pending");
}

/* An UPDATE that touched no row: the serial is unknown or not in the state the change needs. */
static int db_cert_no_row(struct db *db, const char *serial, const char *want)
{
	char status[DB_STATUS_MAX];
	int rc = db_cert_status(db, serial, status, sizeof status);

	if (rc == 0)
		rc = db_fail(db, HSMCA_ERR_STATE, "certificate %s is %s, not %s", serial, status, want);
	return rc;
}

/* Runs a one-row status change (params: $1 serial, $2 value) and explains a miss. */
static int db_cert_transition(struct db *db, const char *sql, struct db_params *p, const char *serial,
			      const char *want)
{
	PGresult *r = NULL;
	int rc = db_exec(db, sql, p, DB_FMT_TEXT, &r);

	if (rc == 0 && strcmp(PQcmdTuples(r), "1") != 0)
		rc = db_cert_no_row(db, serial, want);
	PQclear(r);
	return rc;
}

int db_cert_mark_issued(struct db *db, const char *serial_hex, const uint8_t *der, size_t der_len)
{
	char serial[DB_SERIAL_HEX_MAX];
	struct db_params p = {0};
	int rc;

	if ((rc = db_serial_norm(db, serial_hex, serial)) || (rc = db_blob_check(db, "der", der, der_len)))
		return rc;
	db_params_text(&p, serial);
	db_params_bin(&p, der, der_len);
	return db_cert_transition(db,
				  "UPDATE certificates SET status = 'issued', der = $2::bytea "
				  "WHERE serial_hex = $1 AND status = 'pending'",
				  &p, serial, "pending");
}

int db_cert_mark_failed(struct db *db, const char *serial_hex, const char *why)
{
	char serial[DB_SERIAL_HEX_MAX];
	struct db_params p = {0};
	int rc;

	if ((rc = db_serial_norm(db, serial_hex, serial)) || (rc = db_text_check(db, "failure reason", why)))
		return rc;
	db_params_text(&p, serial);
	db_params_text(&p, why);
	return db_cert_transition(db,
				  "UPDATE certificates SET status = 'failed', failure_reason = $2 "
				  "WHERE serial_hex = $1 AND status = 'pending'",
				  &p, serial, "pending");
}

int db_cert_revoke(struct db *db, const char *serial_hex, const char *reason, const char *by)
{
	char serial[DB_SERIAL_HEX_MAX];
	struct db_params p = {0};
	int rc;

	if ((rc = db_serial_norm(db, serial_hex, serial)) || (rc = db_check_name(db, "reason", reason, DB_NAME_MAX)) ||
	    (rc = db_check_name(db, "revoked by", by, DB_NAME_MAX)))
		return rc;
	db_params_text(&p, serial);
	db_params_text(&p, reason);
	db_params_text(&p, by);
	/* one statement: the status change and the revocation row, or neither */
	return db_cert_transition(db,
				  "WITH c AS (UPDATE certificates SET status = 'revoked' "
				  "WHERE serial_hex = $1 AND status = 'issued' RETURNING serial_hex, issuer) "
				  "INSERT INTO revocations (serial_hex, issuer, reason, revoked_by) "
				  "SELECT serial_hex, issuer, $2, $3 FROM c",
				  &p, serial, "issued");
}

int db_cert_pending_each(struct db *db, unsigned min_age_seconds,
			 int (*fn)(void *ctx, const char *serial_hex, const char *issuer, const uint8_t *tbs,
				   size_t tbs_len),
			 void *ctx)
{
	char age[16];
	struct db_params p = {0};
	static const char *const names[] = {"serial_hex", "issuer", "tbs"};
	char serial[DB_SERIAL_HEX_MAX], issuer[DB_NAME_MAX];
	PGresult *r = NULL;
	int cols[3], rc;

	if (PQtransactionStatus(db->conn) != PQTRANS_IDLE && PQstatus(db->conn) == CONNECTION_OK)
		return db_fail(db, HSMCA_ERR_STATE, "pending_each: called inside a transaction");
	if ((rc = db_reconnect_if_lost(db)))
		return rc;
	/* the whole (small) result is held, so fn may use this connection */
	snprintf(age, sizeof(age), "%u", min_age_seconds);
	db_params_text(&p, age);
	db_params_text(&p, db_lost_recently(DB_OWNER_RECONNECT_SECONDS) ? "true" : "false");
	/* not a row another live frontend process owns (008: it may be signing it right now), for at most
	 * DB_OWNER_LEASE_SECONDS: its live paths give up on the signer long before (timeout_seconds, at most 300,
	 * or the committer's 30 s without progress), and a session of a host that died without closing its
	 * connection (power, network) can linger in pg_stat_activity until the server's TCP keepalive ends it;
	 * and shortly after this process lost its sessions (DB_OWNER_RECONNECT_SECONDS), an owner not connected
	 * is taken for gone only for rows changed since this session began */
	/* A plain scan of the pending index, in id order, never a bitmap scan (nor a sequential one). Every row
	 * passes through pending, so until the next vacuum that index is mostly entries of rows issued since;
	 * a bitmap scan visits the heap tuple of every one of them at every pass and marks none dead, so each
	 * pass cost more than the last (0.45 to 0.7 s, reading 10-20 thousand heap pages out of the cache, at
	 * 60-110 thousand such entries during bench/issue.sh). A plain index scan marks the entries of dead
	 * rows as it meets them (kill_prior_tuple), and later passes skip them: each is visited about once. */
	if ((rc = db_begin(db)) ||
	    (rc = db_exec_cmd(db, "SELECT set_config('enable_indexscan', 'on', true), "
				  "set_config('enable_bitmapscan', 'off', true), set_config('enable_seqscan', 'off', true)",
			      NULL)))
		goto out;
	rc = db_exec(db, "SELECT serial_hex, issuer, tbs FROM certificates c WHERE status = 'pending' "
			 "AND updated_at <= now() - make_interval(secs => $1::int) AND (c.owner IS NULL OR "
			 "c.owner = current_setting('application_name') OR "
			 "c.updated_at <= now() - make_interval(secs => " DB_OWNER_LEASE_TEXT ") OR "
			 "(NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = c.owner) AND "
			 "($2::boolean IS NOT TRUE OR c.updated_at >= "
			 "(SELECT s.backend_start FROM pg_stat_activity s WHERE s.pid = pg_backend_pid())))) ORDER BY id",
		     &p, DB_FMT_BINARY, &r);
	if (rc || (rc = db_commit(db)) || (rc = db_columns(db, r, names, cols, 3)))
		goto out;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		if ((rc = db_copy_text(db, r, i, cols[0], serial, sizeof serial)) ||
		    (rc = db_copy_text(db, r, i, cols[1], issuer, sizeof issuer)))
			goto out;
		rc = fn(ctx, serial, issuer, (const uint8_t *)PQgetvalue(r, i, cols[2]),
			(size_t)PQgetlength(r, i, cols[2]));
	}
out:
	if (rc && PQtransactionStatus(db->conn) != PQTRANS_IDLE)
		db_rollback(db);
	PQclear(r);
	return rc;
}

int db_cert_claim_pending(struct db *db, const char *serial_hex,
			  int (*fn)(void *ctx, struct db *db, const struct db_intent *in), void *ctx, bool *out_claimed)
{
	static const char *const names[] = {"issuer", "tbs", "renews", "renewed_status", DB_INTENT_NAMES};
	char serial[DB_SERIAL_HEX_MAX], issuer[DB_NAME_MAX], renews[DB_SERIAL_HEX_MAX], renewed[DB_STATUS_MAX];
	struct db_intent_macs macs;
	struct db_params p = {0};
	PGresult *r = NULL;
	int cols[8], rc;

	*out_claimed = false;
	if ((rc = db_serial_norm(db, serial_hex, serial)) || (rc = db_begin(db)))
		return rc;
	db_params_text(&p, serial);
	/* a renewal: the certificate it renews, as it stands now (revoked since its intent was committed?) */
	rc = db_exec(db, "SELECT c.issuer, c.tbs, c.renews_serial AS renews, "
			 "(SELECT o.status FROM certificates o WHERE o.serial_hex = c.renews_serial) AS renewed_status, "
			 DB_INTENT_SQL("c") " FROM certificates c WHERE c.serial_hex = $1 AND c.status = 'pending' FOR UPDATE OF c SKIP LOCKED",
		     &p, DB_FMT_BINARY, &r);
	if (rc || (rc = db_columns(db, r, names, cols, 8)))
		goto out;
	if (PQntuples(r) == 1) {
		struct db_intent in = { .serial_hex = serial, .issuer = issuer,
					.tbs = (const uint8_t *)PQgetvalue(r, 0, cols[1]),
					.tbs_len = (size_t)PQgetlength(r, 0, cols[1]), .macs = &macs };
		if ((rc = db_copy_text(db, r, 0, cols[0], issuer, sizeof issuer)) ||
		    (rc = db_copy_text(db, r, 0, cols[2], renews, sizeof renews)) ||
		    (rc = db_copy_text(db, r, 0, cols[3], renewed, sizeof renewed)) ||
		    (rc = db_intent_cols(db, r, 0, cols + 4, &macs)))
			goto out;
		in.renews = PQgetisnull(r, 0, cols[2]) ? NULL : renews;
		in.renewed_status = PQgetisnull(r, 0, cols[3]) ? NULL : renewed;
		*out_claimed = true;
		rc = fn(ctx, db, &in);
	}
	if (rc == 0)
		rc = db_commit(db);
out:
	if (rc)
		db_rollback(db);
	PQclear(r);
	return rc;
}

int db_cert_status(struct db *db, const char *serial_hex, char *out_status, size_t out_len)
{
	static const char *const names[] = {"status"};
	char serial[DB_SERIAL_HEX_MAX];
	struct db_params p = {0};
	PGresult *r = NULL;
	int col, rc;

	if ((rc = db_serial_norm(db, serial_hex, serial)))
		return rc;
	db_params_text(&p, serial);
	rc = db_exec(db, "SELECT status FROM certificates WHERE serial_hex = $1", &p, DB_FMT_TEXT, &r);
	if (rc || (rc = db_columns(db, r, names, &col, 1)))
		goto out;
	if (PQntuples(r) != 1) {
		rc = db_fail(db, HSMCA_ERR_NOTFOUND, "certificate %s: not found", serial);
		goto out;
	}
	rc = db_copy_text(db, r, 0, col, out_status, out_len);
out:
	PQclear(r);
	return rc;
}

int db_cert_compare(struct db *db, const char *serial_hex, const uint8_t *tbs, size_t tbs_len, const uint8_t *der,
		    size_t der_len, char *out_status, size_t out_len, bool *out_same)
{
	static const char *const names[] = {"status", "same"};
	char serial[DB_SERIAL_HEX_MAX];
	struct db_params p = {0};
	PGresult *r = NULL;
	int cols[2], rc;

	*out_same = false;
	if ((rc = db_serial_norm(db, serial_hex, serial)) || (tbs && (rc = db_blob_check(db, "tbs", tbs, tbs_len))) ||
	    (der && (rc = db_blob_check(db, "der", der, der_len))))
		return rc;
	db_params_text(&p, serial);
	if (tbs)
		db_params_bin(&p, tbs, tbs_len);
	else
		db_params_text(&p, NULL);
	if (der)
		db_params_bin(&p, der, der_len);
	else
		db_params_text(&p, NULL);
	rc = db_exec(db, "SELECT status, ($2::bytea IS NULL OR tbs = $2::bytea) AND "
			 "($3::bytea IS NULL OR COALESCE(der = $3::bytea, false)) AS same "
			 "FROM certificates WHERE serial_hex = $1",
		     &p, DB_FMT_TEXT, &r);
	if (rc || (rc = db_columns(db, r, names, cols, 2)))
		goto out;
	if (PQntuples(r) != 1) {
		rc = db_fail(db, HSMCA_ERR_NOTFOUND, "certificate %s: not found", serial);
		goto out;
	}
	if ((rc = db_copy_text(db, r, 0, cols[0], out_status, out_len)))
		goto out;
	*out_same = strcmp(PQgetvalue(r, 0, cols[1]), "t") == 0;
out:
	PQclear(r);
	return rc;
}

int db_issuer_upsert(struct db *db, const char *key_label, const uint8_t *cert_der, size_t der_len)
{
	struct db_params p = {0};
	int rc;

	if ((rc = db_check_name(db, "issuer", key_label, DB_NAME_MAX)) ||
	    (rc = db_blob_check(db, "issuer certificate", cert_der, der_len)))
		return rc;
	db_params_text(&p, key_label);
	db_params_bin(&p, cert_der, der_len);
	return db_exec_cmd(db,
			   "INSERT INTO issuers (key_label, cert_der) VALUES ($1, $2::bytea) "
			   "ON CONFLICT (key_label) DO UPDATE SET cert_der = EXCLUDED.cert_der "
			   "WHERE issuers.cert_der IS DISTINCT FROM EXCLUDED.cert_der",
			   &p);
}
