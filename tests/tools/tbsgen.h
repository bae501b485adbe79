/* Test-side builders of to-be-signed structures, with one deliberate defect per signer rule ("break"
 * names), used by the integration tests and the benchmark. */
#ifndef HSMCA_TBSGEN_H
#define HSMCA_TBSGEN_H

#include <openssl/x509.h>

#include "der.h"

/* Leaf TBSCertificate for pub under issuer (issuer's key type picks the algorithm). brk: NULL or a
 * rule name (see tbsgen.c). */
int tbsgen_leaf(X509 *issuer, EVP_PKEY *pub, const char *brk, struct dbuf *out);
/* The leaf's CRL distribution point and OCSP responder (NULL: http://crl.example/int.crl and
 * http://ocsp.example/ocsp), for a signer key that pins its own (crl_url, ocsp_url). */
extern const char *tbsgen_crl_url, *tbsgen_ocsp_url;
/* TBSCertList of issuer with one revoked serial. */
int tbsgen_crl(X509 *issuer, const char *brk, struct dbuf *out);
/* OCSP ResponseData by responder (byName) saying "good" for cert issued by issuer. */
int tbsgen_ocsp(X509 *responder, X509 *issuer, X509 *cert, const char *brk, struct dbuf *out);
/* OCSPResponse (successful, basic) around a BasicOCSPResponse. */
void tbsgen_ocsp_wrap(const uint8_t *basic, size_t len, struct dbuf *out);

#endif
