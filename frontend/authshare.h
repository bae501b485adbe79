/* authshare: the failed-login limits as every frontend of the database counts them (schema 021, db_auth_*),
 * beside each process's own count (auth.c's ratelimit, which also bounds the verifications running at once).
 * Before, each process counted alone: N frontends behind a load balancer allowed N times the guesses, and a
 * restart forgot them.
 *
 * A count is kept under a tag, HMAC-SHA-256 under the frontend's intent key (the same in every frontend of
 * the database) over "hsmca-authlimit-v1" 0 kind ":" who, where who is an account name ("acct") or an
 * address's group ("addr", "proof"; peergroup.h); an account's login from an address is known under
 * "hsmca-authknown-v1" 0 name 0 group. The limits are auth.h's: AUTH_FAIL_LIMIT failures with no
 * AUTH_FAIL_WINDOW-second pause between them; the account's limit does not hold at an address it logged in
 * from within AUTH_KNOWN_SECONDS. A failure counted while its tag is limited does not move the window on (as
 * in memory), so a flood of refused guesses ends a minute after the last counted one. Rows past their window
 * are deleted at most once a minute per process. Each call is one statement on the worker's connection. */
#ifndef HSMCA_AUTHSHARE_H
#define HSMCA_AUTHSHARE_H

#include <stdbool.h>

#include "app.h"

/* *limited: peer's count (kind) is at the limit; *acct_limited (may be NULL; only with user): the account's is
 * and it has not logged in from peer's group through any frontend (auth_known). The caller adds its own
 * process's known pairs. 0 or the database's error (the caller answers it as one: nothing is verified). */
int authshare_limited(struct worker *w, const char *kind, const char *user, const char *peer, bool *limited,
		      bool *acct_limited) HSMCA_WUR;
/* Counts a failure of peer (kind "addr" or "proof") and, if user is not NULL, of the account. *was_limited
 * (may be NULL): the address or the account had reached the limit before this failure (it was not counted
 * against that one). A database error is logged (the process's own count still holds) and returned. */
int authshare_failed(struct worker *w, const char *kind, const char *user, const char *peer, bool *was_limited);
/* A verified login of user from peer: its address is known from now on. Errors are logged. */
void authshare_known(struct worker *w, const char *user, const char *peer);

#endif
