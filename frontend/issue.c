/* POST /api/v1/certificates on a worker thread: authenticate, parse, apply the profile (issue_check), then
 * issue_core: commit the intent, sign, commit the result (issue_commit.c; without an approval step the last
 * three happen in the committer: issue_async.c); and the refusals' audit rows. */
#include "issue.h"

#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "certauth.h"
#include "inflight.h"
#include "issue_priv.h"
#include "issuerfit.h"
#include "json.h"
#include "log.h"
#include "pool.h"
#include "tbsbuild.h"
#include "unrecorded.h"

void issue_audit_refusal(struct worker *w, const char *actor, const char *peer, const char *code, const char *why)
{
	issue_audit_refusal_on(w, actor, "-", NULL, peer, code, why);
}

void issue_audit_refusal_on(struct worker *w, const char *actor, const char *object, const char *request,
			    const char *peer, const char *code, const char *why)
{
	struct dbuf d;
	dbuf_init(&d);
	dbuf_add(&d, "{\"code\": ", 9);
	json_write_string(&d, code);
	dbuf_add(&d, ", \"message\": ", 13);
	json_write_string(&d, why);
	if (request) {
		dbuf_add(&d, ", \"request\": ", 13);
		json_write_string(&d, request);
	}
	dbuf_add(&d, ", \"peer\": ", 10);
	json_write_string(&d, peer);
	dbuf_add(&d, "}", 2); /* includes the NUL */
	int rc = d.failed ? HSMCA_ERR_NOMEM : w->db ? db_begin(w->db) : HSMCA_ERR_IO;
	if (!rc && (rc = db_audit_append(w->db, actor, "certificate.refused", object, (const char *)d.data)) == 0)
		rc = db_commit(w->db);
	if (rc) {
		if (w->db)
			db_rollback(w->db);
		log_event("error", "audit_failed", "action=certificate.refused rc=%d why=\"%s\"", rc,
			  w->db ? db_errmsg(w->db) : "no database connection");
	}
	dbuf_free(&d);
	atomic_fetch_add(&w->app->refused, 1);
}

void issue_refuse_path(struct worker *w, struct job *j, const char *actor, int status, const char *code,
		       const char *why)
{
	char object[JOB_PATH_MAX], line[JOB_PATH_MAX + 8];
	size_t n = strcspn(j->path, "?#");
	bool printable = n > 0;
	for (size_t i = 0; i < n && printable; i++)
		printable = j->path[i] > 0x20 && j->path[i] < 0x7f;
	snprintf(object, sizeof(object), "%.*s", printable ? (int)n : 1, printable ? j->path : "-");
	snprintf(line, sizeof(line), "%s %s", j->method == EVHTTP_REQ_POST ? "POST" : "GET", j->path);
	issue_audit_refusal_on(w, actor, object, line, j->peer, code, why);
	job_error(j, status, code, why);
}

/* Audits a refusal in its own transaction (nothing else is stored for a refused request) and replies. */
static void issue_refuse(struct worker *w, struct job *j, const char *actor, int status, const char *code,
			 const char *why)
{
	issue_audit_refusal(w, actor, j->peer, code, why);
	job_error(j, status, code, why);
}

int issue_db(struct worker *w)
{
	char err[DB_ERR_MAX];
	if (w->db)
		return 0;
	int rc = db_open(w->app->conf.database, &w->db, err);
	if (rc)
		log_event("error", "db_unavailable", "worker=%u why=\"%s\"", w->id, err);
	else
		app_db_keys(w->app, w->db);
	return rc;
}

bool issue_credential(struct issue_extra *x, const struct job *j, bool via_cert)
{
	x->by_api_key = auth_is_api_key(j->auth);
	x->by_login_cert = via_cert;
	return x->by_api_key || x->by_login_cert;
}

bool issue_role_may_request(enum db_role role)
{
	return role == DB_ROLE_REQUESTER || role == DB_ROLE_ADMIN;
}

int issue_account_may_request(struct worker *w, const char *name)
{
	struct db_account acct;
	int rc = db_account_get(w->db, name, &acct);
	if (rc == HSMCA_ERR_AUTH) { /* its row was changed outside the frontend: as if it did not exist */
		auth_row_refused(w, NULL);
		rc = HSMCA_ERR_NOTFOUND;
	} else if (rc == 0 && acct.disabled)
		rc = HSMCA_ERR_NOTFOUND;
	else if (rc == 0 && !issue_role_may_request(acct.role))
		rc = HSMCA_ERR_AUTH;
	OPENSSL_cleanse(&acct, sizeof(acct)); /* its password hash */
	return rc;
}

static int issue_auth(struct worker *w, struct job *j, struct db_account *acct, bool *via_cert)
{
	if (certauth_require(w, j, acct, via_cert))
		return -1;
	if (issue_role_may_request(acct->role))
		return 0;
	issue_refuse(w, j, acct->name, 403, "forbidden", "this account may not request certificates");
	return -1;
}

int issue_check(const struct app *a, const char *actor, const struct profile *p, const char *csr_text, size_t csr_len,
		const struct issue_extra *x, struct issue_outcome *o, struct csr *csr, struct dbuf *tbs, time_t validity[2])
{
	int san_types[CSR_MAX_SANS];
	const char *sans[CSR_MAX_SANS];
	int rc;
	o->status = 403;
	o->code = "policy";
	if (!app_profile_current(a, p)) {
		o->status = 503;
		o->code = "profile-diverged";
		snprintf(o->why, sizeof(o->why), "this frontend's definition of profile %s is not the recorded one (another "
			 "frontend started with another profiles file since): restart it with the recorded profiles", p->name);
		return -1;
	}
	if (!profile_allows_account(p, actor)) {
		o->code = "profile-forbidden";
		snprintf(o->why, sizeof(o->why), "this account may not use this profile");
		return -1;
	}
	if ((rc = csr_parse((const unsigned char *)csr_text, csr_len, csr, o->why))) {
		o->status = csr_refusal(rc, &o->code);
		return -1;
	}
	if (x && x->hosts && issue_hosts(csr, x->hosts, o->why)) {
		o->status = 400;
		o->code = "bad-request";
		return -1;
	}
	if (x && x->sans && issue_sans_text(csr, x->sans, o->why)) {
		o->status = 409;
		o->code = "renewal";
		return -1;
	}
	for (size_t i = 0; i < csr->n_sans; i++) {
		san_types[i] = (int)csr->sans[i].type;
		sans[i] = csr->sans[i].value;
	}
	if (profile_check_request(p, csr->pubkey, san_types, sans, csr->n_sans, o->why))
		return -1;
	bool drop_cn = false;
	rc = issuerfit_check_names(&a->issuer_fit[p - a->profiles.p], p->ca, tbsbuild_cn(csr), san_types, sans,
				   csr->n_sans, &drop_cn, o->why);
	if (rc == HSMCA_ERR_NOMEM) {
		o->status = 503;
		o->code = "unavailable";
		snprintf(o->why, sizeof(o->why), "out of memory");
		return -1;
	}
	if (rc)
		return -1;
	csr->no_cn = drop_cn; /* the leaf's subject is empty instead, its subjectAltName critical */
	if ((rc = issue_build_tbs(a, (unsigned)(p - a->profiles.p), csr, tbs, o->serial, validity, o->why))) {
		if (rc != HSMCA_ERR_POLICY) { /* the appliance's state or its own failure: not the request's fault */
			o->status = 503;
			o->code = rc == HSMCA_ERR_STATE ? "issuer-unusable" : "unavailable";
		}
		return -1;
	}
	return 0;
}

int issue_prepare(struct worker *w, const char *actor, const char *peer, const struct profile *p, const char *csr_text,
		  size_t csr_len, const struct issue_extra *x, struct issue_outcome *o, struct csr *csr, struct dbuf *tbs,
		  time_t validity[2])
{
	if (issue_check(w->app, actor, p, csr_text, csr_len, x, o, csr, tbs, validity) == 0)
		return 0;
	issue_audit_refusal(w, actor, peer, o->code, o->why);
	return -1;
}

int issue_core(struct worker *w, const char *actor, const char *peer, const struct profile *p, const char *csr_text,
	       size_t csr_len, const struct issue_extra *x, struct issue_outcome *o)
{
	struct csr csr;
	struct dbuf tbs;
	time_t validity[2] = { 0, 0 };
	int rc, ret = -1;
	bool inflight = false;
	memset(&csr, 0, sizeof(csr));
	dbuf_init(&tbs);
	if (issue_prepare(w, actor, peer, p, csr_text, csr_len, x, o, &csr, &tbs, validity))
		goto out;
	o->status = 503;
	o->code = "unavailable";
	if (p->needs_approval) {
		/* committed as held: nothing is signed until a second person approves (approve.c) */
		if ((rc = issue_commit_intent_drawn(w, p, actor, o, &csr, &tbs, validity, x, &o->approval_id, &inflight))) {
			issue_intent_refusal(o, rc, x && x->renews_serial);
			goto out;
		}
		o->recorded = true;
		log_event("info", "held", "serial=%s profile=%s requester=%s approval=%lld", o->serial, p->name,
			  actor, (long long)o->approval_id);
		ret = 1;
		goto out;
	}
	if ((rc = issue_commit_intent_drawn(w, p, actor, o, &csr, &tbs, validity, x, NULL, &inflight))) {
		issue_intent_refusal(o, rc, x && x->renews_serial);
		goto out;
	}
	o->recorded = true;
	if ((rc = issue_sign(w, p->issuer, &tbs, &o->der, o->why, true))) {
		atomic_fetch_add(&w->app->failed, 1);
		if (rc == HSMCA_ERR_IO || rc == HSMCA_ERR_AGAIN) {
			/* the signer may have signed before it went away (IO), or could not sign now (AGAIN): the row
			 * stays pending and the recovery pass completes it (re-signing the stored TBS), so nothing
			 * signed is unknown to the database */
			issue_why_later(rc, o->serial, o->why, sizeof(o->why));
			o->code = "signer-unavailable";
			goto out;
		}
		if (issue_commit_result(w, actor, o->serial, NULL, o->why)) {
			log_event("error", "commit_failed", "serial=%s state=failed", o->serial);
			issue_why_refusal_unrecorded(o->serial, o->why, sizeof(o->why));
			o->status = 503;
			o->code = "unavailable";
			goto out;
		}
		o->status = 502;
		o->code = "signer";
		goto out;
	}
	if ((rc = issue_commit_result(w, actor, o->serial, &o->der, NULL))) {
		if (rc == HSMCA_ERR_EXISTS) { /* the row is no longer pending: not ours to complete (commit_recheck) */
			o->status = 409;
			o->code = "not-pending";
			issue_why_not_pending(o->serial, o->why, sizeof(o->why));
			goto out;
		}
		if (rc == HSMCA_ERR_POLICY && x && x->renews_serial) { /* schema 022: revoked while it was signed */
			issue_fail_unrenewable(w, actor, o->serial, x->renews_serial, &o->der, o->why);
			dbuf_free(&o->der); /* signed, never recorded as issued nor handed out */
			dbuf_init(&o->der);
			o->status = 403;
			o->code = "not-renewable";
			goto out;
		}
		/* signed but not recorded as issued: the row stays pending and recovery stores this certificate */
		unrecorded_put(o->serial, o->der.data, o->der.len);
		issue_why_unrecorded(o->serial, o->why, sizeof(o->why));
		goto out;
	}
	atomic_fetch_add(&w->app->issued, 1);
	log_event("info", "issued", "serial=%s profile=%s requester=%s", o->serial, p->name, actor);
	ret = 0;
out:
	if (inflight)
		inflight_del(o->serial);
	csr_free(&csr);
	dbuf_free(&tbs);
	return ret;
}

static void issue_handle(struct worker *w, struct job *j)
{
	struct db_account acct;
	struct json_doc *doc = NULL;
	struct issue_outcome o;
	char why[ISSUE_WHY_MAX] = "";
	const char *csr_text = NULL, *pname = NULL;
	size_t csr_len = 0;
	memset(&o, 0, sizeof(o));
	dbuf_init(&o.der);
	if (issue_db(w)) {
		job_error(j, 503, "unavailable", "the database is unavailable");
		return;
	}
	bool via_cert = false;
	if (issue_auth(w, j, &acct, &via_cert))
		goto out;
	if (issue_body(j, &doc, &csr_text, &csr_len, &pname, why)) {
		issue_refuse(w, j, acct.name, 400, "bad-request", why);
		goto out;
	}
	const struct profile *p = profiles_find(&w->app->profiles, pname);
	if (!p) {
		issue_why_no_profile(pname, NULL, why);
		issue_refuse(w, j, acct.name, 400, "unknown-profile", why);
		goto out;
	}
	if (acct.key_profile[0] && strcmp(acct.key_profile, p->name) != 0) {
		issue_refuse(w, j, acct.name, 403, "profile-forbidden", "this API key is bound to another profile");
		goto out;
	}
	if (p->login && auth_is_api_key(j->auth)) {
		issue_refuse(w, j, acct.name, 403, "api-key-forbidden", issue_why_login_by_key);
		goto out;
	}
	if (p->login && via_cert) {
		issue_refuse(w, j, acct.name, 403, "password-required", issue_why_login_by_cert);
		goto out;
	}
	int rc = issue_run(w, j, acct.name, p, csr_text, csr_len, via_cert, &o);
	if (rc < 0)
		job_error(j, o.status, o.code, o.why);
	else if (rc == 1)
		issue_reply_held(j, &o);
	else if (rc == 0)
		issue_reply(w, j, p, o.serial, &o.der); /* rc 2: deferred, the job is no longer ours */
out:
	OPENSSL_cleanse(&acct, sizeof(acct)); /* its password hash */
	json_free(doc);
	dbuf_free(&o.der);
}

/* The JOB_ISSUE handler. */
void issue_request(struct worker *w, struct job *j)
{
	issue_handle(w, j);
}
