#include "sgn_client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "usock.h"

int sgn_client_open(struct sgn_client *c, const char *path, int hello)
{
	return sgn_client_open_timeout(c, path, hello, 0);
}

/* hello_out: NULL, or where the HELLO reply's data goes (hello set) */
static int sgn_client_connect(struct sgn_client *c, const char *path, int hello, unsigned timeout_ms,
			      struct dbuf *hello_out)
{
	uint8_t body[2] = { 0, FRAME_VERSION };
	struct dbuf out;
	int rc;
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->next_id = 1;
	c->buf = malloc(FRAME_MAX + 1);
	if (!c->buf)
		return HSMCA_ERR_NOMEM;
	rc = usock_connect_timeout(path, timeout_ms, &c->fd);
	if (rc == HSMCA_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINPROGRESS))
		c->timed_out = true;
	if (rc == 0 && hello) {
		dbuf_init(&out);
		rc = sgn_client_call(c, FRAME_HELLO, body, sizeof(body), hello_out ? hello_out : &out);
		dbuf_free(&out);
	}
	if (rc)
		sgn_client_close(c); /* the buffer and a connection whose HELLO failed; timed_out and err_* stay */
	return rc;
}

int sgn_client_open_timeout(struct sgn_client *c, const char *path, int hello, unsigned timeout_ms)
{
	return sgn_client_connect(c, path, hello, timeout_ms, NULL);
}

int sgn_client_open_hello(struct sgn_client *c, const char *path, unsigned timeout_ms, struct dbuf *reply)
{
	return sgn_client_connect(c, path, 1, timeout_ms, reply);
}

bool sgn_client_refusal_final(uint32_t err_code)
{
	return err_code == FRAME_E_POLICY || err_code == FRAME_E_MALFORMED;
}

bool sgn_client_refusal_final_live(uint32_t err_code)
{
	return sgn_client_refusal_final(err_code) || err_code == FRAME_E_UNKNOWN_KEY;
}

void sgn_client_close(struct sgn_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	c->fd = -1;
	c->buf = NULL;
}

static int sgn_client_send(struct sgn_client *c, const struct dbuf *req)
{
	if (req->failed)
		return HSMCA_ERR_LIMIT;
	ssize_t w;
	do /* a stop and SIGCONT make a call on a socket with a timeout fail with EINTR (signal(7)): nothing sent */
		w = send(c->fd, req->data, req->len, MSG_NOSIGNAL);
	while (w < 0 && errno == EINTR);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		c->timed_out = true;
	return w == (ssize_t)req->len ? 0 : HSMCA_ERR_IO;
}

static int sgn_client_recv(struct sgn_client *c, uint32_t id, struct dbuf *out)
{
	struct frame f;
	struct span data, msg;
	ssize_t r;
	bool reset = false;
	for (;;) {
		r = recv(c->fd, c->buf, FRAME_MAX + 1, 0);
		if (r < 0 && errno == EINTR) /* after a stop and SIGCONT (signal(7)): the reply is still to come */
			continue;
		/* a signer that closed this connection with a request of ours unread (it closes one that looks idle
		 * when its slots are full, and our next request may cross that) leaves ECONNRESET, which Linux reports
		 * once, before the replies already queued for us: read those (then end of file) */
		if (r < 0 && errno == ECONNRESET && !reset) {
			reset = true;
			continue;
		}
		break;
	}
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		c->timed_out = true;
	if (r <= 0 || !frame_parse(span_make(c->buf, (size_t)r), &f) || f.req_id != id)
		return HSMCA_ERR_IO;
	if (f.type == FRAME_REPLY_OK && frame_ok_body_parse(f.body, &data)) {
		dbuf_add(out, data.data, data.len);
		return out->failed ? HSMCA_ERR_NOMEM : 0;
	}
	if (f.type == FRAME_REPLY_ERR && frame_err_body_parse(f.body, &c->err_code, &msg)) {
		memcpy(c->err_msg, msg.data, msg.len);
		c->err_msg[msg.len] = 0;
		return HSMCA_ERR_POLICY;
	}
	return HSMCA_ERR_IO;
}

int sgn_client_call(struct sgn_client *c, uint8_t type, const uint8_t *body, size_t body_len, struct dbuf *out)
{
	struct dbuf req;
	uint32_t id = c->next_id++;
	int rc;
	dbuf_init(&req);
	frame_build(&req, type, id, body, body_len);
	rc = sgn_client_send(c, &req);
	dbuf_free(&req);
	return rc ? rc : sgn_client_recv(c, id, out);
}

int sgn_client_send_sign(struct sgn_client *c, uint8_t type, const char *label, const uint8_t *data, size_t len,
			 uint32_t *out_id)
{
	struct dbuf req;
	uint32_t id = c->next_id++;
	int rc;
	dbuf_init(&req);
	frame_build_sign(&req, type, id, label, data, len);
	rc = sgn_client_send(c, &req);
	dbuf_free(&req);
	*out_id = id;
	return rc;
}

int sgn_client_recv_reply(struct sgn_client *c, uint32_t id, struct dbuf *out)
{
	return sgn_client_recv(c, id, out);
}

int sgn_client_sign(struct sgn_client *c, uint8_t type, const char *label, const uint8_t *data, size_t len,
		    struct dbuf *out)
{
	uint32_t id;
	int rc = sgn_client_send_sign(c, type, label, data, len, &id);
	return rc ? rc : sgn_client_recv(c, id, out);
}
