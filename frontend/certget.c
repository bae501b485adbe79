/* GET /api/v1/certificates/{serial}: a certificate's state (and the certificate once issued), for its
 * requester, administrators and auditors. A held request's requester polls this until it is issued. */
#include "certget.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "certauth.h"
#include "db_lifecycle.h"
#include "issue.h"
#include "json.h"
#include "route.h"

void certget_json_time(struct dbuf *b, const char *key, time_t t)
{
	char v[32];
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(v, sizeof(v), "%Y-%m-%dT%H:%M:%SZ", &tm);
	JSON_LIT(b, ", ");
	json_write_string(b, key);
	JSON_LIT(b, ": ");
	json_write_string(b, v);
}

static void certget_field(struct dbuf *b, const char *key, const char *value)
{
	JSON_LIT(b, ", ");
	json_write_string(b, key);
	JSON_LIT(b, ": ");
	if (value && *value)
		json_write_string(b, value);
	else
		JSON_LIT(b, "null");
}

void certget_reply(struct job *j, const struct db_cert_row *c)
{
	char id[24];
	char *pem = c->der ? issue_pem(c->der, c->der_len) : NULL;
	dbuf_free(&j->resp);
	dbuf_init(&j->resp);
	j->status = 200;
	strcpy(j->content_type, "application/json");
	JSON_LIT(&j->resp, "{\"serial\": ");
	json_write_string(&j->resp, c->serial_hex);
	certget_field(&j->resp, "status", c->status);
	certget_field(&j->resp, "issuer", c->issuer);
	certget_field(&j->resp, "profile", c->profile);
	certget_field(&j->resp, "requester", c->requester);
	certget_field(&j->resp, "subject", c->subject);
	certget_field(&j->resp, "sans", c->sans);
	certget_json_time(&j->resp, "not_before", c->not_before);
	certget_json_time(&j->resp, "not_after", c->not_after);
	certget_field(&j->resp, "renews", c->renews);
	certget_field(&j->resp, "renewed_by", c->renewed_by);
	certget_field(&j->resp, "failure_reason", c->failure_reason);
	JSON_LIT(&j->resp, ", \"revocation\": ");
	if (c->revoked_reason[0]) {
		JSON_LIT(&j->resp, "{\"reason\": ");
		json_write_string(&j->resp, c->revoked_reason);
		certget_json_time(&j->resp, "revoked_at", c->revoked_at);
		JSON_LIT(&j->resp, "}");
	} else {
		JSON_LIT(&j->resp, "null");
	}
	snprintf(id, sizeof(id), "%lld", (long long)c->approval_id);
	JSON_LIT(&j->resp, ", \"approval\": ");
	dbuf_add(&j->resp, c->approval_id ? id : "null", c->approval_id ? strlen(id) : 4);
	certget_field(&j->resp, "certificate", pem);
	JSON_LIT(&j->resp, "}\n");
	free(pem);
	if (j->resp.failed)
		job_error(j, 500, "internal", "out of memory");
}

void certget_request(struct worker *w, struct job *j)
{
	char segs[ROUTE_SEGS_MAX][ROUTE_SEG_MAX];
	struct db_account acct;
	struct db_cert_row c;
	int rc;
	memset(&c, 0, sizeof(c));
	if (route_split(j->path, "/api/v1/certificates", segs) != 1) {
		job_error(j, 404, "not-found", "expected /api/v1/certificates/{serial}");
		return;
	}
	if (issue_db(w)) {
		job_error(j, 503, "unavailable", "the database is unavailable");
		return;
	}
	if (certauth_require(w, j, &acct, NULL))
		return;
	rc = db_cert_get(w->db, segs[0], &c);
	/* a requester sees only its own certificates, and an API key bound to a profile only that profile's;
	 * others' look the same as unknown ones */
	if (rc == HSMCA_ERR_NOTFOUND || rc == HSMCA_ERR_PARSE ||
	    (rc == 0 && acct.role == DB_ROLE_REQUESTER && strcmp(acct.name, c.requester) != 0) ||
	    (rc == 0 && acct.key_profile[0] && strcmp(acct.key_profile, c.profile) != 0))
		job_error(j, 404, "not-found", "no such certificate");
	else if (rc)
		job_error(j, 503, "unavailable", "the database is unavailable");
	else
		certget_reply(j, &c);
	db_cert_row_free(&c);
}
