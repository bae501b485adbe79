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
#define CERTBUILD_SERIAL_MAX 20       /* octets (RFC 5280 4.1.2.2) */
#define CERTBUILD_SERIAL_RANDOM_MIN 8 /* random bytes: at least 64 bits */
#define CERTBUILD_SERIAL_LEAD 0x01    /* the first octet: positive, and the random bytes all kept */
/* Serial 0x01 || rnd[0..len): len + 1 octets (len 8..19), positive and minimally encoded, all 8*len bits of
 * rnd kept (16 random bytes: 17 octets, 128 random bits). NULL for another len. */
ASN1_INTEGER *certbuild_serial(const uint8_t *rnd, size_t len);

/* Adds one extension from OpenSSL's config syntax (e.g. NID_key_usage, "critical,digitalSignature"),
 * with issuer as the AKI source (x itself for a self-signed certificate). */
int certbuild_add_ext(X509 *x, X509 *issuer, int nid, const char *value) HSMCA_WUR;

#endif
