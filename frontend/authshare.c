#include "authshare.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "intent.h"
#include "issue.h"
#include "log.h"
#include "peergroup.h"

#define AUTHSHARE_PRUNE_SECONDS 60

struct authshare_tags {
	uint8_t addr[DB_AUTH_TAG_LEN], acct[DB_AUTH_TAG_LEN], pair[DB_AUTH_TAG_LEN];
};

/* HMAC(key, domain 0 || u16 len || x || u16 len || y) into out. */
static int authshare_tag(const uint8_t key[INTENT_KEY_LEN], const char *domain, const char *x, const char *y,
			 uint8_t out[DB_AUTH_TAG_LEN])
{
	const struct intent_part parts[] = { { x, strlen(x), 2 }, { y, strlen(y), 2 } };
	return intent_hmac_parts(key, domain, parts, 2, out);
}

/* The tags under key of peer's count (kind), and of user's count and the (user, peer) pair if user is not
 * NULL. */
static int authshare_tags_of(const uint8_t key[INTENT_KEY_LEN], const char *kind, const char *user,
			     const char *peer, struct authshare_tags *t)
{
	char group[PEERGROUP_MAX];
	peergroup_of(peer, group);
	int rc = authshare_tag(key, "hsmca-authlimit-v1", kind, group, t->addr);
	if (!rc && user && !(rc = authshare_tag(key, "hsmca-authlimit-v1", "acct", user, t->acct)))
		rc = authshare_tag(key, "hsmca-authknown-v1", user, group, t->pair);
	return rc;
}

/* The tags (under the intent key) and the worker's connection. 0 or an error, logged as what. */
static int authshare_prepare(struct worker *w, const char *what, const char *kind, const char *user,
			     const char *peer, struct authshare_tags *t)
{
	int rc = authshare_tags_of(w->app->intent_key, kind, user, peer, t);
	if (rc) {
		log_event("error", "auth_limits_failed", "worker=%u what=%s why=\"cannot compute a tag (rc=%d)\"", w->id,
			  what, rc);
		return rc;
	}
	return issue_db(w); /* logged there */
}

static int authshare_db_error(struct worker *w, const char *what, int rc)
{
	if (rc)
		log_event("error", "db_error", "worker=%u what=%s why=\"%s\"", w->id, what, db_errmsg(w->db));
	return rc;
}

/* Failures and reservations are what grows the tables (never under pwflight's lock: after a verification): the rows past their window go at most once a minute
 * per process. */
static void authshare_prune_due(struct worker *w)
{
	static _Atomic long long pruned_at;
	long long now = (long long)time(NULL), last = atomic_load(&pruned_at);
	if (now - last >= AUTHSHARE_PRUNE_SECONDS && atomic_compare_exchange_strong(&pruned_at, &last, now))
		(void)authshare_db_error(w, "auth_prune", db_auth_prune(w->db, AUTH_FAIL_WINDOW, AUTH_KNOWN_SECONDS));
}

int authshare_check(struct worker *w, const char *kind, const char *user, const char *peer, struct db_auth_state *out)
{
	struct authshare_tags t;
	struct db_auth_state old;
	memset(out, 0, sizeof(*out));
	int rc = authshare_prepare(w, "auth_limits", kind, user, peer, &t);
	if (rc || (rc = authshare_db_error(w, "auth_limits",
					   db_auth_limited(w->db, t.addr, user ? t.acct : NULL, user ? t.pair : NULL,
							   AUTH_FAIL_LIMIT, AUTH_FAIL_WINDOW, AUTH_KNOWN_SECONDS, out))))
		return rc;
	if (!w->app->has_intent_key_accept)
		return 0;
	/* during an intent key's rotation the rows written under the accepted (old) key count too: the addresses
	 * an account logged in from before the swap stay known (else guesses from anywhere locked an administrator
	 * out even at its usual address), and a limit reached under the old key holds. New rows take the new key. */
	if ((rc = authshare_tags_of(w->app->intent_key_accept, kind, user, peer, &t)) ||
	    (rc = authshare_db_error(w, "auth_limits",
				     db_auth_limited(w->db, t.addr, user ? t.acct : NULL, user ? t.pair : NULL,
						     AUTH_FAIL_LIMIT, AUTH_FAIL_WINDOW, AUTH_KNOWN_SECONDS, &old))))
		return rc;
	out->addr_limited |= old.addr_limited;
	out->acct_limited |= old.acct_limited;
	out->pair_known |= old.pair_known;
	return 0;
}

int authshare_reserve(struct worker *w, const char *user, const char *peer, bool *reserved)
{
	struct authshare_tags t;
	*reserved = false;
	int rc = authshare_prepare(w, "auth_reserve", "addr", user, peer, &t);
	if (rc)
		return rc;
	return authshare_db_error(w, "auth_reserve", db_auth_reserve(w->db, t.addr, user ? t.acct : NULL, AUTH_FAIL_LIMIT,
								   AUTH_FAIL_WINDOW, reserved));
}

void authshare_settle(struct worker *w, const char *user, const char *peer, bool failed)
{
	struct authshare_tags t;
	if (!authshare_prepare(w, "auth_settle", "addr", user, peer, &t) &&
	    !authshare_db_error(w, "auth_settle", db_auth_settle(w->db, t.addr, user ? t.acct : NULL, failed, AUTH_FAIL_WINDOW)))
		authshare_prune_due(w);
}

int authshare_failed(struct worker *w, const char *kind, const char *user, const char *peer, bool *was_limited)
{
	struct authshare_tags t;
	if (was_limited)
		*was_limited = false;
	int rc = authshare_prepare(w, "auth_failure", kind, user, peer, &t);
	if (rc || (rc = authshare_db_error(w, "auth_failure", db_auth_fail(w->db, t.addr, user ? t.acct : NULL,
									    AUTH_FAIL_LIMIT, AUTH_FAIL_WINDOW, was_limited))))
		return rc;
	authshare_prune_due(w);
	return 0;
}

int authshare_known(struct worker *w, const char *user, const char *peer)
{
	struct authshare_tags t;
	int rc = authshare_prepare(w, "auth_known", "addr", user, peer, &t);
	return rc ? rc : authshare_db_error(w, "auth_known", db_auth_known(w->db, t.pair));
}
