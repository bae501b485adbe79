/* fuzz_intentkey: intent_key_parse (frontend/intent.c), the frontend's intent_key_file. An independent reading
 * of the rule gives the expected answer: at most INTENT_KEY_READ_MAX bytes; one final "\n" or "\r\n" dropped;
 * what is left is exactly 64 hex digits (either case). Accepted: the key is those digits' bytes, and not all
 * zero (else AUTH). Refused: PARSE for the shape, AUTH for a zero key, and the key all zero either way (no
 * secret is left behind). */
#include <stdlib.h>

#include "err.h"
#include "fuzz_common.h"
#include "intent.h"

static int nibble(uint8_t c)
{
	const char *digits = "0123456789abcdef", *p;
	if (c >= 'A' && c <= 'F')
		c = (uint8_t)(c - 'A' + 'a');
	return c && (p = strchr(digits, c)) ? (int)(p - digits) : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *key = malloc(INTENT_KEY_LEN); /* exactly the caller's array, so ASan sees any byte past it */
	uint8_t want[INTENT_KEY_LEN] = { 0 }, any = 0;
	size_t k = size;
	if (!key)
		return 0;
	memset(key, 0x5a, INTENT_KEY_LEN);
	if (k && data[k - 1] == '\n')
		k -= 1 + (k >= 2 && data[k - 2] == '\r');
	bool shape = size <= INTENT_KEY_READ_MAX && k == 2 * INTENT_KEY_LEN;
	for (size_t i = 0; shape && i < INTENT_KEY_LEN; i++) {
		int hi = nibble(data[2 * i]), lo = nibble(data[2 * i + 1]);
		if (!(shape = hi >= 0 && lo >= 0))
			break;
		want[i] = (uint8_t)(hi << 4 | lo);
		any |= want[i];
	}
	int rc = intent_key_parse(data, size, key);
	FUZZ_CHECK(rc == (!shape ? HSMCA_ERR_PARSE : !any ? HSMCA_ERR_AUTH : 0));
	if (rc == 0) {
		FUZZ_CHECK(memcmp(key, want, INTENT_KEY_LEN) == 0);
	} else {
		for (size_t i = 0; i < INTENT_KEY_LEN; i++)
			FUZZ_CHECK(key[i] == 0);
	}
	free(key);
	return 0;
}
