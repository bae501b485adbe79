#include "worker.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dispatch.h"
#include "frame.h"
#include "log.h"

struct sgn_loop {
	struct pollfd pfd[1 + SGN_CONNS_PER_WORKER];
	struct sgn_conn conn[1 + SGN_CONNS_PER_WORKER]; /* index 0 unused (listen fd) */
	nfds_t n;
};

static void sgn_loop_drop(struct sgn_loop *l, nfds_t i)
{
	close(l->pfd[i].fd);
	l->pfd[i] = l->pfd[l->n - 1];
	l->conn[i] = l->conn[l->n - 1];
	l->n--;
}

static void sgn_loop_accept(struct sgn_loop *l)
{
	if (l->n >= 1 + SGN_CONNS_PER_WORKER)
		return;
	int fd = accept4(l->pfd[0].fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return; /* another worker took it, or the peer left */
	l->pfd[l->n].fd = fd;
	l->pfd[l->n].events = POLLIN;
	l->pfd[l->n].revents = 0;
	l->conn[l->n].fd = fd;
	l->conn[l->n].hello_done = false;
	l->n++;
}

/* Returns false if the connection must be closed. */
static bool sgn_loop_serve(struct sgn_worker *w, struct sgn_conn *c, uint8_t *buf)
{
	struct dbuf out;
	ssize_t r = recv(c->fd, buf, FRAME_MAX + 1, MSG_DONTWAIT);
	if (r < 0)
		return errno == EAGAIN || errno == EINTR;
	if (r == 0)
		return false;
	dbuf_init(&out);
	enum sgn_verdict v = sgn_dispatch(w, c, span_make(buf, (size_t)r), &out);
	bool keep = v == SGN_REPLY;
	if (v != SGN_CLOSE && !out.failed) {
		/* a client that does not read its replies is dropped rather than allowed to block the worker */
		ssize_t s = send(c->fd, out.data, out.len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (s != (ssize_t)out.len)
			keep = false;
	} else if (out.failed) {
		keep = false;
	}
	dbuf_free(&out);
	return keep;
}

static void *sgn_worker_main(void *arg)
{
	struct sgn_worker *w = arg;
	struct sgn_loop *l = calloc(1, sizeof(*l));
	uint8_t *buf = malloc(FRAME_MAX + 1);
	pthread_barrier_wait(&w->st->started);
	pthread_barrier_wait(&w->st->start);
	if (!l || !buf) {
		log_event("error", "worker_nomem", "worker=%u", w->id);
		_exit(1);
	}
	l->pfd[0].fd = w->st->listen_fd;
	l->pfd[0].events = POLLIN;
	l->n = 1;
	for (;;) {
		/* stop accepting while full */
		l->pfd[0].events = l->n >= 1 + SGN_CONNS_PER_WORKER ? 0 : POLLIN;
		if (poll(l->pfd, l->n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_event("error", "poll_failed", "worker=%u errno=%d", w->id, errno);
			_exit(1);
		}
		for (nfds_t i = l->n; i-- > 1;) {
			if (!l->pfd[i].revents)
				continue;
			if ((l->pfd[i].revents & (POLLERR | POLLNVAL)) || !sgn_loop_serve(w, &l->conn[i], buf))
				sgn_loop_drop(l, i);
		}
		if (l->pfd[0].revents & POLLIN)
			sgn_loop_accept(l);
	}
	return NULL;
}

int sgn_workers_start(struct sgn_state *st)
{
	for (unsigned i = 0; i < st->n_workers; i++)
		if (pthread_create(&st->workers[i].thread, NULL, sgn_worker_main, &st->workers[i]) != 0)
			return HSMCA_ERR_NOMEM;
	pthread_barrier_wait(&st->started);
	return 0;
}
