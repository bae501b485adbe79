/* Audit checkpoints' digest and signature check (frontend/checkpoint_sig.c): the digest is the formula of
 * schema/007_audit_checkpoints.sql, and a signature made as the signer makes it (hsm/p11_key.c: P-256 and RSA
 * with SHA-256, P-384 with SHA-384, over the domain, a NUL and the digest) verifies under P-256, P-384 and
 * RSA keys; another digest, another key, a changed byte, the wrong hash or no domain do not. */
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "checkpoint_sig.h"

static EVP_PKEY *key_new(const char *alg, const char *curve, unsigned bits)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	EVP_PKEY *k = NULL;

	if (c && EVP_PKEY_keygen_init(c) == 1 &&
	    (curve ? EVP_PKEY_CTX_set_group_name(c, curve) == 1 : EVP_PKEY_CTX_set_rsa_keygen_bits(c, (int)bits) == 1))
		EVP_PKEY_keygen(c, &k);
	EVP_PKEY_CTX_free(c);
	return k;
}

/* Signs domain-with-NUL || digest (domain NULL: the digest alone) with md; the signature into sig. */
static size_t sign_as_signer(EVP_PKEY *k, const EVP_MD *md, const char *domain, const uint8_t *digest,
			     uint8_t *sig, size_t cap)
{
	uint8_t msg[64 + CHECKPOINT_HASH_LEN];
	size_t n = 0, len = cap;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (domain) {
		memcpy(msg, domain, strlen(domain) + 1);
		n = strlen(domain) + 1;
	}
	memcpy(msg + n, digest, CHECKPOINT_HASH_LEN);
	n += CHECKPOINT_HASH_LEN;
	if (!c || EVP_DigestSignInit(c, NULL, md, NULL, k) != 1 || EVP_DigestSign(c, sig, &len, msg, n) != 1)
		len = 0;
	EVP_MD_CTX_free(c);
	return len;
}

static void test_digest(void)
{
	uint8_t head[CHECKPOINT_HASH_LEN], d[CHECKPOINT_HASH_LEN], want[CHECKPOINT_HASH_LEN], d2[CHECKPOINT_HASH_LEN];
	char text[256] = "hsmca-audit-head-v1\n1234567\n";
	unsigned int len = 0;

	for (int i = 0; i < CHECKPOINT_HASH_LEN; i++)
		head[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < CHECKPOINT_HASH_LEN; i++)
		sprintf(text + strlen(text), "%02x", head[i]);
	strcat(text, "\n");
	CHECK(EVP_Digest(text, strlen(text), want, &len, EVP_sha256(), NULL) == 1);
	CHECK(checkpoint_digest(1234567, head, d) == 0);
	CHECK(memcmp(d, want, sizeof d) == 0);
	CHECK(checkpoint_digest(1234568, head, d2) == 0);
	CHECK(memcmp(d, d2, sizeof d) != 0);
	CHECK(checkpoint_digest(INT64_MAX, head, d2) == 0);
}

static void test_key(const char *name, EVP_PKEY *k, EVP_PKEY *other, const EVP_MD *md, const EVP_MD *wrong_md)
{
	uint8_t head[CHECKPOINT_HASH_LEN] = {1, 2, 3}, d[CHECKPOINT_HASH_LEN], d2[CHECKPOINT_HASH_LEN], sig[1024];
	size_t n;

	CHECKF(k && other, "%s: keys", name);
	if (!k || !other)
		return;
	CHECK(checkpoint_digest(42, head, d) == 0 && checkpoint_digest(43, head, d2) == 0);
	n = sign_as_signer(k, md, FRAME_CHECKPOINT_DOMAIN, d, sig, sizeof sig);
	CHECKF(n > 0, "%s: sign", name);
	CHECKF(checkpoint_verify(k, d, sig, n) == 0, "%s: the signer's signature", name);
	CHECKF(checkpoint_verify(k, d2, sig, n) == HSMCA_ERR_AUTH, "%s: another row", name);
	CHECKF(checkpoint_verify(other, d, sig, n) == HSMCA_ERR_AUTH, "%s: another key", name);
	sig[n / 2] ^= 0x01;
	CHECKF(checkpoint_verify(k, d, sig, n) == HSMCA_ERR_AUTH, "%s: a changed byte", name);
	CHECKF(checkpoint_verify(k, d, sig, 0) == HSMCA_ERR_AUTH, "%s: empty", name);
	n = sign_as_signer(k, wrong_md, FRAME_CHECKPOINT_DOMAIN, d, sig, sizeof sig);
	CHECKF(n > 0 && checkpoint_verify(k, d, sig, n) == HSMCA_ERR_AUTH, "%s: another hash", name);
	n = sign_as_signer(k, md, NULL, d, sig, sizeof sig);
	CHECKF(n > 0 && checkpoint_verify(k, d, sig, n) == HSMCA_ERR_AUTH, "%s: without the domain", name);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

int main(void)
{
	test_digest();
	test_key("P-256", key_new("EC", "P-256", 0), key_new("EC", "P-256", 0), EVP_sha256(), EVP_sha384());
	test_key("P-384", key_new("EC", "P-384", 0), key_new("EC", "P-384", 0), EVP_sha384(), EVP_sha256());
	test_key("RSA", key_new("RSA", NULL, 2048), key_new("RSA", NULL, 2048), EVP_sha256(), EVP_sha384());
	return check_done("unit_checkpoint");
}
