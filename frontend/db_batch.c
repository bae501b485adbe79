/* Batched intents and issued certificates (see db_batch.h). Values travel as one-dimensional PostgreSQL arrays
 * in ordinary parameters (still parameterised SQL), in the binary format of array_recv: no quoting or escaping
 * of text, bytea as its bytes, no hex to encode here or decode there (text arrays were ~5% of the committer's
 * backend, building them ~4% of the frontend). Format, integers big-endian: ndim (1), has-nulls flag, element
 * type OID, the one dimension's length and lower bound (1), then per element its length (-1: NULL) and bytes;
 * text elements are UTF-8 as sent, bigint elements 8 bytes. */
#include "db_batch.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "db_priv.h"
#include "der.h"

#define DB_BATCH_COLS 14
#define DB_BATCH_SHORT "hsmca batch: results whose row was not pending" /* DB_BATCH_SQL_ISSUED_COUNT */
#define DB_TIME_DEC_MAX 24
#define DB_ARR_HEADER 20 /* ndim, flags, element OID, length, lower bound */
#define DB_OID_BYTEA 17
#define DB_OID_INT8 20
#define DB_OID_TEXT 25

struct db_array {
	struct dbuf b;  /* header (filled in by db_arr_bind) then the elements */
	uint32_t oid;   /* element type */
	uint32_t count; /* elements */
	bool nulls;
};

struct db_arrays {
	struct db_array a[DB_BATCH_COLS];
	size_t n;
};

/* n arrays with the element types oids[0..n) */
static void db_arr_init(struct db_arrays *x, const uint32_t *oids, size_t n)
{
	static const uint8_t header[DB_ARR_HEADER] = { 0 };
	x->n = n;
	for (size_t i = 0; i < n; i++) {
		x->a[i] = (struct db_array){ .oid = oids[i] };
		dbuf_init(&x->a[i].b);
		dbuf_add(&x->a[i].b, header, sizeof header);
	}
}

static void db_arr_free(struct db_arrays *x)
{
	for (size_t i = 0; i < x->n; i++)
		dbuf_free(&x->a[i].b);
}

/* An element of len bytes; p NULL is SQL NULL. */
static void db_arr_elem(struct db_array *a, const void *p, size_t len)
{
	a->count++;
	if (!p) {
		a->nulls = true;
		dbuf_add_u32(&a->b, UINT32_MAX); /* -1 */
		return;
	}
	dbuf_add_u32(&a->b, (uint32_t)len); /* len <= DB_BLOB_MAX: callers check */
	dbuf_add(&a->b, p, len);
}

static void db_arr_text(struct db_array *a, const char *s)
{
	db_arr_elem(a, s, s ? strlen(s) : 0);
}

static void db_arr_i64(struct db_array *a, int64_t v)
{
	uint8_t be[8];
	for (int i = 0; i < 8; i++)
		be[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
	db_arr_elem(a, be, sizeof be);
}

static void db_arr_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* Writes every array's header and binds them in order as binary $1..$n. An array larger than DB_BLOB_MAX
 * fails the batch (HSMCA_ERR_LIMIT): the committer then stores its items one by one. */
static int db_arr_bind(struct db *db, struct db_arrays *x, struct db_params *p)
{
	for (size_t i = 0; i < x->n; i++) {
		struct db_array *a = &x->a[i];
		if (a->b.failed)
			return db_fail(db, HSMCA_ERR_NOMEM, "batch: out of memory");
		if (a->b.len > DB_BLOB_MAX)
			return db_fail(db, HSMCA_ERR_LIMIT, "batch: an array of more than %d bytes", DB_BLOB_MAX);
		db_arr_put32(a->b.data, 1);
		db_arr_put32(a->b.data + 4, a->nulls ? 1 : 0);
		db_arr_put32(a->b.data + 8, a->oid);
		db_arr_put32(a->b.data + 12, a->count);
		db_arr_put32(a->b.data + 16, 1);
		db_params_bin(p, a->b.data, a->b.len);
	}
	return 0;
}

/* Runs a statement returning one row of counts, which must equal want[0..k-1]. */
static int db_batch_exec(struct db *db, const char *sql, const struct db_params *p, const size_t *want, int k)
{
	PGresult *r = NULL;
	int rc = db_exec(db, sql, p, DB_FMT_TEXT, &r);
	if (rc)
		return rc;
	bool ok = PQntuples(r) == 1 && PQnfields(r) == k;
	for (int i = 0; ok && i < k; i++) {
		char w[DB_TIME_DEC_MAX];
		snprintf(w, sizeof w, "%zu", want[i]);
		ok = strcmp(PQgetvalue(r, 0, i), w) == 0;
	}
	if (!ok)
		rc = db_fail(db, HSMCA_ERR_STATE, "batch: %zu/%zu items but other row counts", want[0], want[1]);
	PQclear(r);
	return rc;
}

/* db_batch_exec's error: the statement's own refusal of a short UPDATE (DB_BATCH_SQL_ISSUED_COUNT) is a
 * state error, not the cast's "invalid input syntax" (class 22) it travels as. */
static int db_batch_error(struct db *db, int rc)
{
	const char *m = strstr(db->err, DB_BATCH_SHORT);
	if (rc == 0 || !m)
		return rc;
	char line[DB_ERR_MAX];
	db_err_copy(line, m);
	size_t n = strlen(line);
	if (n && line[n - 1] == '"')
		line[n - 1] = '\0';
	return db_fail(db, HSMCA_ERR_STATE, "%s", line);
}

enum { BI_SERIAL, BI_ISSUER, BI_SUBJECT, BI_SANS, BI_NB, BI_NA, BI_PROFILE, BI_REQUESTER, BI_TBS, BI_RENEWS,
       BI_ACTOR, BI_DETAILS, BI_TOKEN, BI_MAC, BI_N };

/* The intents' columns as arrays, each item validated as db_cert_insert_pending and db_audit_append do. */
static int db_batch_intents(struct db *db, struct db_arrays *x, const struct db_batch_intent *const *v, size_t n)
{
	static const uint32_t oids[BI_N] = { DB_OID_TEXT, DB_OID_TEXT, DB_OID_TEXT, DB_OID_TEXT, DB_OID_INT8,
					     DB_OID_INT8, DB_OID_TEXT, DB_OID_TEXT, DB_OID_BYTEA, DB_OID_TEXT,
					     DB_OID_TEXT, DB_OID_TEXT, DB_OID_BYTEA, DB_OID_BYTEA };
	int rc = 0;
	db_arr_init(x, oids, BI_N);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct db_cert *c = v[i]->cert;
		char serial[DB_SERIAL_HEX_MAX], renews[DB_SERIAL_HEX_MAX];
		if ((rc = db_cert_check(db, c, serial, renews)) ||
		    (rc = db_audit_check(db, v[i]->actor, "certificate.requested", serial, v[i]->details)))
			break;
		db_arr_text(&x->a[BI_SERIAL], serial);
		db_arr_text(&x->a[BI_ISSUER], c->issuer);
		db_arr_text(&x->a[BI_SUBJECT], c->subject);
		db_arr_text(&x->a[BI_SANS], c->sans ? c->sans : "");
		db_arr_i64(&x->a[BI_NB], (int64_t)c->not_before);
		db_arr_i64(&x->a[BI_NA], (int64_t)c->not_after);
		db_arr_text(&x->a[BI_PROFILE], c->profile);
		db_arr_text(&x->a[BI_REQUESTER], c->requester);
		db_arr_elem(&x->a[BI_TBS], c->tbs, c->tbs_len);
		db_arr_text(&x->a[BI_RENEWS], c->renews_serial_hex ? renews : NULL);
		db_arr_text(&x->a[BI_ACTOR], v[i]->actor);
		db_arr_text(&x->a[BI_DETAILS], v[i]->details);
		db_arr_elem(&x->a[BI_TOKEN], c->authsign_token, c->authsign_token ? DB_TOKEN_LEN : 0);
		db_arr_elem(&x->a[BI_MAC], c->intent_mac, DB_MAC_LEN); /* db_cert_check: not NULL */
	}
	return rc;
}

enum { BS_SERIAL, BS_DER, BS_ACTOR, BS_DETAILS, BS_N };

/* The issued results' columns as arrays, validated as db_cert_mark_issued and db_audit_append do. */
static int db_batch_issueds(struct db *db, struct db_arrays *x, const struct db_batch_issued *const *v, size_t n)
{
	static const uint32_t oids[BS_N] = { DB_OID_TEXT, DB_OID_BYTEA, DB_OID_TEXT, DB_OID_TEXT };
	int rc = 0;
	db_arr_init(x, oids, BS_N);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char serial[DB_SERIAL_HEX_MAX];
		if ((rc = db_serial_norm(db, v[i]->serial_hex, serial)) ||
		    (rc = db_audit_check(db, v[i]->actor, "certificate.issued", serial, v[i]->details)))
			break;
		if (!v[i]->der || v[i]->der_len == 0 || v[i]->der_len > DB_BLOB_MAX) {
			rc = db_fail(db, HSMCA_ERR_LIMIT, "der: empty or larger than %d bytes", DB_BLOB_MAX);
			break;
		}
		db_arr_text(&x->a[BS_SERIAL], serial);
		db_arr_elem(&x->a[BS_DER], v[i]->der, v[i]->der_len);
		db_arr_text(&x->a[BS_ACTOR], v[i]->actor);
		db_arr_text(&x->a[BS_DETAILS], v[i]->details);
	}
	return rc;
}

/* The statements' parts. Intents: $1..$14; issued results: $1..$4 alone, $15..$18 after intents. The issued
 * rows are found by joining the unnested (serial, DER) pairs on the serial's unique index, and nothing in
 * the statement may let the planner use the partial index of pending rows: every certificate passes
 * through pending, so that index is mostly dead entries until the next vacuum, and reading them cost 1.2
 * of 3.3 ms for 14 rows with 25,000 such entries. The former "serial_hex = ANY ($1) AND status =
 * 'pending'" did that, and so did "status = 'pending'" in the join once the prepared statement went to
 * its generic plan (0.9 of 2.1 ms, auto_explain). So the row is taken only while it has no DER ("der IS
 * NULL": pending or failed, by the table's CHECK), and certificates_guard refuses failed -> issued: a row
 * that is not pending makes the statement fail (or its count fall short, which fails it too: see below),
 * and the batch runs one by one with the single-row statements (status = 'pending'). A generic plan made while the table was small
 * scans it sequentially (1.6 ms at 4,800 rows and growing), so the committer re-plans (db_replan) as its
 * batches add up (commit.c); planning every batch instead cost ~14% of the backend (parse and plan). */
#define DB_BATCH_SQL_INTENTS                                                                                      \
	"c AS (INSERT INTO certificates (serial_hex, issuer, subject, sans, not_before, not_after, profile, "     \
	"requester, tbs, renews_serial, authsign_token, intent_mac) "                                             \
	"SELECT s, i, sub, sa, to_timestamp(nb), to_timestamp(na), pr, rq, t, rn, tk, m "                         \
	"FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[], "    \
	"$8::text[], $9::bytea[], $10::text[], $13::bytea[], $14::bytea[]) "                                      \
	"AS u(s, i, sub, sa, nb, na, pr, rq, t, rn, tk, m) "                                                      \
	"RETURNING 1), "                                                                                          \
	"a AS (INSERT INTO audit_log (actor, action, object, details) "                                           \
	"SELECT ac, 'certificate.requested', s, d FROM unnest($11::text[], $1::text[], $12::text[]) "             \
	"WITH ORDINALITY AS w(ac, s, d, o) ORDER BY o RETURNING 1)"
/* All or nothing. Outside a transaction the statement commits by itself, so a result whose row is no longer
 * without its DER (issued meanwhile, or failed) must not leave the others stored and their audit rows (and
 * its own, for a row it did not change) committed: the count of changed rows is checked inside the
 * statement, and a short one raises (a cast of a text that is not a number; not a constant, so the planner
 * cannot fold it) and PostgreSQL rolls the whole statement back, intents included. The committer then runs
 * the items one by one (commit.c), where each finds out how its own row stands. */
#define DB_BATCH_SQL_ISSUED_COUNT(S)                                                                              \
	"CASE WHEN (SELECT count(*) FROM u) = cardinality(" S "::text[]) THEN (SELECT count(*) FROM u) "          \
	"ELSE ('" DB_BATCH_SHORT ": ' || (cardinality(" S "::text[]) - (SELECT count(*) FROM u)) || ' of ' || "   \
	"cardinality(" S "::text[]))::bigint END"
#define DB_BATCH_SQL_ISSUED(S, D, AC, DT)                                                                         \
	"u AS (UPDATE certificates c SET status = 'issued', der = v.d "                                           \
	"FROM unnest(" S "::text[], " D "::bytea[]) AS v(s, d) "                                                  \
	"WHERE c.serial_hex = v.s AND c.der IS NULL RETURNING 1), "                                               \
	"a2 AS (INSERT INTO audit_log (actor, action, object, details) "                                          \
	"SELECT ac, 'certificate.issued', s, d FROM unnest(" AC "::text[], " S "::text[], " DT "::text[]) "       \
	"WITH ORDINALITY AS w(ac, s, d, o) ORDER BY o RETURNING 1)"

int db_batch_apply(struct db *db, const struct db_batch_intent *const *vi, size_t ni,
		   const struct db_batch_issued *const *vs, size_t ns)
{
	static const char sql_intents[] = "WITH " DB_BATCH_SQL_INTENTS " SELECT (SELECT count(*) FROM c), "
					  "(SELECT count(*) FROM a)";
	static const char sql_issued[] = "WITH " DB_BATCH_SQL_ISSUED("$1", "$2", "$3", "$4")
					 " SELECT " DB_BATCH_SQL_ISSUED_COUNT("$1") ", (SELECT count(*) FROM a2)";
	/* the counts are read in this order, and each CTE runs when its count is first read: the rows to update
	 * (u) are locked before the audit rows take the chain's head (a, a2), in the order recovery's claim takes
	 * them (db_cert_claim_pending), so the two cannot deadlock (db_test claim-order) */
	static const char sql_both[] = "WITH " DB_BATCH_SQL_INTENTS ", " DB_BATCH_SQL_ISSUED("$15", "$16", "$17", "$18")
				       " SELECT (SELECT count(*) FROM c), " DB_BATCH_SQL_ISSUED_COUNT("$15") ", "
				       "(SELECT count(*) FROM a), (SELECT count(*) FROM a2)";
	struct db_arrays xi = { .n = 0 }, xs = { .n = 0 };
	struct db_params p = { 0 };
	size_t want[4] = { ni, ns, ni, ns };
	int rc;

	if (ni + ns == 0 || ni > DB_BATCH_MAX || ns > DB_BATCH_MAX)
		return db_fail(db, HSMCA_ERR_LIMIT, "batch: 1..%d items of each kind", DB_BATCH_MAX);
	if ((ni && (rc = db_batch_intents(db, &xi, vi, ni))) || (ns && (rc = db_batch_issueds(db, &xs, vs, ns))) ||
	    (ni && (rc = db_arr_bind(db, &xi, &p))) || (ns && (rc = db_arr_bind(db, &xs, &p))))
		goto out;
	rc = ni && ns ? db_batch_exec(db, sql_both, &p, want, 4)
	     : ni     ? db_batch_exec(db, sql_intents, &p, (size_t[]){ ni, ni }, 2)
		      : db_batch_exec(db, sql_issued, &p, (size_t[]){ ns, ns }, 2);
	rc = db_batch_error(db, rc);
out:
	db_arr_free(&xi);
	db_arr_free(&xs);
	return rc;
}

int db_batch_lock_rows(struct db *db, const char *const *serials, size_t n)
{
	static const uint32_t oid = DB_OID_TEXT;
	struct db_arrays x = { .n = 0 };
	struct db_params p = { 0 };
	PGresult *r = NULL;
	int rc = 0;

	if (n == 0)
		return 0;
	if (n > DB_BATCH_MAX)
		return db_fail(db, HSMCA_ERR_LIMIT, "batch: 1..%d rows to lock", DB_BATCH_MAX);
	db_arr_init(&x, &oid, 1);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char serial[DB_SERIAL_HEX_MAX];
		if ((rc = db_serial_norm(db, serials[i], serial)) == 0)
			db_arr_text(&x.a[0], serial);
	}
	if (rc || (rc = db_arr_bind(db, &x, &p)))
		goto out;
	/* in the serials' order, so that two committers locking some of the same rows cannot deadlock either */
	rc = db_exec(db, "SELECT 1 FROM certificates WHERE serial_hex = ANY ($1::text[]) ORDER BY serial_hex FOR UPDATE",
		     &p, DB_FMT_TEXT, &r);
	PQclear(r);
out:
	db_arr_free(&x);
	return rc;
}
