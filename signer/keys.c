#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "certbuild.h"
#include "conf.h"
#include "state.h"

#define KERR(...) (snprintf(err, CONF_ERR_MAX, __VA_ARGS__))
#define SGN_SELFTEST_LEN 32

int sgn_keys_load_certs(struct sgn_state *st, char *err)
{
	for (unsigned i = 0; i < st->conf->n_keys; i++) {
		const struct sgn_key_conf *kc = &st->conf->keys[i];
		struct sgn_key *k = &st->keys[i];
		X509 *parent = NULL;
		int rc = HSMCA_ERR_CONFIG, len;
		k->conf = kc;
		k->cert = certbuild_read_pem(kc->cert);
		if (!k->cert) {
			KERR("key %s: cannot read certificate %s", kc->name, kc->cert);
			return HSMCA_ERR_CONFIG;
		}
		if (kc->issuer_cert[0] && !(parent = certbuild_read_pem(kc->issuer_cert))) {
			KERR("key %s: cannot read issuer certificate %s", kc->name, kc->issuer_cert);
			return HSMCA_ERR_CONFIG;
		}
		if (!p11_keytype_of_pkey(X509_get0_pubkey(k->cert), &k->type))
			KERR("key %s: unsupported public key type", kc->name);
		else if ((rc = policy_issuer_from_x509(k->cert, parent, &k->issuer)))
			KERR("key %s: certificate unusable as an issuer (%s)", kc->name, hsmca_strerror(rc));
		X509_free(parent);
		if (rc)
			return rc;
		len = i2d_X509(k->cert, &k->cert_der);
		if (len <= 0)
			return HSMCA_ERR_CRYPTO;
		k->cert_der_len = (size_t)len;
		st->n_keys++;
	}
	return 0;
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
