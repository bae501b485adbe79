/* Issuance without holding the worker: after the checks the worker (or, for a request whose credentials are
 * cached, the event loop itself: issue_inline) hands the intent to the committer and takes its next request;
 * the committer commits the intent, its signing thread signs (after the COMMIT), the issued result is
 * committed in a following batch, and issue_async_done, on the committer's thread, writes the reply and
 * hands the job back to the loop. Same rules, same outcomes as issue_core. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "commit.h"
#include "inflight.h"
#include "issue_priv.h"
#include "unrecorded.h"
#include "log.h"

/* One request in flight: everything the committer's callbacks need, owned here (freed by issue_async_finish). */
struct issue_async {
	struct app *app;
	struct pool *pool;
	struct job *j;
	const struct profile *p;
	char actor[DB_NAME_MAX];
	struct dbuf tbs;
	struct issue_rec rec;
	struct issue_intent in;
	struct db_batch_intent bi;
	struct commit_sign s;
	struct issue_result res; /* a signer refusal, recorded as failed */
	char fail_details[ISSUE_WHY_MAX + 64];
	bool inflight; /* its serial is recorded in inflight.c until the reply */
	bool rec_built;
	char *csr_text;  /* owned copy of the request's CSR: a serial drawn twice builds the TBS again from it */
	size_t csr_len;
	int draws;       /* serials drawn so far */
	bool no_cn;      /* the request's csr.no_cn (issue_check), which parsing the text again does not give */
	struct issue_extra x; /* by_api_key and by_login_cert only: its credential, said in its audit row */
};

static void issue_async_free(struct issue_async *a)
{
	if (a->inflight)
		inflight_del(a->rec.c.serial_hex);
	dbuf_free(&a->tbs);
	dbuf_free(&a->s.der);
	if (a->rec_built)
		issue_rec_free(&a->rec);
	free(a->csr_text);
	free(a);
}

static void issue_async_done(void *arg, int rc);

/* Records the intent of a->tbs under serial (the rows, the sign-ahead request, inflight.c) and queues it:
 * 0, or -1 if it could not be queued (a is still the caller's to free). */
static int issue_async_submit(struct issue_async *a, const struct csr *csr, const char *serial,
			      const time_t validity[2])
{
	if (a->inflight) {
		inflight_del(a->rec.c.serial_hex);
		a->inflight = false;
	}
	if (a->rec_built) {
		issue_rec_free(&a->rec);
		a->rec_built = false;
	}
	if (issue_rec_build(&a->rec, a->app->intent_key, false, a->p, a->actor, serial, csr, &a->tbs, validity,
			    a->x.by_api_key || a->x.by_login_cert ? &a->x : NULL))
		return -1;
	a->rec_built = true;
	a->draws++;
	const char *details = (const char *)a->rec.details.data;
	a->in = (struct issue_intent){ &a->rec.c, a->actor, a->rec.c.serial_hex, details, NULL };
	a->bi = (struct db_batch_intent){ &a->rec.c, a->actor, details };
	dbuf_free(&a->s.der);
	memset(&a->s, 0, sizeof(a->s));
	a->s.socket = a->app->conf.signer_socket;
	a->s.label = a->p->issuer;
	a->s.tbs = a->tbs.data;
	a->s.tbs_len = a->tbs.len;
	a->s.actor = a->actor;
	a->s.app = a->app;
	if (inflight_add(a->rec.c.serial_hex)) /* recovery leaves it alone until the reply */
		return -1;
	a->inflight = true;
	return committer_submit_intent_sign(a->app->committer, &a->bi, issue_intent_apply, &a->in, &a->s,
					    issue_async_done, a) == 0 ? 0 : -1;
}

/* The intent's serial was another row's (HSMCA_ERR_SERIAL: drawn twice): the TBS again under a fresh serial,
 * queued again (on the committer's thread: memory and CPU only). 0 if queued; -1 (a is still ours) if not,
 * or after ISSUE_SERIAL_DRAWS serials. */
static int issue_async_redraw(struct issue_async *a)
{
	char serial[DB_SERIAL_HEX_MAX], why[ISSUE_WHY_MAX];
	time_t validity[2] = { 0, 0 };
	int rc = -1;
	log_event("warning", "serial_collision", "serial=%s draws=%d", a->rec.c.serial_hex, a->draws);
	if (a->draws >= ISSUE_SERIAL_DRAWS)
		return -1;
	/* the CSR is parsed again from its text (rare: a collision of 128 random bits) rather than every
	 * request holding its parsed form (~27 kB) until it is answered */
	struct csr *csr = calloc(1, sizeof(*csr));
	if (!csr)
		return -1;
	dbuf_free(&a->tbs);
	dbuf_init(&a->tbs);
	bool parsed = csr_parse((const unsigned char *)a->csr_text, a->csr_len, csr, why) == 0;
	csr->no_cn = a->no_cn; /* the subject issue_check chose, as the first draw had it */
	if (parsed &&
	    issue_build_tbs(a->app, (unsigned)(a->p - a->app->profiles.p), csr, &a->tbs, serial, validity, why) == 0)
		rc = issue_async_submit(a, csr, serial, validity);
	csr_free(csr);
	free(csr);
	return rc;
}

static void issue_async_finish(struct issue_async *a)
{
	pool_job_done(a->pool, a->j);
	issue_async_free(a);
}

/* The signer refused the TBS: 502 with the signer's reason once its failed state is committed; else 503, the
 * row still pending (issue_why_refusal_unrecorded). */
static void issue_async_failed(void *arg, int rc)
{
	struct issue_async *a = arg;
	if (rc) {
		log_event("error", "commit_failed", "serial=%s state=failed rc=%d", a->rec.c.serial_hex, rc);
		issue_why_refusal_unrecorded(a->rec.c.serial_hex, a->s.why, sizeof(a->s.why));
		job_error(a->j, 503, "unavailable", a->s.why);
	} else {
		job_error(a->j, 502, "signer", a->s.why);
	}
	issue_async_finish(a);
}

static void issue_async_done(void *arg, int rc)
{
	struct issue_async *a = arg;
	struct job *j = a->j;
	const char *serial = a->rec.c.serial_hex;
	if (rc == HSMCA_ERR_SERIAL && issue_async_redraw(a) == 0)
		return; /* queued again under a fresh serial; this callback runs again */
	if (rc) {
		struct issue_outcome o;
		memset(&o, 0, sizeof(o));
		snprintf(o.serial, sizeof(o.serial), "%s", serial);
		log_event("error", "db_failed", "step=intent serial=%s rc=%d", serial, rc);
		issue_intent_refusal(&o, rc, false); /* (renewals are not issued here: issue_core) */
		job_error(j, o.status, o.code, o.why);
	} else if (a->s.sign_rc == HSMCA_ERR_IO || a->s.sign_rc == HSMCA_ERR_AGAIN) {
		atomic_fetch_add(&a->app->failed, 1); /* stays pending: recovery completes it */
		issue_why_later(a->s.sign_rc, serial, a->s.why, sizeof(a->s.why));
		job_error(j, 503, "signer-unavailable", a->s.why);
	} else if (a->s.sign_rc) {
		atomic_fetch_add(&a->app->failed, 1);
		issue_fail_details(a->s.why, a->fail_details, sizeof(a->fail_details));
		a->res = (struct issue_result){ a->actor, serial, a->s.why, a->fail_details, NULL };
		if (committer_submit(a->app->committer, a->res.serial, issue_result_apply, &a->res, issue_async_failed, a) == 0)
			return;
		issue_async_failed(a, HSMCA_ERR_NOMEM);
		return;
	} else if (a->s.result_rc == HSMCA_ERR_EXISTS) { /* the row is no longer pending (commit_recheck) */
		log_event("error", "db_failed", "step=result serial=%s rc=%d", serial, a->s.result_rc);
		issue_why_not_pending(serial, a->s.why, sizeof(a->s.why));
		job_error(j, 409, "not-pending", a->s.why);
	} else if (a->s.result_rc) {
		log_event("error", "db_failed", "step=result serial=%s rc=%d", serial, a->s.result_rc);
		unrecorded_put(serial, a->s.der.data, a->s.der.len); /* recovery stores it instead of signing again */
		issue_why_unrecorded(serial, a->s.why, sizeof(a->s.why));
		job_error(j, 503, "unavailable", a->s.why); /* stays pending (recovery re-signs it), or was issued */
	} else {
		atomic_fetch_add(&a->app->issued, 1);
		log_event("info", "issued", "serial=%s profile=%s requester=%s", serial, a->p->name, a->actor);
		issue_reply_app(a->app, j, a->p, serial, &a->s.der);
	}
	issue_async_finish(a);
}

/* Queues the intent of a checked request and returns at once: 0 (the job is no longer the caller's), or -1
 * with o (it could not be queued; the job is still the caller's). tbs is taken; csr_text is copied; cred
 * (NULL: none) says the request's credential in its audit row (by_api_key, by_login_cert). */
static int issue_async_start(struct app *app, struct pool *pool, struct job *j, const char *actor,
			     const struct profile *p, const struct issue_extra *cred, const struct csr *csr,
			     const char *csr_text, size_t csr_len, struct dbuf *tbs, const time_t validity[2],
			     struct issue_outcome *o)
{
	struct issue_async *a = calloc(1, sizeof(*a));
	o->status = 503;
	o->code = "unavailable";
	snprintf(o->why, sizeof(o->why), "could not record the request");
	if (!a)
		return -1;
	a->app = app;
	a->pool = pool;
	a->j = j;
	a->p = p;
	snprintf(a->actor, sizeof(a->actor), "%s", actor);
	a->x.by_api_key = cred && cred->by_api_key;
	a->x.by_login_cert = cred && cred->by_login_cert;
	a->no_cn = csr->no_cn;
	a->tbs = *tbs;
	dbuf_init(tbs);
	dbuf_init(&a->s.der);
	if ((a->csr_text = malloc(csr_len ? csr_len : 1)) != NULL) {
		memcpy(a->csr_text, csr_text, csr_len);
		a->csr_len = csr_len;
		if (issue_async_submit(a, csr, o->serial, validity) == 0)
			return 0; /* j may be finished and freed already */
	}
	issue_async_free(a);
	return -1;
}

int issue_run(struct worker *w, struct job *j, const char *actor, const struct profile *p, const char *csr_text,
	      size_t csr_len, bool via_cert, struct issue_outcome *o)
{
	struct issue_extra cred = { 0 };
	const struct issue_extra *x = issue_credential(&cred, j, via_cert) ? &cred : NULL;
	if (p->needs_approval || !w->app->committer || !w->pool)
		return issue_core(w, actor, j->peer, p, csr_text, csr_len, x, o);
	struct csr csr;
	struct dbuf tbs;
	time_t validity[2] = { 0, 0 };
	int ret = -1;
	memset(&csr, 0, sizeof(csr));
	dbuf_init(&tbs);
	if (issue_prepare(w, actor, j->peer, p, csr_text, csr_len, x, o, &csr, &tbs, validity) == 0 &&
	    issue_async_start(w->app, w->pool, j, actor, p, x, &csr, csr_text, csr_len, &tbs, validity, o) == 0) {
		w->deferred = true; /* the worker must not touch j again */
		ret = 2;
	}
	csr_free(&csr);
	dbuf_free(&tbs);
	return ret;
}

bool issue_inline(struct app *app, struct pool *pool, struct job *j)
{
	struct db_account acct;
	struct json_doc *doc = NULL;
	struct issue_outcome o;
	struct csr csr;
	struct dbuf tbs;
	time_t validity[2] = { 0, 0 };
	char why[ISSUE_WHY_MAX];
	const char *csr_text = NULL, *pname = NULL;
	size_t csr_len = 0;
	bool taken = false;
	const struct profile *p;
	struct issue_extra cred = { 0 };
	if (j->kind != JOB_ISSUE || j->client_cert || !app->committer ||
	    !auth_cached(app->rl, j->auth, j->peer, &acct) ||
	    !issue_role_may_request(acct.role) || acct.key_profile[0] ||
	    issue_body(j, &doc, &csr_text, &csr_len, &pname, why) != 0 ||
	    !(p = profiles_find(&app->profiles, pname)) || p->needs_approval ||
	    /* its signature checked on the loop only if that is cheap: a large RSA key or exponent (~1 ms for
	     * RSA-4096 with a 256-bit one) goes to a worker, like everything the loop does not take */
	    !csr_cheap_key((const unsigned char *)csr_text, csr_len)) {
		json_free(doc);
		return false;
	}
	memset(&o, 0, sizeof(o));
	memset(&csr, 0, sizeof(csr));
	dbuf_init(&tbs);
	if (issue_check(app, acct.name, p, csr_text, csr_len, NULL, &o, &csr, &tbs, validity) == 0 &&
	    issue_async_start(app, pool, j, acct.name, p, issue_credential(&cred, j, false) ? &cred : NULL, &csr,
			      csr_text, csr_len, &tbs, validity, &o) == 0)
		taken = true;
	csr_free(&csr);
	dbuf_free(&tbs);
	json_free(doc);
	OPENSSL_cleanse(&acct, sizeof(acct));
	return taken;
}
