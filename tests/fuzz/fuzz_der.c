/* fuzz_der: the strict DER reader (common/der.c) that every TBS and OCSP parser is built on, and the writer
 * that has to agree with it. The input is walked element by element (descending into constructed ones);
 * where an element does not parse the walk moves on one byte, so every offset gets tried.
 * For each element every getter runs on the same position and must either fail without moving or consume
 * exactly that element; what it accepted must re-encode (dbuf_*) to the very same bytes, since DER has one
 * encoding per value; times must come back through gmtime_r as the digits they were read from; and the strict
 * walk (der_strict_one) takes only one whole element. */
#include <stdio.h>
#include <time.h>

#include "der.h"
#include "fuzz_common.h"

#define FUZZ_DER_DEPTH_MAX 24

/* One writer for the whole run, emptied before each use: the re-encodings would otherwise cost a malloc and a
 * wipe each, which is most of the time spent per input. */
static struct dbuf fuzz_b;

static struct dbuf *fuzz_der_buf(void)
{
	fuzz_b.len = 0;
	fuzz_b.failed = false;
	return &fuzz_b;
}

/* The getter at `before` either failed and left it alone, or consumed exactly the element ending at `after`. */
static void fuzz_der_moved(bool ok, const struct span *now, const struct span *before, const struct span *after)
{
	FUZZ_CHECK(ok ? fuzz_span_same(now, after) : fuzz_span_same(now, before));
}

static void fuzz_der_same_bytes(const struct dbuf *b, const struct span *whole)
{
	FUZZ_CHECK(!b->failed && b->len == whole->len && memcmp(b->data, whole->data, whole->len) == 0);
}

static void fuzz_der_time(const struct span *in, const struct span *after, uint8_t tag, const struct span *c)
{
	struct span s = *in;
	struct tm tm;
	time_t t, t2;
	char buf[32];
	bool ok = der_get_time(&s, &t);
	fuzz_der_moved(ok, &s, in, after);
	if (ok) {
		FUZZ_CHECK(tag == DER_UTCTIME || tag == DER_GENERALIZEDTIME);
		FUZZ_CHECK(gmtime_r(&t, &tm) != NULL);
		int year = tm.tm_year + 1900;
		FUZZ_CHECK(tag == DER_UTCTIME ? year >= 1950 && year <= 2049 : year >= 2050 && year <= 9999);
		if (tag == DER_UTCTIME)
			snprintf(buf, sizeof(buf), "%02d%02d%02d%02d%02d%02dZ", year % 100, tm.tm_mon + 1, tm.tm_mday,
				 tm.tm_hour, tm.tm_min, tm.tm_sec);
		else
			snprintf(buf, sizeof(buf), "%04d%02d%02d%02d%02d%02dZ", year, tm.tm_mon + 1, tm.tm_mday,
				 tm.tm_hour, tm.tm_min, tm.tm_sec);
		FUZZ_CHECK(strlen(buf) == c->len && memcmp(buf, c->data, c->len) == 0);
	}
	s = *in;
	ok = der_get_gentime(&s, &t2);
	fuzz_der_moved(ok, &s, in, after);
	if (ok) {
		FUZZ_CHECK(tag == DER_GENERALIZEDTIME && gmtime_r(&t2, &tm) != NULL);
		snprintf(buf, sizeof(buf), "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
		FUZZ_CHECK(strlen(buf) == c->len && memcmp(buf, c->data, c->len) == 0);
	}
}

static void fuzz_der_integer(const struct span *in, const struct span *after, uint8_t tag, const struct span *c,
			     const struct span *whole)
{
	struct span s = *in, out;
	struct dbuf *b;
	uint64_t v;
	bool ok = der_get_integer(&s, &out);
	fuzz_der_moved(ok, &s, in, after);
	FUZZ_CHECK(ok == (tag == DER_INTEGER && der_integer_is_minimal(c)));
	if (ok)
		FUZZ_CHECK(fuzz_span_same(&out, c));
	s = *in;
	ok = der_get_uint(&s, &v);
	fuzz_der_moved(ok, &s, in, after);
	if (ok) {
		uint8_t mag[8];
		for (int i = 0; i < 8; i++)
			mag[i] = (uint8_t)(v >> (56 - 8 * i));
		b = fuzz_der_buf();
		dbuf_add_uint_bytes(b, mag, sizeof(mag));
		fuzz_der_same_bytes(b, whole);
	}
}

static void fuzz_der_misc(const struct span *in, const struct span *after, uint8_t tag, const struct span *c,
			  const struct span *whole)
{
	struct span s = *in, out;
	struct dbuf *b;
	bool ok, v, present;

	ok = der_get_bitstring_bytes(&s, &out);
	fuzz_der_moved(ok, &s, in, after);
	FUZZ_CHECK(ok == (tag == DER_BIT_STRING && c->len >= 1 && c->data[0] == 0));
	if (ok) {
		FUZZ_CHECK(out.data == c->data + 1 && out.len == c->len - 1);
		b = fuzz_der_buf();
		dbuf_add_bitstring(b, out.data, out.len);
		fuzz_der_same_bytes(b, whole);
	}
	s = *in;
	ok = der_get_bool(&s, &v);
	fuzz_der_moved(ok, &s, in, after);
	if (ok)
		FUZZ_CHECK(tag == DER_BOOLEAN && c->len == 1 && c->data[0] == (v ? 0xff : 0x00));
	/* the tag-checked getters: right tag consumes the element, any other leaves the span alone */
	for (int k = 0; k < 2; k++) {
		uint8_t want = k ? tag : (uint8_t)(tag ^ 0x01);
		s = *in;
		ok = der_get(&s, &out, want);
		fuzz_der_moved(ok, &s, in, after);
		FUZZ_CHECK(ok == (want == tag) && (!ok || fuzz_span_same(&out, c)));
		s = *in;
		ok = der_get_element(&s, &out, want);
		fuzz_der_moved(ok, &s, in, after);
		FUZZ_CHECK(ok == (want == tag) && (!ok || fuzz_span_same(&out, whole)));
		s = *in;
		ok = der_get_optional(&s, &out, &present, want);
		FUZZ_CHECK(ok && present == (want == tag) && present == der_peek(in, want));
		fuzz_der_moved(present, &s, in, after);
	}
}

static void fuzz_der_walk(struct span in, unsigned depth)
{
	while (span_len(&in) > 0) {
		struct span s = in, c, whole;
		struct dbuf *b;
		uint8_t tag;
		if (!der_get_any(&s, &tag, &c, &whole)) {
			FUZZ_CHECK(fuzz_span_same(&s, &in));
			span_skip(&in, 1);
			continue;
		}
		FUZZ_CHECK(whole.data == in.data && whole.len == in.len - s.len && s.data == in.data + whole.len);
		FUZZ_CHECK(c.len < whole.len && c.data + c.len == s.data && (tag & 0x1f) != 0x1f);

		/* one encoding per element: the writer gives back the same header, both ways it can write one */
		b = fuzz_der_buf();
		dbuf_add_tlv(b, tag, c.data, c.len);
		fuzz_der_same_bytes(b, &whole);
		b = fuzz_der_buf();
		size_t mark = dbuf_open(b, tag);
		dbuf_add(b, c.data, c.len);
		dbuf_close(b, mark);
		fuzz_der_same_bytes(b, &whole);

		fuzz_der_integer(&in, &s, tag, &c, &whole);
		fuzz_der_time(&in, &s, tag, &c);
		fuzz_der_misc(&in, &s, tag, &c, &whole);

		if ((tag & DER_CONSTRUCTED) && depth < FUZZ_DER_DEPTH_MAX)
			fuzz_der_walk(c, depth + 1);
		in = s;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span in = span_make(data, size), rest = in, c;
	uint8_t tag;
	fuzz_der_walk(in, 0);
	/* der_strict_one (extension values, Names) takes one whole element the reader takes, nothing else */
	if (der_strict_one(in))
		FUZZ_CHECK(der_get_any(&rest, &tag, &c, NULL) && span_len(&rest) == 0);
	return 0;
}
