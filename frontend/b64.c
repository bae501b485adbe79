#include "b64.h"

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>

uint8_t *b64_decode_strict(const char *in, size_t len, size_t max, size_t *out_len)
{
	if (len == 0 || len % 4 || len / 4 * 3 > max + 2)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		bool pad = c == '=' && i >= len - 2 && (i == len - 1 || in[len - 1] == '=');
		if (!pad && !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
			      c == '/'))
			return NULL;
	}
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
