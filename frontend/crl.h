/* CRLs (JOB_CRL): GET /crl/{name}.crl answers the DER CRL (RFC 5280, v2, full) of the issuer whose
 * certificates name that URL: the profiles' crl_url whose path is /crl/{name}.crl gives the issuer key label.
 * Built from the revocations table (every revocation of the issuer, in revocation order, each with its
 * reasonCode but unspecified's), with authorityKeyIdentifier and a cRLNumber from schema 029's sequence,
 * thisUpdate now and nextUpdate CRL_VALIDITY_SECONDS later, signed by the issuer's key through the signer
 * (FRAME_SIGN_CRL: its own CRL rules check it again). One CRL per issuer is kept in memory and answered again
 * while the issuer's revocations are what they were and it is younger than CRL_REFRESH_SECONDS; when the
 * signer cannot sign a new one, or another worker is signing it, the kept one is answered while its nextUpdate
 * is ahead (else 503). Public: no credentials.
 *
 * crl_parse_path is pure and bounded (libFuzzer target tests/fuzz/fuzz_revoke.c, with the revocation's). */
#ifndef HSMCA_CRL_H
#define HSMCA_CRL_H

#include <stdint.h>
#include <time.h>

#include "der.h"
#include "err.h"
#include "policy.h"

#define CRL_VALIDITY_SECONDS (24 * 3600) /* nextUpdate - thisUpdate: within any signer's max_crl_days (>= 1) */
#define CRL_REFRESH_SECONDS 3600         /* a kept CRL is built again after this, revocations or not */
#define CRL_NAME_MAX 64
#define CRL_WHY_MAX 160

/* "/crl/{name}.crl" (a query ignored), name 1..CRL_NAME_MAX-1 bytes of [A-Za-z0-9._-] not starting with '.':
 * 0 with name out; HSMCA_ERR_NOTFOUND with why for anything else. */
int crl_parse_path(const char *uri, char *name, char *why) HSMCA_WUR;

/* One revokedCertificates entry appended to entries: serial (1..40 hex digits), revoked_at (Unix seconds) and
 * reason's reasonCode (an RFC 5280 name; none for "unspecified"). HSMCA_ERR_PARSE for a serial or reason that
 * is not one. */
int crl_entry_add(struct dbuf *entries, const char *serial_hex, const char *reason, int64_t revoked_at) HSMCA_WUR;
/* The TBSCertList for iss (its name, key identifier and signature algorithm) with the entries crl_entry_add
 * wrote (none: no revokedCertificates), into out. */
void crl_tbs(const struct policy_issuer *iss, time_t this_update, time_t next_update, int64_t number,
	     const struct dbuf *entries, struct dbuf *out);

struct worker;
struct job;
/* The JOB_CRL handler (worker thread). */
void crl_request(struct worker *w, struct job *j);

#endif
