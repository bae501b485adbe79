/* fuzz_pwfile: pwfile_parse (frontend/pwfile.c), the command line's --password-file. An independent reading
 * of the rule gives the expected answer: at most PWFILE_READ_MAX bytes; one final "\n" or "\r\n" dropped;
 * what is left has no NUL, CR or LF and is PWFILE_MIN..AUTH_PW_MAX bytes. Accepted: out is exactly those
 * bytes and a NUL. Refused: PARSE for the shape, AUTH for a short password, and out all zero (the secret is
 * not left behind). */
#include <stdlib.h>

#include "err.h"
#include "fuzz_common.h"
#include "pwfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = malloc(PWFILE_OUT); /* exactly the caller's array, so ASan sees any byte past it */
	size_t len = 99, k = size;
	if (!out)
		return 0;
	memset(out, 'A', PWFILE_OUT);
	if (k && data[k - 1] == '\n')
		k -= 1 + (k >= 2 && data[k - 2] == '\r');
	bool shape = size <= PWFILE_READ_MAX && k <= AUTH_PW_MAX && !memchr(data, '\n', k) && !memchr(data, '\r', k) &&
		     !memchr(data, 0, k);
	int want = !shape ? HSMCA_ERR_PARSE : k < PWFILE_MIN ? HSMCA_ERR_AUTH : 0;
	int rc = pwfile_parse(data, size, out, &len);
	FUZZ_CHECK(rc == want);
	if (rc == 0) {
		FUZZ_CHECK(len == k && memcmp(out, data, k) == 0 && out[k] == 0);
	} else {
		FUZZ_CHECK(len == 0);
		for (size_t i = 0; i < PWFILE_OUT; i++)
			FUZZ_CHECK(out[i] == 0);
	}
	free(out);
	return 0;
}
