/* Work that may block (PostgreSQL, the signer, password hashing) runs on a pool of worker threads; the
 * libevent loop thread only parses HTTP, queues jobs and sends replies. A finished job comes back to the
 * loop through an eventfd. Ownership: the pool owns queued and running jobs; the loop owns a job again
 * when it is handed back (and frees it after replying). */
#ifndef HSMCA_POOL_H
#define HSMCA_POOL_H

#include <event2/event.h>
#include <event2/http.h>
#include <stdbool.h>
#include <time.h>

#include "app.h"
#include "der.h"

#define JOB_PATH_MAX 512
#define JOB_AUTH_MAX 1024
#define JOB_PEER_MAX 64
#define JOB_CTYPE_MAX 64

enum job_kind {
	JOB_ISSUE = 1,
	JOB_RECOVER,
	JOB_CFSSL_AUTHSIGN,
	JOB_CFSSL_SIGN,
	JOB_CFSSL_INFO,
	JOB_CERT_GET,          /* GET /api/v1/certificates/{serial} */
	JOB_RENEW,             /* POST /api/v1/certificates/renew */
	JOB_RENEW_CHALLENGE,   /* POST /api/v1/certificates/renewal-challenge */
	JOB_ACCOUNTS,          /* /api/v1/accounts[/...] (admin) */
	JOB_APPROVALS,         /* /api/v1/approvals[/...] (admin) */
	JOB_SIGNER_PROBE,      /* internal: is the signer back? (signerup.h) */
	JOB_REVOKE,            /* POST /api/v1/certificates/{serial}/revoke (admin) */
	JOB_CRL,               /* GET /crl/{name}.crl (public) */
};

struct job {
	struct job *next;
	enum job_kind kind;
	struct evhttp_request *req;      /* loop thread only; NULL once the client is gone */
	struct evhttp_connection *conn;
	enum evhttp_cmd_type method;
	char path[JOB_PATH_MAX];         /* the request URI (path and query) */
	char auth[JOB_AUTH_MAX];         /* the Authorization header, or "" */
	char peer[JOB_PEER_MAX];
	uint8_t *body;                   /* owned */
	size_t body_len;
	uint8_t *client_cert;            /* owned: DER of the verified TLS client certificate, or NULL */
	size_t client_cert_len;
	bool counted;                    /* loop thread: adopted, so in pool_inflight until replied */
	struct timespec adopted;         /* CLOCK_MONOTONIC at pool_adopt: a worker answers a client's job that
					  * waited longer than timeout_seconds 503 without doing it (its client has
					  * likely given up; doing it would issue for nobody and starve the rest) */
	bool waited_out;                 /* so answered: with Retry-After */
	/* the reply, filled by the worker */
	int status;
	char content_type[JOB_CTYPE_MAX];
	const char *allow; /* static; a 405's Allow header (RFC 9110 15.5.6), else NULL */
	struct dbuf resp;
};

struct pool;

/* Starts n workers, each with its own struct worker (its database connection opened at start, its signer
 * connection at first use). */
int pool_start(struct app *a, struct event_base *base, unsigned n, struct pool **out) HSMCA_WUR;
/* Loop thread: hands a job to the workers (j->req NULL for internal jobs; a client's job is adopted first). */
void pool_submit(struct pool *p, struct job *j);
/* Loop thread, once per client's job (before pool_submit, or before the loop starts it itself; it comes
 * back through pool_job_done): watches the client's connection (a client that goes away leaves j->req
 * NULL) and counts the job in pool_inflight. */
void pool_adopt(struct pool *p, struct job *j);
/* Any thread: a job that its handler deferred (w->deferred) is finished: it goes back to the loop, which
 * sends the reply and frees it. */
void pool_job_done(struct pool *p, struct job *j);
/* Loop thread: clients' jobs adopted or submitted and not yet answered (or dropped, if the client left). */
unsigned pool_inflight(const struct pool *p);
/* Loop thread: queues a recovery pass every interval seconds, and while the signer is down (signerup.h) a probe
 * of it every second (one at a time), so health turns good within a second or two of its return. */
int pool_schedule_recovery(struct pool *p, struct event_base *base, unsigned interval) HSMCA_WUR;
void job_free(struct job *j);
/* Worker side: sets a JSON error reply {"error": {"code", "message"}}. */
void job_error(struct job *j, int status, const char *code, const char *message);

/* Implemented by the handlers (dispatch.c): runs one job on a worker. */
void handle_job(struct worker *w, struct job *j);
/* dispatch.c: whether a recovery pass is running on some worker now (the stop waits for it). */
bool dispatch_recovery_running(void);

#endif
