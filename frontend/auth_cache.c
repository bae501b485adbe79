/* The login cache: passwords verified (by a keyed tag of user and password, against the stored hash, for
 * AUTH_CACHE_TTL seconds) and account rows (valid while no change to accounts or API keys has been seen and a
 * watcher listens, acctwatch.c). */
#include "auth_priv.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

void auth_cache_tag(struct ratelimit *rl, const char *user, const char *pw, size_t pw_len,
		    uint8_t tag[SHA256_DIGEST_LENGTH])
{
	uint8_t buf[DB_NAME_MAX + 1 + AUTH_PW_MAX];
	size_t ul = strlen(user);
	unsigned int tl = SHA256_DIGEST_LENGTH;
	memcpy(buf, user, ul);
	buf[ul] = 0;
	memcpy(buf + ul + 1, pw, pw_len);
	HMAC(EVP_sha256(), rl->cache_key, sizeof(rl->cache_key), buf, ul + 1 + pw_len, tag, &tl);
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* True if tag was verified within the TTL against the hash the account's row holds now (cur). */
bool auth_cache_hit(struct ratelimit *rl, const uint8_t *tag, time_t now, const struct db_account *cur)
{
	struct cache_slot *s = &rl->cache[tag[0] % AUTH_CACHE_SLOTS];
	size_t hl = strlen(cur->pw_hash);
	bool hit = false;
	pthread_mutex_lock(&rl->mu);
	if (s->expires > now && CRYPTO_memcmp(s->tag, tag, SHA256_DIGEST_LENGTH) == 0 &&
	    strlen(s->pw_hash) == hl && CRYPTO_memcmp(s->pw_hash, cur->pw_hash, hl) == 0)
		hit = true;
	pthread_mutex_unlock(&rl->mu);
	return hit;
}

/* After a hit of tag on the loop's fast path: true if peer is not the address this entry last served there
 * (the caller then marks it known: one HMAC per new address, none per request from the same one). */
bool auth_cache_new_peer(struct ratelimit *rl, const uint8_t *tag, const char *peer)
{
	struct cache_slot *s = &rl->cache[tag[0] % AUTH_CACHE_SLOTS];
	pthread_mutex_lock(&rl->mu);
	bool fresh = strncmp(s->peer, peer, sizeof(s->peer)) != 0;
	if (fresh)
		snprintf(s->peer, sizeof(s->peer), "%s", peer);
	pthread_mutex_unlock(&rl->mu);
	return fresh;
}

void auth_cache_put(struct ratelimit *rl, const uint8_t *tag, time_t now, const struct db_account *a)
{
	struct cache_slot *s = &rl->cache[tag[0] % AUTH_CACHE_SLOTS];
	pthread_mutex_lock(&rl->mu);
	s->peer[0] = '\0';
	memcpy(s->tag, tag, SHA256_DIGEST_LENGTH);
	s->expires = now + AUTH_CACHE_TTL;
	snprintf(s->pw_hash, sizeof(s->pw_hash), "%s", a->pw_hash);
	pthread_mutex_unlock(&rl->mu);
}

void auth_accounts_changed(struct ratelimit *rl)
{
	pthread_mutex_lock(&rl->mu);
	rl->acct_gen++;
	pthread_mutex_unlock(&rl->mu);
}

void auth_accounts_watching(struct ratelimit *rl, bool on)
{
	pthread_mutex_lock(&rl->mu);
	rl->acct_gen++;
	rl->acct_watched = on;
	pthread_mutex_unlock(&rl->mu);
}

/* The slot of user's row: FNV-1a of the name (a slot is only a place: an entry is used only if its name
 * matches, so a collision costs a SELECT, never a wrong row; no digest fetch on every request). */
static struct acct_slot *auth_acct_slot(struct ratelimit *rl, const char *user)
{
	uint32_t h = 2166136261u;
	for (const unsigned char *c = (const unsigned char *)user; *c; c++)
		h = (h ^ *c) * 16777619u;
	return &rl->acct[h % AUTH_CACHE_SLOTS];
}

/* The account row of user: from the cache while no change has been seen since it was read, else from the
 * database (and cached, when a watcher listens). Changes made through this frontend apply to the next
 * request; changes by other processes once their NOTIFY arrives (milliseconds). */
bool auth_account_cached(struct ratelimit *rl, const char *user, struct db_account *out, uint64_t *gen,
			 bool *watched)
{
	struct acct_slot *s = auth_acct_slot(rl, user);
	pthread_mutex_lock(&rl->mu);
	*gen = rl->acct_gen;
	*watched = rl->acct_watched;
	bool hit = *watched && s->gen == *gen && strcmp(s->a.name, user) == 0;
	if (hit)
		*out = s->a;
	pthread_mutex_unlock(&rl->mu);
	return hit;
}

/* A worker's login reads the account row every time, also when the cache holds it: a name that exists must cost
 * the same round trip as one that does not (only rows found are cached), or the time of a refusal would tell
 * which names exist. The row read refreshes the cache that the loop's cached logins use (auth_cached). */
int auth_account_get(struct worker *w, const char *user, struct db_account *out)
{
	struct ratelimit *rl = w->app->rl;
	struct acct_slot *s = auth_acct_slot(rl, user);
	pthread_mutex_lock(&rl->mu);
	uint64_t gen = rl->acct_gen;
	bool watched = rl->acct_watched;
	pthread_mutex_unlock(&rl->mu);
	int rc = db_account_get(w->db, user, out); /* gen was read before: a change meanwhile voids this entry */
	if (rc || !watched)
		return rc;
	pthread_mutex_lock(&rl->mu);
	s->gen = gen;
	s->a = *out;
	pthread_mutex_unlock(&rl->mu);
	return 0;
}
