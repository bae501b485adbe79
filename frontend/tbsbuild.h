/* The leaf TBSCertificate as DER (frontend/tbsbuild.c; issue_build_tbs in issue.h adds the serial, the
 * validity window and the signer's lint). */
#ifndef HSMCA_TBSBUILD_H
#define HSMCA_TBSBUILD_H

#include <time.h>

#include "csr.h"
#include "der.h"
#include "policy.h"
#include "profile.h"

#define TBSBUILD_SERIAL_RANDOM 16 /* random bytes in a serial: 128 bits */
#define TBSBUILD_SERIAL_LEN 17    /* its INTEGER contents: 0x01 || the random bytes */

/* Appends the TBS for csr (its SPKI bytes and SANs) under profile p and issuer iss to out. The subject is
 * CN=<the first SAN of 1..64 characters>; if no SAN is that short, a leaf's subject is empty and subjectAltName
 * critical (RFC 5280 4.2.1.6), and under a CA profile the request is refused ("subject:"; a CA's subject is
 * never empty, 4.1.2.6); a request whose subject would be the issuer's name (policy_dn_equal) is refused too
 * ("subject:"): the certificate would be self-issued, exempt in path validation from the issuer's name
 * constraints and path length (RFC 5280 6.1). serial: TBSBUILD_SERIAL_RANDOM random bytes, written as 0x01 || serial
 * (positive, minimally encoded, TBSBUILD_SERIAL_LEN octets, every random bit kept). keyUsage: the profile's
 * usages the key's type permits (policy_ku_forbidden). Refusals, with "rule: detail" in why (TBS_WHY_MAX; may
 * be NULL): HSMCA_ERR_POLICY for a request the certificate cannot carry ("subject:" see above; "san:" no SAN, a SAN with a comma or
 * not an address; "eku:" an unknown EKU name; "key-usage:" none of the profile's usages permitted for the
 * key), HSMCA_ERR_PARSE for a malformed SPKI ("key:") or a time that cannot be written ("time:");
 * HSMCA_ERR_NOMEM. */
int tbsbuild_leaf(const struct profile *p, const struct policy_issuer *iss, const struct csr *csr,
		  const uint8_t serial[TBSBUILD_SERIAL_RANDOM], time_t not_before, time_t not_after,
		  struct dbuf *out, char *why) HSMCA_WUR;

/* The subject's CN tbsbuild_leaf writes: the first SAN of 1..64 characters (ub-common-name), or NULL (an
 * empty subject) if none is that short or csr->no_cn is set. Borrowed from csr. */
const char *tbsbuild_cn(const struct csr *csr);

/* A signed certificate's DER as PEM text ("-----BEGIN CERTIFICATE-----", 64-column base64, END line, each
 * line ending in LF), or NULL if der is not shaped like a Certificate (SEQUENCE { SEQUENCE, SEQUENCE,
 * BIT STRING }, nothing after it) or memory ran out. Caller frees. */
char *tbsbuild_pem_cert(const uint8_t *der, size_t len);

#endif
