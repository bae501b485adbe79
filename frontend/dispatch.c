/* Which handler runs a job on a worker thread (one line per job kind). */
#include <stdatomic.h>

#include "approve.h"
#include "admin.h"
#include "cfssl.h"
#include "certget.h"
#include "crl.h"
#include "issue.h"
#include "log.h"
#include "pool.h"
#include "renew.h"
#include "revoke.h"
#include "signerfit.h"
#include "signerup.h"

/* One recovery pass at a time in this process: a pass is queued every few seconds whether or not the last
 * one is still running (waiting on a slow signer), and two passes would sign the same rows. */
static atomic_bool dispatch_recovering;

bool dispatch_recovery_running(void)
{
	return atomic_load(&dispatch_recovering);
}

static void dispatch_recover(struct worker *w)
{
	unsigned issued = 0, failed = 0;
	unsigned expired = 0;
	if (atomic_exchange(&dispatch_recovering, true)) {
		log_event("info", "recovery_skipped", "why=\"the previous pass is still running\"");
		return;
	}
	if (issue_recover(w, w->app->conf.recover_after_seconds, &issued, &failed) == 0 && (issued || failed))
		log_event("info", "recovery", "issued=%u failed=%u", issued, failed);
	/* whether the signer serves, for /healthz, also while no request asks it (signerup.h): after the pass,
	 * which must not wait behind a probe of a hung signer; while it is down the one-second probe asks */
	if (!issue_recover_stopped() && signerup_up() && signerup_probe(w->app) != 0)
		(void)signerup_probe(w->app); /* a second failure in a row takes it for down (SIGNERUP_FAILS) */
	if (w->db) /* the pass may have met a new signer process while no batch ran: who unsealed it */
		(void)signerfit_record_unsealed(w->db);
	if (!issue_recover_stopped() && approve_expire(w, &expired) == 0 && expired)
		log_event("info", "approvals_expired", "count=%u", expired);
	atomic_store(&dispatch_recovering, false);
}

void handle_job(struct worker *w, struct job *j)
{
	if (j->kind == JOB_SIGNER_PROBE) { /* no database: PostgreSQL down too would cost each probe a reconnect */
		(void)signerup_probe(w->app);
		return signerup_probe_release();
	}
	/* a job is a unit of work: a connection PostgreSQL dropped since the last one is replaced here */
	if (w->db && db_ensure(w->db))
		log_event("warn", "db_unavailable", "worker=%u why=\"%s\"", w->id, db_errmsg(w->db));
	switch (j->kind) {
	case JOB_ISSUE:
		return issue_request(w, j);
	case JOB_CFSSL_AUTHSIGN:
		return cfssl_authsign(w, j);
	case JOB_CFSSL_SIGN:
		return cfssl_sign(w, j);
	case JOB_CFSSL_INFO:
		return cfssl_info(w, j);
	case JOB_CERT_GET:
		return certget_request(w, j);
	case JOB_RENEW:
		return renew_request(w, j);
	case JOB_RENEW_CHALLENGE:
		return renew_challenge(w, j);
	case JOB_APPROVALS:
		return approve_request(w, j);
	case JOB_ACCOUNTS:
		return admin_request(w, j);
	case JOB_REVOKE:
		return revoke_request(w, j);
	case JOB_CRL:
		return crl_request(w, j);
	case JOB_RECOVER:
		return dispatch_recover(w);
	default:
		return job_error(j, 404, "not-found", "no such endpoint");
	}
}
