/* CFSSL-compatible endpoints (wire-compatible with `cfssl sign|info` using a remote and an auth key):
 * /api/v1/cfssl/authsign (HMAC-SHA-256 over the raw request bytes with the profile's key, constant-time,
 * timestamp window and replay cache), /api/v1/cfssl/sign (refused: unauthenticated signing is not offered),
 * /api/v1/cfssl/info. */
#ifndef HSMCA_CFSSL_H
#define HSMCA_CFSSL_H

#include "pool.h"

#define CFSSL_WINDOW 300        /* seconds a timestamp may differ from ours */
#define CFSSL_REQUEST_MAX (96u * 1024u)

void cfssl_authsign(struct worker *w, struct job *j);
void cfssl_sign_unauthenticated(struct worker *w, struct job *j);
void cfssl_info(struct worker *w, struct job *j);

#endif
