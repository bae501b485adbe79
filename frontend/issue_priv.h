/* What the files of issuance share: issue.c (the request, its checks, the synchronous path), issue_parse.c
 * (its bounded parsers), issue_reply.c (its answers), issue_commit.c (intent, signature, result), issue_recover.c
 * (stored intents checked, the recovery pass) and issue_async.c (issuance that does not hold a worker). Not for
 * other modules. State: the sign-ahead the committer hands a worker (issue_ahead) is per thread, owned by
 * issue_commit.c; the recovery's stop flag by issue_recover.c; nothing else outlives a call. */
#ifndef HSMCA_ISSUE_PRIV_H
#define HSMCA_ISSUE_PRIV_H

#include "issue.h"
#include "json.h"
#include "pool.h"

/* The 503 reason for a row left pending (recovery completes it), naming its serial: rc HSMCA_ERR_AGAIN (why
 * holds the signer's reason on entry, kept in the message) or HSMCA_ERR_IO (the signer unavailable). */
void issue_why_later(int rc, const char *serial, char *why, size_t len);
/* The 503 reason for a certificate signed whose issued state was not confirmed: the row stays pending and
 * recovery re-signs it, or the COMMIT happened and its answer was lost; either way GET returns it. */
void issue_why_unrecorded(const char *serial, char *why, size_t len);
/* The 409 reason for a row completed another way meanwhile (issued with another DER by recovery, failed):
 * the signature this request got is not the stored one; names the serial, so the client can GET what is */
void issue_why_not_pending(const char *serial, char *why, size_t len);
/* The 503 reason for a signer's refusal whose failed state could not be recorded (why holds the signer's
 * reason on entry, kept): the row stays pending, and the recovery pass fails it, or signs it if the refusal
 * does not hold there (an unknown key label is final for a live request only); so 502, "refused", would be
 * untrue. */
void issue_why_refusal_unrecorded(const char *serial, char *why, size_t len);

/* An intent (the certificate row and its audit row), for issue_intent_apply. Borrowed pointers. */
struct issue_intent {
	const struct db_cert *cert;
	const char *actor, *serial, *details;
	int64_t *held_id; /* non-NULL: commit as held for approval, the approval's id goes here */
};
/* The signer's answer (der, or fail_why) and its audit row, for issue_result_apply. Borrowed pointers. */
struct issue_result {
	const char *actor, *serial, *fail_why, *details;
	const struct dbuf *der;
};
/* Committer callbacks (commit.h): run inside the current transaction. */
int issue_intent_apply(struct db *db, void *arg);
int issue_result_apply(struct db *db, void *arg);

/* The row an intent stores and its audit details (c.subject, c.sans and c.intent_mac point into the record, so
 * it does not move once built). intent_key: the app's (intent.h), which MACs the intent. Owned buffers:
 * issue_rec_free. */
struct issue_rec {
	struct db_cert c;
	char subject[CSR_SAN_MAX + 8];
	uint8_t mac[INTENT_MAC_LEN];
	struct dbuf sans, details;
};
/* held: the intent is stored held (its MAC under intent.h's held domain) */
int issue_rec_build(struct issue_rec *r, const uint8_t intent_key[INTENT_KEY_LEN], bool held, const struct profile *p,
		    const char *actor, const char *serial, const struct csr *csr, const struct dbuf *tbs,
		    const time_t validity[2], const struct issue_extra *x) HSMCA_WUR;
void issue_rec_free(struct issue_rec *r);

/* The audit details of a failed request: {"reason": why} (or {} if it cannot be written). */
void issue_fail_details(const char *why, char *out, size_t out_len);
/* Why an intent could not be committed: a renewal that lost the race to another one (409), an intent found
 * stored but completed another way meanwhile (409 not-pending naming o->serial; renewal false), or the
 * database (503). */
void issue_intent_refusal(struct issue_outcome *o, int rc, bool renewal);
/* The checks and the TBS, touching nothing but memory (so the event loop may run them): 0 with csr, tbs,
 * o->serial and validity, or -1 with the refusal in o. csr and tbs are initialised by the caller, who frees
 * them either way. */
int issue_check(const struct app *a, const char *actor, const struct profile *p, const char *csr_text, size_t csr_len,
		const struct issue_extra *x, struct issue_outcome *o, struct csr *csr, struct dbuf *tbs, time_t validity[2]);
/* issue_check, with a refusal audited. */
int issue_prepare(struct worker *w, const char *actor, const char *peer, const struct profile *p, const char *csr_text,
		  size_t csr_len, const struct issue_extra *x, struct issue_outcome *o, struct csr *csr, struct dbuf *tbs,
		  time_t validity[2]);

/* Replaces csr's names with a CFSSL-style "hosts" list (issue_parse.c), typed as cfssl types them: 0, or
 * HSMCA_ERR_PARSE with why (ISSUE_WHY_MAX). */
int issue_hosts(struct csr *csr, const struct issue_hostlist *hosts, char *why) HSMCA_WUR;

/* issue_commit_intent (issue_commit.c: the row built, committed held if held_id is not NULL, the approval's id
 * going there), drawing another serial (and building the TBS again) while the serial is another row's
 * (HSMCA_ERR_SERIAL), at most ISSUE_SERIAL_DRAWS serials. An unheld intent's serial is recorded in inflight.c
 * (*inflight: the caller forgets o->serial once the request is answered). */
int issue_commit_intent_drawn(struct worker *w, const struct profile *p, const char *actor, struct issue_outcome *o,
			      struct csr *csr, struct dbuf *tbs, time_t validity[2], const struct issue_extra *x,
			      int64_t *held_id, bool *inflight) HSMCA_WUR;
/* Forgets this thread's sign-ahead (issue_commit.c), so that issue_sign asks the signer itself. */
void issue_ahead_clear(void);

/* Replaces csr's names with a stored SAN list "DNS:a,IP:b,email:c" (a renewal keeps its names; the text comes
 * from the database, so it is parsed as untrusted): 0, or HSMCA_ERR_STATE with why (ISSUE_WHY_MAX). Exposed for
 * tests/fuzz/fuzz_sanstext.c. */
int issue_sans_text(struct csr *csr, const char *text, char *why) HSMCA_WUR;

/* The body of POST /api/v1/certificates, {"csr": PEM, "profile": name}: 0 with doc (the caller frees it) and
 * pointers into it, or HSMCA_ERR_PARSE with why (ISSUE_WHY_MAX). */
int issue_body(const struct job *j, struct json_doc **doc, const char **csr, size_t *csr_len, const char **profile,
	       char *why);

/* POST /api/v1/certificates after authentication (issue_async.c): without an approval step and with the
 * committer running, the worker does not wait for the commits and the signer; otherwise issue_core.
 * via_cert: the caller logged in with a login certificate (certauth_request), said in the audit row.
 * Returns issue_core's 0 / 1 / -1 (reply from o), or 2: deferred, the job is no longer the caller's. */
int issue_run(struct worker *w, struct job *j, const char *actor, const struct profile *p, const char *csr_text,
	      size_t csr_len, bool via_cert, struct issue_outcome *o);

#endif
