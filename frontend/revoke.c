/* Revocation by an administrator (revoke.h). */
#include "revoke.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "certauth.h"
#include "issue.h"
#include "json.h"
#include "log.h"
#include "pool.h"
#include "route.h"

#define REVOKE_PREFIX "/api/v1/certificates"

/* The RFC 5280 5.3.1 names the revocations table takes, but certificateHold (RFC 5280 lets a CA release a hold:
 * a revocation here is final). */
static const char *const revoke_reasons[] = { "unspecified",	      "keyCompromise", "cACompromise",
					      "affiliationChanged",   "superseded",    "cessationOfOperation",
					      "privilegeWithdrawn",   "aACompromise" };

static int revoke_fail(char *why, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, REVOKE_WHY_MAX, fmt, ap);
	va_end(ap);
	return rc;
}

int revoke_parse_path(const char *uri, char *serial, char *why)
{
	char segs[ROUTE_SEGS_MAX][ROUTE_SEG_MAX];
	int n = route_split(uri, REVOKE_PREFIX, segs);
	serial[0] = '\0';
	if (n == 1)
		return revoke_fail(why, HSMCA_ERR_STATE, "use GET here (POST .../{serial}/revoke revokes it)");
	if (n != 2 || strcmp(segs[1], "revoke") != 0)
		return revoke_fail(why, HSMCA_ERR_NOTFOUND, "no such endpoint");
	size_t len = strlen(segs[0]);
	if (len < 1 || len >= DB_SERIAL_HEX_MAX)
		return revoke_fail(why, HSMCA_ERR_PARSE, "serial: 1 to %d hex digits", DB_SERIAL_HEX_MAX - 1);
	for (size_t i = 0; i < len; i++) {
		char ch = segs[0][i];
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return revoke_fail(why, HSMCA_ERR_PARSE, "serial: 1 to %d hex digits", DB_SERIAL_HEX_MAX - 1);
		serial[i] = ch;
	}
	serial[len] = '\0';
	return 0;
}

int revoke_parse_body(const uint8_t *body, size_t len, char *reason, char *why)
{
	struct json_doc *doc = NULL;
	char err[128];
	size_t rl = 0;
	int rc = HSMCA_ERR_PARSE;
	reason[0] = '\0';
	if (json_parse((const char *)body, len, &doc, err, sizeof(err))) {
		revoke_fail(why, rc, "the body is not valid JSON (%s)", err);
		goto out;
	}
	const struct json_node *root = json_root(doc), *r = json_get(root, "reason");
	const char *text = json_string(r, &rl);
	if (json_type(root) != JSON_OBJECT || json_object_len(root) != 1 || !r) {
		revoke_fail(why, rc, "expected {\"reason\": an RFC 5280 reason name}");
		goto out;
	}
	if (!text || rl != strlen(text)) {
		revoke_fail(why, rc, "reason: a string");
		goto out;
	}
	for (size_t i = 0; i < sizeof(revoke_reasons) / sizeof(revoke_reasons[0]); i++)
		if (!strcmp(text, revoke_reasons[i])) {
			snprintf(reason, REVOKE_REASON_MAX, "%s", text);
			rc = 0;
			goto out;
		}
	if (!strcmp(text, "certificateHold"))
		revoke_fail(why, rc, "reason: certificateHold is not offered (a revocation here is final)");
	else
		revoke_fail(why, rc, "reason: one of unspecified, keyCompromise, cACompromise, affiliationChanged, "
				     "superseded, cessationOfOperation, privilegeWithdrawn, aACompromise");
out:
	json_free(doc);
	return rc;
}

/* Refuses and audits (certificate.refused; object the path without its query: issue_refuse_path). */
static void revoke_refuse(struct worker *w, struct job *j, const char *actor, int status, const char *code,
			  const char *why)
{
	issue_refuse_path(w, j, actor, status, code, why);
}

/* The revocation's transaction: the caller's account locked and still an enabled administrator, the
 * certificate issued -> revoked with its revocations row, and the audit row. *transient: a failure was a
 * deadlock or serialization failure (nothing done: worth trying again), read before the rollback; err
 * (ISSUE_WHY_MAX) the database's message of a failure. */
static int revoke_tx(struct worker *w, const char *me, const char *serial, const char *reason, bool *transient,
		     char *err)
{
	struct db_account self;
	char details[64];
	int rc = db_begin(w->db);
	memset(&self, 0, sizeof(self));
	if (!rc && !(rc = db_account_lock(w->db, me, NULL, &self, NULL)) &&
	    (self.id == 0 || self.disabled || self.role != DB_ROLE_ADMIN))
		rc = HSMCA_ERR_AUTH;
	explicit_bzero(&self, sizeof(self));
	if (!rc)
		rc = db_cert_revoke(w->db, serial, reason, me);
	snprintf(details, sizeof(details), "{\"reason\": \"%s\"}", reason); /* one of revoke_reasons */
	if (!rc)
		rc = db_audit_append(w->db, me, "certificate.revoked", serial, details);
	if (!rc)
		rc = db_commit(w->db);
	*transient = rc && db_transient(w->db);
	if (rc) {
		snprintf(err, ISSUE_WHY_MAX, "%s", db_errmsg(w->db));
		db_rollback(w->db);
	}
	return rc;
}

void revoke_request(struct worker *w, struct job *j)
{
	struct db_account acct;
	char serial[DB_SERIAL_HEX_MAX], reason[REVOKE_REASON_MAX], why[ISSUE_WHY_MAX], status[DB_NAME_MAX] = "";
	bool via_cert = false;
	int rc = revoke_parse_path(j->path, serial, why);
	memset(&acct, 0, sizeof(acct));
	if (rc == HSMCA_ERR_STATE) {
		j->allow = "GET";
		return job_error(j, 405, "method", why);
	}
	if (rc)
		return job_error(j, rc == HSMCA_ERR_NOTFOUND ? 404 : 400, rc == HSMCA_ERR_NOTFOUND ? "not-found" : "bad-request",
				 why);
	if (issue_db(w))
		return job_error(j, 503, "unavailable", "the database is unavailable");
	if (certauth_require(w, j, &acct, &via_cert))
		return;
	if (acct.role != DB_ROLE_ADMIN || (!via_cert && auth_is_api_key(j->auth)))
		return revoke_refuse(w, j, acct.name, 403, "forbidden",
				     "only an administrator, with a password or login certificate, may revoke");
	if (revoke_parse_body(j->body, j->body_len, reason, why))
		return revoke_refuse(w, j, acct.name, 400, "bad-request", why);
	bool transient = false;
	char err[ISSUE_WHY_MAX] = "";
	rc = revoke_tx(w, acct.name, serial, reason, &transient, err);
	if (rc == HSMCA_ERR_AUTH)
		return revoke_refuse(w, j, acct.name, 403, "forbidden",
				     "your account was changed meanwhile (disabled, no longer an administrator, or gone)");
	if (rc == HSMCA_ERR_NOTFOUND || rc == HSMCA_ERR_PARSE)
		return revoke_refuse(w, j, acct.name, 404, "not-found", "no such certificate");
	if (transient)
		return job_error(j, 503, "retry", "a concurrent change to the same rows got in the way; nothing was "
				 "revoked: try again");
	/* not issued, or refused by the database: its status read again, after the rollback (the transaction may
	 * have been aborted by the failed statement) */
	if (rc == HSMCA_ERR_STATE && db_cert_status(w->db, serial, status, sizeof(status)) == 0 &&
	    strcmp(status, "issued") != 0) {
		snprintf(why, sizeof(why), "certificate %s is %s; only an issued certificate can be revoked", serial, status);
		return revoke_refuse(w, j, acct.name, 409, !strcmp(status, "revoked") ? "already-revoked" : "not-issued",
				     why);
	}
	if (rc) {
		log_event("error", "revoke_failed", "serial=%s rc=%d why=\"%s\"", serial, rc, err);
		return job_error(j, 503, "unavailable", "the revocation could not be written; nothing was revoked");
	}
	log_event("info", "revoked", "serial=%s reason=%s by_cert=%s", serial, reason, via_cert ? "yes" : "no");
	dbuf_free(&j->resp);
	dbuf_init(&j->resp);
	j->status = 200;
	strcpy(j->content_type, "application/json");
	JSON_LIT(&j->resp, "{\"serial\": ");
	json_write_string(&j->resp, serial);
	JSON_LIT(&j->resp, ", \"status\": \"revoked\", \"reason\": ");
	json_write_string(&j->resp, reason);
	JSON_LIT(&j->resp, ", \"revoked_by\": ");
	json_write_string(&j->resp, acct.name);
	JSON_LIT(&j->resp, "}\n");
	if (j->resp.failed)
		job_error(j, 500, "internal", "out of memory");
}
