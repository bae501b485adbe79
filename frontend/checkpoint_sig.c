#include "checkpoint_sig.h"

#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>

#include "span.h"

#define CHECKPOINT_HEAD_TAG "hsmca-audit-head-v1\n"

int checkpoint_digest(int64_t audit_id, const uint8_t head[CHECKPOINT_HASH_LEN], uint8_t out[CHECKPOINT_HASH_LEN])
{
	char text[sizeof(CHECKPOINT_HEAD_TAG) + 24 + 2 * CHECKPOINT_HASH_LEN + 2];
	int n = snprintf(text, sizeof text, CHECKPOINT_HEAD_TAG "%" PRId64 "\n", audit_id);
	unsigned int len = 0;

	if (n < 0 || (size_t)n + 2 * CHECKPOINT_HASH_LEN + 2 > sizeof text)
		return HSMCA_ERR_LIMIT;
	span_hex(head, CHECKPOINT_HASH_LEN, text + n);
	n += 2 * CHECKPOINT_HASH_LEN;
	text[n++] = '\n';
	if (!EVP_Digest(text, (size_t)n, out, &len, EVP_sha256(), NULL) || len != CHECKPOINT_HASH_LEN)
		return HSMCA_ERR_CRYPTO;
	return 0;
}

/* The signer hashes P-384 messages with SHA-384 and everything else with SHA-256 (hsm/p11_key.c). */
static const EVP_MD *checkpoint_md(EVP_PKEY *key)
{
	char group[32] = "";
	size_t len = 0;

	if (EVP_PKEY_is_a(key, "EC") &&
	    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) &&
	    (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0))
		return EVP_sha384();
	return EVP_sha256();
}

int checkpoint_verify(EVP_PKEY *key, const uint8_t digest[CHECKPOINT_HASH_LEN], const uint8_t *sig, size_t sig_len)
{
	uint8_t msg[sizeof(FRAME_CHECKPOINT_DOMAIN) + CHECKPOINT_HASH_LEN];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int rc = HSMCA_ERR_CRYPTO;

	memcpy(msg, FRAME_CHECKPOINT_DOMAIN, sizeof(FRAME_CHECKPOINT_DOMAIN)); /* with its NUL: the separator */
	memcpy(msg + sizeof(FRAME_CHECKPOINT_DOMAIN), digest, CHECKPOINT_HASH_LEN);
	if (md == NULL || EVP_DigestVerifyInit(md, NULL, checkpoint_md(key), NULL, key) != 1)
		goto out;
	rc = EVP_DigestVerify(md, sig, sig_len, msg, sizeof msg) == 1 ? 0 : HSMCA_ERR_AUTH;
out:
	EVP_MD_CTX_free(md);
	ERR_clear_error(); /* a refused signature leaves nothing in the thread's error queue */
	return rc;
}
