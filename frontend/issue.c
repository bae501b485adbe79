/* POST /api/v1/certificates on a worker thread: authenticate, parse, apply the profile, commit the intent,
 * sign, commit the result (issue_core; without an approval step the last three happen in the committer:
 * issue_async.c), and the recovery of pending rows. */
#include "issue.h"

#include <arpa/inet.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "certauth.h"
#include "cfssl.h"
#include "commit.h"
#include "db_lifecycle.h"
#include "frame.h"
#include "inflight.h"
#include "intent.h"
#include "issue_priv.h"
#include "issuerfit.h"
#include "json.h"
#include "log.h"
#include "pool.h"
#include "signerfit.h"
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

static void issue_ahead_clear(void)
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
		int rc = sgn_client_sign(&w->sgn, FRAME_SIGN_CERT, label, tbs->data, tbs->len, out_der);
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

char *issue_pem(const uint8_t *der, size_t len)
{
	return tbsbuild_pem_cert(der, len); /* base64 of the DER as PEM_write_bio_X509 lays it out, no decoding */
}

void issue_reply(struct worker *w, struct job *j, const struct profile *p, const char *serial, const struct dbuf *der)
{
	issue_reply_app(w->app, j, p, serial, der);
}

void issue_reply_app(const struct app *a, struct job *j, const struct profile *p, const char *serial,
		     const struct dbuf *der)
{
	/* the chain of the issuer that signed it (conf.chain if p is NULL) */
	issue_reply_chain(j, p && a->issuer_chain[p - a->profiles.p] ? a->issuer_chain[p - a->profiles.p] : a->chain_pem,
			  serial, der);
}

void issue_reply_chain(struct job *j, const char *chain, const char *serial, const struct dbuf *der)
{
	char *cert = issue_pem(der->data, der->len);
	if (!cert) {
		job_error(j, 500, "internal", "cannot encode the certificate");
		return;
	}
	dbuf_free(&j->resp);
	dbuf_init(&j->resp);
	j->status = 201;
	strcpy(j->content_type, "application/json");
	dbuf_add(&j->resp, "{\"serial\": ", 11);
	json_write_string(&j->resp, serial);
	dbuf_add(&j->resp, ", \"certificate\": ", 17);
	json_write_string(&j->resp, cert);
	dbuf_add(&j->resp, ", \"chain\": ", 11);
	json_write_string(&j->resp, chain);
	dbuf_add(&j->resp, "}\n", 2);
	free(cert);
}

const char issue_why_login_by_key[] =
	"a login certificate logs a person in (it manages accounts and decides approvals): request it with a "
	"password (HTTP Basic), not with an API key";
const char issue_why_login_by_cert[] =
	"a login certificate logs a person in: request a new one with your password (HTTP Basic), not a login "
	"certificate, whose key, stolen, must not mint one that outlives its revocation";

void issue_reply_held_msg(struct job *j, const struct issue_outcome *o, const char *message)
{
	char id[24];
	dbuf_free(&j->resp);
	dbuf_init(&j->resp);
	j->status = 202;
	strcpy(j->content_type, "application/json");
	snprintf(id, sizeof(id), "%lld", (long long)o->approval_id);
	dbuf_add(&j->resp, "{\"serial\": ", 11);
	json_write_string(&j->resp, o->serial);
	static const char mid[] = ", \"status\": \"held\", \"approval\": ";
	dbuf_add(&j->resp, mid, sizeof(mid) - 1);
	dbuf_add(&j->resp, id, strlen(id));
	dbuf_add(&j->resp, ", \"message\": ", 13);
	json_write_string(&j->resp, message);
	dbuf_add(&j->resp, "}\n", 2);
}

void issue_reply_held(struct job *j, const struct issue_outcome *o)
{
	issue_reply_held_msg(j, o, "waiting for an administrator's approval; GET /api/v1/certificates/{serial} "
				   "returns the certificate once issued");
}

/* The request body: exactly {"csr": "...", "profile": "..."} */
int issue_body(const struct job *j, struct json_doc **doc, const char **csr, size_t *csr_len, const char **profile,
		      char *why)
{
	char err[128];
	if (json_parse((const char *)j->body, j->body_len, doc, err, sizeof(err)) != 0) {
		snprintf(why, ISSUE_WHY_MAX, "request body is not valid JSON (%s)", err);
		return HSMCA_ERR_PARSE;
	}
	const struct json_node *root = json_root(*doc);
	if (json_type(root) != JSON_OBJECT || json_object_len(root) != 2 ||
	    !(*csr = json_string(json_get(root, "csr"), csr_len)) ||
	    !(*profile = json_string(json_get(root, "profile"), NULL))) {
		snprintf(why, ISSUE_WHY_MAX, "expected exactly {\"csr\": PEM, \"profile\": name}");
		return HSMCA_ERR_PARSE;
	}
	return 0;
}

/* The 503s after the intent is committed name the certificate: it will exist (recovery completes it), and its
 * requester can fetch it rather than ask again and leave it unclaimed. */
void issue_why_later(int rc, const char *serial, char *why, size_t len)
{
	if (rc == HSMCA_ERR_AGAIN) { /* why holds the signer's reason */
		char reason[ISSUE_WHY_MAX];
		snprintf(reason, sizeof(reason), "%s", why);
		snprintf(why, len, "the signer could not sign it now (%.200s); certificate %s is recorded and will be "
			 "completed by the recovery pass (GET /api/v1/certificates/%s)", reason, serial, serial);
	} else {
		snprintf(why, len, "the signer is unavailable; certificate %s is recorded and will be completed when the "
			 "signer is back (GET /api/v1/certificates/%s)", serial, serial);
	}
}

void issue_why_unrecorded(const char *serial, char *why, size_t len)
{
	snprintf(why, len, "certificate %s was signed but could not be confirmed as recorded; GET "
		 "/api/v1/certificates/%s returns it once it is (the recovery pass completes it if it was not)",
		 serial, serial);
}

bool issue_credential(struct issue_extra *x, const struct job *j, bool via_cert)
{
	x->by_api_key = auth_is_api_key(j->auth);
	x->by_login_cert = via_cert;
	return x->by_api_key || x->by_login_cert;
}

void issue_why_refusal_unrecorded(const char *serial, char *why, size_t len)
{
	char reason[ISSUE_WHY_MAX];
	snprintf(reason, sizeof(reason), "%s", why);
	snprintf(why, len, "the signer refused it (%.200s), but that could not be recorded: certificate %s stays "
		 "pending until the recovery pass completes or fails it (GET /api/v1/certificates/%s)", reason, serial,
		 serial);
}

void issue_why_not_pending(const char *serial, char *why, size_t len)
{
	snprintf(why, len, "certificate %s was completed another way meanwhile; GET /api/v1/certificates/%s returns "
		 "what is stored", serial, serial);
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
static int issue_commit_intent_drawn(struct worker *w, const struct profile *p, const char *actor,
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

/* The type cfssl gives a "hosts" entry (signer.OverrideHosts): an IP address; else an email address (one
 * mail.ParseAddress takes: here anything with an '@', which the profile's email rule then checks); else a URI
 * (one url.ParseRequestURI takes: a scheme's ':' or a leading '/'; the profiles allow none, so it is refused
 * as such, not as a malformed DNS name); else a DNS name. */
static enum csr_san_type issue_host_type(const char *h)
{
	uint8_t addr[16];
	if (inet_pton(AF_INET, h, addr) == 1 || inet_pton(AF_INET6, h, addr) == 1)
		return CSR_SAN_IP;
	if (strchr(h, '@'))
		return CSR_SAN_EMAIL;
	if (strchr(h, ':') || h[0] == '/')
		return CSR_SAN_URI;
	return CSR_SAN_DNS;
}

/* An IP address as the CSR's path writes it (inet_ntop: IPv6 in RFC 5952's form, "2001:db8::1"), in place:
 * "2001:DB8:0:0:0:0:0:1" became the CN and the stored name as typed, one address under two spellings. */
static int issue_ip_canonical(char value[CSR_SAN_MAX])
{
	uint8_t addr[16];
	char text[INET6_ADDRSTRLEN];
	int af = strchr(value, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(af, value, addr) != 1 || !inet_ntop(af, addr, text, sizeof(text)))
		return HSMCA_ERR_PARSE;
	snprintf(value, CSR_SAN_MAX, "%s", text);
	return 0;
}

/* Replaces the CSR's names with a CFSSL-style "hosts" list, typed as cfssl types them (issue_host_type). The
 * list's shape was checked as it was parsed (cfssl_hosts_parse), before any token was claimed; checked again
 * here since the CSR's table is fixed-size. */
static int issue_hosts(struct csr *csr, const struct issue_hostlist *hosts, char *why)
{
	if (hosts->n == 0 || hosts->n > CSR_MAX_SANS) {
		snprintf(why, ISSUE_WHY_MAX, "hosts: 1..%d names", CSR_MAX_SANS);
		return HSMCA_ERR_PARSE;
	}
	for (size_t i = 0; i < hosts->n; i++) {
		size_t len = hosts->len[i];
		if (len == 0 || len >= CSR_SAN_MAX || memchr(hosts->name[i], '\0', len)) {
			snprintf(why, ISSUE_WHY_MAX, "hosts: entry %zu is not a name", i);
			return HSMCA_ERR_PARSE;
		}
		memcpy(csr->sans[i].value, hosts->name[i], len);
		csr->sans[i].value[len] = '\0';
		csr->sans[i].type = issue_host_type(csr->sans[i].value);
		if (csr->sans[i].type == CSR_SAN_IP && issue_ip_canonical(csr->sans[i].value)) {
			snprintf(why, ISSUE_WHY_MAX, "hosts: entry %zu is not an IP address", i);
			return HSMCA_ERR_PARSE;
		}
	}
	csr->n_sans = hosts->n;
	return 0;
}

void issue_intent_refusal(struct issue_outcome *o, int rc, bool renewal)
{
	if (rc == HSMCA_ERR_EXISTS && !renewal) { /* commit_recheck: stored, then completed by another path */
		o->status = 409;
		o->code = "not-pending";
		issue_why_not_pending(o->serial, o->why, sizeof(o->why));
		return;
	}
	if (rc == HSMCA_ERR_EXISTS) {
		o->status = 409;
		o->code = "already-renewed";
		snprintf(o->why, sizeof(o->why), "this certificate has already been renewed");
		return;
	}
	if (rc == HSMCA_ERR_POLICY) { /* schema 013: revoked between the renewal's checks and its intent's commit */
		o->status = 403;
		o->code = "not-renewable";
		snprintf(o->why, sizeof(o->why), "the certificate being renewed is no longer issued (revoked meanwhile)");
		return;
	}
	if (rc == HSMCA_ERR_AGAIN) { /* schema 013: the renewed row is locked (a revocation under way?) */
		o->status = 503;
		o->code = "busy";
		snprintf(o->why, sizeof(o->why), "the certificate being renewed is being changed right now; try again");
		return;
	}
	o->status = 503;
	o->code = "unavailable";
	if (rc == HSMCA_ERR_IO && o->serial[0]) /* the connection lost: the server may have stored it all the same */
		snprintf(o->why, sizeof(o->why), "could not record the request, or not confirm that it was: if certificate "
			 "%s was recorded, the recovery pass completes it (GET /api/v1/certificates/%s)", o->serial, o->serial);
	else
		snprintf(o->why, sizeof(o->why), "could not record the request");
}

int issue_sans_text(struct csr *csr, const char *text, char *why)
{
	size_t n = 0;
	const char *s = text;
	while (*s) {
		const char *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);
		enum csr_san_type t = !strncmp(s, "DNS:", 4) ? CSR_SAN_DNS
				      : !strncmp(s, "IP:", 3)  ? CSR_SAN_IP
				      : !strncmp(s, "email:", 6) ? CSR_SAN_EMAIL
								 : 0;
		size_t skip = t == CSR_SAN_DNS ? 4 : t == CSR_SAN_IP ? 3 : 6;
		if (!t || n == CSR_MAX_SANS || len <= skip || len - skip >= CSR_SAN_MAX) {
			snprintf(why, ISSUE_WHY_MAX, "the stored names of the certificate cannot be reused");
			return HSMCA_ERR_STATE;
		}
		csr->sans[n].type = t;
		memcpy(csr->sans[n].value, s + skip, len - skip);
		csr->sans[n].value[len - skip] = 0;
		n++;
		s += len + (end ? 1 : 0);
		if (end && !*s) { /* a comma with nothing after it: not a list the frontend wrote */
			snprintf(why, ISSUE_WHY_MAX, "the stored names of the certificate cannot be reused");
			return HSMCA_ERR_STATE;
		}
	}
	if (n == 0) {
		snprintf(why, ISSUE_WHY_MAX, "the certificate has no names to renew");
		return HSMCA_ERR_STATE;
	}
	csr->n_sans = n;
	return 0;
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
		issue_refuse(w, j, acct.name, 400, "unknown-profile", "no such profile");
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
