#include "pool.h"

#include <event2/buffer.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "json.h"
#include "log.h"

struct pool {
	struct app *app;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *queue, *queue_tail; /* submitted */
	struct job *done;               /* finished, for the loop */
	int efd;
	struct event *ev;
	unsigned n;
	struct worker *workers;
	pthread_t *threads;
};

void job_free(struct job *j)
{
	if (!j)
		return;
	explicit_bzero(j->auth, sizeof(j->auth)); /* the Authorization header carries a password or an API key */
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
	struct evbuffer *out = evbuffer_new();
	if (!out || !j->req) {
		evbuffer_free(out);
		return;
	}
	evhttp_connection_set_closecb(j->conn, NULL, NULL);
	evhttp_add_header(evhttp_request_get_output_headers(j->req), "Content-Type", j->content_type);
	evbuffer_add(out, j->resp.data, j->resp.len);
	evhttp_send_reply(j->req, j->status, j->status < 400 ? "OK" : "Error", out);
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

static void *pool_run(void *arg)
{
	struct pool_thread_arg *ta = arg;
	struct pool *p = ta->p;
	struct worker *w = ta->w;
	free(ta);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->queue)
			pthread_cond_wait(&p->cv, &p->mu);
		struct job *j = p->queue;
		p->queue = j->next;
		if (!p->queue)
			p->queue_tail = NULL;
		pthread_mutex_unlock(&p->mu);
		j->next = NULL;
		handle_job(w, j);
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

int pool_start(struct app *a, struct event_base *base, unsigned n, struct pool **out)
{
	struct pool *p = calloc(1, sizeof(*p));
	if (!p)
		return HSMCA_ERR_NOMEM;
	p->app = a;
	p->n = n;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	p->workers = calloc(n, sizeof(*p->workers));
	p->threads = calloc(n, sizeof(*p->threads));
	if (p->efd < 0 || !p->workers || !p->threads)
		return HSMCA_ERR_NOMEM;
	p->ev = event_new(base, p->efd, EV_READ | EV_PERSIST, pool_on_done, p);
	if (!p->ev || event_add(p->ev, NULL) != 0)
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

void pool_submit(struct pool *p, struct job *j)
{
	if (j->req) {
		j->conn = evhttp_request_get_connection(j->req);
		evhttp_connection_set_closecb(j->conn, pool_on_close, j);
	}
	j->next = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->queue_tail)
		p->queue_tail->next = j;
	else
		p->queue = j;
	p->queue_tail = j;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
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

int pool_schedule_recovery(struct pool *p, struct event_base *base, unsigned interval)
{
	struct timeval tv = { (time_t)interval, 0 };
	struct event *ev = event_new(base, -1, EV_PERSIST, pool_on_recovery_timer, p);
	return ev && event_add(ev, &tv) == 0 ? 0 : HSMCA_ERR_NOMEM;
}
