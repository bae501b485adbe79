/* sgn_client: a signer that closes a connection while a request of the client's is still unread in it (a full
 * worker closing the connection idle longest, signer/worker.c, as the client's next request crosses it) makes
 * Linux report ECONNRESET to the client once, before the replies already queued for it. Those replies are read,
 * not lost (they were signed: asking again would sign the same TBS twice). */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "frame.h"
#include "sgn_client.h"

static void test_reset_keeps_queued_replies(void)
{
	static const uint8_t tbs[] = { 0x30, 0x00 };
	uint8_t req[4096];
	int sv[2];
	uint32_t id1 = 0, id2 = 0;
	struct dbuf reply, out;
	dbuf_init(&reply);
	dbuf_init(&out);
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	struct sgn_client c = { .fd = sv[0], .next_id = 1, .buf = malloc(FRAME_MAX + 1) };
	CHECK(c.buf != NULL);
	CHECK(sgn_client_send_sign(&c, FRAME_SIGN_CERT, "int", tbs, sizeof tbs, &id1) == 0);
	CHECK(recv(sv[1], req, sizeof req, 0) > 0); /* the signer reads the first request and answers it */
	frame_build_ok(&reply, id1, (const uint8_t *)"sig", 3);
	CHECK(send(sv[1], reply.data, reply.len, 0) == (ssize_t)reply.len);
	CHECK(sgn_client_send_sign(&c, FRAME_SIGN_CERT, "int", tbs, sizeof tbs, &id2) == 0);
	close(sv[1]); /* with the second request unread */
	int rc = sgn_client_recv_reply(&c, id1, &out);
	CHECKF(rc == 0, "the queued reply: rc %d (the reset was taken for a lost connection)", rc);
	CHECK(out.len == 3 && out.data && memcmp(out.data, "sig", 3) == 0);
	CHECK(sgn_client_recv_reply(&c, id2, &out) == HSMCA_ERR_IO); /* then the end: the second was never read */
	sgn_client_close(&c);
	dbuf_free(&reply);
	dbuf_free(&out);
}

/* A reset with nothing queued is a lost connection, at once (not a wait). */
static void test_reset_alone_is_lost(void)
{
	static const uint8_t tbs[] = { 0x30, 0x00 };
	int sv[2];
	uint32_t id = 0;
	struct dbuf out;
	dbuf_init(&out);
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
	struct sgn_client c = { .fd = sv[0], .next_id = 1, .buf = malloc(FRAME_MAX + 1) };
	CHECK(sgn_client_send_sign(&c, FRAME_SIGN_CERT, "int", tbs, sizeof tbs, &id) == 0);
	close(sv[1]);
	CHECK(sgn_client_recv_reply(&c, id, &out) == HSMCA_ERR_IO);
	CHECK(!c.timed_out);
	sgn_client_close(&c);
	dbuf_free(&out);
}

int main(void)
{
	test_reset_keeps_queued_replies();
	test_reset_alone_is_lost();
	return check_done("sgnclient");
}
