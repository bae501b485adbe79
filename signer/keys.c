#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certbuild.h"
#include "conf.h"
#include "log.h"
#include "p11_keyprot.h"
#include "pemcerts.h"
#include "state.h"

#define KERR(...) (snprintf(err, CONF_ERR_MAX, __VA_ARGS__))
#define SGN_SELFTEST_LEN 32

/* The key's own certificate can do what its operations ask, else every signature would fail to verify: a
 * certificate signer is a CA (basicConstraints cA) with keyCertSign, one that may sign CA certificates has room
 * under its pathLenConstraint, a CRL signer has cRLSign (keyUsage, when present), and a delegated OCSP
 * responder has id-kp-OCSPSigning and is issued by issuer_cert. */
static int sgn_key_cert_fits(const struct sgn_key_conf *kc, X509 *cert, X509 *parent, char *err)
{
	const struct policy_profile *p = &kc->profile;
	uint32_t flags = X509_get_extension_flags(cert), ku = X509_get_key_usage(cert); /* UINT32_MAX: no keyUsage */
	if (p->allow_cert && !(flags & EXFLAG_CA))
		return KERR("key %s: operations include cert, but %s is not a CA certificate (basicConstraints cA)",
			    kc->name, kc->cert), HSMCA_ERR_CONFIG;
	if (p->allow_cert && !(ku & KU_KEY_CERT_SIGN))
		return KERR("key %s: operations include cert, but %s has no keyCertSign", kc->name, kc->cert),
		       HSMCA_ERR_CONFIG;
	if (p->allow_cert && p->allow_ca && X509_get_pathlen(cert) == 0)
		return KERR("key %s: ca = yes, but %s has pathLenConstraint 0 (no CA may be issued under it)", kc->name,
			    kc->cert), HSMCA_ERR_CONFIG;
	if (p->allow_crl && !(ku & KU_CRL_SIGN))
		return KERR("key %s: operations include crl, but %s has no cRLSign", kc->name, kc->cert),
		       HSMCA_ERR_CONFIG;
	if (p->ocsp_delegated && (!(flags & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(cert) & XKU_OCSP_SIGN)))
		return KERR("key %s: a delegated OCSP responder, but %s has no extendedKeyUsage id-kp-OCSPSigning",
			    kc->name, kc->cert), HSMCA_ERR_CONFIG;
	if (p->ocsp_delegated && parent && X509_check_issued(parent, cert) != X509_V_OK)
		return KERR("key %s: issuer_cert %s did not issue %s", kc->name, kc->issuer_cert, kc->cert),
		       HSMCA_ERR_CONFIG;
	return 0;
}

/* Key i's certificate and the facts the signer keeps about it. Keys load in order (st->n_keys == i on entry);
 * the key counts as loaded once its certificate is read, so sgn_keys_free releases it whatever fails after. */
static int sgn_key_load(struct sgn_state *st, unsigned i, char *err)
{
	const struct sgn_key_conf *kc = &st->conf->keys[i];
	struct sgn_key *k = &st->keys[i];
	X509 *parent = NULL;
	int rc = HSMCA_ERR_CONFIG, len, sig_max;
	k->conf = kc;
	char what[SGN_NAME_MAX + 32], why[CONF_ERR_MAX];
	snprintf(what, sizeof(what), "key %s: cert", kc->name);
	if (pemcerts_load_one(kc->cert, what, &k->cert, err))
		return HSMCA_ERR_CONFIG;
	st->n_keys++;
	snprintf(what, sizeof(what), "key %s: issuer_cert", kc->name);
	if (kc->issuer_cert[0] && pemcerts_load_one(kc->issuer_cert, what, &parent, why))
		KERR("%s", why);
	else if (!p11_keytype_of_pkey(X509_get0_pubkey(k->cert), &k->type))
		KERR("key %s: unsupported public key type in %s", kc->name, kc->cert);
	else if ((rc = policy_issuer_from_x509(k->cert, parent, &k->issuer)))
		KERR("key %s: certificate unusable as an issuer (%s)", kc->name, hsmca_strerror(rc));
	else if (!(rc = sgn_key_cert_fits(kc, k->cert, parent, err))) {
		sig_max = EVP_PKEY_get_size(X509_get0_pubkey(k->cert));
		k->sig_max = sig_max > 0 && sig_max <= P11_SIG_MAX ? (size_t)sig_max : P11_SIG_MAX;
		len = i2d_X509(k->cert, &k->cert_der);
		if (len > 0)
			k->cert_der_len = (size_t)len;
		else
			rc = HSMCA_ERR_CRYPTO, KERR("key %s: cannot encode certificate %s", kc->name, kc->cert);
	}
	X509_free(parent);
	return rc;
}

int sgn_keys_load_certs(struct sgn_state *st, char *err)
{
	for (unsigned i = 0; i < st->conf->n_keys; i++) {
		int rc = sgn_key_load(st, i, err);
		if (rc)
			return rc;
	}
	return 0;
}

int sgn_keys_check_certs(const struct sgn_config *conf, char *err)
{
	struct sgn_state *st = calloc(1, sizeof(*st)); /* large: not on the stack */
	int rc;
	if (!st)
		return KERR("out of memory"), HSMCA_ERR_NOMEM;
	st->conf = conf;
	rc = sgn_keys_load_certs(st, err);
	sgn_keys_free(st);
	free(st);
	return rc;
}

/* Signs a random message with the key and verifies it with the certificate's public key. */
static int sgn_key_selftest(struct sgn_state *st, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, const struct sgn_key *k)
{
	uint8_t msg[SGN_SELFTEST_LEN], sig[P11_SIG_MAX];
	size_t sig_len = 0;
	const char *md = k->type == P11_KEY_P384 ? "SHA384" : "SHA256";
	int rc = HSMCA_ERR_CRYPTO;
	if (RAND_bytes(msg, sizeof(msg)) != 1)
		return HSMCA_ERR_CRYPTO;
	rc = p11_sign(&st->mod, s, h, k->type, msg, sizeof(msg), sig, &sig_len);
	if (rc)
		return rc;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx && EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, X509_get0_pubkey(k->cert), NULL) == 1 &&
	    EVP_DigestVerify(ctx, sig, sig_len, msg, sizeof(msg)) == 1)
		rc = 0;
	else
		rc = HSMCA_ERR_AUTH;
	EVP_MD_CTX_free(ctx);
	return rc;
}

static int sgn_worker_bind(struct sgn_state *st, struct sgn_worker *w, char *err)
{
	int rc = p11_session_open(&st->mod, st->token.slot, false, &w->session);
	if (rc) {
		KERR("worker %u: C_OpenSession: %s", w->id, p11_rv_name(p11_last_rv()));
		return rc;
	}
	for (unsigned i = 0; i < st->n_keys; i++) {
		w->handle[i] = st->keys[i].token_handle;
		if (!st->conf->session_copy)
			continue;
		rc = p11_key_copy_session(&st->mod, w->session, st->keys[i].token_handle, &w->handle[i]);
		if (rc) {
			KERR("worker %u: key %s: C_CopyObject: %s", w->id, st->keys[i].conf->name,
			     p11_rv_name(p11_last_rv()));
			return rc;
		}
	}
	return 0;
}

/* The token key must be protected as the ceremony makes it (p11_key_prot_refusal) before it signs anything:
 * a key that is, or once was, readable or extractable may exist outside the HSM, and one that may decrypt,
 * unwrap or derive serves whoever holds the PIN as more than a signer. */
static int sgn_key_protected(struct sgn_state *st, const struct sgn_key *k, char *err)
{
	struct p11_key_prot p;
	int rc = p11_key_prot_get(&st->mod, st->login_session, k->token_handle, &p);
	if (rc)
		return KERR("key %s: cannot read the attributes of the key labelled %s: %s", k->conf->name,
			    k->conf->label, p11_rv_name(p11_last_rv())), rc;
	const char *why = p11_key_prot_refusal(&p);
	if (why)
		return KERR("key %s: refused: %s", k->conf->name, why), HSMCA_ERR_POLICY;
	if ((why = p11_key_prot_advice(&p)))
		log_event("warning", "key_protection", "key=%s label=%s why=\"%s\"", k->conf->name, k->conf->label, why);
	return 0;
}

int sgn_keys_bind(struct sgn_state *st, char *err)
{
	int rc;
	for (unsigned i = 0; i < st->n_keys; i++) {
		struct sgn_key *k = &st->keys[i];
		rc = p11_object_find(&st->mod, st->login_session, CKO_PRIVATE_KEY, k->conf->label, &k->token_handle);
		if (rc) {
			KERR("key %s: private key labelled %s %s", k->conf->name, k->conf->label,
			     rc == HSMCA_ERR_NOTFOUND ? "not found" : "ambiguous or unreadable");
			return rc;
		}
		if ((rc = sgn_key_protected(st, k, err)))
			return rc;
		rc = sgn_key_selftest(st, st->login_session, k->token_handle, k);
		if (rc) {
			KERR("key %s: the token key does not match certificate %s", k->conf->name, k->conf->cert);
			return rc;
		}
	}
	for (unsigned i = 0; i < st->n_workers; i++) {
		struct sgn_worker *w = &st->workers[i];
		w->st = st;
		w->id = i;
		if ((rc = sgn_worker_bind(st, w, err)))
			return rc;
		for (unsigned k = 0; k < st->n_keys; k++)
			if ((rc = sgn_key_selftest(st, w->session, w->handle[k], &st->keys[k]))) {
				KERR("worker %u: key %s fails its self-test", i, st->keys[k].conf->name);
				return rc;
			}
	}
	return 0;
}

const struct sgn_key *sgn_key_find(const struct sgn_state *st, const struct span *label, unsigned *out_index)
{
	for (unsigned i = 0; i < st->n_keys; i++) {
		struct span l = span_make(st->keys[i].conf->label, strlen(st->keys[i].conf->label));
		if (span_equal(&l, label)) {
			*out_index = i;
			return &st->keys[i];
		}
	}
	return NULL;
}

void sgn_keys_free(struct sgn_state *st)
{
	for (unsigned i = 0; i < st->n_keys; i++) {
		X509_free(st->keys[i].cert);
		OPENSSL_free(st->keys[i].cert_der);
	}
	st->n_keys = 0;
}
