/* The fast path of csr_parse (see csr_priv.h). d2i_X509_REQ decodes the request's public key through
 * OpenSSL 3.0's provider decoders, and building that decoder context (OSSL_DECODER_CTX_new_for_pkey, under
 * global read locks) was a third of the frontend's CPU per certificate (perf, bench/issue.sh). Here the
 * request is decoded with a template of its own whose SubjectPublicKeyInfo stays raw; the key is made with
 * the direct EC_KEY / RSA interfaces (o2i_ECPublicKey checks the point is on the curve, as the decoder does)
 * and the self-signature checked with ECDSA_verify / RSA_verify over the digest of the received
 * CertificationRequestInfo. Every check of the full path is applied (same DER rules, same re-encodings,
 * same extension and SAN code from csr.c); anything unusual (another algorithm, parameters where there
 * should be none, a bad signature) is left to the full path, so the outcome and the error text are the
 * full path's. */
#define OPENSSL_SUPPRESS_DEPRECATED /* EC_KEY, RSA, ECDSA_verify, RSA_verify: no provider lookups per call */
#include "csr_priv.h"

#include <openssl/asn1t.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <pthread.h>
#include <string.h>

#include "der.h"

typedef struct {
	X509_ALGOR *alg;
	ASN1_BIT_STRING *key;
} CSR_FAST_SPKI;

typedef struct {
	ASN1_INTEGER *version;
	X509_NAME *subject;
	CSR_FAST_SPKI *spki;
	STACK_OF(X509_ATTRIBUTE) *attributes;
} CSR_FAST_INFO;

typedef struct {
	CSR_FAST_INFO *info;
	X509_ALGOR *sig_alg;
	ASN1_BIT_STRING *signature;
} CSR_FAST;

/* PKCS#10 (RFC 2986) as OpenSSL's X509_REQ, with the key left undecoded. The attributes are not OPTIONAL
 * here, so a request without its [0] (which RFC 2986 requires) is declined and left to the full path, which
 * takes it with no attributes. */
ASN1_SEQUENCE(CSR_FAST_SPKI) = {
	ASN1_SIMPLE(CSR_FAST_SPKI, alg, X509_ALGOR),
	ASN1_SIMPLE(CSR_FAST_SPKI, key, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(CSR_FAST_SPKI)

ASN1_SEQUENCE(CSR_FAST_INFO) = {
	ASN1_SIMPLE(CSR_FAST_INFO, version, ASN1_INTEGER),
	ASN1_SIMPLE(CSR_FAST_INFO, subject, X509_NAME),
	ASN1_SIMPLE(CSR_FAST_INFO, spki, CSR_FAST_SPKI),
	ASN1_IMP_SET_OF(CSR_FAST_INFO, attributes, X509_ATTRIBUTE, 0),
} static_ASN1_SEQUENCE_END(CSR_FAST_INFO)

ASN1_SEQUENCE(CSR_FAST) = {
	ASN1_SIMPLE(CSR_FAST, info, CSR_FAST_INFO),
	ASN1_SIMPLE(CSR_FAST, sig_alg, X509_ALGOR),
	ASN1_SIMPLE(CSR_FAST, signature, ASN1_BIT_STRING),
} static_ASN1_SEQUENCE_END(CSR_FAST)

#define CSR_FAST_DECLINED (-1)
#define CSR_FAST_BITS_LEFT 0x07 /* ASN1_STRING flags: unused bits of a BIT STRING */

enum csr_fast_md { CSR_MD_SHA256, CSR_MD_SHA384, CSR_MD_SHA512, CSR_MD_N };

/* The digests, fetched once (an implicit fetch per call takes the same global locks), and the two curves'
 * groups, built once (EC_KEY_new_by_curve_name builds one per call: 7% of the frontend's CPU); a key gets
 * its own copy (EC_KEY_set_group), never the shared one. */
static EVP_MD *csr_fast_mds[CSR_MD_N];
static EC_GROUP *csr_fast_p256, *csr_fast_p384;
static pthread_once_t csr_fast_once = PTHREAD_ONCE_INIT;

static void csr_fast_init(void)
{
	static const char *const names[CSR_MD_N] = { "SHA256", "SHA384", "SHA512" };
	for (int i = 0; i < CSR_MD_N; i++)
		csr_fast_mds[i] = EVP_MD_fetch(NULL, names[i], NULL);
	csr_fast_p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	csr_fast_p384 = EC_GROUP_new_by_curve_name(NID_secp384r1);
}

/* The parameters of an AlgorithmIdentifier: absent, or NULL. */
static bool csr_fast_params(const X509_ALGOR *a, int want_type)
{
	int ptype = V_ASN1_UNDEF;
	X509_ALGOR_get0(NULL, &ptype, NULL, a);
	return ptype == want_type;
}

static bool csr_fast_bits_whole(const ASN1_BIT_STRING *b)
{
	return b && b->length > 0 && (b->flags & CSR_FAST_BITS_LEFT) == 0;
}

/* id-ecPublicKey on the named curve P-256 or P-384, the point on the curve and not at infinity. */
static EC_KEY *csr_fast_ec(const CSR_FAST_SPKI *spki)
{
	int ptype = V_ASN1_UNDEF;
	const void *pval = NULL;
	X509_ALGOR_get0(NULL, &ptype, &pval, spki->alg);
	if (ptype != V_ASN1_OBJECT)
		return NULL;
	int curve = OBJ_obj2nid(pval);
	const EC_GROUP *g = curve == NID_X9_62_prime256v1 ? csr_fast_p256 : curve == NID_secp384r1 ? csr_fast_p384 : NULL;
	if (!g)
		return NULL;
	EC_KEY *k = EC_KEY_new();
	const unsigned char *p = spki->key->data;
	if (!k || EC_KEY_set_group(k, g) != 1 || !o2i_ECPublicKey(&k, &p, spki->key->length) || p != spki->key->data + spki->key->length ||
	    !EC_KEY_get0_public_key(k) || EC_POINT_is_at_infinity(EC_KEY_get0_group(k), EC_KEY_get0_public_key(k))) {
		EC_KEY_free(k);
		return NULL;
	}
	return k;
}

/* rsaEncryption with NULL parameters, 2048..4096 bits, public exponent odd, 3..2^31-1 (as csr.c). */
static RSA *csr_fast_rsa(const CSR_FAST_SPKI *spki)
{
	if (!csr_fast_params(spki->alg, V_ASN1_NULL))
		return NULL;
	const unsigned char *p = spki->key->data;
	RSA *k = d2i_RSAPublicKey(NULL, &p, spki->key->length);
	const BIGNUM *e = NULL;
	if (k)
		RSA_get0_key(k, NULL, &e, NULL);
	if (!k || p != spki->key->data + spki->key->length || RSA_bits(k) < CSR_RSA_BITS_MIN ||
	    RSA_bits(k) > CSR_RSA_BITS_MAX || !e || !BN_is_odd(e) || BN_is_one(e) || BN_num_bits(e) > CSR_RSA_E_BITS_MAX) {
		RSA_free(k);
		return NULL;
	}
	return k;
}

/* The signature algorithm: which digest, for which key type (EVP_PKEY_EC or EVP_PKEY_RSA); false for any
 * other (or with parameters other than RFC 5758 / RFC 4055 give). */
static bool csr_fast_sigalg(const X509_ALGOR *a, enum csr_fast_md *md, int *md_nid, int *key_type)
{
	const ASN1_OBJECT *obj = NULL;
	X509_ALGOR_get0(&obj, NULL, NULL, a);
	switch (OBJ_obj2nid(obj)) {
	case NID_ecdsa_with_SHA256:
		*md = CSR_MD_SHA256, *md_nid = NID_sha256, *key_type = EVP_PKEY_EC;
		return csr_fast_params(a, V_ASN1_UNDEF);
	case NID_ecdsa_with_SHA384:
		*md = CSR_MD_SHA384, *md_nid = NID_sha384, *key_type = EVP_PKEY_EC;
		return csr_fast_params(a, V_ASN1_UNDEF);
	case NID_sha256WithRSAEncryption:
		*md = CSR_MD_SHA256, *md_nid = NID_sha256, *key_type = EVP_PKEY_RSA;
		return csr_fast_params(a, V_ASN1_NULL);
	case NID_sha384WithRSAEncryption:
		*md = CSR_MD_SHA384, *md_nid = NID_sha384, *key_type = EVP_PKEY_RSA;
		return csr_fast_params(a, V_ASN1_NULL);
	case NID_sha512WithRSAEncryption:
		*md = CSR_MD_SHA512, *md_nid = NID_sha512, *key_type = EVP_PKEY_RSA;
		return csr_fast_params(a, V_ASN1_NULL);
	default:
		return false;
	}
}

/* The CertificationRequestInfo as received: the first element of the outer SEQUENCE. */
static bool csr_fast_info_bytes(const unsigned char *der, size_t len, struct span *info)
{
	struct span in = span_make(der, len), cr;
	return der_get(&in, &cr, DER_SEQUENCE) && der_get_element(&cr, info, DER_SEQUENCE);
}

int csr_fast_parse(const unsigned char *der, size_t len, struct csr *out)
{
	struct span in = span_make(der, len), whole, info;
	const unsigned char *p = der;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;
	enum csr_fast_md md;
	int md_nid, key_type, rc = CSR_FAST_DECLINED;
	CSR_FAST *r = NULL;
	EC_KEY *ec = NULL;
	RSA *rsa = NULL;
	EVP_PKEY *pkey = NULL;

	memset(out, 0, sizeof(*out));
	if (pthread_once(&csr_fast_once, csr_fast_init) != 0)
		return CSR_FAST_DECLINED;
	if (!der_get_element(&in, &whole, DER_SEQUENCE) || in.len != 0 || !csr_der_walk(whole, 0) ||
	    !csr_fast_info_bytes(der, len, &info))
		return CSR_FAST_DECLINED;
	r = (CSR_FAST *)ASN1_item_d2i(NULL, &p, (long)len, ASN1_ITEM_rptr(CSR_FAST));
	if (!r || p != der + len || ASN1_INTEGER_get(r->info->version) != 0 ||
	    !csr_same_der(r, ASN1_ITEM_rptr(CSR_FAST), der, len) || !csr_name_is_der(r->info->subject) ||
	    !csr_fast_bits_whole(r->info->spki->key) || !csr_fast_bits_whole(r->signature) ||
	    !csr_fast_sigalg(r->sig_alg, &md, &md_nid, &key_type) || !csr_fast_mds[md])
		goto out;
	switch (OBJ_obj2nid(r->info->spki->alg->algorithm)) {
	case NID_X9_62_id_ecPublicKey:
		if (key_type != EVP_PKEY_EC || !(ec = csr_fast_ec(r->info->spki)))
			goto out;
		break;
	case NID_rsaEncryption:
		if (key_type != EVP_PKEY_RSA || !(rsa = csr_fast_rsa(r->info->spki)))
			goto out;
		break;
	default:
		goto out;
	}
	if (EVP_Digest(info.data, info.len, digest, &digest_len, csr_fast_mds[md], NULL) != 1)
		goto out;
	if (ec ? ECDSA_verify(0, digest, (int)digest_len, r->signature->data, r->signature->length, ec) != 1
	       : RSA_verify(md_nid, digest, digest_len, r->signature->data, (unsigned int)r->signature->length, rsa) != 1)
		goto out;
	if (csr_sans_get(r->info->attributes, out, NULL) || csr_spki_copy(der, len, out, NULL))
		goto out;
	if (!(pkey = EVP_PKEY_new()) || (ec ? EVP_PKEY_assign_EC_KEY(pkey, ec) : EVP_PKEY_assign_RSA(pkey, rsa)) != 1)
		goto out;
	ec = NULL; /* pkey's now */
	rsa = NULL;
	out->own_key = out->pubkey = pkey;
	pkey = NULL;
	rc = 0;
out:
	if (rc)
		memset(out, 0, sizeof(*out));
	EVP_PKEY_free(pkey);
	EC_KEY_free(ec);
	RSA_free(rsa);
	ASN1_item_free((ASN1_VALUE *)r, ASN1_ITEM_rptr(CSR_FAST));
	return rc;
}
