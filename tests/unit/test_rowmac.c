/* unit_rowmac: the account and API key row MACs (frontend/rowmac.c), against an independent computation
 * (OpenSSL's one-shot HMAC over the bytes rowmac.h specifies, laid out here by hand): a change of the MAC's
 * input would refuse every stored account, so it fails this test. And every field counts. */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "check.h"
#include "err.h"
#include "rowmac.h"

static size_t put_u64(uint8_t *b, int64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
	return 8;
}

static size_t put_str(uint8_t *b, const char *s)
{
	size_t n = strlen(s);
	b[0] = (uint8_t)(n >> 8), b[1] = (uint8_t)n;
	memcpy(b + 2, s, n);
	return n + 2;
}

static void test_account(const uint8_t *key, const uint8_t *key2)
{
	struct rowmac_account a = { 4242, "alice", "admin", "scrypt$14$8$1$c2FsdA$aGFzaA", false, 7 };
	uint8_t msg[512], want[32], got[32], other[32];
	size_t n = 0;
	unsigned int ol = 0;
	char why[160];
	memcpy(msg, "hsmca-account-v1", 17), n = 17; /* with its NUL */
	n += put_u64(msg + n, a.id);
	n += put_str(msg + n, a.name);
	n += put_str(msg + n, a.role);
	n += put_str(msg + n, a.pw_hash);
	msg[n++] = 0;
	n += put_u64(msg + n, a.seq);
	HMAC(EVP_sha256(), key, INTENT_KEY_LEN, msg, n, want, &ol);
	CHECK(rowmac_account(key, &a, got) == 0 && memcmp(got, want, 32) == 0);
	/* every field counts: each change gives another MAC */
	struct rowmac_account b = a;
	b.id++;
	CHECK(rowmac_account(key, &b, other) == 0 && memcmp(got, other, 32) != 0);
	b = a, b.role = "requester";
	CHECK(rowmac_account(key, &b, other) == 0 && memcmp(got, other, 32) != 0);
	b = a, b.pw_hash = "scrypt$14$8$1$c2FsdA$aGFzaB";
	CHECK(rowmac_account(key, &b, other) == 0 && memcmp(got, other, 32) != 0);
	b = a, b.disabled = true;
	CHECK(rowmac_account(key, &b, other) == 0 && memcmp(got, other, 32) != 0);
	b = a, b.seq++; /* the same fields written back later */
	CHECK(rowmac_account(key, &b, other) == 0 && memcmp(got, other, 32) != 0);
	b = a, b.name = "alicea", b.role = "dmin"; /* the lengths keep the fields apart */
	CHECK(rowmac_account(key, &b, other) == 0 && memcmp(got, other, 32) != 0);
	/* verify: the right MAC under either key; another row's; none unless legacy */
	CHECK(rowmac_account_verify(key, NULL, &a, got, false, why, sizeof why) == 0);
	CHECK(rowmac_account_verify(key2, key, &a, got, false, why, sizeof why) == 0);
	CHECK(rowmac_account_verify(key2, NULL, &a, got, false, why, sizeof why) == HSMCA_ERR_AUTH &&
	      strstr(why, "row-mac: the account row's MAC does not match"));
	b = a, b.seq++;
	CHECK(rowmac_account_verify(key, NULL, &b, got, false, why, sizeof why) == HSMCA_ERR_AUTH);
	CHECK(rowmac_account_verify(key, NULL, &a, NULL, false, why, sizeof why) == HSMCA_ERR_AUTH &&
	      strstr(why, "has no MAC"));
	CHECK(rowmac_account_verify(key, NULL, &a, NULL, true, why, sizeof why) == 0);
}

static void test_apikey(const uint8_t *key)
{
	struct rowmac_apikey k = { 17, "6f1ed002ab5595859014ebf0951522d9e9e4d1c3f1d9f2e3a4b5c6d7e8f90a1b", 4242, "server",
				   false, 1 };
	uint8_t msg[512], want[32], got[32], other[32];
	size_t n = 0;
	unsigned int ol = 0;
	char why[160];
	memcpy(msg, "hsmca-apikey-v1", 16), n = 16;
	n += put_u64(msg + n, k.id);
	n += put_str(msg + n, k.key_hash);
	n += put_u64(msg + n, k.account_id);
	msg[n++] = 1;
	n += put_str(msg + n, k.profile);
	msg[n++] = 0;
	n += put_u64(msg + n, k.seq);
	HMAC(EVP_sha256(), key, INTENT_KEY_LEN, msg, n, want, &ol);
	CHECK(rowmac_apikey(key, &k, got) == 0 && memcmp(got, want, 32) == 0);
	/* another account, no profile (any), an empty one is not none, disabled, later */
	struct rowmac_apikey b = k;
	b.account_id = 4243;
	CHECK(rowmac_apikey(key, &b, other) == 0 && memcmp(got, other, 32) != 0);
	b = k, b.profile = NULL;
	CHECK(rowmac_apikey(key, &b, other) == 0 && memcmp(got, other, 32) != 0);
	uint8_t none[32];
	memcpy(none, other, 32);
	b = k, b.profile = "";
	CHECK(rowmac_apikey(key, &b, other) == 0 && memcmp(none, other, 32) != 0);
	b = k, b.disabled = true;
	CHECK(rowmac_apikey(key, &b, other) == 0 && memcmp(got, other, 32) != 0);
	b = k, b.seq = 2;
	CHECK(rowmac_apikey(key, &b, other) == 0 && memcmp(got, other, 32) != 0);
	CHECK(rowmac_apikey_verify(key, NULL, &k, got, false, why, sizeof why) == 0);
	CHECK(rowmac_apikey_verify(key, NULL, &b, got, false, why, sizeof why) == HSMCA_ERR_AUTH &&
	      strstr(why, "API key row's MAC does not match"));
	/* an account row's MAC is never a key row's (another domain) */
	struct rowmac_account a = { 17, "x", "admin", "y", false, 1 };
	CHECK(rowmac_account(key, &a, other) == 0 && memcmp(got, other, 32) != 0);
}

int main(void)
{
	uint8_t key[INTENT_KEY_LEN], key2[INTENT_KEY_LEN];
	for (int i = 0; i < INTENT_KEY_LEN; i++)
		key[i] = (uint8_t)(0x60 + i), key2[i] = key[i];
	key2[3] ^= 0x10;
	test_account(key, key2);
	test_apikey(key);
	return check_done("unit_rowmac");
}
