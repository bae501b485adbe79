/* Shared helpers for the libFuzzer targets (tests/fuzz). Each target feeds raw bytes to the real parser
 * (after p11-kit's fuzz/rpc_fuzzer.c) and turns a broken invariant into __builtin_trap(), which libFuzzer
 * reports as a crash together with the input. */
#ifndef HSMCA_FUZZ_COMMON_H
#define HSMCA_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "span.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant the library promises; breaking it is a bug, so stop here with the input. */
#define FUZZ_CHECK(cond)                                                                                       \
	do {                                                                                                   \
		if (!(cond))                                                                                   \
			__builtin_trap();                                                                      \
	} while (0)

/* True if inner lies entirely inside [base, base + base_len) (an empty span may sit at either end). */
static inline bool fuzz_within(const uint8_t *base, size_t base_len, const struct span *inner)
{
	if (inner->len == 0)
		return inner->data == NULL || (inner->data >= base && inner->data <= base + base_len);
	return inner->data >= base && inner->data <= base + base_len &&
	       inner->len <= (size_t)(base + base_len - inner->data);
}

static inline bool fuzz_span_same(const struct span *a, const struct span *b)
{
	return a->data == b->data && a->len == b->len;
}

/* A reason string written by a failing parser or check: non-empty and NUL-terminated within max. */
static inline bool fuzz_why_ok(const char *why, size_t max)
{
	size_t n = strnlen(why, max);
	return n > 0 && n < max;
}

#endif
