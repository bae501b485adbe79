/* The audit log: append (the database computes the chain, see schema/001_init.sql) and an independent
 * verifier that recomputes every row's hash here with OpenSSL.
 *
 * Canonical bytes of a row (version 1), row_hash = SHA-256(canonical):
 *     "hsmca-audit-v1\n"
 *     then for each of the 7 fields, in this order:  <L> ":" <field bytes> "\n"
 *     with <L> the field's length in bytes in ASCII decimal without leading zeros ("0" when empty):
 *   1 id         ASCII decimal
 *   2 ts         UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ (exactly 6 fraction digits)
 *   3 actor, 4 action, 5 object   UTF-8 text as stored
 *   6 details    the JSON text exactly as stored
 *   7 prev_hash  64 lowercase hex digits (the previous row's row_hash; 64 '0' for the first row)
 * The length prefixes make the encoding unambiguous whatever the fields contain. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "checkpoint_sig.h"
#include "db_priv.h"

#define AUDIT_CANON_TAG "hsmca-audit-v1\n"
#define AUDIT_TS_LEN 27       /* 2024-05-01T12:00:00.000042Z */
#define AUDIT_ACTOR_MAX 256
#define AUDIT_ACTION_MAX 64
#define AUDIT_OBJECT_MAX 1025
#define AUDIT_DETAILS_MAX (64 * 1024 + 1)
#define PG_EPOCH_UNIX 946684800LL /* 2000-01-01T00:00:00Z: PostgreSQL's binary timestamp epoch */
#define USEC_PER_SEC 1000000LL

enum { AC_ID, AC_TS, AC_ACTOR, AC_ACTION, AC_OBJECT, AC_DETAILS, AC_PREV, AC_ROW, AC_N };
static const char *const audit_cols[AC_N] = {"id", "ts", "actor", "action", "object", "details", "prev_hash",
					     "row_hash"};

struct audit_walk {
	const struct db_audit_opts *o;   /* may be NULL */
	int64_t next_id;                 /* the id the next row must have */
	uint8_t prev[DB_AUDIT_HASH_LEN]; /* row_hash of the last row read */
	int64_t bad_id;                  /* the first broken row's id, once broken is set */
	int64_t broken;                  /* 0 while intact, then 1 (a row's id may be 0: bad_id cannot say it) */
	char why[DB_ERR_MAX];
	int cols[AC_N];
	bool have_cols;
};

int db_audit_check(struct db *db, const char *actor, const char *action, const char *object, const char *details_json)
{
	int rc;

	if ((rc = db_check_name(db, "audit actor", actor, AUDIT_ACTOR_MAX)) ||
	    (rc = db_check_name(db, "audit action", action, AUDIT_ACTION_MAX)))
		return rc;
	if (strlen(object) >= AUDIT_OBJECT_MAX || strlen(details_json) >= AUDIT_DETAILS_MAX)
		return db_fail(db, HSMCA_ERR_LIMIT, "audit object or details too long");
	return 0;
}

int db_audit_append(struct db *db, const char *actor, const char *action, const char *object,
		    const char *details_json)
{
	struct db_params p = {0};
	int rc;

	if (object == NULL)
		object = "";
	if (details_json == NULL)
		details_json = "{}";
	if ((rc = db_audit_check(db, actor, action, object, details_json)))
		return rc;
	db_params_text(&p, actor);
	db_params_text(&p, action);
	db_params_text(&p, object);
	db_params_text(&p, details_json);
	return db_exec_cmd(db, "INSERT INTO audit_log (actor, action, object, details) VALUES ($1, $2, $3, $4)",
			   &p);
}

int db_audit_append_once(struct db *db, const char *actor, const char *action, const char *object,
			 const char *details_json, bool *out_written)
{
	char last[DB_NAME_MAX], sha[65];
	const char *const actions[] = { action };
	int rc;
	*out_written = false;
	if ((rc = db_begin(db)))
		return rc;
	/* "hsmcu" as a big-endian integer (the profiles' record takes "hsmcp"): the check and the insert of every
	 * frontend in turn, so two that meet one signer process at once write one row */
	if (!(rc = db_exec_cmd(db, "SELECT pg_advisory_xact_lock(448613147509)", NULL)) &&
	    !(rc = db_audit_last_sha256(db, object, actions, 1, last, sha)) && !last[0])
		rc = db_audit_append(db, actor, action, object, details_json);
	if (!rc && !(rc = db_commit(db)))
		*out_written = !last[0];
	if (rc)
		db_rollback(db);
	return rc;
}

int db_audit_last_sha256(struct db *db, const char *object, const char *const *actions, size_t n_actions,
			 char out_action[DB_NAME_MAX], char out_sha[65])
{
	static const char *const names[] = { "action", "sha" };
	struct db_params p = {0};
	struct dbuf list;
	PGresult *r = NULL;
	int cols[2], rc;
	out_action[0] = out_sha[0] = '\0';
	dbuf_init(&list);
	for (size_t i = 0; i < n_actions; i++) {
		dbuf_add(&list, actions[i], strlen(actions[i]));
		dbuf_add(&list, i + 1 < n_actions ? "\n" : "", i + 1 < n_actions ? 1 : 0);
	}
	dbuf_add(&list, "", 1);
	if (list.failed) {
		dbuf_free(&list);
		return db_fail(db, HSMCA_ERR_NOMEM, "out of memory");
	}
	db_params_text(&p, object);
	db_params_text(&p, (const char *)list.data);
	/* by object first (audit_log_object); the newest of the actions */
	rc = db_exec(db,
		     "SELECT action, coalesce(details::jsonb->>'sha256', '') AS sha FROM audit_log WHERE object = $1 "
		     "AND action = ANY (string_to_array($2, E'\\n')) ORDER BY id DESC LIMIT 1",
		     &p, DB_FMT_TEXT, &r);
	dbuf_free(&list);
	if (rc || (rc = db_columns(db, r, names, cols, 2)))
		goto out;
	if (PQntuples(r) == 1 && ((rc = db_copy_text(db, r, 0, cols[0], out_action, DB_NAME_MAX)) ||
				  (rc = db_copy_text(db, r, 0, cols[1], out_sha, 65))))
		goto out;
out:
	PQclear(r);
	return rc;
}

static int64_t be64(const char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | (uint8_t)p[i];
	return (int64_t)v;
}

/* PostgreSQL binary timestamptz (microseconds since 2000-01-01 UTC) as the canonical text. */
static bool audit_ts_text(int64_t pg_us, char out[AUDIT_TS_LEN + 1])
{
	int64_t sec = pg_us / USEC_PER_SEC, us = pg_us % USEC_PER_SEC;
	struct tm tm;
	time_t t;

	if (us < 0) {
		us += USEC_PER_SEC;
		sec--;
	}
	t = (time_t)(sec + PG_EPOCH_UNIX);
	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
		return false;
	return snprintf(out, AUDIT_TS_LEN + 1, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
			tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)us) == AUDIT_TS_LEN;
}

static bool audit_field(EVP_MD_CTX *md, const void *v, size_t len)
{
	char prefix[24];
	int n = snprintf(prefix, sizeof prefix, "%zu:", len);

	return EVP_DigestUpdate(md, prefix, (size_t)n) && EVP_DigestUpdate(md, v, len) &&
	       EVP_DigestUpdate(md, "\n", 1);
}

/* row_hash of a row as the canonical bytes say (row: binary result). false on an OpenSSL failure. */
static bool audit_row_hash(const PGresult *r, const int *c, const char *ts, uint8_t out[DB_AUDIT_HASH_LEN])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char id[24], prev_hex[2 * DB_AUDIT_HASH_LEN + 1];
	const uint8_t *prev = (const uint8_t *)PQgetvalue(r, 0, c[AC_PREV]);
	unsigned int len = 0;
	bool ok;

	snprintf(id, sizeof id, "%" PRId64, be64(PQgetvalue(r, 0, c[AC_ID])));
	for (int i = 0; i < DB_AUDIT_HASH_LEN; i++)
		snprintf(prev_hex + 2 * i, 3, "%02x", prev[i]);
	ok = md != NULL && EVP_DigestInit_ex(md, EVP_sha256(), NULL) &&
	     EVP_DigestUpdate(md, AUDIT_CANON_TAG, strlen(AUDIT_CANON_TAG)) && audit_field(md, id, strlen(id)) &&
	     audit_field(md, ts, strlen(ts));
	for (int f = AC_ACTOR; ok && f <= AC_DETAILS; f++)
		ok = audit_field(md, PQgetvalue(r, 0, c[f]), (size_t)PQgetlength(r, 0, c[f]));
	ok = ok && audit_field(md, prev_hex, strlen(prev_hex)) && EVP_DigestFinal_ex(md, out, &len) &&
	     len == DB_AUDIT_HASH_LEN;
	EVP_MD_CTX_free(md);
	return ok;
}

static void audit_bad(struct audit_walk *w, int64_t id, const char *why)
{
	w->bad_id = id;
	w->broken = 1;
	snprintf(w->why, sizeof w->why, "row %" PRId64 ": %s", id, why);
}

/* Checks one row (a single-row binary result) against the walk so far. */
static int audit_check_row(struct db *db, struct audit_walk *w, const PGresult *r)
{
	const int *c = w->cols;
	uint8_t hash[DB_AUDIT_HASH_LEN];
	char ts[AUDIT_TS_LEN + 1];
	int64_t id;

	if (!w->have_cols) {
		int rc = db_columns(db, r, audit_cols, w->cols, AC_N);
		if (rc)
			return rc;
		w->have_cols = true;
	}
	for (int f = 0; f < AC_N; f++)
		if (PQgetisnull(r, 0, c[f]))
			return db_fail(db, HSMCA_ERR_STATE, "audit_log: NULL in column %s", audit_cols[f]);
	if (PQgetlength(r, 0, c[AC_ID]) != 8 || PQgetlength(r, 0, c[AC_TS]) != 8)
		return db_fail(db, HSMCA_ERR_STATE, "audit_log: unexpected binary format");
	id = be64(PQgetvalue(r, 0, c[AC_ID]));
	if (PQgetlength(r, 0, c[AC_PREV]) != DB_AUDIT_HASH_LEN || PQgetlength(r, 0, c[AC_ROW]) != DB_AUDIT_HASH_LEN)
		audit_bad(w, id, "a hash is not 32 bytes");
	else if (id != w->next_id)
		audit_bad(w, id, w->next_id == 1 ? "the chain does not start at row 1 (rows missing before it)"
						 : "rows are missing before it (the ids are not consecutive)");
	else if (memcmp(PQgetvalue(r, 0, c[AC_PREV]), w->prev, DB_AUDIT_HASH_LEN) != 0)
		audit_bad(w, id, id == 1 ? "prev_hash of the first row is not zero"
					 : "prev_hash does not match the previous row's row_hash");
	else if (!audit_ts_text(be64(PQgetvalue(r, 0, c[AC_TS])), ts))
		audit_bad(w, id, "timestamp out of range");
	else if (!audit_row_hash(r, c, ts, hash))
		return db_fail(db, HSMCA_ERR_CRYPTO, "audit verify: SHA-256 failed");
	else if (memcmp(hash, PQgetvalue(r, 0, c[AC_ROW]), DB_AUDIT_HASH_LEN) != 0)
		audit_bad(w, id, "row_hash does not match the row's contents (the row was changed)");
	else if (w->o && w->o->expect_id == id && memcmp(hash, w->o->expect_hash, DB_AUDIT_HASH_LEN) != 0)
		audit_bad(w, id, "its hash is not the expected one (the log was rewritten since that head was logged)");
	if (!w->broken) {
		memcpy(w->prev, PQgetvalue(r, 0, c[AC_ROW]), DB_AUDIT_HASH_LEN);
		w->next_id = id + 1;
	}
	return 0;
}

/* Streams the rows of sql (single-row mode, binary) through row(db, ctx, result) until it returns non-zero
 * or *stop is set (the rest is drained unread). */
static int audit_stream(struct db *db, const char *sql, const struct db_params *p,
			int (*row)(struct db *db, void *ctx, const PGresult *r), void *ctx, const int64_t *stop)
{
	PGresult *r;
	int rc = 0;

	if (!PQsendQueryParams(db->conn, sql, p ? p->n : 0, NULL, p ? p->val : NULL, p ? p->len : NULL,
			       p ? p->fmt : NULL, DB_FMT_BINARY) ||
	    !PQsetSingleRowMode(db->conn))
		rc = db_error_from(db, NULL, "audit verify");
	while ((r = PQgetResult(db->conn)) != NULL) { /* always drain, also after an error */
		ExecStatusType st = PQresultStatus(r);

		if (rc == 0 && st == PGRES_SINGLE_TUPLE && *stop == 0)
			rc = row(db, ctx, r);
		else if (rc == 0 && st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK)
			rc = db_error_from(db, r, "audit verify");
		PQclear(r);
	}
	return rc;
}

static int audit_row_cb(struct db *db, void *ctx, const PGresult *r)
{
	return audit_check_row(db, ctx, r);
}

/* The whole log in id order through audit_check_row. */
static int audit_walk_rows(struct db *db, struct audit_walk *w)
{
	return audit_stream(db,
			    "SELECT id, ts, actor, action, object, details, prev_hash, row_hash FROM audit_log ORDER BY id",
			    NULL, audit_row_cb, w, &w->broken);
}

enum { CC_ID, CC_AUDIT_ID, CC_HEAD, CC_LABEL, CC_SIG, CC_ROW, CC_TS, CC_N };
static const char *const ckpt_cols[CC_N] = {"id", "audit_id", "head_hash", "key_label", "signature", "row_hash", "ts"};

struct ckpt_walk {
	struct audit_walk *w;
	EVP_PKEY *const *keys;
	const char *const *labels; /* parallel to keys; NULL entries apply to every checkpoint */
	unsigned n_keys;
	struct db_audit_report *rep;
	int cols[CC_N];
	bool have_cols;
	/* the first checkpoint whose signature does not verify (the walk goes on past it: see ckpt_forged) */
	int64_t forged_id, forged_row;
	char forged_why[DB_ERR_MAX];
};

static void ckpt_bad(struct audit_walk *w, int64_t ckpt_id, int64_t row, const char *why)
{
	char text[DB_ERR_MAX];

	snprintf(text, sizeof text, "checkpoint %" PRId64 ": %s", ckpt_id, why);
	audit_bad(w, row, text);
}

/* A checkpoint whose signature does not verify proves nothing, so it does not stop the walk: the checkpoints
 * after it are still checked (a rewrite they catch is reported first), and the report counts every forged one;
 * the first is named at the end (audit_walk_checkpoints). */
static void ckpt_forged(struct ckpt_walk *cw, int64_t ckpt_id, int64_t row, const char *why)
{
	if (cw->rep->forged_checkpoints++ == 0) {
		cw->forged_id = ckpt_id;
		cw->forged_row = row;
		snprintf(cw->forged_why, sizeof cw->forged_why, "%s", why);
	}
}

/* The checkpoint's signature over (row, head_hash) under the certificates given for its key: 0, HSMCA_ERR_AUTH
 * (*tried: how many certificates were for its key), or another error (db_fail'd). */
static int ckpt_signature(struct db *db, struct ckpt_walk *cw, const PGresult *r, int64_t row, unsigned *tried)
{
	const int *c = cw->cols;
	uint8_t digest[CHECKPOINT_HASH_LEN];
	const char *label = PQgetvalue(r, 0, c[CC_LABEL]);
	size_t label_len = (size_t)PQgetlength(r, 0, c[CC_LABEL]);
	int rc;

	if ((rc = checkpoint_digest(row, (const uint8_t *)PQgetvalue(r, 0, c[CC_HEAD]), digest)))
		return db_fail(db, rc, "audit verify: SHA-256 failed");
	rc = HSMCA_ERR_AUTH;
	for (unsigned k = 0; k < cw->n_keys && rc == HSMCA_ERR_AUTH; k++) {
		const char *want = cw->labels ? cw->labels[k] : NULL;
		if (want && (strlen(want) != label_len || memcmp(want, label, label_len) != 0))
			continue;
		(*tried)++;
		rc = checkpoint_verify(cw->keys[k], digest, (const uint8_t *)PQgetvalue(r, 0, c[CC_SIG]),
				       (size_t)PQgetlength(r, 0, c[CC_SIG]));
	}
	if (rc && rc != HSMCA_ERR_AUTH)
		return db_fail(db, rc, "audit verify: signature check failed in OpenSSL");
	return rc;
}

/* One checkpoint joined with its row's row_hash (NULL: the row is gone). The walk has already checked every
 * row's row_hash against its contents, so the stored row_hash stands for the row. With certificates, the
 * signature is checked first: a checkpoint that does not verify is a forged (or damaged) one, whatever row it
 * names, not evidence about the log. */
static int ckpt_check(struct db *db, void *ctx, const PGresult *r)
{
	struct ckpt_walk *cw = ctx;
	const int *c = cw->cols;
	int64_t id, row;
	int rc;

	if (!cw->have_cols) {
		if ((rc = db_columns(db, r, ckpt_cols, cw->cols, CC_N)))
			return rc;
		cw->have_cols = true;
	}
	for (int f = 0; f < CC_ROW; f++)
		if (PQgetisnull(r, 0, c[f]))
			return db_fail(db, HSMCA_ERR_STATE, "audit_checkpoints: NULL in column %s", ckpt_cols[f]);
	if (PQgetlength(r, 0, c[CC_ID]) != 8 || PQgetlength(r, 0, c[CC_AUDIT_ID]) != 8 ||
	    PQgetlength(r, 0, c[CC_HEAD]) != DB_AUDIT_HASH_LEN)
		return db_fail(db, HSMCA_ERR_STATE, "audit_checkpoints: unexpected binary format");
	id = be64(PQgetvalue(r, 0, c[CC_ID]));
	row = be64(PQgetvalue(r, 0, c[CC_AUDIT_ID]));
	cw->rep->checkpoints++;
	if (cw->n_keys > 0) {
		unsigned tried = 0;
		rc = ckpt_signature(db, cw, r, row, &tried);
		if (rc == HSMCA_ERR_AUTH && tried == 0) {
			/* counted like a forged one, and the walk goes on: the frontend's role can store a checkpoint
			 * under any label, and stopping here left every later checkpoint (one that shows the owner
			 * rewrote the log, say) unchecked, the report naming the wrong cause */
			char why[DB_ERR_MAX];
			snprintf(why, sizeof why, "no checkpoint certificate was given for its key %.*s", PQgetlength(r, 0, c[CC_LABEL]) > 64 ? 64 : PQgetlength(r, 0, c[CC_LABEL]),
				 PQgetvalue(r, 0, c[CC_LABEL]));
			ckpt_forged(cw, id, row, why);
			return 0;
		}
		if (rc == HSMCA_ERR_AUTH) {
			ckpt_forged(cw, id, row,
				    tried == 1 ? "the signature does not verify under the checkpoint certificate (a forged "
						 "or damaged checkpoint)"
					       : "the signature does not verify under any of the checkpoint certificates (a "
						 "forged or damaged checkpoint)");
			return 0;
		}
		if (rc)
			return rc;
	}
	if (PQgetisnull(r, 0, c[CC_ROW]) || row > cw->rep->rows) {
		ckpt_bad(cw->w, id, row, "the row is gone (rows were cut off the log)");
		return 0;
	}
	if (memcmp(PQgetvalue(r, 0, c[CC_ROW]), PQgetvalue(r, 0, c[CC_HEAD]), DB_AUDIT_HASH_LEN) != 0) {
		ckpt_bad(cw->w, id, row, "the row's hash is not the one signed (the log was rewritten)");
		return 0;
	}
	if (row > cw->rep->last_checkpointed) {
		cw->rep->last_checkpointed = row;
		int n = PQgetisnull(r, 0, c[CC_TS]) ? 0 : PQgetlength(r, 0, c[CC_TS]);
		snprintf(cw->rep->last_checkpointed_ts, sizeof cw->rep->last_checkpointed_ts, "%.*s",
			 n < (int)sizeof cw->rep->last_checkpointed_ts ? n : 0, PQgetvalue(r, 0, c[CC_TS]));
	}
	return 0;
}

static int audit_walk_checkpoints(struct db *db, struct audit_walk *w, const struct db_audit_opts *o,
				  struct db_audit_report *rep)
{
	struct ckpt_walk cw = {.w = w, .keys = o ? o->checkpoint_keys : NULL, .labels = o ? o->checkpoint_labels : NULL,
			       .n_keys = o ? o->n_checkpoint_keys : 0, .rep = rep};

	int rc = audit_stream(db,
			      "SELECT c.id, c.audit_id, c.head_hash, c.key_label, c.signature, a.row_hash, "
			      "to_char(a.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS ts "
			      "FROM audit_checkpoints c LEFT JOIN audit_log a ON a.id = c.audit_id ORDER BY c.id",
			      NULL, ckpt_check, &cw, &w->broken);
	if (rc == 0 && !w->broken && rep->forged_checkpoints > 0) {
		char why[DB_ERR_MAX];
		int64_t more = rep->forged_checkpoints - 1;
		if (more)
			snprintf(why, sizeof why, "%.120s; and %" PRId64 " more checkpoint%s whose signature does not "
				 "verify (every other checkpoint was checked)", cw.forged_why, more, more == 1 ? "" : "s");
		else
			snprintf(why, sizeof why, "%s", cw.forged_why);
		ckpt_bad(w, cw.forged_id, cw.forged_row, why);
	}
	return rc;
}

/* The chain head (kept by the trigger) must be the last row: catches rows cut off the end. */
static int audit_check_head(struct db *db, struct audit_walk *w)
{
	int64_t last = w->next_id - 1, head_id;
	uint8_t head_hash[DB_AUDIT_HASH_LEN];
	char why[DB_ERR_MAX];
	int rc = db_audit_head(db, &head_id, head_hash);

	if (rc)
		return rc;
	if (head_id > last) {
		snprintf(why, sizeof why, "missing: the chain head is at row %" PRId64 ", the log ends at row %" PRId64,
			 head_id, last);
		audit_bad(w, last + 1, why);
	} else if (head_id < last) {
		snprintf(why, sizeof why, "beyond the chain head (row %" PRId64 "): not appended through the trigger",
			 head_id);
		audit_bad(w, head_id + 1, why);
	} else if (memcmp(head_hash, w->prev, DB_AUDIT_HASH_LEN) != 0) {
		audit_bad(w, last, "its row_hash differs from the chain head's");
	}
	return 0;
}

/* A walk's verdict: HSMCA_ERR_AUTH only for a row found broken; a query the server refused for want of
 * privilege (42501, which db_error_from makes HSMCA_ERR_AUTH too) is the caller's role, not tampering */
static int audit_query_rc(int rc, const struct audit_walk *w)
{
	return rc == HSMCA_ERR_AUTH && !w->broken ? HSMCA_ERR_CONFIG : rc;
}

int db_audit_verify(struct db *db, const struct db_audit_opts *o, struct db_audit_report *rep, int64_t *out_bad_id,
		    char *why)
{
	struct audit_walk w = {.next_id = 1, .o = o};
	struct db_audit_report own = {0};
	bool own_tx = PQtransactionStatus(db->conn) == PQTRANS_IDLE;
	int rc;

	if (rep == NULL)
		rep = &own;
	*rep = own;
	*out_bad_id = 0;
	if (why)
		why[0] = '\0';
	/* one snapshot for the rows and the head, so concurrent appends do not look like damage */
	if (own_tx && (rc = db_exec_cmd(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL)))
		return rc;
	if ((rc = audit_walk_rows(db, &w)))
		goto out;
	if (!w.broken && (rc = audit_check_head(db, &w)))
		goto out;
	rep->rows = w.next_id - 1;
	if (!w.broken && o && o->expect_id > rep->rows)
		audit_bad(&w, o->expect_id, "the expected row is gone (rows were cut off the log)");
	if (!w.broken && (rc = audit_walk_checkpoints(db, &w, o, rep)))
		goto out;
	if (w.broken) {
		*out_bad_id = w.bad_id;
		db_err_copy(why, w.why);
		db_fail(db, HSMCA_ERR_AUTH, "audit chain broken: %s", w.why);
		rc = HSMCA_ERR_AUTH;
	}
out:
	if (own_tx)
		db_rollback(db); /* read only: nothing to commit */
	if (rc && !w.broken)
		db_err_copy(why, db->err);
	return audit_query_rc(rc, &w);
}

int db_audit_head(struct db *db, int64_t *out_last_id, uint8_t out_hash[DB_AUDIT_HASH_LEN])
{
	static const char *const names[] = {"last_id", "last_hash"};
	PGresult *r = NULL;
	int cols[2], rc;

	rc = db_exec(db, "SELECT last_id, last_hash FROM audit_chain_head", NULL, DB_FMT_BINARY, &r);
	if (rc || (rc = db_columns(db, r, names, cols, 2)))
		goto out;
	if (PQntuples(r) != 1 || PQgetlength(r, 0, cols[0]) != 8 ||
	    PQgetlength(r, 0, cols[1]) != DB_AUDIT_HASH_LEN) {
		rc = db_fail(db, HSMCA_ERR_STATE, "audit_chain_head: missing or malformed");
		goto out;
	}
	*out_last_id = be64(PQgetvalue(r, 0, cols[0]));
	memcpy(out_hash, PQgetvalue(r, 0, cols[1]), DB_AUDIT_HASH_LEN);
out:
	PQclear(r);
	return rc;
}

int db_checkpoint_insert(struct db *db, int64_t audit_id, const uint8_t head_hash[DB_AUDIT_HASH_LEN],
			 const char *key_label, const uint8_t *sig, size_t sig_len)
{
	struct db_params p = {0};
	char id[24];

	snprintf(id, sizeof id, "%" PRId64, audit_id);
	db_params_text(&p, id);
	db_params_bin(&p, head_hash, DB_AUDIT_HASH_LEN);
	db_params_text(&p, key_label);
	db_params_bin(&p, sig, sig_len);
	return db_exec_cmd(db,
			   "INSERT INTO audit_checkpoints (audit_id, head_hash, key_label, signature) "
			   "VALUES ($1::bigint, $2, $3, $4)",
			   &p);
}

/* The highest checkpoint row id after after_id (after_id if none): one entry of the primary key, read backwards */
static int db_checkpoint_max_id(struct db *db, int64_t after_id, int64_t *out)
{
	PGresult *r = NULL;
	struct db_params p = {0};
	char after[24];
	snprintf(after, sizeof after, "%" PRId64, after_id);
	db_params_text(&p, after);
	*out = after_id;
	int rc = db_exec(db, "SELECT max(id) FROM audit_checkpoints WHERE id > $1::bigint", &p, DB_FMT_BINARY, &r);
	if (rc)
		return rc;
	if (PQntuples(r) != 1 || PQnfields(r) != 1 || (!PQgetisnull(r, 0, 0) && PQgetlength(r, 0, 0) != 8))
		rc = db_fail(db, HSMCA_ERR_STATE, "audit_checkpoints: unexpected max(id)");
	else if (!PQgetisnull(r, 0, 0))
		*out = be64(PQgetvalue(r, 0, 0));
	PQclear(r);
	return rc;
}

/* The rows (id, audit_id, head_hash, signature) of r into out[0..max), *out_n of them. */
static int ckpt_rows(struct db *db, const PGresult *r, struct db_checkpoint *out, size_t max, size_t *out_n)
{
	for (int i = 0; i < PQntuples(r) && (size_t)i < max; i++) {
		size_t n = (size_t)PQgetlength(r, i, 3);
		if (PQnfields(r) != 4 || PQgetlength(r, i, 0) != 8 || PQgetlength(r, i, 1) != 8 ||
		    PQgetlength(r, i, 2) != DB_AUDIT_HASH_LEN || n > DB_CHECKPOINT_SIG_MAX)
			return db_fail(db, HSMCA_ERR_STATE, "audit_checkpoints: unexpected result");
		struct db_checkpoint *c = &out[(*out_n)++];
		c->id = be64(PQgetvalue(r, i, 0));
		c->audit_id = be64(PQgetvalue(r, i, 1));
		memcpy(c->hash, PQgetvalue(r, i, 2), DB_AUDIT_HASH_LEN);
		memcpy(c->sig, PQgetvalue(r, i, 3), n);
		c->sig_len = n;
	}
	return 0;
}

int db_checkpoint_newer(struct db *db, const char *key_label, int64_t after_id, struct db_checkpoint *out, size_t max,
			size_t *out_n, int64_t *out_max_id)
{
	PGresult *r = NULL;
	struct db_params p = {0};
	char after[24], upto[24], lim[24];
	int64_t max_id;
	*out_n = 0;
	*out_max_id = after_id;
	int rc = db_checkpoint_max_id(db, after_id, &max_id);
	if (rc || max_id == after_id)
		return rc; /* nothing stored since after_id: the usual pass */
	snprintf(after, sizeof after, "%" PRId64, after_id);
	snprintf(upto, sizeof upto, "%" PRId64, max_id);
	snprintf(lim, sizeof lim, "%zu", max);
	db_params_text(&p, key_label);
	if (after_id != 0)
		db_params_text(&p, upto);
	db_params_text(&p, lim);
	if (after_id != 0)
		db_params_text(&p, after);
	/* Every row (after_id 0): the key's newest through audit_checkpoints_newest (018), max of them read. Else
	 * the rows stored since after_id, a range of the primary key that is normally one or two rows long, sorted;
	 * MATERIALIZED, so that no plan walks the key's rows in audit_id order looking for max rows after after_id,
	 * which reads all of them when fewer are newer (the statement is prepared: a generic plan does not know
	 * after_id), and stops at max_id: *out_max_id must not pass a row it did not see. (A newest row stored
	 * after max_id was read is looked at again at the next call, which the caller allows for.) */
	rc = db_exec(db,
		     after_id == 0
			     ? "SELECT id, audit_id, head_hash, signature FROM audit_checkpoints WHERE key_label = $1 "
			       "ORDER BY audit_id DESC, id DESC LIMIT $2::int"
			     : "WITH fresh AS MATERIALIZED (SELECT id, audit_id, head_hash, signature, key_label "
			       "FROM audit_checkpoints WHERE id > $4::bigint AND id <= $2::bigint) "
			       "SELECT id, audit_id, head_hash, signature FROM fresh WHERE key_label = $1 "
			       "ORDER BY audit_id DESC, id DESC LIMIT $3::int",
		     &p, DB_FMT_BINARY, &r);
	if (rc)
		return rc;
	if ((rc = ckpt_rows(db, r, out, max, out_n)) == 0)
		*out_max_id = max_id;
	PQclear(r);
	return rc;
}

int db_checkpoint_older(struct db *db, const char *key_label, int64_t before_audit_id, int64_t before_id,
			struct db_checkpoint *out, size_t max, size_t *out_n)
{
	PGresult *r = NULL;
	struct db_params p = {0};
	char audit_id[24], id[24], lim[24];
	*out_n = 0;
	snprintf(audit_id, sizeof audit_id, "%" PRId64, before_audit_id);
	snprintf(id, sizeof id, "%" PRId64, before_id);
	snprintf(lim, sizeof lim, "%zu", max);
	db_params_text(&p, key_label);
	db_params_text(&p, audit_id);
	db_params_text(&p, id);
	db_params_text(&p, lim);
	/* the next page of audit_checkpoints_newest (018) after (audit_id, id), in its order */
	int rc = db_exec(db,
			 "SELECT id, audit_id, head_hash, signature FROM audit_checkpoints WHERE key_label = $1 "
			 "AND (audit_id, id) < ($2::bigint, $3::bigint) ORDER BY audit_id DESC, id DESC LIMIT $4::int",
			 &p, DB_FMT_BINARY, &r);
	if (rc == 0)
		rc = ckpt_rows(db, r, out, max, out_n);
	PQclear(r);
	return rc;
}

int db_audit_verify_range(struct db *db, int64_t from_id, const uint8_t from_hash[DB_AUDIT_HASH_LEN], int64_t to_id,
			  const uint8_t to_hash[DB_AUDIT_HASH_LEN], int64_t *out_bad_id, char *why)
{
	struct audit_walk w = {.next_id = from_id + 1};
	struct db_params p = {0};
	char from[24], to[24];
	int rc;

	*out_bad_id = 0;
	why[0] = '\0';
	memcpy(w.prev, from_hash, DB_AUDIT_HASH_LEN);
	snprintf(from, sizeof from, "%" PRId64, from_id);
	snprintf(to, sizeof to, "%" PRId64, to_id);
	db_params_text(&p, from);
	db_params_text(&p, to);
	/* as long as the range (the whole chain at a checkpoint thread's first pass): the service's statement
	 * timeout (db_set_service_timeout) is for requests, not for this walk */
	if ((rc = db_exec_cmd(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", NULL)) ||
	    (rc = db_exec_cmd(db, "SELECT pg_catalog.set_config('statement_timeout', '0', true)", NULL))) {
		db_err_copy(why, db->err);
		db_rollback(db);
		return audit_query_rc(rc, &w);
	}
	rc = audit_stream(db,
			  "SELECT id, ts, actor, action, object, details, prev_hash, row_hash FROM audit_log "
			  "WHERE id > $1::bigint AND id <= $2::bigint ORDER BY id",
			  &p, audit_row_cb, &w, &w.broken);
	db_rollback(db); /* read only */
	if (rc) {
		db_err_copy(why, db->err);
		return audit_query_rc(rc, &w);
	}
	if (!w.broken && w.next_id - 1 != to_id)
		audit_bad(&w, w.next_id, "missing: the rows end before the head");
	else if (!w.broken && memcmp(w.prev, to_hash, DB_AUDIT_HASH_LEN) != 0)
		audit_bad(&w, to_id, "its row_hash differs from the chain head's");
	if (!w.broken)
		return 0;
	*out_bad_id = w.bad_id;
	db_err_copy(why, w.why);
	return HSMCA_ERR_AUTH;
}
