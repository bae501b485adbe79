/* PKCS#10 certificate requests from clients: PEM or DER, parsed strictly (the DER must re-encode to the
 * same bytes: no BER, no trailing data), the self-signature verified, and the parts policy needs
 * extracted. */
#ifndef HSMCA_CSR_H
#define HSMCA_CSR_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define CSR_MAX_INPUT (64u * 1024u)
#define CSR_MAX_SANS 100
#define CSR_SAN_MAX 256
#define CSR_ERR_MAX 160
#define CSR_SPKI_MAX 1024 /* an RSA-4096 SubjectPublicKeyInfo is about 550 bytes */

enum csr_san_type { CSR_SAN_DNS = 1, CSR_SAN_IP, CSR_SAN_EMAIL, CSR_SAN_URI };

struct csr_san {
	enum csr_san_type type;
	char value[CSR_SAN_MAX]; /* DNS/email/URI as text; IP as text (v4 dotted, v6 RFC 5952) */
};

struct csr {
	X509_REQ *req;      /* owned; NULL when the request took the fast path (csr_fast.c) */
	EVP_PKEY *pubkey;   /* borrowed from req, or own_key */
	EVP_PKEY *own_key;  /* owned (the fast path's key), or NULL */
	uint8_t spki[CSR_SPKI_MAX]; /* the request's SubjectPublicKeyInfo DER, as received (it is DER) */
	size_t spki_len;
	size_t n_sans;
	struct csr_san sans[CSR_MAX_SANS];
	/* set by issue_check, false from csr_parse: the certificate gets an empty subject, not CN=<first SAN>,
	 * because its issuer's name constraints would refuse that CN (issuerfit.h) */
	bool no_cn;
};

/* Parses a PEM ("-----BEGIN CERTIFICATE REQUEST-----", one block, nothing but whitespace after it; before it
 * whitespace and lines of explanatory text as `openssl req -text` writes, none holding "-----") or
 * DER request, or the DER as bare base64 text (standard alphabet padded, or base64url unpadded as in ACME;
 * canonical, no whitespace), verifies its signature, extracts SANs from the extensionRequest attribute. On failure
 * err says why (CSR_ERR_MAX): HSMCA_ERR_PARSE (malformed/trailing bytes), HSMCA_ERR_AUTH (bad
 * signature), HSMCA_ERR_LIMIT (the request over CSR_MAX_INPUT bytes), HSMCA_ERR_POLICY (a key type or size,
 * SAN type, SAN count or length this appliance does not accept), HSMCA_ERR_NOMEM. out must be freed with
 * csr_free. */
int csr_parse(const unsigned char *in, size_t len, struct csr *out, char *err) HSMCA_WUR;
void csr_free(struct csr *c);

/* Whether the request's key makes its signature cheap to check (~0.1 ms or less): EC, or RSA of at most
 * CSR_CHEAP_RSA_BITS with the exponent 65537. Only the key is looked at (PEM or base64 decoded, the DER walked
 * to the SubjectPublicKeyInfo): false for anything else, malformed input included, which csr_parse then
 * judges off the event loop. RSA-4096 with a 256-bit exponent takes ~1 ms to verify. */
#define CSR_CHEAP_RSA_BITS 3072
bool csr_cheap_key(const unsigned char *in, size_t len);

/* The HTTP answer to csr_parse's error rc: 403 "policy" for a refused key or names, 400 "csr-signature" for
 * a bad self-signature, 413 "too-large", 503 "unavailable" for memory, otherwise 400 "bad-csr". *code is a
 * static string. */
int csr_refusal(int rc, const char **code);

#endif
