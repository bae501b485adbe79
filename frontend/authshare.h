/* authshare: the failed-login limits as every frontend of the database counts them (schema 021, db_auth_*),
 * beside each process's own count (auth.c's ratelimit). Before, each process counted alone: N frontends
 * behind a load balancer allowed N times the guesses, and a restart forgot them.
 *
 * A count is kept under a tag, HMAC-SHA-256 under the frontend's intent key (the same in every frontend of
 * the database; intent_hmac_parts, so never under a wiped key) over "hsmca-authlimit-v1" 0, the kind ("acct",
 * "addr", "proof") and who (an account's name, or an address's group, peergroup.h), each with a 16-bit length;
 * an account's login from an address is known under "hsmca-authknown-v1" 0, the name and the group. The
 * limits are auth.h's: AUTH_FAIL_LIMIT failures with no AUTH_FAIL_WINDOW-second pause between them; the
 * account's limit does not hold at an address it logged in from within AUTH_KNOWN_SECONDS (through any
 * frontend). A password verification reserves its attempt before it runs (authshare_reserve; settled as a
 * failure or given back after it, authshare_settle), so at most AUTH_FAIL_LIMIT run or fail per window across
 * all frontends, however many come at once, and a success moves no failure's time. A
 * failure counted while its tag is limited does not move the window on (as in memory), so a flood of refused
 * guesses ends a minute after the last counted one. Rows past their window are deleted at most once a minute
 * per process. Each call opens the worker's connection if it has none (issue_db) and runs on it, outside any
 * transaction but its own. */
#ifndef HSMCA_AUTHSHARE_H
#define HSMCA_AUTHSHARE_H

#include <stdbool.h>

#include "app.h"

/* What the shared counts say of peer's group (kind "addr" or "proof") and, if user is not NULL, the account.
 * 0 or an error (logged; nothing is verified on it). */
int authshare_check(struct worker *w, const char *kind, const char *user, const char *peer,
		    struct db_auth_state *out) HSMCA_WUR;
/* A password verification about to run: its attempt is taken from the address's budget and, if user is not
 * NULL, the account's, both or neither (*reserved false: one is at the limit). 0 or an error (logged). */
int authshare_reserve(struct worker *w, const char *user, const char *peer, bool *reserved) HSMCA_WUR;
/* Ends the reservation made with the same arguments: counted as a failure (failed), or given back. Errors
 * are logged (the reservation then counts until its window has passed). */
void authshare_settle(struct worker *w, const char *user, const char *peer, bool failed);
/* Counts a failure that took no reservation (kind "addr" or "proof"; and the account's if user is not NULL).
 * *was_limited (may be NULL): the address or the account was at the limit already (this failure was not
 * counted against it). 0 or an error (logged: the process's own count still holds). */
int authshare_failed(struct worker *w, const char *kind, const char *user, const char *peer, bool *was_limited);
/* A verified login of user from peer: its address is known from now on. 0 or an error (logged). */
int authshare_known(struct worker *w, const char *user, const char *peer);

#endif
