/* CFSSL-compatible endpoints (wire-compatible with `cfssl sign|info` using a remote and an auth key):
 * /api/v1/cfssl/authsign (HMAC-SHA-256 over the raw request bytes with the profile's key, constant-time,
 * timestamp window and replay cache), /api/v1/cfssl/sign (refused: unauthenticated signing is not offered),
 * /api/v1/cfssl/info. */
#ifndef HSMCA_CFSSL_H
#define HSMCA_CFSSL_H

#include <stdbool.h>
#include <stdint.h>

#include "pool.h"

#define CFSSL_WINDOW 300        /* seconds a timestamp may differ from ours */
#define CFSSL_REQUEST_MAX (96u * 1024u)

#define CFSSL_TOKEN_LEN 32

struct json_doc;
struct json_node;

/* A parsed authsign body. Owns both JSON documents and the decoded request; the spans point into them. */
struct cfssl_authsign {
	struct json_doc *outer, *inner;
	uint8_t *req; /* the decoded request bytes (the HMAC covers exactly these) */
	size_t req_len;
	uint8_t token[CFSSL_TOKEN_LEN];
	bool has_ts;
	long long ts;
	const char *csr; /* PEM */
	size_t csr_len;
	const char *profile; /* may be NULL or "" */
	const struct json_node *hosts; /* JSON array or NULL */
};

/* Bounded parser of an authsign body: outer JSON {token, request, timestamp?, remote_address?}, strict
 * base64, inner JSON {certificate_request, hosts?, profile?, label?, crl_override?}. 0, or
 * HSMCA_ERR_PARSE with why (ISSUE_WHY_MAX); a->* must be freed with cfssl_authsign_free either way. */
int cfssl_authsign_parse(const uint8_t *body, size_t len, struct cfssl_authsign *a, char *why) HSMCA_WUR;
void cfssl_authsign_free(struct cfssl_authsign *a);

void cfssl_authsign(struct worker *w, struct job *j);
void cfssl_sign_unauthenticated(struct worker *w, struct job *j);
void cfssl_info(struct worker *w, struct job *j);

#endif
