#include "app.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auth.h"
#include "certbuild.h"
#include "conf.h"
#include "intent.h"
#include "pemcerts.h"
#include "profrec.h"

#define APP_CHAIN_MAX (64u * 1024u)
#define APP_CHAIN_CERTS_MAX 1024u /* certificates in conf.chain: APP_CHAIN_MAX, the PEM served, bounds it first */
#define APP_RENEW_KEY_DOMAIN "hsmca-renewal-challenge-key-v1" /* the renewal challenges' key: HMAC(intent key, this) */

/* HSMCA_ERR_CONFIG, saying so ("WHAT PATH permits ..."), if cert's nameConstraints permit directory names only
 * under some prefix. The frontend writes subjects CN=<first name> (tbsbuild.c), never under a prefix, so every
 * certificate signed under such a CA would fail verification (a CA issued by an hsmca CA profile with
 * dn_prefix cannot be this frontend's issuer, nor above it). */
static int app_issuer_pins_dn(X509 *cert, const char *what, const char *path, char *err)
{
	NAME_CONSTRAINTS *nc = X509_get_ext_d2i(cert, NID_name_constraints, NULL, NULL);
	bool dn = false;
	for (int i = 0; nc && i < sk_GENERAL_SUBTREE_num(nc->permittedSubtrees); i++)
		dn = dn || sk_GENERAL_SUBTREE_value(nc->permittedSubtrees, i)->base->type == GEN_DIRNAME;
	NAME_CONSTRAINTS_free(nc);
	if (!dn)
		return 0;
	snprintf(err, CONF_ERR_MAX, "%s %s permits only subjects under a directory name; this frontend's are "
		 "CN=<first name> and would not verify", what, path);
	return HSMCA_ERR_CONFIG;
}

/* chain: its certificates, each checked, kept as PEM written again from them (served at /api/v1/ca/chain and
 * with replies: nothing of the file but its certificates) */
static int app_read_chain(struct app *a, char *err)
{
	STACK_OF(X509) *certs = NULL;
	BIO *out = NULL;
	char *pem;
	long len;
	int rc = pemcerts_load(a->conf.chain, "chain", APP_CHAIN_CERTS_MAX, &certs, err);
	if (!rc && !(out = BIO_new(BIO_s_mem())))
		rc = HSMCA_ERR_NOMEM;
	/* a directory-name pin anywhere above the issuers applies to every certificate below it too */
	for (int i = 0; !rc && i < sk_X509_num(certs); i++)
		if (!(rc = app_issuer_pins_dn(sk_X509_value(certs, i), "a CA in chain", a->conf.chain, err)) &&
		    !PEM_write_bio_X509(out, sk_X509_value(certs, i)))
			rc = HSMCA_ERR_NOMEM;
	if (!rc && ((len = BIO_get_mem_data(out, &pem)) <= 0 || (size_t)len > APP_CHAIN_MAX)) {
		snprintf(err, CONF_ERR_MAX, "chain %s: its certificates take more than %u bytes", a->conf.chain,
			 APP_CHAIN_MAX);
		rc = HSMCA_ERR_CONFIG;
	}
	if (!rc && !(a->chain_pem = malloc((size_t)len + 1)))
		rc = HSMCA_ERR_NOMEM;
	if (!rc) {
		memcpy(a->chain_pem, pem, (size_t)len);
		a->chain_pem[len] = 0;
		a->chain_len = (size_t)len;
	}
	if (rc == HSMCA_ERR_NOMEM)
		snprintf(err, CONF_ERR_MAX, "out of memory reading chain %s", a->conf.chain);
	ERR_clear_error();
	sk_X509_pop_free(certs, X509_free);
	BIO_free(out);
	return rc;
}

/* ca (the issuer of profile i, or a CA above it) into issuer_fit[i] */
static int app_fit_push(struct app *a, unsigned i, X509 *ca, char *err)
{
	int rc = issuerfit_push(&a->issuer_fit[i], ca);
	if (rc == HSMCA_ERR_PARSE)
		snprintf(err, CONF_ERR_MAX, "profile %s: the nameConstraints or extendedKeyUsage of its issuer or a CA "
			 "above it does not decode", a->profiles.p[i].name);
	return rc;
}

/* The PEM of start, then the CAs of up above it, each the issuer of the one before (X509_check_issued: name,
 * AKI and key usage), into *out (owned); each CA also into fit, unless profile is -1. */
static int app_chain_walk(struct app *a, STACK_OF(X509) *up, X509 *start, int profile, char **out, char *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	X509 *cur = start;
	char *pem = NULL;
	long n;
	int rc = 0;
	if (!b || !PEM_write_bio_X509(b, cur) || (profile >= 0 && (rc = app_fit_push(a, (unsigned)profile, cur, err))))
		rc = rc ? rc : HSMCA_ERR_NOMEM;
	for (int depth = 0; !rc && depth < 8 && X509_check_issued(cur, cur) != X509_V_OK; depth++) {
		X509 *parent = NULL;
		for (int k = 0; !parent && k < sk_X509_num(up); k++) {
			X509 *c = sk_X509_value(up, k);
			if (X509_cmp(c, cur) != 0 && X509_check_issued(c, cur) == X509_V_OK)
				parent = c;
		}
		if (!parent)
			break; /* the rest is the client's trust store's (conf.chain need not hold it) */
		if (!PEM_write_bio_X509(b, parent) ||
		    (profile >= 0 && (rc = app_fit_push(a, (unsigned)profile, parent, err))))
			rc = rc ? rc : HSMCA_ERR_NOMEM;
		cur = parent;
	}
	if (!rc && ((n = BIO_get_mem_data(b, &pem)) <= 0 || !(*out = strndup(pem, (size_t)n))))
		rc = HSMCA_ERR_NOMEM;
	BIO_free(b);
	return rc;
}

/* issuer_chain[i]: profile i's issuer certificate, then the CAs of conf.chain above it, each the issuer of the
 * one before, as PEM (a frontend with intermediates of its own per profile sent every certificate with
 * conf.chain, another intermediate's); former_chain[i] the same for former_issuers[i]. */
static int app_issuer_chains(struct app *a, char *err)
{
	STACK_OF(X509) *up = sk_X509_new_null();
	BIO *in = BIO_new_mem_buf(a->chain_pem, (int)a->chain_len);
	X509 *x;
	int rc = up && in ? 0 : HSMCA_ERR_NOMEM;
	while (!rc && (x = PEM_read_bio_X509(in, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(up, x)) {
			X509_free(x);
			rc = HSMCA_ERR_NOMEM;
		}
	ERR_clear_error(); /* the end of the PEM data */
	for (unsigned i = 0; !rc && i < a->profiles.n; i++)
		if (!(rc = app_chain_walk(a, up, a->issuers[i].cert, (int)i, &a->issuer_chain[i], err)))
			rc = issuerfit_check_profile(&a->issuer_fit[i], &a->profiles.p[i], err);
	for (size_t i = 0; !rc && i < a->n_former; i++)
		rc = app_chain_walk(a, up, a->former_issuers[i], -1, &a->former_chain[i], err);
	if (rc == HSMCA_ERR_NOMEM)
		snprintf(err, CONF_ERR_MAX, "out of memory building the issuers' chains");
	else if (rc == HSMCA_ERR_LIMIT)
		snprintf(err, CONF_ERR_MAX, "an issuer's chain is longer than %d certificates", ISSUERFIT_DEPTH_MAX);
	sk_X509_pop_free(up, X509_free);
	BIO_free(in);
	return rc;
}

/* former_issuers: a PEM bundle of 1..APP_FORMER_ISSUERS_MAX CA certificates (read as root, as every file). */
static int app_read_former_issuers(struct app *a, char *err)
{
	const char *path = a->conf.former_issuers;
	STACK_OF(X509) *certs = NULL;
	if (!path[0])
		return 0;
	int rc = pemcerts_load(path, "former_issuers", APP_FORMER_ISSUERS_MAX, &certs, err);
	for (int i = 0; !rc && i < sk_X509_num(certs); i++)
		if (X509_check_ca(sk_X509_value(certs, i)) < 1) {
			snprintf(err, CONF_ERR_MAX, "former_issuers %s: certificate %d is not a CA certificate", path, i + 1);
			rc = HSMCA_ERR_CONFIG;
		}
	while (!rc && sk_X509_num(certs) > 0)
		a->former_issuers[a->n_former++] = sk_X509_shift(certs);
	sk_X509_pop_free(certs, X509_free);
	ERR_clear_error();
	return rc;
}

/* checkpoint_cert: read as root (before the privilege drop) like every other file; a dedicated key's: not a
 * CA, keyUsage present with digitalSignature */
static int app_read_checkpoint_cert(struct app *a, char *err)
{
	const char *path = a->conf.checkpoint_cert;
	if (!path[0])
		return 0;
	int rc = pemcerts_load_one(path, "checkpoint_cert", &a->checkpoint_cert, err);
	if (rc)
		return rc;
	uint32_t flags = X509_get_extension_flags(a->checkpoint_cert);
	if ((flags & EXFLAG_INVALID) || !(flags & EXFLAG_KUSAGE) ||
	    !(X509_get_key_usage(a->checkpoint_cert) & KU_DIGITAL_SIGNATURE)) {
		snprintf(err, CONF_ERR_MAX, "checkpoint_cert %s: needs a keyUsage with digitalSignature (hsmca-ceremony "
			 "checkpoint makes one)", path);
		return HSMCA_ERR_CONFIG;
	}
	if (X509_check_ca(a->checkpoint_cert) != 0) {
		/* checkpoint_cert is for a dedicated key; a CA key that signs checkpoints is named by a profile */
		snprintf(err, CONF_ERR_MAX, "checkpoint_cert %s is a CA certificate: give a dedicated key's (hsmca-ceremony "
			 "checkpoint), or leave checkpoint_cert out to use a profile's issuing key", path);
		return HSMCA_ERR_CONFIG;
	}
	return 0;
}

/* A profile's cfssl_key is a secret (whoever holds it issues under the profile's account): the file holding one
 * may be read by its owner alone, as frontend.conf holding a database password (fconfig_load). */
static int app_profiles_private(const struct app *a, char *err)
{
	const struct profile *keyed = NULL;
	struct stat st;
	for (unsigned i = 0; !keyed && i < a->profiles.n; i++)
		if (a->profiles.p[i].cfssl_key_len)
			keyed = &a->profiles.p[i];
	if (!keyed || (stat(a->conf.profiles, &st) == 0 && !(st.st_mode & (S_IRWXG | S_IRWXO))))
		return 0;
	snprintf(err, CONF_ERR_MAX, "%s: profile %s has a cfssl_key, and group or others may read the file (chmod 600)",
		 a->conf.profiles, keyed->name);
	return HSMCA_ERR_CONFIG;
}

int app_load(struct app *a, char *err)
{
	char *text = NULL;
	size_t len = 0;
	/* one read: the profiles served and the definitions recorded (profrec.h) come from the same bytes */
	int rc = conf_read_file(a->conf.profiles, &text, &len, err);
	if (rc == 0 && (rc = profiles_parse(a->conf.profiles, text, len, &a->profiles, err)) == 0)
		rc = profrec_definitions(text, len, &a->profiles, a->profile_def, err);
	conf_file_free(text, len);
	if (rc == 0)
		rc = app_profiles_private(a, err);
	if (rc)
		return rc;
	for (unsigned i = 0; i < a->profiles.n; i++) {
		const struct profile *p = &a->profiles.p[i];
		struct app_issuer *iss = &a->issuers[i];
		char what[PROF_NAME_MAX + 32];
		snprintf(what, sizeof(what), "profile %s: issuer_cert", p->name);
		if ((rc = pemcerts_load_one(p->issuer_cert, what, &iss->cert, err)))
			return rc;
		if ((rc = policy_issuer_from_x509(iss->cert, NULL, &iss->facts))) {
			snprintf(err, CONF_ERR_MAX, "profile %s: %s cannot issue (no SKI or unsupported key)", p->name,
				 p->issuer_cert);
			return rc;
		}
		snprintf(what, sizeof(what), "profile %s: issuer", p->name);
		if ((rc = app_issuer_pins_dn(iss->cert, what, p->issuer_cert, err)))
			return rc;
		for (unsigned k = 0; k < i; k++) /* one key, one certificate: the record and the checks have one */
			if (!strcmp(a->profiles.p[k].issuer, p->issuer) && X509_cmp(a->issuers[k].cert, iss->cert) != 0) {
				snprintf(err, CONF_ERR_MAX, "profile %s: issuer %s with issuer_cert %s, but profile %s gives "
					 "that key another certificate (%s)", p->name, p->issuer, p->issuer_cert,
					 a->profiles.p[k].name, a->profiles.p[k].issuer_cert);
				return HSMCA_ERR_CONFIG;
			}
		long issuer_pathlen = X509_get_pathlen(iss->cert); /* -1: no pathLenConstraint */
		if (p->ca && issuer_pathlen >= 0 && (long)p->path_length >= issuer_pathlen) {
			snprintf(err, CONF_ERR_MAX, "profile %s: path_length %u must be below the pathLenConstraint %ld of "
				 "its issuer %s (a CA issued under it would not be valid)", p->name, p->path_length,
				 issuer_pathlen, p->issuer_cert);
			return HSMCA_ERR_CONFIG;
		}
	}
	if ((rc = app_read_checkpoint_cert(a, err)) || (rc = app_read_chain(a, err)) ||
	    (rc = app_read_former_issuers(a, err)) || (rc = app_issuer_chains(a, err)) ||
	    (rc = intent_key_read("intent_key_file", a->conf.intent_key_file, a->intent_key, err)) ||
	    (a->conf.intent_key_accept_file[0] &&
	     (rc = intent_key_read("intent_key_accept_file", a->conf.intent_key_accept_file, a->intent_key_accept,
				   err))))
		return rc;
	a->has_intent_key_accept = a->conf.intent_key_accept_file[0] != 0;
	if ((rc = intent_hmac_parts(a->intent_key, APP_RENEW_KEY_DOMAIN, NULL, 0, a->renew_key)) ||
	    (a->has_intent_key_accept &&
	     (rc = intent_hmac_parts(a->intent_key_accept, APP_RENEW_KEY_DOMAIN, NULL, 0, a->renew_key_accept)))) {
		snprintf(err, CONF_ERR_MAX, "cannot derive the renewal challenges' key from the intent key");
		return rc;
	}
	a->rl = ratelimit_new();
	return a->rl ? 0 : HSMCA_ERR_NOMEM;
}

const char *app_chain_for(const struct app *a, const char *issuer, const uint8_t *der, size_t der_len)
{
	for (unsigned i = 0; i < a->profiles.n; i++)
		if (!strcmp(a->profiles.p[i].issuer, issuer) && a->issuer_chain[i])
			return a->issuer_chain[i];
	const uint8_t *p = der;
	X509 *cert = der_len <= LONG_MAX ? d2i_X509(NULL, &p, (long)der_len) : NULL;
	const char *chain = a->chain_pem;
	for (size_t i = 0; cert && i < a->n_former; i++)
		if (a->former_chain[i] && X509_check_issued(a->former_issuers[i], cert) == X509_V_OK &&
		    X509_verify(cert, X509_get0_pubkey(a->former_issuers[i])) == 1) {
			chain = a->former_chain[i];
			break;
		}
	X509_free(cert);
	ERR_clear_error();
	return chain;
}

void app_db_keys(const struct app *a, struct db *db)
{
	db_set_row_keys(db, a->intent_key, a->has_intent_key_accept ? a->intent_key_accept : NULL);
}

void app_wipe(struct app *a)
{
	OPENSSL_cleanse(a->renew_key, sizeof(a->renew_key));
	OPENSSL_cleanse(a->renew_key_accept, sizeof(a->renew_key_accept));
	OPENSSL_cleanse(a->intent_key, sizeof(a->intent_key));
	OPENSSL_cleanse(a->intent_key_accept, sizeof(a->intent_key_accept));
	profiles_wipe(&a->profiles);
	ratelimit_wipe(a->rl);
}
