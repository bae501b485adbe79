/* Root, intermediate, OCSP-responder and audit-checkpoint ceremonies: generate a key in the token, build the certificate,
 * lint the TBS with the signer's own rules, sign inside the HSM, verify and lint again, write it (never
 * overwriting) and record everything in the transcript. */
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certbuild.h"
#include "conf.h"
#include "csr.h"
#include "ceremony.h"
#include "p11_keyprot.h"
#include "pemcerts.h"
#include "policy.h"

struct cer_signer {
	X509 *cert; /* issuer certificate; NULL for a root (self-signed) */
	CK_OBJECT_HANDLE key;
	EVP_PKEY *pub;
	enum p11_keytype type;
};

static int cer_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok = e && X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	if (!ok)
		fprintf(stderr, "ceremony: bad extension %s = %s\n", OBJ_nid2sn(nid), value);
	return ok ? 0 : HSMCA_ERR_CONFIG;
}

/* "a, b" -> "permitted;DNS:a,permitted;DNS:b" appended to out; HSMCA_ERR_LIMIT if it would not fit whole (a
 * constraint cut in the middle would name another domain, and the ones after it would be lost) */
static int cer_nc_list(char *out, size_t max, const char *kind, const char *list)
{
	char t[CER_TEXT_MAX];
	struct conf_list l = { .p = list };
	int rc;
	while ((rc = conf_list_next(&l, t, sizeof(t))) == 1) {
		size_t n = strlen(out);
		int w = snprintf(out + n, max - n, "%s%s;DNS:%s", n ? "," : "", kind, t);
		if (w < 0 || (size_t)w >= max - n) {
			fprintf(stderr, "ceremony: the name constraints (permitted_dns, excluded_dns) are too long\n");
			return HSMCA_ERR_LIMIT;
		}
	}
	if (rc)
		fprintf(stderr, "ceremony: permitted_dns, excluded_dns: an empty name (\"a,,b\", a comma at the start or "
				"end) or one too long\n");
	return rc;
}

static int cer_exts_add(struct cer_ctx *c, X509 *x, X509V3_CTX *pctx);

static int cer_exts(struct cer_ctx *c, X509 *x, X509 *issuer)
{
	X509V3_CTX ctx;
	int rc;
	CONF *empty = NCONF_new(NULL); /* some methods (certificatePolicies) insist on a config database */
	if (!empty)
		return HSMCA_ERR_NOMEM;
	X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
	X509V3_set_nconf(&ctx, empty);
	rc = cer_exts_add(c, x, &ctx);
	NCONF_free(empty);
	return rc;
}

static int cer_exts_add(struct cer_ctx *c, X509 *x, X509V3_CTX *pctx)
{
	const struct cer_config *cf = &c->conf;
	char v[CER_TEXT_MAX * 3];
	X509V3_CTX ctx = *pctx;
	int rc;
	if (c->args->kind == CER_OCSP) {
		if ((rc = cer_ext(x, &ctx, NID_key_usage, "critical,digitalSignature")) ||
		    (rc = cer_ext(x, &ctx, NID_ext_key_usage, "OCSPSigning")) ||
		    (rc = cer_ext(x, &ctx, NID_id_pkix_OCSP_noCheck, "ignored")))
			return rc;
	} else if (c->args->kind == CER_CHECKPOINT) {
		/* signs audit checkpoints only (the signer pins operations = checkpoint): no EKU, no CA */
		if ((rc = cer_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE")) ||
		    (rc = cer_ext(x, &ctx, NID_key_usage, "critical,digitalSignature")))
			return rc;
	} else {
		snprintf(v, sizeof(v), "critical,CA:TRUE,pathlen:%d", cf->path_length);
		if ((rc = cer_ext(x, &ctx, NID_basic_constraints, v)) ||
		    (rc = cer_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature")))
			return rc;
	}
	if ((rc = cer_ext(x, &ctx, NID_subject_key_identifier, "hash")) ||
	    (rc = cer_ext(x, &ctx, NID_authority_key_identifier, "keyid:always")))
		return rc;
	/* each list of at most CER_TEXT_MAX - 1 characters makes at most CER_TEXT_MAX / 2 entries of at most
	 * "excluded;DNS:" and a character and a comma: room for both, checked all the same */
	char nc[CER_TEXT_MAX * 16] = "critical";
	if ((rc = cer_nc_list(nc, sizeof(nc), "permitted", cf->permitted_dns)) ||
	    (rc = cer_nc_list(nc, sizeof(nc), "excluded", cf->excluded_dns)))
		return rc;
	if (strcmp(nc, "critical") != 0 && (rc = cer_ext(x, &ctx, NID_name_constraints, nc)))
		return rc;
	/* OpenSSL's extension syntax splits values at commas: a URL with one would add a name of its own */
	const char *const urls[] = { cf->crl_url, cf->ocsp_url, cf->ca_issuers_url };
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
		if (strpbrk(urls[i], ", \t")) {
			fprintf(stderr, "ceremony: a URL with a comma or a space (%s)\n", urls[i]);
			return HSMCA_ERR_CONFIG;
		}
	if (cf->policy_oids[0] && (rc = cer_ext(x, &ctx, NID_certificate_policies, cf->policy_oids)))
		return rc;
	if (cf->crl_url[0]) {
		snprintf(v, sizeof(v), "URI:%s", cf->crl_url);
		if ((rc = cer_ext(x, &ctx, NID_crl_distribution_points, v)))
			return rc;
	}
	if (cf->ocsp_url[0] || cf->ca_issuers_url[0]) {
		snprintf(v, sizeof(v), "%s%s%s%s%s", cf->ocsp_url[0] ? "OCSP;URI:" : "", cf->ocsp_url,
			 cf->ocsp_url[0] && cf->ca_issuers_url[0] ? "," : "", cf->ca_issuers_url[0] ? "caIssuers;URI:" : "",
			 cf->ca_issuers_url);
		if ((rc = cer_ext(x, &ctx, NID_info_access, v)))
			return rc;
	}
	return 0;
}

/* The certificate, unsigned: serial from the HSM's RNG, validity from now, the new key. */
static int cer_build(struct cer_ctx *c, EVP_PKEY *pk, X509 *issuer, X509 **out)
{
	uint8_t rnd[CER_SERIAL_LEN];
	X509 *x = X509_new();
	X509_NAME *subj = NULL;
	ASN1_INTEGER *serial = NULL;
	time_t now = time(NULL);
	int rc = HSMCA_ERR_CRYPTO;
	if (!x || (rc = cer_subject_parse(c->conf.subject, &subj)) || (rc = p11_random(&c->mod, c->s, rnd, sizeof(rnd))))
		goto out;
	rc = HSMCA_ERR_CRYPTO;
	if (!(serial = certbuild_serial(rnd, sizeof(rnd))) || !X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_serialNumber(x, serial) || !X509_set_subject_name(x, subj) ||
	    !X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : subj) || !X509_set_pubkey(x, pk) ||
	    !X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &now) ||
	    /* both ends count (RFC 5280 4.1.2.5): exactly validity_days, from one reading of the clock */
	    !X509_time_adj_ex(X509_getm_notAfter(x), (int)c->conf.validity_days, -1, &now))
		goto out;
	if ((rc = cer_exts(c, x, issuer)))
		goto out;
	*out = x;
	x = NULL;
out:
	X509_free(x);
	X509_NAME_free(subj);
	ASN1_INTEGER_free(serial);
	return rc;
}

static void cer_profile(const struct cer_ctx *c, X509 *issuer, struct policy_profile *p)
{
	memset(p, 0, sizeof(*p));
	p->allow_cert = true;
	if (c->args->kind == CER_OCSP) {
		struct span oid;
		p->ku_allowed = TBS_KU_DIGITAL_SIGNATURE;
		p->max_validity_days = CER_OCSP_MAX_DAYS;
		p->allow_nocheck = true; /* RFC 6960 4.2.2.2.1: the responder's own certificate */
		if (policy_eku_oid("OCSPSigning", &oid)) {
			memcpy(p->eku[0], oid.data, oid.len);
			p->eku_len[0] = oid.len;
			p->n_eku = 1;
		}
		return;
	}
	if (c->args->kind == CER_CHECKPOINT) {
		p->ku_allowed = TBS_KU_DIGITAL_SIGNATURE;
		p->max_validity_days = CER_CHECKPOINT_MAX_DAYS;
		return;
	}
	long parent_pathlen = issuer ? X509_get_pathlen(issuer) : -1;
	p->allow_policies = true; /* policy_oids */
	p->allow_ca = !issuer || parent_pathlen != 0;
	p->max_pathlen = parent_pathlen > 0 ? (uint64_t)parent_pathlen - 1 : CER_MAX_PATHLEN;
	p->ku_allowed = TBS_KU_KEY_CERT_SIGN | TBS_KU_CRL_SIGN | TBS_KU_DIGITAL_SIGNATURE;
	p->max_validity_days = c->args->kind == CER_ROOT ? CER_ROOT_MAX_DAYS : CER_INT_MAX_DAYS;
}

/* Lints a TBS with the signer's rules; where names the step for the message. */
static int cer_lint(struct cer_ctx *c, struct span tbs, const struct policy_issuer *iss, X509 *issuer,
		    const char *where)
{
	struct tbs_cert t;
	struct policy_profile p;
	char why[TBS_WHY_MAX];
	int rc = HSMCA_ERR_POLICY;
	cer_profile(c, issuer, &p);
	if (!tbs_cert_parse(tbs, &t, why) || (rc = policy_check_cert(&t, iss, &p, why))) {
		fprintf(stderr, "ceremony: lint %s signing failed: %s\n", where, why);
		return HSMCA_ERR_POLICY;
	}
	return 0;
}

int cer_key_fit(struct cer_ctx *c, CK_OBJECT_HANDLE key, const char *label)
{
	struct p11_key_prot prot;
	int rc = p11_key_prot_get(&c->mod, c->s, key, &prot);
	if (rc) {
		fprintf(stderr, "ceremony: cannot read the protection of key %s (%s)\n", label, p11_rv_name(p11_last_rv()));
		return rc;
	}
	const char *why = p11_key_prot_refusal(&prot);
	if (why) {
		fprintf(stderr, "ceremony: key %s refused: %s\n", label, why);
		return HSMCA_ERR_AUTH;
	}
	if ((why = p11_key_prot_advice(&prot)))
		fprintf(stderr, "ceremony: warning: key %s: %s\n", label, why);
	return 0;
}

/* The issuing key: the issuer certificate's key, found by label, protected as a CA key must be, and proven to
 * match it. */
static int cer_signer_open(struct cer_ctx *c, struct cer_signer *sg)
{
	CK_OBJECT_HANDLE pubh;
	int rc;
	char err[CONF_ERR_MAX];
	if (pemcerts_load_one(c->conf.issuer_cert, "issuer_cert", &sg->cert, err)) {
		fprintf(stderr, "ceremony: %s\n", err);
		return HSMCA_ERR_CONFIG;
	}
	/* before a key is made or anything signed: the lint takes an issuer without basicConstraints for one
	 * with no path length limit, and only X509_check_issued refused the result after the token had signed */
	uint32_t xf = X509_get_extension_flags(sg->cert);
	if (!(xf & EXFLAG_CA) || !(xf & EXFLAG_KUSAGE) || !(X509_get_key_usage(sg->cert) & KU_KEY_CERT_SIGN)) {
		fprintf(stderr, "ceremony: issuer certificate %s is not a CA that may sign certificates (it needs "
				"basicConstraints CA:TRUE and keyUsage keyCertSign)\n", c->conf.issuer_cert);
		return HSMCA_ERR_CONFIG;
	}
	if ((rc = p11_object_find(&c->mod, c->s, CKO_PRIVATE_KEY, c->conf.issuer_key_label, &sg->key)) ||
	    (rc = p11_object_find(&c->mod, c->s, CKO_PUBLIC_KEY, c->conf.issuer_key_label, &pubh)) ||
	    (rc = p11_pubkey_get(&c->mod, c->s, pubh, &sg->pub))) {
		fprintf(stderr, "ceremony: issuer key %s not found on the token\n", c->conf.issuer_key_label);
		return rc;
	}
	if ((rc = cer_key_fit(c, sg->key, c->conf.issuer_key_label)))
		return rc;
	if (EVP_PKEY_eq(sg->pub, X509_get0_pubkey(sg->cert)) != 1 || !p11_keytype_of_pkey(sg->pub, &sg->type)) {
		fprintf(stderr, "ceremony: key %s does not belong to %s\n", c->conf.issuer_key_label, c->conf.issuer_cert);
		return HSMCA_ERR_CONFIG;
	}
	return 0;
}

/* TBS -> lint -> HSM signature -> certificate -> verify -> lint again */
static int cer_sign(struct cer_ctx *c, X509 *x, struct cer_signer *sg, X509 **out)
{
	struct dbuf tbs, cert;
	struct policy_issuer iss;
	struct span alg, whole, outer, signed_tbs;
	uint8_t sig[P11_SIG_MAX];
	size_t sig_len = 0;
	X509 *issuer = sg->cert ? sg->cert : x;
	int rc;
	dbuf_init(&tbs);
	dbuf_init(&cert);
	if (!policy_sigalg_for_pkey(sg->pub, &alg) || (rc = policy_issuer_from_x509(issuer, NULL, &iss))) {
		fprintf(stderr, "ceremony: the issuer certificate cannot issue (needs an SKI and a supported key)\n");
		rc = HSMCA_ERR_CONFIG;
		goto out;
	}
	if ((rc = certbuild_tbs(x, alg, &tbs)) ||
	    (rc = cer_lint(c, span_make(tbs.data, tbs.len), &iss, sg->cert, "before")))
		goto out;
	if ((rc = p11_sign(&c->mod, c->s, sg->key, sg->type, tbs.data, tbs.len, sig, &sig_len))) {
		fprintf(stderr, "ceremony: C_Sign failed: %s\n", p11_rv_name(p11_last_rv()));
		goto out;
	}
	certbuild_assemble(&cert, span_make(tbs.data, tbs.len), alg, sig, sig_len, NULL, 0);
	const unsigned char *p = cert.data;
	rc = HSMCA_ERR_CRYPTO;
	if (cert.failed || !(*out = d2i_X509(NULL, &p, (long)cert.len)) || p != cert.data + cert.len)
		goto out;
	int issued = X509_check_issued(sg->cert ? sg->cert : *out, *out);
	if (X509_verify(*out, sg->pub) != 1 || issued != X509_V_OK) {
		fprintf(stderr, "ceremony: the signed certificate does not verify against its issuer\n");
		goto out;
	}
	whole = span_make(cert.data, cert.len);
	if (!der_get(&whole, &outer, DER_SEQUENCE) || !der_get_element(&outer, &signed_tbs, DER_SEQUENCE) ||
	    (rc = cer_lint(c, signed_tbs, &iss, sg->cert, "after")))
		goto out;
	rc = 0;
out:
	if (rc) {
		X509_free(*out);
		*out = NULL;
	}
	dbuf_free(&tbs);
	dbuf_free(&cert);
	return rc;
}

static void cer_record_cert(struct cer_ctx *c, X509 *cert, EVP_PKEY *pk, const uint8_t *id)
{
	unsigned char *der = NULL, md[32];
	char *subj = X509_NAME_oneline(X509_get_subject_name(cert), NULL, 0);
	char *iss = X509_NAME_oneline(X509_get_issuer_name(cert), NULL, 0);
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *serial = bn ? BN_bn2hex(bn) : NULL;
	int len = i2d_PUBKEY(pk, &der);
	if (id) { /* a key this ceremony made on the token (not sign-csr's, which is elsewhere) */
		cer_record(c, "key_label", "%s", c->conf.key_label);
		cer_record(c, "key_type", "%s", p11_keytype_name(c->conf.key_type));
		cer_record_hex(c, "key_id", id, P11_KEY_ID_LEN);
	}
	if (len > 0) {
		EVP_Digest(der, (size_t)len, md, NULL, EVP_sha256(), NULL);
		cer_record_hex(c, "public_key_sha256", md, sizeof(md));
	}
	OPENSSL_free(der);
	der = NULL;
	len = i2d_X509(cert, &der);
	if (len > 0) {
		EVP_Digest(der, (size_t)len, md, NULL, EVP_sha256(), NULL);
		cer_record_hex(c, "certificate_sha256", md, sizeof(md));
	}
	cer_record(c, "certificate_serial", "%s", serial ? serial : "?");
	cer_record(c, "subject", "%s", subj ? subj : "?");
	cer_record(c, "issuer", "%s", iss ? iss : "?");
	cer_record(c, "certificate", "%s", c->args->out);
	OPENSSL_free(der);
	OPENSSL_free(subj);
	OPENSSL_free(iss);
	OPENSSL_free(serial);
	BN_free(bn);
}

static int cer_write_pem(const char *path, X509 *cert)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *pem;
	long len;
	int rc = HSMCA_ERR_CRYPTO;
	if (b && PEM_write_bio_X509(b, cert) && (len = BIO_get_mem_data(b, &pem)) > 0)
		rc = cer_write_new(path, pem, (size_t)len, 0644);
	BIO_free(b);
	return rc;
}

int cer_cert_run(struct cer_ctx *c)
{
	struct cer_signer sg = { 0 };
	uint8_t id[P11_KEY_ID_LEN];
	CK_OBJECT_HANDLE priv = CK_INVALID_HANDLE, pub = CK_INVALID_HANDLE;
	EVP_PKEY *pk = NULL;
	X509 *x = NULL, *cert = NULL;
	int rc;
	bool pem_written = false;
	if ((rc = cer_path_free(c->args->out, "certificate")))
		return rc;
	if ((rc = cer_login(c, NULL, NULL)) || (rc = cer_transcript_ready(c, true)))
		return rc;
	if (c->args->kind != CER_ROOT && (rc = cer_signer_open(c, &sg)))
		goto out;
	if ((rc = p11_key_generate(&c->mod, c->s, c->conf.key_type, c->conf.key_label, id, &priv, &pub))) {
		priv = pub = CK_INVALID_HANDLE;
		fprintf(stderr, "ceremony: generating key %s failed (%s)\n", c->conf.key_label,
			rc == HSMCA_ERR_EXISTS ? "a key with this label exists" : p11_rv_name(p11_last_rv()));
		goto out;
	}
	/* the new key as the token made it, before anything is signed with it or for it */
	if ((rc = cer_key_fit(c, priv, c->conf.key_label)) || (rc = p11_pubkey_get(&c->mod, c->s, pub, &pk)) ||
	    (rc = cer_build(c, pk, sg.cert, &x)))
		goto out;
	if (c->args->kind == CER_ROOT) {
		sg.key = priv;
		sg.type = c->conf.key_type;
		sg.pub = pk;
		EVP_PKEY_up_ref(pk);
	}
	if ((rc = cer_sign(c, x, &sg, &cert)) || (rc = cer_write_pem(c->args->out, cert)))
		goto out;
	pem_written = true;
	cer_record_cert(c, cert, pk, id);
	rc = cer_transcript_finish(c);
	if (!rc)
		printf("certificate: %s\n", c->args->out);
out:
	if (rc && pem_written && unlink(c->args->out) != 0)
		fprintf(stderr, "ceremony: remove %s by hand: its key is destroyed and no transcript records it\n",
			c->args->out);
	if (rc && priv != CK_INVALID_HANDLE) {
		/* leave no orphan key behind a failed ceremony, and say so when the token keeps one */
		CK_RV r1 = c->mod.f->C_DestroyObject(c->s, priv), r2 = c->mod.f->C_DestroyObject(c->s, pub);
		if (r1 != CKR_OK || r2 != CKR_OK)
			fprintf(stderr, "ceremony: key %s is left on the token (%s): destroy it before running again\n",
				c->conf.key_label, p11_rv_name(r1 != CKR_OK ? r1 : r2));
	}
	X509_free(x);
	X509_free(cert);
	X509_free(sg.cert);
	EVP_PKEY_free(sg.pub);
	EVP_PKEY_free(pk);
	return rc;
}

int cer_csr_run(struct cer_ctx *c)
{
	struct cer_signer sg = { 0 };
	struct csr req;
	uint8_t *buf = malloc(CSR_MAX_INPUT + 1), md[32];
	char why[CSR_ERR_MAX];
	size_t len = 0;
	X509 *x = NULL, *cert = NULL;
	bool pem_written = false;
	int rc;
	memset(&req, 0, sizeof(req));
	if (!buf)
		return HSMCA_ERR_NOMEM;
	/* the request first: a bad one costs no custodian's time and no login */
	if ((rc = cer_read_small(c->args->csr, buf, CSR_MAX_INPUT, &len))) {
		fprintf(stderr, "ceremony: cannot read the request %s%s\n", c->args->csr,
			rc == HSMCA_ERR_LIMIT ? " (larger than the largest request taken)" : "");
		goto out;
	}
	if ((rc = csr_parse(buf, len, &req, why))) {
		fprintf(stderr, "ceremony: request %s refused: %s\n", c->args->csr, why);
		goto out;
	}
	if ((rc = cer_path_free(c->args->out, "certificate")) || (rc = cer_login(c, NULL, NULL)) ||
	    (rc = cer_transcript_ready(c, true)) || (rc = cer_signer_open(c, &sg)) ||
	    (rc = cer_build(c, req.pubkey, sg.cert, &x)) || (rc = cer_sign(c, x, &sg, &cert)) ||
	    (rc = cer_write_pem(c->args->out, cert)))
		goto out;
	pem_written = true;
	EVP_Digest(buf, len, md, NULL, EVP_sha256(), NULL);
	cer_record(c, "csr", "%s", c->args->csr);
	cer_record_hex(c, "csr_sha256", md, sizeof(md));
	cer_record_cert(c, cert, req.pubkey, NULL);
	if (!(rc = cer_transcript_finish(c)))
		printf("certificate: %s\n", c->args->out);
out:
	if (rc && pem_written && unlink(c->args->out) != 0)
		fprintf(stderr, "ceremony: remove %s by hand: no transcript records it\n", c->args->out);
	X509_free(x);
	X509_free(cert);
	X509_free(sg.cert);
	EVP_PKEY_free(sg.pub);
	csr_free(&req);
	free(buf);
	return rc;
}
