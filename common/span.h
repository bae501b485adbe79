/* Borrowed byte views and bounded getters (after BoringSSL's CBS).
 * A span never owns its bytes. Getters return true and advance only on success, so they chain with ||. */
#ifndef HSMCA_SPAN_H
#define HSMCA_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct span {
	const uint8_t *data;
	size_t len;
};

static inline struct span span_make(const void *data, size_t len)
{
	struct span s = { (const uint8_t *)data, len };
	return s;
}

static inline size_t span_len(const struct span *s) { return s->len; }

bool span_skip(struct span *s, size_t n);
bool span_get_u8(struct span *s, uint8_t *out);
bool span_get_u16(struct span *s, uint16_t *out);   /* big-endian */
bool span_get_u32(struct span *s, uint32_t *out);   /* big-endian */
/* out borrows the next n bytes of s. */
bool span_get_bytes(struct span *s, struct span *out, size_t n);
/* Length-prefixed (u8 / u16 / u32 big-endian) byte strings. */
bool span_get_u8_prefixed(struct span *s, struct span *out);
bool span_get_u16_prefixed(struct span *s, struct span *out);
bool span_get_u32_prefixed(struct span *s, struct span *out);
bool span_equal(const struct span *a, const struct span *b);
/* Lowercase hex of in[0..len) into out, which holds 2 * len + 1 bytes (NUL-terminated). */
void span_hex(const void *in, size_t len, char *out);

#endif
