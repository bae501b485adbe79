#include "worker.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dispatch.h"
#include "frame.h"
#include "log.h"

#define SGN_FIXED_FDS 2  /* pfd[0]: the listening socket, pfd[1]: this worker's mailbox */
#define SGN_BATCH 16     /* messages served from one connection per wake-up (pipelining clients) */
#define SGN_ACCEPT_PAUSE_MS 100 /* no descriptor for a new connection: stop accepting for this long */
/* a full worker still accepts, closing for each new connection the one idle longest, once that one has been idle
 * this long: so clients that open connections and leave them idle (or more frontends and threads than there are
 * slots) cannot keep a new client out, and a connection in use is not closed under its client (who reconnects
 * once on a lost connection in any case) */
#define SGN_EVICT_IDLE_MS 1000

struct sgn_loop {
	struct pollfd pfd[SGN_FIXED_FDS + SGN_CONNS_PER_WORKER];
	struct sgn_conn conn[SGN_FIXED_FDS + SGN_CONNS_PER_WORKER]; /* the first SGN_FIXED_FDS unused */
	long long last_ms[SGN_FIXED_FDS + SGN_CONNS_PER_WORKER];    /* a connection's accept or last request */
	nfds_t n;
	long long accept_resume_ms; /* monotonic ms before which the listening socket is not polled */
	bool accept_logged;         /* the current run of failed accepts is logged */
};

static long long sgn_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sgn_loop_drop(struct sgn_worker *w, struct sgn_loop *l, nfds_t i)
{
	close(l->pfd[i].fd);
	l->pfd[i] = l->pfd[l->n - 1];
	l->conn[i] = l->conn[l->n - 1];
	l->last_ms[i] = l->last_ms[l->n - 1];
	l->n--;
	atomic_fetch_sub(&w->nconn, 1);
}

static bool sgn_loop_full(const struct sgn_loop *l)
{
	return l->n >= SGN_FIXED_FDS + SGN_CONNS_PER_WORKER;
}

/* The connection idle longest, or 0 if the worker has none. */
static nfds_t sgn_loop_oldest(const struct sgn_loop *l)
{
	nfds_t best = 0;
	for (nfds_t i = SGN_FIXED_FDS; i < l->n; i++)
		if (!best || l->last_ms[i] < l->last_ms[best])
			best = i;
	return best;
}

/* Milliseconds until the connection idle longest may be evicted (<= 0: now). */
static long long sgn_loop_evictable_in(const struct sgn_loop *l, long long now)
{
	nfds_t i = sgn_loop_oldest(l);
	return i ? l->last_ms[i] + SGN_EVICT_IDLE_MS - now : SGN_EVICT_IDLE_MS;
}

/* Closes the connection idle longest if it has been idle SGN_EVICT_IDLE_MS and has no request waiting (one that
 * has is served at the next poll: its idle time starts again). False if there is none such. */
static bool sgn_loop_evict(struct sgn_worker *w, struct sgn_loop *l, long long now)
{
	for (nfds_t tries = l->n; tries-- > SGN_FIXED_FDS;) {
		nfds_t i = sgn_loop_oldest(l);
		long long idle = i ? now - l->last_ms[i] : 0;
		if (!i || idle < SGN_EVICT_IDLE_MS)
			return false;
		uint8_t b;
		if (recv(l->pfd[i].fd, &b, sizeof(b), MSG_PEEK | MSG_DONTWAIT) > 0) {
			l->last_ms[i] = now;
			continue;
		}
		log_event("warn", "client_evicted", "worker=%u idle_ms=%lld why=\"all %d connections of this worker are "
			  "open: the one idle longest is closed for a new one\"", w->id, idle, SGN_CONNS_PER_WORKER);
		sgn_loop_drop(w, l, i);
		return true;
	}
	return false;
}

static void sgn_loop_add(struct sgn_worker *w, struct sgn_loop *l, int fd)
{
	/* made room for after the accept, so that two workers woken by one connection do not both close one */
	if (sgn_loop_full(l) && !sgn_loop_evict(w, l, sgn_now_ms())) {
		log_event("warn", "client_refused", "worker=%u why=\"all %d connections of this worker have a request "
			  "waiting or were used within the last second\"", w->id, SGN_CONNS_PER_WORKER);
		close(fd);
		return;
	}
	l->pfd[l->n] = (struct pollfd){ .fd = fd, .events = POLLIN };
	l->conn[l->n] = (struct sgn_conn){ .fd = fd, .hello_done = false };
	l->last_ms[l->n] = sgn_now_ms();
	l->n++;
	atomic_fetch_add(&w->nconn, 1);
}

/* Gives fd to the least loaded worker (ties stay here), so connections spread over both cores even when
 * the busy worker keeps winning the accept race. */
static void sgn_loop_accept(struct sgn_worker *w, struct sgn_loop *l)
{
	struct sgn_state *st = w->st;
	struct sgn_worker *target = w;
	for (unsigned i = 0; i < st->n_workers; i++)
		if (atomic_load(&st->workers[i].nconn) < atomic_load(&target->nconn))
			target = &st->workers[i];
	int fd = accept4(l->pfd[0].fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		/* out of descriptors or memory: the connection stays queued and the socket readable, so polling it
		 * again at once would spin; pause accepting instead (another worker took it, or the peer left:
		 * nothing to do) */
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			if (!l->accept_logged)
				log_event("error", "accept_failed", "worker=%u errno=%d pause_ms=%d", w->id, errno,
					  SGN_ACCEPT_PAUSE_MS);
			l->accept_logged = true;
			l->accept_resume_ms = sgn_now_ms() + SGN_ACCEPT_PAUSE_MS;
		}
		return;
	}
	l->accept_logged = false;
	if (target != w) {
		pthread_mutex_lock(&target->mb_mu);
		bool queued = target->mb_n < SGN_MAILBOX;
		if (queued) {
			target->mb_fds[target->mb_n++] = fd;
			atomic_fetch_add(&target->nconn, 1); /* counted now, so the next accept sees it */
		}
		pthread_mutex_unlock(&target->mb_mu);
		if (queued) {
			uint64_t one = 1;
			(void)!write(target->mailbox_fd, &one, sizeof(one));
			return;
		}
	}
	sgn_loop_add(w, l, fd);
}

static void sgn_loop_mailbox(struct sgn_worker *w, struct sgn_loop *l)
{
	uint64_t n;
	int fds[SGN_MAILBOX];
	unsigned count;
	(void)!read(w->mailbox_fd, &n, sizeof(n));
	pthread_mutex_lock(&w->mb_mu);
	count = w->mb_n;
	for (unsigned i = 0; i < count; i++)
		fds[i] = w->mb_fds[i];
	w->mb_n = 0;
	pthread_mutex_unlock(&w->mb_mu);
	for (unsigned i = 0; i < count; i++) {
		atomic_fetch_sub(&w->nconn, 1); /* sgn_loop_add counts it again */
		sgn_loop_add(w, l, fds[i]);
	}
}

/* Serves up to SGN_BATCH queued messages of connection i. Returns false if the connection must be closed. */
static bool sgn_loop_serve(struct sgn_worker *w, struct sgn_loop *l, nfds_t i_conn, uint8_t *buf)
{
	struct sgn_conn *c = &l->conn[i_conn];
	for (int i = 0; i < SGN_BATCH; i++) {
		struct dbuf out;
		ssize_t r = recv(c->fd, buf, FRAME_MAX + 1, MSG_DONTWAIT);
		if (r < 0)
			return errno == EAGAIN || errno == EINTR;
		if (r == 0)
			return false;
		l->last_ms[i_conn] = sgn_now_ms();
		dbuf_init(&out);
		enum sgn_verdict v = sgn_dispatch(w, c, span_make(buf, (size_t)r), &out);
		bool keep = v == SGN_REPLY && !out.failed;
		if (v != SGN_CLOSE && !out.failed) {
			/* a client that does not read its replies is dropped rather than allowed to block the worker */
			ssize_t s = send(c->fd, out.data, out.len, MSG_DONTWAIT | MSG_NOSIGNAL);
			if (s != (ssize_t)out.len) {
				/* errno as a number: nothing here may load a message catalogue inside the sandbox */
				log_event("warn", "client_dropped", "errno=%d why=\"a reply could not be sent at once: "
					  "the client does not read its replies, or has too many in flight\"",
					  s < 0 ? errno : 0);
				keep = false;
			}
		}
		dbuf_free(&out);
		if (sgn_hsm_lost()) { /* the reply is sent: give the supervisor a process to restart, sealed */
			log_event("error", "hsm_lost", "why=\"the token, session or login is gone; exiting to be restarted "
						      "and unsealed again\"");
			_exit(3);
		}
		if (!keep)
			return false;
	}
	return true;
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
	l->pfd[0] = (struct pollfd){ .fd = w->st->listen_fd, .events = POLLIN };
	l->pfd[1] = (struct pollfd){ .fd = w->mailbox_fd, .events = POLLIN };
	l->n = SGN_FIXED_FDS;
	for (;;) {
		/* stop accepting while a failed accept's pause lasts, or while full until a connection may be evicted */
		long long now = sgn_now_ms(), wait = l->accept_resume_ms - now;
		if (wait <= 0 && sgn_loop_full(l))
			wait = sgn_loop_evictable_in(l, now);
		l->pfd[0].events = wait > 0 ? 0 : POLLIN;
		if (poll(l->pfd, l->n, wait > 0 ? (int)wait : -1) < 0) {
			if (errno == EINTR)
				continue;
			log_event("error", "poll_failed", "worker=%u errno=%d", w->id, errno);
			_exit(1);
		}
		for (nfds_t i = l->n; i-- > SGN_FIXED_FDS;) {
			if (!l->pfd[i].revents)
				continue;
			/* POLLHUP: the client has closed (SEQPACKET: not a half-close, which is POLLRDHUP alone), so
			 * nothing it queued is served: a certificate signed for a client that is gone reaches no one,
			 * and the frontend's recovery signs the row's TBS again (two signatures of one intent). The
			 * kernel of the test machine (6.18) does not hand such a queue to recv either; this does not
			 * depend on it. A client that
			 * leaves while its message is being signed is not seen here. */
			if ((l->pfd[i].revents & (POLLERR | POLLNVAL | POLLHUP)) || !sgn_loop_serve(w, l, i, buf))
				sgn_loop_drop(w, l, i);
		}
		if (l->pfd[1].revents & POLLIN)
			sgn_loop_mailbox(w, l);
		if (l->pfd[0].revents & POLLIN)
			sgn_loop_accept(w, l);
	}
	return NULL;
}

int sgn_workers_start(struct sgn_state *st)
{
	for (unsigned i = 0; i < st->n_workers; i++) {
		struct sgn_worker *w = &st->workers[i];
		w->mailbox_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->mailbox_fd < 0 || pthread_mutex_init(&w->mb_mu, NULL) != 0)
			return HSMCA_ERR_IO;
	}
	for (unsigned i = 0; i < st->n_workers; i++)
		if (pthread_create(&st->workers[i].thread, NULL, sgn_worker_main, &st->workers[i]) != 0)
			return HSMCA_ERR_NOMEM;
	pthread_barrier_wait(&st->started);
	return 0;
}
