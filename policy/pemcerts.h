/* pemcerts: the certificates of a PEM file (a chain, a bundle of former issuers, an issuer's or a key's
 * certificate), read bounded and strictly: every PEM block must be a CERTIFICATE without headers holding exactly
 * one DER certificate and nothing after it. Text outside the blocks (the explanatory text `openssl x509 -text`
 * writes, RFC 7468 section 5.2) is not looked at. The files are the operator's (config), read once at start. */
#ifndef HSMCA_PEMCERTS_H
#define HSMCA_PEMCERTS_H

#include <stddef.h>
#include <openssl/x509.h>

#include "err.h"

/* Parses text[0..len): its 1..max certificates, in file order, into *out (a new stack the caller frees with
 * sk_X509_pop_free(.., X509_free)). what and path name the file in a refusal: HSMCA_ERR_CONFIG, with err
 * (CONF_ERR_MAX bytes) saying "WHAT PATH: ..." (which block, and why), *out NULL; HSMCA_ERR_NOMEM. A NUL byte
 * anywhere is refused. OpenSSL's error queue is left empty. */
int pemcerts_parse(const char *text, size_t len, const char *what, const char *path, size_t max,
		   STACK_OF(X509) **out, char *err) HSMCA_WUR;
/* Reads path (at most CONF_FILE_MAX bytes; more is HSMCA_ERR_LIMIT) and parses it as pemcerts_parse. */
int pemcerts_load(const char *path, const char *what, size_t max, STACK_OF(X509) **out, char *err) HSMCA_WUR;
/* A file of exactly one certificate, into *out (owned by the caller). */
int pemcerts_load_one(const char *path, const char *what, X509 **out, char *err) HSMCA_WUR;

#endif
