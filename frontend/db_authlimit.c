/* Failed-login limits shared by the frontends of one database (schema/021_auth_limits.sql). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_priv.h"

/* A row's failures and reservations that still count ($W: the window in seconds, a parameter) */
#define DB_AUTH_LIVE_F(W) "(CASE WHEN f.last_at >= now() - make_interval(secs => " W "::integer) THEN f.failures ELSE 0 END)"
#define DB_AUTH_LIVE_P(W) "(CASE WHEN f.pending_at >= now() - make_interval(secs => " W "::integer) THEN f.pending ELSE 0 END)"

static void db_auth_num(struct db_params *p, char *buf, size_t len, unsigned v)
{
	snprintf(buf, len, "%u", v);
	db_params_text(p, buf);
}

/* The two tags as parameters $1 and $2 (b may be NULL), a before b in byte order: two statements never take
 * the same two rows in opposite orders. */
static void db_auth_tags(struct db_params *p, const uint8_t *a, const uint8_t *b)
{
	if (b && memcmp(a, b, DB_AUTH_TAG_LEN) > 0) {
		const uint8_t *t = a;
		a = b;
		b = t;
	}
	db_params_bin(p, a, DB_AUTH_TAG_LEN);
	if (b)
		db_params_bin(p, b, DB_AUTH_TAG_LEN);
	else
		db_params_text(p, NULL);
}

int db_auth_prune(struct db *db, unsigned window_s, unsigned known_s)
{
	struct db_params p = { 0 };
	char w[16], k[16];
	db_auth_num(&p, w, sizeof w, window_s);
	db_auth_num(&p, k, sizeof k, known_s);
	/* rows another statement holds are left for the next prune (no lock order to meet: no deadlock with a
	 * count that takes two rows in tag order) */
	return db_exec_cmd(db,
			   "WITH f AS (DELETE FROM auth_failures WHERE tag IN (SELECT tag FROM auth_failures "
			   "WHERE coalesce(last_at, '-infinity') < now() - make_interval(secs => $1::integer) "
			   "AND coalesce(pending_at, '-infinity') < now() - make_interval(secs => $1::integer) "
			   "FOR UPDATE SKIP LOCKED)) "
			   "DELETE FROM auth_known WHERE tag IN (SELECT tag FROM auth_known "
			   "WHERE last_at < now() - make_interval(secs => $2::integer) FOR UPDATE SKIP LOCKED)",
			   &p);
}

int db_auth_fail(struct db *db, const uint8_t *a, const uint8_t *b, unsigned limit, unsigned window_s,
		 bool *was_limited)
{
	struct db_params p = { 0 };
	PGresult *r = NULL;
	char l[16], w[16];
	db_auth_tags(&p, a, b);
	db_auth_num(&p, l, sizeof l, limit);
	db_auth_num(&p, w, sizeof w, window_s);
	/* A count whose last failure is past the window starts again (no fixed windows: a quiet window clears
	 * it). One that is limited is not counted and keeps its time (so the refusals end a window after the
	 * last counted failure), and says so with limit + 1. */
	int rc = db_exec(db,
			 "INSERT INTO auth_failures AS f (tag, failures, last_at) "
			 "SELECT u.t, 1, now() FROM unnest(ARRAY[$1::bytea, $2::bytea]) WITH ORDINALITY AS u (t, i) "
			 "WHERE u.t IS NOT NULL ORDER BY u.i "
			 "ON CONFLICT (tag) DO UPDATE SET "
			 "failures = CASE WHEN " DB_AUTH_LIVE_F("$4") " >= $3::integer THEN $3::integer + 1 "
			 "ELSE " DB_AUTH_LIVE_F("$4") " + 1 END, "
			 "last_at = CASE WHEN " DB_AUTH_LIVE_F("$4") " >= $3::integer THEN f.last_at ELSE now() END "
			 "RETURNING failures",
			 &p, DB_FMT_TEXT, &r);
	if (rc)
		return rc;
	bool over = false;
	for (int i = 0; i < PQntuples(r); i++)
		over = over || strtoul(PQgetvalue(r, i, 0), NULL, 10) > limit;
	PQclear(r);
	if (was_limited)
		*was_limited = over;
	return 0;
}

int db_auth_limited(struct db *db, const uint8_t *addr, const uint8_t *acct, const uint8_t *pair, unsigned limit,
		    unsigned window_s, unsigned known_s, struct db_auth_state *out)
{
	struct db_params p = { 0 };
	PGresult *r = NULL;
	char l[16], w[16], k[16];
	db_params_bin(&p, addr, DB_AUTH_TAG_LEN);
	if (acct && pair) {
		db_params_bin(&p, acct, DB_AUTH_TAG_LEN);
		db_params_bin(&p, pair, DB_AUTH_TAG_LEN);
	} else {
		db_params_text(&p, NULL);
		db_params_text(&p, NULL);
	}
	db_auth_num(&p, l, sizeof l, limit);
	db_auth_num(&p, w, sizeof w, window_s);
	db_auth_num(&p, k, sizeof k, known_s);
	memset(out, 0, sizeof(*out));
	/* failures only: a verification running is no reason to refuse a login that needs none */
	int rc = db_exec(db,
			 "SELECT EXISTS (SELECT 1 FROM auth_failures f WHERE f.tag = $1 AND " DB_AUTH_LIVE_F("$5")
			 " >= $4::integer), "
			 "EXISTS (SELECT 1 FROM auth_failures f WHERE f.tag = $2 AND " DB_AUTH_LIVE_F("$5") " >= $4::integer), "
			 "EXISTS (SELECT 1 FROM auth_known WHERE tag = $3 AND last_at >= now() - make_interval(secs => $6::integer))",
			 &p, DB_FMT_TEXT, &r);
	if (rc)
		return rc;
	if (PQntuples(r) != 1 || PQnfields(r) != 3) {
		PQclear(r);
		return db_fail(db, HSMCA_ERR_STATE, "auth limits: an unexpected result");
	}
	out->addr_limited = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	out->acct_limited = strcmp(PQgetvalue(r, 0, 1), "t") == 0;
	out->pair_known = strcmp(PQgetvalue(r, 0, 2), "t") == 0;
	PQclear(r);
	return 0;
}

int db_auth_reserve(struct db *db, const uint8_t *a, const uint8_t *b, unsigned limit, unsigned window_s,
		    bool *reserved)
{
	struct db_params p = { 0 };
	PGresult *r = NULL;
	char l[16], w[16];
	int rc;
	*reserved = false;
	db_auth_tags(&p, a, b);
	db_auth_num(&p, l, sizeof l, limit);
	db_auth_num(&p, w, sizeof w, window_s);
	/* A reservation is worth no wait for a synchronous standby (the caller holds a lock every login of the
	 * process needs; losing one in a failover only forgets a count). */
	if ((rc = db_begin(db)) || (rc = db_exec_cmd(db, "SET LOCAL synchronous_commit = local", NULL))) {
		db_rollback(db);
		return rc;
	}
	/* each count whose failures and reservations in the window stay below the limit with it takes the
	 * attempt; one at the limit is left alone (and the transaction undone: both or neither) */
	rc = db_exec(db,
		     "INSERT INTO auth_failures AS f (tag, pending, pending_at) "
		     "SELECT u.t, 1, now() FROM unnest(ARRAY[$1::bytea, $2::bytea]) WITH ORDINALITY AS u (t, i) "
		     "WHERE u.t IS NOT NULL ORDER BY u.i "
		     "ON CONFLICT (tag) DO UPDATE SET pending = " DB_AUTH_LIVE_P("$4") " + 1, pending_at = now() "
		     "WHERE " DB_AUTH_LIVE_F("$4") " + " DB_AUTH_LIVE_P("$4") " < $3::integer "
		     "RETURNING f.tag",
		     &p, DB_FMT_TEXT, &r);
	if (rc) {
		db_rollback(db);
		return rc;
	}
	bool all = PQntuples(r) == (b ? 2 : 1);
	PQclear(r);
	if (!all) {
		db_rollback(db);
		return 0;
	}
	if ((rc = db_commit(db))) {
		db_rollback(db); /* a COMMIT that could not be sent leaves the transaction open */
		return rc;
	}
	*reserved = true;
	return 0;
}

int db_auth_settle(struct db *db, const uint8_t *a, const uint8_t *b, bool failed, unsigned window_s)
{
	struct db_params p = { 0 };
	char w[16];
	db_auth_tags(&p, a, b);
	db_params_text(&p, failed ? "t" : "f");
	db_auth_num(&p, w, sizeof w, window_s);
	/* the reservation goes; a failure is counted (it had room: the reservation held it), a success moves no
	 * failure's time. The row order of an UPDATE is the plan's: the two are locked in tag order first. */
	return db_exec_cmd(db,
			   "WITH l AS (SELECT tag FROM auth_failures WHERE tag IN ($1, $2) ORDER BY tag FOR UPDATE) "
			   "UPDATE auth_failures f SET pending = greatest(" DB_AUTH_LIVE_P("$4") " - 1, 0), "
			   "failures = CASE WHEN $3::boolean THEN " DB_AUTH_LIVE_F("$4") " + 1 ELSE f.failures END, "
			   "last_at = CASE WHEN $3::boolean THEN now() ELSE f.last_at END "
			   "FROM l WHERE f.tag = l.tag",
			   &p);
}

int db_auth_known(struct db *db, const uint8_t *pair)
{
	struct db_params p = { 0 };
	db_params_bin(&p, pair, DB_AUTH_TAG_LEN);
	return db_exec_cmd(db,
			   "INSERT INTO auth_known AS k (tag, last_at) VALUES ($1, now()) "
			   "ON CONFLICT (tag) DO UPDATE SET last_at = now()",
			   &p);
}
