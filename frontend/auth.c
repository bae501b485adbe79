/* Caller authentication (auth.h): the Authorization header (HTTP Basic, Bearer API keys, a missing one),
 * weighed against this process's limits (auth_ratelimit.c) and those every frontend shares (authshare.h), the
 * login cache (auth_cache.c) and the known pairs (auth_known.c); a password verification's reservations, one
 * scrypt for identical logins (pwflight.h); the per-address limit of other proofs. */
#include "auth_priv.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "admin.h"
#include "authshare.h"
#include "log.h"
#include "pwflight.h"

_Static_assert(PWFLIGHT_TAG == SHA256_DIGEST_LENGTH, "the login tag is an HMAC-SHA-256");

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
	enum rl_reservation ra = auth_rl_reserve(rl, "addr", l->peer, l->now);
	enum rl_reservation racct = ra != RL_NO_BUDGET ? auth_rl_reserve(rl, "acct", l->user, l->now) : RL_NO_BUDGET;
	l->held_addr = ra != RL_NO_BUDGET;
	l->local_addr = ra == RL_RESERVED;
	l->held_acct = racct != RL_NO_BUDGET;
	l->local_acct = racct == RL_RESERVED;
	pthread_mutex_unlock(&rl->mu);
	bool known = l->known_shared || (l->held_addr && !l->held_acct && auth_known_here(rl, l->user, l->peer, l->now));
	if (l->held_addr && !l->held_acct && !known) {
		pthread_mutex_lock(&rl->mu);
		if (l->local_addr)
			auth_rl_release(rl, "addr", l->peer);
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
				auth_rl_release(rl, "acct", l->user);
			if (l->local_addr)
				auth_rl_release(rl, "addr", l->peer);
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
		auth_rl_release(rl, "acct", l->user);
	if (l->local_addr)
		auth_rl_release(rl, "addr", l->peer);
	l->held_acct = l->held_addr = l->local_acct = l->local_addr = false;
	if (!ok) {
		auth_rl_fail(rl, "acct", l->user, l->now);
		auth_rl_fail(rl, "addr", l->peer, l->now);
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

/* This process's counts of a login: true if its address is limited; else *out says whether its account is
 * (the caller weighs the known pairs, its own and the shared record's). */
static bool auth_counts(struct ratelimit *rl, const char *user, const char *peer, time_t now, struct db_auth_state *out)
{
	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&rl->mu);
	out->addr_limited = auth_rl_limited(rl, "addr", peer, now);
	out->acct_limited = !out->addr_limited && auth_rl_limited(rl, "acct", user, now);
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
	bool refused = auth_rl_shared_marked(rl, "addr", peer, now) || auth_rl_shared_marked(rl, "acct", user, now);
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
	limited = auth_rl_limited(rl, "addr", peer, now);
	if (!limited)
		auth_rl_fail(rl, "addr", peer, now);
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

bool auth_peer_limited(struct worker *w, const char *peer)
{
	struct ratelimit *rl = w->app->rl;
	struct db_auth_state shared;
	pthread_mutex_lock(&rl->mu);
	bool limited = auth_rl_limited(rl, "proof", peer, time(NULL));
	pthread_mutex_unlock(&rl->mu);
	/* the other frontends' count too (a database error is logged and this process's count still holds: the
	 * proof that follows needs the database, and fails on it, anyway) */
	return limited || (!authshare_check(w, "proof", NULL, peer, &shared) && shared.addr_limited);
}

void auth_peer_failed(struct worker *w, const char *peer)
{
	struct ratelimit *rl = w->app->rl;
	pthread_mutex_lock(&rl->mu);
	auth_rl_fail(rl, "proof", peer, time(NULL));
	pthread_mutex_unlock(&rl->mu);
	(void)authshare_failed(w, "proof", NULL, peer, NULL);
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
			auth_rl_mark_shared(rl, "addr", peer, now);
		if (sh2.acct_limited)
			auth_rl_mark_shared(rl, "acct", user, now);
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

/* key has a form this appliance makes keys in: ADMIN_KEY_PREFIX, then the base64url (unpadded) of
 * ADMIN_KEY_RANDOM bytes (the API's, admin.c) or their hex (the CLI's create-apikey) */
static bool auth_key_form(const char *key, size_t kl)
{
	size_t pl = strlen(ADMIN_KEY_PREFIX), b64 = (4 * ADMIN_KEY_RANDOM + 2) / 3, hex = 2 * ADMIN_KEY_RANDOM;
	if ((kl != pl + b64 && kl != pl + hex) || strncmp(key, ADMIN_KEY_PREFIX, pl) != 0)
		return false;
	for (size_t i = pl; i < kl; i++)
		if (!((key[i] >= 'A' && key[i] <= 'Z') || (key[i] >= 'a' && key[i] <= 'z') || (key[i] >= '0' && key[i] <= '9') ||
		      key[i] == '-' || key[i] == '_'))
			return false;
	return true;
}

static enum auth_result auth_bearer(struct worker *w, const char *key, const char *peer, struct db_account *out)
{
	uint8_t h[SHA256_DIGEST_LENGTH];
	char hex[2 * SHA256_DIGEST_LENGTH + 1];
	size_t kl = strlen(key);
	time_t now = time(NULL);
	struct ratelimit *rl = w->app->rl;
	struct db_auth_state sh = { 0 };
	pthread_mutex_lock(&rl->mu);
	bool limited = auth_rl_limited(rl, "addr", peer, now);
	pthread_mutex_unlock(&rl->mu);
	/* and the count every frontend keeps, as for a password (before, only this process's: five failures at
	 * one frontend left a valid key, and five more guesses, to every other) */
	if (!limited && authshare_check(w, "addr", NULL, peer, &sh))
		return AUTH_ERROR;
	limited = limited || sh.addr_limited;
	/* A limited address still gets its valid keys' requests through: a key is 256 random bits, which no
	 * number of tries guesses, and the other failures at a shared address (a NAT, a proxy: one misconfigured
	 * client) must not stop every automated client there. What it does not get is another counted or audited
	 * failure: an unknown key there is 429, as before; and only a key of the form this appliance makes
	 * (auth_key_form) is looked up there, so other bytes cost it no query. */
	if (kl < 16 || kl > 256)
		return limited ? AUTH_LIMITED : auth_addr_failed(w, peer, now, "malformed API key");
	if (limited && !auth_key_form(key, kl))
		return AUTH_LIMITED;
	SHA256((const uint8_t *)key, kl, h);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	int rc = db_apikey_lookup(w->db, hex, out);
	if (rc == HSMCA_ERR_AUTH)
		auth_row_refused(w, peer);
	if (rc == HSMCA_ERR_NOTFOUND || rc == HSMCA_ERR_AUTH || (!rc && out->disabled))
		return limited ? AUTH_LIMITED : auth_addr_failed(w, peer, now, "unknown or disabled API key");
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
