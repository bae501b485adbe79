#include "pool.h"

#include <event2/buffer.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "auth.h"
#include "cfssl.h"
#include "deadline.h"
#include "httperr.h"
#include "json.h"
#include "log.h"
#include "signerup.h"

#define POOL_NUDGE_USEC 5000
#define POOL_STR_(x) #x
#define POOL_STR(x) POOL_STR_(x)
#define POOL_RETRY_429 POOL_STR(AUTH_FAIL_WINDOW) /* seconds, as a header value */

struct pool {
	struct app *app;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *queue, *queue_tail; /* submitted */
	unsigned queued;                /* jobs in queue */
	unsigned long taken;            /* jobs taken by workers, ever (progress, for pool_on_nudge) */
	unsigned long nudge_taken;      /* loop thread: taken when the nudge was armed */
	unsigned active;                /* workers not waiting for work (running a job or about to take one) */
	struct job *done;               /* finished, for the loop */
	int efd;
	struct event *ev;
	struct event *nudge;            /* loop thread: wakes a waiting worker if queued jobs are not taken */
	bool nudge_armed;               /* loop thread only */
	struct event *flush;            /* loop thread: pool_on_flush at the end of this turn of the loop */
	struct job *pend, *pend_tail;   /* loop thread only: submitted in this turn, not yet queued */
	unsigned n_pend;
	unsigned target;                /* workers kept active while there is work: the CPUs (at most n) */
	unsigned n;
	unsigned inflight;              /* loop thread only: pool_inflight */
	struct worker *workers;
	pthread_t *threads;
};

void job_free(struct job *j)
{
	if (!j)
		return;
	explicit_bzero(j->auth, sizeof(j->auth)); /* the Authorization header carries a password or an API key */
	if (j->body) /* an account API body carries a password */
		explicit_bzero(j->body, j->body_len);
	free(j->body);
	free(j->client_cert);
	dbuf_free(&j->resp);
	free(j);
}

void job_error(struct job *j, int status, const char *code, const char *message)
{
	dbuf_free(&j->resp);
	dbuf_init(&j->resp);
	j->status = status;
	strcpy(j->content_type, "application/json");
	dbuf_add(&j->resp, "{\"error\": {\"code\": ", 19);
	json_write_string(&j->resp, code);
	dbuf_add(&j->resp, ", \"message\": ", 13);
	json_write_string(&j->resp, message);
	dbuf_add(&j->resp, "}}\n", 3);
}

static void pool_reply(struct job *j)
{
	if (!j->req)
		return; /* the client went away (pool_on_close) */
	deadline_set_closecb(j->conn, NULL, NULL); /* before j is freed, whatever happens below */
	struct evbuffer *out = evbuffer_new();
	if (!out) {
		evhttp_send_error(j->req, 503, "out of memory");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(j->req), "Content-Type", j->content_type);
	/* a worker's reply answers credentials, and may carry a secret (a new API key) or a certificate the
	 * caller asked for: no cache, a proxy's or a browser's, keeps it (RFC 9111 5.2.2.5). A CRL is public and
	 * signed: a cache may keep it a minute (a revocation shows within that) */
	evhttp_add_header(evhttp_request_get_output_headers(j->req), "Cache-Control",
			  j->kind == JOB_CRL && j->status == 200 ? "max-age=60" : "no-store");
	if (j->status == 503 && j->waited_out)
		evhttp_add_header(evhttp_request_get_output_headers(j->req), "Retry-After", "1");
	/* a rate limit's 429 (failed logins or proofs, at most AUTH_FAIL_WINDOW quiet seconds): when to ask again
	 * (RFC 6585 4) */
	if (j->status == 429)
		evhttp_add_header(evhttp_request_get_output_headers(j->req), "Retry-After", POOL_RETRY_429);
	if (j->status == 405 && j->allow)
		evhttp_add_header(evhttp_request_get_output_headers(j->req), "Allow", j->allow);
	/* RFC 9110 15.5.2: a 401 says how to authenticate; clients that wait for the challenge (wget, Java's
	 * Authenticator, urllib's handler) send no credentials without it. Not where credentials are not what is
	 * missing: a renewal's proof, an authsign token (a client would only send Basic, refused again) */
	if (j->status == 401 && j->kind != JOB_RENEW && j->kind != JOB_RENEW_CHALLENGE && j->kind != JOB_CFSSL_AUTHSIGN)
		evhttp_add_header(evhttp_request_get_output_headers(j->req), "WWW-Authenticate",
				  "Basic realm=\"hsmca\", charset=\"UTF-8\", Bearer realm=\"hsmca\"");
	evbuffer_add(out, j->resp.data, j->resp.len);
	evhttp_send_reply(j->req, j->status, httperr_reason(j->status), out);
	evbuffer_free(out);
}

/* Loop thread: the eventfd says some jobs are done. */
static void pool_on_done(evutil_socket_t fd, short what, void *arg)
{
	struct pool *p = arg;
	uint64_t n;
	(void)what;
	(void)!read(fd, &n, sizeof(n));
	pthread_mutex_lock(&p->mu);
	struct job *list = p->done;
	p->done = NULL;
	pthread_mutex_unlock(&p->mu);
	while (list) {
		struct job *next = list->next;
		pool_reply(list);
		if (list->counted)
			p->inflight--;
		job_free(list);
		list = next;
	}
}

/* Loop thread: the client went away while its job was queued or running. */
static void pool_on_close(struct evhttp_connection *conn, void *arg)
{
	struct job *j = arg;
	(void)conn;
	j->req = NULL; /* the worker finishes the job (the database stays consistent); nobody to answer */
}

/* Under mu: j is finished; the loop drains the whole list per wake-up, so one eventfd write per batch. */
static void pool_done_locked(struct pool *p, struct job *j)
{
	bool wake = !p->done;
	j->next = p->done;
	p->done = j;
	if (wake) {
		uint64_t one = 1;
		(void)!write(p->efd, &one, sizeof(one));
	}
}

struct pool_thread_arg {
	struct pool *p;
	struct worker *w;
};

/* A client's job taken by a worker more than timeout_seconds after it was adopted. */
static bool pool_waited_out(const struct app *a, const struct job *j)
{
	struct timespec now;
	if (!j->counted)
		return false; /* an internal job (recovery) */
	clock_gettime(CLOCK_MONOTONIC, &now);
	long long ms = (long long)(now.tv_sec - j->adopted.tv_sec) * 1000 + (now.tv_nsec - j->adopted.tv_nsec) / 1000000;
	return ms > (long long)a->conf.timeout_seconds * 1000;
}

static void *pool_run(void *arg)
{
	struct pool_thread_arg *ta = arg;
	struct pool *p = ta->p;
	struct worker *w = ta->w;
	char err[DB_ERR_MAX];
	free(ta);
	/* connect now rather than on the first job, so the first burst of requests does not wait for dozens of
	 * connections at once (after a failure, a job that needs the database tries again) */
	if (db_open(w->app->conf.database, &w->db, err) != 0) {
		w->db = NULL;
		log_event("warn", "worker_db_unavailable", "worker=%u why=\"%s\"", w->id, err);
	} else {
		app_db_keys(w->app, w->db);
	}
	pthread_mutex_lock(&p->mu);
	p->active++;
	for (;;) {
		while (!p->queue) {
			p->active--;
			pthread_cond_wait(&p->cv, &p->mu);
			p->active++;
		}
		struct job *j = p->queue;
		p->queue = j->next;
		p->queued--;
		p->taken++;
		if (!p->queue)
			p->queue_tail = NULL;
		pthread_mutex_unlock(&p->mu);
		j->next = NULL;
		if (pool_waited_out(w->app, j)) {
			j->waited_out = true;
			atomic_fetch_add(&w->app->shed, 1);
			static const char msg[] = "the request waited longer than timeout_seconds for a worker (the frontend "
						  "is overloaded or its database slow); nothing was done; try again";
			if (j->kind == JOB_CFSSL_AUTHSIGN || j->kind == JOB_CFSSL_SIGN || j->kind == JOB_CFSSL_INFO)
				cfssl_error(j, 503, msg);
			else
				job_error(j, 503, "overloaded", msg);
		} else {
			handle_job(w, j);
		}
		pthread_mutex_lock(&p->mu);
		if (w->deferred) /* j belongs to whoever finishes it (it may be freed already) */
			w->deferred = false;
		else
			pool_done_locked(p, j);
	}
	return NULL;
}

void pool_job_done(struct pool *p, struct job *j)
{
	pthread_mutex_lock(&p->mu);
	pool_done_locked(p, j);
	pthread_mutex_unlock(&p->mu);
}

static void pool_on_nudge(evutil_socket_t fd, short what, void *arg);
static void pool_on_flush(evutil_socket_t fd, short what, void *arg);

int pool_start(struct app *a, struct event_base *base, unsigned n, struct pool **out)
{
	struct pool *p = calloc(1, sizeof(*p));
	if (!p)
		return HSMCA_ERR_NOMEM;
	p->app = a;
	p->n = n;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	p->target = cpus < 2 ? 2 : (unsigned)cpus;
	if (p->target > n)
		p->target = n;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->workers = calloc(n, sizeof(*p->workers));
	p->threads = calloc(n, sizeof(*p->threads));
	if (p->efd < 0 || !p->workers || !p->threads)
		return HSMCA_ERR_NOMEM;
	p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, pool_on_done, p);
	p->nudge = evtimer_new(base, pool_on_nudge, p);
	p->flush = event_new(base, -1, 0, pool_on_flush, p);
	if (!p->ev || !p->nudge || !p->flush || event_add(p->ev, NULL) != 0)
		return HSMCA_ERR_NOMEM;
	for (unsigned i = 0; i < n; i++) {
		struct pool_thread_arg *ta = malloc(sizeof(*ta));
		p->workers[i].app = a;
		p->workers[i].pool = p;
		p->workers[i].id = i;
		p->workers[i].sgn.fd = -1;
		if (!ta)
			return HSMCA_ERR_NOMEM;
		ta->p = p;
		ta->w = &p->workers[i];
		if (pthread_create(&p->threads[i], NULL, pool_run, ta) != 0)
			return HSMCA_ERR_NOMEM;
	}
	*out = p;
	return 0;
}

/* Loop thread: arms the nudge (if it is not armed) with the progress made so far. Under mu. */
static void pool_nudge_arm(struct pool *p)
{
	static const struct timeval tv = { 0, POOL_NUDGE_USEC };
	if (p->nudge_armed)
		return;
	p->nudge_taken = p->taken;
	p->nudge_armed = event_add(p->nudge, &tv) == 0;
}

/* Loop thread: jobs are waiting. If the active workers took none since the nudge was armed, they are
 * blocked (scrypt, a database round trip): wake one more. While workers make progress, nobody is woken. */
static void pool_on_nudge(evutil_socket_t fd, short what, void *arg)
{
	struct pool *p = arg;
	(void)fd;
	(void)what;
	p->nudge_armed = false;
	pthread_mutex_lock(&p->mu);
	if (p->queue && p->active < p->n) {
		if (p->taken == p->nudge_taken)
			pthread_cond_signal(&p->cv);
		pool_nudge_arm(p);
	}
	pthread_mutex_unlock(&p->mu);
}

/* Loop thread: hands the jobs that came in this turn of the loop to the workers at once. Wakes waiting
 * workers only while fewer than target are active: busy workers take the next job without sleeping, so
 * under load a request costs no thread wake-up and no more threads compete for the CPUs than there are
 * CPUs. Jobs that wait while the active workers make no progress (blocked: scrypt, a database round trip)
 * get one more worker every POOL_NUDGE_USEC (pool_on_nudge). */
static void pool_on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct pool *p = arg;
	(void)fd;
	(void)what;
	if (!p->pend)
		return;
	pthread_mutex_lock(&p->mu);
	if (p->queue_tail)
		p->queue_tail->next = p->pend;
	else
		p->queue = p->pend;
	p->queue_tail = p->pend_tail;
	p->queued += p->n_pend;
	unsigned wake = 0;
	while (p->active + wake < p->target && wake < p->n_pend)
		wake++;
	for (unsigned i = 0; i < wake; i++)
		pthread_cond_signal(&p->cv);
	if (p->active + wake < p->n && p->queued > wake)
		pool_nudge_arm(p);
	pthread_mutex_unlock(&p->mu);
	p->pend = p->pend_tail = NULL;
	p->n_pend = 0;
}

unsigned pool_inflight(const struct pool *p)
{
	return p->inflight;
}

void pool_adopt(struct pool *p, struct job *j)
{
	if (!j->req)
		return;
	j->counted = true;
	clock_gettime(CLOCK_MONOTONIC, &j->adopted);
	p->inflight++;
	j->conn = evhttp_request_get_connection(j->req);
	deadline_set_closecb(j->conn, pool_on_close, j);
}

/* The job waits for the end of this turn of the loop (pool_on_flush), so that the requests that arrived
 * together reach the workers with one lock and as few wake-ups as possible. */
void pool_submit(struct pool *p, struct job *j)
{
	j->next = NULL;
	if (p->pend_tail)
		p->pend_tail->next = j;
	else
		p->pend = j;
	p->pend_tail = j;
	if (p->n_pend++ == 0)
		event_active(p->flush, EV_TIMEOUT, 0);
}

static void pool_on_recovery_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pool *p = arg;
	struct job *j = calloc(1, sizeof(*j));
	(void)fd;
	(void)what;
	if (!j)
		return;
	dbuf_init(&j->resp);
	j->kind = JOB_RECOVER;
	pool_submit(p, j);
}

static void pool_on_probe_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pool *p = arg;
	(void)fd;
	(void)what;
	if (signerup_up() || !signerup_probe_claim())
		return;
	struct job *j = calloc(1, sizeof(*j));
	if (!j) {
		signerup_probe_release();
		return;
	}
	dbuf_init(&j->resp);
	j->kind = JOB_SIGNER_PROBE;
	pool_submit(p, j);
}

int pool_schedule_recovery(struct pool *p, struct event_base *base, unsigned interval)
{
	struct timeval tv = { (time_t)interval, 0 }, second = { 1, 0 };
	struct event *ev = event_new(base, -1, EV_PERSIST, pool_on_recovery_timer, p);
	struct event *probe = event_new(base, -1, EV_PERSIST, pool_on_probe_timer, p);
	if (ev && probe && event_add(ev, &tv) == 0 && event_add(probe, &second) == 0)
		return 0; /* both live as long as the loop */
	if (ev)
		event_free(ev);
	if (probe)
		event_free(probe);
	return HSMCA_ERR_NOMEM;
}
