/* Held certificates and their approvals: a second person decides before anything is signed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_lifecycle.h"
#include "db_priv.h"
#include "intent.h"

int db_cert_insert_held(struct db *db, const struct db_cert *c, const char *details_json, unsigned ttl_seconds,
			int64_t *out_id)
{
	static const char *const names[] = { "id" };
	char serial[DB_SERIAL_HEX_MAX], ttl[16], id[24];
	struct db_params p = { 0 };
	PGresult *r = NULL;
	int col, rc;

	if (ttl_seconds == 0 || ttl_seconds > 365u * 24 * 3600)
		return db_fail(db, HSMCA_ERR_PARSE, "held certificate: approval time out of range");
	if ((rc = db_serial_norm(db, c->serial_hex, serial)) || (rc = db_cert_insert_as(db, c, "held")))
		return rc;
	snprintf(ttl, sizeof ttl, "%u", ttl_seconds);
	db_params_text(&p, serial);
	db_params_text(&p, details_json ? details_json : "{}");
	db_params_text(&p, c->requester);
	db_params_text(&p, ttl);
	rc = db_exec(db,
		     "INSERT INTO approvals (action, object, details, requested_by, expires_at) VALUES "
		     "('certificate.issue', $1, $2, $3, now() + make_interval(secs => $4::int)) RETURNING id::text",
		     &p, DB_FMT_TEXT, &r);
	if (!rc && !(rc = db_columns(db, r, names, &col, 1)) && !(rc = db_copy_text(db, r, 0, col, id, sizeof(id))))
		*out_id = strtoll(id, NULL, 10);
	PQclear(r);
	return rc;
}

static const char *const db_approval_cols[] = { "id", "action", "object", "requested_by", "status", "decided_by",
						 "created", "expires", "decided", "expired" };
/* An object longer than struct db_approval holds (no serial is: a row the database role wrote, any text) reads as
 * "": it failed the whole list before (503 for every reader), and cut it could name a real serial. So does a
 * decided_by the role wrote too long (the frontend writes account names, under 64 bytes). */
#define DB_APPROVAL_OBJECT_MAX 64
_Static_assert(sizeof(((struct db_approval *)0)->object) == DB_APPROVAL_OBJECT_MAX + 1, "the SQL's bound");
_Static_assert(sizeof(((struct db_approval *)0)->decided_by) == 64, "the SQL's bound on decided_by");
#define DB_APPROVAL_SELECT                                                                                      \
	"SELECT id::text AS id, action, CASE WHEN octet_length(object) <= 64 THEN object ELSE '' END AS object, " \
	"requested_by, status, CASE WHEN octet_length(coalesce(decided_by, '')) < 64 THEN coalesce(decided_by, '') " \
	"ELSE '(too long)' END AS decided_by, "                                                              \
	"extract(epoch FROM created_at)::bigint::text AS created, "                                          \
	"extract(epoch FROM expires_at)::bigint::text AS expires, "                                          \
	"coalesce(extract(epoch FROM decided_at)::bigint, 0)::text AS decided, "                             \
	"(status = 'pending' AND expires_at <= now())::text AS expired FROM approvals "

static int db_approval_row(struct db *db, const PGresult *r, int row, const int *cols, struct db_approval *a)
{
	char num[4][24];
	int rc;
	memset(a, 0, sizeof(*a));
	if ((rc = db_copy_text(db, r, row, cols[0], num[0], sizeof(num[0]))) ||
	    (rc = db_copy_text(db, r, row, cols[1], a->action, sizeof(a->action))) ||
	    (rc = db_copy_text(db, r, row, cols[2], a->object, sizeof(a->object))) ||
	    (rc = db_copy_text(db, r, row, cols[3], a->requested_by, sizeof(a->requested_by))) ||
	    (rc = db_copy_text(db, r, row, cols[4], a->status, sizeof(a->status))) ||
	    (rc = db_copy_text(db, r, row, cols[5], a->decided_by, sizeof(a->decided_by))) ||
	    (rc = db_copy_text(db, r, row, cols[6], num[1], sizeof(num[1]))) ||
	    (rc = db_copy_text(db, r, row, cols[7], num[2], sizeof(num[2]))) ||
	    (rc = db_copy_text(db, r, row, cols[8], num[3], sizeof(num[3]))))
		return rc;
	a->id = strtoll(num[0], NULL, 10);
	a->created_at = (time_t)strtoll(num[1], NULL, 10);
	a->expires_at = (time_t)strtoll(num[2], NULL, 10);
	a->decided_at = (time_t)strtoll(num[3], NULL, 10);
	a->expired = !strcmp(PQgetvalue(r, row, cols[9]), "true");
	return 0;
}

int db_approval_get(struct db *db, int64_t id, struct db_approval *out)
{
	char idt[24];
	struct db_params p = { 0 };
	PGresult *r = NULL;
	int cols[10], rc;
	snprintf(idt, sizeof idt, "%" PRId64, id);
	db_params_text(&p, idt);
	rc = db_exec(db, DB_APPROVAL_SELECT "WHERE id = $1::bigint", &p, DB_FMT_TEXT, &r);
	if (rc || (rc = db_columns(db, r, db_approval_cols, cols, 10)))
		goto out;
	if (PQntuples(r) != 1)
		rc = db_fail(db, HSMCA_ERR_NOTFOUND, "approval %" PRId64 ": not found", id);
	else
		rc = db_approval_row(db, r, 0, cols, out);
out:
	PQclear(r);
	return rc;
}

int db_approval_each(struct db *db, bool pending_only, const char *profile, unsigned limit, bool *more,
		     int (*fn)(void *ctx, const struct db_approval *a), void *ctx)
{
	char lim[16];
	struct db_params p = { 0 };
	PGresult *r = NULL;
	int cols[10], rc;
	struct db_approval a;
	*more = false;
	snprintf(lim, sizeof lim, "%u", limit + 1); /* one more: whether the list was cut */
	db_params_text(&p, pending_only ? "true" : "false");
	db_params_text(&p, lim);
	db_params_text(&p, profile ? profile : "");
	rc = db_exec(db, DB_APPROVAL_SELECT "WHERE (NOT $1::boolean OR status = 'pending') AND ($3 = '' OR EXISTS "
		     "(SELECT 1 FROM certificates c WHERE c.serial_hex = approvals.object AND c.profile = $3)) "
		     "ORDER BY id DESC LIMIT $2::int",
		     &p, DB_FMT_TEXT, &r);
	if (rc || (rc = db_columns(db, r, db_approval_cols, cols, 10)))
		goto out;
	*more = (unsigned)PQntuples(r) > limit;
	for (int i = 0; i < PQntuples(r) && (unsigned)i < limit && !rc; i++)
		if (!(rc = db_approval_row(db, r, i, cols, &a)))
			rc = fn(ctx, &a);
out:
	PQclear(r);
	return rc;
}

/* The second person must be one: within the approval's lifetime and the DB_APPROVAL_PREP_TEXT before it was
 * filed, neither may have taken hold of the other's account (the audit log says who did what): the requester
 * creating the approver, changing its role, setting its password or making it an API key, or the approver
 * creating the requester (with a password it chose), setting its password or making it an API key (to file
 * as the requester). Otherwise one
 * administrator could make a second identity and approve their own requests with it. Older changes do not
 * count, so the administrators a first administrator created can approve its requests in time; a chain
 * (A creates B, B creates C) and identities prepared earlier are not caught, and stay on the audit log.
 * HSMCA_ERR_AUTH if so. */
#define DB_APPROVAL_PREP_TEXT "7 days"
static int db_approval_made_by(struct db *db, int64_t id, const char *requester, const char *approver)
{
	struct db_params p = { 0 };
	PGresult *r = NULL;
	char idt[24];
	snprintf(idt, sizeof idt, "%" PRId64, id);
	db_params_text(&p, approver);
	db_params_text(&p, requester);
	db_params_text(&p, idt);
	int rc = db_exec(db,
			 "SELECT 1 FROM audit_log l JOIN approvals ap ON ap.id = $3::bigint "
			 "WHERE l.ts >= ap.created_at - interval '" DB_APPROVAL_PREP_TEXT "' AND ("
			 "(l.object = $1 AND l.actor = $2 AND l.action IN ('account.created', 'account.role_changed', "
			 "'account.password_changed', 'apikey.created')) OR "
			 "(l.object = $2 AND l.actor = $1 AND l.action IN ('account.created', 'account.password_changed', "
			 "'apikey.created'))) "
			 "LIMIT 1",
			 &p, DB_FMT_TEXT, &r);
	if (!rc && PQntuples(r) > 0)
		rc = HSMCA_ERR_AUTH;
	PQclear(r);
	return rc;
}

/* A held renewal is approved only while the certificate it renews is still issued: the proof of possession
 * was made when it was filed, and a revocation since (a compromised key) must not be signed over. The old row
 * is locked until the decision commits, so a revocation waits for it or comes first. */
static int db_approval_renewed_ok(struct db *db, const char *serial)
{
	static const char *const names[] = { "renews", "status" };
	struct db_params p = { 0 };
	PGresult *r = NULL;
	int cols[2], rc;
	db_params_text(&p, serial);
	rc = db_exec(db,
		     "SELECT o.serial_hex AS renews, o.status FROM certificates c JOIN certificates o "
		     "ON o.serial_hex = c.renews_serial WHERE c.serial_hex = $1 FOR SHARE OF o",
		     &p, DB_FMT_TEXT, &r);
	if (rc || (rc = db_columns(db, r, names, cols, 2)))
		goto out;
	if (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, cols[1]), "issued") != 0) {
		rc = db_fail(db, HSMCA_ERR_POLICY, "certificate %s renews %s, which is %s now: reject it", serial,
			     PQgetvalue(r, 0, cols[0]), PQgetvalue(r, 0, cols[1]));
	} else if (PQntuples(r) == 1) {
		/* and nothing down its chain revoked since (but as superseded), as renew.c refuses a renewal
		 * requested after such a revocation: before, one approved after it was signed */
		char gone[DB_SERIAL_HEX_MAX], reason[DB_NAME_MAX];
		if (!(rc = db_cert_chain_revoked(db, PQgetvalue(r, 0, cols[0]), gone, reason)) && gone[0])
			rc = db_fail(db, HSMCA_ERR_POLICY, "certificate %s renews %s, down whose renewal chain %s was "
				     "revoked (%s) since: reject it", serial, PQgetvalue(r, 0, cols[0]), gone, reason);
	}
out:
	PQclear(r);
	return rc;
}

int db_approval_decide(struct db *db, int64_t id, bool approve, const char *by, const char *reason,
		       const uint8_t *release_key, char out_serial[DB_SERIAL_HEX_MAX])
{
	static const char *const names[] = { "object" };
	struct db_approval a;
	uint8_t mac[INTENT_MAC_LEN];
	char idt[24];
	struct db_params p = { 0 };
	PGresult *r = NULL;
	int col, rc;

	if ((rc = db_check_name(db, "decided_by", by, DB_NAME_MAX)))
		return rc;
	/* lock the row so two administrators cannot both decide it */
	snprintf(idt, sizeof idt, "%" PRId64, id);
	db_params_text(&p, idt);
	if ((rc = db_exec_cmd(db, "SELECT 1 FROM approvals WHERE id = $1::bigint FOR UPDATE", &p)) ||
	    (rc = db_approval_get(db, id, &a)))
		return rc;
	if (strcmp(a.action, "certificate.issue") != 0)
		return db_fail(db, HSMCA_ERR_STATE, "approval %" PRId64 " is a %s, not a certificate", id, a.action);
	if (strcmp(a.status, "pending") != 0)
		return db_fail(db, HSMCA_ERR_STATE, "approval %" PRId64 " is already %s", id, a.status);
	if (a.expired)
		return db_fail(db, HSMCA_ERR_STATE, "approval %" PRId64 " has expired", id);
	if (!strcmp(a.requested_by, by))
		return db_fail(db, HSMCA_ERR_AUTH, "approval %" PRId64 ": the requester cannot decide it", id);
	if (approve && (rc = db_approval_made_by(db, id, a.requested_by, by))) /* rejecting stays anyone's */
		return rc == HSMCA_ERR_AUTH ? db_fail(db, rc, "approval %" PRId64 ": %s and %s changed each other's "
							"accounts lately (created, role, password or API key), so %s is "
							"not a second person here", id, a.requested_by, by, by)
					    : rc;
	memset(&p, 0, sizeof(p));
	db_params_text(&p, idt);
	db_params_text(&p, approve ? "approved" : "rejected");
	db_params_text(&p, by);
	rc = db_exec(db,
		     "UPDATE approvals SET status = $2, decided_by = $3, decided_at = now() "
		     /* clock_timestamp: now() is the transaction's start, before a wait on the row's lock */
		     "WHERE id = $1::bigint AND status = 'pending' AND expires_at > clock_timestamp() RETURNING object",
		     &p, DB_FMT_TEXT, &r);
	if (rc || (rc = db_columns(db, r, names, &col, 1)))
		goto out;
	if (PQntuples(r) != 1) {
		rc = db_fail(db, HSMCA_ERR_STATE, "approval %" PRId64 " changed or expired meanwhile", id);
		goto out;
	}
	if ((rc = db_copy_text(db, r, 0, col, out_serial, DB_SERIAL_HEX_MAX)))
		goto out;
	PQclear(r);
	r = NULL;
	if (approve && (rc = db_approval_renewed_ok(db, out_serial)))
		goto out;
	if (approve && intent_release_mac(release_key, out_serial, mac)) {
		rc = db_fail(db, HSMCA_ERR_CRYPTO, "certificate %s: its release MAC could not be computed", out_serial);
		goto out;
	}
	memset(&p, 0, sizeof(p));
	db_params_text(&p, out_serial);
	if (approve)
		db_params_bin(&p, mac, sizeof mac);
	else
		db_params_text(&p, reason && *reason ? reason : "rejected by an administrator");
	rc = db_exec(db,
		     approve ? "UPDATE certificates SET status = 'pending', release_mac = $2, " /* intent.h */
			       "owner = DEFAULT " /* this process's (008) */
			       "WHERE serial_hex = $1 AND status = 'held'"
			     : "UPDATE certificates SET status = 'failed', failure_reason = $2 "
			       "WHERE serial_hex = $1 AND status = 'held'",
		     &p, DB_FMT_TEXT, &r);
	if (!rc && strcmp(PQcmdTuples(r), "1") != 0)
		rc = db_fail(db, HSMCA_ERR_STATE, "certificate %s is not held", out_serial);
out:
	PQclear(r);
	return rc;
}

int db_approval_expire(struct db *db, int (*fn)(void *ctx, int64_t id, const char *serial, bool failed), void *ctx)
{
	static const char *const names[] = { "id", "serial", "failed" };
	char id[24], serial[DB_SERIAL_HEX_MAX];
	PGresult *r = NULL;
	int cols[3];
	/* every approval that expires, whether or not its object is a held certificate (the database role can
	 * insert one for any text): each gets its audit row. The object is returned only if it can be a serial
	 * (the audit row's object; it is not one of a row, else ''). */
	int rc = db_exec(db,
			 "WITH e AS (UPDATE approvals SET status = 'expired' WHERE status = 'pending' "
			 "AND expires_at <= now() AND action = 'certificate.issue' RETURNING id, object), "
			 "c AS (UPDATE certificates c SET status = 'failed', failure_reason = 'approval expired' FROM e "
			 "WHERE c.serial_hex = e.object AND c.status = 'held' RETURNING c.serial_hex) "
			 "SELECT e.id::text AS id, CASE WHEN octet_length(e.object) < 41 AND e.object ~ '^[0-9a-f]+$' "
			 "THEN e.object ELSE '' END AS serial, c.serial_hex IS NOT NULL AS failed "
			 "FROM e LEFT JOIN c ON c.serial_hex = e.object ORDER BY e.id",
			 NULL, DB_FMT_TEXT, &r);
	if (rc || (rc = db_columns(db, r, names, cols, 3)))
		goto out;
	for (int i = 0; i < PQntuples(r) && !rc; i++)
		if (!(rc = db_copy_text(db, r, i, cols[0], id, sizeof(id))) &&
		    !(rc = db_copy_text(db, r, i, cols[1], serial, sizeof(serial))))
			rc = fn(ctx, strtoll(id, NULL, 10), serial, strcmp(PQgetvalue(r, i, cols[2]), "t") == 0);
out:
	PQclear(r);
	return rc;
}

int db_approval_profile_changed(struct db *db, const char *serial, const char *profile)
{
	struct db_params p = { 0 };
	PGresult *r = NULL;
	db_params_text(&p, serial);
	db_params_text(&p, profile);
	/* any certificate.held row of the serial (the role may append more, never move the first) */
	int rc = db_exec(db,
			 "SELECT 1 FROM audit_log h WHERE h.action = 'certificate.held' AND h.object = $1 AND EXISTS "
			 "(SELECT 1 FROM audit_log c WHERE c.object = $2 AND c.action IN ('profile.changed', "
			 "'profile.removed') AND c.id > h.id) LIMIT 1",
			 &p, DB_FMT_TEXT, &r);
	if (!rc && PQntuples(r) > 0)
		rc = db_fail(db, HSMCA_ERR_POLICY, "profile %s changed after certificate %s was requested", profile,
			     serial);
	PQclear(r);
	return rc;
}
