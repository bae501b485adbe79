#include "shamir.h"

#include <string.h>

uint8_t shamir_gf_mul(uint8_t a, uint8_t b)
{
	uint8_t r = 0;
	for (int i = 0; i < 8; i++) {
		r ^= (uint8_t)(-(b & 1)) & a;
		uint8_t hi = (uint8_t)(-(a >> 7));
		a = (uint8_t)((a << 1) ^ (hi & 0x1b));
		b >>= 1;
	}
	return r;
}

uint8_t shamir_gf_inv(uint8_t a)
{
	/* a^254 = a^-1 in GF(2^8); a fixed sequence of multiplications */
	uint8_t r = a, sq = a;
	for (int i = 0; i < 6; i++) {
		sq = shamir_gf_mul(sq, sq);
		r = shamir_gf_mul(r, sq);
	}
	return shamir_gf_mul(r, r);
}

int shamir_split(const uint8_t *secret, size_t len, unsigned m, unsigned n, shamir_rng rng, void *rng_ctx,
		 uint8_t *out)
{
	uint8_t coef[SHAMIR_SHARES_MAX];
	int rc = HSMCA_ERR_LIMIT;
	if (len == 0 || len > SHAMIR_SECRET_MAX || m < 2 || m > n || n > SHAMIR_SHARES_MAX)
		return HSMCA_ERR_LIMIT;
	for (size_t b = 0; b < len; b++) {
		coef[0] = secret[b];
		rc = rng(rng_ctx, coef + 1, m - 1);
		if (rc)
			goto out;
		for (unsigned i = 0; i < n; i++) {
			uint8_t x = (uint8_t)(i + 1), y = 0;
			for (unsigned c = m; c-- > 0;) /* Horner */
				y = (uint8_t)(shamir_gf_mul(y, x) ^ coef[c]);
			out[(size_t)i * len + b] = y;
		}
	}
	rc = 0;
out:
	explicit_bzero(coef, sizeof(coef));
	return rc;
}

int shamir_combine(const uint8_t *xs, const uint8_t *ys, unsigned k, size_t len, uint8_t *out)
{
	uint8_t lagrange[SHAMIR_SHARES_MAX];
	if (k == 0 || k > SHAMIR_SHARES_MAX || len == 0 || len > SHAMIR_SECRET_MAX)
		return HSMCA_ERR_LIMIT;
	for (unsigned j = 0; j < k; j++) {
		if (xs[j] == 0)
			return HSMCA_ERR_PARSE;
		for (unsigned i = 0; i < j; i++)
			if (xs[i] == xs[j])
				return HSMCA_ERR_PARSE;
	}
	/* l_j(0) = prod_{i != j} x_i / (x_i - x_j); subtraction is XOR */
	for (unsigned j = 0; j < k; j++) {
		uint8_t num = 1, den = 1;
		for (unsigned i = 0; i < k; i++) {
			if (i == j)
				continue;
			num = shamir_gf_mul(num, xs[i]);
			den = shamir_gf_mul(den, (uint8_t)(xs[i] ^ xs[j]));
		}
		lagrange[j] = shamir_gf_mul(num, shamir_gf_inv(den));
	}
	for (size_t b = 0; b < len; b++) {
		uint8_t s = 0;
		for (unsigned j = 0; j < k; j++)
			s ^= shamir_gf_mul(ys[(size_t)j * len + b], lagrange[j]);
		out[b] = s;
	}
	explicit_bzero(lagrange, sizeof(lagrange));
	return 0;
}
