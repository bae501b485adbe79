/* fuzz_frame: the signer wire framing (common/frame.c), the first thing the signer runs on a peer's bytes.
 * frame_parse on the raw input; on success the body parser for its type; then the builders must give back
 * exactly the bytes that parsed (the framing is canonical), and frame_parse of those bytes must agree. */
#include <stdlib.h>

#include "der.h"
#include "frame.h"
#include "fuzz_common.h"

static void fuzz_frame_rebuild(const struct frame *f, const uint8_t *data, size_t size)
{
	struct dbuf b;
	struct frame g;
	dbuf_init(&b);
	frame_build(&b, f->type, f->req_id, f->body.data, f->body.len);
	FUZZ_CHECK(!b.failed);
	FUZZ_CHECK(b.len == size && memcmp(b.data, data, size) == 0);
	FUZZ_CHECK(frame_parse(span_make(b.data, b.len), &g));
	FUZZ_CHECK(g.type == f->type && g.req_id == f->req_id && span_equal(&g.body, &f->body));
	dbuf_free(&b);
}

static void fuzz_frame_sign(const struct frame *f, const uint8_t *data, size_t size)
{
	struct span label, payload;
	char label_str[FRAME_LABEL_MAX + 1];
	struct dbuf b;
	if (!frame_sign_body_parse(f->body, &label, &payload))
		return;
	FUZZ_CHECK(label.len >= 1 && label.len <= FRAME_LABEL_MAX && payload.len > 0);
	FUZZ_CHECK(fuzz_within(f->body.data, f->body.len, &label) && fuzz_within(f->body.data, f->body.len, &payload));
	FUZZ_CHECK(memchr(label.data, 0, label.len) == NULL);
	memcpy(label_str, label.data, label.len);
	label_str[label.len] = 0;
	dbuf_init(&b);
	frame_build_sign(&b, f->type, f->req_id, label_str, payload.data, payload.len);
	FUZZ_CHECK(!b.failed && b.len == size && memcmp(b.data, data, size) == 0);
	dbuf_free(&b);
}

static void fuzz_frame_ok(const struct frame *f, const uint8_t *data, size_t size)
{
	struct span payload;
	struct dbuf b;
	if (!frame_ok_body_parse(f->body, &payload))
		return;
	FUZZ_CHECK(fuzz_within(f->body.data, f->body.len, &payload) && payload.len + 4 == f->body.len);
	dbuf_init(&b);
	frame_build_ok(&b, f->req_id, payload.data, payload.len);
	FUZZ_CHECK(!b.failed && b.len == size && memcmp(b.data, data, size) == 0);
	dbuf_free(&b);
}

static void fuzz_frame_err(const struct frame *f, const uint8_t *data, size_t size)
{
	struct span msg;
	uint32_t code;
	char msg_str[FRAME_ERRMSG_MAX + 1];
	struct dbuf b;
	if (!frame_err_body_parse(f->body, &code, &msg))
		return;
	FUZZ_CHECK(msg.len <= FRAME_ERRMSG_MAX && fuzz_within(f->body.data, f->body.len, &msg));
	if (memchr(msg.data, 0, msg.len))
		return; /* frame_build_err takes a C string: an embedded NUL cannot round-trip */
	if (msg.len)
		memcpy(msg_str, msg.data, msg.len);
	msg_str[msg.len] = 0;
	dbuf_init(&b);
	frame_build_err(&b, f->req_id, code, msg_str);
	FUZZ_CHECK(!b.failed && b.len == size && memcmp(b.data, data, size) == 0);
	dbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame f;
	struct span share, pass;
	uint16_t version;
	if (!frame_parse(span_make(data, size), &f))
		return 0;
	FUZZ_CHECK(size >= FRAME_HDR_LEN && size <= FRAME_MAX);
	FUZZ_CHECK(f.body.data == data + FRAME_HDR_LEN && f.body.len == size - FRAME_HDR_LEN);
	switch (f.type) {
	case FRAME_SIGN_CERT:
	case FRAME_SIGN_CRL:
	case FRAME_SIGN_OCSP:
	case FRAME_SIGN_CHECKPOINT:
		fuzz_frame_sign(&f, data, size);
		break;
	case FRAME_UNSEAL:
		if (frame_unseal_body_parse(f.body, &share, &pass))
			FUZZ_CHECK(share.len > 0 && share.len <= FRAME_SHARE_MAX && pass.len <= FRAME_PASS_MAX &&
				   share.len + pass.len + 4 == f.body.len);
		break;
	case FRAME_HELLO:
		if (frame_hello_body_parse(f.body, &version))
			FUZZ_CHECK(f.body.len == 2 && version == (uint16_t)(f.body.data[0] << 8 | f.body.data[1]));
		break;
	case FRAME_REPLY_OK:
		fuzz_frame_ok(&f, data, size);
		break;
	case FRAME_REPLY_ERR:
		fuzz_frame_err(&f, data, size);
		break;
	default:
		break;
	}
	fuzz_frame_rebuild(&f, data, size);
	return 0;
}
