/* hsm/shamir: GF(2^8) arithmetic, split limits, reconstruction from every subset of a 3-of-5 split. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <string.h>

#include "check.h"
#include "shamir.h"

#define SECRET_LEN 32
#define M 3
#define N 5

/* Deterministic RNG: SHA-256(seed || counter) blocks, so a failure reproduces exactly. */
struct det_rng {
	uint8_t seed[32];
	uint32_t counter;
};

static int det_rng_fill(void *ctx, uint8_t *buf, size_t len)
{
	struct det_rng *r = ctx;
	while (len > 0) {
		uint8_t in[36], out[32];
		unsigned int olen = 0;
		memcpy(in, r->seed, 32);
		in[32] = (uint8_t)(r->counter >> 24);
		in[33] = (uint8_t)(r->counter >> 16);
		in[34] = (uint8_t)(r->counter >> 8);
		in[35] = (uint8_t)r->counter;
		r->counter++;
		if (EVP_Digest(in, sizeof(in), out, &olen, EVP_sha256(), NULL) != 1)
			return HSMCA_ERR_CRYPTO;
		size_t n = len < sizeof(out) ? len : sizeof(out);
		memcpy(buf, out, n);
		buf += n;
		len -= n;
	}
	return 0;
}

static int ossl_rng_fill(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	return RAND_bytes(buf, (int)len) == 1 ? 0 : HSMCA_ERR_CRYPTO;
}

static int failing_rng(void *ctx, uint8_t *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	return HSMCA_ERR_IO;
}

static void det_rng_init(struct det_rng *r, uint8_t tag)
{
	memset(r, 0, sizeof(*r));
	memset(r->seed, tag, sizeof(r->seed));
}

static void test_gf(void)
{
	unsigned bad_inv = 0, bad_comm = 0, bad_id = 0, bad_zero = 0;
	for (unsigned a = 0; a < 256; a++) {
		if (a != 0 && shamir_gf_mul((uint8_t)a, shamir_gf_inv((uint8_t)a)) != 1)
			bad_inv++;
		if (shamir_gf_mul((uint8_t)a, 1) != a)
			bad_id++;
		if (shamir_gf_mul((uint8_t)a, 0) != 0)
			bad_zero++;
		for (unsigned b = 0; b < 256; b++)
			if (shamir_gf_mul((uint8_t)a, (uint8_t)b) != shamir_gf_mul((uint8_t)b, (uint8_t)a))
				bad_comm++;
	}
	CHECKF(bad_inv == 0, "%u values a with a*inv(a) != 1", bad_inv);
	CHECKF(bad_id == 0, "%u values with a*1 != a", bad_id);
	CHECKF(bad_zero == 0, "%u values with a*0 != 0", bad_zero);
	CHECKF(bad_comm == 0, "%u pairs with a*b != b*a", bad_comm);
	CHECK(shamir_gf_inv(0) == 0);
	CHECK(shamir_gf_inv(1) == 1);
	/* FIPS-197 4.2: {57} * {83} = {c1}, {57} * {13} = {fe} */
	CHECK(shamir_gf_mul(0x57, 0x83) == 0xc1);
	CHECK(shamir_gf_mul(0x57, 0x13) == 0xfe);
	/* distributivity over XOR for a sample */
	unsigned bad_dist = 0;
	for (unsigned a = 1; a < 256; a += 7)
		for (unsigned b = 0; b < 256; b += 3)
			for (unsigned c = 0; c < 256; c += 5)
				if (shamir_gf_mul((uint8_t)a, (uint8_t)(b ^ c)) !=
				    (shamir_gf_mul((uint8_t)a, (uint8_t)b) ^ shamir_gf_mul((uint8_t)a, (uint8_t)c)))
					bad_dist++;
	CHECKF(bad_dist == 0, "%u distributivity failures", bad_dist);
}

/* Combines the shares whose (0-based) indices are the set bits of mask; returns the combine rc. */
static int combine_mask(const uint8_t *shares, unsigned mask, size_t len, uint8_t *out, unsigned *k_out)
{
	uint8_t xs[N], ys[N * SECRET_LEN];
	unsigned k = 0;
	for (unsigned i = 0; i < N; i++) {
		if (!(mask & (1u << i)))
			continue;
		xs[k] = (uint8_t)(i + 1);
		memcpy(ys + (size_t)k * len, shares + (size_t)i * len, len);
		k++;
	}
	*k_out = k;
	return shamir_combine(xs, ys, k, len, out);
}

static void test_subsets(shamir_rng rng, void *rng_ctx, const char *what)
{
	uint8_t secret[SECRET_LEN], shares[N * SECRET_LEN], out[SECRET_LEN];
	unsigned n3 = 0, n4 = 0, n5 = 0, n2 = 0;
	for (unsigned i = 0; i < SECRET_LEN; i++)
		secret[i] = (uint8_t)(0xa5 ^ (i * 37));
	CHECKF(shamir_split(secret, SECRET_LEN, M, N, rng, rng_ctx, shares) == 0, "%s: split", what);
	/* no share equals the secret (would mean a constant polynomial) */
	for (unsigned i = 0; i < N; i++)
		CHECKF(memcmp(shares + i * SECRET_LEN, secret, SECRET_LEN) != 0, "%s: share %u equals the secret", what, i);
	for (unsigned mask = 1; mask < (1u << N); mask++) {
		unsigned k;
		int rc = combine_mask(shares, mask, SECRET_LEN, out, &k);
		CHECKF(rc == 0, "%s: combine mask %#x rc %d", what, mask, rc);
		bool same = memcmp(out, secret, SECRET_LEN) == 0;
		if (k >= M) {
			CHECKF(same, "%s: %u shares (mask %#x) did not reconstruct the secret", what, k, mask);
			n3 += k == 3;
			n4 += k == 4;
			n5 += k == 5;
		} else if (k == M - 1) {
			CHECKF(!same, "%s: only %u shares (mask %#x) reconstructed the secret", what, k, mask);
			n2++;
		}
	}
	CHECKF(n3 == 10 && n4 == 5 && n5 == 1 && n2 == 10, "%s: subset counts %u %u %u %u", what, n3, n4, n5, n2);
}

static void test_split_limits(void)
{
	uint8_t secret[SHAMIR_SECRET_MAX + 1] = { 1, 2, 3 };
	static uint8_t out[SHAMIR_SHARES_MAX * (SHAMIR_SECRET_MAX + 1)];
	struct det_rng r;
	det_rng_init(&r, 1);
	CHECK(shamir_split(secret, 16, 1, 5, det_rng_fill, &r, out) == HSMCA_ERR_LIMIT);  /* m < 2 */
	CHECK(shamir_split(secret, 16, 0, 5, det_rng_fill, &r, out) == HSMCA_ERR_LIMIT);  /* m = 0 */
	CHECK(shamir_split(secret, 16, 6, 5, det_rng_fill, &r, out) == HSMCA_ERR_LIMIT);  /* m > n */
	CHECK(shamir_split(secret, 16, 2, 256, det_rng_fill, &r, out) == HSMCA_ERR_LIMIT); /* n > 255 */
	CHECK(shamir_split(secret, 0, 2, 3, det_rng_fill, &r, out) == HSMCA_ERR_LIMIT);    /* len 0 */
	CHECK(shamir_split(secret, SHAMIR_SECRET_MAX + 1, 2, 3, det_rng_fill, &r, out) == HSMCA_ERR_LIMIT);
	/* boundaries that are allowed */
	CHECK(shamir_split(secret, SHAMIR_SECRET_MAX, 2, 2, det_rng_fill, &r, out) == 0);
	CHECK(shamir_split(secret, 1, 2, SHAMIR_SHARES_MAX, det_rng_fill, &r, out) == 0);
	/* the rng's error is passed through */
	CHECK(shamir_split(secret, 16, 2, 3, failing_rng, NULL, out) == HSMCA_ERR_IO);
}

/* 2-of-255: the highest x coordinates (254, 255) still reconstruct. */
static void test_255_shares(void)
{
	static uint8_t shares[SHAMIR_SHARES_MAX * 8];
	uint8_t secret[8] = { 0xde, 0xad, 0xbe, 0xef, 0, 1, 0x80, 0xff }, out[8], xs[2], ys[16];
	struct det_rng r;
	det_rng_init(&r, 2);
	CHECK(shamir_split(secret, 8, 2, SHAMIR_SHARES_MAX, det_rng_fill, &r, shares) == 0);
	xs[0] = 254;
	xs[1] = 255;
	memcpy(ys, shares + 253 * 8, 8);
	memcpy(ys + 8, shares + 254 * 8, 8);
	CHECK(shamir_combine(xs, ys, 2, 8, out) == 0 && memcmp(out, secret, 8) == 0);
	xs[0] = 1;
	memcpy(ys, shares, 8);
	CHECK(shamir_combine(xs, ys, 2, 8, out) == 0 && memcmp(out, secret, 8) == 0);
}

static void test_combine_rejects(void)
{
	uint8_t secret[SECRET_LEN] = { 9 }, shares[N * SECRET_LEN], out[SECRET_LEN], ys[3 * SECRET_LEN];
	struct det_rng r;
	det_rng_init(&r, 3);
	CHECK(shamir_split(secret, SECRET_LEN, M, N, det_rng_fill, &r, shares) == 0);
	memcpy(ys, shares, sizeof(ys));
	const uint8_t dup[3] = { 1, 2, 1 }, dup_adj[3] = { 2, 2, 3 }, zero[3] = { 0, 2, 3 }, zero_last[3] = { 1, 2, 0 };
	CHECK(shamir_combine(dup, ys, 3, SECRET_LEN, out) == HSMCA_ERR_PARSE);
	CHECK(shamir_combine(dup_adj, ys, 3, SECRET_LEN, out) == HSMCA_ERR_PARSE);
	CHECK(shamir_combine(zero, ys, 3, SECRET_LEN, out) == HSMCA_ERR_PARSE);
	CHECK(shamir_combine(zero_last, ys, 3, SECRET_LEN, out) == HSMCA_ERR_PARSE);
	const uint8_t ok[3] = { 1, 2, 3 };
	CHECK(shamir_combine(ok, ys, 0, SECRET_LEN, out) == HSMCA_ERR_LIMIT);
	CHECK(shamir_combine(ok, ys, 3, 0, out) == HSMCA_ERR_LIMIT);
	CHECK(shamir_combine(ok, ys, 3, SHAMIR_SECRET_MAX + 1, out) == HSMCA_ERR_LIMIT);
	CHECK(shamir_combine(ok, ys, SHAMIR_SHARES_MAX + 1, SECRET_LEN, out) == HSMCA_ERR_LIMIT);
	CHECK(shamir_combine(ok, ys, 3, SECRET_LEN, out) == 0 && memcmp(out, secret, SECRET_LEN) == 0);
	/* shares presented in another order still reconstruct */
	const uint8_t rev[3] = { 3, 2, 1 };
	uint8_t ys_rev[3 * SECRET_LEN];
	for (unsigned j = 0; j < 3; j++)
		memcpy(ys_rev + j * SECRET_LEN, shares + (2 - j) * SECRET_LEN, SECRET_LEN);
	CHECK(shamir_combine(rev, ys_rev, 3, SECRET_LEN, out) == 0 && memcmp(out, secret, SECRET_LEN) == 0);
}

/* Two splits of the same secret with the same rng state give the same shares; another seed gives others. */
static void test_determinism(void)
{
	uint8_t secret[SECRET_LEN] = { 7, 7, 7 }, a[N * SECRET_LEN], b[N * SECRET_LEN];
	struct det_rng r1, r2;
	det_rng_init(&r1, 4);
	det_rng_init(&r2, 4);
	CHECK(shamir_split(secret, SECRET_LEN, M, N, det_rng_fill, &r1, a) == 0);
	CHECK(shamir_split(secret, SECRET_LEN, M, N, det_rng_fill, &r2, b) == 0);
	CHECK(memcmp(a, b, sizeof(a)) == 0);
	det_rng_init(&r2, 5);
	CHECK(shamir_split(secret, SECRET_LEN, M, N, det_rng_fill, &r2, b) == 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
}

int main(void)
{
	struct det_rng r;
	test_gf();
	det_rng_init(&r, 0x42);
	test_subsets(det_rng_fill, &r, "deterministic rng");
	test_subsets(ossl_rng_fill, NULL, "RAND_bytes rng");
	test_split_limits();
	test_255_shares();
	test_combine_rejects();
	test_determinism();
	return check_done("unit_shamir");
}
