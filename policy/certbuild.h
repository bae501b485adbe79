/* Building to-be-signed DER with OpenSSL's X509 API and assembling signed structures from a TBS and an
 * HSM signature. Used by the ceremony, the signer (assembly) and the tests (and later the frontend). */
#ifndef HSMCA_CERTBUILD_H
#define HSMCA_CERTBUILD_H

#include <openssl/x509.h>

#include "der.h"
#include "err.h"
#include "span.h"

/* Sets x's inner (TBS) signature algorithm to sigalg (AlgorithmIdentifier DER) and appends the DER
 * TBSCertificate to out. The outer algorithm is written by certbuild_assemble. */
int certbuild_tbs(X509 *x, struct span sigalg, struct dbuf *out) HSMCA_WUR;
/* Appends SEQUENCE { tbs, sigalg, BIT STRING sig } (a Certificate, CertificateList, or, with extra_certs
 * (whole DER Certificates, may be NULL/0), a BasicOCSPResponse with [0] certs). */
void certbuild_assemble(struct dbuf *out, struct span tbs, struct span sigalg, const uint8_t *sig, size_t sig_len,
			const struct span *extra_certs, size_t n_extra);
/* Random positive serial of `len` bytes (<= 20) from rnd, top bit cleared, top byte non-zero. */
ASN1_INTEGER *certbuild_serial(const uint8_t *rnd, size_t len);

/* Reads the first PEM certificate of path; NULL if unreadable. Caller frees. */
X509 *certbuild_read_pem(const char *path);
/* Adds one extension from OpenSSL's config syntax (e.g. NID_key_usage, "critical,digitalSignature"),
 * with issuer as the AKI source (x itself for a self-signed certificate). */
int certbuild_add_ext(X509 *x, X509 *issuer, int nid, const char *value) HSMCA_WUR;

#endif
