/* Strict base64 (RFC 4648 standard alphabet, padded, no whitespace) for request fields. */
#ifndef HSMCA_B64_H
#define HSMCA_B64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The 6-bit value of a character of the standard base64 alphabet, or -1. */
int b64_value(char c);
/* True if in[0..len) is canonical base64: a non-zero multiple of 4 characters of the standard alphabet, '='
 * only as one or two final padding characters, and the bits the padding leaves over zero (so each byte string
 * has exactly one text: "QR==" is not another "QQ=="). */
bool b64_canonical(const char *in, size_t len);
/* Decodes in[0..len) into a new NUL-terminated buffer (owned by the caller, free()) of at most max bytes;
 * *out_len gets the decoded length. NULL on any malformed input, over max, or no memory. */
uint8_t *b64_decode_strict(const char *in, size_t len, size_t max, size_t *out_len);

#endif
