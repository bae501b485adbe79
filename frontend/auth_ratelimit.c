/* The rate limiter: this process's table of failed logins and proofs per account and per address group
 * (sets keyed with a per-process secret), the attempts reserved against it, and the marks of refusals by the
 * count every frontend keeps (authshare.h); and the struct ratelimit that holds it and auth's caches. */
#include "auth_priv.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peergroup.h"
#include "pwflight.h"

struct ratelimit *ratelimit_new(void)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));
	if (!rl || RAND_priv_bytes(rl->cache_key, sizeof(rl->cache_key)) != 1 ||
	    RAND_priv_bytes(rl->rl_key, sizeof(rl->rl_key)) != 1 || !(rl->flight = pwflight_new())) {
		free(rl);
		return NULL;
	}
	pthread_mutex_init(&rl->mu, NULL);
	rl->rl_base = EVP_MD_CTX_new();
	rl->rl_tmp = EVP_MD_CTX_new();
	if (!rl->rl_base || !rl->rl_tmp || EVP_DigestInit_ex(rl->rl_base, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(rl->rl_base, rl->rl_key, sizeof(rl->rl_key)) != 1) {
		EVP_MD_CTX_free(rl->rl_base); /* rl_sets falls back to a one-shot HMAC */
		EVP_MD_CTX_free(rl->rl_tmp);
		rl->rl_base = rl->rl_tmp = NULL;
	}
	return rl;
}

void ratelimit_wipe(struct ratelimit *rl)
{
	if (!rl)
		return;
	pthread_mutex_lock(&rl->mu);
	OPENSSL_cleanse(rl->cache_key, sizeof(rl->cache_key));
	OPENSSL_cleanse(rl->rl_key, sizeof(rl->rl_key));
	if (rl->rl_base) /* resets clear the digest state that absorbed rl_key */
		EVP_MD_CTX_reset(rl->rl_base);
	if (rl->rl_tmp)
		EVP_MD_CTX_reset(rl->rl_tmp);
	OPENSSL_cleanse(rl->cache, sizeof(rl->cache));
	OPENSSL_cleanse(rl->acct, sizeof(rl->acct));
	OPENSSL_cleanse(rl->known, sizeof(rl->known));
	rl->acct_gen++; /* nothing cached before is valid any more */
	pthread_mutex_unlock(&rl->mu);
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	ratelimit_wipe(rl);
	EVP_MD_CTX_free(rl->rl_base);
	EVP_MD_CTX_free(rl->rl_tmp);
	pwflight_free(rl->flight);
	pthread_mutex_destroy(&rl->mu);
	free(rl);
}

/* The key's two candidate sets, chosen with a per-process secret, so a client cannot pick names that share a
 * victim's sets; two choices keep the table from overflowing a set long before it is full. */
static void rl_sets(struct ratelimit *rl, const char *key, struct rl_slot *set[2])
{
	uint8_t h[SHA256_DIGEST_LENGTH];
	unsigned int hl = 0;
	/* SHA-256(secret || key) from a context that has absorbed the secret (under mu): a keyed choice the
	 * client cannot predict, without the cost of a one-shot HMAC's fetch and set-up per lookup */
	if (!rl->rl_base || !rl->rl_tmp || EVP_MD_CTX_copy_ex(rl->rl_tmp, rl->rl_base) != 1 ||
	    EVP_DigestUpdate(rl->rl_tmp, key, strlen(key)) != 1 || EVP_DigestFinal_ex(rl->rl_tmp, h, &hl) != 1)
		HMAC(EVP_sha256(), rl->rl_key, sizeof(rl->rl_key), (const uint8_t *)key, strlen(key), h, &hl);
	for (int k = 0; k < 2; k++)
		set[k] = &rl->slots[((size_t)(h[3 * k] | h[3 * k + 1] << 8 | h[3 * k + 2] << 16) % (RL_SLOTS / RL_WAYS)) *
				    RL_WAYS];
}

static bool rl_active(const struct rl_slot *s, time_t now)
{
	return s->key[0] && s->failures > 0 && now - s->last_failure < AUTH_FAIL_WINDOW;
}

/* A mark of the shared count's refusal still in its window (auth_rl_mark_shared). */
static bool rl_marked(const struct rl_slot *s, time_t now)
{
	return s->key[0] && s->shared_refused && now - s->shared_refused < AUTH_FAIL_WINDOW;
}

/* Counting something: failures in the window, a reservation (which must find its slot again), or a mark. */
static bool rl_held(const struct rl_slot *s, time_t now)
{
	return rl_active(s, now) || s->pending > 0 || rl_marked(s, now);
}

/* The slot of key, or NULL; never evicts (a check must not forget). */
static struct rl_slot *rl_lookup(struct ratelimit *rl, const char *key)
{
	struct rl_slot *set[2];
	rl_sets(rl, key, set);
	for (int k = 0; k < 2; k++)
		for (unsigned i = 0; i < RL_WAYS; i++)
			if (!strcmp(set[k][i].key, key))
				return &set[k][i];
	return NULL;
}

/* The slot counting key, or NULL if it has none. */
static struct rl_slot *rl_find(struct ratelimit *rl, const char *key)
{
	/* no failure ever recorded and nothing reserved: nothing to find (the common case, no hashing) */
	if (!rl->rl_used && !rl->rl_pending)
		return NULL;
	return rl_lookup(rl, key);
}

/* The slot for a new failure, reservation or mark of key: its own, else a free or quiet one, else the active one
 * with the fewest failures that is neither limited, reserved nor marked. A limited key is never evicted before its
 * window has passed, nor a reserved one before its reservations are released; only if both sets are all
 * limited or reserved is there no slot (a failure is then not counted: the caller logs it either way; a
 * reservation is refused). */
static struct rl_slot *rl_claim(struct ratelimit *rl, const char *key, time_t now)
{
	struct rl_slot *set[2], *victim = NULL, *own = rl_lookup(rl, key);
	if (own)
		return own;
	rl_sets(rl, key, set);
	unsigned busy[2] = { 0, 0 };
	for (int k = 0; k < 2; k++)
		for (unsigned i = 0; i < RL_WAYS; i++)
			busy[k] += rl_held(&set[k][i], now);
	for (int n = 0; n < 2; n++) {
		int k = busy[1] < busy[0] ? 1 - n : n; /* the less busy set first */
		for (unsigned i = 0; i < RL_WAYS; i++) {
			struct rl_slot *s = &set[k][i];
			if (!rl_held(s, now)) {
				if (!victim || rl_held(victim, now))
					victim = s;
			} else if (!s->pending && s->failures < AUTH_FAIL_LIMIT && !rl_marked(s, now) &&
				   (!victim || (rl_held(victim, now) && s->failures < victim->failures))) {
				victim = s;
			}
		}
	}
	if (victim) {
		memset(victim, 0, sizeof(*victim));
		snprintf(victim->key, sizeof(victim->key), "%s", key);
	}
	return victim;
}

/* An account counts by its name; an address ("addr", "proof") by its group (peergroup.h: an IPv6 /64). */
static void rl_key(char key[RL_KEY_MAX], const char *kind, const char *who)
{
	char group[PEERGROUP_MAX];
	bool addr = strcmp(kind, "acct") != 0;
	if (addr)
		peergroup_of(who, group);
	snprintf(key, RL_KEY_MAX, "%s:%s", kind, addr ? group : who);
}

/* Limited once AUTH_FAIL_LIMIT failures came with no pause of AUTH_FAIL_WINDOW seconds between them; a
 * quiet window clears the count (no fixed windows whose boundary would reset an attack half-way). */
bool auth_rl_limited(struct ratelimit *rl, const char *kind, const char *who, time_t now)
{
	char key[RL_KEY_MAX];
	if (!rl->rl_used) /* no failure ever recorded: no key to build (every request asks, the address's group too) */
		return false;
	rl_key(key, kind, who);
	struct rl_slot *s = rl_find(rl, key);
	return s && rl_active(s, now) && s->failures >= AUTH_FAIL_LIMIT;
}

void auth_rl_fail(struct ratelimit *rl, const char *kind, const char *who, time_t now)
{
	char key[RL_KEY_MAX];
	rl_key(key, kind, who);
	struct rl_slot *s = rl_claim(rl, key, now);
	if (!s)
		return;
	rl->rl_used = true;
	if (!rl_active(s, now))
		s->failures = 0;
	s->failures++;
	s->last_failure = now;
}

/* The count every frontend keeps (authshare) refused who: for a window, the loop's cached logins of it
 * (auth_cached, which can read only this process's counts) go to a worker, which asks the shared count again.
 * A password guessed against the shared limit was answered 429 here without being counted, and the right
 * one, verified here within the cache's minute, went through on the loop. This process's counts are left as
 * they are: refused guesses move no window. Under rl->mu. */
void auth_rl_mark_shared(struct ratelimit *rl, const char *kind, const char *who, time_t now)
{
	char key[RL_KEY_MAX];
	rl_key(key, kind, who);
	struct rl_slot *s = rl_claim(rl, key, now);
	if (s) {
		rl->rl_used = true;
		s->shared_refused = now;
	}
}

/* Whether the shared count refused who within the last AUTH_FAIL_WINDOW seconds (auth_rl_mark_shared). Under rl->mu. */
bool auth_rl_shared_marked(struct ratelimit *rl, const char *kind, const char *who, time_t now)
{
	char key[RL_KEY_MAX];
	if (!rl->rl_used)
		return false;
	rl_key(key, kind, who);
	struct rl_slot *s = rl_find(rl, key);
	return s && rl_marked(s, now);
}

/* A reservation of one attempt against who's budget of AUTH_FAIL_LIMIT: the failures in its window plus the
 * attempts reserved and not yet released must stay below it (RL_RESERVED; RL_NO_BUDGET: none left; RL_NO_SLOT:
 * no entry to count it in, see ratelimit_reserve). A verification reserves before it runs and releases after it (auth_rl_release), recording its
 * failure in the same hold of the lock, so however many run at once no more than the limit's number can. */
enum rl_reservation auth_rl_reserve(struct ratelimit *rl, const char *kind, const char *who, time_t now)
{
	char key[RL_KEY_MAX];
	rl_key(key, kind, who);
	struct rl_slot *s = rl_find(rl, key);
	if (s && (rl_active(s, now) ? s->failures : 0) + s->pending >= AUTH_FAIL_LIMIT)
		return RL_NO_BUDGET;
	if (!(s = rl_claim(rl, key, now)))
		return RL_NO_SLOT;
	s->pending++;
	rl->rl_pending++;
	return RL_RESERVED;
}

void auth_rl_release(struct ratelimit *rl, const char *kind, const char *who)
{
	char key[RL_KEY_MAX];
	rl_key(key, kind, who);
	struct rl_slot *s = rl_lookup(rl, key); /* a reserved slot is never evicted */
	if (s && s->pending) {
		s->pending--;
		rl->rl_pending--;
	}
}

bool ratelimit_limited(struct ratelimit *rl, const char *kind, const char *who, time_t now)
{
	pthread_mutex_lock(&rl->mu);
	bool limited = auth_rl_limited(rl, kind, who, now);
	pthread_mutex_unlock(&rl->mu);
	return limited;
}

void ratelimit_failed(struct ratelimit *rl, const char *kind, const char *who, time_t now)
{
	pthread_mutex_lock(&rl->mu);
	auth_rl_fail(rl, kind, who, now);
	pthread_mutex_unlock(&rl->mu);
}

enum rl_reservation ratelimit_reserve(struct ratelimit *rl, const char *kind, const char *who, time_t now)
{
	pthread_mutex_lock(&rl->mu);
	enum rl_reservation r = auth_rl_reserve(rl, kind, who, now);
	pthread_mutex_unlock(&rl->mu);
	return r;
}

void ratelimit_release(struct ratelimit *rl, const char *kind, const char *who, bool failed, time_t now)
{
	pthread_mutex_lock(&rl->mu);
	auth_rl_release(rl, kind, who);
	if (failed)
		auth_rl_fail(rl, kind, who, now);
	pthread_mutex_unlock(&rl->mu);
}
