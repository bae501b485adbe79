/* common/der and common/span: strict DER reading (every rejection rule) and the dbuf writer. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "der.h"
#include "tbs.h"

#define S(lit) span_make(lit, sizeof(lit) - 1)

static bool get(const char *bytes, size_t len, uint8_t tag, struct span *out)
{
	struct span in = span_make(bytes, len);
	return der_get(&in, out, tag) && in.len == 0;
}

static void test_der_get(void)
{
	struct span c;
	CHECK(get("\x04\x02hi", 4, DER_OCTET_STRING, &c) && c.len == 2 && !memcmp(c.data, "hi", 2));
	CHECK(get("\x04\x00", 2, DER_OCTET_STRING, &c) && c.len == 0);
	CHECK(!get("\x04\x02hi", 4, DER_INTEGER, &c));              /* wrong tag */
	CHECK(!get("\x04\x03hi", 4, DER_OCTET_STRING, &c));         /* length beyond input */
	CHECK(!get("\x04", 1, DER_OCTET_STRING, &c));               /* no length */
	CHECK(!get("", 0, DER_OCTET_STRING, &c));                   /* nothing */
	CHECK(!get("\x30\x80\x00\x00", 4, DER_SEQUENCE, &c));       /* indefinite length */
	CHECK(!get("\x04\x81\x05hello", 8, DER_OCTET_STRING, &c));  /* long form for < 128 */
	CHECK(!get("\x04\x81\x7f", 3, DER_OCTET_STRING, &c));       /* long form for 127 */
	CHECK(!get("\x04\x82\x00\x05hello", 9, DER_OCTET_STRING, &c)); /* non-minimal long form */
	CHECK(!get("\x1f\x21\x01\x00", 4, 0x1f, &c));               /* high tag number */
	CHECK(!get("\x9f\x21\x01\x00", 4, 0x9f, &c));               /* high tag number, context class */
	CHECK(!get("\x04\x85\x00\x00\x00\x00\x05", 7, DER_OCTET_STRING, &c)); /* more than 4 length octets */
	CHECK(!get("\x04\x84\x7f\xff\xff\xff", 6, DER_OCTET_STRING, &c)); /* huge length, short input */

	/* long form exactly at 128 parses */
	char buf[3 + 128];
	memcpy(buf, "\x04\x81\x80", 3);
	memset(buf + 3, 'x', 128);
	CHECK(get(buf, sizeof(buf), DER_OCTET_STRING, &c) && c.len == 128);
	CHECK(!get(buf, sizeof(buf) - 1, DER_OCTET_STRING, &c));
	/* 128 in two length octets (leading zero): non-minimal even though the value needs the long form */
	char buf2[4 + 128];
	memcpy(buf2, "\x04\x82\x00\x80", 4);
	memset(buf2 + 4, 'x', 128);
	CHECK(!get(buf2, sizeof(buf2), DER_OCTET_STRING, &c));

	/* a failed get does not advance */
	struct span in = S("\x02\x01\x05\x04\x00");
	CHECK(!der_get(&in, &c, DER_OCTET_STRING) && in.len == 5);
	CHECK(der_peek(&in, DER_INTEGER) && !der_peek(&in, DER_OCTET_STRING));
	struct span whole;
	CHECK(der_get_element(&in, &whole, DER_INTEGER) && whole.len == 3 && whole.data[0] == 0x02 && in.len == 2);
	bool present = true;
	CHECK(der_get_optional(&in, &c, &present, DER_SEQUENCE) && !present && in.len == 2);
	CHECK(der_get_optional(&in, &c, &present, DER_OCTET_STRING) && present && in.len == 0);
	CHECK(!der_peek(&in, DER_OCTET_STRING));
	uint8_t tag;
	in = S("\xa3\x02\x05\x00");
	CHECK(der_get_any(&in, &tag, &c, &whole) && tag == 0xa3 && c.len == 2 && whole.len == 4);
	/* optional with the right tag but a bad body fails */
	in = S("\x30\x80\x00\x00");
	CHECK(!der_get_optional(&in, &c, &present, DER_SEQUENCE));
}

static bool integer(const char *bytes, size_t len, struct span *out)
{
	struct span in = span_make(bytes, len);
	return der_get_integer(&in, out);
}

static void test_integers(void)
{
	struct span c;
	uint64_t v;
	CHECK(integer("\x02\x01\x00", 3, &c) && c.len == 1);
	CHECK(integer("\x02\x01\x7f", 3, &c));
	CHECK(integer("\x02\x02\x00\x80", 4, &c));
	CHECK(integer("\x02\x01\x80", 3, &c)); /* -128 */
	CHECK(integer("\x02\x02\xff\x7f", 4, &c));
	CHECK(!integer("\x02\x00", 2, &c));             /* empty */
	CHECK(!integer("\x02\x02\x00\x01", 4, &c));     /* 00 01 */
	CHECK(!integer("\x02\x02\x00\x7f", 4, &c));
	CHECK(!integer("\x02\x02\xff\x80", 4, &c));     /* ff 80 */
	CHECK(!integer("\x02\x02\xff\xff", 4, &c));
	CHECK(!integer("\x04\x01\x01", 3, &c));         /* not an INTEGER */
	struct span e = span_make(NULL, 0);
	CHECK(!der_integer_is_minimal(&e));

	struct span in = S("\x02\x01\x05");
	CHECK(der_get_uint(&in, &v) && v == 5);
	in = S("\x02\x09\x00\xff\xff\xff\xff\xff\xff\xff\xff");
	CHECK(der_get_uint(&in, &v) && v == UINT64_MAX);
	in = S("\x02\x09\x01\x00\x00\x00\x00\x00\x00\x00\x00"); /* 2^64 */
	CHECK(!der_get_uint(&in, &v));
	in = S("\x02\x01\xff"); /* -1 */
	CHECK(!der_get_uint(&in, &v));
	in = S("\x02\x02\x00\x05"); /* non-minimal */
	CHECK(!der_get_uint(&in, &v) && in.len == 4);

	bool b;
	in = S("\x01\x01\x00");
	CHECK(der_get_bool(&in, &b) && !b);
	in = S("\x01\x01\xff");
	CHECK(der_get_bool(&in, &b) && b);
	for (unsigned x = 1; x < 0xff; x++) {
		uint8_t raw[3] = { 0x01, 0x01, (uint8_t)x };
		in = span_make(raw, 3);
		CHECKF(!der_get_bool(&in, &b), "BOOLEAN %#x accepted", x);
	}
	in = S("\x01\x00");
	CHECK(!der_get_bool(&in, &b));
	in = S("\x01\x02\xff\xff");
	CHECK(!der_get_bool(&in, &b));

	struct span bits;
	in = S("\x03\x03\x00\xab\xcd");
	CHECK(der_get_bitstring_bytes(&in, &bits) && bits.len == 2 && bits.data[0] == 0xab);
	in = S("\x03\x01\x00");
	CHECK(der_get_bitstring_bytes(&in, &bits) && bits.len == 0);
	in = S("\x03\x02\x01\x80"); /* unused bits */
	CHECK(!der_get_bitstring_bytes(&in, &bits));
	in = S("\x03\x00");
	CHECK(!der_get_bitstring_bytes(&in, &bits));
}

static time_t tm_utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { 0 };
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return timegm(&tm);
}

static bool time_of(uint8_t tag, const char *text, bool gen_only, time_t *out)
{
	uint8_t buf[64];
	size_t n = strlen(text);
	buf[0] = tag;
	buf[1] = (uint8_t)n;
	memcpy(buf + 2, text, n);
	struct span in = span_make(buf, n + 2);
	bool ok = gen_only ? der_get_gentime(&in, out) : der_get_time(&in, out);
	return ok && in.len == 0;
}

static void test_times(void)
{
	time_t t;
	CHECK(time_of(DER_UTCTIME, "260315123456Z", false, &t) && t == tm_utc(2026, 3, 15, 12, 34, 56));
	CHECK(time_of(DER_UTCTIME, "491231235959Z", false, &t) && t == tm_utc(2049, 12, 31, 23, 59, 59));
	CHECK(time_of(DER_UTCTIME, "500101000000Z", false, &t) && t == tm_utc(1950, 1, 1, 0, 0, 0));
	CHECK(time_of(DER_UTCTIME, "700101000000Z", false, &t) && t == 0);
	CHECK(time_of(DER_GENERALIZEDTIME, "20500101000000Z", false, &t) && t == tm_utc(2050, 1, 1, 0, 0, 0));
	CHECK(time_of(DER_GENERALIZEDTIME, "99991231235959Z", false, &t) && t == tm_utc(9999, 12, 31, 23, 59, 59));
	/* GeneralizedTime before 2050 must be UTCTime */
	CHECK(!time_of(DER_GENERALIZEDTIME, "20260315123456Z", false, &t));
	CHECK(!time_of(DER_GENERALIZEDTIME, "20491231235959Z", false, &t));
	/* malformed */
	CHECK(!time_of(DER_UTCTIME, "260315123456", false, &t));      /* missing Z */
	CHECK(!time_of(DER_UTCTIME, "2603151234Z", false, &t));       /* no seconds */
	CHECK(!time_of(DER_UTCTIME, "260315123456+0100", false, &t)); /* offset */
	CHECK(!time_of(DER_UTCTIME, "260315123456.5Z", false, &t));   /* fraction */
	CHECK(!time_of(DER_UTCTIME, "26031512345aZ", false, &t));
	CHECK(!time_of(DER_UTCTIME, "26-315123456Z", false, &t));
	CHECK(!time_of(DER_UTCTIME, "261315123456Z", false, &t)); /* month 13 */
	CHECK(!time_of(DER_UTCTIME, "260015123456Z", false, &t)); /* month 0 */
	CHECK(!time_of(DER_UTCTIME, "260100123456Z", false, &t)); /* day 0 */
	CHECK(!time_of(DER_UTCTIME, "260132123456Z", false, &t)); /* day 32 */
	CHECK(!time_of(DER_UTCTIME, "260431123456Z", false, &t)); /* April 31 */
	CHECK(!time_of(DER_UTCTIME, "260230000000Z", false, &t)); /* Feb 30 */
	CHECK(!time_of(DER_UTCTIME, "260229000000Z", false, &t)); /* Feb 29, 2026 not a leap year */
	CHECK(time_of(DER_UTCTIME, "280229000000Z", false, &t) && t == tm_utc(2028, 2, 29, 0, 0, 0));
	CHECK(time_of(DER_UTCTIME, "000229000000Z", false, &t)); /* 2000 was a leap year */
	CHECK(!time_of(DER_GENERALIZEDTIME, "21000229000000Z", false, &t)); /* 2100 is not */
	CHECK(time_of(DER_GENERALIZEDTIME, "24000229000000Z", false, &t));
	CHECK(!time_of(DER_UTCTIME, "260315243456Z", false, &t)); /* hour 24 */
	CHECK(!time_of(DER_UTCTIME, "260315126056Z", false, &t)); /* minute 60 */
	CHECK(!time_of(DER_UTCTIME, "260315123460Z", false, &t)); /* second 60 */
	CHECK(!time_of(DER_OCTET_STRING, "260315123456Z", false, &t));

	/* GeneralizedTime only (OCSP) */
	CHECK(time_of(DER_GENERALIZEDTIME, "20260315123456Z", true, &t) && t == tm_utc(2026, 3, 15, 12, 34, 56));
	CHECK(!time_of(DER_UTCTIME, "260315123456Z", true, &t));
	CHECK(!time_of(DER_GENERALIZEDTIME, "20260315123456", true, &t));
	CHECK(!time_of(DER_GENERALIZEDTIME, "20261315123456Z", true, &t));
	CHECK(!time_of(DER_GENERALIZEDTIME, "20260315123456.123Z", true, &t));
}

/* dbuf_open/dbuf_close around n content bytes: the header uses the minimal DER length and der_get reads it back. */
static void test_dbuf_lengths(void)
{
	static const size_t sizes[] = { 0, 1, 127, 128, 255, 256, 65535, 65536, 70000 };
	uint8_t *content = malloc(70000);
	for (size_t i = 0; i < 70000; i++)
		content[i] = (uint8_t)(i * 7);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k], hdr = n < 128 ? 2 : n < 256 ? 3 : n < 65536 ? 4 : 5;
		struct dbuf b;
		struct span in, c;
		dbuf_init(&b);
		dbuf_add_u8(&b, 0xee); /* something before the mark */
		size_t m = dbuf_open(&b, DER_SEQUENCE);
		dbuf_add(&b, content, n);
		dbuf_close(&b, m);
		dbuf_add_u8(&b, 0xdd); /* and after */
		CHECKF(!b.failed && b.len == 1 + hdr + n + 1, "open/close %zu: len %zu", n, b.len);
		CHECKF(n < 128 ? b.data[2] == n : b.data[2] == 0x80 + (hdr - 2), "open/close %zu: length octet %#x", n,
		       b.data[2]);
		in = span_make(b.data + 1, b.len - 2);
		CHECKF(der_get(&in, &c, DER_SEQUENCE) && in.len == 0 && c.len == n && (n == 0 || !memcmp(c.data, content, n)),
		       "open/close %zu does not parse back", n);
		dbuf_free(&b);

		/* dbuf_add_tlv gives the same bytes */
		struct dbuf t, o;
		dbuf_init(&t);
		dbuf_init(&o);
		dbuf_add_tlv(&t, DER_OCTET_STRING, content, n);
		m = dbuf_open(&o, DER_OCTET_STRING);
		dbuf_add(&o, content, n);
		dbuf_close(&o, m);
		CHECKF(t.len == o.len && !memcmp(t.data, o.data, t.len), "tlv and open/close differ at %zu", n);
		dbuf_free(&t);
		dbuf_free(&o);
	}
	free(content);

	/* nested: inner grows past 127 after the outer was opened */
	struct dbuf b;
	struct span in, outer, inner;
	uint8_t blob[200];
	memset(blob, 0x42, sizeof(blob));
	dbuf_init(&b);
	size_t o = dbuf_open(&b, DER_SEQUENCE);
	size_t i = dbuf_open(&b, DER_CONTEXT | DER_CONSTRUCTED | 0);
	dbuf_add_tlv(&b, DER_OCTET_STRING, blob, sizeof(blob));
	dbuf_close(&b, i);
	dbuf_add_tlv(&b, DER_NULL, NULL, 0);
	dbuf_close(&b, o);
	in = span_make(b.data, b.len);
	CHECK(der_get(&in, &outer, DER_SEQUENCE) && in.len == 0);
	CHECK(der_get(&outer, &inner, 0xa0) && der_get(&inner, &in, DER_OCTET_STRING) && in.len == sizeof(blob));
	CHECK(der_get(&outer, &in, DER_NULL) && outer.len == 0);
	dbuf_free(&b);
}

static void test_dbuf_writers(void)
{
	struct dbuf b;
	struct span in, c;
	const uint8_t zeros[3] = { 0, 0, 0 }, hi[2] = { 0x80, 0x01 }, lz[3] = { 0, 0, 0x7f };

	dbuf_init(&b);
	dbuf_add_uint_bytes(&b, zeros, 3); /* 0 */
	dbuf_add_uint_bytes(&b, hi, 2);    /* 0x8001 gets a 00 pad */
	dbuf_add_uint_bytes(&b, lz, 3);    /* leading zeros stripped */
	const uint8_t want[] = { 0x02, 0x01, 0x00, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x01, 0x7f };
	CHECK(!b.failed && b.len == sizeof(want) && !memcmp(b.data, want, sizeof(want)));
	in = span_make(b.data, b.len);
	CHECK(der_get_integer(&in, &c) && der_get_integer(&in, &c) && der_get_integer(&in, &c) && in.len == 0);
	dbuf_free(&b);

	dbuf_init(&b);
	dbuf_add_bitstring(&b, "\xab", 1);
	dbuf_add_u16(&b, 0x0102);
	dbuf_add_u32(&b, 0x03040506);
	const uint8_t want2[] = { 0x03, 0x02, 0x00, 0xab, 1, 2, 3, 4, 5, 6 };
	CHECK(!b.failed && b.len == sizeof(want2) && !memcmp(b.data, want2, sizeof(want2)));
	dbuf_free(&b);

	/* sticky failure: nothing is appended after it, close does nothing */
	dbuf_init(&b);
	dbuf_add_u8(&b, 1);
	b.failed = true;
	size_t m = dbuf_open(&b, DER_SEQUENCE);
	dbuf_add(&b, "abc", 3);
	dbuf_close(&b, m);
	CHECK(b.failed && b.len == 1);
	dbuf_free(&b);
	CHECK(b.data == NULL && b.len == 0 && !b.failed);
	dbuf_free(&b); /* twice is fine */
}

static void test_span(void)
{
	char hex[9];
	span_hex("\x00\x7f\xa0\xff", 4, hex);
	CHECK(!strcmp(hex, "007fa0ff"));
	span_hex("", 0, hex);
	CHECK(hex[0] == 0);
	const uint8_t d[] = { 1, 2, 3, 4, 5, 6, 7, 8, 2, 'h', 'i' };
	struct span s = span_make(d, sizeof(d)), t;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	CHECK(span_get_u8(&s, &u8) && u8 == 1);
	CHECK(span_get_u16(&s, &u16) && u16 == 0x0203);
	CHECK(span_get_u32(&s, &u32) && u32 == 0x04050607);
	CHECK(span_skip(&s, 1) && span_len(&s) == 3);
	CHECK(span_get_u8_prefixed(&s, &t) && t.len == 2 && span_len(&s) == 0);
	CHECK(!span_get_u8(&s, &u8) && !span_skip(&s, 1) && span_skip(&s, 0));
	/* prefixed getters do not advance on failure */
	const uint8_t p[] = { 0, 5, 'a', 'b' };
	s = span_make(p, sizeof(p));
	CHECK(!span_get_u16_prefixed(&s, &t) && span_len(&s) == 4);
	CHECK(!span_get_u32_prefixed(&s, &t) && span_len(&s) == 4);
	s = span_make(p, 3);
	CHECK(!span_get_u32(&s, &u32) && span_len(&s) == 3);
	struct span a = S("abc"), b = S("abc"), c2 = S("abd"), e1 = span_make(NULL, 0), e2 = span_make("x", 0);
	CHECK(span_equal(&a, &b) && !span_equal(&a, &c2) && span_equal(&e1, &e2) && !span_equal(&a, &e1));
}

/* OIDs in DER only: a padded subidentifier would make a known extension look unknown to a byte comparison */
static void test_oids(void)
{
	static const struct {
		const char *name;
		uint8_t der[12];
		size_t len;
		bool ok;
	} cases[] = {
		{ "basicConstraints", { 0x06, 0x03, 0x55, 0x1d, 0x13 }, 5, true },
		{ "rsaEncryption", { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 }, 11, true },
		{ "a zero subidentifier", { 0x06, 0x03, 0x55, 0x1d, 0x00 }, 5, true },
		{ "padded basicConstraints", { 0x06, 0x04, 0x55, 0x1d, 0x80, 0x13 }, 6, false },
		{ "padded first subidentifier", { 0x06, 0x03, 0x80, 0x55, 0x1d }, 5, false },
		{ "unfinished last subidentifier", { 0x06, 0x03, 0x55, 0x1d, 0x93 }, 5, false },
		{ "empty", { 0x06, 0x00 }, 2, false },
		{ "another tag", { 0x04, 0x03, 0x55, 0x1d, 0x13 }, 5, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct span in = span_make(cases[i].der, cases[i].len), oid = { 0 };
		bool ok = der_get_oid(&in, &oid);
		CHECKF(ok == cases[i].ok, "%s", cases[i].name);
		if (ok)
			CHECKF(span_len(&in) == 0 && oid.len == cases[i].len - 2, "%s: contents", cases[i].name);
		else
			CHECKF(span_len(&in) == cases[i].len, "%s: input left as it was", cases[i].name);
	}
	/* an extension whose OID is basicConstraints padded is refused, not taken as an unknown extension */
	static const uint8_t ext[] = { 0x30, 0x0a, 0x06, 0x04, 0x55, 0x1d, 0x80, 0x13, 0x04, 0x02, 0x30, 0x00 };
	struct tbs_ext e[TBS_MAX_EXT];
	size_t n = 0;
	char why[TBS_WHY_MAX] = "";
	CHECK(!tbs_exts_parse(span_make(ext, sizeof(ext)), e, &n, why) && strstr(why, "not in DER"));
}

int main(void)
{
	test_der_get();
	test_oids();
	test_integers();
	test_times();
	test_dbuf_lengths();
	test_dbuf_writers();
	test_span();
	return check_done("unit_der");
}
