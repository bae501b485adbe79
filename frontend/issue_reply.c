/* The answers of issuance: the 201 body (certificate and chain) and the 202 of a held request, and the texts of
 * its refusals and 503s (what the client is told of a row recorded but not completed). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "issue_priv.h"
#include "json.h"
#include "pool.h"
#include "tbsbuild.h"

char *issue_pem(const uint8_t *der, size_t len)
{
	return tbsbuild_pem_cert(der, len); /* base64 of the DER as PEM_write_bio_X509 lays it out, no decoding */
}

void issue_reply(struct worker *w, struct job *j, const struct profile *p, const char *serial, const struct dbuf *der)
{
	issue_reply_app(w->app, j, p, serial, der);
}

void issue_reply_app(const struct app *a, struct job *j, const struct profile *p, const char *serial,
		     const struct dbuf *der)
{
	/* the chain of the issuer that signed it (conf.chain if p is NULL) */
	issue_reply_chain(j, p && a->issuer_chain[p - a->profiles.p] ? a->issuer_chain[p - a->profiles.p] : a->chain_pem,
			  serial, der);
}

void issue_reply_chain(struct job *j, const char *chain, const char *serial, const struct dbuf *der)
{
	char *cert = issue_pem(der->data, der->len);
	if (!cert) {
		job_error(j, 500, "internal", "cannot encode the certificate");
		return;
	}
	dbuf_free(&j->resp);
	dbuf_init(&j->resp);
	j->status = 201;
	strcpy(j->content_type, "application/json");
	dbuf_add(&j->resp, "{\"serial\": ", 11);
	json_write_string(&j->resp, serial);
	dbuf_add(&j->resp, ", \"certificate\": ", 17);
	json_write_string(&j->resp, cert);
	dbuf_add(&j->resp, ", \"chain\": ", 11);
	json_write_string(&j->resp, chain);
	dbuf_add(&j->resp, "}\n", 2);
	free(cert);
}

void issue_why_no_profile(const char *name, const char *dflt, char *why)
{
	size_t n = name ? strlen(name) : 0;
	bool plain = n > 0 && n <= 64;
	for (size_t i = 0; plain && i < n; i++)
		plain = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
			(name[i] >= '0' && name[i] <= '9') || name[i] == '-' || name[i] == '_' || name[i] == '.';
	if (n == 0 && dflt)
		snprintf(why, ISSUE_WHY_MAX, "no profile given, and none is named \"%s\" (what an empty profile stands for)",
			 dflt);
	else if (n == 0)
		snprintf(why, ISSUE_WHY_MAX, "no profile given");
	else if (plain)
		snprintf(why, ISSUE_WHY_MAX, "no such profile \"%s\"", name);
	else
		snprintf(why, ISSUE_WHY_MAX, "no such profile (the name asked for is not one a profile can have)");
}

const char issue_why_login_by_key[] =
	"a login certificate logs a person in (it manages accounts and decides approvals): request it with a "
	"password (HTTP Basic), not with an API key";
const char issue_why_login_by_cert[] =
	"a login certificate logs a person in: request a new one with your password (HTTP Basic), not a login "
	"certificate, whose key, stolen, must not mint one that outlives its revocation";

void issue_reply_held_msg(struct job *j, const struct issue_outcome *o, const char *message)
{
	char id[24];
	dbuf_free(&j->resp);
	dbuf_init(&j->resp);
	j->status = 202;
	strcpy(j->content_type, "application/json");
	snprintf(id, sizeof(id), "%lld", (long long)o->approval_id);
	dbuf_add(&j->resp, "{\"serial\": ", 11);
	json_write_string(&j->resp, o->serial);
	static const char mid[] = ", \"status\": \"held\", \"approval\": ";
	dbuf_add(&j->resp, mid, sizeof(mid) - 1);
	dbuf_add(&j->resp, id, strlen(id));
	dbuf_add(&j->resp, ", \"message\": ", 13);
	json_write_string(&j->resp, message);
	dbuf_add(&j->resp, "}\n", 2);
}

void issue_reply_held(struct job *j, const struct issue_outcome *o)
{
	issue_reply_held_msg(j, o, "waiting for an administrator's approval; GET /api/v1/certificates/{serial} "
				   "returns the certificate once issued");
}

/* The 503s after the intent is committed name the certificate: it will exist (recovery completes it), and its
 * requester can fetch it rather than ask again and leave it unclaimed. */
void issue_why_later(int rc, const char *serial, char *why, size_t len)
{
	if (rc == HSMCA_ERR_AGAIN) { /* why holds the signer's reason */
		char reason[ISSUE_WHY_MAX];
		snprintf(reason, sizeof(reason), "%s", why);
		snprintf(why, len, "the signer could not sign it now (%.200s); certificate %s is recorded and will be "
			 "completed by the recovery pass (GET /api/v1/certificates/%s)", reason, serial, serial);
	} else {
		snprintf(why, len, "the signer is unavailable; certificate %s is recorded and will be completed when the "
			 "signer is back (GET /api/v1/certificates/%s)", serial, serial);
	}
}

void issue_why_unrecorded(const char *serial, char *why, size_t len)
{
	snprintf(why, len, "certificate %s was signed but could not be confirmed as recorded; GET "
		 "/api/v1/certificates/%s returns it once it is (the recovery pass completes it if it was not)",
		 serial, serial);
}

void issue_why_refusal_unrecorded(const char *serial, char *why, size_t len)
{
	char reason[ISSUE_WHY_MAX];
	snprintf(reason, sizeof(reason), "%s", why);
	snprintf(why, len, "the signer refused it (%.200s), but that could not be recorded: certificate %s stays "
		 "pending until the recovery pass completes or fails it (GET /api/v1/certificates/%s)", reason, serial,
		 serial);
}

void issue_why_not_pending(const char *serial, char *why, size_t len)
{
	snprintf(why, len, "certificate %s was completed another way meanwhile; GET /api/v1/certificates/%s returns "
		 "what is stored", serial, serial);
}

void issue_intent_refusal(struct issue_outcome *o, int rc, bool renewal)
{
	if (rc == HSMCA_ERR_EXISTS && !renewal) { /* commit_recheck: stored, then completed by another path */
		o->status = 409;
		o->code = "not-pending";
		issue_why_not_pending(o->serial, o->why, sizeof(o->why));
		return;
	}
	if (rc == HSMCA_ERR_EXISTS) {
		o->status = 409;
		o->code = "already-renewed";
		snprintf(o->why, sizeof(o->why), "this certificate has already been renewed");
		return;
	}
	if (rc == HSMCA_ERR_POLICY) { /* schema 013: revoked between the renewal's checks and its intent's commit */
		o->status = 403;
		o->code = "not-renewable";
		snprintf(o->why, sizeof(o->why), "the certificate being renewed is no longer issued (revoked meanwhile)");
		return;
	}
	if (rc == HSMCA_ERR_AGAIN) { /* schema 013: the renewed row is locked (a revocation under way?) */
		o->status = 503;
		o->code = "busy";
		snprintf(o->why, sizeof(o->why), "the certificate being renewed is being changed right now; try again");
		return;
	}
	o->status = 503;
	o->code = "unavailable";
	if (rc == HSMCA_ERR_IO && o->serial[0]) /* the connection lost: the server may have stored it all the same */
		snprintf(o->why, sizeof(o->why), "could not record the request, or not confirm that it was: if certificate "
			 "%s was recorded, the recovery pass completes it (GET /api/v1/certificates/%s)", o->serial, o->serial);
	else
		snprintf(o->why, sizeof(o->why), "could not record the request");
}
