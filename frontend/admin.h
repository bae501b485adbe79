/* Account management over HTTP (JOB_ACCOUNTS, /api/v1/accounts[/...]): administrators manage accounts and
 * API keys, auditors read, a requester may only change its own password. HTTP Basic only (an API key is a
 * machine credential and is refused). Every change is written with its audit row in one transaction;
 * every refusal is audited in its own. Passwords are hashed with scrypt and wiped; API keys are shown once
 * and stored as SHA-256.
 *
 * The parsers below are pure and bounded (libFuzzer target tests/fuzz/fuzz_admin.c): bodies are strict
 * JSON objects with exactly the fields named (unknown or repeated fields, other types and trailing bytes
 * are refused); on failure they return HSMCA_ERR_PARSE with a one-line reason in why (ADMIN_WHY_MAX). */
#ifndef HSMCA_ADMIN_H
#define HSMCA_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"
#include "db.h"

#define ADMIN_WHY_MAX 256
#define ADMIN_PW_MIN 12              /* bytes; the most is AUTH_PW_MAX */
#define ADMIN_KEY_RANDOM 32          /* random bytes of an API key */
#define ADMIN_KEY_PREFIX "hsk_"      /* recognisable in logs and secret scanners */
#define ADMIN_KEY_TEXT_MAX 64        /* prefix + 43 base64url characters + NUL fits */

enum admin_op {
	ADMIN_LIST = 1,       /* GET  /api/v1/accounts */
	ADMIN_CREATE,         /* POST /api/v1/accounts */
	ADMIN_GET,            /* GET  /api/v1/accounts/{name} */
	ADMIN_DISABLE,        /* POST /api/v1/accounts/{name}/disable */
	ADMIN_ENABLE,         /* POST /api/v1/accounts/{name}/enable */
	ADMIN_PASSWORD,       /* POST /api/v1/accounts/{name}/password */
	ADMIN_ROLE,           /* POST /api/v1/accounts/{name}/role */
	ADMIN_APIKEY_CREATE,  /* POST /api/v1/accounts/{name}/apikeys */
	ADMIN_APIKEY_DISABLE, /* POST /api/v1/accounts/{name}/apikeys/{id}/disable */
};

struct admin_path {
	enum admin_op op;
	char name[DB_NAME_MAX]; /* percent-decoded and checked; "" for LIST and CREATE */
	int64_t key_id;         /* ADMIN_APIKEY_DISABLE */
};

/* A password out of a body: the caller wipes it (explicit_bzero) after use. */
struct admin_secret {
	char text[AUTH_PW_MAX + 1];
	size_t len;
};

struct admin_create {
	char name[DB_NAME_MAX];
	enum db_role role;
	struct admin_secret password;
};

/* uri: the request URI (NUL-terminated; a query is ignored). post: the method is POST (else GET).
 * 0; HSMCA_ERR_NOTFOUND no such endpoint (404); HSMCA_ERR_STATE the endpoint takes the other method (405);
 * HSMCA_ERR_PARSE a bad account name or key id in the path (400, why says which). */
int admin_parse_path(const char *uri, bool post, struct admin_path *out, char *why) HSMCA_WUR;
/* An account name: 1..63 bytes of UTF-8, no ':' and no control characters (C0, DEL, C1, U+2028/9). */
int admin_name_check(const char *s, size_t len, char *why) HSMCA_WUR;
/* The same for a name being created: also no space, ',' or '#', which the profiles file's account lists
 * cannot hold. */
int admin_new_name_check(const char *s, size_t len, char *why) HSMCA_WUR;
/* {"name": ..., "role": "requester"|"admin"|"auditor", "password": ...} */
int admin_parse_create(const uint8_t *body, size_t len, struct admin_create *out, char *why) HSMCA_WUR;
/* {"password": ...} (ADMIN_PW_MIN..AUTH_PW_MAX bytes) */
int admin_parse_password(const uint8_t *body, size_t len, struct admin_secret *out, char *why) HSMCA_WUR;
/* {"role": ...} */
int admin_parse_role(const uint8_t *body, size_t len, enum db_role *out, char *why) HSMCA_WUR;
/* {} or {"profile": name}; out_profile (DB_NAME_MAX) gets the name or "" (any profile). */
int admin_parse_apikey(const uint8_t *body, size_t len, char *out_profile, char *why) HSMCA_WUR;
/* An empty body or {} (disable, enable). */
int admin_parse_empty(const uint8_t *body, size_t len, char *why) HSMCA_WUR;

struct worker;
struct job;
/* The JOB_ACCOUNTS handler (worker thread). Wipes the job's body (it may carry a password). */
void admin_request(struct worker *w, struct job *j);

#endif
