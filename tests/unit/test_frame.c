/* common/frame: the signer wire protocol's framing. Every limit and every rejection path of the parsers,
 * and builders round-tripping through them. */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "frame.h"
#include "sgn_client.h"

/* Raw frame: header fields as given, body as given, declared body length as given. */
static void raw_frame(struct dbuf *b, uint8_t version, uint8_t type, uint16_t flags, uint32_t req_id,
		      uint32_t declared, const void *body, size_t body_len)
{
	dbuf_add_u8(b, version);
	dbuf_add_u8(b, type);
	dbuf_add_u16(b, flags);
	dbuf_add_u32(b, req_id);
	dbuf_add_u32(b, declared);
	dbuf_add(b, body, body_len);
}

/* Builds and parses a raw frame; on success the body is checked to borrow the frame's own bytes. */
static bool parse_raw(uint8_t version, uint16_t flags, uint32_t declared, const void *body, size_t body_len,
		      struct frame *f)
{
	struct dbuf b;
	dbuf_init(&b);
	raw_frame(&b, version, FRAME_SIGN_CERT, flags, 0x01020304, declared, body, body_len);
	bool ok = !b.failed && frame_parse(span_make(b.data, b.len), f);
	if (ok)
		CHECK(f->body.data == b.data + FRAME_HDR_LEN && f->body.len == body_len &&
		      (body_len == 0 || memcmp(f->body.data, body, body_len) == 0));
	dbuf_free(&b);
	f->body.data = NULL; /* freed with b */
	return ok;
}

static void test_frame_parse(void)
{
	struct frame f;
	uint8_t body[16] = "abcdefghijklmnop";
	uint8_t hdr[FRAME_HDR_LEN] = { FRAME_VERSION, FRAME_HELLO, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0 };

	/* good: empty body and a 16-byte body */
	CHECK(frame_parse(span_make(hdr, sizeof(hdr)), &f));
	CHECK(f.type == FRAME_HELLO && f.req_id == 1 && f.body.len == 0);
	CHECK(parse_raw(FRAME_VERSION, 0, sizeof(body), body, sizeof(body), &f));
	CHECK(f.type == FRAME_SIGN_CERT && f.req_id == 0x01020304 && f.body.len == sizeof(body));

	/* shorter than the header: every length */
	for (size_t n = 0; n < FRAME_HDR_LEN; n++)
		CHECKF(!frame_parse(span_make(hdr, n), &f), "%zu-byte frame parsed", n);
	/* version, flags */
	CHECK(!parse_raw(0, 0, sizeof(body), body, sizeof(body), &f));
	CHECK(!parse_raw(FRAME_VERSION + 1, 0, sizeof(body), body, sizeof(body), &f));
	CHECK(!parse_raw(FRAME_VERSION, 1, sizeof(body), body, sizeof(body), &f));
	CHECK(!parse_raw(FRAME_VERSION, 0x8000, sizeof(body), body, sizeof(body), &f));
	/* declared body length one more, one less, huge */
	CHECK(!parse_raw(FRAME_VERSION, 0, sizeof(body) + 1, body, sizeof(body), &f));
	CHECK(!parse_raw(FRAME_VERSION, 0, sizeof(body) - 1, body, sizeof(body), &f));
	CHECK(!parse_raw(FRAME_VERSION, 0, UINT32_MAX, body, sizeof(body), &f));
	CHECK(!parse_raw(FRAME_VERSION, 0, 0, body, sizeof(body), &f));

	/* size limits: exactly FRAME_MAX is fine, one byte more is not (even if the header agrees) */
	uint8_t *big = calloc(1, FRAME_MAX + 1);
	CHECK(big != NULL);
	CHECK(parse_raw(FRAME_VERSION, 0, FRAME_BODY_MAX, big, FRAME_BODY_MAX, &f));
	CHECK(f.body.len == FRAME_BODY_MAX);
	CHECK(!parse_raw(FRAME_VERSION, 0, FRAME_BODY_MAX + 1, big, FRAME_BODY_MAX + 1, &f));
	free(big);
}

/* SIGN body: u8 label length, label, u32 data length, data. */
static void sign_body(struct dbuf *b, const void *label, size_t llen, const void *data, size_t dlen)
{
	dbuf_add_u8(b, (uint8_t)llen);
	dbuf_add(b, label, llen);
	dbuf_add_u32(b, (uint32_t)dlen);
	dbuf_add(b, data, dlen);
}

static bool sign_parse(const struct dbuf *b, size_t len, struct span *label, struct span *data)
{
	return frame_sign_body_parse(span_make(b->data, len), label, data);
}

static void test_sign_body(void)
{
	struct dbuf b;
	struct span label, data;
	char longest[FRAME_LABEL_MAX + 1];
	memset(longest, 'k', sizeof(longest));

	dbuf_init(&b);
	sign_body(&b, "int-ca", 6, "\x30\x00", 2);
	CHECK(sign_parse(&b, b.len, &label, &data));
	CHECK(label.len == 6 && !memcmp(label.data, "int-ca", 6) && data.len == 2 && data.data[0] == 0x30);
	/* trailing byte */
	dbuf_add_u8(&b, 0);
	CHECK(!sign_parse(&b, b.len, &label, &data));
	/* every truncation, including a truncated length prefix */
	for (size_t n = 0; n + 1 < b.len; n++)
		CHECKF(!sign_parse(&b, n, &label, &data), "sign body truncated to %zu parsed", n);
	dbuf_free(&b);

	const struct {
		const char *label;
		size_t llen;
		size_t dlen;
		bool ok;
		const char *what;
	} cases[] = {
		{ "", 0, 4, false, "empty label" },
		{ longest, FRAME_LABEL_MAX, 4, true, "label of FRAME_LABEL_MAX" },
		{ longest, FRAME_LABEL_MAX + 1, 4, false, "label over FRAME_LABEL_MAX" },
		{ "a b", 3, 4, false, "label with space" },
		{ "a\tb", 3, 4, false, "label with tab" },
		{ "a\x7f", 2, 4, false, "label with DEL" },
		{ "a\x80", 2, 4, false, "label with high byte" },
		{ "a\0b", 3, 4, false, "label with NUL" },
		{ "!~", 2, 4, true, "label of printable extremes" },
		{ "key", 3, 0, false, "empty data" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dbuf_init(&b);
		sign_body(&b, cases[i].label, cases[i].llen, "DATA", cases[i].dlen);
		CHECKF(sign_parse(&b, b.len, &label, &data) == cases[i].ok, "%s", cases[i].what);
		dbuf_free(&b);
	}
	/* data length prefix larger than what follows */
	dbuf_init(&b);
	dbuf_add_u8(&b, 1);
	dbuf_add_u8(&b, 'k');
	dbuf_add_u32(&b, 5);
	dbuf_add(&b, "abcd", 4);
	CHECK(!sign_parse(&b, b.len, &label, &data));
	dbuf_free(&b);
}

static void test_unseal_body(void)
{
	struct dbuf b;
	struct span share, pass;
	uint8_t *big = calloc(1, FRAME_SHARE_MAX + 1);

	dbuf_init(&b);
	dbuf_add_u16(&b, 3);
	dbuf_add(&b, "shr", 3);
	dbuf_add_u16(&b, 2);
	dbuf_add(&b, "pw", 2);
	CHECK(frame_unseal_body_parse(span_make(b.data, b.len), &share, &pass));
	CHECK(share.len == 3 && pass.len == 2 && !memcmp(pass.data, "pw", 2));
	for (size_t n = 0; n < b.len; n++)
		CHECKF(!frame_unseal_body_parse(span_make(b.data, n), &share, &pass), "truncated to %zu", n);
	dbuf_add_u8(&b, 0);
	CHECK(!frame_unseal_body_parse(span_make(b.data, b.len), &share, &pass)); /* trailing byte */
	dbuf_free(&b);

	/* empty passphrase is allowed by the framing; empty share is not */
	dbuf_init(&b);
	dbuf_add_u16(&b, 1);
	dbuf_add_u8(&b, 'x');
	dbuf_add_u16(&b, 0);
	CHECK(frame_unseal_body_parse(span_make(b.data, b.len), &share, &pass) && pass.len == 0);
	dbuf_free(&b);
	dbuf_init(&b);
	dbuf_add_u16(&b, 0);
	dbuf_add_u16(&b, 1);
	dbuf_add_u8(&b, 'p');
	CHECK(!frame_unseal_body_parse(span_make(b.data, b.len), &share, &pass));
	dbuf_free(&b);

	/* share limit */
	for (size_t slen = FRAME_SHARE_MAX; slen <= FRAME_SHARE_MAX + 1; slen++) {
		dbuf_init(&b);
		dbuf_add_u16(&b, (uint16_t)slen);
		dbuf_add(&b, big, slen);
		dbuf_add_u16(&b, 1);
		dbuf_add_u8(&b, 'p');
		CHECKF(frame_unseal_body_parse(span_make(b.data, b.len), &share, &pass) == (slen == FRAME_SHARE_MAX),
		       "share of %zu bytes", slen);
		dbuf_free(&b);
	}
	/* passphrase limit */
	for (size_t plen = FRAME_PASS_MAX; plen <= FRAME_PASS_MAX + 1; plen++) {
		dbuf_init(&b);
		dbuf_add_u16(&b, 1);
		dbuf_add_u8(&b, 's');
		dbuf_add_u16(&b, (uint16_t)plen);
		dbuf_add(&b, big, plen);
		CHECKF(frame_unseal_body_parse(span_make(b.data, b.len), &share, &pass) == (plen == FRAME_PASS_MAX),
		       "passphrase of %zu bytes", plen);
		dbuf_free(&b);
	}
	free(big);
}

static void test_small_bodies(void)
{
	uint16_t v = 0;
	uint32_t code = 0;
	struct span s;
	const uint8_t hello[3] = { 0, 1, 0 };
	CHECK(frame_hello_body_parse(span_make(hello, 2), &v) && v == 1);
	CHECK(!frame_hello_body_parse(span_make(hello, 3), &v)); /* trailing */
	CHECK(!frame_hello_body_parse(span_make(hello, 1), &v));
	CHECK(!frame_hello_body_parse(span_make(hello, 0), &v));

	const uint8_t ok[] = { 0, 0, 0, 2, 'h', 'i', 0 };
	CHECK(frame_ok_body_parse(span_make(ok, 6), &s) && s.len == 2 && !memcmp(s.data, "hi", 2));
	CHECK(!frame_ok_body_parse(span_make(ok, 7), &s)); /* trailing */
	for (size_t n = 0; n < 6; n++)
		CHECKF(!frame_ok_body_parse(span_make(ok, n), &s), "ok body truncated to %zu", n);
	const uint8_t ok_empty[] = { 0, 0, 0, 0 };
	CHECK(frame_ok_body_parse(span_make(ok_empty, 4), &s) && s.len == 0);

	const uint8_t err[] = { 0, 0, 0, 3, 0, 2, 'n', 'o', 0 };
	CHECK(frame_err_body_parse(span_make(err, 8), &code, &s) && code == 3 && s.len == 2);
	CHECK(!frame_err_body_parse(span_make(err, 9), &code, &s)); /* trailing */
	for (size_t n = 0; n < 8; n++)
		CHECKF(!frame_err_body_parse(span_make(err, n), &code, &s), "err body truncated to %zu", n);
	/* message limit */
	uint8_t *big = calloc(1, 6 + FRAME_ERRMSG_MAX + 1);
	for (size_t mlen = FRAME_ERRMSG_MAX; mlen <= FRAME_ERRMSG_MAX + 1; mlen++) {
		big[4] = (uint8_t)(mlen >> 8);
		big[5] = (uint8_t)mlen;
		CHECKF(frame_err_body_parse(span_make(big, 6 + mlen), &code, &s) == (mlen == FRAME_ERRMSG_MAX),
		       "err message of %zu bytes", mlen);
	}
	free(big);
}

static void test_builders(void)
{
	struct dbuf b;
	struct frame f;
	struct span label, data;
	uint32_t code;
	const uint8_t tbs[] = { 0x30, 0x03, 0x02, 0x01, 0x05 };

	dbuf_init(&b);
	frame_build_sign(&b, FRAME_SIGN_CRL, 77, "crl-key", tbs, sizeof(tbs));
	CHECK(!b.failed && frame_parse(span_make(b.data, b.len), &f));
	CHECK(f.type == FRAME_SIGN_CRL && f.req_id == 77);
	CHECK(frame_sign_body_parse(f.body, &label, &data));
	CHECK(label.len == 7 && !memcmp(label.data, "crl-key", 7) && data.len == sizeof(tbs) &&
	      !memcmp(data.data, tbs, sizeof(tbs)));
	dbuf_free(&b);

	dbuf_init(&b);
	frame_build_ok(&b, 9, tbs, sizeof(tbs));
	CHECK(!b.failed && frame_parse(span_make(b.data, b.len), &f) && f.type == FRAME_REPLY_OK && f.req_id == 9);
	CHECK(frame_ok_body_parse(f.body, &data) && data.len == sizeof(tbs) && !memcmp(data.data, tbs, sizeof(tbs)));
	dbuf_free(&b);

	dbuf_init(&b);
	frame_build_err(&b, 10, FRAME_E_POLICY, "issuer: mismatch");
	CHECK(!b.failed && frame_parse(span_make(b.data, b.len), &f) && f.type == FRAME_REPLY_ERR);
	CHECK(frame_err_body_parse(f.body, &code, &data) && code == FRAME_E_POLICY && data.len == 16 &&
	      !memcmp(data.data, "issuer: mismatch", 16));
	dbuf_free(&b);

	/* an over-long error message is cut to FRAME_ERRMSG_MAX and still parses */
	char *msg = malloc(FRAME_ERRMSG_MAX + 100);
	memset(msg, 'e', FRAME_ERRMSG_MAX + 99);
	msg[FRAME_ERRMSG_MAX + 99] = 0;
	dbuf_init(&b);
	frame_build_err(&b, 11, FRAME_E_INTERNAL, msg);
	CHECK(!b.failed && frame_parse(span_make(b.data, b.len), &f));
	CHECK(frame_err_body_parse(f.body, &code, &data) && data.len == FRAME_ERRMSG_MAX);
	dbuf_free(&b);
	free(msg);

	uint8_t hello_body[2] = { 0, FRAME_VERSION };
	uint16_t v;
	dbuf_init(&b);
	frame_build(&b, FRAME_HELLO, 1, hello_body, sizeof(hello_body));
	CHECK(frame_parse(span_make(b.data, b.len), &f) && frame_hello_body_parse(f.body, &v) && v == FRAME_VERSION);
	dbuf_free(&b);

	/* builders refuse what the parsers would refuse */
	char longest[FRAME_LABEL_MAX + 2];
	memset(longest, 'k', sizeof(longest));
	longest[FRAME_LABEL_MAX + 1] = 0;
	dbuf_init(&b);
	frame_build_sign(&b, FRAME_SIGN_CERT, 1, longest, tbs, sizeof(tbs));
	CHECK(b.failed);
	dbuf_free(&b);
	uint8_t *big = calloc(1, FRAME_BODY_MAX + 1);
	dbuf_init(&b);
	frame_build(&b, FRAME_SIGN_CERT, 1, big, FRAME_BODY_MAX + 1);
	CHECK(b.failed);
	dbuf_free(&b);
	dbuf_init(&b);
	frame_build(&b, FRAME_SIGN_CERT, 1, big, FRAME_BODY_MAX);
	CHECK(!b.failed && b.len == FRAME_MAX && frame_parse(span_make(b.data, b.len), &f));
	dbuf_free(&b);
	dbuf_init(&b);
	frame_build_sign(&b, FRAME_SIGN_CERT, 1, "k", big, FRAME_BODY_MAX - 1 - 1 - 4 + 1);
	CHECK(b.failed); /* label + prefixes push the body one byte over */
	dbuf_free(&b);
	free(big);
}

/* Which error replies end a request for good (recovery marks the row failed) and which say nothing about
 * the request (the row stays pending): only the signer's parser and policy refuse a TBS for good. */
static void test_refusal_final(void)
{
	CHECK(sgn_client_refusal_final(FRAME_E_POLICY));
	CHECK(sgn_client_refusal_final(FRAME_E_MALFORMED));
	CHECK(!sgn_client_refusal_final(FRAME_E_HSM));
	CHECK(!sgn_client_refusal_final(FRAME_E_UNKNOWN_KEY));
	CHECK(!sgn_client_refusal_final(FRAME_E_SEALED));
	CHECK(!sgn_client_refusal_final(FRAME_E_SHARE));
	CHECK(!sgn_client_refusal_final(FRAME_E_INTERNAL));
	CHECK(!sgn_client_refusal_final(FRAME_E_CLOCK)); /* a time ahead: the same TBS may sign later */
	CHECK(!sgn_client_refusal_final(0));
	CHECK(!sgn_client_refusal_final(0xffffffffu));
}

static int open_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* A failed open leaves nothing behind: before, its 128 KiB buffer (and, when the HELLO failed, the
 * connection) stayed with a caller that had no reason to close what it was told had not opened (the
 * frontend's checkpoint thread, retrying every second while the signer was down). */
static void test_open_failure(void)
{
	char dir[] = "/tmp/unit-frame.XXXXXX", path[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct sgn_client c;
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/s", dir);
	int before = open_fds();
	/* nothing listening */
	CHECK(sgn_client_open_timeout(&c, path, 1, 200) != 0);
	CHECK(c.buf == NULL && c.fd == -1);
	/* a listener that never answers: the connection is queued, the HELLO's reply times out */
	int l = socket(AF_UNIX, SOCK_SEQPACKET, 0); /* as the signer's */
	memcpy(sa.sun_path, path, strlen(path) + 1);
	CHECK(l >= 0 && bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(l, 4) == 0);
	CHECK(sgn_client_open_timeout(&c, path, 1, 200) != 0);
	CHECK(c.timed_out);
	CHECK(c.buf == NULL && c.fd == -1);
	close(l);
	CHECK(open_fds() == before); /* the connection whose HELLO failed is closed */
	sgn_client_close(&c);        /* harmless again */
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_open_failure();
	test_refusal_final();
	test_frame_parse();
	test_sign_body();
	test_unseal_body();
	test_small_bodies();
	test_builders();
	return check_done("unit_frame");
}
