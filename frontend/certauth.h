/* TLS client certificates as credentials. The TLS layer has verified the chain against client_ca (only
 * then is job->client_cert set); here the certificate must also be the very one this appliance issued and
 * recorded, issued (not revoked) and within its validity. */
#ifndef HSMCA_CERTAUTH_H
#define HSMCA_CERTAUTH_H

#include "auth.h"
#include "db_lifecycle.h"
#include "pool.h"

/* The stored row of the exact certificate der (any status), which must be genuine (certauth_genuine): 0,
 * HSMCA_ERR_NOTFOUND (not ours, another certificate with its serial, or a row this appliance did not sign:
 * logged as row_refused), HSMCA_ERR_PARSE (unreadable) or a database error. out: db_cert_row_free. */
int certauth_lookup(struct worker *w, const uint8_t *der, size_t len, struct db_cert_row *out) HSMCA_WUR;

/* Whether row (a certificate the database says is issued by this appliance) is one: its DER is a certificate
 * with no trailing bytes, whose serial is the row's and whose signature verifies under the certificate of
 * the row's issuer (a profile's issuer_cert with that key label) or under one of former_issuers (an issuing
 * CA no profile names any more). Serials are unique in the table and a row's
 * profile, requester and names never change after its INSERT (schema 001's guard), so a row that passes is
 * the one the frontend wrote when it asked for that signature; without this check, whoever can write the
 * database (the hsmca_frontend password) could insert an "issued" row with a certificate of their own making
 * (any key, any profile and requester: a login profile's, an administrator's) and renew it by challenge into
 * a real one. 0, or HSMCA_ERR_AUTH (why, ISSUE_WHY_MAX bytes, says which check failed). */
int certauth_genuine(const struct app *a, const struct db_cert_row *row, char *why) HSMCA_WUR;

/* Authenticates a request: the Authorization header (auth_check) or, when there is none, the verified
 * client certificate of a profile with login = yes, which logs in its requester's account (enabled, any
 * role). *via_cert tells which (may be NULL). A certificate that is not a login certificate is
 * AUTH_MISSING; a revoked, expired or unknown one, or a disabled account, AUTH_BAD. */
enum auth_result certauth_request(struct worker *w, const struct job *j, struct db_account *out, bool *via_cert);

/* A request that reads (GET, HEAD), whose refusals are not audited or counted when it has no credentials. */
bool certauth_is_read(const struct job *j);
/* A request that changes state and came without credentials: counted against the peer's address like a
 * wrong password (a flood of them ends in 429s); true if the address is over its limit (then not audited). */
bool certauth_missing_limited(struct worker *w, const struct job *j);

/* certauth_request that replies itself when there is no account: 401 (wrong credentials, or none on a
 * request that changes state, are audited with actor "-"; none on a read is not), 429 (rate-limited), 503
 * (database). Returns 0 with out (and *via_cert) or -1 (replied). */
int certauth_require(struct worker *w, struct job *j, struct db_account *out, bool *via_cert) HSMCA_WUR;

#endif
