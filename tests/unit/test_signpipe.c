/* signpipe: the committer's signing pipeline. A signer that closes a connection (its HSM lost: it exits after
 * the reply it is on; a worker dropping the client) has answered some requests already: those replies are
 * queued in the frontend's socket, and each is a signature made. A request the pipeline then cannot send must
 * not make it drop them: before, the connection was given up at the failed send, and the items whose replies
 * were waiting were sent again on a new connection (or left pending for recovery): each TBS signed twice.
 * The signer here is a thread on a socketpair: it reads a window of requests, stops reading (shutdown: every
 * later send fails at once, EPIPE, as after the real signer's exit), answers ten, and closes. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "check.h"
#include "frame.h"
#include "signpipe.h"

#define ITEMS 40
#define ANSWERED 10

struct fake_signer {
	int fd;
	unsigned read, answered;
	bool ok;
};

static void *fake_signer_main(void *arg)
{
	struct fake_signer *f = arg;
	static uint8_t buf[FRAME_MAX + 1];
	uint32_t ids[SIGNPIPE_WINDOW];
	f->ok = true;
	for (f->read = 0; f->read < SIGNPIPE_WINDOW; f->read++) { /* the first window, as the pipeline sends it */
		struct frame fr;
		ssize_t r = recv(f->fd, buf, sizeof buf, 0);
		if (r <= 0 || !frame_parse(span_make(buf, (size_t)r), &fr) || fr.type != FRAME_SIGN_CERT) {
			f->ok = false;
			break;
		}
		ids[f->read] = fr.req_id;
	}
	shutdown(f->fd, SHUT_RD); /* no more requests: the client's next send fails */
	for (f->answered = 0; f->ok && f->answered < ANSWERED; f->answered++) {
		struct dbuf reply;
		char sig[16];
		dbuf_init(&reply);
		snprintf(sig, sizeof sig, "sig%u", f->answered);
		frame_build_ok(&reply, ids[f->answered], (const uint8_t *)sig, strlen(sig));
		f->ok = !reply.failed && send(f->fd, reply.data, reply.len, 0) == (ssize_t)reply.len;
		dbuf_free(&reply);
	}
	close(f->fd);
	return NULL;
}

static void test_closed_connection_keeps_answers(void)
{
	static const uint8_t tbs[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	struct commit_sign items[ITEMS];
	struct commit_sign *s[ITEMS];
	bool done[ITEMS] = { false }, keep[1] = { true };
	int sv[2];
	pthread_t th;
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	struct timeval tv = { 10, 0 }; /* a broken pipeline fails the test, not hangs it */
	CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
	struct sgn_client c = { .fd = sv[0], .next_id = 1, .buf = malloc(FRAME_MAX + 1) };
	struct sgn_client *g[1] = { &c };
	struct fake_signer f = { .fd = sv[1] };
	CHECK(c.buf != NULL);
	memset(items, 0, sizeof items);
	for (size_t j = 0; j < ITEMS; j++) {
		items[j].label = "int";
		items[j].tbs = tbs;
		items[j].tbs_len = sizeof tbs;
		dbuf_init(&items[j].der);
		s[j] = &items[j];
	}
	CHECK(pthread_create(&th, NULL, fake_signer_main, &f) == 0);
	bool all = signpipe_sign(g, 1, s, done, ITEMS, keep);
	CHECK(pthread_join(th, NULL) == 0);
	CHECKF(f.ok && f.read == SIGNPIPE_WINDOW && f.answered == ANSWERED, "the fake signer: read %u, answered %u",
	       f.read, f.answered);
	CHECK(!all);
	CHECK(!keep[0]);
	unsigned n_done = 0;
	for (size_t j = 0; j < ITEMS; j++) {
		char want[16];
		snprintf(want, sizeof want, "sig%zu", j);
		if (!done[j])
			continue;
		n_done++;
		CHECKF(j < ANSWERED && items[j].sign_rc == 0 && items[j].der.len == strlen(want) &&
			       !memcmp(items[j].der.data, want, strlen(want)),
		       "item %zu: rc %d, %zu bytes", j, items[j].sign_rc, items[j].der.len);
	}
	CHECKF(n_done == ANSWERED, "%u of the %d answers the signer sent were taken (the others would be signed again)",
	       n_done, ANSWERED);
	for (size_t j = 0; j < ITEMS; j++)
		dbuf_free(&items[j].der);
	sgn_client_close(&c);
}

/* Items past their send_by (sign_wait_seconds after their intent was committed) when their turn to be sent
 * comes are not sent: answered "unavailable" (their rows left to the recovery pass), the others signed as
 * usual. Before, a batch's last items were sent however long the batch had taken (past the recovery lease,
 * after which another frontend signs the same TBS). The fake signer answers every request it reads. */
struct echo_signer {
	int fd;
	unsigned read;
	bool ok;
};

static void *echo_signer_main(void *arg)
{
	struct echo_signer *f = arg;
	static uint8_t buf[FRAME_MAX + 1];
	f->ok = true;
	for (;;) {
		struct frame fr;
		struct dbuf reply;
		ssize_t r = recv(f->fd, buf, sizeof buf, 0);
		if (r == 0)
			break; /* the client closed */
		if (r < 0 || !frame_parse(span_make(buf, (size_t)r), &fr) || fr.type != FRAME_SIGN_CERT) {
			f->ok = false;
			break;
		}
		f->read++;
		dbuf_init(&reply);
		frame_build_ok(&reply, fr.req_id, (const uint8_t *)"sig", 3);
		f->ok = f->ok && !reply.failed && send(f->fd, reply.data, reply.len, 0) == (ssize_t)reply.len;
		dbuf_free(&reply);
	}
	close(f->fd);
	return NULL;
}

static void test_overdue_items_not_sent(void)
{
	static const uint8_t tbs[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	enum { N = 8 };
	struct commit_sign items[N];
	struct commit_sign *s[N];
	bool done[N] = { false }, keep[1] = { true };
	int sv[2];
	pthread_t th;
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	struct timeval tv = { 10, 0 };
	CHECK(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
	struct sgn_client c = { .fd = sv[0], .next_id = 1, .buf = malloc(FRAME_MAX + 1) };
	struct sgn_client *g[1] = { &c };
	struct echo_signer f = { .fd = sv[1] };
	CHECK(c.buf != NULL);
	memset(items, 0, sizeof items);
	for (size_t j = 0; j < N; j++) {
		items[j].label = "int";
		items[j].tbs = tbs;
		items[j].tbs_len = sizeof tbs;
		if (j % 2) /* long past: CLOCK_MONOTONIC's second 1 */
			items[j].send_by.tv_sec = 1;
		dbuf_init(&items[j].der);
		s[j] = &items[j];
	}
	CHECK(pthread_create(&th, NULL, echo_signer_main, &f) == 0);
	bool all = signpipe_sign(g, 1, s, done, N, keep);
	sgn_client_close(&c); /* the fake signer's read ends */
	CHECK(pthread_join(th, NULL) == 0);
	CHECK(all && keep[0]);
	CHECKF(f.ok && f.read == N / 2, "the signer read %u requests, want %d", f.read, N / 2);
	for (size_t j = 0; j < N; j++) {
		CHECKF(done[j], "item %zu answered", j);
		if (j % 2)
			CHECKF(items[j].sign_rc == HSMCA_ERR_IO && strstr(items[j].why, "sign_wait_seconds") && items[j].der.len == 0,
			       "overdue item %zu: rc %d why %s", j, items[j].sign_rc, items[j].why);
		else
			CHECKF(items[j].sign_rc == 0 && items[j].der.len == 3, "item %zu: rc %d", j, items[j].sign_rc);
		dbuf_free(&items[j].der);
	}
}

int main(void)
{
	test_closed_connection_keeps_answers();
	test_overdue_items_not_sent();
	return check_done("signpipe");
}
