/* fuzz_authbasic: auth_basic_split (frontend/auth.c), the HTTP Basic credentials after "Basic ", and the
 * base64 decoder it uses. The input is the header's rest as a C string (cut at a NUL, as the header is).
 * An independent strict decoder (RFC 4648 alphabet, len % 4 == 0, '=' only as the last one or two
 * characters) gives the expected answer: for strict base64 the split must accept exactly when the decoded
 * bytes fit (AUTH_RAW_MAX - 1), hold no NUL and have a ':' after a user of 1..DB_NAME_MAX-1 bytes, and then
 * give exactly those user and password bytes. Whatever it accepts, user is raw, NUL-terminated with no ':',
 * and the password's pw_len bytes follow it inside raw with no NUL.
 *
 * Anything else must be refused: auth.c's b64_decode once handed its input to EVP_DecodeBlock unchecked and
 * took leading blanks, trailing blanks, CR, LF or '-', and '=' inside the text (corpus/authbasic/seed-regress-*;
 * crashes/README.md). */
#include <stdlib.h>

#include "auth.h"
#include "fuzz_common.h"

static int fuzz_b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Strict base64 of in[0..len) into out (room for len / 4 * 3): true with *out_len, false if not strict (the
 * alphabet, '=' only as final padding, and the bits the padding leaves over zero). */
static bool fuzz_b64_strict(const char *in, size_t len, uint8_t *out, size_t *out_len)
{
	size_t pad = 0, n = 0;
	if (len == 0 || len % 4)
		return false;
	pad = (in[len - 1] == '=') + (in[len - 1] == '=' && in[len - 2] == '=');
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = 0;
		for (size_t k = 0; k < 4; k++) {
			int d = i + k >= len - pad ? 0 : fuzz_b64_value(in[i + k]);
			if (d < 0)
				return false;
			v = v << 6 | (uint32_t)d;
		}
		out[n++] = (uint8_t)(v >> 16);
		out[n++] = (uint8_t)(v >> 8);
		out[n++] = (uint8_t)v;
	}
	*out_len = n - pad;
	for (size_t k = n - pad; k < n; k++) /* the padded positions decode as 0: what lands here is leftover bits */
		if (out[k])
			return false;
	return true;
}

/* What the split promises about an accepted header, strict or not. */
static void fuzz_split_shape(const uint8_t *raw, const char *user, const char *pw, size_t pw_len)
{
	size_t ul = strnlen(user, AUTH_RAW_MAX);
	FUZZ_CHECK(user == (const char *)raw && ul >= 1 && ul < DB_NAME_MAX && !memchr(user, ':', ul));
	FUZZ_CHECK(pw == user + ul + 1 && pw_len <= AUTH_RAW_MAX - 1 - ul - 1 && !memchr(pw, 0, pw_len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *user = NULL, *pw = NULL;
	size_t pw_len = 0, want_len = 0;
	char *b64 = malloc(size + 1);
	uint8_t *raw = malloc(AUTH_RAW_MAX); /* exactly the caller's array, so ASan sees any byte past it */
	uint8_t *want = malloc(size / 4 * 3 + 3);
	if (!b64 || !raw || !want)
		goto out;
	if (size)
		memcpy(b64, data, size);
	b64[size] = 0;
	size_t len = strlen(b64);
	bool strict = fuzz_b64_strict(b64, len, want, &want_len);
	int rc = auth_basic_split(b64, raw, &user, &pw, &pw_len);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (!strict) {
		FUZZ_CHECK(rc != 0);
		goto out;
	}
	const uint8_t *colon = memchr(want, ':', want_len);
	bool ok = want_len <= AUTH_RAW_MAX - 1 && colon && colon > want && (size_t)(colon - want) < DB_NAME_MAX &&
		  !memchr(want, 0, want_len);
	FUZZ_CHECK(ok == (rc == 0));
	if (ok) {
		size_t ul = (size_t)(colon - want);
		fuzz_split_shape(raw, user, pw, pw_len);
		FUZZ_CHECK(strlen(user) == ul && memcmp(user, want, ul) == 0);
		FUZZ_CHECK(pw_len == want_len - ul - 1 && memcmp(pw, colon + 1, pw_len) == 0);
	}
out:
	free(b64);
	free(raw);
	free(want);
	return 0;
}
