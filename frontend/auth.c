#include "auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "authshare.h"
#include "b64.h"
#include "log.h"
#include "peergroup.h"
#include "pool.h"
#include "pwflight.h"

#define AUTH_LOGN 14
#define AUTH_R 8
#define AUTH_P 1
#define AUTH_SALT 16
#define AUTH_KEY 32
#define AUTH_MAXMEM (64u * 1024u * 1024u)
#define RL_SLOTS 8192 /* sets of RL_WAYS */
#define RL_WAYS 4
#define RL_KEY_MAX (DB_NAME_MAX + 8)
/* (account, address) pairs that logged in: one set per account (by its tag), a few addresses each, so that
 * logins of other accounts, from however many addresses, cannot push an account's addresses out */
#define AUTH_KNOWN_SETS 256
#define AUTH_KNOWN_WAYS 8
#define AUTH_KNOWN_PER_ACCOUNT 4
#define AUTH_KNOWN_TAG 16
#define AUTH_CACHE_SLOTS 256
#define AUTH_CACHE_TTL 60
_Static_assert(PWFLIGHT_TAG == SHA256_DIGEST_LENGTH, "the login tag is an HMAC-SHA-256");

struct rl_slot {
	char key[RL_KEY_MAX];
	time_t last_failure;
	unsigned failures;
	unsigned pending; /* verifications running against this budget (rl_reserve): never evicted while any */
	time_t shared_refused; /* when the count every frontend keeps (authshare) last refused it (rl_mark_shared) */
};

/* A verified password: the tag says which (user, password) was checked, pw_hash against which stored hash.
 * A hit counts only while the account's current row still carries that very hash (read on every request):
 * a changed password (new salt, so a new hash), a disabled account or a new role take effect at once, in
 * every frontend sharing the database, without paying scrypt again. */
struct cache_slot {
	uint8_t tag[SHA256_DIGEST_LENGTH]; /* HMAC(cache key, user || 0 || password) */
	time_t expires;
	char pw_hash[DB_HASH_MAX];
	char peer[JOB_PEER_MAX]; /* the address the fast path (auth_cached) last served with it */
};

/* An (account, address) pair that logged in: user is HMAC(cache key, "known" 0 user) (it also picks the set),
 * tag HMAC(cache key, "known" 0 user 0 address). Only a verified password writes one, and an account's new
 * address replaces only that account's own oldest, or a free or expired way: another account cannot take an
 * account's addresses away (a set full of others' live pairs leaves a new pair unrecorded). */
struct known_slot {
	uint8_t user[AUTH_KNOWN_TAG];
	uint8_t tag[AUTH_KNOWN_TAG];
	time_t at;
	time_t shared_at; /* when a worker's login last wrote it to the shared record (authshare_known); 0: never */
};

/* An account row as read at generation gen (valid while the generation is unchanged and watched). */
struct acct_slot {
	uint64_t gen;
	struct db_account a;
};

struct ratelimit {
	pthread_mutex_t mu;
	struct rl_slot slots[RL_SLOTS];
	uint8_t rl_key[32]; /* keys the slots' sets */
	EVP_MD_CTX *rl_base, *rl_tmp; /* SHA-256 having absorbed rl_key; scratch (both used under mu) */
	bool rl_used;       /* a failure has been recorded */
	unsigned rl_pending; /* reservations held, over all slots */
	uint8_t cache_key[32];
	struct cache_slot cache[AUTH_CACHE_SLOTS];
	struct acct_slot acct[AUTH_CACHE_SLOTS];
	struct known_slot known[AUTH_KNOWN_SETS][AUTH_KNOWN_WAYS]; /* under mu */
	uint64_t acct_gen;  /* under mu: moves on every change of accounts or API keys */
	bool acct_watched;  /* under mu: a watcher is listening for those changes (else nothing is cached) */
	struct pwflight *flight; /* owned: concurrent identical logins share one scrypt */
};

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

/* A mark of the shared count's refusal still in its window (rl_mark_shared). */
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
static bool rl_limited(struct ratelimit *rl, const char *kind, const char *who, time_t now)
{
	char key[RL_KEY_MAX];
	if (!rl->rl_used) /* no failure ever recorded: no key to build (every request asks, the address's group too) */
		return false;
	rl_key(key, kind, who);
	struct rl_slot *s = rl_find(rl, key);
	return s && rl_active(s, now) && s->failures >= AUTH_FAIL_LIMIT;
}

static void rl_fail(struct ratelimit *rl, const char *kind, const char *who, time_t now)
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
static void rl_mark_shared(struct ratelimit *rl, const char *kind, const char *who, time_t now)
{
	char key[RL_KEY_MAX];
	rl_key(key, kind, who);
	struct rl_slot *s = rl_claim(rl, key, now);
	if (s) {
		rl->rl_used = true;
		s->shared_refused = now;
	}
}

/* Whether the shared count refused who within the last AUTH_FAIL_WINDOW seconds (rl_mark_shared). Under rl->mu. */
static bool rl_shared_marked(struct ratelimit *rl, const char *kind, const char *who, time_t now)
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
 * no entry to count it in, see ratelimit_reserve). A verification reserves before it runs and releases after it (rl_release), recording its
 * failure in the same hold of the lock, so however many run at once no more than the limit's number can. */
static enum rl_reservation rl_reserve(struct ratelimit *rl, const char *kind, const char *who, time_t now)
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

static void rl_release(struct ratelimit *rl, const char *kind, const char *who)
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
	bool limited = rl_limited(rl, kind, who, now);
	pthread_mutex_unlock(&rl->mu);
	return limited;
}

void ratelimit_failed(struct ratelimit *rl, const char *kind, const char *who, time_t now)
{
	pthread_mutex_lock(&rl->mu);
	rl_fail(rl, kind, who, now);
	pthread_mutex_unlock(&rl->mu);
}

enum rl_reservation ratelimit_reserve(struct ratelimit *rl, const char *kind, const char *who, time_t now)
{
	pthread_mutex_lock(&rl->mu);
	enum rl_reservation r = rl_reserve(rl, kind, who, now);
	pthread_mutex_unlock(&rl->mu);
	return r;
}

void ratelimit_release(struct ratelimit *rl, const char *kind, const char *who, bool failed, time_t now)
{
	pthread_mutex_lock(&rl->mu);
	rl_release(rl, kind, who);
	if (failed)
		rl_fail(rl, kind, who, now);
	pthread_mutex_unlock(&rl->mu);
}

bool auth_peer_limited(struct worker *w, const char *peer)
{
	struct ratelimit *rl = w->app->rl;
	struct db_auth_state shared;
	pthread_mutex_lock(&rl->mu);
	bool limited = rl_limited(rl, "proof", peer, time(NULL));
	pthread_mutex_unlock(&rl->mu);
	/* the other frontends' count too (a database error is logged and this process's count still holds: the
	 * proof that follows needs the database, and fails on it, anyway) */
	return limited || (!authshare_check(w, "proof", NULL, peer, &shared) && shared.addr_limited);
}

void auth_peer_failed(struct worker *w, const char *peer)
{
	struct ratelimit *rl = w->app->rl;
	pthread_mutex_lock(&rl->mu);
	rl_fail(rl, "proof", peer, time(NULL));
	pthread_mutex_unlock(&rl->mu);
	(void)authshare_failed(w, "proof", NULL, peer, NULL);
}

static int b64_encode(const uint8_t *in, size_t len, char *out, size_t out_len)
{
	if (out_len < 4 * ((len + 2) / 3) + 1)
		return HSMCA_ERR_LIMIT;
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return 0;
}

/* Strict base64 decode (b64_canonical: the standard alphabet, no whitespace, padding at the end only). */
static int b64_decode(const char *in, size_t len, uint8_t *out, size_t out_max, size_t *out_len)
{
	uint8_t tmp[1024];
	if (len / 4 * 3 > sizeof(tmp) || !b64_canonical(in, len))
		return HSMCA_ERR_PARSE;
	int n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
	if (n < 0)
		return HSMCA_ERR_PARSE;
	size_t pad = (in[len - 1] == '=') + (in[len - 2] == '=');
	size_t real = (size_t)n - pad;
	if (real > out_max) {
		OPENSSL_cleanse(tmp, sizeof(tmp));
		return HSMCA_ERR_LIMIT;
	}
	memcpy(out, tmp, real);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	*out_len = real;
	return 0;
}

static int auth_scrypt(const char *pw, size_t len, const uint8_t *salt, unsigned logn, unsigned r, unsigned p,
		       uint8_t key[AUTH_KEY])
{
	return EVP_PBE_scrypt(pw, len, salt, AUTH_SALT, (uint64_t)1 << logn, r, p, AUTH_MAXMEM, key, AUTH_KEY) == 1
		       ? 0
		       : HSMCA_ERR_CRYPTO;
}

int auth_hash_password(const char *password, size_t len, char *out)
{
	uint8_t salt[AUTH_SALT], key[AUTH_KEY];
	char s64[64], k64[64];
	int rc;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return HSMCA_ERR_CRYPTO;
	if ((rc = auth_scrypt(password, len, salt, AUTH_LOGN, AUTH_R, AUTH_P, key)))
		return rc;
	if (b64_encode(salt, sizeof(salt), s64, sizeof(s64)) || b64_encode(key, sizeof(key), k64, sizeof(k64)))
		return HSMCA_ERR_LIMIT;
	snprintf(out, DB_HASH_MAX, "scrypt$%u$%u$%u$%s$%s", AUTH_LOGN, AUTH_R, AUTH_P, s64, k64);
	OPENSSL_cleanse(key, sizeof(key));
	return 0;
}

bool auth_verify_password(const char *encoded, const char *password, size_t len)
{
	unsigned logn, r, p;
	char s64[64], k64[64];
	uint8_t salt[AUTH_SALT], want[AUTH_KEY], got[AUTH_KEY];
	size_t sl = 0, kl = 0;
	bool ok = false;
	char canon[DB_HASH_MAX];
	if (sscanf(encoded, "scrypt$%u$%u$%u$%63[^$]$%63s", &logn, &r, &p, s64, k64) != 5 || logn < 10 || logn > 20 ||
	    r != AUTH_R || p != AUTH_P)
		return false;
	/* exactly as auth_hash_password writes it: no sign, space or leading zero in a number (sscanf's %u takes
	 * them), nothing after the hash (%s stops at white space) */
	snprintf(canon, sizeof(canon), "scrypt$%u$%u$%u$%s$%s", logn, r, p, s64, k64);
	if (strcmp(canon, encoded) != 0)
		return false;
	if (b64_decode(s64, strlen(s64), salt, sizeof(salt), &sl) || sl != AUTH_SALT ||
	    b64_decode(k64, strlen(k64), want, sizeof(want), &kl) || kl != AUTH_KEY)
		return false;
	if (auth_scrypt(password, len, salt, logn, r, p, got) == 0)
		ok = CRYPTO_memcmp(got, want, AUTH_KEY) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	return ok;
}

/* Verifying against this costs what a real check costs, so an unknown user is not faster to refuse: its
 * parameters are the ones new hashes get (a raised AUTH_LOGN raises both). */
#define AUTH_STR_(x) #x
#define AUTH_STR(x) AUTH_STR_(x)
static const char auth_dummy[] = "scrypt$" AUTH_STR(AUTH_LOGN) "$" AUTH_STR(AUTH_R) "$" AUTH_STR(AUTH_P)
				 "$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

static void auth_cache_tag(struct ratelimit *rl, const char *user, const char *pw, size_t pw_len,
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
static bool auth_cache_hit(struct ratelimit *rl, const uint8_t *tag, time_t now, const struct db_account *cur)
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
static bool auth_cache_new_peer(struct ratelimit *rl, const uint8_t *tag, const char *peer)
{
	struct cache_slot *s = &rl->cache[tag[0] % AUTH_CACHE_SLOTS];
	pthread_mutex_lock(&rl->mu);
	bool fresh = strncmp(s->peer, peer, sizeof(s->peer)) != 0;
	if (fresh)
		snprintf(s->peer, sizeof(s->peer), "%s", peer);
	pthread_mutex_unlock(&rl->mu);
	return fresh;
}

static void auth_cache_put(struct ratelimit *rl, const uint8_t *tag, time_t now, const struct db_account *a)
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
static bool auth_account_cached(struct ratelimit *rl, const char *user, struct db_account *out, uint64_t *gen,
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
static int auth_account_get(struct worker *w, const char *user, struct db_account *out)
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

/* What pwflight_verify needs of the credential cache and the limits for one login (pwflight_cache.arg). */
struct auth_login {
	struct ratelimit *rl;
	const uint8_t *tag;
	time_t now;
	const struct db_account *acct; /* NULL: no such account (verified against the dummy, never cached) */
	const char *user, *peer;
	struct worker *w;          /* for the shared counts (authshare.h) */
	bool known_shared;         /* the shared record knows this (account, address) pair */
	bool held_addr, held_acct; /* reserved by auth_login_begin: released by auth_login_settle */
	bool local_addr, local_acct; /* ... in this process's table (not so when it had no slot: RL_NO_SLOT) */
	bool shared_held, shared_acct; /* taken from the shared counts (the account's too): given back on success */
	bool refused;              /* auth_login_begin found no budget left: nothing was verified */
	bool shared_error;         /* ... because the shared counts could not be asked */
};

static bool auth_login_known(void *arg)
{
	struct auth_login *l = arg;
	/* a disabled account is verified every time, as a wrong password is: a cached right one answered faster */
	return l->acct && !l->acct->disabled && auth_cache_hit(l->rl, l->tag, l->now, l->acct);
}

static void auth_login_record(void *arg, bool ok)
{
	struct auth_login *l = arg;
	if (ok && l->acct && !l->acct->disabled) /* a hit keeps its expiry: the TTL bounds how long a verification is reused */
		auth_cache_put(l->rl, l->tag, l->now, l->acct);
}

/* The user and password of a Basic header's base64 into raw (the caller wipes it): 0, or -1 if malformed. */
int auth_basic_split(const char *b64, uint8_t raw[AUTH_RAW_MAX], const char **user, const char **pw, size_t *pw_len)
{
	size_t len = 0;
	if (b64_decode(b64, strlen(b64), raw, AUTH_RAW_MAX - 1, &len))
		return -1;
	uint8_t *colon = memchr(raw, ':', len);
	if (!colon || colon == raw || (size_t)(colon - raw) >= DB_NAME_MAX || memchr(raw, 0, len))
		return -1;
	*colon = 0;
	*user = (const char *)raw;
	*pw = (const char *)colon + 1;
	*pw_len = len - (size_t)(colon - raw) - 1;
	return 0;
}

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

static bool auth_known_here(struct ratelimit *rl, const char *user, const char *peer, time_t now);

/* The login is about to run scrypt itself (not joining one running, not cached): one attempt is reserved
 * against the address's budget and the account's, so that no more verifications run at once than failures
 * would be allowed (the account's limit does not hold at a known address: there a login that finds no budget
 * left on the account goes on with the address's alone); first in this process, then in the counts every
 * frontend shares (authshare_reserve, a statement under pwflight's lock: only logins that are to run scrypt
 * come here). Without a reservation nothing is verified, and the login is answered as limited (or as a
 * database error). */
static bool auth_login_begin(void *arg)
{
	struct auth_login *l = arg;
	struct ratelimit *rl = l->rl;
	pthread_mutex_lock(&rl->mu);
	enum rl_reservation ra = rl_reserve(rl, "addr", l->peer, l->now);
	enum rl_reservation racct = ra != RL_NO_BUDGET ? rl_reserve(rl, "acct", l->user, l->now) : RL_NO_BUDGET;
	l->held_addr = ra != RL_NO_BUDGET;
	l->local_addr = ra == RL_RESERVED;
	l->held_acct = racct != RL_NO_BUDGET;
	l->local_acct = racct == RL_RESERVED;
	pthread_mutex_unlock(&rl->mu);
	bool known = l->known_shared || (l->held_addr && !l->held_acct && auth_known_here(rl, l->user, l->peer, l->now));
	if (l->held_addr && !l->held_acct && !known) {
		pthread_mutex_lock(&rl->mu);
		if (l->local_addr)
			rl_release(rl, "addr", l->peer);
		l->held_addr = l->local_addr = false;
		pthread_mutex_unlock(&rl->mu);
	}
	if (l->held_addr) {
		bool ok = false;
		int rc = authshare_reserve(l->w, l->user, l->peer, &ok);
		l->shared_acct = ok;
		if (!rc && !ok && (known || auth_known_here(rl, l->user, l->peer, l->now)))
			rc = authshare_reserve(l->w, NULL, l->peer, &ok); /* the account's limit does not hold here */
		l->shared_held = !rc && ok;
		l->shared_error = rc != 0;
		if (!l->shared_held) {
			pthread_mutex_lock(&rl->mu);
			if (l->local_acct)
				rl_release(rl, "acct", l->user);
			if (l->local_addr)
				rl_release(rl, "addr", l->peer);
			l->held_acct = l->held_addr = l->local_acct = l->local_addr = false;
			pthread_mutex_unlock(&rl->mu);
		}
	}
	l->refused = !l->held_addr;
	return !l->refused;
}

/* After the verification (or the join, or the cache hit): the reservations go, and a failure is counted
 * against both, in one hold of the lock (the count never drops between them). */
static void auth_login_settle(struct auth_login *l, bool ok)
{
	struct ratelimit *rl = l->rl;
	pthread_mutex_lock(&rl->mu);
	if (l->local_acct)
		rl_release(rl, "acct", l->user);
	if (l->local_addr)
		rl_release(rl, "addr", l->peer);
	l->held_acct = l->held_addr = l->local_acct = l->local_addr = false;
	if (!ok) {
		rl_fail(rl, "acct", l->user, l->now);
		rl_fail(rl, "addr", l->peer, l->now);
	}
	pthread_mutex_unlock(&rl->mu);
	/* the shared counts: a reservation is settled (a failure, or given back); a login that joined a
	 * verification (or found it cached) reserved nothing, and its failure is counted now */
	if (l->shared_held)
		authshare_settle(l->w, l->shared_acct ? l->user : NULL, l->peer, !ok);
	else if (!ok)
		(void)authshare_failed(l->w, "addr", l->user, l->peer, NULL);
	l->shared_held = false;
}

/* A verified login of user from peer. sharing (a worker's login, which can write the database): true if the
 * shared record (authshare_known) is due, i.e. this process has not written the pair there in the last
 * AUTH_KNOWN_SHARE_SECONDS (or has no way to keep it in). The loop's cached logins record the pair here only. */
#define AUTH_KNOWN_SHARE_SECONDS 3600
static bool auth_mark_known(struct ratelimit *rl, const char *user, const char *peer, time_t now, bool sharing)
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
static void auth_known_shared(struct ratelimit *rl, const char *user, const char *peer, time_t now)
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
static bool auth_known_here(struct ratelimit *rl, const char *user, const char *peer, time_t now)
{
	uint8_t utag[SHA256_DIGEST_LENGTH], ptag[SHA256_DIGEST_LENGTH];
	auth_known_tags(rl, user, peer, utag, ptag);
	pthread_mutex_lock(&rl->mu);
	bool known = auth_known_find(rl, utag, ptag, now);
	pthread_mutex_unlock(&rl->mu);
	return known;
}

/* This process's counts of a login: true if its address is limited; else *out says whether its account is
 * (the caller weighs the known pairs, its own and the shared record's). */
static bool auth_counts(struct ratelimit *rl, const char *user, const char *peer, time_t now, struct db_auth_state *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&rl->mu);
	out->addr_limited = rl_limited(rl, "addr", peer, now);
	out->acct_limited = !out->addr_limited && rl_limited(rl, "acct", user, now);
	pthread_mutex_unlock(&rl->mu);
	return out->addr_limited;
}

/* By this process's counts only: the address's limit always holds; the account's unless the account logged in
 * from this address before (auth.h). The tags are computed only for an account that is limited. */
static bool auth_limited(struct ratelimit *rl, const char *user, const char *peer, time_t now)
{
	struct db_auth_state st;
	return auth_counts(rl, user, peer, now, &st) || (st.acct_limited && !auth_known_here(rl, user, peer, now));
}

/* Whether the shared count refused this address or account lately: a cached login goes to a worker instead. */
static bool auth_shared_refused(struct ratelimit *rl, const char *user, const char *peer, time_t now)
{
	pthread_mutex_lock(&rl->mu);
	bool refused = rl_shared_marked(rl, "addr", peer, now) || rl_shared_marked(rl, "acct", user, now);
	pthread_mutex_unlock(&rl->mu);
	return refused;
}

bool auth_cached(struct ratelimit *rl, const char *header, const char *peer, struct db_account *out)
{
	uint8_t raw[AUTH_RAW_MAX], tag[SHA256_DIGEST_LENGTH];
	const char *user, *pw;
	size_t pw_len;
	uint64_t gen;
	bool watched, ok = false;
	time_t now = time(NULL);
	if (header && !strncasecmp(header, "Basic ", 6) && auth_basic_split(header + 6, raw, &user, &pw, &pw_len) == 0 &&
	    !auth_limited(rl, user, peer, now) && !auth_shared_refused(rl, user, peer, now) &&
	    auth_account_cached(rl, user, out, &gen, &watched)) {
		auth_cache_tag(rl, user, pw, pw_len, tag);
		ok = auth_cache_hit(rl, tag, now, out) && !out->disabled;
		if (ok && auth_cache_new_peer(rl, tag, peer)) /* on the loop: the shared record waits for a worker's login */
			(void)auth_mark_known(rl, user, peer, now, false);
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	return ok;
}

/* A failed proof of no particular account (malformed credentials, an unknown API key): counted against the
 * address, so that guessing keys or flooding the audit log with refusals ends in 429s, which are not audited. */
static enum auth_result auth_addr_failed(struct worker *w, const char *peer, time_t now, const char *what)
{
	struct ratelimit *rl = w->app->rl;
	bool limited;
	pthread_mutex_lock(&rl->mu);
	limited = rl_limited(rl, "addr", peer, now);
	if (!limited)
		rl_fail(rl, "addr", peer, now);
	pthread_mutex_unlock(&rl->mu);
	if (limited || (!authshare_failed(w, "addr", NULL, peer, &limited) && limited))
		return AUTH_LIMITED; /* here, or by the count every frontend keeps */
	atomic_fetch_add(&w->app->auth_failures, 1);
	log_event("warn", "auth_failed", "what=\"%s\" peer=%s", what, peer);
	return AUTH_BAD;
}

enum auth_result auth_missing_failed(struct worker *w, const char *peer)
{
	return auth_addr_failed(w, peer, time(NULL), "no credentials");
}

static enum auth_result auth_basic(struct worker *w, const char *b64, const char *peer, struct db_account *out)
{
	struct ratelimit *rl = w->app->rl;
	uint8_t raw[AUTH_RAW_MAX];
	time_t now = time(NULL);
	enum auth_result res = AUTH_BAD;
	uint8_t tag[SHA256_DIGEST_LENGTH];
	const char *user, *pw;
	size_t pw_len;
	if (auth_basic_split(b64, raw, &user, &pw, &pw_len)) {
		OPENSSL_cleanse(raw, sizeof(raw));
		return auth_addr_failed(w, peer, now, "malformed Basic credentials");
	}
	struct db_auth_state sh;
	/* this process's counts, then those every frontend keeps; a pair either knows lifts the account's limit */
	if (auth_counts(rl, user, peer, now, &sh)) {
		res = AUTH_LIMITED;
		goto out;
	}
	struct db_auth_state sh2;
	if (authshare_check(w, "addr", user, peer, &sh2)) {
		res = AUTH_ERROR;
		goto out;
	}
	if (sh2.addr_limited ||
	    ((sh.acct_limited || sh2.acct_limited) && !sh2.pair_known && !auth_known_here(rl, user, peer, now))) {
		pthread_mutex_lock(&rl->mu);
		if (sh2.addr_limited)
			rl_mark_shared(rl, "addr", peer, now);
		if (sh2.acct_limited)
			rl_mark_shared(rl, "acct", user, now);
		pthread_mutex_unlock(&rl->mu);
		res = AUTH_LIMITED;
		goto out;
	}
	/* role, disabled and password are the current ones (auth_account_get); the scrypt verification is
	 * cached against the password hash the row holds now. A name no account can have (not UTF-8, a control
	 * character) is not found without a query: an unknown user, verified against the dummy and counted. */
	int rc = auth_account_get(w, user, out);
	if (rc == HSMCA_ERR_AUTH) { /* its row was changed outside the frontend: as an unknown account */
		auth_row_refused(w, peer);
		rc = HSMCA_ERR_NOTFOUND;
	}
	if (rc && rc != HSMCA_ERR_NOTFOUND) {
		res = AUTH_ERROR;
		goto out;
	}
	auth_cache_tag(rl, user, pw, pw_len, tag);
	struct auth_login login = { .rl = rl, .tag = tag, .now = now, .acct = rc ? NULL : out, .user = user, .peer = peer,
				    .w = w, .known_shared = sh2.pair_known };
	const struct pwflight_cache cache = { auth_login_known, auth_login_record, auth_login_begin, &login };
	bool ok = auth_login_known(&login) ||
		  pwflight_verify(rl->flight, tag, rc ? auth_dummy : out->pw_hash, pw, pw_len, &cache,
				  &w->app->password_checks);
	if (login.refused) { /* as many verifications run or failed as the limit allows: nothing was verified */
		res = login.shared_error ? AUTH_ERROR : AUTH_LIMITED;
		goto out;
	}
	ok = ok && !rc && !out->disabled;
	auth_login_settle(&login, ok);
	if (ok) {
		res = AUTH_OK;
		if (auth_mark_known(rl, user, peer, now, true) && authshare_known(w, user, peer) == 0)
			auth_known_shared(rl, user, peer, now);
	} else {
		atomic_fetch_add(&w->app->auth_failures, 1);
		char q[4 * DB_NAME_MAX + 3]; /* a name's every byte as \xNN, and its quotes: two names never log alike */
		log_event("warn", "auth_failed", "user=%s peer=%s", log_quote(user, q, sizeof(q)), peer);
	}
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	return res;
}

static enum auth_result auth_bearer(struct worker *w, const char *key, const char *peer, struct db_account *out)
{
	uint8_t h[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1];
	size_t kl = strlen(key);
	time_t now = time(NULL);
	struct ratelimit *rl = w->app->rl;
	struct db_auth_state sh;
	pthread_mutex_lock(&rl->mu);
	bool limited = rl_limited(rl, "addr", peer, now);
	pthread_mutex_unlock(&rl->mu);
	if (limited)
		return AUTH_LIMITED;
	/* and the count every frontend keeps, as for a password (before, only this process's: five failures at
	 * one frontend left a valid key, and five more guesses, to every other) */
	if (authshare_check(w, "addr", NULL, peer, &sh))
		return AUTH_ERROR;
	if (sh.addr_limited)
		return AUTH_LIMITED;
	if (kl < 16 || kl > 256)
		return auth_addr_failed(w, peer, now, "malformed API key");
	SHA256((const uint8_t *)key, kl, h);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	int rc = db_apikey_lookup(w->db, hex, out);
	if (rc == HSMCA_ERR_AUTH)
		auth_row_refused(w, peer);
	if (rc == HSMCA_ERR_NOTFOUND || rc == HSMCA_ERR_AUTH || (!rc && out->disabled))
		return auth_addr_failed(w, peer, now, "unknown or disabled API key");
	return rc ? AUTH_ERROR : AUTH_OK;
}

void auth_row_refused(struct worker *w, const char *peer)
{
	log_event("error", "row_refused", "peer=%s why=\"%s\"", peer ? peer : "-", db_errmsg(w->db));
	atomic_fetch_add(&w->app->rows_refused, 1);
}

bool auth_is_api_key(const char *header)
{
	return header && !strncasecmp(header, "Bearer ", 7);
}

enum auth_result auth_check(struct worker *w, const char *header, const char *peer, struct db_account *out)
{
	if (!header || !*header)
		return AUTH_MISSING;
	if (!strncasecmp(header, "Basic ", 6))
		return auth_basic(w, header + 6, peer, out);
	if (!strncasecmp(header, "Bearer ", 7))
		return auth_bearer(w, header + 7, peer, out);
	return auth_addr_failed(w, peer, time(NULL), "unsupported Authorization scheme");
}
