/* One scrypt for a herd of identical logins. When many requests carry the same credentials at once and
 * none is verified yet (a restart under load, an expired cache entry), each would run its own scrypt:
 * 32 clients cost 32 x 16 MiB and seconds of CPU before the first answer. Here the first request of a
 * (credentials, stored hash) pair verifies and the others wait for its result, which is theirs too (the
 * same password checked against the same hash). The table is small: if it is full, the caller verifies
 * on its own. Thread-safe; the table owns nothing of the caller's. */
#ifndef HSMCA_PWFLIGHT_H
#define HSMCA_PWFLIGHT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PWFLIGHT_TAG 32   /* the caller's keyed digest of (user, password) */
#define PWFLIGHT_SLOTS 16 /* verifications in flight at once that others can join */

struct pwflight;

struct pwflight *pwflight_new(void);
void pwflight_free(struct pwflight *f);
/* The caller's cache of good verifications, consulted and filled in step with the table so that a request
 * that comes just as a verification ends finds either that verification or its recorded result; and its
 * limits, asked only by a caller that is to run scrypt itself (joining a running verification or finding the
 * result cached costs no scrypt, so it needs no budget). */
struct pwflight_cache {
	bool (*known_good)(void *arg);     /* the cache holds this verification (then the answer is yes) */
	void (*record)(void *arg, bool ok); /* the verifier's result, recorded before anyone may start anew */
	bool (*begin)(void *arg);          /* NULL, or false: this caller may not verify now (arg says why) */
	void *arg;
};
/* auth_verify_password(hash, pw, pw_len), run once for all callers that come with the same tag and hash
 * while it runs. verified counts the scrypt runs actually made (for /metrics). A caller that begin refuses
 * gets false without a verification. known_good and begin are called under the table's lock. */
bool pwflight_verify(struct pwflight *f, const uint8_t tag[PWFLIGHT_TAG], const char *hash, const char *pw,
		     size_t pw_len, const struct pwflight_cache *cache, atomic_ulong *verified);

#endif
