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

/* Appends the TBS for csr (its SPKI bytes and SANs; the subject is CN=<first SAN>) under profile p and
 * issuer iss to out. serial: TBSBUILD_SERIAL_RANDOM random bytes, written as 0x01 || serial (positive,
 * minimally encoded, TBSBUILD_SERIAL_LEN octets, every random bit kept). keyUsage: the profile's
 * usages the key's type permits (policy_ku_forbidden). HSMCA_ERR_POLICY for a request the certificate cannot
 * carry (no SAN, CN over 64 characters, a SAN with a comma, an unknown EKU name, none of the profile's key
 * usages permitted for the key), HSMCA_ERR_NOMEM. */
int tbsbuild_leaf(const struct profile *p, const struct policy_issuer *iss, const struct csr *csr,
		  const uint8_t serial[TBSBUILD_SERIAL_RANDOM], time_t not_before, time_t not_after,
		  struct dbuf *out) HSMCA_WUR;

/* A signed certificate's DER as PEM text ("-----BEGIN CERTIFICATE-----", 64-column base64, END line, each
 * line ending in LF), or NULL if der is not shaped like a Certificate (SEQUENCE { SEQUENCE, SEQUENCE,
 * BIT STRING }, nothing after it) or memory ran out. Caller frees. */
char *tbsbuild_pem_cert(const uint8_t *der, size_t len);

#endif
