/* One request frame in, one reply frame out. Validates before acting: unknown or not-yet-permitted
 * types and malformed frames end the connection; TBS structures are re-parsed and checked against the
 * key's pinned profile before anything is signed. */
#ifndef HSMCA_SGN_DISPATCH_H
#define HSMCA_SGN_DISPATCH_H

#include <stdbool.h>

#include "der.h"
#include "span.h"
#include "state.h"

struct sgn_conn {
	int fd;
	bool hello_done;
};

enum sgn_verdict {
	SGN_REPLY = 0,       /* send out, keep the connection */
	SGN_REPLY_CLOSE = 1, /* send out, then close */
	SGN_CLOSE = -1,      /* close without a reply */
};

/* msg is one whole SEQPACKET message. out receives the reply frame. */
enum sgn_verdict sgn_dispatch(struct sgn_worker *w, struct sgn_conn *c, struct span msg, struct dbuf *out);
/* True once the HSM cannot sign for this process any more (a lost token, session or login, or
 * SGN_HSM_FAILURES_MAX failed signatures in a row): the worker answers the request and the process exits, so
 * that its supervisor restarts it sealed instead of it answering every request with an HSM error for ever. */
bool sgn_hsm_lost(void);

#endif
