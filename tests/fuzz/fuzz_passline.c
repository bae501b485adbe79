/* fuzz_passline: passline_len and passline_len_legacy (common/passline.c), a custodian's --passphrase-file for the ceremony tool and the
 * unseal CLI. An independent reading of the rule gives the expected answer: one final "\n" or "\r\n" dropped;
 * what is left holds no NUL, CR or LF (it may be empty). Accepted: the length is exactly that, the bytes are the
 * input's first ones; refused: PARSE and a length of 0. */
#include <stdlib.h>

#include "err.h"
#include "fuzz_common.h"
#include "passline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1); /* exactly the input, so ASan sees any byte read past it */
	size_t len = 99, k = size;
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (k && data[k - 1] == '\n')
		k -= 1 + (k >= 2 && data[k - 2] == '\r');
	bool one_line = !memchr(data, '\n', k) && !memchr(data, '\r', k) && !memchr(data, 0, k);
	int rc = passline_len(copy, size, &len);
	FUZZ_CHECK(rc == (one_line ? 0 : HSMCA_ERR_PARSE));
	FUZZ_CHECK(rc ? len == 0 : len == k);
	FUZZ_CHECK(memcmp(copy, data, size) == 0); /* nothing written */
	/* the legacy reading: all but the CR and LF at the end; the same as the strict one where that accepts */
	size_t legacy = passline_len_legacy(copy, size), e = size;
	while (e > 0 && (data[e - 1] == '\n' || data[e - 1] == '\r'))
		e--;
	FUZZ_CHECK(legacy == e && (rc || legacy == len));
	free(copy);
	return 0;
}
