/* Before a TBS read back from the database is signed: its intent checked (issue_intent_verify); and the
 * recovery pass, which signs the pending rows left behind (or fails them) and records their results. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "db_lifecycle.h"
#include "inflight.h"
#include "intent.h"
#include "issue_priv.h"
#include "log.h"
#include "unrecorded.h"

int issue_intent_verify(struct worker *w, const char *serial, const char *issuer, const uint8_t *tbs, size_t tbs_len,
			const struct db_intent_macs *m, const char *by, char *why, size_t why_len)
{
	const struct app *a = w->app;
	const uint8_t *also = a->has_intent_key_accept ? a->intent_key_accept : NULL;
	int rc = intent_verify(a->intent_key, also, serial, issuer, tbs, tbs_len, m->has_mac ? m->mac : NULL,
			       m->legacy, why, why_len);
	enum intent_gate gate = (enum intent_gate)m->gate;
	if (rc == HSMCA_ERR_AUTH && m->has_mac) { /* stored held: it needs its release, whatever the approval rows say */
		char why_held[ISSUE_WHY_MAX];
		int held = intent_verify_held(a->intent_key, also, serial, issuer, tbs, tbs_len, m->mac, why_held,
					      sizeof why_held);
		if (held == 0)
			rc = 0, gate = INTENT_GATED;
		else if (held == HSMCA_ERR_CRYPTO)
			rc = held, snprintf(why, why_len, "%s", why_held);
	}
	if (rc == 0)
		rc = intent_release_verify(a->intent_key, also, serial, gate, m->has_release_mac ? m->release_mac : NULL,
					   why, why_len);
	if (rc != HSMCA_ERR_AUTH)
		return rc;
	log_event("error", "intent_refused", "serial=%s%s%s why=\"%s\"", serial, by ? " approved_by=" : "", by ? by : "",
		  why);
	atomic_fetch_add(&w->app->intents_refused, 1);
	return HSMCA_ERR_POLICY;
}

struct issue_recover_ctx {
	struct worker *w;
	const char *serial; /* the row being recovered */
	unsigned issued, failed, deferred, skipped;
	const char *outcome; /* what the claimed row was written as ("issued", "failed"), NULL if nothing */
	bool signer_down; /* the signer did not answer: the pass ends */
	unsigned failed_in_a_row; /* rows the database refused one after another: at ISSUE_RECOVER_FAILS the pass ends */
};
#define ISSUE_RECOVER_FAILS 3

/* db_cert_claim_pending's fn: the row is pending and locked by this transaction, so no other frontend's
 * recovery signs it meanwhile; signs its TBS and writes its state and audit row in the same transaction
 * (not through the committer, whose batch would wait for this lock). 0 also when it stays pending. */
static int issue_recover_claimed(void *vctx, struct db *db, const struct db_intent *in)
{
	struct issue_recover_ctx *ctx = vctx;
	struct dbuf t, der;
	char why[ISSUE_WHY_MAX], details[ISSUE_WHY_MAX + 64];
	int rc;
	dbuf_init(&t);
	dbuf_init(&der);
	/* only an intent this appliance's frontend wrote is signed: anything else is failed, never sent */
	rc = issue_intent_verify(ctx->w, in->serial_hex, in->issuer, in->tbs, in->tbs_len, in->macs, NULL, why,
				 sizeof why);
	char gone[DB_SERIAL_HEX_MAX] = "", gone_why[DB_NAME_MAX] = "";
	if (rc == 0 && in->renews && (!in->renewed_status || strcmp(in->renewed_status, "issued") != 0)) {
		/* a renewal whose certificate was revoked after its intent was committed (a signer outage kept it
		 * pending): not signed over a revocation */
		snprintf(why, sizeof why, "renews %s, which is %s now", in->renews,
			 in->renewed_status ? in->renewed_status : "gone");
		rc = HSMCA_ERR_POLICY;
	} else if (rc == 0 && in->renews && (rc = db_cert_chain_revoked(db, in->renews, gone, gone_why)) == 0 &&
		   gone[0]) {
		/* nor over one further down its chain (schema 027 would refuse its issued state: before, the row
		 * stayed pending, signed again at every pass, and three such rows ended every pass) */
		snprintf(why, sizeof why, "renews %s, down whose renewal chain %s was revoked (%s)", in->renews, gone,
			 gone_why);
		rc = HSMCA_ERR_POLICY;
	} else if (rc == 0 && unrecorded_take(in->serial_hex, in->tbs, in->tbs_len, &der)) {
		/* signed by this process before, its issued state not committed: that certificate, not a second one */
		log_event("info", "recovery_unrecorded", "serial=%s", ctx->serial);
	} else if (rc == 0) {
		dbuf_add(&t, in->tbs, in->tbs_len);
		rc = t.failed ? HSMCA_ERR_NOMEM : issue_sign(ctx->w, in->issuer, &t, &der, why, false);
	}
	if (rc == HSMCA_ERR_AGAIN) {
		/* the HSM down, the key not loaded, ...: nothing said about this TBS, so it stays pending (the 503
		 * promised "completed when the signer is back") and the next pass asks again */
		log_event("warning", "recovery_deferred", "serial=%s signer_error=%u why=\"%s\"", ctx->serial,
			  (unsigned)ctx->w->sgn.err_code, why);
		ctx->deferred++;
		rc = 0;
		goto out;
	}
	if (rc && rc != HSMCA_ERR_POLICY) {
		ctx->signer_down = rc == HSMCA_ERR_IO;
		goto out; /* HSMCA_ERR_IO: signer unreachable or no answer in time: the row stays pending */
	}
	issue_fail_details(rc ? why : NULL, details, sizeof(details));
	struct issue_result r = { "recovery", ctx->serial, rc ? why : NULL, rc ? details : "{}", rc ? NULL : &der };
	/* kept until the claim's transaction has committed (issue_recover_one drops it then): if the write or the
	 * COMMIT fails, the next pass stores this certificate, not a second signature */
	if (der.len)
		unrecorded_put(ctx->serial, der.data, der.len);
	if ((rc = issue_result_apply(db, &r)) == 0)
		ctx->outcome = der.len ? "issued" : "failed";
out:
	dbuf_free(&t);
	dbuf_free(&der);
	return rc;
}

static atomic_bool issue_recover_stopping; /* issue_recover_stop */

static int issue_recover_one(void *vctx, const char *serial, const char *issuer, const uint8_t *tbs, size_t tbs_len)
{
	struct issue_recover_ctx *ctx = vctx;
	bool claimed = false;
	(void)issuer, (void)tbs, (void)tbs_len; /* read again under the row's lock */
	if (atomic_load(&issue_recover_stopping))
		return HSMCA_ERR_STATE; /* stopping: the rows left wait for the next start */
	if (inflight_has(serial)) { /* this process is signing it right now (committer or worker) */
		ctx->skipped++;
		return 0;
	}
	ctx->serial = serial;
	ctx->signer_down = false;
	ctx->outcome = NULL;
	int rc = db_cert_claim_pending(ctx->w->db, serial, issue_recover_claimed, ctx, &claimed);
	if (rc == 0 && ctx->outcome) { /* committed */
		unrecorded_drop(serial);
		(strcmp(ctx->outcome, "issued") == 0 ? ctx->issued++ : ctx->failed++);
		log_event("info", "recovered", "serial=%s outcome=%s", serial, ctx->outcome);
	}
	/* the signer or the database unavailable: the pass ends, the rows stay pending. A server error on this
	 * row alone (a statement it fails, with the session up) is logged and the pass goes on: every row after
	 * it (they are taken in id order) would otherwise wait for ever behind it. Not after a statement timeout
	 * (the next row would wait as long), nor after ISSUE_RECOVER_FAILS such rows in a row (the database
	 * refusing every write: each row would be signed and its write fail, pass after pass) */
	if (rc == HSMCA_ERR_IO && (ctx->signer_down || !db_connection_ok(ctx->w->db)))
		return rc;
	if (rc) {
		log_event("error", "recovery_failed", "serial=%s rc=%d why=\"%s\"", serial, rc, db_errmsg(ctx->w->db));
		if (db_timed_out(ctx->w->db) || ++ctx->failed_in_a_row >= ISSUE_RECOVER_FAILS)
			return rc;
		return 0;
	}
	ctx->failed_in_a_row = 0;
	if (!claimed)
		ctx->skipped++; /* completed meanwhile, or another frontend's recovery holds it */
	return 0;
}

void issue_recover_stop(void)
{
	atomic_store(&issue_recover_stopping, true);
}

bool issue_recover_stopped(void)
{
	return atomic_load(&issue_recover_stopping);
}

int issue_recover(struct worker *w, unsigned min_age, unsigned *out_issued, unsigned *out_failed)
{
	struct issue_recover_ctx ctx = { .w = w };
	*out_issued = *out_failed = 0;
	if (atomic_load(&issue_recover_stopping))
		return 0;
	int rc = issue_db(w);
	issue_ahead_clear(); /* recovery's answers come from the signer itself (its err_code is read) */
	if (!rc)
		rc = db_cert_pending_each(w->db, min_age, issue_recover_one, &ctx);
	*out_issued = ctx.issued;
	*out_failed = ctx.failed;
	return rc == HSMCA_ERR_STATE && atomic_load(&issue_recover_stopping) ? 0 : rc;
}
