#include "der.h"

#include <stdlib.h>
#include <string.h>

static bool der_read_header(struct span *in, uint8_t *tag, size_t *len)
{
	uint8_t t, l0;
	if (!span_get_u8(in, &t) || !span_get_u8(in, &l0))
		return false;
	if ((t & 0x1f) == 0x1f)
		return false; /* high tag numbers never occur in what we parse */
	if (l0 < 0x80) {
		*len = l0;
	} else {
		size_t n = l0 & 0x7f, v = 0;
		uint8_t b;
		if (n == 0 || n > DER_MAX_LEN_OCTETS)
			return false; /* indefinite or huge */
		for (size_t i = 0; i < n; i++) {
			if (!span_get_u8(in, &b))
				return false;
			if (i == 0 && b == 0)
				return false; /* non-minimal */
			v = (v << 8) | b;
		}
		if (v < 0x80)
			return false; /* should have used short form */
		*len = v;
	}
	*tag = t;
	return true;
}

bool der_get_any(struct span *in, uint8_t *out_tag, struct span *out, struct span *out_whole)
{
	struct span s = *in;
	uint8_t tag;
	size_t len;
	if (!der_read_header(&s, &tag, &len) || !span_get_bytes(&s, out, len))
		return false;
	if (out_whole) {
		out_whole->data = in->data;
		out_whole->len = (size_t)(s.data - in->data);
	}
	*out_tag = tag;
	*in = s;
	return true;
}

bool der_get(struct span *in, struct span *out, uint8_t tag)
{
	struct span s = *in, c;
	uint8_t t;
	if (!der_get_any(&s, &t, &c, NULL) || t != tag)
		return false;
	*out = c;
	*in = s;
	return true;
}

bool der_get_oid(struct span *in, struct span *out)
{
	struct span s = *in, c;
	if (!der_get(&s, &c, DER_OID) || c.len == 0 || (c.data[c.len - 1] & 0x80))
		return false; /* empty, or the last subidentifier unfinished */
	for (size_t i = 0; i < c.len; i++) /* a subidentifier starts with 0x80 only if padded (not DER) */
		if (c.data[i] == 0x80 && (i == 0 || !(c.data[i - 1] & 0x80)))
			return false;
	*out = c;
	*in = s;
	return true;
}

bool der_get_element(struct span *in, struct span *out, uint8_t tag)
{
	struct span s = *in, c, whole;
	uint8_t t;
	if (!der_get_any(&s, &t, &c, &whole) || t != tag)
		return false;
	*out = whole;
	*in = s;
	return true;
}

bool der_peek(const struct span *in, uint8_t tag)
{
	return in->len > 0 && in->data[0] == tag;
}

bool der_get_optional(struct span *in, struct span *out, bool *present, uint8_t tag)
{
	*present = false;
	if (!der_peek(in, tag))
		return true;
	*present = true;
	return der_get(in, out, tag);
}

bool der_integer_is_minimal(const struct span *c)
{
	if (c->len == 0)
		return false;
	if (c->len > 1 && c->data[0] == 0x00 && !(c->data[1] & 0x80))
		return false;
	if (c->len > 1 && c->data[0] == 0xff && (c->data[1] & 0x80))
		return false;
	return true;
}

bool der_get_integer(struct span *in, struct span *out)
{
	struct span s = *in, c;
	if (!der_get(&s, &c, DER_INTEGER) || !der_integer_is_minimal(&c))
		return false;
	*out = c;
	*in = s;
	return true;
}

bool der_get_uint(struct span *in, uint64_t *out)
{
	struct span s = *in, c;
	uint64_t v = 0;
	if (!der_get_integer(&s, &c) || (c.data[0] & 0x80))
		return false;
	if (c.len > 9 || (c.len == 9 && c.data[0] != 0))
		return false;
	for (size_t i = 0; i < c.len; i++)
		v = (v << 8) | c.data[i];
	*out = v;
	*in = s;
	return true;
}

bool der_get_bool(struct span *in, bool *out)
{
	struct span s = *in, c;
	if (!der_get(&s, &c, DER_BOOLEAN) || c.len != 1 || (c.data[0] != 0 && c.data[0] != 0xff))
		return false;
	*out = c.data[0] == 0xff;
	*in = s;
	return true;
}

static bool der_digits(const uint8_t *p, size_t n, int *out)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return true;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian), after H. Hinnant's days_from_civil. */
static int64_t der_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool der_get_time_mode(struct span *in, time_t *out, bool gen_only)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	struct span s = *in, c;
	uint8_t tag;
	int y, mo, d, h, mi, se;
	size_t yl;
	if (!der_get_any(&s, &tag, &c, NULL))
		return false;
	if (tag == DER_UTCTIME)
		yl = 2;
	else if (tag == DER_GENERALIZEDTIME)
		yl = 4;
	else
		return false;
	if (c.len != yl + 11 || c.data[c.len - 1] != 'Z')
		return false;
	const uint8_t *p = c.data;
	if (!der_digits(p, yl, &y) || !der_digits(p + yl, 2, &mo) || !der_digits(p + yl + 2, 2, &d) ||
	    !der_digits(p + yl + 4, 2, &h) || !der_digits(p + yl + 6, 2, &mi) || !der_digits(p + yl + 8, 2, &se))
		return false;
	if (yl == 2)
		y += y >= 50 ? 1900 : 2000;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || se > 59)
		return false;
	if (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return false;
	/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 on; OCSP: GeneralizedTime only */
	if (gen_only ? tag != DER_GENERALIZEDTIME : (tag == DER_UTCTIME) != (y < 2050))
		return false;
	*out = (time_t)(der_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se);
	*in = s;
	return true;
}

bool der_get_time(struct span *in, time_t *out)
{
	return der_get_time_mode(in, out, false);
}

bool der_get_gentime(struct span *in, time_t *out)
{
	return der_get_time_mode(in, out, true);
}

bool der_get_bitstring_bytes(struct span *in, struct span *out)
{
	struct span s = *in, c;
	if (!der_get(&s, &c, DER_BIT_STRING) || c.len < 1 || c.data[0] != 0)
		return false;
	out->data = c.data + 1;
	out->len = c.len - 1;
	*in = s;
	return true;
}

void dbuf_init(struct dbuf *b)
{
	memset(b, 0, sizeof(*b));
}

void dbuf_free(struct dbuf *b)
{
	if (b->data) {
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	memset(b, 0, sizeof(*b));
}

static bool dbuf_reserve(struct dbuf *b, size_t extra)
{
	if (b->failed)
		return false;
	if (extra > SIZE_MAX / 2 - b->len) {
		b->failed = true;
		return false;
	}
	if (b->len + extra <= b->cap)
		return true;
	size_t ncap = b->cap ? b->cap : 256;
	while (ncap < b->len + extra)
		ncap *= 2;
	uint8_t *n = malloc(ncap);
	if (!n) {
		b->failed = true;
		return false;
	}
	if (b->data) {
		memcpy(n, b->data, b->len);
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = n;
	b->cap = ncap;
	return true;
}

void dbuf_add(struct dbuf *b, const void *data, size_t len)
{
	if (len == 0 || !dbuf_reserve(b, len))
		return;
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

void dbuf_add_u8(struct dbuf *b, uint8_t v) { dbuf_add(b, &v, 1); }

void dbuf_add_u16(struct dbuf *b, uint16_t v)
{
	uint8_t t[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	dbuf_add(b, t, sizeof(t));
}

void dbuf_add_u32(struct dbuf *b, uint32_t v)
{
	uint8_t t[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	dbuf_add(b, t, sizeof(t));
}

static size_t der_len_octets(size_t len, uint8_t out[5])
{
	if (len < 0x80) {
		out[0] = (uint8_t)len;
		return 1;
	}
	size_t n = 0;
	for (size_t v = len; v; v >>= 8)
		n++;
	out[0] = (uint8_t)(0x80 | n);
	for (size_t i = 0; i < n; i++)
		out[1 + i] = (uint8_t)(len >> (8 * (n - 1 - i)));
	return 1 + n;
}

void dbuf_add_tlv(struct dbuf *b, uint8_t tag, const void *contents, size_t len)
{
	uint8_t l[9];
	if (len > UINT32_MAX) {
		b->failed = true;
		return;
	}
	size_t n = der_len_octets(len, l);
	dbuf_add_u8(b, tag);
	dbuf_add(b, l, n);
	dbuf_add(b, contents, len);
}

size_t dbuf_open(struct dbuf *b, uint8_t tag)
{
	size_t mark = b->len;
	dbuf_add_u8(b, tag);
	dbuf_add_u8(b, 0); /* one length byte, which dbuf_close rewrites (and widens) */
	return mark;
}

void dbuf_close(struct dbuf *b, size_t mark)
{
	uint8_t l[9];
	if (b->failed || mark + 2 > b->len)
		return;
	size_t clen = b->len - mark - 2;
	size_t n = der_len_octets(clen, l);
	if (n > 1) {
		if (!dbuf_reserve(b, n - 1))
			return;
		memmove(b->data + mark + 1 + n, b->data + mark + 2, clen);
		b->len += n - 1;
	}
	memcpy(b->data + mark + 1, l, n);
}

void dbuf_add_bitstring(struct dbuf *b, const void *bytes, size_t len)
{
	size_t m = dbuf_open(b, DER_BIT_STRING);
	dbuf_add_u8(b, 0);
	dbuf_add(b, bytes, len);
	dbuf_close(b, m);
}

void dbuf_add_uint_bytes(struct dbuf *b, const uint8_t *mag, size_t len)
{
	while (len > 1 && mag[0] == 0) {
		mag++;
		len--;
	}
	size_t m = dbuf_open(b, DER_INTEGER);
	if (len == 0 || (mag[0] & 0x80))
		dbuf_add_u8(b, 0);
	dbuf_add(b, mag, len);
	dbuf_close(b, m);
}

/* True if a universal-class element's form and content are what DER (X.690 8, 10, 11) allows for its type:
 * only SEQUENCE and SET constructed (DER encodes every string and time type primitive), never end-of-contents;
 * a BOOLEAN one octet 00 or FF, a NULL empty, an INTEGER or ENUMERATED minimal, a BIT STRING's unused bits
 * at most 7, none in an empty one, and zero. Context- and application-class tags are left to the walk: their
 * form is the schema's, which the walk does not know. */
static bool der_universal_ok(uint8_t tag, struct span c)
{
	uint8_t num = tag & 0x1f;
	if (tag & 0xc0)
		return true;
	if (tag & 0x20)
		return num == 0x10 || num == 0x11;
	switch (num) {
	case 0x00: /* end-of-contents */
	case 0x10: /* SEQUENCE and SET are constructed */
	case 0x11:
		return false;
	case 0x01: /* BOOLEAN */
		return c.len == 1 && (c.data[0] == 0x00 || c.data[0] == 0xff);
	case 0x05: /* NULL */
		return c.len == 0;
	case 0x02: /* INTEGER */
	case 0x0a: /* ENUMERATED */
		return der_integer_is_minimal(&c);
	case 0x03: /* BIT STRING */
		return c.len >= 1 && c.data[0] <= 7 && (c.len > 1 || c.data[0] == 0) &&
		       !(c.data[c.len - 1] & ((1u << c.data[0]) - 1));
	default:
		return true;
	}
}

/* Strict-DER elements to the end of v, each constructed one walked down: a long-form length for a short value,
 * an indefinite one, bytes that belong to no element, or a universal type in a form or with contents DER does
 * not allow (der_universal_ok) are refused. */
static bool der_strict_walk(struct span v, int depth)
{
	while (span_len(&v) > 0) {
		uint8_t tag;
		struct span inner;
		if (!der_get_any(&v, &tag, &inner, NULL) || !der_universal_ok(tag, inner))
			return false;
		if ((tag & 0x20) && (depth >= DER_STRICT_DEPTH || !der_strict_walk(inner, depth + 1)))
			return false;
	}
	return true;
}

bool der_strict_one(struct span v)
{
	struct span rest = v, inner;
	uint8_t tag;
	return der_get_any(&rest, &tag, &inner, NULL) && span_len(&rest) == 0 && der_strict_walk(v, 0);
}
