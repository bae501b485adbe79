/* What the files of auth share: auth.c (the Authorization header, its limits and the login's reservations),
 * auth_ratelimit.c (this process's failure table), auth_cache.c (the login cache), auth_known.c (the known
 * (account, address) pairs), auth_password.c (scrypt hashes, Basic credentials). Not for other modules.
 *
 * State: struct ratelimit, one per process (app.h), is made, wiped and freed by auth_ratelimit.c
 * (ratelimit_new, ratelimit_wipe, ratelimit_free); its keys are fixed at start (cache_key, rl_key), everything
 * else is under its mu. The failure table (slots, rl_base, rl_tmp, rl_used, rl_pending) belongs to
 * auth_ratelimit.c; the verified passwords and account rows (cache, acct, acct_gen, acct_watched) to
 * auth_cache.c; the known pairs (known) to auth_known.c; flight (pwflight.h) to auth.c. cache_key keys both the
 * cache's tags and the known pairs' tags. */
#ifndef HSMCA_AUTH_PRIV_H
#define HSMCA_AUTH_PRIV_H

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "auth.h"
#include "pool.h"

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

struct rl_slot {
	char key[RL_KEY_MAX];
	time_t last_failure;
	unsigned failures;
	unsigned pending; /* verifications running against this budget (auth_rl_reserve): never evicted while any */
	time_t shared_refused; /* when the count every frontend keeps (authshare) last refused it (auth_rl_mark_shared) */
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

/* auth_ratelimit.c: this process's failure table, under rl->mu (auth.h's ratelimit_* take the lock around
 * them; auth.c weighs them with the shared counts, authshare.h). */
bool auth_rl_limited(struct ratelimit *rl, const char *kind, const char *who, time_t now);
void auth_rl_fail(struct ratelimit *rl, const char *kind, const char *who, time_t now);
/* The shared count refused who (auth_rl_mark_shared), and whether it did within the window (auth_rl_shared_marked). */
void auth_rl_mark_shared(struct ratelimit *rl, const char *kind, const char *who, time_t now);
bool auth_rl_shared_marked(struct ratelimit *rl, const char *kind, const char *who, time_t now);
/* One attempt reserved against who's budget (auth.h: enum rl_reservation), given back with auth_rl_release. */
enum rl_reservation auth_rl_reserve(struct ratelimit *rl, const char *kind, const char *who, time_t now);
void auth_rl_release(struct ratelimit *rl, const char *kind, const char *who);

/* auth_password.c: the hash an unknown user's password is verified against (it costs what a real one costs). */
extern const char auth_dummy[];

/* auth_cache.c, each taking rl->mu itself. The tag of (user, password) under cache_key (no lock needed). */
void auth_cache_tag(struct ratelimit *rl, const char *user, const char *pw, size_t pw_len,
		    uint8_t tag[SHA256_DIGEST_LENGTH]);
/* Whether tag was verified within the TTL against the hash the account's row cur holds now. */
bool auth_cache_hit(struct ratelimit *rl, const uint8_t *tag, time_t now, const struct db_account *cur);
/* After a hit on the loop: true if peer is not the address this entry last served there. */
bool auth_cache_new_peer(struct ratelimit *rl, const uint8_t *tag, const char *peer);
/* Records a verification of tag against a's hash (expires AUTH_CACHE_TTL seconds after now). */
void auth_cache_put(struct ratelimit *rl, const uint8_t *tag, time_t now, const struct db_account *a);
/* user's row from the cache (true; gen and watched as read), or false. */
bool auth_account_cached(struct ratelimit *rl, const char *user, struct db_account *out, uint64_t *gen,
			 bool *watched);
/* user's row from the database (db_account_get's result), cached while a watcher listens. */
int auth_account_get(struct worker *w, const char *user, struct db_account *out) HSMCA_WUR;

/* auth_known.c, each taking rl->mu itself. A verified login of user from peer recorded: true if the shared
 * record (authshare_known) is due (sharing: a worker's login); auth_known_shared: the shared record holds it now;
 * auth_known_here: whether user logged in from peer's group through this process (AUTH_KNOWN_SECONDS). */
bool auth_mark_known(struct ratelimit *rl, const char *user, const char *peer, time_t now, bool sharing);
void auth_known_shared(struct ratelimit *rl, const char *user, const char *peer, time_t now);
bool auth_known_here(struct ratelimit *rl, const char *user, const char *peer, time_t now);

#endif
