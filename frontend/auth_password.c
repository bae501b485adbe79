/* Passwords: scrypt hashes in their text form (made, verified, and the dummy an unknown user is verified
 * against), and the strict base64 that they and HTTP Basic credentials are read with (auth_basic_split). */
#include "auth_priv.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "b64.h"

#define AUTH_LOGN 14
#define AUTH_R 8
#define AUTH_P 1
#define AUTH_SALT 16
#define AUTH_KEY 32
#define AUTH_MAXMEM (64u * 1024u * 1024u)

static int b64_encode(const uint8_t *in, size_t len, char *out, size_t out_len)
{
	if (out_len < 4 * ((len + 2) / 3) + 1)
		return HSMCA_ERR_LIMIT;
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return 0;
}

/* Strict base64 decode (b64_canonical: the standard alphabet, no whitespace, padding at the end only). */
static int b64_decode(const char *in, size_t len, uint8_t *out, size_t out_max, size_t *out_len)
{
	uint8_t tmp[1024];
	if (len / 4 * 3 > sizeof(tmp) || !b64_canonical(in, len))
		return HSMCA_ERR_PARSE;
	int n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
	if (n < 0)
		return HSMCA_ERR_PARSE;
	size_t pad = (in[len - 1] == '=') + (in[len - 2] == '=');
	size_t real = (size_t)n - pad;
	if (real > out_max) {
		OPENSSL_cleanse(tmp, sizeof(tmp));
		return HSMCA_ERR_LIMIT;
	}
	memcpy(out, tmp, real);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	*out_len = real;
	return 0;
}

static int auth_scrypt(const char *pw, size_t len, const uint8_t *salt, unsigned logn, unsigned r, unsigned p,
		       uint8_t key[AUTH_KEY])
{
	return EVP_PBE_scrypt(pw, len, salt, AUTH_SALT, (uint64_t)1 << logn, r, p, AUTH_MAXMEM, key, AUTH_KEY) == 1
		       ? 0
		       : HSMCA_ERR_CRYPTO;
}

int auth_hash_password(const char *password, size_t len, char *out)
{
	uint8_t salt[AUTH_SALT], key[AUTH_KEY];
	char s64[64], k64[64];
	int rc;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return HSMCA_ERR_CRYPTO;
	if ((rc = auth_scrypt(password, len, salt, AUTH_LOGN, AUTH_R, AUTH_P, key)))
		return rc;
	if (b64_encode(salt, sizeof(salt), s64, sizeof(s64)) || b64_encode(key, sizeof(key), k64, sizeof(k64)))
		return HSMCA_ERR_LIMIT;
	snprintf(out, DB_HASH_MAX, "scrypt$%u$%u$%u$%s$%s", AUTH_LOGN, AUTH_R, AUTH_P, s64, k64);
	OPENSSL_cleanse(key, sizeof(key));
	return 0;
}

bool auth_verify_password(const char *encoded, const char *password, size_t len)
{
	unsigned logn, r, p;
	char s64[64], k64[64];
	uint8_t salt[AUTH_SALT], want[AUTH_KEY], got[AUTH_KEY];
	size_t sl = 0, kl = 0;
	bool ok = false;
	char canon[DB_HASH_MAX];
	if (sscanf(encoded, "scrypt$%u$%u$%u$%63[^$]$%63s", &logn, &r, &p, s64, k64) != 5 || logn < 10 || logn > 20 ||
	    r != AUTH_R || p != AUTH_P)
		return false;
	/* exactly as auth_hash_password writes it: no sign, space or leading zero in a number (sscanf's %u takes
	 * them), nothing after the hash (%s stops at white space) */
	snprintf(canon, sizeof(canon), "scrypt$%u$%u$%u$%s$%s", logn, r, p, s64, k64);
	if (strcmp(canon, encoded) != 0)
		return false;
	if (b64_decode(s64, strlen(s64), salt, sizeof(salt), &sl) || sl != AUTH_SALT ||
	    b64_decode(k64, strlen(k64), want, sizeof(want), &kl) || kl != AUTH_KEY)
		return false;
	if (auth_scrypt(password, len, salt, logn, r, p, got) == 0)
		ok = CRYPTO_memcmp(got, want, AUTH_KEY) == 0;
	OPENSSL_cleanse(got, sizeof(got));
	return ok;
}

/* Verifying against this costs what a real check costs, so an unknown user is not faster to refuse: its
 * parameters are the ones new hashes get (a raised AUTH_LOGN raises both). */
#define AUTH_STR_(x) #x
#define AUTH_STR(x) AUTH_STR_(x)
const char auth_dummy[] = "scrypt$" AUTH_STR(AUTH_LOGN) "$" AUTH_STR(AUTH_R) "$" AUTH_STR(AUTH_P)
			  "$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/* The user and password of a Basic header's base64 into raw (the caller wipes it): 0, or -1 if malformed. */
int auth_basic_split(const char *b64, uint8_t raw[AUTH_RAW_MAX], const char **user, const char **pw, size_t *pw_len)
{
	size_t len = 0;
	if (b64_decode(b64, strlen(b64), raw, AUTH_RAW_MAX - 1, &len))
		return -1;
	uint8_t *colon = memchr(raw, ':', len);
	if (!colon || colon == raw || (size_t)(colon - raw) >= DB_NAME_MAX || memchr(raw, 0, len))
		return -1;
	*colon = 0;
	*user = (const char *)raw;
	*pw = (const char *)colon + 1;
	*pw_len = len - (size_t)(colon - raw) - 1;
	return 0;
}
