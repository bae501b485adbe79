/* The committer's signing pipeline: many TBS over a few signer connections, a window of requests in flight
 * on each (the signer serves one connection on one worker, answering in order, so the connections sign in
 * parallel). Signing thread only; no state of its own. */
#ifndef HSMCA_SIGNPIPE_H
#define HSMCA_SIGNPIPE_H

#include <stdbool.h>
#include <stddef.h>

#include "commit.h"
#include "sgn_client.h"

#define SIGNPIPE_WINDOW 32 /* requests in flight on one signer connection */
/* ... and at most this many bytes of their replies (a TBS plus SIGNPIPE_REPLY_SLACK each: the signature, its
 * algorithm, the framing and the socket's per-message overhead). The signer never blocks on a client that
 * does not read: a reply that does not fit the connection's socket buffer (~208 KiB by default, about 13
 * replies of 8 KiB) drops the connection after its TBS was signed, and the items sent again on a new one were
 * signed twice. At least one request is always in flight. */
#define SIGNPIPE_WINDOW_BYTES (64 * 1024)
#define SIGNPIPE_REPLY_SLACK 1024

/* Signs s[0..n) (each its label's TBS; n at most COMMIT_BATCH_MAX) over the open connections g[0..nc) (nc at most
 * COMMIT_SIGN_CONNS): item j goes to g[j % nc]. An item answered gets done[j] set and its sign_rc, why and
 * der (0; HSMCA_ERR_POLICY, or HSMCA_ERR_AGAIN for a refusal that is not final: sgn_client_refusal_final_live).
 * An item past its send_by when its turn to be sent comes is not sent, and answered HSMCA_ERR_IO
 * (commit_sign_overdue): a batch signed slowly does not send its last items after the recovery lease.
 * A connection the signer closes, or whose request cannot be sent, is read to its end first: every reply the
 * signer sent on it is taken (it signed those TBS; sending them again would sign them twice). keep[k] is
 * false for a connection that failed (the caller closes it); a timed-out one (the signer hung) stops every
 * connection, as waiting on the others would only add timeouts. True if every item was answered. */
bool signpipe_sign(struct sgn_client *const *g, size_t nc, struct commit_sign *const *s, bool *done, size_t n,
		   bool *keep);

#endif
