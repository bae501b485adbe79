#include "span.h"

#include <string.h>

bool span_skip(struct span *s, size_t n)
{
	if (s->len < n)
		return false;
	s->data += n;
	s->len -= n;
	return true;
}

bool span_get_bytes(struct span *s, struct span *out, size_t n)
{
	if (s->len < n)
		return false;
	out->data = s->data;
	out->len = n;
	return span_skip(s, n);
}

static bool span_get_be(struct span *s, size_t n, uint32_t *out)
{
	uint32_t v = 0;
	if (s->len < n)
		return false;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | s->data[i];
	*out = v;
	return span_skip(s, n);
}

bool span_get_u8(struct span *s, uint8_t *out)
{
	uint32_t v;
	if (!span_get_be(s, 1, &v))
		return false;
	*out = (uint8_t)v;
	return true;
}

bool span_get_u16(struct span *s, uint16_t *out)
{
	uint32_t v;
	if (!span_get_be(s, 2, &v))
		return false;
	*out = (uint16_t)v;
	return true;
}

bool span_get_u32(struct span *s, uint32_t *out)
{
	return span_get_be(s, 4, out);
}

bool span_get_u8_prefixed(struct span *s, struct span *out)
{
	struct span save = *s;
	uint8_t n;
	if (span_get_u8(s, &n) && span_get_bytes(s, out, n))
		return true;
	*s = save;
	return false;
}

bool span_get_u16_prefixed(struct span *s, struct span *out)
{
	struct span save = *s;
	uint16_t n;
	if (span_get_u16(s, &n) && span_get_bytes(s, out, n))
		return true;
	*s = save;
	return false;
}

bool span_get_u32_prefixed(struct span *s, struct span *out)
{
	struct span save = *s;
	uint32_t n;
	if (span_get_u32(s, &n) && span_get_bytes(s, out, n))
		return true;
	*s = save;
	return false;
}

bool span_equal(const struct span *a, const struct span *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

void span_hex(const void *in, size_t len, char *out)
{
	static const char hx[] = "0123456789abcdef";
	const uint8_t *b = in;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hx[b[i] >> 4];
		out[2 * i + 1] = hx[b[i] & 15];
	}
	out[2 * len] = 0;
}
