#include "approve.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "certauth.h"
#include "certget.h"
#include "db_lifecycle.h"
#include "inflight.h"
#include "issue.h"
#include "json.h"
#include "log.h"
#include "profile.h"
#include "route.h"
#include "tbs.h"
#include "unrecorded.h"

#define APPROVE_LIST_MAX 500

static void approve_json(struct dbuf *b, const struct db_approval *a)
{
	char id[24];
	snprintf(id, sizeof(id), "%" PRId64, a->id);
	JSON_LIT(b, "{\"id\": ");
	dbuf_add(b, id, strlen(id));
	JSON_LIT(b, ", \"action\": ");
	json_write_string(b, a->action);
	JSON_LIT(b, ", \"serial\": ");
	json_write_string(b, a->object);
	JSON_LIT(b, ", \"requested_by\": ");
	json_write_string(b, a->requested_by);
	JSON_LIT(b, ", \"status\": ");
	json_write_string(b, a->expired ? "expired" : a->status);
	certget_json_time(b, "created_at", a->created_at);
	certget_json_time(b, "expires_at", a->expires_at);
	if (a->decided_by[0]) {
		JSON_LIT(b, ", \"decided_by\": ");
		json_write_string(b, a->decided_by);
		certget_json_time(b, "decided_at", a->decided_at);
	}
	JSON_LIT(b, "}");
}

static void approve_reply_start(struct job *j, int status)
{
	dbuf_free(&j->resp);
	dbuf_init(&j->resp);
	j->status = status;
	strcpy(j->content_type, "application/json");
}

static int approve_list_one(void *ctx, const struct db_approval *a)
{
	struct dbuf *b = ctx;
	if (b->len > 16)
		JSON_LIT(b, ", ");
	approve_json(b, a);
	return 0;
}

/* Refuses (and audits) a request by actor. The audit row's object is the request's path without its query
 * (which names the approval and the decision asked for; approve_request's route_split let only printable
 * ASCII segments through), or "-" if it holds anything else; the request line, query included, goes into
 * the details, JSON-escaped: it is the client's text, in any bytes. */
static void approve_refuse(struct worker *w, struct job *j, const char *actor, int status, const char *code,
			   const char *why)
{
	issue_refuse_path(w, j, actor, status, code, why);
}

/* Authenticates; readers may be administrators or auditors, deciders only administrators with their
 * password or login certificate (an API key is a machine credential). Returns 0 or replied. */
static int approve_auth(struct worker *w, struct job *j, bool decide, struct db_account *acct)
{
	bool via_cert = false;
	if (certauth_require(w, j, acct, &via_cert))
		return -1;
	/* a login certificate, or else the header was HTTP Basic (any case: RFC 9110 schemes are case-insensitive) */
	bool person = via_cert || !auth_is_api_key(j->auth);
	if (acct->role == DB_ROLE_ADMIN && (person || !decide))
		return 0;
	if (acct->role == DB_ROLE_AUDITOR && !decide)
		return 0;
	approve_refuse(w, j, acct->name, 403, "forbidden",
		       decide ? "only an administrator, with a password or login certificate, may decide approvals"
			      : "only administrators and auditors may read approvals");
	return -1;
}

/* The optional body of a decision: empty, {} or {"reason": text} (reject only). */
int approve_body(const struct job *j, bool approve, char reason[APPROVE_REASON_MAX], char *why)
{
	struct json_doc *doc = NULL;
	char err[128];
	int rc = 0;
	reason[0] = 0;
	if (j->body_len == 0)
		return 0;
	if (json_parse((const char *)j->body, j->body_len, &doc, err, sizeof(err))) {
		snprintf(why, ISSUE_WHY_MAX, "request body is not valid JSON (%s)", err);
		return HSMCA_ERR_PARSE;
	}
	const struct json_node *root = json_root(doc), *r = json_get(root, "reason");
	size_t len = 0;
	const char *text = json_string(r, &len);
	if (json_type(root) != JSON_OBJECT || json_object_len(root) > 1 || (json_object_len(root) == 1 && !r) ||
	    (r && (!text || approve || len == 0 || len >= APPROVE_REASON_MAX))) {
		snprintf(why, ISSUE_WHY_MAX, approve ? "expected an empty body or {}"
						     : "expected {} or {\"reason\": text of 1..199 bytes}");
		rc = HSMCA_ERR_PARSE;
	} else if (text) {
		memcpy(reason, text, len + 1);
	}
	json_free(doc);
	return rc;
}

static int approve_audit(struct worker *w, const char *actor, const char *action, const char *serial, int64_t id,
			 const char *reason)
{
	char num[24];
	struct dbuf d;
	dbuf_init(&d);
	snprintf(num, sizeof(num), "%" PRId64, id);
	JSON_LIT(&d, "{\"approval\": ");
	dbuf_add(&d, num, strlen(num));
	if (reason && *reason) {
		JSON_LIT(&d, ", \"reason\": ");
		json_write_string(&d, reason);
	}
	dbuf_add(&d, "}", 2); /* with its NUL */
	int rc = d.failed ? HSMCA_ERR_NOMEM : db_audit_append(w->db, actor, action, serial, (const char *)d.data);
	dbuf_free(&d);
	return rc;
}

/* Signs an approved (now pending) certificate and replies with its state. */
static void approve_sign(struct worker *w, struct job *j, const char *actor, const char *serial)
{
	struct db_cert_row c;
	struct dbuf tbs, der;
	char why[ISSUE_WHY_MAX];
	dbuf_init(&tbs);
	dbuf_init(&der);
	if (db_cert_get(w->db, serial, &c)) {
		job_error(j, 503, "unavailable", "approved; the certificate will be signed by the recovery pass");
		return;
	}
	/* the held row's TBS is signed only if this appliance's frontend wrote it (intent.h): else it is failed */
	int rc = issue_intent_verify(w, c.serial_hex, c.issuer, c.tbs, c.tbs_len, &c.macs, actor, why, sizeof why);
	bool sent = rc == 0;
	int crc;
	if (rc == 0) {
		dbuf_add(&tbs, c.tbs, c.tbs_len);
		/* not live: no client waits on an approval, and an administrator's decision is not thrown away on a
		 * signer that lacks the key at the moment (a half-started or misconfigured one): it stays pending */
		rc = tbs.failed ? HSMCA_ERR_NOMEM : issue_sign(w, c.issuer, &tbs, &der, why, false);
	}
	if (rc == HSMCA_ERR_AGAIN) {
		char msg[ISSUE_WHY_MAX + 128];
		snprintf(msg, sizeof(msg), "approved and recorded; the signer cannot sign it now (%s): the recovery pass "
			 "signs it once it can", why);
		job_error(j, 503, "signer-unavailable", msg);
	} else if (rc == HSMCA_ERR_IO || rc == HSMCA_ERR_NOMEM || rc == HSMCA_ERR_CRYPTO) {
		/* stays pending: the recovery pass signs it when the signer is back */
		job_error(j, 503, "signer-unavailable", "approved and recorded; it will be signed when the signer is back");
	} else if ((crc = issue_commit_result(w, actor, serial, rc ? NULL : &der, rc ? why : NULL)) == HSMCA_ERR_EXISTS) {
		job_error(j, 409, "not-pending", "the row was completed otherwise meanwhile (by another frontend's recovery)");
	} else if (crc == HSMCA_ERR_POLICY && !rc && c.renews[0]) { /* schema 022: revoked while it was signed */
		issue_fail_unrenewable(w, actor, serial, c.renews, &der, why);
		job_error(j, 403, "not-renewable", why);
	} else if (crc) {
		if (!rc) /* the recovery pass stores this certificate rather than signing the TBS again */
			unrecorded_put(serial, der.data, der.len);
		job_error(j, 503, "unavailable", rc ? "refused by the signer; recording it failed and the recovery pass will retry"
						    : "signed; recording it failed and the recovery pass will complete it");
	} else if (rc && sent) {
		/* the signer refused the TBS (its pinned rules): the row is failed, and the answer is direct issuance's */
		atomic_fetch_add(&w->app->failed, 1);
		job_error(j, 502, "signer", why);
	} else if (rc) {
		/* the stored intent is not one this appliance's frontend wrote (intent.h): failed, never sent; the
		 * approval is recorded, the certificate is not issued (it was answered 200 with the failed row) */
		job_error(j, 409, "intent-refused", why);
	} else {
		db_cert_row_free(&c);
		if (db_cert_get(w->db, serial, &c) == 0)
			certget_reply(j, &c);
		else
			job_error(j, 503, "unavailable", "the database is unavailable");
		if (!rc) {
			atomic_fetch_add(&w->app->issued, 1);
			log_event("info", "issued", "serial=%s approved_by=%s", serial, actor);
		}
	}
	db_cert_row_free(&c);
	dbuf_free(&tbs);
	dbuf_free(&der);
}

/* A refusal found inside the decision's transaction, answered (and audited) once it is rolled back. */
struct approve_refusal {
	int status; /* 0: none */
	const char *code;
	char why[ISSUE_WHY_MAX];
};

__attribute__((format(printf, 5, 6))) static int approve_refusal_set(struct approve_refusal *ref, int rc, int status,
								    const char *code, const char *fmt, ...)
{
	va_list ap;
	ref->status = status;
	ref->code = code;
	va_start(ap, fmt);
	vsnprintf(ref->why, sizeof ref->why, fmt, ap);
	va_end(ap);
	return rc;
}

/* Inside the decision's transaction, before it: the deciding administrator's own row as it is now (locked,
 * with the requester's: a disable or demotion committed by any frontend is seen, or waits for this decision;
 * the login may have come from this process's cache), and, to approve, the request's requester and profile as
 * they are now: the held TBS was checked against both when it was filed, and an approval signs it as it is.
 * 0; or a refusal in ref (rc non-zero); or an error of the database (ref->status 0). */
/* The held row's TBS (what would be signed, its MAC checked when it is released) has a notAfter already past;
 * a TBS that does not parse is left to the signer, which refuses it. */
static bool approve_tbs_expired(const struct db_cert_row *c)
{
	struct tbs_cert t;
	char why[TBS_WHY_MAX];
	return tbs_cert_parse(span_make(c->tbs, c->tbs_len), &t, why) && t.not_after <= time(NULL);
}

static int approve_recheck(struct worker *w, const char *me, int64_t id, bool approve, struct approve_refusal *ref)
{
	struct db_approval a;
	struct db_account self, req;
	struct db_cert_row c;
	const struct profile *p;
	memset(&c, 0, sizeof c);
	int rc = db_approval_get(w->db, id, &a);
	if (rc == HSMCA_ERR_NOTFOUND)
		return approve_refusal_set(ref, rc, 404, "not-found", "no such approval");
	if (rc || (rc = db_account_lock(w->db, me, a.requested_by, &self, &req)) != 0) {
		if (rc == HSMCA_ERR_AUTH) { /* a row's MAC is refused: changed outside the frontend */
			auth_row_refused(w, NULL);
			approve_refusal_set(ref, rc, 409, "row-refused",
					    "the account row of %s or %s was changed outside this appliance's frontend", me,
					    a.requested_by);
		}
		goto out;
	}
	if (self.id == 0 || self.disabled || self.role != DB_ROLE_ADMIN) {
		rc = approve_refusal_set(ref, HSMCA_ERR_AUTH, 403, "forbidden",
					 "your account was changed meanwhile (disabled, no longer an administrator, or gone)");
		goto out;
	}
	if (!approve || strcmp(a.action, "certificate.issue") != 0)
		goto out; /* a rejection needs nothing else; another action: db_approval_decide says what */
	if (req.id == 0 || req.disabled || !issue_role_may_request(req.role)) {
		rc = approve_refusal_set(ref, HSMCA_ERR_POLICY, 409, "not-approvable",
					 "the requester %s is disabled, gone or may no longer request certificates; reject it",
					 a.requested_by);
		goto out;
	}
	if ((rc = db_cert_get(w->db, a.object, &c)) == HSMCA_ERR_NOTFOUND) {
		rc = 0; /* no held certificate: db_approval_decide refuses it */
		goto out;
	}
	if (rc)
		goto out;
	if (!(p = profiles_find(&w->app->profiles, c.profile)))
		rc = approve_refusal_set(ref, HSMCA_ERR_POLICY, 409, "not-approvable",
					 "the request's profile %s is no longer served; reject it", c.profile);
	else if (!app_profile_current(w->app, p))
		rc = approve_refusal_set(ref, HSMCA_ERR_POLICY, 503, "profile-diverged",
					 "this frontend's definition of profile %s is not the recorded one (another frontend "
					 "started with another profiles file since): approve through one that runs it",
					 c.profile);
	else if (!profile_allows_account(p, a.requested_by))
		rc = approve_refusal_set(ref, HSMCA_ERR_POLICY, 409, "not-approvable",
					 "profile %s no longer allows %s; reject it", c.profile, a.requested_by);
	else if ((rc = db_approval_profile_changed(w->db, c.serial_hex, c.profile)) == HSMCA_ERR_POLICY)
		approve_refusal_set(ref, rc, 409, "not-approvable",
				    "profile %s changed after this request was filed (its rules were checked as they were "
				    "then); reject it, and the requester files it again under the profile as it is now",
				    c.profile);
	else if (rc == 0 && !strcmp(c.status, "held") && approve_tbs_expired(&c))
		/* its TBS was built when it was filed: signed now, it would be a certificate already expired (and a
		 * held renewal would use up the renewal of a certificate its holder could not renew again) */
		rc = approve_refusal_set(ref, HSMCA_ERR_POLICY, 409, "not-approvable",
					 "the certificate this request would give (valid from when it was filed) expired "
					 "while it waited; reject it, and the requester files it again");
out:
	explicit_bzero(&self, sizeof self);
	explicit_bzero(&req, sizeof req);
	db_cert_row_free(&c);
	return rc;
}

static void approve_decide(struct worker *w, struct job *j, const struct db_account *acct, const char *idtext,
			   bool approve)
{
	struct approve_refusal ref = { 0 };
	char serial[DB_SERIAL_HEX_MAX] = "", reason[APPROVE_REASON_MAX], why[ISSUE_WHY_MAX];
	int64_t id = 0;
	bool tracked = false;
	int rc;
	if (!route_id(idtext, &id))
		return approve_refuse(w, j, acct->name, 404, "not-found", "no such approval");
	if (approve_body(j, approve, reason, why))
		return approve_refuse(w, j, acct->name, 400, "bad-request", why);
	if ((rc = db_begin(w->db)) == 0 && (rc = approve_recheck(w, acct->name, id, approve, &ref)) == 0 &&
	    (rc = db_approval_decide(w->db, id, approve, acct->name, reason, w->app->intent_key, serial)) == 0 &&
	    (rc = approve_audit(w, acct->name, approve ? "approval.approved" : "approval.rejected", serial, id,
				reason)) == 0) {
		/* in the in-flight set before the commit: the row is pending from then on, with the transaction's
		 * start as its age (stamp_change's now()), so after a long lock wait this process's recovery pass
		 * could otherwise take it between the commit and approve_sign, and the TBS be signed twice */
		tracked = approve && inflight_add(serial) == 0;
		rc = db_commit(w->db);
	}
	if (rc) {
		if (tracked)
			inflight_del(serial);
		snprintf(why, sizeof(why), "%s", db_errmsg(w->db));
		db_rollback(w->db);
		if (ref.status) /* audited now, in a transaction of its own */
			return approve_refuse(w, j, acct->name, ref.status, ref.code, ref.why);
		if (rc == HSMCA_ERR_NOTFOUND)
			return approve_refuse(w, j, acct->name, 404, "not-found", "no such approval");
		if (rc == HSMCA_ERR_AUTH)
			return approve_refuse(w, j, acct->name, 403, "second-person", why);
		if (rc == HSMCA_ERR_STATE && db_transient(w->db)) {
			/* a deadlock or serialization failure (recovery or another decision on the same rows): rolled
			 * back, nothing decided; not the final 409 a script would stop at, nor the server's words */
			log_event("warn", "approval_retry", "approval=%lld by=%s why=\"%s\"", (long long)id, acct->name, why);
			return job_error(j, 503, "retry", "a concurrent change to the same rows got in the way; nothing "
					 "was decided: try again");
		}
		if (rc == HSMCA_ERR_STATE)
			return approve_refuse(w, j, acct->name, 409, "not-pending", why);
		if (rc == HSMCA_ERR_POLICY) /* schema 013: the held request renews a certificate revoked since */
			return approve_refuse(w, j, acct->name, 409, "not-renewable", why);
		return job_error(j, 503, "unavailable", "the database is unavailable");
	}
	log_event("info", approve ? "approved" : "rejected", "approval=%lld serial=%s by=%s", (long long)id, serial, acct->name);
	if (approve) {
		/* the recovery pass leaves the row alone while this worker signs it */
		if (!tracked)
			return job_error(j, 503, "unavailable", "approved; the certificate will be signed by the recovery pass");
		approve_sign(w, j, acct->name, serial);
		inflight_del(serial);
		return;
	}
	struct db_cert_row c;
	if (db_cert_get(w->db, serial, &c) == 0)
		certget_reply(j, &c);
	else
		job_error(j, 503, "unavailable", "the database is unavailable");
	db_cert_row_free(&c);
}

/* The query of path has the parameter all=1 (wherever it stands among others). */
static bool approve_query_all(const char *path)
{
	const char *t = strchr(path, '?');
	for (t = t ? t + 1 : NULL; t && *t;) {
		size_t n = strcspn(t, "&");
		if (n == 5 && !strncmp(t, "all=1", 5))
			return true;
		t += n + (t[n] == '&');
	}
	return false;
}

/* approve_request with acct, the caller's, to fill (wiped by it) */
static void approve_serve(struct worker *w, struct job *j, struct db_account *acct)
{
	char segs[ROUTE_SEGS_MAX][ROUTE_SEG_MAX];
	struct db_approval a;
	int n = route_split(j->path, "/api/v1/approvals", segs);
	bool decide = j->method == EVHTTP_REQ_POST;
	if (n < 0 || n > 2 || (n == 2 && strcmp(segs[1], "approve") != 0 && strcmp(segs[1], "reject") != 0))
		return job_error(j, 404, "not-found",
				 "expected GET /api/v1/approvals[/{id}] or POST /api/v1/approvals/{id}/approve|reject");
	if (decide != (n == 2)) { /* a path of the API with the other method */
		j->allow = n == 2 ? "POST" : "GET";
		return job_error(j, 405, "method", n == 2 ? "use POST to decide an approval" : "use GET to read approvals");
	}
	if (issue_db(w))
		return job_error(j, 503, "unavailable", "the database is unavailable");
	if (approve_auth(w, j, decide, acct))
		return;
	if (decide)
		return approve_decide(w, j, acct, segs[0], !strcmp(segs[1], "approve"));
	if (n == 1) {
		int64_t id = 0;
		int rc = !route_id(segs[0], &id) ? HSMCA_ERR_NOTFOUND : db_approval_get(w->db, id, &a);
		if (!rc && acct->key_profile[0]) {
			/* an API key bound to a profile reads that profile's approvals only, as it reads that
			 * profile's certificates only (certget.c): others' look the same as unknown ones */
			struct db_cert_row c;
			int crc = db_cert_get(w->db, a.object, &c);
			if (crc == 0) {
				bool other = strcmp(c.profile, acct->key_profile) != 0;
				db_cert_row_free(&c);
				crc = other ? HSMCA_ERR_NOTFOUND : 0;
			}
			rc = crc == HSMCA_ERR_PARSE ? HSMCA_ERR_NOTFOUND : crc;
		}
		if (rc)
			return job_error(j, rc == HSMCA_ERR_NOTFOUND ? 404 : 503,
					 rc == HSMCA_ERR_NOTFOUND ? "not-found" : "unavailable",
					 rc == HSMCA_ERR_NOTFOUND ? "no such approval" : "the database is unavailable");
		approve_reply_start(j, 200);
		approve_json(&j->resp, &a);
		JSON_LIT(&j->resp, "\n");
		return;
	}
	bool all = approve_query_all(j->path), more = false;
	approve_reply_start(j, 200);
	JSON_LIT(&j->resp, "{\"approvals\": [");
	if (db_approval_each(w->db, !all, acct->key_profile, APPROVE_LIST_MAX, &more, approve_list_one, &j->resp))
		return job_error(j, 503, "unavailable", "the database is unavailable");
	/* the newest APPROVE_LIST_MAX: "truncated" says older ones were left out (they were, silently) */
	if (more)
		JSON_LIT(&j->resp, "], \"truncated\": true}\n");
	else
		JSON_LIT(&j->resp, "], \"truncated\": false}\n");
}

void approve_request(struct worker *w, struct job *j)
{
	struct db_account acct;
	memset(&acct, 0, sizeof(acct));
	approve_serve(w, j, &acct);
	OPENSSL_cleanse(&acct, sizeof(acct)); /* its password hash */
}

struct approve_expiry {
	struct worker *w;
	unsigned n;
};

static int approve_expire_one(void *vctx, int64_t id, const char *serial, bool failed)
{
	struct approve_expiry *ctx = vctx;
	ctx->n++;
	log_event("info", "approval_expired", "approval=%" PRId64 " serial=%s%s", id, *serial ? serial : "-",
		  failed ? "" : " certificate=not_held");
	return approve_audit(ctx->w, "expiry", "approval.expired", serial, id,
			     failed ? NULL : "no held certificate of this serial");
}

int approve_expire(struct worker *w, unsigned *out_n)
{
	struct approve_expiry ctx = { w, 0 };
	int rc = issue_db(w);
	*out_n = 0;
	if (rc || (rc = db_begin(w->db)))
		return rc;
	if ((rc = db_approval_expire(w->db, approve_expire_one, &ctx)) || (rc = db_commit(w->db)))
		db_rollback(w->db);
	else
		*out_n = ctx.n;
	return rc;
}
