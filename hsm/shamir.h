/* Shamir secret sharing over GF(2^8) (AES field, x^8+x^4+x^3+x+1), byte by byte.
 * Arithmetic is branch-free in the secret. */
#ifndef HSMCA_SHAMIR_H
#define HSMCA_SHAMIR_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define SHAMIR_SECRET_MAX 64
#define SHAMIR_SHARES_MAX 255

/* Fills buf with len random bytes; returns 0 or a negative error. */
typedef int (*shamir_rng)(void *ctx, uint8_t *buf, size_t len);

/* Splits secret (len <= SHAMIR_SECRET_MAX) into n shares with threshold m (2 <= m <= n <= 255).
 * Share i (0-based) has x = i+1 and its len bytes are written to out + i*len (caller provides n*len bytes,
 * ideally locked memory). The polynomial coefficients come from rng and are wiped. */
int shamir_split(const uint8_t *secret, size_t len, unsigned m, unsigned n, shamir_rng rng, void *rng_ctx,
		 uint8_t *out) HSMCA_WUR;

/* Reconstructs from k shares: xs[j] (distinct, non-zero) and ys + j*len. Writes len bytes to out.
 * With fewer than the threshold the output is unrelated to the secret; the caller checks k against m. */
int shamir_combine(const uint8_t *xs, const uint8_t *ys, unsigned k, size_t len, uint8_t *out) HSMCA_WUR;

uint8_t shamir_gf_mul(uint8_t a, uint8_t b);
uint8_t shamir_gf_inv(uint8_t a); /* inv(0) = 0 */

#endif
