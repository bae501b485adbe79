/* CFSSL-compatible endpoints (wire-compatible with `cfssl sign|info -remote`):
 * /api/v1/cfssl/authsign (HMAC-SHA-256 over the raw request bytes with the profile's key, constant-time,
 * timestamp window, tokens held in the database against replays; the profile's cfssl_account is the requester), /api/v1/cfssl/sign (the
 * caller's own credentials, as for /api/v1/certificates: HTTP Basic, a Bearer API key or a login client
 * certificate; without any it is refused, unauthenticated signing is not offered), /api/v1/cfssl/info. */
#ifndef HSMCA_CFSSL_H
#define HSMCA_CFSSL_H

#include <stdbool.h>
#include <stdint.h>

#include "issue.h"
#include "pool.h"

#define CFSSL_WINDOW 300        /* seconds a timestamp may differ from ours */
#define CFSSL_REQUEST_MAX (96u * 1024u)

#define CFSSL_TOKEN_LEN 32

struct json_doc;
struct json_node;

/* CFSSL's sign request {certificate_request, hosts?, profile?, label?, crl_override?}, pointing into the JSON
 * document it was read from. */
struct cfssl_request {
	const char *csr; /* PEM */
	size_t csr_len;
	const char *profile; /* may be NULL or "" */
	const char *label;   /* the signer cfssl should use: NULL, "" or the profile's issuer (cfssl_issue) */
	const struct issue_hostlist *hosts; /* &host_list, or NULL: no "hosts"/"hostname" (the CSR's names) */
	struct issue_hostlist host_list;
};

/* CFSSL's names for a request (the sign handler's rule): "hostname" split at its commas when it is a non-empty
 * string, else the "hosts" array; either may be absent or null (*has = false: the CSR's names). Each name a
 * non-empty string under CSR_SAN_MAX bytes with no NUL, no angle bracket (a display-name address) and no
 * white space; 1..CSR_MAX_SANS of them (an empty list, which cfssl takes for "no names at all", is
 * refused). 0, or HSMCA_ERR_PARSE with why (ISSUE_WHY_MAX). out points into the JSON nodes' strings. */
int cfssl_hosts_parse(const struct json_node *hosts, const struct json_node *hostname, struct issue_hostlist *out,
		      bool *has, char *why) HSMCA_WUR;

/* A parsed authsign body. Owns both JSON documents and the decoded request; r points into them. */
struct cfssl_authsign {
	struct json_doc *outer, *inner;
	uint8_t *req; /* the decoded request bytes (the HMAC covers exactly these) */
	size_t req_len;
	uint8_t token[CFSSL_TOKEN_LEN];
	bool has_ts;
	long long ts;
	struct cfssl_request r;
};

/* Bounded parser of an authsign body: outer JSON {token, request, timestamp?, remote_address?}, strict
 * base64, inner JSON {certificate_request, hosts?, profile?, label?, crl_override?}. 0, or
 * HSMCA_ERR_PARSE with why (ISSUE_WHY_MAX); a->* must be freed with cfssl_authsign_free either way. */
int cfssl_authsign_parse(const uint8_t *body, size_t len, struct cfssl_authsign *a, char *why) HSMCA_WUR;
void cfssl_authsign_free(struct cfssl_authsign *a);

/* A parsed sign body (the request itself). Owns the JSON document; r points into it. */
struct cfssl_sign {
	struct json_doc *doc;
	struct cfssl_request r;
};

/* Bounded parser of a sign body: 0, or HSMCA_ERR_PARSE with why (ISSUE_WHY_MAX); s->* must be freed with
 * cfssl_sign_free either way. */
int cfssl_sign_parse(const uint8_t *body, size_t len, struct cfssl_sign *s, char *why) HSMCA_WUR;
void cfssl_sign_free(struct cfssl_sign *s);

/* j's reply: a CFSSL error body {"success": false, "result": null, "errors": [{"code": status, "message"}]}. */
void cfssl_error(struct job *j, int status, const char *msg);
void cfssl_authsign(struct worker *w, struct job *j);
void cfssl_sign(struct worker *w, struct job *j);
void cfssl_info(struct worker *w, struct job *j);

#endif
