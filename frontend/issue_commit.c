/* The durable steps of one issuance on a worker thread: the intent committed (its row and audit details built,
 * another serial drawn on a collision), the TBS signed through the worker's signer connection or taken from
 * the committer's sign-ahead, and the result committed. */
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "commit.h"
#include "db_lifecycle.h"
#include "frame.h"
#include "inflight.h"
#include "intent.h"
#include "issue_priv.h"
#include "json.h"
#include "log.h"
#include "signerfit.h"
#include "tbsbuild.h"

/* Sign-ahead (commit.h): what the committer did for this worker thread's current intent after committing it
 * (signed it, committed it issued). issue_sign and issue_commit_result take it from here when they are asked
 * about the very same TBS and certificate. */
struct issue_ahead {
	bool active;
	struct dbuf tbs; /* a copy, made before the intent is committed: matched by content */
	char serial[DB_SERIAL_HEX_MAX];
	struct commit_sign s;
	/* issue_sign handed s.der's buffer to its caller (nothing to copy, so nothing can fail once the row is
	 * issued); issue_commit_result knows it by the serial and this pointer, never read through */
	const uint8_t *handed;
};
static _Thread_local struct issue_ahead issue_ahead;

void issue_ahead_clear(void)
{
	if (!issue_ahead.active)
		return;
	dbuf_free(&issue_ahead.s.der);
	dbuf_free(&issue_ahead.tbs);
	issue_ahead.handed = NULL;
	issue_ahead.active = false;
}

int issue_sign(struct worker *w, const char *label, const struct dbuf *tbs, struct dbuf *out_der, char *why, bool live)
{
	if (issue_ahead.active && !issue_ahead.handed && issue_ahead.tbs.len == tbs->len &&
	    memcmp(issue_ahead.tbs.data, tbs->data, tbs->len) == 0) {
		int rc = issue_ahead.s.sign_rc;
		if (rc == 0) {
			dbuf_free(out_der);
			*out_der = issue_ahead.s.der;
			dbuf_init(&issue_ahead.s.der);
			issue_ahead.handed = out_der->data;
			return 0;
		}
		snprintf(why, ISSUE_WHY_MAX, "%s", issue_ahead.s.why);
		issue_ahead_clear();
		return rc;
	}
	return issue_sign_frame(w, FRAME_SIGN_CERT, label, tbs, out_der, why, live);
}

int issue_sign_frame(struct worker *w, uint8_t type, const char *label, const struct dbuf *tbs, struct dbuf *out_der,
		     char *why, bool live)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!w->sgn_open) {
			/* bounded: a hung signer (stopped, its HSM stuck) must not hold this worker for ever */
			/* a signer restarted with other keys or pins: logged (signerfit_recheck) */
			if (signerfit_open(&w->sgn, w->app, w->app->conf.signer_socket,
					   w->app->conf.timeout_seconds * 1000u) != 0) {
				sgn_client_close(&w->sgn);
				snprintf(why, ISSUE_WHY_MAX, "the signer is not available (sealed or down)");
				return HSMCA_ERR_IO;
			}
			w->sgn_open = true;
		}
		int rc = sgn_client_sign(&w->sgn, type, label, tbs->data, tbs->len, out_der);
		if (rc == 0)
			return 0;
		if (rc == HSMCA_ERR_POLICY) {
			snprintf(why, ISSUE_WHY_MAX, "%s", w->sgn.err_msg);
			if (w->sgn.err_code == FRAME_E_MALFORMED) {
				sgn_client_close(&w->sgn); /* the signer closes after a malformed TBS */
				w->sgn_open = false;
			}
			/* an HSM error, a sealed signer, its clock: nothing said about this TBS */
			bool final = live ? sgn_client_refusal_final_live(w->sgn.err_code)
					  : sgn_client_refusal_final(w->sgn.err_code);
			return final ? rc : HSMCA_ERR_AGAIN;
		}
		bool timed_out = w->sgn.timed_out;
		sgn_client_close(&w->sgn); /* connection lost (signer restarted?): reconnect once */
		w->sgn_open = false;
		if (timed_out) { /* hung, not restarted: asking again would only wait as long again */
			snprintf(why, ISSUE_WHY_MAX, "the signer did not answer in time");
			return HSMCA_ERR_IO;
		}
	}
	snprintf(why, ISSUE_WHY_MAX, "the signer connection failed");
	return HSMCA_ERR_IO;
}

/* an approved request is signed with the TBS it was held with: the signer must still take its notBefore */
_Static_assert(DB_APPROVAL_TTL_DEFAULT + 3600 < POLICY_CERT_BACKDATE, "approvals outlive the signer's backdate bound");

int issue_intent_apply(struct db *db, void *arg)
{
	const struct issue_intent *in = arg;
	int rc = in->held_id ? db_cert_insert_held(db, in->cert, in->details, DB_APPROVAL_TTL_DEFAULT, in->held_id)
			     : db_cert_insert_pending(db, in->cert);
	return rc ? rc
		  : db_audit_append(db, in->actor, in->held_id ? "certificate.held" : "certificate.requested",
				    in->serial, in->details);
}

int issue_result_apply(struct db *db, void *arg)
{
	const struct issue_result *r = arg;
	int rc = r->fail_why ? db_cert_mark_failed(db, r->serial, r->fail_why)
			     : db_cert_mark_issued(db, r->serial, r->der->data, r->der->len);
	return rc ? rc
		  : db_audit_append(db, r->actor, r->fail_why ? "certificate.failed" : "certificate.issued", r->serial,
				    r->details);
}

/* Runs one write (state change + its audit row) durably: in the committer's next batch when there is a
 * committer (the running service), else in its own transaction on this worker's connection. */
static int issue_write(struct worker *w, int (*apply)(struct db *, void *), void *arg, const char *step,
		       const char *serial, const struct db_batch_intent *bi, const struct db_batch_issued *bs)
{
	int rc;
	if (w->app->committer) {
		rc = bi ? committer_run_intent(w->app->committer, bi, apply, arg)
		   : bs ? committer_run_issued(w->app->committer, bs, apply, arg)
			: committer_run(w->app->committer, apply == issue_result_apply ? serial : NULL, apply, arg);
	} else {
		rc = db_begin(w->db);
		if (!rc && !(rc = apply(w->db, arg)))
			rc = db_commit(w->db);
		if (rc)
			db_rollback(w->db);
	}
	if (rc)
		log_event("error", "db_failed", "step=%s serial=%s rc=%d", step, serial, rc);
	return rc;
}

void issue_rec_free(struct issue_rec *r)
{
	dbuf_free(&r->sans);
	dbuf_free(&r->details);
}
/* The subject as the certificate carries it, in RFC 4514 text: "CN=<value>" with '"', '+', ',', ';', '<',
 * '>' and backslash escaped (and a leading '#' or space, a trailing space), or "" for the empty subject. */
static void issue_subject_text(const char *cn, char *out, size_t out_len)
{
	size_t o = 0, n = cn ? strlen(cn) : 0;
	out[0] = 0;
	if (!cn || out_len < 4)
		return;
	memcpy(out, "CN=", 3);
	o = 3;
	for (size_t i = 0; i < n && o + 3 < out_len; i++) {
		char c = cn[i];
		if (strchr("\"+,;<>\\", c) || ((c == '#' || c == ' ') && i == 0) || (c == ' ' && i == n - 1))
			out[o++] = '\\';
		out[o++] = c;
	}
	out[o] = 0;
}

int issue_rec_build(struct issue_rec *r, const uint8_t intent_key[INTENT_KEY_LEN], bool held, const struct profile *p,
		    const char *actor, const char *serial, const struct csr *csr, const struct dbuf *tbs,
		    const time_t validity[2], const struct issue_extra *x)
{
	char tbs_hash[65];
	dbuf_init(&r->sans);
	dbuf_init(&r->details);
	if ((held ? intent_mac_held : intent_mac)(intent_key, serial, p->issuer, tbs->data, tbs->len, r->mac))
		return HSMCA_ERR_CRYPTO;
	for (size_t i = 0; i < csr->n_sans; i++) {
		const char *t = csr->sans[i].type == CSR_SAN_DNS ? "DNS:" : csr->sans[i].type == CSR_SAN_IP ? "IP:" : "email:";
		if (i)
			dbuf_add(&r->sans, ",", 1);
		dbuf_add(&r->sans, t, strlen(t));
		dbuf_add(&r->sans, csr->sans[i].value, strlen(csr->sans[i].value));
	}
	dbuf_add(&r->sans, "", 1);
	issue_subject_text(tbsbuild_cn(csr), r->subject, sizeof(r->subject));
	r->c = (struct db_cert){ .subject = r->subject, .tbs = tbs->data, .tbs_len = tbs->len,
				 .not_before = validity[0], .not_after = validity[1],
				 .renews_serial_hex = x ? x->renews_serial : NULL,
				 .authsign_token = x ? x->authsign_token : NULL, .intent_mac = r->mac };
	snprintf(r->c.serial_hex, sizeof(r->c.serial_hex), "%s", serial);
	snprintf(r->c.issuer, sizeof(r->c.issuer), "%s", p->issuer);
	snprintf(r->c.profile, sizeof(r->c.profile), "%s", p->name);
	snprintf(r->c.requester, sizeof(r->c.requester), "%s", actor);
	log_sha256_hex(tbs->data, tbs->len, tbs_hash);
	struct dbuf *d = &r->details;
	dbuf_add(d, "{\"profile\": ", 12);
	json_write_string(d, p->name);
	dbuf_add(d, ", \"tbs_sha256\": ", 16);
	json_write_string(d, tbs_hash);
	if (x && x->renews_serial) {
		dbuf_add(d, ", \"renews\": ", 12);
		json_write_string(d, x->renews_serial);
	}
	if (x && x->via) {
		dbuf_add(d, ", \"via\": ", 9);
		json_write_string(d, x->via);
	}
	if (x && x->by_api_key)
		dbuf_add(d, ", \"credential\": \"api-key\"", 25);
	else if (x && x->by_login_cert)
		dbuf_add(d, ", \"credential\": \"login-certificate\"", 35);
	dbuf_add(d, "}", 2); /* with the NUL */
	if (d->failed || r->sans.failed) {
		issue_rec_free(r);
		return HSMCA_ERR_NOMEM;
	}
	r->c.sans = (const char *)r->sans.data;
	return 0;
}

static int issue_commit_intent(struct worker *w, const struct profile *p, const char *actor, const char *serial,
			       const struct csr *csr, const struct dbuf *tbs, const time_t validity[2],
			       const struct issue_extra *x, int64_t *held_id)
{
	struct issue_rec rec;
	int rc;
	if ((rc = issue_rec_build(&rec, w->app->intent_key, held_id != NULL, p, actor, serial, csr, tbs, validity, x)))
		return rc;
	const char *details = (const char *)rec.details.data;
	struct issue_intent in = { &rec.c, actor, serial, details, held_id };
	struct db_batch_intent bi = { &rec.c, actor, details }; /* what issue_intent_apply does unheld */
	issue_ahead_clear();
	if (!held_id && w->app->committer) {
		struct issue_ahead *a = &issue_ahead;
		/* the copy first: once the intent is committed the committer signs it and records it issued, and
		 * a copy that failed then would leave this thread unable to tell its result from a new request */
		dbuf_init(&a->tbs);
		dbuf_add(&a->tbs, tbs->data, tbs->len);
		if (a->tbs.failed) {
			dbuf_free(&a->tbs);
			issue_rec_free(&rec);
			return HSMCA_ERR_NOMEM;
		}
		memset(&a->s, 0, sizeof(a->s));
		a->s.socket = w->app->conf.signer_socket;
		a->s.label = p->issuer;
		a->s.tbs = tbs->data;
		a->s.tbs_len = tbs->len;
		a->s.actor = actor;
		a->s.app = w->app;
		rc = committer_run_intent_sign(w->app->committer, &bi, issue_intent_apply, &in, &a->s);
		if (rc) {
			log_event("error", "db_failed", "step=intent serial=%s rc=%d", serial, rc);
			dbuf_free(&a->s.der);
			dbuf_free(&a->tbs);
		} else {
			a->active = true;
			snprintf(a->serial, sizeof(a->serial), "%s", serial);
		}
	} else {
		rc = issue_write(w, issue_intent_apply, &in, held_id ? "held" : "intent", serial, held_id ? NULL : &bi, NULL);
	}
	issue_rec_free(&rec);
	return rc;
}

/* issue_commit_intent, drawing another serial (and building the TBS again) while the serial is another
 * row's (HSMCA_ERR_SERIAL), at most ISSUE_SERIAL_DRAWS serials. An unheld intent's serial is recorded in
 * inflight.c (*inflight: the caller forgets o->serial once the request is answered). */
int issue_commit_intent_drawn(struct worker *w, const struct profile *p, const char *actor,
			      struct issue_outcome *o, struct csr *csr, struct dbuf *tbs, time_t validity[2],
			      const struct issue_extra *x, int64_t *held_id, bool *inflight)
{
	for (int draws = 1;; draws++) {
		if (!held_id) {
			if (inflight_add(o->serial)) /* recovery leaves it alone until this request is answered */
				return HSMCA_ERR_NOMEM;
			*inflight = true;
		}
		int rc = issue_commit_intent(w, p, actor, o->serial, csr, tbs, validity, x, held_id);
		if (rc != HSMCA_ERR_SERIAL || draws == ISSUE_SERIAL_DRAWS)
			return rc;
		log_event("warning", "serial_collision", "serial=%s draws=%d", o->serial, draws);
		if (*inflight) {
			inflight_del(o->serial);
			*inflight = false;
		}
		dbuf_free(tbs);
		dbuf_init(tbs);
		if ((rc = issue_build_tbs(w->app, (unsigned)(p - w->app->profiles.p), csr, tbs, o->serial, validity,
					  o->why)))
			return rc;
	}
}

void issue_fail_details(const char *why, char *out, size_t out_len)
{
	struct dbuf d;
	dbuf_init(&d);
	dbuf_add(&d, "{\"reason\": ", 11);
	json_write_string(&d, why ? why : "");
	dbuf_add(&d, "}", 2);
	snprintf(out, out_len, "%s", d.failed ? "{}" : (const char *)d.data);
	dbuf_free(&d);
}

int issue_commit_result(struct worker *w, const char *actor, const char *serial, const struct dbuf *der,
			const char *fail_why)
{
	char details[ISSUE_WHY_MAX + 64];
	if (issue_ahead.active && !fail_why && der && strcmp(serial, issue_ahead.serial) == 0 &&
	    issue_ahead.s.sign_rc == 0 && issue_ahead.handed && der->data == issue_ahead.handed) {
		int rc = issue_ahead.s.result_rc; /* committed by the committer in the batch after the intent's */
		issue_ahead_clear();
		if (rc)
			log_event("error", "db_failed", "step=result serial=%s rc=%d", serial, rc);
		return rc;
	}
	issue_ahead_clear();
	issue_fail_details(fail_why, details, sizeof(details));
	struct issue_result r = { actor, serial, fail_why, fail_why ? details : "{}", der };
	struct db_batch_issued bs = { serial, der ? der->data : NULL, der ? der->len : 0, actor, "{}" };
	return issue_write(w, issue_result_apply, &r, "result", serial, NULL, fail_why ? NULL : &bs);
}

void issue_fail_unrenewable(struct worker *w, const char *actor, const char *serial, const char *renews,
			    const struct dbuf *der, char *why)
{
	char reason[ISSUE_WHY_MAX], hex[2 * SHA256_DIGEST_LENGTH + 1];
	uint8_t md[SHA256_DIGEST_LENGTH];
	SHA256(der->data, der->len, md);
	for (size_t i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	/* (022: that certificate; 027: one down its renewal chain, revoked but as superseded). The certificate the
	 * signer made is named by its hash: no certificate the HSM signed is unknown to the database, though this
	 * one is never stored (the row is failed) nor handed out */
	snprintf(reason, sizeof(reason), "renews %s, which or a certificate down whose renewal chain was revoked while "
		 "this renewal was signed; the certificate signed (SHA-256 %s) was discarded", renews, hex);
	if (issue_commit_result(w, actor, serial, NULL, reason))
		log_event("error", "commit_failed", "serial=%s state=failed", serial);
	snprintf(why, ISSUE_WHY_MAX, "the certificate being renewed, or one down its renewal chain, was revoked while "
		 "the renewal was signed; certificate %s is not issued", serial);
}
