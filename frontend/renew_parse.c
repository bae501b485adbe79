/* Bounded parsers of the renewal request bodies (fuzzed: tests/fuzz/fuzz_renew.c). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "issue.h"
#include "json.h"
#include "renew.h"

static bool renew_hex(const char *s, size_t len)
{
	if (len == 0 || len >= DB_SERIAL_HEX_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

void renew_body_free(struct renew_body *b)
{
	json_free(b->doc);
	free(b->sig);
	memset(b, 0, sizeof(*b));
}

static int renew_json(const uint8_t *body, size_t len, struct json_doc **doc, char *why)
{
	char err[128];
	if (len > RENEW_BODY_MAX) {
		snprintf(why, ISSUE_WHY_MAX, "request body larger than %u bytes", RENEW_BODY_MAX);
		return HSMCA_ERR_PARSE;
	}
	if (json_parse((const char *)body, len, doc, err, sizeof(err))) {
		snprintf(why, ISSUE_WHY_MAX, "request body is not valid JSON (%s)", err);
		return HSMCA_ERR_PARSE;
	}
	if (json_type(json_root(*doc)) != JSON_OBJECT) {
		json_free(*doc);
		*doc = NULL;
		snprintf(why, ISSUE_WHY_MAX, "request body is not a JSON object");
		return HSMCA_ERR_PARSE;
	}
	return 0;
}

int renew_parse(const uint8_t *body, size_t len, struct renew_body *out, char *why)
{
	const struct json_node *root;
	size_t n, slen = 0, clen = 0, glen = 0;
	const char *sig64;
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = renew_json(body, len, &out->doc, why)))
		return rc;
	root = json_root(out->doc);
	n = json_object_len(root);
	out->csr = json_string(json_get(root, "csr"), &out->csr_len);
	if (!out->csr || (n != 1 && n != 4)) {
		snprintf(why, ISSUE_WHY_MAX, "expected {\"csr\": PEM} (mutual TLS) or {\"csr\", \"serial\", "
					     "\"challenge\", \"signature\"}");
		return HSMCA_ERR_PARSE;
	}
	if (n == 1)
		return 0;
	out->serial = json_string(json_get(root, "serial"), &slen);
	out->challenge = json_string(json_get(root, "challenge"), &clen);
	sig64 = json_string(json_get(root, "signature"), &glen);
	if (!out->serial || !out->challenge || !sig64) {
		snprintf(why, ISSUE_WHY_MAX, "expected {\"csr\", \"serial\", \"challenge\", \"signature\"} (strings)");
		return HSMCA_ERR_PARSE;
	}
	if (!renew_hex(out->serial, slen)) {
		snprintf(why, ISSUE_WHY_MAX, "serial: 1..%d hex digits expected", DB_SERIAL_HEX_MAX - 1);
		return HSMCA_ERR_PARSE;
	}
	if (clen == 0 || clen >= RENEW_CHALLENGE_MAX) {
		snprintf(why, ISSUE_WHY_MAX, "challenge: not a challenge of this server");
		return HSMCA_ERR_PARSE;
	}
	for (size_t i = 0; i < clen; i++)
		if (!isgraph((unsigned char)out->challenge[i])) {
			snprintf(why, ISSUE_WHY_MAX, "challenge: not a challenge of this server");
			return HSMCA_ERR_PARSE;
		}
	if (!(out->sig = b64_decode_strict(sig64, glen, RENEW_SIG_MAX, &out->sig_len)) || out->sig_len == 0) {
		snprintf(why, ISSUE_WHY_MAX, "signature: base64 of at most %d bytes expected", RENEW_SIG_MAX);
		return HSMCA_ERR_PARSE;
	}
	return 0;
}

int renew_parse_challenge_request(const uint8_t *body, size_t len, char *serial, char *why)
{
	struct json_doc *doc = NULL;
	size_t slen = 0;
	int rc = renew_json(body, len, &doc, why);
	if (rc)
		return rc;
	const struct json_node *root = json_root(doc);
	const char *s = json_string(json_get(root, "serial"), &slen);
	if (json_object_len(root) != 1 || !s || !renew_hex(s, slen)) {
		snprintf(why, ISSUE_WHY_MAX, "expected exactly {\"serial\": hex}");
		rc = HSMCA_ERR_PARSE;
	} else {
		for (size_t i = 0; i <= slen; i++)
			serial[i] = (char)tolower((unsigned char)s[i]);
	}
	json_free(doc);
	return rc;
}
