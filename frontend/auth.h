/* Caller authentication: HTTP Basic (scrypt-hashed passwords, a dummy hash for unknown users so both
 * cost the same) or Bearer API keys (stored as SHA-256), with per-account and per-address failure limits.
 * A password verification reserves its attempt against both limits before scrypt runs (ratelimit_reserve), so
 * parallel guesses cannot all run before the first failure is counted.
 * The per-account limit does not hold against an address the account logged in from within
 * AUTH_KNOWN_SECONDS; that address still has its own limit: whoever guesses
 * at an administrator's password from elsewhere cannot lock the administrator out of their usual address.
 * Known addresses are held in memory, per process. */
#ifndef HSMCA_AUTH_H
#define HSMCA_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "app.h"
#include "db.h"

#define AUTH_PW_MAX 256
#define AUTH_FAIL_LIMIT 5      /* failures per window before refusing */
#define AUTH_FAIL_WINDOW 60    /* seconds */
#define AUTH_KNOWN_SECONDS (30 * 86400) /* a successful login makes its (account, address) known this long */

enum auth_result { AUTH_OK = 0, AUTH_MISSING, AUTH_BAD, AUTH_LIMITED, AUTH_ERROR };

/* Authenticates the Authorization header value; on AUTH_OK out holds the account as its row is now (role,
 * disabled and password: a Basic login's row comes from a cache that any change to accounts or API keys
 * voids, see auth_accounts_changed; scrypt results are cached against the stored hash). */
enum auth_result auth_check(struct worker *w, const char *header, const char *peer, struct db_account *out);
/* The same without waiting, for the event loop: true (out filled) only if header is HTTP Basic whose account
 * row and verified password are both cached, neither limited nor disabled; false means "ask auth_check",
 * which may read the database or run scrypt (it also refuses and counts what is wrong). */
bool auth_cached(struct ratelimit *rl, const char *header, const char *peer, struct db_account *out);
/* The account cache: rows are cached only while a watcher (acctwatch.c) listens for changes
 * (auth_accounts_watching); every change it hears of, and every change made through this frontend
 * (auth_accounts_changed, called after the commit and before the reply), voids the whole cache. */
void auth_accounts_changed(struct ratelimit *rl);
void auth_accounts_watching(struct ratelimit *rl, bool on);
/* A request without credentials where they are required and its refusal is audited (CFSSL's /sign): counted
 * against the address like malformed credentials, so that such refusals end in 429s, which are not audited.
 * AUTH_BAD (logged as auth_failed; the caller audits its refusal with actor "-") or AUTH_LIMITED (the caller
 * answers 429, nothing counted or audited). */
enum auth_result auth_missing_failed(struct worker *w, const char *peer);
/* True if header carries an API key (Bearer): a machine credential, refused for account management. */
bool auth_is_api_key(const char *header);
/* An account or API key row refused for its MAC (rowmac.h; db_errmsg(w->db) says which and why): logged as
 * row_refused and counted in /metrics. The caller then treats it as unknown. */
void auth_row_refused(struct worker *w, const char *peer);
/* Failed proofs other than logins (renewal challenges and signatures, unknown client certificates), per
 * address with the same limit and window as logins: limited is true while peer must wait. */
bool auth_peer_limited(struct worker *w, const char *peer);
void auth_peer_failed(struct worker *w, const char *peer);
/* "scrypt$<logN>$<r>$<p>$<salt b64>$<hash b64>" of password into out (DB_HASH_MAX). */
int auth_hash_password(const char *password, size_t len, char *out) HSMCA_WUR;
/* Constant-time check of password against an encoded hash. */
bool auth_verify_password(const char *encoded, const char *password, size_t len);
/* Rate-limit table (process-wide, thread-safe). */
struct ratelimit *ratelimit_new(void);
/* Wipes and frees rl (NULL: nothing), once no other thread can use it (the frontend never frees its own: see
 * ratelimit_wipe). */
void ratelimit_free(struct ratelimit *rl);
/* The failure table behind the limits, keyed by kind ("acct", "addr", "proof") and who: limited is true once
 * AUTH_FAIL_LIMIT failures came with no AUTH_FAIL_WINDOW-second pause between them. Its sets are chosen with
 * a per-process secret, and a limited entry is never evicted before its window has passed, so failures of
 * other names cannot reset anyone's count. */
bool ratelimit_limited(struct ratelimit *rl, const char *kind, const char *who, time_t now);
void ratelimit_failed(struct ratelimit *rl, const char *kind, const char *who, time_t now);
/* An attempt about to be made (a password verification): RL_RESERVED against who's budget if the failures
 * in the window plus the reservations held stay below AUTH_FAIL_LIMIT with it; RL_NO_BUDGET reserves nothing.
 * A reserved entry is never evicted. ratelimit_release gives it back and, if failed, counts the failure, in
 * one hold of the lock. So at most AUTH_FAIL_LIMIT attempts run or fail per window, however many come at once;
 * limited (above) counts failures only, so a success or a cached login is never refused for attempts running.
 * RL_NO_SLOT: who has no entry and every one it could take is limited or reserved (a table filled by cheap
 * failures from many addresses): nothing reserved here, and the login goes on under the counts every frontend
 * shares (authshare.h), which have no such bound; refusing it let anyone fill the table deny every login. */
enum rl_reservation { RL_NO_BUDGET = 0, RL_RESERVED = 1, RL_NO_SLOT = 2 };
enum rl_reservation ratelimit_reserve(struct ratelimit *rl, const char *kind, const char *who, time_t now) HSMCA_WUR;
void ratelimit_release(struct ratelimit *rl, const char *kind, const char *who, bool failed, time_t now);
/* At exit: wipes the credential cache (tags, key, account rows) under the lock; frees nothing, as other
 * threads may still hold rl. */
void ratelimit_wipe(struct ratelimit *rl);

#define AUTH_RAW_MAX (DB_NAME_MAX + 1 + AUTH_PW_MAX)
/* The user and password of a Basic header's base64 (strict, at most AUTH_RAW_MAX - 1 bytes decoded) into raw
 * (the caller wipes it): 0 with user NUL-terminated (1..DB_NAME_MAX-1 bytes, no ':') and pw, pw_len bytes
 * after it (no NUL in either), both pointing into raw; or -1 if malformed. Used by auth_check and auth_cached;
 * declared here for tests/fuzz/fuzz_authbasic.c. */
int auth_basic_split(const char *b64, uint8_t raw[AUTH_RAW_MAX], const char **user, const char **pw,
		     size_t *pw_len) HSMCA_WUR;

#endif
