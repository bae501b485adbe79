/* Issuance: a requester's CSR under a profile becomes a certificate, with the intent (serial + TBS)
 * committed before the signer is asked, and every outcome on the audit log. */
#ifndef HSMCA_ISSUE_H
#define HSMCA_ISSUE_H

#include <stdbool.h>

#include "app.h"
#include "csr.h"
#include "der.h"

#define ISSUE_SERIAL_LEN 17
#define ISSUE_WHY_MAX 448
#define ISSUE_SERIAL_DRAWS 4 /* serials drawn for one request before a collision is its error (128 random bits) */

struct json_node;
struct job;

/* The result of one issuance attempt. der is owned (dbuf_free). */
struct issue_outcome {
	int status;       /* HTTP status of a failure */
	const char *code; /* error code of a failure */
	char why[ISSUE_WHY_MAX];
	char serial[DB_SERIAL_HEX_MAX];
	struct dbuf der;  /* the certificate on success */
	int64_t approval_id; /* held for approval: the approval's id (issue_core returned 1) */
	bool recorded;       /* the certificate's row (serial) was committed, whatever followed */
};

/* CFSSL's "hosts" (or "hostname", split at its commas): 1..CSR_MAX_SANS names, each 1..CSR_SAN_MAX - 1
 * bytes, pointing into the request's JSON (not owned). cfssl_hosts_parse fills it. */
struct issue_hostlist {
	size_t n;
	const char *name[CSR_MAX_SANS];
	size_t len[CSR_MAX_SANS];
};

/* What a request adds to a CSR: CFSSL "hosts", the names of a certificate being renewed. */
struct issue_extra {
	const struct issue_hostlist *hosts; /* CFSSL hosts: replace the CSR's names */
	const char *sans;              /* "DNS:a,IP:b,email:c" (a renewal: the old certificate's names) */
	const char *renews_serial;     /* the certificate this one renews, or NULL */
	const char *via;               /* how the request was authenticated, for the audit row */
	const uint8_t *authsign_token; /* CFSSL authsign: the request's token (DB_TOKEN_LEN bytes), kept on the row */
	bool by_api_key;               /* requested with an API key: "credential": "api-key" in the audit row (a
					* machine's: never a login, db_cert_by_machine) */
	bool by_login_cert;            /* requested over mutual TLS with a login certificate, no password:
					* "credential": "login-certificate" (its key may be a stolen one: never a
					* login either, should its profile become a login profile) */
};

/* The credential j's request came with, as its audit row says it: x->by_api_key (its Authorization is an API
 * key) and x->by_login_cert (via_cert: a login certificate alone, certauth_request) set, the rest of x left as
 * it is. True if either is. */
bool issue_credential(struct issue_extra *x, const struct job *j, bool via_cert);
/* Opens this worker's database connection if needed. */
int issue_db(struct worker *w) HSMCA_WUR;
/* Issues for an authenticated actor under profile p: CSR, optional extras (x may be NULL), profile checks,
 * intent committed, signer, result committed. Refusals are audited. Returns 0 with o->der and o->serial;
 * 1 when the profile needs an administrator's approval (the request is committed as held: o->serial,
 * o->approval_id); -1 with o->status, o->code, o->why. */
int issue_core(struct worker *w, const char *actor, const char *peer, const struct profile *p, const char *csr_text,
	       size_t csr_len, const struct issue_extra *x, struct issue_outcome *o);
/* Records the signer's answer for serial (der, or fail_why) with its audit row. */
int issue_commit_result(struct worker *w, const char *actor, const char *serial, const struct dbuf *der,
			const char *fail_why) HSMCA_WUR;
/* After issue_commit_result refused a renewal's signed result der with HSMCA_ERR_POLICY (schema 022: the
 * certificate it renews is no longer issued, revoked while the renewal was signed): records the renewal failed
 * with that reason and der's SHA-256 (if that fails too, it stays pending and the recovery pass fails it) and
 * writes the client's answer (403 not-renewable) into why (ISSUE_WHY_MAX bytes). der is the caller's. */
void issue_fail_unrenewable(struct worker *w, const char *actor, const char *serial, const char *renews,
			    const struct dbuf *der, char *why);
/* Sets a 201 JSON reply {"serial", "certificate" (PEM), "chain"} for a signed certificate: the chain of p's
 * issuer (app.h issuer_chain), or conf.chain if p is NULL. */
void issue_reply(struct worker *w, struct job *j, const struct profile *p, const char *serial, const struct dbuf *der);
/* The same with the process state only (any thread). */
void issue_reply_app(const struct app *a, struct job *j, const struct profile *p, const char *serial,
		     const struct dbuf *der);
/* The same with the chain to send (PEM, borrowed). */
void issue_reply_chain(struct job *j, const char *chain, const char *serial, const struct dbuf *der);
/* why (ISSUE_WHY_MAX) a profile of that name is refused as unknown: `no such profile "name"` (the name as
 * asked for when it is 1..64 bytes of letters, digits, '-', '_' and '.', else not repeated), or, for "" or
 * NULL, that none was given; dflt is what an empty name stands for ("default" in CFSSL's API), or NULL. */
void issue_why_no_profile(const char *name, const char *dflt, char *why);
/* Sets a 202 JSON reply {"serial", "status": "held", "approval": id, "message"} for a held request. */
void issue_reply_held(struct job *j, const struct issue_outcome *o);
/* Why an API key (a machine credential) gets no certificate of a login profile (403 api-key-forbidden). */
extern const char issue_why_login_by_key[];
extern const char issue_why_login_by_cert[]; /* a login profile requested over a login certificate */
/* The same with another message (a JSON string is written). */
void issue_reply_held_msg(struct job *j, const struct issue_outcome *o, const char *message);
/* The PEM text of a DER certificate (owned; free()), or NULL. */
char *issue_pem(const uint8_t *der, size_t len);
/* POST /api/v1/certificates (JOB_ISSUE). */
void issue_request(struct worker *w, struct job *j);
/* Event loop: starts POST /api/v1/certificates without a worker when nothing in it needs to wait (HTTP Basic
 * whose account row and verified password are cached, a profile without approval, a request that passes
 * every check: CPU work only, then the intent goes to the committer). True: the job is taken (deferred,
 * finished through pool_job_done); false: nothing happened, give the job to a worker, which does it all
 * from the start (a database read, scrypt, or a refusal to audit). Any other kind of job: false. */
bool issue_inline(struct app *app, struct pool *pool, struct job *j);
/* Requesters and administrators may request certificates; auditors may not. */
bool issue_role_may_request(enum db_role role);
/* An account that stands behind a request without presenting credentials (a renewal's requester, a cfssl
 * auth key's account), read now: 0 if it may request; HSMCA_ERR_NOTFOUND if it is gone or disabled;
 * HSMCA_ERR_AUTH if its role may not request; else the database's error. */
int issue_account_may_request(struct worker *w, const char *name);
/* Whether a TBS read back from the database may be signed (intent_verify and, if it has an approval,
 * intent_release_verify, under the app's key and, during a rotation, its accepted one): 0; HSMCA_ERR_POLICY if
 * not (logged as intent_refused with by, when given, as approved_by, and counted in /metrics; why says which);
 * HSMCA_ERR_CRYPTO if it could not be checked. */
int issue_intent_verify(struct worker *w, const char *serial, const char *issuer, const uint8_t *tbs, size_t tbs_len,
			const struct db_intent_macs *m, const char *by, char *why, size_t why_len);
/* Records a refused request on the audit log (its own transaction), object "-". */
void issue_audit_refusal(struct worker *w, const char *actor, const char *peer, const char *code, const char *why);
/* The same with the object named (a validated value: printable ASCII, e.g. the request's path without its
 * query, for a refusal that concerns a thing by its URL) and, if request is not NULL, the request's text in the
 * details (JSON-escaped, so any bytes). A row that cannot be written (database down, bytes PostgreSQL
 * refuses) is logged as audit_failed. */
void issue_audit_refusal_on(struct worker *w, const char *actor, const char *object, const char *request,
			    const char *peer, const char *code, const char *why);
/* Refuses j (job_error) and audits it by actor with issue_audit_refusal_on: the object is the request's path
 * without its query when that is printable ASCII (it names the thing refused, e.g. an approval or a
 * certificate and the action asked of it), else "-"; the request line, query included, goes into the details,
 * JSON-escaped (it is the client's text, in any bytes). */
void issue_refuse_path(struct worker *w, struct job *j, const char *actor, int status, const char *code,
		       const char *why);

/* Builds the leaf TBS for csr under profile p (index pi in app->profiles), lints it with the signer's
 * rules. out_serial_hex gets the serial, out_validity notBefore and notAfter. Returns 0, HSMCA_ERR_POLICY with
 * why (the request's fault), or with why: HSMCA_ERR_STATE (the issuer's certificate expired or not valid
 * yet), HSMCA_ERR_CRYPTO (no random bytes), HSMCA_ERR_NOMEM. */
int issue_build_tbs(const struct app *a, unsigned pi, const struct csr *csr, struct dbuf *out_tbs,
		    char out_serial_hex[DB_SERIAL_HEX_MAX], time_t out_validity[2], char *why) HSMCA_WUR;
/* Signs tbs with the issuer's key through this worker's signer connection (reconnecting once if needed).
 * On a signer refusal why gets its message: HSMCA_ERR_POLICY if final (sgn_client_refusal_final_live for a
 * live request, sgn_client_refusal_final for recovery), HSMCA_ERR_AGAIN if not, HSMCA_ERR_IO if the signer is
 * unreachable or did not answer. */
int issue_sign(struct worker *w, const char *label, const struct dbuf *tbs, struct dbuf *out_der, char *why,
	       bool live) HSMCA_WUR;
/* The same for a TBS of frame type (FRAME_SIGN_CERT, FRAME_SIGN_CRL, ...), without issue_sign's signature made
 * ahead (a certificate's only). */
int issue_sign_frame(struct worker *w, uint8_t type, const char *label, const struct dbuf *tbs, struct dbuf *out_der,
		     char *why, bool live) HSMCA_WUR;
#define ISSUE_RECOVER_INTERVAL_MAX 10 /* seconds between recovery passes (at most) */

/* Recovery: every pending row at least min_age seconds old is re-signed from its stored TBS (then issued)
 * or, if the signer refuses it, marked failed. With the signer unreachable rows stay pending. */
int issue_recover(struct worker *w, unsigned min_age, unsigned *out_issued, unsigned *out_failed) HSMCA_WUR;
/* Any thread, at the stop: no recovery pass starts from now on, and one running ends after the row it is on
 * (signed and its result committed, or left as it was), so the stop can wait for it instead of cutting it
 * between the signature and the commit (the next start would sign that TBS again). */
void issue_recover_stop(void);
/* Whether issue_recover_stop was called (the other upkeep of a recovery job is skipped too). */
bool issue_recover_stopped(void);

#endif
