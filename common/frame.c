#include "frame.h"

#include <string.h>

bool frame_parse(struct span in, struct frame *out)
{
	uint8_t version, type;
	uint16_t flags;
	uint32_t req_id, body_len;
	if (in.len < FRAME_HDR_LEN || in.len > FRAME_MAX)
		return false;
	if (!span_get_u8(&in, &version) || !span_get_u8(&in, &type) || !span_get_u16(&in, &flags) ||
	    !span_get_u32(&in, &req_id) || !span_get_u32(&in, &body_len))
		return false;
	if (version != FRAME_VERSION || flags != 0 || body_len != in.len)
		return false;
	out->type = type;
	out->req_id = req_id;
	out->body = in;
	return true;
}

bool frame_name_ok(struct span name)
{
	if (name.len == 0 || name.len > FRAME_NAME_MAX)
		return false;
	for (size_t i = 0; i < name.len; i++) {
		uint8_t c = name.data[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

bool frame_label_ok(struct span label)
{
	if (label.len == 0 || label.len > FRAME_LABEL_MAX)
		return false;
	for (size_t i = 0; i < label.len; i++)
		if (label.data[i] < 0x21 || label.data[i] > 0x7e)
			return false; /* printable ASCII, no spaces */
	return true;
}

bool frame_sign_body_parse(struct span body, struct span *out_label, struct span *out_data)
{
	if (!span_get_u8_prefixed(&body, out_label) || !span_get_u32_prefixed(&body, out_data) ||
	    span_len(&body) != 0)
		return false;
	return frame_label_ok(*out_label) && out_data->len != 0;
}

bool frame_unseal_body_parse(struct span body, struct span *out_share, struct span *out_pass)
{
	return span_get_u16_prefixed(&body, out_share) && span_get_u16_prefixed(&body, out_pass) &&
	       span_len(&body) == 0 && out_share->len > 0 && out_share->len <= FRAME_SHARE_MAX &&
	       out_pass->len <= FRAME_PASS_MAX;
}

bool frame_hello_body_parse(struct span body, uint16_t *out_version)
{
	return span_get_u16(&body, out_version) && span_len(&body) == 0;
}

bool frame_ok_body_parse(struct span body, struct span *out_data)
{
	return span_get_u32_prefixed(&body, out_data) && span_len(&body) == 0;
}

bool frame_err_body_parse(struct span body, uint32_t *out_code, struct span *out_msg)
{
	return span_get_u32(&body, out_code) && span_get_u16_prefixed(&body, out_msg) &&
	       span_len(&body) == 0 && out_msg->len <= FRAME_ERRMSG_MAX;
}

static void frame_header(struct dbuf *b, uint8_t type, uint32_t req_id, size_t body_len)
{
	if (body_len > FRAME_BODY_MAX) {
		b->failed = true;
		return;
	}
	dbuf_add_u8(b, FRAME_VERSION);
	dbuf_add_u8(b, type);
	dbuf_add_u16(b, 0);
	dbuf_add_u32(b, req_id);
	dbuf_add_u32(b, (uint32_t)body_len);
}

void frame_build(struct dbuf *b, uint8_t type, uint32_t req_id, const void *body, size_t body_len)
{
	frame_header(b, type, req_id, body_len);
	dbuf_add(b, body, body_len);
}

void frame_build_sign(struct dbuf *b, uint8_t type, uint32_t req_id, const char *label, const uint8_t *data,
		      size_t data_len)
{
	size_t llen = strlen(label);
	if (llen > FRAME_LABEL_MAX || data_len > FRAME_BODY_MAX) {
		b->failed = true;
		return;
	}
	frame_header(b, type, req_id, 1 + llen + 4 + data_len);
	dbuf_add_u8(b, (uint8_t)llen);
	dbuf_add(b, label, llen);
	dbuf_add_u32(b, (uint32_t)data_len);
	dbuf_add(b, data, data_len);
}

void frame_build_ok(struct dbuf *b, uint32_t req_id, const uint8_t *data, size_t len)
{
	frame_header(b, FRAME_REPLY_OK, req_id, 4 + len);
	dbuf_add_u32(b, (uint32_t)len);
	dbuf_add(b, data, len);
}

void frame_build_err(struct dbuf *b, uint32_t req_id, uint32_t code, const char *msg)
{
	size_t mlen = strlen(msg);
	if (mlen > FRAME_ERRMSG_MAX)
		mlen = FRAME_ERRMSG_MAX;
	frame_header(b, FRAME_REPLY_ERR, req_id, 4 + 2 + mlen);
	dbuf_add_u32(b, code);
	dbuf_add_u16(b, (uint16_t)mlen);
	dbuf_add(b, msg, mlen);
}
