/* Audit checkpoints' digest and signature check (schema/007_audit_checkpoints.sql), OpenSSL only: used by
 * the checkpoint thread (a fresh signature is checked before it is stored) and by audit-verify. */
#ifndef HSMCA_CHECKPOINT_SIG_H
#define HSMCA_CHECKPOINT_SIG_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "frame.h"

#define CHECKPOINT_HASH_LEN 32 /* an audit row_hash (SHA-256) */
_Static_assert(CHECKPOINT_HASH_LEN == FRAME_CHECKPOINT_LEN, "the digest is what SIGN_CHECKPOINT takes");

/* SHA-256("hsmca-audit-head-v1\n" <audit_id decimal> "\n" <head in 64 lowercase hex> "\n") into out. */
int checkpoint_digest(int64_t audit_id, const uint8_t head[CHECKPOINT_HASH_LEN],
		      uint8_t out[CHECKPOINT_HASH_LEN]) HSMCA_WUR;
/* 0 if sig is the signer's SIGN_CHECKPOINT signature of digest under key (EC P-256: ECDSA SHA-256, P-384:
 * SHA-384; RSA: PKCS#1 v1.5 SHA-256); HSMCA_ERR_AUTH if not; HSMCA_ERR_CRYPTO if OpenSSL failed. key is
 * borrowed. */
int checkpoint_verify(EVP_PKEY *key, const uint8_t digest[CHECKPOINT_HASH_LEN], const uint8_t *sig,
		      size_t sig_len) HSMCA_WUR;

#endif
