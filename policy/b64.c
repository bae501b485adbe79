#include "b64.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>

int b64_value(char c)
{
	return c >= 'A' && c <= 'Z'   ? c - 'A'
	       : c >= 'a' && c <= 'z' ? c - 'a' + 26
	       : c >= '0' && c <= '9' ? c - '0' + 52
	       : c == '+'             ? 62
	       : c == '/'             ? 63
				      : -1;
}

bool b64_canonical(const char *in, size_t len)
{
	if (len == 0 || len % 4)
		return false;
	size_t pad = in[len - 1] == '=' ? (in[len - 2] == '=' ? 2 : 1) : 0;
	for (size_t i = 0; i < len - pad; i++)
		if (b64_value(in[i]) < 0)
			return false;
	/* the last character before the padding carries 4 (one byte left) or 2 (two bytes) unused low bits */
	return pad == 0 || (b64_value(in[len - pad - 1]) & (pad == 2 ? 0x0f : 0x03)) == 0;
}

uint8_t *b64_decode_strict(const char *in, size_t len, size_t max, size_t *out_len)
{
	if (len / 4 * 3 > max + 2 || !b64_canonical(in, len))
		return NULL;
	uint8_t *out = malloc(len / 4 * 3 + 1);
	int n = out ? EVP_DecodeBlock(out, (const unsigned char *)in, (int)len) : -1;
	if (n < 0) {
		free(out);
		return NULL;
	}
	*out_len = (size_t)n - (in[len - 1] == '=') - (in[len - 2] == '=');
	if (*out_len > max) {
		free(out);
		return NULL;
	}
	out[*out_len] = 0;
	return out;
}
