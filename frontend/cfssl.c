#include "cfssl.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "b64.h"
#include "certauth.h"
#include "issue.h"
#include "json.h"
#include "log.h"

#define CFSSL_PRUNE_SECONDS 60
_Static_assert(CFSSL_TOKEN_LEN == DB_TOKEN_LEN, "an authsign token is what the database holds");

/* Tokens seen are held in the database (schema 006) for 2 * CFSSL_WINDOW, whatever the timestamp says (it is
 * not covered by the token), by every frontend of the database and across restarts. 0: taken; 1: a replay;
 * negative: the database failed. Expired tokens are deleted at most once a CFSSL_PRUNE_SECONDS per process. */
static int cfssl_token_take(struct worker *w, const uint8_t *token, time_t now)
{
	static _Atomic long long pruned_at;
	long long last = pruned_at;
	bool prune = now - last >= CFSSL_PRUNE_SECONDS &&
		     atomic_compare_exchange_strong(&pruned_at, &last, (long long)now);
	/* a cleanup that fails (a lock, a statement timeout) costs this request nothing: the next one tries again */
	if (prune && db_token_prune(w->db, 2 * CFSSL_WINDOW))
		log_event("warn", "authsign_prune_failed", "worker=%u why=\"%s\"", w->id, db_errmsg(w->db));
	int rc = db_token_claim(w->db, token, 2 * CFSSL_WINDOW);

	if (rc == HSMCA_ERR_EXISTS)
		return 1;
	if (rc)
		log_event("error", "db_error", "worker=%u what=authsign_token why=\"%s\"", w->id, db_errmsg(w->db));
	return rc;
}

void cfssl_error(struct job *j, int status, const char *msg)
{
	dbuf_free(&j->resp);
	dbuf_init(&j->resp);
	j->status = status;
	strcpy(j->content_type, "application/json");
	char code[16];
	snprintf(code, sizeof(code), "%d", status);
	dbuf_add(&j->resp, "{\"success\": false, \"result\": null, \"errors\": [{\"code\": ", 55);
	dbuf_add(&j->resp, code, strlen(code));
	dbuf_add(&j->resp, ", \"message\": ", 13);
	json_write_string(&j->resp, msg);
	dbuf_add(&j->resp, "}], \"messages\": []}\n", 20);
}

static void cfssl_result(struct job *j, const char *cert_pem, const char *extra)
{
	dbuf_init(&j->resp);
	j->status = 200;
	strcpy(j->content_type, "application/json");
	dbuf_add(&j->resp, "{\"success\": true, \"result\": {\"certificate\": ", 44);
	json_write_string(&j->resp, cert_pem);
	dbuf_add(&j->resp, extra, strlen(extra));
	dbuf_add(&j->resp, "}, \"errors\": [], \"messages\": []}\n", 33);
}

/* A 200 CFSSL answer carrying the DER certificate as PEM. */
static void cfssl_reply_der(struct job *j, const uint8_t *der, size_t len)
{
	char *pem = issue_pem(der, len);
	if (pem)
		cfssl_result(j, pem, "");
	else
		cfssl_error(j, 500, "cannot encode the certificate");
	free(pem);
}

static const struct profile *cfssl_profile(struct worker *w, const char *name)
{
	return profiles_find(&w->app->profiles, name && *name ? name : "default");
}

/* A Go string field: absent, null or a JSON string (anything else is not what cfssl would send). */
static bool cfssl_go_string(const struct json_node *t)
{
	return !t || json_type(t) == JSON_NULL || json_string(t, NULL) != NULL;
}

/* Fields newer cfssl clients (1.4 and later) always send, with their Go zero values when unused: NotBefore and
 * NotAfter (time.Time: "0001-01-01T00:00:00Z"), ReturnPrecert (false), metadata (null). Accepted only so;
 * anything else asks for what this CA does not do (the validity comes from the profile, no precertificates,
 * no metadata store), and is refused saying which. */
static int cfssl_go_zero(const struct json_node *r, char *why)
{
	static const char *const times[] = { "NotBefore", "NotAfter" };
	for (size_t i = 0; i < 2; i++) {
		const struct json_node *t = json_get(r, times[i]);
		const char *v = json_string(t, NULL);
		if (t && (!v || strcmp(v, "0001-01-01T00:00:00Z") != 0)) {
			snprintf(why, ISSUE_WHY_MAX, "%s is not supported: the validity comes from the profile", times[i]);
			return -1;
		}
	}
	const struct json_node *pre = json_get(r, "ReturnPrecert"), *meta = json_get(r, "metadata");
	if (pre && json_type(pre) != JSON_FALSE) {
		snprintf(why, ISSUE_WHY_MAX, "ReturnPrecert is not supported: no precertificates are issued");
		return -1;
	}
	if (meta && json_type(meta) != JSON_NULL && !(json_type(meta) == JSON_OBJECT && json_object_len(meta) == 0)) {
		snprintf(why, ISSUE_WHY_MAX, "metadata is not supported: nothing but the certificate is stored for it");
		return -1;
	}
	return 0;
}

/* One name of a hosts list: 1..CSR_SAN_MAX - 1 bytes, no NUL, no white space, no '<' or '>' (cfssl reads
 * "Name <a@b>" as the address a@b; here it would become a name holding the display name). */
static int cfssl_host_one(const char *h, size_t len, size_t i, char *why)
{
	if (len == 0 || len >= CSR_SAN_MAX) {
		snprintf(why, ISSUE_WHY_MAX, "hosts: entry %zu is empty or longer than %d bytes", i, CSR_SAN_MAX - 1);
		return HSMCA_ERR_PARSE;
	}
	for (size_t k = 0; k < len; k++) {
		unsigned char c = (unsigned char)h[k];
		if (c <= ' ' || c == 0x7f || c == '<' || c == '>') {
			snprintf(why, ISSUE_WHY_MAX, "hosts: entry %zu has white space, a control character or an "
				 "angle bracket (give a bare name or address, no display name)", i);
			return HSMCA_ERR_PARSE;
		}
	}
	return 0;
}

int cfssl_hosts_parse(const struct json_node *hosts, const struct json_node *hostname, struct issue_hostlist *out,
		      bool *has, char *why)
{
	size_t len = 0;
	const char *hn = json_string(hostname, &len);
	memset(out, 0, sizeof(*out));
	*has = false;
	if (!cfssl_go_string(hostname)) {
		snprintf(why, ISSUE_WHY_MAX, "hostname must be a string");
		return HSMCA_ERR_PARSE;
	}
	if (hn && len > 0) { /* cfssl's sign handler: a hostname wins over hosts, split at its commas */
		size_t start = 0;
		for (size_t k = 0; k <= len; k++) {
			if (k < len && hn[k] != ',')
				continue;
			if (out->n == CSR_MAX_SANS) {
				snprintf(why, ISSUE_WHY_MAX, "hostname: more than %d names", CSR_MAX_SANS);
				return HSMCA_ERR_PARSE;
			}
			if (cfssl_host_one(hn + start, k - start, out->n, why))
				return HSMCA_ERR_PARSE;
			out->name[out->n] = hn + start;
			out->len[out->n++] = k - start;
			start = k + 1;
		}
		*has = true;
		return 0;
	}
	if (!hosts || json_type(hosts) == JSON_NULL)
		return 0;
	size_t n = json_type(hosts) == JSON_ARRAY ? json_array_len(hosts) : 0;
	if (json_type(hosts) != JSON_ARRAY || n == 0 || n > CSR_MAX_SANS) {
		snprintf(why, ISSUE_WHY_MAX, "hosts must be a list of 1..%d names (an empty list, cfssl's \"no names "
			 "at all\", is not supported; leave hosts out to keep the request's names)", CSR_MAX_SANS);
		return HSMCA_ERR_PARSE;
	}
	for (size_t i = 0; i < n; i++) {
		const char *h = json_string(json_array_at(hosts, i), &len);
		if (!h) {
			snprintf(why, ISSUE_WHY_MAX, "hosts: entry %zu is not a string", i);
			return HSMCA_ERR_PARSE;
		}
		if (cfssl_host_one(h, len, i, why))
			return HSMCA_ERR_PARSE;
		out->name[i] = h;
		out->len[i] = len;
	}
	out->n = n;
	*has = true;
	return 0;
}

/* The inner request: {"certificate_request", "hosts"?, "hostname"?, "profile"?, "label"?, "crl_override"?,
 * "bundle"?} and the zero values of newer clients' fields (cfssl_go_zero). Every field is checked here, before
 * an authsign token is claimed: a refusal after the claim would make the client's retry a replay. */
static int cfssl_inner(const struct json_node *r, struct cfssl_request *out, char *why)
{
	static const char *const known[] = { "certificate_request", "hosts", "hostname", "profile", "label",
					     "crl_override", "bundle", "NotBefore", "NotAfter", "ReturnPrecert",
					     "metadata" };
	if (json_type(r) != JSON_OBJECT) {
		snprintf(why, ISSUE_WHY_MAX, "request is not a JSON object");
		return -1;
	}
	for (size_t i = 0; i < json_object_len(r); i++) {
		const char *k = json_object_key(r, i);
		bool ok = false;
		for (size_t n = 0; n < sizeof(known) / sizeof(known[0]); n++)
			ok |= !strcmp(k, known[n]);
		if (!ok) {
			snprintf(why, ISSUE_WHY_MAX, "unsupported request field %.64s", k);
			return -1;
		}
	}
	if (cfssl_go_zero(r, why))
		return -1;
	static const char *const texts[] = { "profile", "label", "crl_override" }; /* Go strings: text or null */
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		const struct json_node *t = json_get(r, texts[i]);
		if (!cfssl_go_string(t)) {
			snprintf(why, ISSUE_WHY_MAX, "%s must be a string", texts[i]);
			return -1;
		}
	}
	const struct json_node *bundle = json_get(r, "bundle");
	if (bundle && json_type(bundle) != JSON_NULL && json_type(bundle) != JSON_FALSE) {
		snprintf(why, ISSUE_WHY_MAX, "bundle is not supported: the issuer's chain is served by cfssl info and "
			 "GET /api/v1/ca/chain");
		return -1;
	}
	const char *crl = json_string(json_get(r, "crl_override"), NULL);
	out->label = json_string(json_get(r, "label"), NULL);
	out->csr = json_string(json_get(r, "certificate_request"), &out->csr_len);
	out->profile = json_string(json_get(r, "profile"), NULL);
	if (!out->csr || (crl && *crl)) {
		snprintf(why, ISSUE_WHY_MAX, "certificate_request missing, or crl_override set");
		return -1;
	}
	bool has = false;
	if (cfssl_hosts_parse(json_get(r, "hosts"), json_get(r, "hostname"), &out->host_list, &has, why))
		return -1;
	out->hosts = has ? &out->host_list : NULL;
	return 0;
}

int cfssl_authsign_parse(const uint8_t *body, size_t len, struct cfssl_authsign *a, char *why)
{
	static const char *const outer_keys[] = { "token", "request", "timestamp", "remote_address" };
	char err[128];
	uint8_t *tok = NULL;
	size_t rl = 0, tl = 0, tok_len = 0;
	int rc = HSMCA_ERR_PARSE;
	memset(a, 0, sizeof(*a));
	/* each refusal says what is wrong, the JSON parser's reason included (the outer document or the request
	 * inside it), as /api/v1/certificates does */
	if (json_parse((const char *)body, len, &a->outer, err, sizeof(err))) {
		snprintf(why, ISSUE_WHY_MAX, "authsign body is not valid JSON (%s)", err);
		return rc;
	}
	const struct json_node *root = json_root(a->outer), *tsn = json_get(root, "timestamp");
	snprintf(why, ISSUE_WHY_MAX, "authsign body is not a JSON object");
	if (json_type(root) != JSON_OBJECT)
		return rc;
	for (size_t i = 0; i < json_object_len(root); i++) {
		bool ok = false;
		for (size_t n = 0; n < sizeof(outer_keys) / sizeof(outer_keys[0]); n++)
			ok |= !strcmp(json_object_key(root, i), outer_keys[n]);
		if (!ok) {
			snprintf(why, ISSUE_WHY_MAX,
				 "authsign body has a key other than token, request, timestamp and remote_address");
			return rc;
		}
	}
	const char *rs = json_string(json_get(root, "request"), &rl), *ts64 = json_string(json_get(root, "token"), &tl);
	snprintf(why, ISSUE_WHY_MAX, "authsign token and request must be strings");
	if (!rs || !ts64)
		goto out;
	snprintf(why, ISSUE_WHY_MAX, "authsign request is not base64 of at most %u bytes", CFSSL_REQUEST_MAX);
	if (!(a->req = b64_decode_strict(rs, rl, CFSSL_REQUEST_MAX, &a->req_len)))
		goto out;
	snprintf(why, ISSUE_WHY_MAX, "authsign token is not base64 of %d bytes", CFSSL_TOKEN_LEN);
	if (!(tok = b64_decode_strict(ts64, tl, 64, &tok_len)) || tok_len != CFSSL_TOKEN_LEN)
		goto out;
	memcpy(a->token, tok, CFSSL_TOKEN_LEN);
	if (tsn && json_type(tsn) != JSON_NULL) {
		snprintf(why, ISSUE_WHY_MAX, "authsign timestamp must be an integer");
		if (!json_int(tsn, &a->ts))
			goto out;
		a->has_ts = true;
	}
	if (json_parse((const char *)a->req, a->req_len, &a->inner, err, sizeof(err))) {
		snprintf(why, ISSUE_WHY_MAX, "authsign request is not valid JSON (%s)", err);
		goto out;
	}
	if (cfssl_inner(json_root(a->inner), &a->r, why))
		goto out;
	rc = 0;
out:
	free(tok);
	return rc;
}

int cfssl_sign_parse(const uint8_t *body, size_t len, struct cfssl_sign *s, char *why)
{
	char err[128];
	memset(s, 0, sizeof(*s));
	if (len > CFSSL_REQUEST_MAX) {
		snprintf(why, ISSUE_WHY_MAX, "sign request larger than %u bytes", CFSSL_REQUEST_MAX);
		return HSMCA_ERR_PARSE;
	}
	if (json_parse((const char *)body, len, &s->doc, err, sizeof(err))) {
		snprintf(why, ISSUE_WHY_MAX, "malformed sign request: %s", err);
		return HSMCA_ERR_PARSE;
	}
	if (cfssl_inner(json_root(s->doc), &s->r, why))
		return HSMCA_ERR_PARSE;
	return 0;
}

void cfssl_sign_free(struct cfssl_sign *s)
{
	json_free(s->doc);
	memset(s, 0, sizeof(*s));
}

void cfssl_authsign_free(struct cfssl_authsign *a)
{
	json_free(a->outer);
	json_free(a->inner);
	free(a->req);
	memset(a, 0, sizeof(*a));
}

/* A label (cfssl's -label names the signer) other than the profile's issuer: true, with why. */
static bool cfssl_label_other(const struct profile *p, const char *label, char *why, size_t why_len)
{
	if (!label || !*label || !strcmp(label, p->issuer))
		return false;
	snprintf(why, why_len, "label %.64s is not profile %s's signer (%s)", label, p->name, p->issuer);
	return true;
}

/* A request that names a signer other than the profile's issuer: refused rather than signed by another key
 * than asked (true: answered). */
static bool cfssl_label_refused(struct worker *w, struct job *j, const char *actor, const struct profile *p,
				const char *label)
{
	char why[ISSUE_WHY_MAX];
	if (!cfssl_label_other(p, label, why, sizeof(why)))
		return false;
	issue_audit_refusal(w, actor, j->peer, "bad-request", why);
	cfssl_error(j, 400, why);
	return true;
}

/* Runs the issuance core for actor and replies in CFSSL's format: the certificate, or the refusal (202 for
 * a request held for approval, which a CFSSL client cannot wait for). */
/* Issues and replies; returns the refusal's code (a static string), or NULL when it was issued or held. */
static const char *cfssl_issue(struct worker *w, struct job *j, const char *actor, const struct profile *p,
			       const char *csr, size_t csr_len, const struct issue_extra *ex)
{
	struct issue_outcome o;
	char msg[ISSUE_WHY_MAX + 64];
	const char *code = NULL;
	memset(&o, 0, sizeof(o));
	dbuf_init(&o.der);
	int rc = issue_core(w, actor, j->peer, p, csr, csr_len, ex, &o);
	if (rc == 1) {
		snprintf(msg, sizeof(msg), "held for approval %lld: certificate %s is issued once an administrator "
			 "approves it", (long long)o.approval_id, o.serial);
		cfssl_error(j, 202, msg);
		goto out;
	}
	if (rc) {
		snprintf(msg, sizeof(msg), "%s: %s", o.code, o.why);
		cfssl_error(j, o.status, msg);
		code = o.code;
		goto out;
	}
	cfssl_reply_der(j, o.der.data, o.der.len);
out:
	dbuf_free(&o.der);
	return code;
}

/* A stale timestamp, or a replay that no certificate answers: 401 with msg, audited (actor "-": cfssl_authsign),
 * a failed proof. */
static void cfssl_error_replay(struct worker *w, struct job *j, const struct profile *p, const char *msg)
{
	char why[ISSUE_WHY_MAX];
	snprintf(why, sizeof(why), "stale timestamp or replayed token (profile %s)", p->name);
	auth_peer_failed(w, j->peer);
	issue_audit_refusal(w, "-", j->peer, "replay", why);
	cfssl_error(j, 401, msg);
}

/* Takes the authsign token for this request, or answers a replay (the same token: the same inner request
 * bytes) from the certificates requested with it (schema 011). 0: taken, go on and issue; 1: answered here.
 *   - a certificate it produced was revoked: refused for good (a captured request must not get a
 *     compromised key certified again; the key's holder sends a new CSR); audited, a failed proof;
 *   - its newest request was rejected by an administrator: refused for good (403), an answer from a row;
 *   - the row of its last claim is held for approval or being signed: the client is told so (202, 409);
 *   - that row failed (the signer refused its TBS, or recovery failed it): the client is told so again (502
 *     with its reason), not refused as a replay and counted as a failed proof, as before; a new attempt needs
 *     new bytes or the hold's end, or, approved, an approval's length (a replayer cannot make the signer
 *     refuse without limit);
 *   - that row was issued within the last CFSSL_WINDOW * 2 seconds, or, approved and not expired, within an
 *     approval's length (DB_APPROVAL_TTL_DEFAULT): it is sent again (a client retrying after a lost answer,
 *     or polling until an administrator approved, however seldom);
 *   - else the token is taken: within its hold (a request that produced no certificate: refused, or still
 *     before its intent) a replay refusal, audited and a failed proof, as before 011; after it the same bytes
 *     get a new certificate, as cfssl gives them (clients that renew by sending the same CSR again).
 * The answers from a row are neither audited nor counted (nothing changes; a client may poll); each costs
 * one indexed query. */
static int cfssl_token_or_replay(struct worker *w, struct job *j, const struct profile *p, const uint8_t *token,
				 time_t now)
{
	char msg[DB_SERIAL_HEX_MAX + 200];
	struct db_token_state st;
	int rc = db_token_state(w->db, token, 2 * CFSSL_WINDOW, &st), taken;

	if (rc) {
		log_event("error", "db_error", "worker=%u what=authsign_replay why=\"%s\"", w->id, db_errmsg(w->db));
		cfssl_error(j, 503, "the database is unavailable");
		goto answered;
	}
	if (st.revoked[0]) {
		auth_peer_failed(w, j->peer); /* a replayer is limited like any failed proof */
		snprintf(msg, sizeof(msg), "certificate %s, issued for this exact request, is revoked: send a new CSR",
			 st.revoked);
		issue_audit_refusal(w, "-", j->peer, "revoked-request", msg); /* a replay: anyone's (cfssl_authsign) */
		cfssl_error(j, 409, msg);
		goto answered;
	}
	if (st.rejected[0]) { /* for good: polling it again must not file it again (the rejection is audited) */
		snprintf(msg, sizeof(msg), "certificate %s, requested with this exact request, was rejected by an "
			 "administrator: send a new request", st.rejected);
		log_event("info", "authsign_replay_answered", "serial=%s status=rejected peer=%s", st.rejected, j->peer);
		cfssl_error(j, 403, msg);
		goto answered;
	}
	if (!strcmp(st.status, "held") || !strcmp(st.status, "pending")) {
		bool held = !strcmp(st.status, "held");
		snprintf(msg, sizeof(msg),
			 held ? "held for approval: certificate %s is issued once an administrator approves it"
			      : "certificate %s for this request is being signed; send it again shortly",
			 st.serial);
		log_event("info", "authsign_replay_answered", "serial=%s status=%s peer=%s", st.serial, st.status, j->peer);
		cfssl_error(j, held ? 202 : 409, msg);
		goto answered;
	}
	if (!strcmp(st.status, "issued") && st.recent && st.der) {
		log_event("info", "authsign_replay_answered", "serial=%s status=issued peer=%s", st.serial, j->peer);
		cfssl_reply_der(j, st.der, st.der_len);
		goto answered;
	}
	if (!strcmp(st.status, "failed") && st.live) { /* the signer refused it (502), or recovery failed it: told
							  * again until the hold ends, then taken as a new request */
		char why[sizeof(msg) + sizeof(st.reason)];
		snprintf(why, sizeof(why), "certificate %s for this exact request failed: %s; send a new request",
			 st.serial, st.reason);
		log_event("info", "authsign_replay_answered", "serial=%s status=failed peer=%s", st.serial, j->peer);
		cfssl_error(j, 502, why);
		goto answered;
	}
	db_token_state_free(&st);
	if ((taken = cfssl_token_take(w, token, now)) < 0)
		cfssl_error(j, 503, "the database is unavailable");
	else if (taken) {
		snprintf(msg, sizeof(msg), "this exact request was received within the last %d s and produced no "
			 "certificate (refused, or still being checked): send it again later, or a new one", 2 * CFSSL_WINDOW);
		cfssl_error_replay(w, j, p, msg);
	}
	return taken != 0;
answered:
	db_token_state_free(&st);
	return 1;
}

/* Nothing proves that the sender holds the profile's key until its token is taken (cfssl_token_or_replay): a
 * bad token proves nothing, and a good one may be a captured request sent again. So every refusal before that
 * is audited with actor "-" (the profile and its account named in the reason), never in the account's name,
 * which anyone could otherwise write rows under; the refusals of the issuance that follows carry it. */
void cfssl_authsign(struct worker *w, struct job *j)
{
	struct cfssl_authsign a;
	char why[ISSUE_WHY_MAX] = "";
	uint8_t mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	time_t now = time(NULL);
	if (issue_db(w)) {
		cfssl_error(j, 503, "the database is unavailable");
		return;
	}
	/* an address whose proofs keep failing waits, unaudited (AUTH_FAIL_LIMIT in AUTH_FAIL_WINDOW) */
	if (auth_peer_limited(w, j->peer)) {
		cfssl_error(j, 429, "too many failed requests from this address; try again later");
		return;
	}
	if (cfssl_authsign_parse(j->body, j->body_len, &a, why)) {
		auth_peer_failed(w, j->peer);
		issue_audit_refusal(w, "-", j->peer, "bad-request", why);
		cfssl_error(j, 400, why);
		goto out;
	}
	const struct profile *p = cfssl_profile(w, a.r.profile);
	if (!p || !p->cfssl_key_len) {
		auth_peer_failed(w, j->peer);
		if (p)
			snprintf(why, ISSUE_WHY_MAX, "profile \"%s\" has no auth key (cfssl_key): use sign with an "
				 "account's credentials", p->name);
		else
			issue_why_no_profile(a.r.profile, "default", why);
		issue_audit_refusal(w, "-", j->peer, "unknown-profile", why);
		cfssl_error(j, 400, why);
		goto out;
	}
	/* the token is an HMAC over the exact request bytes, compared in constant time */
	HMAC(EVP_sha256(), p->cfssl_key, (int)p->cfssl_key_len, a.req, a.req_len, mac, &mac_len);
	if (mac_len != CFSSL_TOKEN_LEN || CRYPTO_memcmp(mac, a.token, CFSSL_TOKEN_LEN) != 0) {
		auth_peer_failed(w, j->peer);
		snprintf(why, sizeof(why), "bad authsign token (profile %s)", p->name);
		issue_audit_refusal(w, "-", j->peer, "unauthorized", why);
		cfssl_error(j, 401, "invalid token");
		goto out;
	}
	/* the key stands for the profile's account: one disabled, gone or no longer a requester issues nothing,
	 * as with its own credentials (checked before the token is taken: a refusal does not use it up) */
	int arc = issue_account_may_request(w, p->cfssl_account);
	if (arc && arc != HSMCA_ERR_NOTFOUND && arc != HSMCA_ERR_AUTH) {
		cfssl_error(j, 503, "the database is unavailable");
		goto out;
	}
	if (arc) {
		auth_peer_failed(w, j->peer); /* a leaked key of a disabled account: limited, not an audit flood */
		snprintf(why, sizeof(why), "profile %s's cfssl_account %s is disabled, gone or may not request certificates",
			 p->name, p->cfssl_account);
		issue_audit_refusal(w, "-", j->peer, "forbidden", why);
		cfssl_error(j, 403, "the profile's account is disabled, gone or may not request certificates");
		goto out;
	}
	if (cfssl_label_refused(w, j, "-", p, a.r.label)) {
		auth_peer_failed(w, j->peer);
		goto out;
	}
	if (a.has_ts && (a.ts < now - CFSSL_WINDOW || a.ts > now + CFSSL_WINDOW)) {
		char msg[96];
		snprintf(msg, sizeof(msg), "stale timestamp: it must be within %d s of the server's clock", CFSSL_WINDOW);
		cfssl_error_replay(w, j, p, msg);
		goto out;
	}
	if (cfssl_token_or_replay(w, j, p, a.token, now))
		goto out;
	struct issue_extra ex = { .hosts = a.r.hosts, .via = "cfssl-authsign", .authsign_token = a.token };
	const char *code = cfssl_issue(w, j, p->cfssl_account, p, a.r.csr, a.r.csr_len, &ex);
	/* failed for a passing reason of ours (the database, the signer): the client may send the same bytes again
	 * at once; a row left pending keeps the hold and answers it as being signed (cfssl_token_or_replay). A
	 * state that lasts (this frontend's profile diverged from the recorded one, an issuer that cannot issue)
	 * keeps the token: released, one captured request replayed without end wrote a refusal in the account's
	 * name each time, never counted; kept, a replay is refused as one and counted */
	bool lasting = code && (!strcmp(code, "profile-diverged") || !strcmp(code, "issuer-unusable"));
	if (j->status >= 500 && !lasting && db_token_release(w->db, a.token))
		log_event("error", "db_error", "worker=%u what=authsign_release why=\"%s\"", w->id, db_errmsg(w->db));
out:
	cfssl_authsign_free(&a);
}

/* The caller's own credentials, as for POST /api/v1/certificates; the errors in CFSSL's format. */
static int cfssl_sign_auth(struct worker *w, struct job *j, struct db_account *acct, bool *via_cert)
{
	switch (certauth_request(w, j, acct, via_cert)) {
	case AUTH_OK:
		break;
	case AUTH_MISSING: /* audited like every refusal here, and counted so that a flood of them ends in 429s */
		if (auth_missing_failed(w, j->peer) == AUTH_LIMITED) {
			cfssl_error(j, 429, "too many failed logins; try again later");
			return -1;
		}
		issue_audit_refusal(w, "-", j->peer, "unauthorized",
				    "no credentials (HTTP Basic, an API key or a login certificate)");
		cfssl_error(j, 401, "unauthenticated signing is disabled: send HTTP Basic credentials or an API key "
			    "(Authorization), or use authsign with the profile's auth key");
		return -1;
	case AUTH_LIMITED:
		cfssl_error(j, 429, "too many failed logins; try again later");
		return -1;
	case AUTH_ERROR:
		cfssl_error(j, 503, "the account database is unavailable");
		return -1;
	default:
		issue_audit_refusal(w, "-", j->peer, "unauthorized", "wrong credentials");
		cfssl_error(j, 401, "wrong credentials");
		return -1;
	}
	if (issue_role_may_request(acct->role))
		return 0;
	issue_audit_refusal(w, acct->name, j->peer, "forbidden", "this account may not request certificates");
	cfssl_error(j, 403, "this account may not request certificates");
	return -1;
}

void cfssl_sign(struct worker *w, struct job *j)
{
	struct db_account acct;
	struct cfssl_sign s;
	char why[ISSUE_WHY_MAX] = "";
	memset(&s, 0, sizeof(s));
	if (issue_db(w)) {
		cfssl_error(j, 503, "the database is unavailable");
		return;
	}
	bool via_cert = false;
	if (cfssl_sign_auth(w, j, &acct, &via_cert))
		goto out;
	if (cfssl_sign_parse(j->body, j->body_len, &s, why)) {
		issue_audit_refusal(w, acct.name, j->peer, "bad-request", why);
		cfssl_error(j, 400, why);
		goto out;
	}
	const struct profile *p = cfssl_profile(w, s.r.profile);
	if (!p) {
		issue_why_no_profile(s.r.profile, "default", why);
		issue_audit_refusal(w, acct.name, j->peer, "unknown-profile", why);
		cfssl_error(j, 400, why);
		goto out;
	}
	if (acct.key_profile[0] && strcmp(acct.key_profile, p->name) != 0) {
		issue_audit_refusal(w, acct.name, j->peer, "profile-forbidden", "this API key is bound to another profile");
		cfssl_error(j, 403, "this API key is bound to another profile");
		goto out;
	}
	if (p->login && auth_is_api_key(j->auth)) { /* a machine credential mints no login certificate */
		issue_audit_refusal(w, acct.name, j->peer, "api-key-forbidden", issue_why_login_by_key);
		cfssl_error(j, 403, issue_why_login_by_key);
		goto out;
	}
	if (p->login && via_cert) { /* nor does a login certificate's key, which may be a stolen one */
		issue_audit_refusal(w, acct.name, j->peer, "password-required", issue_why_login_by_cert);
		cfssl_error(j, 403, issue_why_login_by_cert);
		goto out;
	}
	if (cfssl_label_refused(w, j, acct.name, p, s.r.label))
		goto out;
	struct issue_extra ex = { .hosts = s.r.hosts, .via = "cfssl-sign" };
	issue_credential(&ex, j, via_cert);
	cfssl_issue(w, j, acct.name, p, s.r.csr, s.r.csr_len, &ex);
out:
	OPENSSL_cleanse(&acct, sizeof(acct)); /* its password hash */
	cfssl_sign_free(&s);
}

/* The profile's usages in cfssl's own words (its config's "usages", which `cfssl info` returns and a cfssl
 * signing config takes back): the key usages, then the extended ones. hsmca's names (serverAuth) are no usage
 * cfssl knows. */
static void cfssl_usages(const struct profile *p, struct dbuf *u)
{
	static const struct {
		unsigned bit;
		const char *name;
	} ku[] = { { TBS_KU_DIGITAL_SIGNATURE, "digital signature" }, { TBS_KU_NON_REPUDIATION, "content commitment" },
		   { TBS_KU_KEY_ENCIPHERMENT, "key encipherment" },    { TBS_KU_DATA_ENCIPHERMENT, "data encipherment" },
		   { TBS_KU_KEY_AGREEMENT, "key agreement" },          { TBS_KU_KEY_CERT_SIGN, "cert sign" },
		   { TBS_KU_CRL_SIGN, "crl sign" },                    { TBS_KU_ENCIPHER_ONLY, "encipher only" },
		   { TBS_KU_DECIPHER_ONLY, "decipher only" } };
	static const char *const eku[][2] = { { "serverAuth", "server auth" },	     { "clientAuth", "client auth" },
					      { "codeSigning", "code signing" },     { "emailProtection", "email protection" },
					      { "timeStamping", "timestamping" },    { "OCSPSigning", "ocsp signing" } };
	bool first = true;
	for (size_t i = 0; i < sizeof(ku) / sizeof(ku[0]); i++)
		if (p->key_usage & ku[i].bit) {
			dbuf_add(u, first ? "" : ", ", first ? 0 : 2);
			json_write_string(u, ku[i].name);
			first = false;
		}
	for (size_t i = 0; i < p->n_eku; i++)
		for (size_t k = 0; k < sizeof(eku) / sizeof(eku[0]); k++)
			if (!strcmp(p->eku[i], eku[k][0])) {
				dbuf_add(u, first ? "" : ", ", first ? 0 : 2);
				json_write_string(u, eku[k][1]);
				first = false;
			}
}

void cfssl_info(struct worker *w, struct job *j)
{
	struct json_doc *doc = NULL;
	char err[128], extra[ISSUE_WHY_MAX];
	if (json_parse((const char *)j->body, j->body_len, &doc, err, sizeof(err))) {
		snprintf(extra, sizeof(extra), "info body is not valid JSON (%s)", err);
		cfssl_error(j, 400, extra);
		goto out;
	}
	if (json_type(json_root(doc)) != JSON_OBJECT) {
		cfssl_error(j, 400, "info body is not a JSON object");
		goto out;
	}
	const struct json_node *root = json_root(doc), *pn = json_get(root, "profile"), *ln = json_get(root, "label");
	if (!cfssl_go_string(pn) || !cfssl_go_string(ln)) {
		cfssl_error(j, 400, "profile and label must be strings");
		goto out;
	}
	const struct profile *p = cfssl_profile(w, json_string(pn, NULL));
	const char *label = json_string(ln, NULL);
	if (!p) {
		issue_why_no_profile(json_string(pn, NULL), "default", extra);
		cfssl_error(j, 400, extra);
		goto out;
	}
	if (cfssl_label_other(p, label, extra, sizeof(extra))) {
		/* not another CA's certificate answered as if it were the profile's */
		cfssl_error(j, 400, extra);
		goto out;
	}
	BIO *b = BIO_new(BIO_s_mem());
	char *pem = NULL;
	long pl;
	X509 *issuer = w->app->issuers[p - w->app->profiles.p].cert;
	if (b && PEM_write_bio_X509(b, issuer) && (pl = BIO_get_mem_data(b, &pem)) > 0) {
		char *cert = strndup(pem, (size_t)pl);
		if (!cert) {
			cfssl_error(j, 500, "out of memory");
			BIO_free(b);
			goto out;
		}
		struct dbuf u; /* built whole: all nine key usages and six EKUs overflowed a fixed buffer */
		char expiry[40];
		dbuf_init(&u);
		dbuf_add(&u, ", \"usages\": [", 13);
		cfssl_usages(p, &u);
		snprintf(expiry, sizeof(expiry), "], \"expiry\": \"%uh\"", p->max_validity_days * 24);
		dbuf_add(&u, expiry, strlen(expiry));
		dbuf_add_u8(&u, 0);
		if (u.failed)
			cfssl_error(j, 500, "out of memory");
		else
			cfssl_result(j, cert, (const char *)u.data);
		dbuf_free(&u);
		free(cert);
	} else {
		cfssl_error(j, 500, "cannot encode the issuer certificate");
	}
	BIO_free(b);
out:
	json_free(doc);
}
