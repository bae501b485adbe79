/* Renewal: the holder of a current certificate gets a new one with the same names under the same
 * profile, linked to the old one (certificates.renews_serial), proving possession either by presenting
 * the certificate over mutual TLS or by signing a server-issued challenge with its key:
 *   POST /api/v1/certificates/renewal-challenge {"serial": hex} -> {"challenge": text, "expires_in": s}
 *   POST /api/v1/certificates/renew {"csr": PEM}                              (mutual TLS)
 *   POST /api/v1/certificates/renew {"csr", "serial", "challenge", "signature": base64}
 * where signature is over the challenge's bytes with SHA-256 (`openssl dgst -sha256 -sign old.key`:
 * ECDSA, or RSA PKCS#1 v1.5). A certificate is renewed at most once; revoked, expired or not yet valid
 * certificates, and those of disabled accounts, are refused. */
#ifndef HSMCA_RENEW_H
#define HSMCA_RENEW_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "pool.h"

#define RENEW_CHALLENGE_TTL 300 /* seconds */
#define RENEW_CHALLENGE_MAX 160
#define RENEW_SIGNED_MAX (RENEW_CHALLENGE_MAX + 1 + 64) /* challenge '.' hex SHA-256, NUL */
#define RENEW_SIG_MAX 1024      /* decoded signature bytes (RSA-4096: 512) */

/* A parsed renew body. Owns doc and sig; csr/serial/challenge point into doc. */
struct renew_body {
	struct json_doc *doc;
	const char *csr;
	size_t csr_len;
	const char *serial;    /* NULL (mutual TLS) or hex */
	const char *challenge; /* with serial and sig */
	uint8_t *sig;
	size_t sig_len;
};

#define RENEW_BODY_MAX (96u * 1024u) /* the renew body's cap (renew_parse); the router answers 413 past it */

/* Bounded parser of the renew body: exactly {"csr"} or {"csr", "serial", "challenge", "signature"}, the
 * serial 1..40 hex digits, the challenge 1..RENEW_CHALLENGE_MAX-1 printable bytes, the signature strict
 * base64 of 1..RENEW_SIG_MAX bytes. 0 or HSMCA_ERR_PARSE with why (ISSUE_WHY_MAX); free with renew_body_free
 * either way. */
int renew_parse(const uint8_t *body, size_t len, struct renew_body *out, char *why) HSMCA_WUR;
void renew_body_free(struct renew_body *b);
/* Bounded parser of the challenge request body: exactly {"serial": hex}; serial out (DB_SERIAL_HEX_MAX). */
int renew_parse_challenge_request(const uint8_t *body, size_t len, char *serial, char *why) HSMCA_WUR;

void renew_challenge(struct worker *w, struct job *j);
void renew_request(struct worker *w, struct job *j);

#endif
