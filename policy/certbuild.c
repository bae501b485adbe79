#include "certbuild.h"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

int certbuild_tbs(X509 *x, struct span sigalg, struct dbuf *out)
{
	const unsigned char *p = sigalg.data;
	X509_ALGOR *inner = (X509_ALGOR *)X509_get0_tbs_sigalg(x); /* owned by x */
	X509_ALGOR *parsed = d2i_X509_ALGOR(NULL, &p, (long)sigalg.len);
	unsigned char *der = NULL;
	int rc = HSMCA_ERR_CRYPTO, len;
	if (!parsed)
		return HSMCA_ERR_PARSE;
	const ASN1_OBJECT *obj;
	int ptype;
	const void *pval;
	X509_ALGOR_get0(&obj, &ptype, &pval, parsed);
	if (!X509_ALGOR_set0(inner, OBJ_dup(obj), ptype, NULL))
		goto out;
	len = i2d_re_X509_tbs(x, &der);
	if (len <= 0)
		goto out;
	dbuf_add(out, der, (size_t)len);
	rc = out->failed ? HSMCA_ERR_NOMEM : 0;
out:
	OPENSSL_free(der);
	X509_ALGOR_free(parsed);
	return rc;
}

void certbuild_assemble(struct dbuf *out, struct span tbs, struct span sigalg, const uint8_t *sig, size_t sig_len,
			const struct span *extra_certs, size_t n_extra)
{
	size_t top = dbuf_open(out, DER_SEQUENCE);
	dbuf_add(out, tbs.data, tbs.len);
	dbuf_add(out, sigalg.data, sigalg.len);
	dbuf_add_bitstring(out, sig, sig_len);
	if (n_extra > 0) {
		size_t wrap = dbuf_open(out, DER_CONTEXT | DER_CONSTRUCTED | 0);
		size_t seq = dbuf_open(out, DER_SEQUENCE);
		for (size_t i = 0; i < n_extra; i++)
			dbuf_add(out, extra_certs[i].data, extra_certs[i].len);
		dbuf_close(out, seq);
		dbuf_close(out, wrap);
	}
	dbuf_close(out, top);
}

ASN1_INTEGER *certbuild_serial(const uint8_t *rnd, size_t len)
{
	uint8_t b[CERTBUILD_SERIAL_MAX];
	if (len < CERTBUILD_SERIAL_RANDOM_MIN || len + 1 > sizeof(b))
		return NULL;
	b[0] = CERTBUILD_SERIAL_LEAD; /* positive, minimal, fixed length; every bit of rnd kept */
	memcpy(b + 1, rnd, len);
	BIGNUM *bn = BN_bin2bn(b, (int)len + 1, NULL);
	ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	BN_free(bn);
	return ai;
}

int certbuild_add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	int ok = e && X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : HSMCA_ERR_CRYPTO;
}
