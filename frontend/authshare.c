#include "authshare.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "log.h"
#include "peergroup.h"

#define AUTHSHARE_PRUNE_SECONDS 60

/* HMAC-SHA-256(intent key, domain 0 x sep y) into out, however long x and y are; false if OpenSSL fails. */
static bool authshare_tag(const struct app *a, const char *domain, const char *x, char sep, const char *y,
			  uint8_t out[DB_AUTH_TAG_LEN])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0), OSSL_PARAM_construct_end() };
	const uint8_t zero = 0;
	size_t len = 0;
	bool ok = ctx && EVP_MAC_init(ctx, a->intent_key, INTENT_KEY_LEN, params) &&
		  EVP_MAC_update(ctx, (const uint8_t *)domain, strlen(domain)) && EVP_MAC_update(ctx, &zero, 1) &&
		  EVP_MAC_update(ctx, (const uint8_t *)x, strlen(x)) && EVP_MAC_update(ctx, (const uint8_t *)&sep, 1) &&
		  EVP_MAC_update(ctx, (const uint8_t *)y, strlen(y)) && EVP_MAC_final(ctx, out, &len, DB_AUTH_TAG_LEN) &&
		  len == DB_AUTH_TAG_LEN;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok;
}

/* The tags of peer's count (kind), and of user's count and the (user, peer) pair if user is not NULL. */
static bool authshare_tags(const struct app *a, const char *kind, const char *user, const char *peer,
			   uint8_t addr[DB_AUTH_TAG_LEN], uint8_t acct[DB_AUTH_TAG_LEN], uint8_t pair[DB_AUTH_TAG_LEN])
{
	char group[PEERGROUP_MAX];
	peergroup_of(peer, group);
	return authshare_tag(a, "hsmca-authlimit-v1", kind, ':', group, addr) &&
	       (!user || (authshare_tag(a, "hsmca-authlimit-v1", "acct", ':', user, acct) &&
			  authshare_tag(a, "hsmca-authknown-v1", user, 0, group, pair)));
}

static void authshare_db_error(struct worker *w, const char *what)
{
	log_event("error", "db_error", "worker=%u what=%s why=\"%s\"", w->id, what, db_errmsg(w->db));
}

int authshare_limited(struct worker *w, const char *kind, const char *user, const char *peer, bool *limited,
		      bool *acct_limited)
{
	uint8_t addr[DB_AUTH_TAG_LEN], acct[DB_AUTH_TAG_LEN], pair[DB_AUTH_TAG_LEN];
	bool a = false;
	*limited = false;
	if (acct_limited)
		*acct_limited = false;
	if (!authshare_tags(w->app, kind, user, peer, addr, acct, pair))
		return HSMCA_ERR_CRYPTO;
	int rc = db_auth_limited(w->db, addr, user ? acct : NULL, user ? pair : NULL, AUTH_FAIL_LIMIT, AUTH_FAIL_WINDOW,
				 AUTH_KNOWN_SECONDS, limited, &a);
	if (rc)
		authshare_db_error(w, "auth_limits");
	else if (acct_limited)
		*acct_limited = a;
	return rc;
}

int authshare_failed(struct worker *w, const char *kind, const char *user, const char *peer, bool *was_limited)
{
	static _Atomic long long pruned_at;
	uint8_t addr[DB_AUTH_TAG_LEN], acct[DB_AUTH_TAG_LEN], pair[DB_AUTH_TAG_LEN];
	long long now = (long long)time(NULL), last = atomic_load(&pruned_at);
	if (was_limited)
		*was_limited = false;
	if (!authshare_tags(w->app, kind, user, peer, addr, acct, pair))
		return HSMCA_ERR_CRYPTO;
	int rc = db_auth_fail(w->db, addr, user ? acct : NULL, AUTH_FAIL_LIMIT, AUTH_FAIL_WINDOW, was_limited);
	if (rc) {
		authshare_db_error(w, "auth_failure");
		return rc;
	}
	/* failures are what grows the tables: the rows past their window go at most once a minute per process */
	if (now - last >= AUTHSHARE_PRUNE_SECONDS && atomic_compare_exchange_strong(&pruned_at, &last, now) &&
	    db_auth_prune(w->db, AUTH_FAIL_WINDOW, AUTH_KNOWN_SECONDS))
		authshare_db_error(w, "auth_prune");
	return 0;
}

void authshare_known(struct worker *w, const char *user, const char *peer)
{
	uint8_t addr[DB_AUTH_TAG_LEN], acct[DB_AUTH_TAG_LEN], pair[DB_AUTH_TAG_LEN];
	if (!authshare_tags(w->app, "addr", user, peer, addr, acct, pair))
		log_event("error", "auth_known_failed", "worker=%u why=\"cannot compute the tag\"", w->id);
	else if (db_auth_known(w->db, pair))
		authshare_db_error(w, "auth_known");
}
