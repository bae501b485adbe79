#include "renew.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "certauth.h"
#include "csr.h"
#include "db_lifecycle.h"
#include "issue.h"
#include "json.h"
#include "log.h"
#include "span.h"
#include "tbs.h"

#define RENEW_TAG "hsmca-renewal-v1"

/* The MAC under key (app.renew_key or renew_key_accept) of a challenge's body "v1.<serial>.<time>.<nonce>"
 * (hex, 64 digits); false if HMAC failed. */
static bool renew_mac(const unsigned char key[INTENT_MAC_LEN], const char *body, size_t len, char out[65])
{
	uint8_t mac[32], buf[RENEW_CHALLENGE_MAX + sizeof(RENEW_TAG)];
	unsigned ml = 0;
	_Static_assert(INTENT_MAC_LEN == INTENT_KEY_LEN, "a renewal key is as long as an intent key");
	if (len > RENEW_CHALLENGE_MAX || intent_key_wiped(key)) /* wiped at exit (app_wipe): makes and takes nothing */
		return false;
	memcpy(buf, RENEW_TAG, sizeof(RENEW_TAG)); /* with its NUL as a separator */
	memcpy(buf + sizeof(RENEW_TAG), body, len);
	if (!HMAC(EVP_sha256(), key, INTENT_MAC_LEN, buf, sizeof(RENEW_TAG) + len, mac, &ml) || ml != sizeof(mac))
		return false;
	span_hex(mac, sizeof(mac), out);
	return true;
}

/* A fresh challenge for serial: "v1.<serial>.<unix time>.<32 hex nonce>.<64 hex MAC>". */
static int renew_make_challenge(const struct app *a, const char *serial, char out[RENEW_CHALLENGE_MAX])
{
	uint8_t nonce[16];
	char nhex[33], mac[65];
	if (RAND_bytes(nonce, sizeof(nonce)) != 1)
		return HSMCA_ERR_CRYPTO;
	span_hex(nonce, sizeof(nonce), nhex);
	int n = snprintf(out, RENEW_CHALLENGE_MAX, "v1.%s.%lld.%s", serial, (long long)time(NULL), nhex);
	if (n < 0 || n + 66 >= RENEW_CHALLENGE_MAX)
		return HSMCA_ERR_LIMIT;
	if (!renew_mac(a->renew_key, out, (size_t)n, mac))
		return HSMCA_ERR_CRYPTO;
	snprintf(out + n, RENEW_CHALLENGE_MAX - (size_t)n, ".%s", mac);
	return 0;
}

/* Checks that c was made by a frontend of this appliance (under the intent key, or the one still accepted) for
 * serial within RENEW_CHALLENGE_TTL. */
static bool renew_check_challenge(const struct app *a, const char *c, const char *serial, char *why)
{
	char mac[65], expect[64];
	const char *dot = strrchr(c, '.');
	int n = snprintf(expect, sizeof(expect), "v1.%s.", serial);
	if (!dot || n < 0 || (size_t)n >= sizeof(expect) || strncmp(c, expect, (size_t)n) != 0 || strlen(dot + 1) != 64) {
		snprintf(why, ISSUE_WHY_MAX, "the challenge is not one issued for this certificate");
		return false;
	}
	bool ok = renew_mac(a->renew_key, c, (size_t)(dot - c), mac) && CRYPTO_memcmp(mac, dot + 1, 64) == 0;
	if (!ok && a->has_intent_key_accept)
		ok = renew_mac(a->renew_key_accept, c, (size_t)(dot - c), mac) && CRYPTO_memcmp(mac, dot + 1, 64) == 0;
	if (!ok) {
		snprintf(why, ISSUE_WHY_MAX, "the challenge is not one issued by this appliance (or its intent key changed)");
		return false;
	}
	long long t = strtoll(c + n, NULL, 10), now = (long long)time(NULL);
	if (t > now + 5 || now - t > RENEW_CHALLENGE_TTL) {
		snprintf(why, ISSUE_WHY_MAX, "the challenge has expired (valid %d s); ask for a new one",
			 RENEW_CHALLENGE_TTL);
		return false;
	}
	return true;
}

static bool renew_check_signature(const uint8_t *der, size_t der_len, const char *msg, const uint8_t *sig,
				  size_t sig_len)
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)der_len);
	EVP_PKEY *k = x ? X509_get0_pubkey(x) : NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = k && ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, k) == 1 &&
		  EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)msg, strlen(msg)) == 1;
	EVP_MD_CTX_free(ctx);
	X509_free(x);
	return ok;
}

/* What the holder signs: the challenge, '.', and the lowercase hex SHA-256 of the new CSR's public key (its
 * SubjectPublicKeyInfo DER), so that a proof seen on the way cannot carry someone else's key. The CSR is
 * parsed (and its own signature verified) here; issuance parses it again. */
static int renew_signed_text(const char *challenge, const char *csr_text, size_t csr_len,
			     char out[RENEW_SIGNED_MAX], char *why)
{
	struct csr c;
	char key_hash[2 * SHA256_DIGEST_LENGTH + 1];
	int rc = csr_parse((const unsigned char *)csr_text, csr_len, &c, why);
	if (rc)
		return rc;
	log_sha256_hex(c.spki, c.spki_len, key_hash);
	csr_free(&c);
	if (snprintf(out, RENEW_SIGNED_MAX, "%s.%s", challenge, key_hash) >= RENEW_SIGNED_MAX) {
		snprintf(why, ISSUE_WHY_MAX, "the challenge is too long");
		return HSMCA_ERR_PARSE;
	}
	return 0;
}

static void renew_json_reply(struct job *j, int status, const char *challenge)
{
	dbuf_free(&j->resp);
	dbuf_init(&j->resp);
	j->status = status;
	strcpy(j->content_type, "application/json");
	JSON_LIT(&j->resp, "{\"challenge\": ");
	json_write_string(&j->resp, challenge);
	JSON_LIT(&j->resp, ", \"expires_in\": 300, \"sign_with\": \"SHA-256\", \"signed_text\": "
			   "\"<challenge>.<lowercase hex SHA-256 of the new CSR's DER SubjectPublicKeyInfo>\"}\n");
}

void renew_challenge(struct worker *w, struct job *j)
{
	char serial[DB_SERIAL_HEX_MAX], why[ISSUE_WHY_MAX], c[RENEW_CHALLENGE_MAX];
	struct db_cert_row r;
	time_t now = time(NULL);
	memset(&r, 0, sizeof(r));
	/* a malformed request or an unknown serial counts against the address as a failed proof does: whoever
	 * walks serials (or floods the database with lookups from one address) gets 429s without a query */
	if (auth_peer_limited(w, j->peer))
		return job_error(j, 429, "rate-limited", "too many failed renewal requests from this address; try again "
				 "later");
	if (renew_parse_challenge_request(j->body, j->body_len, serial, why)) {
		auth_peer_failed(w, j->peer);
		return job_error(j, 400, "bad-request", why);
	}
	if (issue_db(w))
		return job_error(j, 503, "unavailable", "the database is unavailable");
	int rc = db_cert_get(w->db, serial, &r);
	if (rc == HSMCA_ERR_NOTFOUND) {
		auth_peer_failed(w, j->peer);
		job_error(j, 404, "not-found", "no such certificate");
	} else if (rc)
		job_error(j, 503, "unavailable", "the database is unavailable");
	else if (strcmp(r.status, "issued") != 0) /* the status /renew answers for the same certificate */
		job_error(j, !strcmp(r.status, "revoked") ? 403 : 409, "not-renewable",
			  "only an issued, unrevoked certificate can be renewed");
	else if (!r.renewed_by[0] && (r.not_after <= now || r.not_before > now))
		/* as /renew would answer after the proof, and count it as a failed one (a renewal made earlier is
		 * still collected with a challenge after the old certificate expired) */
		job_error(j, 403, "not-renewable", "the certificate is expired or not yet valid");
	else if (renew_make_challenge(w->app, serial, c))
		job_error(j, 500, "internal", "cannot make a challenge");
	else
		renew_json_reply(j, 200, c);
	db_cert_row_free(&r);
}

/* Refuses a renewal (audited as the certificate's requester, or "-" before it is known; object: the
 * certificate being renewed once it is proven, else "-"). */
static void renew_refuse_on(struct worker *w, struct job *j, const char *actor, const char *object, int status,
			    const char *code, const char *why)
{
	issue_audit_refusal_on(w, actor, object, NULL, j->peer, code, why);
	job_error(j, status, code, why);
}

static void renew_refuse(struct worker *w, struct job *j, const char *actor, int status, const char *code,
			 const char *why)
{
	renew_refuse_on(w, j, actor, "-", status, code, why);
}

/* A failed proof of possession: refused, audited and counted against the address (repeated failures
 * get 429 without touching the database or the audit log). */
static void renew_bad_proof(struct worker *w, struct job *j, const char *actor, int status, const char *code,
			    const char *why)
{
	auth_peer_failed(w, j->peer);
	renew_refuse(w, j, actor, status, code, why);
}

/* A renewal refused after its proof, for what the certificate or its account has become (revoked, failed,
 * expired, renewed already, its account disabled or its profile gone): audited in the owner's name, and
 * counted as a failed proof against the address, as a revoked login certificate is (certauth.c): TLS does
 * not look at revocation, and the holder of a leaked key, or of one whose owner left, must not fill the log
 * in its owner's name by asking again and again (429 after a few). */
static void renew_refuse_proven(struct worker *w, struct job *j, const struct db_cert_row *old, int status,
				const char *code, const char *why)
{
	auth_peer_failed(w, j->peer);
	renew_refuse_on(w, j, old->requester, old->serial_hex, status, code, why);
}

static const char renew_held_message[] =
	"waiting for an administrator's approval; send this renewal again (a new challenge, or over mutual TLS, "
	"with a CSR of the same key) to collect the certificate once it is issued";

/* Whether the renewal row r is for the key of the CSR csr_text: 0, 1 (another key), csr_parse's error, or
 * HSMCA_ERR_STATE if the stored row's TBS does not parse (the database's fault, not the request's). */
static int renew_same_key(const struct db_cert_row *r, const char *csr_text, size_t csr_len, char *why)
{
	struct csr c;
	struct tbs_cert t;
	char twhy[TBS_WHY_MAX];
	int rc = csr_parse((const unsigned char *)csr_text, csr_len, &c, why);
	if (rc)
		return rc;
	if (!tbs_cert_parse(span_make(r->tbs, r->tbs_len), &t, twhy))
		rc = HSMCA_ERR_STATE, snprintf(why, ISSUE_WHY_MAX, "renewal %s: its stored TBS is unreadable", r->serial_hex);
	else
		rc = t.spki.len == c.spki_len && memcmp(t.spki.data, c.spki, c.spki_len) == 0 ? 0 : 1;
	csr_free(&c);
	return rc;
}

/* The certificate was renewed before (old->renewed_by): the holder, proven again, collects that renewal when
 * its CSR has the renewal's key (a held one once it is approved, one a signer outage kept pending once
 * recovery has signed it), instead of being told 409 with nothing to fetch: a key holder has no account to
 * GET it with. A renewal of another key stays 409. Nothing changes, so nothing is audited. */
static void renew_collect(struct worker *w, struct job *j, const struct db_cert_row *old, const struct renew_body *b)
{
	struct db_cert_row r;
	struct issue_outcome o;
	char why[ISSUE_WHY_MAX];
	memset(&r, 0, sizeof(r));
	memset(&o, 0, sizeof(o));
	int rc = db_cert_get(w->db, old->renewed_by, &r);
	if (rc) {
		job_error(j, 503, "unavailable", "the database is unavailable");
		goto out;
	}
	if ((rc = renew_same_key(&r, b->csr, b->csr_len, why)) < 0) {
		const char *code = "internal";
		int status = 500;
		if (rc == HSMCA_ERR_STATE)
			log_event("error", "row_refused", "table=certificates serial=%s why=\"%s\"", r.serial_hex, why);
		else
			status = csr_refusal(rc, &code);
		job_error(j, status, code, why);
		goto out;
	}
	if (rc == 1 || (strcmp(r.status, "issued") && strcmp(r.status, "held") && strcmp(r.status, "pending"))) {
		/* a failed or revoked renewal cannot be renewed in turn: its holder needs a new certificate */
		bool dead = !strcmp(r.status, "failed") || !strcmp(r.status, "revoked");
		snprintf(why, sizeof(why), "already renewed by %s (%s%s); %s", r.serial_hex, r.status,
			 rc == 1 ? ", for another key" : "",
			 dead ? "this certificate cannot be renewed again: request a new one" : "renew that one");
		renew_refuse_proven(w, j, old, 409, "already-renewed", why);
		goto out;
	}
	snprintf(o.serial, sizeof(o.serial), "%s", r.serial_hex);
	if (!strcmp(r.status, "held")) {
		o.approval_id = r.approval_id;
		issue_reply_held_msg(j, &o, renew_held_message);
	} else if (!strcmp(r.status, "pending")) {
		snprintf(why, sizeof(why), "renewal %s is not signed yet (being signed, or waiting for the signer); "
			 "send this renewal again in a few seconds to collect it", r.serial_hex);
		job_error(j, 503, "renewal-pending", why);
	} else if (certauth_genuine(w->app, &r, why) != 0) {
		log_event("error", "row_refused", "table=certificates serial=%s why=\"%s\"", r.serial_hex, why);
		atomic_fetch_add(&w->app->rows_refused, 1);
		job_error(j, 409, "already-renewed", "already renewed, by a certificate this appliance did not sign");
	} else {
		struct dbuf der = { .data = r.der, .len = r.der_len };
		/* the chain of the CA that signed it, which may be a former one by now (app_chain_for) */
		issue_reply_chain(j, app_chain_for(w->app, r.issuer, r.der, r.der_len), r.serial_hex, &der);
		if (j->status == 201) /* collected, not created (a failed reply keeps its error status) */
			j->status = 200;
		log_event("info", "renewal_collected", "serial=%s renews=%s", r.serial_hex, old->serial_hex);
	}
out:
	db_cert_row_free(&r);
}

/* Another renewal of the same certificate committed first (the unique index of schema 002): a client that
 * sent its renewal twice (a retry after a timeout) collects the one that won if it is for the same key,
 * else 409 as before. */
static void renew_raced(struct worker *w, struct job *j, const struct db_cert_row *old, const struct renew_body *b,
			const struct issue_outcome *o)
{
	struct db_cert_row now;
	memset(&now, 0, sizeof(now));
	if (db_cert_get(w->db, old->serial_hex, &now) == 0 && now.renewed_by[0])
		renew_collect(w, j, &now, b);
	else
		job_error(j, o->status, o->code, o->why);
	db_cert_row_free(&now);
}

static void renew_not_renewable(struct worker *w, struct job *j, const struct db_cert_row *old, int status,
				const char *why)
{
	renew_refuse_proven(w, j, old, status, "not-renewable", why);
}

/* The old certificate is proven: apply the renewal rules and issue. */
static void renew_issue(struct worker *w, struct job *j, const struct db_cert_row *old, const struct renew_body *b,
			const char *via)
{
	struct issue_outcome o;
	char why[ISSUE_WHY_MAX];
	time_t now = time(NULL);
	const char *actor = old->requester;
	memset(&o, 0, sizeof(o));
	dbuf_init(&o.der);
	if (strcmp(old->status, "issued") != 0) {
		snprintf(why, sizeof(why), "certificate %s is %s; only an issued, unrevoked certificate can be renewed",
			 old->serial_hex, old->status);
		return renew_not_renewable(w, j, old, !strcmp(old->status, "revoked") ? 403 : 409, why);
	}
	/* a certificate it renews revoked (keyCompromise, say): the thief of that key may have renewed it into this
	 * one, and would go on renewing past the revocation; superseded is the rotation's own (renew, then revoke) */
	char gone[DB_SERIAL_HEX_MAX], reason[DB_NAME_MAX];
	int rc = db_cert_chain_revoked(w->db, old->serial_hex, gone, reason);
	if (rc)
		return job_error(j, 503, "unavailable", "the database is unavailable");
	if (gone[0] && !strcmp(reason, DB_CHAIN_TOO_LONG)) {
		snprintf(why, sizeof(why), "this certificate's renewal chain is longer than " DB_CHAIN_MAX_TEXT " (at %s): "
			 "request a new certificate with your credentials", gone);
		return renew_refuse_proven(w, j, old, 403, "chain-revoked", why);
	}
	if (gone[0]) {
		snprintf(why, sizeof(why), "certificate %s, which this one renews, was revoked (%s): whoever held its key "
			 "may have made this one; request a new certificate with your credentials", gone, reason);
		return renew_refuse_proven(w, j, old, 403, "chain-revoked", why);
	}
	rc = issue_account_may_request(w, old->requester); /* as every other way to a certificate */
	if (rc == HSMCA_ERR_NOTFOUND)
		return renew_refuse_proven(w, j, old, 403, "account-disabled",
					   "the account that requested this certificate is disabled or gone");
	if (rc == HSMCA_ERR_AUTH)
		return renew_refuse_proven(w, j, old, 403, "forbidden",
					   "the account that requested this certificate may no longer request certificates");
	if (rc)
		return job_error(j, 503, "unavailable", "the database is unavailable");
	/* collecting a renewal made earlier changes nothing: the old certificate may have expired meanwhile (a
	 * held renewal waits for its approval, a pending one for the signer) */
	if (old->renewed_by[0])
		return renew_collect(w, j, old, b);
	if (old->not_after <= now || old->not_before > now) {
		snprintf(why, sizeof(why), "certificate %s is expired or not yet valid", old->serial_hex);
		return renew_not_renewable(w, j, old, 403, why);
	}
	const struct profile *p = profiles_find(&w->app->profiles, old->profile);
	if (!p)
		return renew_refuse_proven(w, j, old, 409, "unknown-profile", "the certificate's profile no longer exists");
	struct issue_extra x = { .sans = old->sans, .renews_serial = old->serial_hex, .via = via };
	rc = issue_core(w, actor, j->peer, p, b->csr, b->csr_len, &x, &o);
	if (rc < 0 && o.code && !strcmp(o.code, "not-renewable")) /* revoked after the checks above (schema 013) */
		renew_refuse_proven(w, j, old, o.status, o.code, o.why);
	else if (rc < 0 && o.code && !strcmp(o.code, "already-renewed"))
		renew_raced(w, j, old, b, &o);
	else if (rc < 0 && o.recorded && o.code && (o.status == 503 || !strcmp(o.code, "not-pending"))) {
		/* the reason says GET /api/v1/certificates/{serial}, which needs an account a key holder does not
		 * have: sending the renewal again collects it (renew_collect), or makes it anew if it was not kept */
		snprintf(why, sizeof(why), "renewal %s is not complete (%s); send this renewal again with the same key "
			 "to collect it", o.serial, o.code);
		job_error(j, o.status, o.code, why);
	} else if (rc < 0) {
		/* a refusal of the new CSR by the profile (key type, names, an issuer's constraints), audited in the
		 * owner's name by issue_core: it counts against the address as the refusals above do, or a leaked key
		 * could fill the log in its owner's name without end (5 a minute).
		 * The same for the signer's refusal (502: the row failed, and the same proof would sign again) and a
		 * state of the appliance that lasts (503 profile-diverged, issuer-unusable): neither ends by
		 * itself within the challenge's life, and each try wrote a refusal in the owner's name */
		bool lasting = o.status == 502 || (o.status == 503 && o.code && (!strcmp(o.code, "profile-diverged") ||
										  !strcmp(o.code, "issuer-unusable")));
		/* not passing trouble (409: its stored names); 413 a CSR over its cap, which the body's cap lets
		 * through over mutual TLS (the challenge's proof parses the CSR first, and fails for it) */
		if (o.status == 400 || o.status == 403 || o.status == 413 || lasting)
			auth_peer_failed(w, j->peer);
		job_error(j, o.status, o.code, o.why);
	} else if (rc == 1)
		issue_reply_held_msg(j, &o, renew_held_message);
	else
		issue_reply(w, j, p, o.serial, &o.der);
	if (rc == 0)
		log_event("info", "renewed", "serial=%s renews=%s via=%s", o.serial, old->serial_hex, via);
	dbuf_free(&o.der);
}

void renew_request(struct worker *w, struct job *j)
{
	struct renew_body b;
	struct db_cert_row old;
	char why[ISSUE_WHY_MAX], serial[DB_SERIAL_HEX_MAX], signed_text[RENEW_SIGNED_MAX];
	int rc;
	memset(&old, 0, sizeof(old));
	memset(&b, 0, sizeof(b));
	if (auth_peer_limited(w, j->peer)) {
		job_error(j, 429, "rate-limited", "too many failed renewal proofs from this address; try again later");
		goto out;
	}
	/* refusals before a proof are audited as "-" and counted against the address, as a state-changing
	 * request without credentials is on every other endpoint: so they leave a trace, and end in 429s */
	if (renew_parse(j->body, j->body_len, &b, why)) {
		renew_bad_proof(w, j, "-", 400, "bad-request", why);
		goto out;
	}
	if (issue_db(w)) {
		job_error(j, 503, "unavailable", "the database is unavailable");
		goto out;
	}
	if (j->client_cert && !b.serial) {
		/* mutual TLS: the TLS layer verified the chain; the certificate must be the very one we issued */
		if ((rc = certauth_lookup(w, j->client_cert, j->client_cert_len, &old))) {
			bool unknown = rc == HSMCA_ERR_NOTFOUND || rc == HSMCA_ERR_PARSE;
			(unknown ? renew_bad_proof : renew_refuse)(
				w, j, "-", unknown ? 403 : 503, unknown ? "unknown-certificate" : "unavailable",
				unknown ? "the client certificate was not issued by this appliance" : "the database is unavailable");
			goto out;
		}
		renew_issue(w, j, &old, &b, "mtls");
		goto out;
	}
	if (!b.serial) {
		renew_bad_proof(w, j, "-", 401, "unauthorized",
				"present the current certificate over mutual TLS, or send serial, challenge and signature");
		goto out;
	}
	for (size_t i = 0; i <= strlen(b.serial); i++)
		serial[i] = (char)(b.serial[i] >= 'A' && b.serial[i] <= 'F' ? b.serial[i] - 'A' + 'a' : b.serial[i]);
	if (!renew_check_challenge(w->app, b.challenge, serial, why)) {
		renew_bad_proof(w, j, "-", 401, "bad-challenge", why);
		goto out;
	}
	/* the new CSR before the old row: a challenge is free to get, so nothing before the proof is audited
	 * under the certificate's requester, and a bad CSR counts as a failed proof (no audit rows in another
	 * account's name from whoever knows a serial) */
	if ((rc = renew_signed_text(b.challenge, b.csr, b.csr_len, signed_text, why))) {
		const char *code;
		int status = csr_refusal(rc, &code);
		/* the server's own failure (memory) is no failed proof of the client's */
		(status >= 500 ? renew_refuse : renew_bad_proof)(w, j, "-", status, code, why);
		goto out;
	}
	if ((rc = db_cert_get(w->db, serial, &old))) {
		job_error(j, rc == HSMCA_ERR_NOTFOUND ? 404 : 503, rc == HSMCA_ERR_NOTFOUND ? "not-found" : "unavailable",
			  rc == HSMCA_ERR_NOTFOUND ? "no such certificate" : "the database is unavailable");
		goto out;
	}
	if (old.der && certauth_genuine(w->app, &old, why) != 0) {
		/* the database holds a row (issued or revoked) whose certificate this appliance did not sign:
		 * written outside the frontend, so nothing of it (profile, requester, names) is taken, nor is a
		 * refusal audited in its requester's name */
		log_event("error", "row_refused", "table=certificates serial=%s why=\"%s\"", old.serial_hex, why);
		atomic_fetch_add(&w->app->rows_refused, 1);
		renew_bad_proof(w, j, "-", 403, "not-genuine", why);
		goto out;
	}
	/* a failed proof is audited as "-": whoever knows a serial must not write rows in its owner's name */
	if (!old.der || !renew_check_signature(old.der, old.der_len, signed_text, b.sig, b.sig_len)) {
		renew_bad_proof(w, j, "-", 401, "bad-signature",
			     "the signature does not verify with the certificate's public key (sign, with SHA-256, "
			     "the challenge, a dot and the lowercase hex SHA-256 of the new CSR's public key "
			     "(its DER SubjectPublicKeyInfo))");
		goto out;
	}
	renew_issue(w, j, &old, &b, "challenge");
out:
	db_cert_row_free(&old);
	renew_body_free(&b);
}
