/* The known (account, address) pairs: an account's limit does not hold at an address it logged in from
 * within AUTH_KNOWN_SECONDS (auth.h); this process's record of them, under keyed tags, a few addresses per
 * account, and when each was last written to the record every frontend shares (authshare_known). */
#include "auth_priv.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <string.h>

#include "peergroup.h"

/* The account's and the pair's tags (struct known_slot); no lock needed (the key is fixed at start). */
static void auth_known_tags(const struct ratelimit *rl, const char *user, const char *peer,
			    uint8_t utag[SHA256_DIGEST_LENGTH], uint8_t ptag[SHA256_DIGEST_LENGTH])
{
	uint8_t buf[sizeof("known") + DB_NAME_MAX + 1 + PEERGROUP_MAX];
	char group[PEERGROUP_MAX];
	peergroup_of(peer, group); /* a pair is the account and the address's group, as the limits count it */
	size_t ul = strnlen(user, DB_NAME_MAX), pl = strnlen(group, PEERGROUP_MAX), n = sizeof("known") + ul;
	unsigned int tl = SHA256_DIGEST_LENGTH;
	memcpy(buf, "known", sizeof("known")); /* with its NUL */
	memcpy(buf + sizeof("known"), user, ul);
	HMAC(EVP_sha256(), rl->cache_key, sizeof(rl->cache_key), buf, n, utag, &tl);
	buf[n] = 0;
	memcpy(buf + n + 1, group, pl);
	HMAC(EVP_sha256(), rl->cache_key, sizeof(rl->cache_key), buf, n + 1 + pl, ptag, &tl);
}

static bool auth_known_live(const struct known_slot *k, time_t now)
{
	return k->at && now - k->at < AUTH_KNOWN_SECONDS;
}

/* Under rl->mu. */
static bool auth_known_find(struct ratelimit *rl, const uint8_t *utag, const uint8_t *ptag, time_t now)
{
	const struct known_slot *set = rl->known[utag[0] % AUTH_KNOWN_SETS];
	for (unsigned i = 0; i < AUTH_KNOWN_WAYS; i++)
		if (auth_known_live(&set[i], now) && CRYPTO_memcmp(set[i].user, utag, AUTH_KNOWN_TAG) == 0 &&
		    CRYPTO_memcmp(set[i].tag, ptag, AUTH_KNOWN_TAG) == 0)
			return true;
	return false;
}

/* A verified login of user from peer. sharing (a worker's login, which can write the database): true if the
 * shared record (authshare_known) is due, i.e. this process has not written the pair there in the last
 * AUTH_KNOWN_SHARE_SECONDS (or has no way to keep it in). The loop's cached logins record the pair here only. */
#define AUTH_KNOWN_SHARE_SECONDS 3600
bool auth_mark_known(struct ratelimit *rl, const char *user, const char *peer, time_t now, bool sharing)
{
	bool due = true;
	uint8_t utag[SHA256_DIGEST_LENGTH], ptag[SHA256_DIGEST_LENGTH];
	struct known_slot *victim = NULL, *oldest_own = NULL, *free_way = NULL;
	unsigned own = 0;
	auth_known_tags(rl, user, peer, utag, ptag);
	pthread_mutex_lock(&rl->mu);
	struct known_slot *set = rl->known[utag[0] % AUTH_KNOWN_SETS];
	for (unsigned i = 0; i < AUTH_KNOWN_WAYS && !victim; i++) {
		struct known_slot *k = &set[i];
		if (!auth_known_live(k, now)) {
			free_way = free_way ? free_way : k;
		} else if (CRYPTO_memcmp(k->user, utag, AUTH_KNOWN_TAG) == 0) {
			if (CRYPTO_memcmp(k->tag, ptag, AUTH_KNOWN_TAG) == 0) {
				victim = k; /* known already: refreshed */
				due = now - k->shared_at >= AUTH_KNOWN_SHARE_SECONDS;
			}
			own++;
			if (!oldest_own || k->at < oldest_own->at)
				oldest_own = k;
		}
	}
	if (!victim)
		victim = own >= AUTH_KNOWN_PER_ACCOUNT || !free_way ? oldest_own : free_way;
	if (victim) {
		if (CRYPTO_memcmp(victim->tag, ptag, AUTH_KNOWN_TAG) != 0 || CRYPTO_memcmp(victim->user, utag, AUTH_KNOWN_TAG) != 0)
			victim->shared_at = 0; /* another pair's way */
		memcpy(victim->user, utag, AUTH_KNOWN_TAG);
		memcpy(victim->tag, ptag, AUTH_KNOWN_TAG);
		victim->at = now;
	}
	pthread_mutex_unlock(&rl->mu);
	return sharing && due;
}

/* The shared record now holds the pair (authshare_known succeeded): not written again for an hour. */
void auth_known_shared(struct ratelimit *rl, const char *user, const char *peer, time_t now)
{
	uint8_t utag[SHA256_DIGEST_LENGTH], ptag[SHA256_DIGEST_LENGTH];
	auth_known_tags(rl, user, peer, utag, ptag);
	pthread_mutex_lock(&rl->mu);
	struct known_slot *set = rl->known[utag[0] % AUTH_KNOWN_SETS];
	for (unsigned i = 0; i < AUTH_KNOWN_WAYS; i++)
		if (auth_known_live(&set[i], now) && CRYPTO_memcmp(set[i].user, utag, AUTH_KNOWN_TAG) == 0 &&
		    CRYPTO_memcmp(set[i].tag, ptag, AUTH_KNOWN_TAG) == 0)
			set[i].shared_at = now;
	pthread_mutex_unlock(&rl->mu);
}

/* Whether user logged in from peer's group through this process (auth.h: AUTH_KNOWN_SECONDS). */
bool auth_known_here(struct ratelimit *rl, const char *user, const char *peer, time_t now)
{
	uint8_t utag[SHA256_DIGEST_LENGTH], ptag[SHA256_DIGEST_LENGTH];
	auth_known_tags(rl, user, peer, utag, ptag);
	pthread_mutex_lock(&rl->mu);
	bool known = auth_known_find(rl, utag, ptag, now);
	pthread_mutex_unlock(&rl->mu);
	return known;
}
