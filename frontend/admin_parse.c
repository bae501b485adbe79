/* The bounded parsers of account management (frontend/admin.h): the request path and the JSON bodies.
 * Pure functions (no database, no globals), fuzzed by tests/fuzz/fuzz_admin.c. */
#include "admin.h"
#include "route.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "utf8.h"

#define ADMIN_PREFIX "/api/v1/accounts"
#define ADMIN_SEGS_MAX 4 /* {name}/apikeys/{id}/disable */
#define ADMIN_FIELD_ECHO_MAX 32 /* an unknown field's name is quoted back only if short and printable */

__attribute__((format(printf, 3, 4))) static int admin_fail(char *why, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, ADMIN_WHY_MAX, fmt, ap);
	va_end(ap);
	return rc;
}

int admin_name_check(const char *s, size_t len, char *why)
{
	const uint8_t *p = (const uint8_t *)s;
	if (len == 0)
		return admin_fail(why, HSMCA_ERR_PARSE, "account name: empty");
	if (len >= DB_NAME_MAX)
		return admin_fail(why, HSMCA_ERR_PARSE, "account name: longer than 63 bytes");
	for (size_t i = 0; i < len;) {
		uint32_t c = 0;
		size_t n = utf8_next(p + i, len - i, &c);
		if (n == 0)
			return admin_fail(why, HSMCA_ERR_PARSE, "account name: not UTF-8");
		if (c == ':')
			return admin_fail(why, HSMCA_ERR_PARSE, "account name: no ':' (HTTP Basic separates with it)");
		if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029)
			return admin_fail(why, HSMCA_ERR_PARSE, "account name: no control characters");
		i += n;
	}
	return 0;
}

/* A character that shows as nothing, or as a space, or turns the text around it (Unicode's format characters,
 * the spaces other than ' ', the tag characters): "ops-admin" and "ops-admin" with a U+200B in it, or with a
 * no-break space, would be two accounts an administrator reads as one in listings and approvals. */
static bool admin_invisible(uint32_t c)
{
	return c == 0x00a0 || c == 0x00ad || c == 0x034f || (c >= 0x0600 && c <= 0x0605) || c == 0x061c ||
	       c == 0x06dd || c == 0x070f || c == 0x08e2 || c == 0x115f || c == 0x1160 || c == 0x1680 ||
	       c == 0x17b4 || c == 0x17b5 || (c >= 0x180b && c <= 0x180f) || c == 0x2800 || c == 0x110bd ||
	       c == 0x110cd || (c >= 0x13430 && c <= 0x1343f) || (c >= 0x2000 && c <= 0x200f) ||
	       (c >= 0x2028 && c <= 0x202f) || (c >= 0x205f && c <= 0x206f) || c == 0x3000 || c == 0x3164 ||
	       (c >= 0xfe00 && c <= 0xfe0f) || c == 0xfeff || c == 0xffa0 || (c >= 0xfff0 && c <= 0xfffb) ||
	       (c >= 0x1bca0 && c <= 0x1bca3) || (c >= 0x1d173 && c <= 0x1d17a) || (c >= 0xe0000 && c <= 0xe0fff);
}

int admin_new_name_check(const char *s, size_t len, char *why)
{
	int rc = admin_name_check(s, len, why);
	if (rc)
		return rc;
	for (size_t i = 0; i < len;) {
		uint32_t c = 0;
		size_t n = utf8_next((const uint8_t *)s + i, len - i, &c); /* UTF-8: admin_name_check said so */
		if (admin_invisible(c))
			return admin_fail(why, HSMCA_ERR_PARSE, "account name: no invisible, spacing or direction-changing "
								 "character (U+%04X): it would read as another name", (unsigned)c);
		i += n;
	}
	/* the profiles file lists accounts (accounts =, cfssl_account =) split at spaces and commas, with '#'
	 * starting a comment anywhere: such a name could never be granted a profile, and "ci#prod" would be read
	 * as the account "ci" */
	for (size_t i = 0; i < len; i++)
		if (s[i] == ' ' || s[i] == ',' || s[i] == '#')
			return admin_fail(why, HSMCA_ERR_PARSE, "account name: no space, ',' or '#' (the profiles file "
								 "could not name the account)");
	return 0;
}

static int admin_hex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decodes one path segment into out (out_max bytes with the NUL). -1: a bad escape (%00 too: the
 * segment is used as a C string, so a NUL would hide what follows it); -2: too long. */
static int admin_segment(const char *s, size_t n, char *out, size_t out_max, size_t *out_len)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int v = (unsigned char)s[i];
		if (v == '%') {
			if (n - i < 3 || admin_hex(s[i + 1]) < 0 || admin_hex(s[i + 2]) < 0)
				return -1;
			v = admin_hex(s[i + 1]) << 4 | admin_hex(s[i + 2]);
			if (v == 0)
				return -1;
			i += 2;
		}
		if (o + 1 >= out_max)
			return -2;
		out[o++] = (char)v;
	}
	out[o] = 0;
	*out_len = o;
	return 0;
}

/* Which operation the segments after the prefix name: 0 or HSMCA_ERR_NOTFOUND / HSMCA_ERR_STATE. */
static int admin_route(char seg[][DB_NAME_MAX], size_t n, bool post, enum admin_op *op)
{
	static const struct {
		const char *action;
		enum admin_op op;
	} actions[] = {
		{ "disable", ADMIN_DISABLE }, { "enable", ADMIN_ENABLE },       { "password", ADMIN_PASSWORD },
		{ "role", ADMIN_ROLE },       { "apikeys", ADMIN_APIKEY_CREATE },
	};
	if (n == 0) {
		*op = post ? ADMIN_CREATE : ADMIN_LIST;
		return 0;
	}
	if (n == 1) {
		*op = ADMIN_GET;
		return post ? HSMCA_ERR_STATE : 0;
	}
	if (n == 4 && !strcmp(seg[1], "apikeys") && !strcmp(seg[3], "disable")) {
		*op = ADMIN_APIKEY_DISABLE;
		return post ? 0 : HSMCA_ERR_STATE;
	}
	for (size_t i = 0; n == 2 && i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (!strcmp(seg[1], actions[i].action)) {
			*op = actions[i].op;
			return post ? 0 : HSMCA_ERR_STATE;
		}
	}
	return HSMCA_ERR_NOTFOUND;
}

int admin_parse_path(const char *uri, bool post, struct admin_path *out, char *why)
{
	char seg[ADMIN_SEGS_MAX][DB_NAME_MAX];
	size_t n = 0, plen = strlen(ADMIN_PREFIX), seg0_len = 0;
	int rc;
	memset(out, 0, sizeof(*out));
	why[0] = 0;
	if (strncmp(uri, ADMIN_PREFIX, plen) != 0)
		return admin_fail(why, HSMCA_ERR_NOTFOUND, "no such endpoint");
	const char *p = uri + plen;
	size_t rest = strcspn(p, "?#"); /* a query is not used */
	if (rest > 0 && p[0] != '/')
		return admin_fail(why, HSMCA_ERR_NOTFOUND, "no such endpoint");
	for (size_t pos = 1; rest > 0 && pos <= rest; n++) {
		size_t end = pos;
		while (end < rest && p[end] != '/')
			end++;
		size_t len = 0;
		if (end == pos || n == ADMIN_SEGS_MAX) /* an empty segment, or too many */
			return admin_fail(why, HSMCA_ERR_NOTFOUND, "no such endpoint");
		int s = admin_segment(p + pos, end - pos, seg[n], sizeof(seg[n]), &len);
		if (s == -1)
			return admin_fail(why, HSMCA_ERR_PARSE, "path: a bad %%-escape");
		if (s == -2)
			return n == 0 ? admin_fail(why, HSMCA_ERR_PARSE, "account name: longer than 63 bytes")
				      : admin_fail(why, HSMCA_ERR_NOTFOUND, "no such endpoint");
		if (n == 0)
			seg0_len = len;
		pos = end + 1;
	}
	if ((rc = admin_route(seg, n, post, &out->op)))
		return rc == HSMCA_ERR_STATE ? admin_fail(why, rc, "use %s here", post ? "GET" : "POST")
					     : admin_fail(why, rc, "no such endpoint");
	if (n == 0)
		return 0;
	if ((rc = admin_name_check(seg[0], seg0_len, why)))
		return rc;
	memcpy(out->name, seg[0], seg0_len + 1);
	if (out->op == ADMIN_APIKEY_DISABLE && !route_id(seg[2], &out->key_id))
		return admin_fail(why, HSMCA_ERR_PARSE, "API key id: a positive decimal number");
	return 0;
}

/* Parses body as a JSON object whose members are all among fields[0..n) and include those whose bit is set
 * in required. */
static int admin_object(const uint8_t *body, size_t len, const char *const *fields, size_t n, unsigned required,
			struct json_doc **doc, char *why)
{
	char err[128];
	*doc = NULL;
	if (json_parse((const char *)body, len, doc, err, sizeof(err)) != 0)
		return admin_fail(why, HSMCA_ERR_PARSE, "the body is not valid JSON (%s)", err);
	const struct json_node *root = json_root(*doc);
	if (json_type(root) != JSON_OBJECT)
		return admin_fail(why, HSMCA_ERR_PARSE, "the body must be a JSON object");
	for (size_t i = 0; i < json_object_len(root); i++) {
		const char *key = json_object_key(root, i);
		size_t k = 0;
		while (k < n && strcmp(key, fields[k]) != 0)
			k++;
		if (k < n)
			continue;
		bool echo = strlen(key) <= ADMIN_FIELD_ECHO_MAX;
		for (const char *q = key; echo && *q; q++)
			echo = *q > 0x20 && *q < 0x7f && *q != '"' && *q != '\\';
		return admin_fail(why, HSMCA_ERR_PARSE, "unknown field \"%s\"", echo ? key : "?");
	}
	for (size_t k = 0; k < n; k++)
		if ((required >> k & 1) && !json_get(root, fields[k]))
			return admin_fail(why, HSMCA_ERR_PARSE, "missing field \"%s\"", fields[k]);
	return 0;
}

static int admin_field_role(const struct json_node *v, enum db_role *out, char *why)
{
	const char *s = json_string(v, NULL);
	if (!s || !db_role_parse(s, out))
		return admin_fail(why, HSMCA_ERR_PARSE, "role: one of \"requester\", \"admin\", \"auditor\"");
	return 0;
}

static int admin_field_password(const struct json_node *v, struct admin_secret *out, char *why)
{
	size_t len = 0;
	const char *s = json_string(v, &len);
	if (!s)
		return admin_fail(why, HSMCA_ERR_PARSE, "password: a string expected");
	if (len < ADMIN_PW_MIN)
		return admin_fail(why, HSMCA_ERR_PARSE, "password: at least 12 bytes");
	if (len > AUTH_PW_MAX)
		return admin_fail(why, HSMCA_ERR_PARSE, "password: at most 256 bytes");
	memcpy(out->text, s, len);
	out->text[len] = 0;
	out->len = len;
	return 0;
}

int admin_parse_create(const uint8_t *body, size_t len, struct admin_create *out, char *why)
{
	static const char *const fields[] = { "name", "role", "password" };
	struct json_doc *doc = NULL;
	size_t nl = 0;
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = admin_object(body, len, fields, 3, 7, &doc, why)))
		goto out;
	const struct json_node *root = json_root(doc);
	const char *name = json_string(json_get(root, "name"), &nl);
	if (!name) {
		rc = admin_fail(why, HSMCA_ERR_PARSE, "name: a string expected");
		goto out;
	}
	if (!(rc = admin_new_name_check(name, nl, why)) && db_account_name_reserved(name))
		rc = admin_fail(why, HSMCA_ERR_PARSE, "account name: %s is an actor of the audit log's own (the command "
				"line, the frontend's passes, an unauthenticated caller)", name);
	if (rc || (rc = admin_field_role(json_get(root, "role"), &out->role, why)) ||
	    (rc = admin_field_password(json_get(root, "password"), &out->password, why)))
		goto out;
	memcpy(out->name, name, nl + 1);
out:
	json_free(doc); /* wipes the decoded password */
	if (rc)
		explicit_bzero(out, sizeof(*out));
	return rc;
}

int admin_parse_password(const uint8_t *body, size_t len, struct admin_secret *out, char *why)
{
	static const char *const fields[] = { "password" };
	struct json_doc *doc = NULL;
	int rc;
	memset(out, 0, sizeof(*out));
	if (!(rc = admin_object(body, len, fields, 1, 1, &doc, why)))
		rc = admin_field_password(json_get(json_root(doc), "password"), out, why);
	json_free(doc);
	if (rc)
		explicit_bzero(out, sizeof(*out));
	return rc;
}

int admin_parse_role(const uint8_t *body, size_t len, enum db_role *out, char *why)
{
	static const char *const fields[] = { "role" };
	struct json_doc *doc = NULL;
	int rc;
	*out = 0;
	if (!(rc = admin_object(body, len, fields, 1, 1, &doc, why)))
		rc = admin_field_role(json_get(json_root(doc), "role"), out, why);
	json_free(doc);
	return rc;
}

int admin_parse_apikey(const uint8_t *body, size_t len, char *out_profile, char *why)
{
	static const char *const fields[] = { "profile" };
	struct json_doc *doc = NULL;
	int rc;
	out_profile[0] = 0;
	if ((rc = admin_object(body, len, fields, 1, 0, &doc, why)))
		goto out;
	const struct json_node *v = json_get(json_root(doc), "profile");
	size_t pl = 0;
	const char *p = json_string(v, &pl);
	if (v && (!p || pl == 0 || pl >= DB_NAME_MAX)) {
		rc = admin_fail(why, HSMCA_ERR_PARSE, "profile: a name of 1..63 bytes");
		goto out;
	}
	if (p)
		memcpy(out_profile, p, pl + 1);
out:
	json_free(doc);
	return rc;
}

int admin_parse_empty(const uint8_t *body, size_t len, char *why)
{
	struct json_doc *doc = NULL;
	size_t i = 0;
	while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
		i++;
	if (i == len)
		return 0;
	int rc = admin_object(body, len, NULL, 0, 0, &doc, why);
	json_free(doc);
	return rc;
}
