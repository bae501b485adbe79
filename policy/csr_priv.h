/* What csr.c (the parser, PEM, the full OpenSSL path, extensions and SANs) and csr_fast.c (the common
 * requests without OpenSSL's key decoders) share. Not for other modules. */
#ifndef HSMCA_CSR_PRIV_H
#define HSMCA_CSR_PRIV_H

#include <openssl/x509.h>
#include <stdbool.h>

#include "csr.h"
#include "policy.h"
#include "span.h"

#define CSR_DER_DEPTH_MAX 32 /* nesting of constructed elements; a request needs about 10 */
#define CSR_RSA_BITS_MIN 2048
#define CSR_RSA_BITS_MAX 4096
#define CSR_RSA_E_BITS_MAX POLICY_RSA_E_BITS_MAX /* public exponent below 2^31 (policy.h) */

/* Writes the reason into err (CSR_ERR_MAX; err may be NULL) and returns rc. */
__attribute__((format(printf, 3, 4))) int csr_fail(char *err, int rc, const char *fmt, ...);
/* Every TLV header in `in` DER, no constructed universal strings, BOOLEAN 00/FF, nesting bounded. */
bool csr_der_walk(struct span in, unsigned depth);
/* True if v (an `it`) encodes to exactly want. */
bool csr_same_der(const void *v, const ASN1_ITEM *it, const unsigned char *want, size_t want_len);
/* True if the name re-encodes, entry by entry, to the bytes it was decoded from. */
bool csr_name_is_der(const X509_NAME *name);
/* The extensionRequest in attrs (at most one, one value, DER) and its SANs into out->sans. */
int csr_sans_get(const STACK_OF(X509_ATTRIBUTE) *attrs, struct csr *out, char *err);
#define CSR_EC_UNCOMPRESSED 0x04 /* SEC 1 2.3.3: the first octet of an uncompressed point */
/* An EC key in the request (DER) must have namedCurve parameters and an uncompressed point (POLICY if not). */
int csr_spki_form(const unsigned char *der, size_t len, char *err);
/* The request's SubjectPublicKeyInfo bytes into out->spki (after csr_spki_form). */
int csr_spki_copy(const unsigned char *der, size_t len, struct csr *out, char *err);

/* The fast path for a DER request (csr_fast.c): an EC P-256/P-384 key with ECDSA over SHA-256/384, or an
 * RSA 2048..4096 key with PKCS#1 v1.5 over SHA-256/384/512, decoded without OpenSSL's provider decoders (about
 * a third of the frontend's CPU per certificate) and verified with the key directly. Returns 0 with out
 * filled exactly as the full path fills it, or nonzero for anything else, valid or not: the caller then
 * runs the full path, which gives the precise error. It accepts only what the full path accepts
 * (tests/unit/test_csr.c and fuzz_csr compare the two on every input). */
int csr_fast_parse(const unsigned char *der, size_t len, struct csr *out);
/* The full path alone (tests): as csr_parse, never the fast path. */
int csr_parse_full(const unsigned char *in, size_t len, struct csr *out, char *err);

#endif
