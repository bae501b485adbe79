/* The committer's signing pipeline (signpipe.h). */
#include "signpipe.h"

#include <stdio.h>
#include <time.h>

#include "frame.h"

bool signpipe_sign(struct sgn_client *const *g, size_t nc, struct commit_sign *const *s, bool *done, size_t n,
		   bool *keep)
{
	uint32_t ids[COMMIT_BATCH_MAX];
	bool overdue[COMMIT_BATCH_MAX] = { false }; /* not sent: past its send_by (commit_sign_overdue) */
	struct timespec now;
	size_t sent[COMMIT_SIGN_CONNS] = { 0 }, got[COMMIT_SIGN_CONNS] = { 0 }, cnt[COMMIT_SIGN_CONNS];
	size_t bytes[COMMIT_SIGN_CONNS] = { 0 }; /* replies' estimated size in flight (SIGNPIPE_WINDOW_BYTES) */
	bool sendable[COMMIT_SIGN_CONNS], more = true, ok = true;
	for (size_t k = 0; k < nc && k < COMMIT_SIGN_CONNS; k++)
		keep[k] = false; /* (out of range: nothing sent, every connection given up) */
	if (n > COMMIT_BATCH_MAX || nc == 0 || nc > COMMIT_SIGN_CONNS)
		return false;
	for (size_t k = 0; k < nc; k++) {
		cnt[k] = n > k ? (n - k + nc - 1) / nc : 0;
		keep[k] = sendable[k] = true;
	}
	while (more) {
		more = false;
		for (size_t k = 0; k < nc; k++) /* fill every connection's window before waiting on any */
			while (keep[k] && sendable[k] && sent[k] < cnt[k] && sent[k] - got[k] < SIGNPIPE_WINDOW) {
				size_t j = sent[k] * nc + k;
				size_t cost = s[j]->tbs_len + SIGNPIPE_REPLY_SLACK;
				clock_gettime(CLOCK_MONOTONIC, &now);
				if (commit_sign_overdue(s[j], &now)) { /* answered where its turn to be read comes */
					overdue[j] = true;
					sent[k]++;
					continue;
				}
				if (sent[k] > got[k] && bytes[k] + cost > SIGNPIPE_WINDOW_BYTES)
					break; /* its replies would not all fit the socket: read some first */
				if (sgn_client_send_sign(g[k], FRAME_SIGN_CERT, s[j]->label, s[j]->tbs, s[j]->tbs_len, &ids[j])) {
					sendable[k] = false; /* the signer closed it: read what it answered before */
				} else {
					sent[k]++;
					bytes[k] += cost;
				}
			}
		for (size_t k = 0; k < nc; k++) {
			if (!keep[k] || got[k] == sent[k])
				continue;
			size_t j = got[k] * nc + k;
			if (overdue[j]) {
				done[j] = true;
				got[k]++;
				continue;
			}
			int rc = sgn_client_recv_reply(g[k], ids[j], &s[j]->der);
			if (rc != 0 && rc != HSMCA_ERR_POLICY) {
				keep[k] = false;
				if (g[k]->timed_out) /* hung: waiting on the other connections would only add timeouts */
					for (size_t m = 0; m < nc; m++)
						keep[m] = false;
				continue;
			}
			/* only a refusal of the TBS itself (or of its key label: a live request) is final; an HSM
			 * error, a sealed signer or its clock leave the row pending for recovery (HSMCA_ERR_AGAIN) */
			s[j]->sign_rc = rc && !sgn_client_refusal_final_live(g[k]->err_code) ? HSMCA_ERR_AGAIN : rc;
			if (rc)
				snprintf(s[j]->why, sizeof(s[j]->why), "%s", g[k]->err_msg);
			done[j] = true;
			got[k]++;
			bytes[k] -= s[j]->tbs_len + SIGNPIPE_REPLY_SLACK;
			if (rc && g[k]->err_code == FRAME_E_MALFORMED)
				keep[k] = false; /* the signer closes after a malformed TBS */
		}
		for (size_t k = 0; k < nc && !more; k++)
			more = keep[k] && (got[k] < sent[k] || (sendable[k] && sent[k] < cnt[k]));
	}
	for (size_t k = 0; k < nc; k++) {
		keep[k] = keep[k] && sendable[k];
		ok = ok && got[k] == cnt[k];
	}
	return ok;
}
