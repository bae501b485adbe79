/* unit_intent: the intent key file's parser and the intent MAC (frontend/intent.c). The MAC is checked against
 * an independent computation (OpenSSL's one-shot HMAC over the bytes intent.h specifies, laid out here by
 * hand), so a change of the MAC's input that would orphan every stored row fails this test. */
#include <stdint.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "check.h"
#include "err.h"
#include "intent.h"

static int parse(const char *text, uint8_t key[INTENT_KEY_LEN])
{
	return intent_key_parse((const uint8_t *)text, strlen(text), key);
}

static void test_parse(void)
{
	static const char hex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1eFF";
	uint8_t key[INTENT_KEY_LEN], want[INTENT_KEY_LEN];
	char buf[128];
	for (int i = 0; i < INTENT_KEY_LEN; i++)
		want[i] = (uint8_t)i;
	want[31] = 0xff;
	/* accepted: no line end, "\n", "\r\n"; either case */
	static const char *const ends[] = { "", "\n", "\r\n" };
	for (int i = 0; i < 3; i++) {
		snprintf(buf, sizeof buf, "%s%s", hex, ends[i]);
		memset(key, 0x77, sizeof key);
		CHECKF(parse(buf, key) == 0 && memcmp(key, want, sizeof key) == 0, "line end %d", i);
	}
	/* refused, with the key left all zero */
	static const char *const bad[] = {
		"",                                                                      /* empty */
		"\n",                                                                    /* a line end alone */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e",       /* 62 digits */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1eff00",   /* 66 digits */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1eff\n\n", /* a second line */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1eff\r",   /* a bare CR */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1eff ",    /* a space */
		" 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1eff",    /* a leading space */
		"0g0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1eff",     /* not hex */
		"0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1eff",     /* a prefix */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(key, 0x77, sizeof key);
		int rc = parse(bad[i], key);
		uint8_t any = 0;
		for (int j = 0; j < INTENT_KEY_LEN; j++)
			any |= key[j];
		CHECKF(rc == HSMCA_ERR_PARSE && any == 0, "bad[%zu] rc %d", i, rc);
	}
	/* an embedded NUL (the parser takes bytes, not a C string) */
	memcpy(buf, hex, 64);
	buf[10] = 0;
	CHECK(intent_key_parse((const uint8_t *)buf, 64, key) == HSMCA_ERR_PARSE);
	/* the longest accepted input is 66 bytes; more is refused before it is looked at */
	memset(buf, '1', sizeof buf);
	CHECK(intent_key_parse((const uint8_t *)buf, INTENT_KEY_READ_MAX + 1, key) == HSMCA_ERR_PARSE);
	/* all zero: HSMCA_ERR_AUTH (a key made from /dev/zero, or an empty buffer written out) */
	snprintf(buf, sizeof buf, "%064d\n", 0);
	CHECK(parse(buf, key) == HSMCA_ERR_AUTH);
}

/* HMAC-SHA-256(key, domain 0 || u16 serial || u16 issuer || u32 tbs), laid out by hand; domain
 * "hsmca-intent-v1", or "hsmca-intent-held-v1" for an intent stored held */
static void reference_mac_in(const char *domain, const uint8_t *key, const char *serial, const char *issuer,
			     const uint8_t *tbs, size_t tbs_len, uint8_t out[32])
{
	uint8_t msg[1024];
	size_t n = 0, sl = strlen(serial), il = strlen(issuer);
	memcpy(msg, domain, strlen(domain) + 1); /* with its NUL */
	n = strlen(domain) + 1;
	msg[n++] = (uint8_t)(sl >> 8), msg[n++] = (uint8_t)sl;
	memcpy(msg + n, serial, sl), n += sl;
	msg[n++] = (uint8_t)(il >> 8), msg[n++] = (uint8_t)il;
	memcpy(msg + n, issuer, il), n += il;
	msg[n++] = (uint8_t)(tbs_len >> 24), msg[n++] = (uint8_t)(tbs_len >> 16);
	msg[n++] = (uint8_t)(tbs_len >> 8), msg[n++] = (uint8_t)tbs_len;
	memcpy(msg + n, tbs, tbs_len), n += tbs_len;
	unsigned int ol = 0;
	HMAC(EVP_sha256(), key, INTENT_KEY_LEN, msg, n, out, &ol);
}

static void reference_mac(const uint8_t *key, const char *serial, const char *issuer, const uint8_t *tbs,
			  size_t tbs_len, uint8_t out[32])
{
	reference_mac_in("hsmca-intent-v1", key, serial, issuer, tbs, tbs_len, out);
}

static void test_mac(void)
{
	uint8_t key[INTENT_KEY_LEN], key2[INTENT_KEY_LEN], tbs[300], a[32], b[32], r[32];
	char why[128];
	for (int i = 0; i < INTENT_KEY_LEN; i++)
		key[i] = (uint8_t)(0x40 + i), key2[i] = key[i];
	key2[7] ^= 1;
	for (size_t i = 0; i < sizeof tbs; i++)
		tbs[i] = (uint8_t)(i * 7);
	CHECK(intent_mac(key, "0a1b2c", "int", tbs, sizeof tbs, a) == 0);
	reference_mac(key, "0a1b2c", "int", tbs, sizeof tbs, r);
	CHECK(memcmp(a, r, 32) == 0);
	/* the serial is taken in lowercase: the database stores it so */
	CHECK(intent_mac(key, "0A1B2C", "int", tbs, sizeof tbs, b) == 0 && memcmp(a, b, 32) == 0);
	/* every input counts, and the lengths keep the fields apart */
	CHECK(intent_mac(key, "0a1b2d", "int", tbs, sizeof tbs, b) == 0 && memcmp(a, b, 32) != 0);
	CHECK(intent_mac(key, "0a1b2c", "inu", tbs, sizeof tbs, b) == 0 && memcmp(a, b, 32) != 0);
	CHECK(intent_mac(key, "0a1b2c", "int", tbs, sizeof tbs - 1, b) == 0 && memcmp(a, b, 32) != 0);
	CHECK(intent_mac(key2, "0a1b2c", "int", tbs, sizeof tbs, b) == 0 && memcmp(a, b, 32) != 0);
	CHECK(intent_mac(key, "0a1b2", "cint", tbs, sizeof tbs, b) == 0 && memcmp(a, b, 32) != 0);
	tbs[299] ^= 0x80;
	CHECK(intent_mac(key, "0a1b2c", "int", tbs, sizeof tbs, b) == 0 && memcmp(a, b, 32) != 0);
	tbs[299] ^= 0x80;

	/* intent_verify: the right MAC; a wrong one; none (only rows schema 013 found may have none) */
	CHECK(intent_verify(key, NULL, "0a1b2c", "int", tbs, sizeof tbs, a, false, why, sizeof why) == 0);
	CHECK(intent_verify(key, NULL, "0A1B2C", "int", tbs, sizeof tbs, a, true, why, sizeof why) == 0);
	CHECK(intent_verify(key2, NULL, "0a1b2c", "int", tbs, sizeof tbs, a, false, why, sizeof why) == HSMCA_ERR_AUTH &&
	      strstr(why, "does not match"));
	CHECK(intent_verify(key, NULL, "0a1b2c", "int", tbs, 299, a, true, why, sizeof why) == HSMCA_ERR_AUTH);
	CHECK(intent_verify(key, NULL, "0a1b2c", "int", tbs, sizeof tbs, NULL, false, why, sizeof why) == HSMCA_ERR_AUTH &&
	      strstr(why, "has no MAC"));
	CHECK(intent_verify(key, NULL, "0a1b2c", "int", tbs, sizeof tbs, NULL, true, why, sizeof why) == 0);
	/* a wiped key (all zero: app_wipe as the frontend stops, its threads still running) makes no MAC and
	 * judges no row: an error, not "does not match" (a live intent would have been stored with a MAC under
	 * it, and a recovery pass would have failed good rows as forged) */
	uint8_t wiped[INTENT_KEY_LEN] = { 0 };
	CHECK(intent_mac(wiped, "0a1b2c", "int", tbs, sizeof tbs, b) == HSMCA_ERR_CRYPTO);
	CHECK(intent_verify(wiped, NULL, "0a1b2c", "int", tbs, sizeof tbs, a, false, why, sizeof why) == HSMCA_ERR_CRYPTO);
	CHECK(intent_release_mac(wiped, "0a1b2c", b) == HSMCA_ERR_CRYPTO);
	/* a second accepted key (a rotation): a MAC under either verifies; under neither does not */
	CHECK(intent_verify(key2, key, "0a1b2c", "int", tbs, sizeof tbs, a, false, why, sizeof why) == 0);
	CHECK(intent_verify(key, key2, "0a1b2c", "int", tbs, sizeof tbs, a, false, why, sizeof why) == 0);
	uint8_t key3[INTENT_KEY_LEN];
	memcpy(key3, key2, sizeof key3);
	key3[0] ^= 1;
	CHECK(intent_verify(key2, key3, "0a1b2c", "int", tbs, sizeof tbs, a, false, why, sizeof why) == HSMCA_ERR_AUTH);
	/* an intent stored held: the held domain's MAC, never the other's */
	uint8_t h[32];
	CHECK(intent_mac_held(key, "0a1b2c", "int", tbs, sizeof tbs, h) == 0);
	reference_mac_in("hsmca-intent-held-v1", key, "0a1b2c", "int", tbs, sizeof tbs, r);
	CHECK(memcmp(h, r, 32) == 0 && memcmp(h, a, 32) != 0);
	CHECK(intent_verify(key, NULL, "0a1b2c", "int", tbs, sizeof tbs, h, false, why, sizeof why) == HSMCA_ERR_AUTH);
	CHECK(intent_verify_held(key, NULL, "0a1b2c", "int", tbs, sizeof tbs, h, why, sizeof why) == 0);
	CHECK(intent_verify_held(key2, key, "0a1b2c", "int", tbs, sizeof tbs, h, why, sizeof why) == 0);
	CHECK(intent_verify_held(key, NULL, "0a1b2c", "int", tbs, sizeof tbs, a, why, sizeof why) == HSMCA_ERR_AUTH);
	CHECK(intent_verify_held(key, NULL, "0a1b2c", "int", tbs, sizeof tbs, NULL, why, sizeof why) == HSMCA_ERR_AUTH);
	/* a serial longer than any the database holds is refused, not cut */
	char longserial[80];
	memset(longserial, 'a', sizeof longserial - 1);
	longserial[sizeof longserial - 1] = 0;
	CHECK(intent_mac(key, longserial, "int", tbs, sizeof tbs, b) == HSMCA_ERR_LIMIT);
}

/* the release MAC (schema 014): HMAC-SHA-256(key, "hsmca-release-v1" 0 || u16 serial), laid out by hand */
static void test_release(void)
{
	uint8_t key[INTENT_KEY_LEN], key2[INTENT_KEY_LEN], msg[64], a[32], b[32], r[32], tbs[4] = { 1, 2, 3, 4 };
	unsigned int ol = 0;
	char why[160];
	for (int i = 0; i < INTENT_KEY_LEN; i++)
		key[i] = (uint8_t)(0x20 + i), key2[i] = key[i];
	key2[31] ^= 4;
	memcpy(msg, "hsmca-release-v1", 17); /* with its NUL */
	msg[17] = 0, msg[18] = 6;
	memcpy(msg + 19, "0a1b2c", 6);
	HMAC(EVP_sha256(), key, INTENT_KEY_LEN, msg, 25, r, &ol);
	CHECK(intent_release_mac(key, "0A1B2C", a) == 0 && memcmp(a, r, 32) == 0);
	/* another serial, another key; and never an intent's MAC (another domain), even over the same bytes */
	CHECK(intent_release_mac(key, "0a1b2d", b) == 0 && memcmp(a, b, 32) != 0);
	CHECK(intent_release_mac(key2, "0a1b2c", b) == 0 && memcmp(a, b, 32) != 0);
	CHECK(intent_mac(key, "0a1b2c", "", tbs, 0, b) == 0 && memcmp(a, b, 32) != 0);

	/* an ungated or legacy row needs none; a gated one needs this one, under the key or the accepted one */
	CHECK(intent_release_verify(key, NULL, "0a1b2c", INTENT_UNGATED, NULL, why, sizeof why) == 0);
	CHECK(intent_release_verify(key, NULL, "0a1b2c", INTENT_GATE_LEGACY, NULL, why, sizeof why) == 0);
	CHECK(intent_release_verify(key, NULL, "0a1b2c", INTENT_GATED, a, why, sizeof why) == 0);
	CHECK(intent_release_verify(key2, key, "0a1b2c", INTENT_GATED, a, why, sizeof why) == 0);
	CHECK(intent_release_verify(key, NULL, "0a1b2c", INTENT_GATED, NULL, why, sizeof why) == HSMCA_ERR_AUTH &&
	      strncmp(why, "release-mac: ", 13) == 0 && strstr(why, "has no MAC"));
	CHECK(intent_release_verify(key2, NULL, "0a1b2c", INTENT_GATED, a, why, sizeof why) == HSMCA_ERR_AUTH &&
	      strstr(why, "does not match"));
	CHECK(intent_release_verify(key, NULL, "0a1b2d", INTENT_GATED, a, why, sizeof why) == HSMCA_ERR_AUTH);
	/* an intent's MAC is not a release MAC */
	CHECK(intent_mac(key, "0a1b2c", "int", tbs, sizeof tbs, b) == 0);
	CHECK(intent_release_verify(key, NULL, "0a1b2c", INTENT_GATED, b, why, sizeof why) == HSMCA_ERR_AUTH);
}

int main(void)
{
	test_parse();
	test_mac();
	test_release();
	return check_done("unit_intent");
}
