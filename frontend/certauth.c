#include "certauth.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "issue.h"
#include "log.h"

/* The lowercase hex serial of a DER certificate (no leading zeros, as stored). */
static int certauth_serial(const uint8_t *der, size_t len, char out[DB_SERIAL_HEX_MAX])
{
	const unsigned char *p = der;
	X509 *x = d2i_X509(NULL, &p, (long)len);
	BIGNUM *bn = x && p == der + len ? ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL) : NULL;
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	int rc = hex && hex[0] != '-' && strlen(hex) < DB_SERIAL_HEX_MAX ? 0 : HSMCA_ERR_PARSE;
	if (!rc)
		for (size_t i = 0; i <= strlen(hex); i++)
			out[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] - 'A' + 'a' : hex[i]);
	OPENSSL_free(hex);
	BN_free(bn);
	X509_free(x);
	return rc;
}

int certauth_genuine(const struct app *a, const struct db_cert_row *row, char *why)
{
	char serial[DB_SERIAL_HEX_MAX];
	const unsigned char *p = row->der;
	X509 *x = NULL;
	int rc = HSMCA_ERR_AUTH;
	if (!row->der || certauth_serial(row->der, row->der_len, serial) != 0) {
		snprintf(why, ISSUE_WHY_MAX, "certificate %s: no readable certificate is stored", row->serial_hex);
		goto out;
	}
	if (strcmp(serial, row->serial_hex) != 0) {
		snprintf(why, ISSUE_WHY_MAX, "certificate %s: the stored certificate has serial %s", row->serial_hex,
			 serial);
		goto out;
	}
	if (!(x = d2i_X509(NULL, &p, (long)row->der_len)))
		goto out;
	snprintf(why, ISSUE_WHY_MAX, "certificate %s: not signed by issuer %s%s", row->serial_hex, row->issuer,
		 a->n_former ? " nor by a former issuer" : "");
	for (size_t i = 0; rc && i < a->profiles.n; i++) {
		X509 *ca = a->issuers[i].cert;
		EVP_PKEY *k = ca && !strcmp(a->profiles.p[i].issuer, row->issuer) ? X509_get0_pubkey(ca) : NULL;
		if (k && X509_verify(x, k) == 1)
			rc = 0;
	}
	/* an issuing CA no profile names any more (former_issuers: trusted as the profiles file is): what it
	 * signed is this appliance's; the row's label is the one it was issued under */
	for (size_t i = 0; rc && i < a->n_former; i++) {
		EVP_PKEY *k = X509_get0_pubkey(a->former_issuers[i]);
		if (k && X509_verify(x, k) == 1)
			rc = 0;
	}
out:
	X509_free(x);
	ERR_clear_error();
	return rc;
}

int certauth_lookup(struct worker *w, const uint8_t *der, size_t len, struct db_cert_row *out)
{
	char serial[DB_SERIAL_HEX_MAX];
	memset(out, 0, sizeof(*out));
	int rc = certauth_serial(der, len, serial);
	if (rc || (rc = issue_db(w)) || (rc = db_cert_get(w->db, serial, out)))
		return rc;
	if (!out->der || out->der_len != len || CRYPTO_memcmp(out->der, der, len) != 0) {
		db_cert_row_free(out);
		return HSMCA_ERR_NOTFOUND;
	}
	/* the handshake checked the chain against client_ca, which may trust more than this appliance's own
	 * issuers (a subordinate CA it issued, another CA): a certificate of theirs under a serial this appliance
	 * never used, put in a row by whoever can write the database, would log in as that row's account */
	char why[ISSUE_WHY_MAX];
	if (certauth_genuine(w->app, out, why) != 0) {
		log_event("error", "row_refused", "table=certificates serial=%s why=\"%s\"", out->serial_hex, why);
		atomic_fetch_add(&w->app->rows_refused, 1);
		db_cert_row_free(out);
		return HSMCA_ERR_NOTFOUND;
	}
	return 0;
}

enum auth_result certauth_request(struct worker *w, const struct job *j, struct db_account *out, bool *via_cert)
{
	struct db_cert_row c;
	enum auth_result ar = AUTH_BAD;
	time_t now = time(NULL);
	if (via_cert)
		*via_cert = false;
	if (j->auth[0] || !j->client_cert)
		return auth_check(w, j->auth, j->peer, out);
	/* refused certificates count per address like wrong passwords: after AUTH_FAIL_LIMIT, 429 without a
	 * lookup or an audit row (the holder of a revoked login certificate cannot fill the log) */
	if (auth_peer_limited(w, j->peer))
		return AUTH_LIMITED;
	int rc = certauth_lookup(w, j->client_cert, j->client_cert_len, &c);
	if (rc && rc != HSMCA_ERR_NOTFOUND && rc != HSMCA_ERR_PARSE)
		return AUTH_ERROR;
	bool found = rc == 0; /* rc is reused below for the account */
	const struct profile *p = rc ? NULL : profiles_find(&w->app->profiles, c.profile);
	/* a login is a person's: a certificate requested by a machine credential (CFSSL authsign, an API key;
	 * or one that renews such a certificate) is none, even under a profile that has become a login profile
	 * since (login and cfssl_key exclude each other; an API key gets no certificate of a login profile), nor
	 * is the renewal of a certificate revoked since (its key's thief may have renewed it) */
	bool machine = !rc && c.by_authsign;
	if (!rc && p && p->login && !machine && db_cert_by_machine(w->db, c.serial_hex, &machine)) {
		db_cert_row_free(&c);
		return AUTH_ERROR;
	}
	if (!rc && (!p || !p->login || machine)) {
		ar = AUTH_MISSING; /* a service's certificate, not a login: ask for credentials */
	} else if (!rc && !profile_allows_account(p, c.requester)) {
		/* the profile's accounts no longer name its holder (taken off since): refused as a revoked one is,
		 * as its renewal and any use of the profile by that account are */
	} else if (!rc && !strcmp(c.status, "issued") && c.not_before <= now && now < c.not_after) {
		rc = db_account_get(w->db, c.requester, out);
		if (rc == HSMCA_ERR_AUTH) /* its row was changed outside the frontend: no login */
			auth_row_refused(w, j->peer);
		else if (rc && rc != HSMCA_ERR_NOTFOUND)
			ar = AUTH_ERROR;
		else if (!rc && !out->disabled)
			ar = AUTH_OK;
	}
	if (ar == AUTH_OK && via_cert)
		*via_cert = true;
	if (ar == AUTH_BAD) {
		auth_peer_failed(w, j->peer);
		atomic_fetch_add(&w->app->auth_failures, 1);
		log_event("warn", "cert_login_refused", "serial=%s status=%s peer=%s", found ? c.serial_hex : "-",
			  found ? c.status : "unknown", j->peer);
	}
	db_cert_row_free(&c);
	return ar;
}

bool certauth_is_read(const struct job *j)
{
	return j->method == EVHTTP_REQ_GET || j->method == EVHTTP_REQ_HEAD;
}

bool certauth_missing_limited(struct worker *w, const struct job *j)
{
	return !certauth_is_read(j) && auth_missing_failed(w, j->peer) == AUTH_LIMITED;
}

int certauth_require(struct worker *w, struct job *j, struct db_account *out, bool *via_cert)
{
	switch (certauth_request(w, j, out, via_cert)) {
	case AUTH_OK:
		return 0;
	case AUTH_MISSING:
		if (certauth_missing_limited(w, j)) {
			job_error(j, 429, "rate-limited", "too many failed logins; try again later");
			return -1;
		}
		if (!certauth_is_read(j))
			issue_audit_refusal(w, "-", j->peer, "unauthorized",
					    "no credentials (HTTP Basic, an API key or a login certificate)");
		job_error(j, 401, "unauthorized",
			  "credentials required (HTTP Basic, a Bearer API key or a login client certificate)");
		return -1;
	case AUTH_LIMITED:
		job_error(j, 429, "rate-limited", "too many failed logins; try again later");
		return -1;
	case AUTH_ERROR:
		job_error(j, 503, "unavailable", "the account database is unavailable");
		return -1;
	default:
		issue_audit_refusal(w, "-", j->peer, "unauthorized", "wrong credentials");
		job_error(j, 401, "unauthorized", "wrong credentials");
		return -1;
	}
}
