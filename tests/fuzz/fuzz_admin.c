/* The account-management parsers (frontend/admin_parse.c): the first byte picks one, the rest is its input
 * (a request URI for the path parser, a request body for the others). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

#define FUZZ_URI_MAX 512 /* JOB_PATH_MAX: the loop thread copies at most this much of the URI */

/* A name the parsers accepted must pass the check once more (what the database CHECK requires). */
static void fuzz_name_ok(const char *name)
{
	char why[ADMIN_WHY_MAX];
	if (admin_name_check(name, strlen(name), why) != 0)
		__builtin_trap();
}

static void fuzz_path(const uint8_t *data, size_t size, bool post)
{
	char uri[FUZZ_URI_MAX], why[ADMIN_WHY_MAX];
	struct admin_path ap;
	size_t n = size < sizeof(uri) - 1 ? size : sizeof(uri) - 1;
	memcpy(uri, data, n);
	uri[n] = 0;
	int rc = admin_parse_path(uri, post, &ap, why);
	const char *nul = strstr(uri, "%00");
	if (rc == 0 && nul && (size_t)(nul - uri) < strcspn(uri, "?#"))
		__builtin_trap(); /* a decoded NUL would cut a segment short of what was sent (a query is not read) */
	if (rc == 0) {
		bool listing = ap.op == ADMIN_LIST || ap.op == ADMIN_CREATE;
		if (ap.op < ADMIN_LIST || ap.op > ADMIN_APIKEY_DISABLE || listing != (ap.name[0] == 0) ||
		    (ap.op == ADMIN_APIKEY_DISABLE) != (ap.key_id > 0))
			__builtin_trap();
		if (!listing)
			fuzz_name_ok(ap.name);
	} else if (why[0] == 0) {
		__builtin_trap(); /* every refusal says why */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[ADMIN_WHY_MAX] = "", profile[DB_NAME_MAX];
	struct admin_create cr;
	struct admin_secret pw;
	enum db_role role;
	int rc;
	if (size == 0)
		return 0;
	const uint8_t *in = data + 1;
	size_t len = size - 1;
	switch (data[0] % 6) {
	case 0:
		rc = admin_parse_create(in, len, &cr, why);
		if (rc == 0) {
			fuzz_name_ok(cr.name);
			char nwhy[ADMIN_WHY_MAX]; /* a new account's name: none the profiles file could not list */
			if (admin_new_name_check(cr.name, strlen(cr.name), nwhy) != 0)
				__builtin_trap();
			if (cr.password.len < ADMIN_PW_MIN || cr.password.len > AUTH_PW_MAX ||
			    strlen(cr.password.text) != cr.password.len || !db_role_name(cr.role))
				__builtin_trap();
		}
		break;
	case 1:
		rc = admin_parse_password(in, len, &pw, why);
		if (rc == 0 && (pw.len < ADMIN_PW_MIN || pw.len > AUTH_PW_MAX || strlen(pw.text) != pw.len))
			__builtin_trap();
		break;
	case 2:
		rc = admin_parse_role(in, len, &role, why);
		if (rc == 0 && !db_role_name(role))
			__builtin_trap();
		break;
	case 3:
		rc = admin_parse_apikey(in, len, profile, why);
		if (rc == 0 && strlen(profile) >= DB_NAME_MAX)
			__builtin_trap();
		break;
	case 4:
		rc = admin_parse_empty(in, len, why);
		break;
	default:
		fuzz_path(in, len, data[0] & 0x80);
		return 0;
	}
	if (rc != 0 && why[0] == 0)
		__builtin_trap(); /* every refusal says why */
	return 0;
}
