/* The signer wire protocol's framing (signer/PROTOCOL.md). Shared by the signer, its clients and the
 * unseal CLI. Every parser here is bounded and rejects trailing bytes. */
#ifndef HSMCA_FRAME_H
#define HSMCA_FRAME_H

#include <stdint.h>

#include "der.h"
#include "err.h"
#include "span.h"

#define FRAME_VERSION 1
#define FRAME_HDR_LEN 12
#define FRAME_MAX (128u * 1024u)           /* whole frame, header included */
#define FRAME_BODY_MAX (FRAME_MAX - FRAME_HDR_LEN)
#define FRAME_LABEL_MAX 64
#define FRAME_SHARE_MAX 4096
#define FRAME_PASS_MAX 1024
#define FRAME_ERRMSG_MAX 512
#define FRAME_CHECKPOINT_LEN 32
/* SIGN_CHECKPOINT signs FRAME_CHECKPOINT_DOMAIN || 0x00 || digest (PROTOCOL.md); the frontend checks it */
#define FRAME_CHECKPOINT_DOMAIN "hsmca-audit-checkpoint-v1"

enum frame_type {
	FRAME_HELLO = 0x01,
	FRAME_SIGN_CERT = 0x10,
	FRAME_SIGN_CRL = 0x11,
	FRAME_SIGN_OCSP = 0x12,
	FRAME_SIGN_CHECKPOINT = 0x13,
	FRAME_UNSEAL = 0x20,
	FRAME_STATUS = 0x21,
	FRAME_REPLY_OK = 0x80,
	FRAME_REPLY_ERR = 0x81,
};

/* Error codes carried in FRAME_REPLY_ERR (stable numbers, see PROTOCOL.md). */
enum frame_errcode {
	FRAME_E_MALFORMED = 1,
	FRAME_E_UNKNOWN_KEY = 2,
	FRAME_E_POLICY = 3,
	FRAME_E_HSM = 4,
	FRAME_E_SEALED = 5,
	FRAME_E_SHARE = 6,
	FRAME_E_INTERNAL = 7,
	FRAME_E_CLOCK = 8, /* a signed time ahead of the signer's clock: the same TBS may be signed later */
};

struct frame {
	uint8_t type;
	uint32_t req_id;
	struct span body; /* borrows the input */
};

/* Parses one whole frame (one SEQPACKET message). Rejects bad version, non-zero flags,
 * body length not equal to the bytes present, frames over FRAME_MAX. */
bool frame_parse(struct span in, struct frame *out);
/* SIGN_* body: u8-prefixed key label (1..FRAME_LABEL_MAX) + u32-prefixed data, nothing after. */
bool frame_sign_body_parse(struct span body, struct span *out_label, struct span *out_data);
/* A key label as frames carry it: 1..FRAME_LABEL_MAX bytes of printable ASCII without space (the signer's
 * config takes no other, so that every key it holds can be named in a request). */
bool frame_label_ok(struct span label);
/* A custodian's name, as share files, the ceremony and the signer's unseal record carry it: 1..FRAME_NAME_MAX
 * bytes of A-Z a-z 0-9 '.' '_' '-'. */
#define FRAME_NAME_MAX 64
bool frame_name_ok(struct span name);
/* UNSEAL body: u16-prefixed share file (<= FRAME_SHARE_MAX) + u16-prefixed passphrase (<= FRAME_PASS_MAX). */
bool frame_unseal_body_parse(struct span body, struct span *out_share, struct span *out_pass);
/* HELLO body: u16 version. */
bool frame_hello_body_parse(struct span body, uint16_t *out_version);
/* REPLY_OK body: u32-prefixed data. REPLY_ERR body: u32 code + u16-prefixed message. */
bool frame_ok_body_parse(struct span body, struct span *out_data);
bool frame_err_body_parse(struct span body, uint32_t *out_code, struct span *out_msg);

/* Builders append one whole frame to b (sticky failure in b->failed). */
void frame_build(struct dbuf *b, uint8_t type, uint32_t req_id, const void *body, size_t body_len);
void frame_build_sign(struct dbuf *b, uint8_t type, uint32_t req_id, const char *label,
		      const uint8_t *data, size_t data_len);
void frame_build_ok(struct dbuf *b, uint32_t req_id, const uint8_t *data, size_t len);
void frame_build_err(struct dbuf *b, uint32_t req_id, uint32_t code, const char *msg);

#endif
