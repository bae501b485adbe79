/* The issuers' CRLs, built, signed and kept (crl.h). */
#include "crl.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "frame.h"
#include "issue.h"
#include "log.h"
#include "pool.h"

static const uint8_t crl_oid_aki[] = { 0x55, 0x1d, 0x23 };	/* 2.5.29.35 */
static const uint8_t crl_oid_number[] = { 0x55, 0x1d, 0x14 };	/* 2.5.29.20 */
static const uint8_t crl_oid_reason[] = { 0x55, 0x1d, 0x15 };	/* 2.5.29.21 */

/* RFC 5280 5.3.1 CRLReason values of the names the revocations table holds */
static const struct {
	const char *name;
	uint8_t code;
} crl_reasons[] = {
	{ "unspecified", 0 },	     { "keyCompromise", 1 },	  { "cACompromise", 2 },	{ "affiliationChanged", 3 },
	{ "superseded", 4 },	     { "cessationOfOperation", 5 }, { "certificateHold", 6 }, { "privilegeWithdrawn", 9 },
	{ "aACompromise", 10 },
};

static int crl_fail(char *why, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, CRL_WHY_MAX, fmt, ap);
	va_end(ap);
	return HSMCA_ERR_NOTFOUND;
}

int crl_parse_path(const char *uri, char *name, char *why)
{
	static const char prefix[] = "/crl/", suffix[] = ".crl";
	size_t len = strcspn(uri, "?#");
	name[0] = '\0';
	if (len < sizeof(prefix) - 1 + 1 + sizeof(suffix) - 1 || strncmp(uri, prefix, sizeof(prefix) - 1) != 0 ||
	    strncmp(uri + len - (sizeof(suffix) - 1), suffix, sizeof(suffix) - 1) != 0)
		return crl_fail(why, "expected /crl/{name}.crl");
	const char *n = uri + sizeof(prefix) - 1;
	size_t nl = len - (sizeof(prefix) - 1) - (sizeof(suffix) - 1);
	if (nl >= CRL_NAME_MAX || n[0] == '.')
		return crl_fail(why, "no such CRL");
	for (size_t i = 0; i < nl; i++) {
		char c = n[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return crl_fail(why, "no such CRL");
	}
	memcpy(name, n, nl);
	name[nl] = '\0';
	return 0;
}

/* The path of an http(s) URL ("" if it has none). */
static const char *crl_url_path(const char *url)
{
	const char *p = strstr(url, "://");
	if (!p)
		return "";
	p = strchr(p + 3, '/');
	return p ? p : "";
}

/* The index of the profile whose crl_url names /crl/{name}.crl: -1 if none, -2 if profiles of two issuers do
 * (one URL would stand for two CRLs). */
static int crl_profile_for(const struct app *a, const char *name)
{
	char want[CRL_NAME_MAX + 16];
	int found = -1;
	snprintf(want, sizeof(want), "/crl/%s.crl", name);
	for (unsigned i = 0; i < a->profiles.n; i++) {
		const struct profile *p = &a->profiles.p[i];
		if (!p->crl_url[0] || strcmp(crl_url_path(p->crl_url), want) != 0)
			continue;
		if (found >= 0 && strcmp(a->profiles.p[found].issuer, p->issuer) != 0)
			return -2;
		if (found < 0)
			found = (int)i;
	}
	return found;
}

/* t as RFC 5280 5.1.2.4 wants it: UTCTime through 2049, GeneralizedTime after */
static void crl_add_time(struct dbuf *b, time_t t)
{
	char s[32];
	struct tm tm;
	if (!gmtime_r(&t, &tm)) {
		b->failed = true;
		return;
	}
	bool gen = tm.tm_year + 1900 >= 2050;
	size_t n = strftime(s, sizeof(s), gen ? "%Y%m%d%H%M%SZ" : "%y%m%d%H%M%SZ", &tm);
	dbuf_add_tlv(b, gen ? DER_GENERALIZEDTIME : DER_UTCTIME, s, n);
}

/* Extension { extnID, extnValue } (never critical here) */
static void crl_add_ext(struct dbuf *b, const uint8_t *oid, size_t oid_len, const struct dbuf *value)
{
	size_t e = dbuf_open(b, DER_SEQUENCE);
	dbuf_add_tlv(b, DER_OID, oid, oid_len);
	dbuf_add_tlv(b, DER_OCTET_STRING, value->data, value->len);
	dbuf_close(b, e);
}

int crl_entry_add(struct dbuf *entries, const char *serial_hex, const char *reason, int64_t revoked_at)
{
	uint8_t mag[20];
	size_t n = strlen(serial_hex), k = 0;
	int code = -1;
	if (n == 0 || n > 2 * sizeof(mag) || revoked_at < 0)
		return HSMCA_ERR_PARSE;
	for (size_t i = 0; i < sizeof(crl_reasons) / sizeof(crl_reasons[0]); i++)
		if (!strcmp(reason, crl_reasons[i].name))
			code = crl_reasons[i].code;
	if (code < 0)
		return HSMCA_ERR_PARSE;
	memset(mag, 0, sizeof(mag));
	for (size_t i = 0; i < n; i++) { /* right-aligned: an odd count has a leading half byte */
		char c = serial_hex[n - 1 - i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (v < 0)
			return HSMCA_ERR_PARSE;
		mag[sizeof(mag) - 1 - i / 2] |= (uint8_t)(i % 2 ? v << 4 : v);
	}
	while (k < sizeof(mag) - 1 && mag[k] == 0)
		k++;
	size_t ent = dbuf_open(entries, DER_SEQUENCE);
	dbuf_add_uint_bytes(entries, mag + k, sizeof(mag) - k);
	crl_add_time(entries, (time_t)revoked_at);
	if (code != 0) { /* unspecified: no reasonCode (RFC 5280 5.3.1 SHOULD) */
		struct dbuf v;
		uint8_t c = (uint8_t)code;
		dbuf_init(&v);
		dbuf_add_tlv(&v, DER_ENUMERATED, &c, 1);
		size_t exts = dbuf_open(entries, DER_SEQUENCE);
		crl_add_ext(entries, crl_oid_reason, sizeof(crl_oid_reason), &v);
		dbuf_close(entries, exts);
		entries->failed |= v.failed;
		dbuf_free(&v);
	}
	dbuf_close(entries, ent);
	return entries->failed ? HSMCA_ERR_NOMEM : 0;
}

void crl_tbs(const struct policy_issuer *iss, time_t this_update, time_t next_update, int64_t number,
	     const struct dbuf *entries, struct dbuf *out)
{
	struct dbuf aki, num;
	uint8_t nb[8];
	dbuf_init(&aki);
	dbuf_init(&num);
	size_t a = dbuf_open(&aki, DER_SEQUENCE);
	dbuf_add_tlv(&aki, DER_CONTEXT | 0, iss->ski, iss->ski_len); /* keyIdentifier [0] IMPLICIT */
	dbuf_close(&aki, a);
	for (int i = 0; i < 8; i++)
		nb[i] = (uint8_t)((uint64_t)number >> (56 - 8 * i));
	dbuf_add_uint_bytes(&num, nb, sizeof(nb));

	size_t top = dbuf_open(out, DER_SEQUENCE);
	dbuf_add_tlv(out, DER_INTEGER, "\x01", 1); /* v2 */
	dbuf_add(out, iss->sigalg, iss->sigalg_len);
	dbuf_add(out, iss->subject, iss->subject_len);
	crl_add_time(out, this_update);
	crl_add_time(out, next_update);
	if (entries->len) {
		size_t list = dbuf_open(out, DER_SEQUENCE);
		dbuf_add(out, entries->data, entries->len);
		dbuf_close(out, list);
	}
	size_t wrap = dbuf_open(out, DER_CONTEXT | DER_CONSTRUCTED | 0);
	size_t exts = dbuf_open(out, DER_SEQUENCE);
	crl_add_ext(out, crl_oid_aki, sizeof(crl_oid_aki), &aki);
	crl_add_ext(out, crl_oid_number, sizeof(crl_oid_number), &num);
	dbuf_close(out, exts);
	dbuf_close(out, wrap);
	dbuf_close(out, top);
	out->failed |= aki.failed || num.failed;
	dbuf_free(&aki);
	dbuf_free(&num);
}

/* The CRL kept for each issuer (by key label). crl_mu guards the table; a CRL is built outside it, by one
 * worker at a time per issuer (building), so a signer that hangs holds up that worker only: the others answer
 * the kept CRL meanwhile (or 503), instead of queueing every worker behind the lock (the path is public). */
struct crl_kept {
	char issuer[PROF_NAME_MAX];
	bool building;
	struct db_crl_state state;
	time_t this_update, next_update;
	uint8_t *der;
	size_t len;
};
static struct crl_kept crl_kept[PROF_MAX];
static pthread_mutex_t crl_mu = PTHREAD_MUTEX_INITIALIZER;

static struct crl_kept *crl_kept_for(const char *issuer)
{
	for (size_t i = 0; i < PROF_MAX; i++)
		if (!strcmp(crl_kept[i].issuer, issuer))
			return &crl_kept[i];
	for (size_t i = 0; i < PROF_MAX; i++)
		if (!crl_kept[i].issuer[0]) {
			snprintf(crl_kept[i].issuer, sizeof(crl_kept[i].issuer), "%s", issuer);
			return &crl_kept[i];
		}
	return NULL; /* never: an issuer is some profile's, and there are at most PROF_MAX */
}

static int crl_entry_cb(void *ctx, const char *serial_hex, const char *reason, int64_t revoked_at)
{
	return crl_entry_add(ctx, serial_hex, reason, revoked_at);
}

/* Builds and signs a new CRL of p's issuer into der (its list's state in st, its thisUpdate at now). 0, or the
 * error with why. */
static int crl_build(struct worker *w, const struct profile *p, const struct policy_issuer *iss, time_t now,
		     struct dbuf *der, struct db_crl_state *st, char *why)
{
	struct dbuf entries, tbs;
	int64_t number = 0;
	dbuf_init(&entries);
	dbuf_init(&tbs);
	int rc = db_crl_number_next(w->db, &number);
	if (!rc)
		rc = db_crl_revocations(w->db, p->issuer, st, crl_entry_cb, &entries);
	if (rc) {
		snprintf(why, ISSUE_WHY_MAX, "the database is unavailable (%s)", db_errmsg(w->db));
		goto out;
	}
	crl_tbs(iss, now, now + CRL_VALIDITY_SECONDS, number, &entries, &tbs);
	if (tbs.failed) {
		rc = HSMCA_ERR_NOMEM;
		snprintf(why, ISSUE_WHY_MAX, "out of memory");
		goto out;
	}
	if ((rc = issue_sign_frame(w, FRAME_SIGN_CRL, p->issuer, &tbs, der, why, true)) == 0)
		log_event("info", "crl_signed", "issuer=%s number=%lld entries=%lld", p->issuer, (long long)number,
			  (long long)st->count);
out:
	dbuf_free(&entries);
	dbuf_free(&tbs);
	return rc;
}

/* Answers k's CRL (crl_mu held), or 503 when there is none valid at now. */
static void crl_reply_kept(struct job *j, const struct crl_kept *k, time_t now)
{
	if (!k->der || now >= k->next_update)
		return job_error(j, 503, "crl-unavailable", "this CRL cannot be signed now (the signer or the database "
				 "is unavailable, or it is being signed); try again");
	dbuf_free(&j->resp);
	dbuf_init(&j->resp);
	dbuf_add(&j->resp, k->der, k->len);
	if (j->resp.failed)
		return job_error(j, 500, "internal", "out of memory");
	j->status = 200;
	snprintf(j->content_type, sizeof(j->content_type), "application/pkix-crl");
}

void crl_request(struct worker *w, struct job *j)
{
	char name[CRL_NAME_MAX], why[ISSUE_WHY_MAX];
	struct db_crl_state st, built;
	struct dbuf der;
	if (crl_parse_path(j->path, name, why))
		return job_error(j, 404, "not-found", why);
	int pi = crl_profile_for(w->app, name);
	if (pi == -2) {
		log_event("error", "crl_ambiguous", "name=%s why=\"profiles of two issuers name this CRL URL\"", name);
		return job_error(j, 500, "crl-ambiguous", "profiles of two issuers name this CRL's URL: fix the profiles file");
	}
	if (pi < 0)
		return job_error(j, 404, "not-found", "no profile names this CRL");
	const struct profile *p = &w->app->profiles.p[pi];
	if (issue_db(w) || db_crl_state(w->db, p->issuer, &st))
		return job_error(j, 503, "unavailable", "the database is unavailable");
	time_t now = time(NULL);
	pthread_mutex_lock(&crl_mu);
	struct crl_kept *k = crl_kept_for(p->issuer);
	if (!k) {
		pthread_mutex_unlock(&crl_mu);
		return job_error(j, 500, "internal", "no room for this issuer's CRL");
	}
	bool fresh = k->der && k->state.last_seq == st.last_seq && k->state.count == st.count &&
		     now >= k->this_update && now - k->this_update < CRL_REFRESH_SECONDS;
	if (fresh || k->building) { /* current, or another worker is building it: the kept one (if valid) */
		crl_reply_kept(j, k, now);
		return (void)pthread_mutex_unlock(&crl_mu);
	}
	k->building = true;
	pthread_mutex_unlock(&crl_mu);
	dbuf_init(&der);
	int rc = crl_build(w, p, &w->app->issuers[pi].facts, now, &der, &built, why);
	pthread_mutex_lock(&crl_mu);
	k->building = false;
	if (rc == 0) {
		free(k->der);
		k->der = der.data; /* taken over */
		k->len = der.len;
		dbuf_init(&der);
		k->state = built;
		k->this_update = now;
		k->next_update = now + CRL_VALIDITY_SECONDS;
	} else if (k->der && now < k->next_update) { /* the signer could not sign a new one: the last, while it holds */
		log_event("warn", "crl_stale", "issuer=%s why=\"%s\"", p->issuer, why);
	} else {
		log_event("error", "crl_failed", "issuer=%s rc=%d why=\"%s\"", p->issuer, rc, why);
	}
	crl_reply_kept(j, k, now);
	pthread_mutex_unlock(&crl_mu);
	dbuf_free(&der);
}
