/* Revocation (JOB_REVOKE): POST /api/v1/certificates/{serial}/revoke {"reason": an RFC 5280 name}. An
 * administrator, with a password or login certificate (an API key is a machine credential), revokes an issued
 * certificate: its status, its revocations row (schema 016 holds the two together) and the audit row
 * certificate.revoked (schema 023/028 ask it of the same transaction), with the caller's account locked and
 * checked again in that transaction. A revocation is final: certificateHold (which RFC 5280 lets a CA undo) and
 * removeFromCRL are not offered. Every refusal from the authentication on is audited (certificate.refused, its
 * object the request's path); a path that does not parse is answered before it.
 *
 * The parsers are pure and bounded (libFuzzer target tests/fuzz/fuzz_revoke.c). */
#ifndef HSMCA_REVOKE_H
#define HSMCA_REVOKE_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "err.h"

#define REVOKE_REASON_MAX 24 /* the longest name, "cessationOfOperation", and its NUL fit */
#define REVOKE_WHY_MAX 160

/* uri: the request URI (a query is ignored). 0 with serial (DB_SERIAL_HEX_MAX: 1..40 hex digits, lowercase) for
 * /api/v1/certificates/{serial}/revoke; HSMCA_ERR_STATE for /api/v1/certificates/{serial} (a GET's path: 405);
 * HSMCA_ERR_NOTFOUND for any other path (404); HSMCA_ERR_PARSE for a serial that is not 1..40 hex digits (400).
 * why (REVOKE_WHY_MAX) says which. */
int revoke_parse_path(const char *uri, char *serial, char *why) HSMCA_WUR;
/* body: exactly {"reason": name}, name one of unspecified, keyCompromise, cACompromise, affiliationChanged,
 * superseded, cessationOfOperation, privilegeWithdrawn, aACompromise; reason out (REVOKE_REASON_MAX). Else
 * HSMCA_ERR_PARSE with why (REVOKE_WHY_MAX). */
int revoke_parse_body(const uint8_t *body, size_t len, char *reason, char *why) HSMCA_WUR;

struct worker;
struct job;
/* The JOB_REVOKE handler (worker thread). */
void revoke_request(struct worker *w, struct job *j);

#endif
