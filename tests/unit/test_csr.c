/* policy/csr.c: PKCS#10 requests made with OpenSSL (the usual way) and crafted part by part (to get BER, odd
 * attributes, odd SANs and odd keys under a valid signature). Every rejection path with its error class:
 * PARSE for malformed PEM/DER/BER/trailing bytes, AUTH for a bad signature, POLICY for key and SAN types,
 * LIMIT for sizes. On every failure the struct must come back empty (nothing to free). */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "csr.h"
#include "csr_priv.h"
#include "der.h"

#define PEM_LINE_BYTES 48 /* 64 base64 characters */
#define MANY_SANS_CONF_MAX ((CSR_MAX_SANS + 2) * 24)

static char err[CSR_ERR_MAX];
static EVP_PKEY *p256;

/* --- requests made with OpenSSL ---------------------------------------------------------------------------- */

/* A request for CN=test.example with an optional SAN list in OpenSSL's config syntax, signed by k. */
static bool req_make(EVP_PKEY *k, const char *san, struct dbuf *out)
{
	X509_REQ *r = X509_REQ_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	unsigned char *der = NULL;
	bool ok = false;
	int n;
	if (!r || !exts || !X509_REQ_set_version(r, X509_REQ_VERSION_1) ||
	    !X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_ASC,
					(const unsigned char *)"test.example", -1, -1, 0) ||
	    !X509_REQ_set_pubkey(r, k))
		goto out;
	if (san) {
		X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, san);
		if (!e || !sk_X509_EXTENSION_push(exts, e)) {
			X509_EXTENSION_free(e);
			goto out;
		}
		if (!X509_REQ_add_extensions(r, exts))
			goto out;
	}
	const EVP_MD *md = EVP_PKEY_is_a(k, "ED25519") || EVP_PKEY_is_a(k, "ED448") ? NULL : EVP_sha256();
	if (!X509_REQ_sign(r, k, md) || (n = i2d_X509_REQ(r, &der)) <= 0)
		goto out;
	dbuf_add(out, der, (size_t)n);
	ok = !out->failed;
out:
	OPENSSL_free(der);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(r);
	return ok;
}

static void pem_of(const uint8_t *der, size_t len, const char *eol, struct dbuf *out)
{
	unsigned char line[2 * PEM_LINE_BYTES];
	dbuf_add(out, "-----BEGIN CERTIFICATE REQUEST-----", 35);
	dbuf_add(out, eol, strlen(eol));
	for (size_t i = 0; i < len; i += PEM_LINE_BYTES) {
		int n = EVP_EncodeBlock(line, der + i, (int)(len - i < PEM_LINE_BYTES ? len - i : PEM_LINE_BYTES));
		dbuf_add(out, line, (size_t)n);
		dbuf_add(out, eol, strlen(eol));
	}
	dbuf_add(out, "-----END CERTIFICATE REQUEST-----", 33);
	dbuf_add(out, eol, strlen(eol));
}

static unsigned fast_taken; /* successful parses that took the fast path (csr_fast.c) */

/* csr_parse (fast path first) and csr_parse_full (OpenSSL's X509_REQ alone) must agree on every input: the
 * same rc and reason, and on success the same names, key bytes and key. */
static void same_as_full(const char *what, const void *in, size_t len, int rc, const struct csr *c)
{
	struct csr f;
	char ferr[CSR_ERR_MAX] = "";
	int frc = csr_parse_full(in, len, &f, ferr);
	CHECKF(frc == rc && strcmp(ferr, err) == 0, "%s: fast path %d \"%s\", full path %d \"%s\"", what, rc, err, frc,
	       ferr);
	if (rc == 0 && frc == 0) {
		bool same = c->n_sans == f.n_sans && c->spki_len == f.spki_len &&
			    memcmp(c->spki, f.spki, f.spki_len) == 0 && EVP_PKEY_eq(c->pubkey, f.pubkey) == 1;
		for (size_t i = 0; same && i < f.n_sans; i++)
			same = c->sans[i].type == f.sans[i].type && strcmp(c->sans[i].value, f.sans[i].value) == 0;
		CHECKF(same, "%s: the fast path's result differs from the full path's", what);
		fast_taken += c->req == NULL;
	}
	csr_free(&f);
}

/* Parses; checks rc, the start of err (if want_prefix), that a failure leaves nothing behind, and that the
 * full path agrees. */
static void expect(const char *what, const void *in, size_t len, int want_rc, const char *want_prefix)
{
	struct csr c;
	memset(&c, 0xa5, sizeof(c));
	err[0] = '\0';
	int rc = csr_parse(in, len, &c, err);
	CHECKF(rc == want_rc && (!want_prefix || check_prefix(err, want_prefix)), "%s: rc %d err \"%s\", want %d \"%s\"",
	       what, rc, err, want_rc, want_prefix ? want_prefix : "");
	if (rc)
		CHECKF(c.req == NULL && c.own_key == NULL && c.n_sans == 0 && err[0], "%s: failure left a request or no reason",
		       what);
	else
		CHECKF(c.pubkey && (c.req ? c.pubkey == X509_REQ_get0_pubkey(c.req) && !c.own_key : c.pubkey == c.own_key),
		       "%s: parts not set", what);
	same_as_full(what, in, len, rc, &c);
	csr_free(&c);
}

static void expect_dbuf(const char *what, const struct dbuf *b, int want_rc, const char *want_prefix)
{
	expect(what, b->data, b->len, want_rc, want_prefix);
}

/* --- requests crafted part by part ------------------------------------------------------------------------ */

static const uint8_t name_cn_x[] = { 0x30, 0x0c, 0x31, 0x0a, 0x30, 0x08, 0x06,
				     0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 'x' };
static const uint8_t oid_ext_req[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e };
static const uint8_t oid_challenge[] = { 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x07 };
static const uint8_t oid_san[] = { 0x06, 0x03, 0x55, 0x1d, 0x11 };
static const uint8_t oid_ku[] = { 0x06, 0x03, 0x55, 0x1d, 0x0f };
static const uint8_t ecdsa_sha256[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };

static void spki_of(EVP_PKEY *k, struct dbuf *out)
{
	unsigned char *spki = NULL;
	int n = i2d_PUBKEY(k, &spki);
	CHECK(n > 0);
	if (n > 0)
		dbuf_add(out, spki, (size_t)n);
	OPENSSL_free(spki);
}

/* SEQUENCE { INTEGER version, name, spki, [0] { attrs } }, then signed with key under alg (its DER), SHA-256. */
static void craft_by(struct dbuf *out, uint8_t version, const uint8_t *name, size_t name_len, const struct dbuf *spki,
		     const struct dbuf *attrs, EVP_PKEY *key, const uint8_t *alg, size_t alg_len)
{
	struct dbuf tbs, own_spki;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char sig[512];
	size_t sig_len = sizeof(sig);
	dbuf_init(&tbs);
	dbuf_init(&own_spki);
	if (!spki) {
		spki_of(p256, &own_spki);
		spki = &own_spki;
	}
	size_t m = dbuf_open(&tbs, DER_SEQUENCE);
	dbuf_add_tlv(&tbs, DER_INTEGER, &version, 1);
	dbuf_add(&tbs, name, name_len);
	dbuf_add(&tbs, spki->data, spki->len);
	dbuf_add_tlv(&tbs, DER_CONSTRUCTED | DER_CONTEXT | 0, attrs ? attrs->data : NULL, attrs ? attrs->len : 0);
	dbuf_close(&tbs, m);
	CHECK(md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
	      EVP_DigestSign(md, sig, &sig_len, tbs.data, tbs.len) == 1);
	m = dbuf_open(out, DER_SEQUENCE);
	dbuf_add(out, tbs.data, tbs.len);
	dbuf_add(out, alg, alg_len);
	dbuf_add_bitstring(out, sig, sig_len);
	dbuf_close(out, m);
	CHECK(!out->failed);
	EVP_MD_CTX_free(md);
	dbuf_free(&tbs);
	dbuf_free(&own_spki);
}

/* As craft_by, signed with p256 (ecdsa-with-SHA256). */
static void craft(struct dbuf *out, uint8_t version, const uint8_t *name, size_t name_len, const struct dbuf *spki,
		  const struct dbuf *attrs)
{
	craft_by(out, version, name, name_len, spki, attrs, p256, ecdsa_sha256, sizeof(ecdsa_sha256));
}

/* Attribute SEQUENCE { oid, SET { values } } appended to attrs. */
static void attr_add(struct dbuf *attrs, const uint8_t *oid, size_t oid_len, const void *values, size_t values_len)
{
	size_t m = dbuf_open(attrs, DER_SEQUENCE);
	dbuf_add(attrs, oid, oid_len);
	dbuf_add_tlv(attrs, DER_SET, values, values_len);
	dbuf_close(attrs, m);
}

/* Extension SEQUENCE { oid, critical (raw bytes, may be NULL), OCTET STRING { value } } appended to exts. */
static void ext_add(struct dbuf *exts, const uint8_t *oid, size_t oid_len, const char *crit, size_t crit_len,
		    const void *value, size_t value_len)
{
	size_t m = dbuf_open(exts, DER_SEQUENCE);
	dbuf_add(exts, oid, oid_len);
	dbuf_add(exts, crit, crit_len);
	dbuf_add_tlv(exts, DER_OCTET_STRING, value, value_len);
	dbuf_close(exts, m);
}

/* attrs = one extensionRequest holding one SAN extension whose GeneralNames content is gens. */
static void san_attrs(struct dbuf *attrs, const struct dbuf *gens)
{
	struct dbuf exts, v;
	dbuf_init(&exts);
	dbuf_init(&v);
	dbuf_add_tlv(&v, DER_SEQUENCE, gens->data, gens->len);
	size_t m = dbuf_open(&exts, DER_SEQUENCE);
	ext_add(&exts, oid_san, sizeof(oid_san), NULL, 0, v.data, v.len);
	dbuf_close(&exts, m);
	attr_add(attrs, oid_ext_req, sizeof(oid_ext_req), exts.data, exts.len);
	dbuf_free(&exts);
	dbuf_free(&v);
}

/* A crafted request with the standard name and key and these GeneralNames: rc and err prefix. */
static void expect_gens(const char *what, const struct dbuf *gens, int want_rc, const char *want_prefix)
{
	struct dbuf attrs, req;
	dbuf_init(&attrs);
	dbuf_init(&req);
	san_attrs(&attrs, gens);
	craft(&req, 0, name_cn_x, sizeof(name_cn_x), NULL, &attrs);
	expect_dbuf(what, &req, want_rc, want_prefix);
	dbuf_free(&attrs);
	dbuf_free(&req);
}

/* --- tests ------------------------------------------------------------------------------------------------- */

static void test_keys(void)
{
	static const struct {
		const char *what, *type, *param;
		int rc;
		const char *prefix;
	} keys[] = {
		{ "P-256", "EC", "P-256", 0, NULL },
		{ "P-384", "EC", "P-384", 0, NULL },
		{ "P-521", "EC", "P-521", HSMCA_ERR_POLICY, "key: EC curve secp521r1 not accepted" },
		{ "secp256k1", "EC", "secp256k1", HSMCA_ERR_POLICY, "key: EC curve secp256k1" },
		{ "Ed25519", "ED25519", NULL, HSMCA_ERR_POLICY, "key: type ED25519 not accepted" },
		{ "Ed448", "ED448", NULL, HSMCA_ERR_POLICY, "key: type ED448" },
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		EVP_PKEY *k = keys[i].param ? EVP_PKEY_Q_keygen(NULL, NULL, keys[i].type, keys[i].param)
					    : EVP_PKEY_Q_keygen(NULL, NULL, keys[i].type);
		struct dbuf der;
		dbuf_init(&der);
		CHECKF(k && req_make(k, NULL, &der), "%s: could not make the request", keys[i].what);
		expect_dbuf(keys[i].what, &der, keys[i].rc, keys[i].prefix);
		dbuf_free(&der);
		EVP_PKEY_free(k);
	}
	/* RSA: 2048 accepted (a real key); 1024 refused */
	for (size_t bits = 1024; bits <= 2048; bits += 1024) {
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits);
		struct dbuf der;
		dbuf_init(&der);
		CHECK(k && req_make(k, "DNS:rsa.example", &der));
		expect_dbuf(bits == 2048 ? "RSA-2048" : "RSA-1024", &der, bits == 2048 ? 0 : HSMCA_ERR_POLICY,
			    bits == 2048 ? NULL : "key: RSA-1024 not accepted");
		if (bits == 2048) { /* a flipped signature byte: AUTH */
			der.data[der.len - 1] ^= 0x01;
			expect_dbuf("RSA-2048 flipped signature", &der, HSMCA_ERR_AUTH, "signature:");
		}
		dbuf_free(&der);
		EVP_PKEY_free(k);
	}
}

/* An RSA public key with a random odd modulus of `bits` bits and exponent e (no private key needed: the key
 * check comes before the signature, so a key that passes it fails the signature with AUTH). */
static EVP_PKEY *rsa_pub(int bits, unsigned long e, int e_pow2)
{
	BIGNUM *n = BN_new(), *be = BN_new();
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *k = NULL;
	if (n && be && bld && ctx && BN_rand(n, bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD) && BN_set_word(be, e) &&
	    (!e_pow2 || (BN_set_bit(be, e_pow2) && BN_set_bit(be, 0))) && /* e_pow2: e = 2^e_pow2 + 1 */
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) && EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_PUBLIC_KEY, params) != 1)
		k = NULL;
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(n);
	BN_free(be);
	return k;
}

static void spki_case(const char *what, const struct dbuf *spki, int want_rc, const char *want_prefix)
{
	struct dbuf req;
	dbuf_init(&req);
	craft(&req, 0, name_cn_x, sizeof(name_cn_x), spki, NULL);
	expect_dbuf(what, &req, want_rc, want_prefix);
	dbuf_free(&req);
}

/* csr_cheap_key on a request with this SubjectPublicKeyInfo, as DER and as PEM */
static void cheap_case(const char *what, const struct dbuf *spki, bool want)
{
	struct dbuf req;
	dbuf_init(&req);
	craft(&req, 0, name_cn_x, sizeof(name_cn_x), spki, NULL);
	CHECKF(csr_cheap_key(req.data, req.len) == want, "%s: cheap (DER) %d", what, !want);
	BIO *b = BIO_new(BIO_s_mem());
	char *pem = NULL;
	long n = b && PEM_write_bio(b, "CERTIFICATE REQUEST", "", req.data, (long)req.len) > 0 ? BIO_get_mem_data(b, &pem) : 0;
	CHECKF(n > 0 && csr_cheap_key((const unsigned char *)pem, (size_t)n) == want, "%s: cheap (PEM) %d", what, !want);
	BIO_free(b);
	dbuf_free(&req);
}

static void test_key_bounds(void)
{
	static const struct {
		int bits;
		unsigned long e;
		int e_pow2; /* non-zero: e = 2^e_pow2 + 1 */
		int rc;
		const char *prefix;
	} rsa[] = {
		{ 2048, 65537, 0, HSMCA_ERR_AUTH, "signature:" }, /* passed the key check */
		{ 4096, 65537, 0, HSMCA_ERR_AUTH, "signature:" },
		{ 2048, 3, 0, HSMCA_ERR_AUTH, "signature:" },
		{ 2048, 0, 30, HSMCA_ERR_AUTH, "signature:" }, /* 2^30 + 1: the largest size allowed */
		{ 2047, 65537, 0, HSMCA_ERR_POLICY, "key: RSA-2047 not accepted" },
		{ 4097, 65537, 0, HSMCA_ERR_POLICY, "key: RSA-4097 not accepted" },
		{ 8192, 65537, 0, HSMCA_ERR_POLICY, "key: RSA-8192 not accepted" },
		{ 2048, 65536, 0, HSMCA_ERR_POLICY, "key: RSA public exponent" },
		{ 2048, 1, 0, HSMCA_ERR_POLICY, "key: RSA public exponent" },
		/* 2^31 + 1 (Go's crypto/rsa refuses it, BoringSSL past 33 bits: the certificate would be of no use
		 * there; it was issued), 2^256 + 1 and a 2000-bit exponent (each signature check a long
		 * exponentiation, on the event loop for a CSR) */
		{ 2048, 0, 31, HSMCA_ERR_POLICY, "key: RSA public exponent" },
		{ 2048, 0, 64, HSMCA_ERR_POLICY, "key: RSA public exponent" },
		{ 2048, 0, 256, HSMCA_ERR_POLICY, "key: RSA public exponent" },
		{ 3072, 0, 2000, HSMCA_ERR_POLICY, "key: RSA public exponent" },
	};
	struct dbuf spki;
	char what[64];
	for (size_t i = 0; i < sizeof(rsa) / sizeof(rsa[0]); i++) {
		EVP_PKEY *k = rsa_pub(rsa[i].bits, rsa[i].e, rsa[i].e_pow2);
		dbuf_init(&spki);
		CHECK(k != NULL);
		spki_of(k, &spki);
		snprintf(what, sizeof(what), "RSA %d bits e=%lu/2^%d+1", rsa[i].bits, rsa[i].e, rsa[i].e_pow2);
		spki_case(what, &spki, rsa[i].rc, rsa[i].prefix);
		/* checked on the event loop only with a cheap signature check (issue_inline) */
		cheap_case(what, &spki, rsa[i].bits <= CSR_CHEAP_RSA_BITS && rsa[i].e == 65537);
		dbuf_free(&spki);
		EVP_PKEY_free(k);
	}
	/* a P-256 point that is not on the curve: malformed, not a policy matter */
	static const uint8_t ec_alg[] = { 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
					  0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
	uint8_t point[65];
	memset(point, 0x01, sizeof(point));
	point[0] = 0x04;
	dbuf_init(&spki);
	size_t m = dbuf_open(&spki, DER_SEQUENCE);
	dbuf_add(&spki, ec_alg, sizeof(ec_alg));
	dbuf_add_bitstring(&spki, point, sizeof(point));
	dbuf_close(&spki, m);
	spki_case("EC point off the curve", &spki, HSMCA_ERR_PARSE, NULL);
	cheap_case("EC", &spki, true);
	dbuf_free(&spki);
	/* an algorithm nobody knows */
	static const uint8_t unknown[] = { 0x30, 0x0b, 0x30, 0x04, 0x06, 0x02, 0x2a, 0x03, 0x03, 0x03, 0x00, 0x01, 0x02 };
	dbuf_init(&spki);
	dbuf_add(&spki, unknown, sizeof(unknown));
	spki_case("unknown key algorithm", &spki, HSMCA_ERR_POLICY, "key: algorithm 1.2.3 not accepted");
	cheap_case("unknown key algorithm", &spki, false);
	dbuf_free(&spki);
	CHECK(!csr_cheap_key((const unsigned char *)"not a request", 13) && !csr_cheap_key(NULL, 0));
}

/* RFC 5480: a P-256 or P-384 key names its curve; the point comes uncompressed. Keys with explicit curve
 * parameters or a compressed point, in requests they sign themselves, are refused by both paths. */
static void test_key_forms(void)
{
	static const struct {
		const char *what, *curve, *encoding, *form;
		int rc;
	} forms[] = {
		{ "P-256 named, uncompressed", "P-256", "named_curve", "uncompressed", 0 },
		{ "P-384 named, uncompressed", "P-384", "named_curve", "uncompressed", 0 },
		{ "P-256 explicit parameters", "P-256", "explicit", "uncompressed", HSMCA_ERR_POLICY },
		{ "P-384 explicit parameters", "P-384", "explicit", "uncompressed", HSMCA_ERR_POLICY },
		{ "P-256 compressed point", "P-256", "named_curve", "compressed", HSMCA_ERR_POLICY },
		{ "P-384 compressed point", "P-384", "named_curve", "compressed", HSMCA_ERR_POLICY },
		{ "P-256 explicit, compressed", "P-256", "explicit", "compressed", HSMCA_ERR_POLICY },
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", forms[i].curve);
		struct dbuf der;
		dbuf_init(&der);
		CHECKF(k && EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_ENCODING, forms[i].encoding) == 1 &&
			       EVP_PKEY_set_utf8_string_param(k, OSSL_PKEY_PARAM_EC_POINT_CONVERSION_FORMAT,
							      forms[i].form) == 1 &&
			       req_make(k, "DNS:form.example", &der),
		       "%s: could not make the request", forms[i].what);
		expect_dbuf(forms[i].what, &der, forms[i].rc,
			    forms[i].rc ? "csr: the EC key must name its curve (namedCurve) and use an uncompressed point"
					: NULL);
		dbuf_free(&der);
		EVP_PKEY_free(k);
	}
}

/* An rsaEncryption SPKI: parameters (NULL unless absent), then BIT STRING { SEQUENCE { INTEGER n (its
 * content as given), INTEGER e } || tail }. */
static void rsa_spki(struct dbuf *out, bool params, const uint8_t *n, size_t n_len, const uint8_t *tail, size_t tail_len)
{
	static const uint8_t rsa_oid[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
	struct dbuf key;
	dbuf_init(&key);
	size_t k = dbuf_open(&key, DER_SEQUENCE);
	dbuf_add_tlv(&key, DER_INTEGER, n, n_len);
	dbuf_add_tlv(&key, DER_INTEGER, "\x01\x00\x01", 3);
	dbuf_close(&key, k);
	dbuf_add(&key, tail, tail_len);
	size_t m = dbuf_open(out, DER_SEQUENCE), a = dbuf_open(out, DER_SEQUENCE);
	dbuf_add_tlv(out, DER_OID, rsa_oid, sizeof(rsa_oid));
	if (params)
		dbuf_add_tlv(out, DER_NULL, NULL, 0);
	dbuf_close(out, a);
	dbuf_add_bitstring(out, key.data, key.len);
	dbuf_close(out, m);
	CHECK(!out->failed && !key.failed);
	dbuf_free(&key);
}

/* The key goes into the certificate byte for byte, so it must be DER, although OpenSSL's decoder takes an RSA
 * modulus padded with zero octets, one whose top bit makes it negative, and octets after the key: each such
 * request is signed by the key's holder (so it would verify) and refused as not DER by both paths. */
static void test_key_der(void)
{
	static const uint8_t sha256_rsa[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
					      0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00 };
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	BIGNUM *n = NULL;
	uint8_t mod[2 + 256];
	CHECK(k && EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n) == 1 && BN_num_bytes(n) == 256 &&
	      BN_bn2bin(n, mod + 2) == 256);
	mod[0] = mod[1] = 0;
	const struct {
		const char *what;
		bool params;
		size_t n_off, tail_len;
		int rc;
	} cases[] = {
		{ "RSA key as OpenSSL writes it", true, 1, 0, 0 },
		{ "RSA modulus padded with a zero octet", true, 0, 0, HSMCA_ERR_PARSE },
		{ "RSA modulus negative (no leading zero)", true, 2, 0, HSMCA_ERR_PARSE },
		{ "RSA key with octets after it", true, 1, 4, HSMCA_ERR_PARSE },
		{ "rsaEncryption without NULL parameters", false, 1, 0, HSMCA_ERR_PARSE },
	};
	static const uint8_t tail[] = { 0xde, 0xad, 0xbe, 0xef };
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dbuf spki, req;
		dbuf_init(&spki);
		dbuf_init(&req);
		rsa_spki(&spki, cases[i].params, mod + cases[i].n_off, sizeof(mod) - cases[i].n_off, tail, cases[i].tail_len);
		const unsigned char *p = spki.data;
		EVP_PKEY *lenient = d2i_PUBKEY(NULL, &p, (long)spki.len);
		/* OpenSSL reads these keys; hsmca must not pass them on */
		CHECKF(cases[i].params ? lenient && EVP_PKEY_eq(lenient, k) == 1 : true, "%s: OpenSSL no longer reads it",
		       cases[i].what);
		EVP_PKEY_free(lenient);
		craft_by(&req, 0, name_cn_x, sizeof(name_cn_x), &spki, NULL, k, sha256_rsa, sizeof(sha256_rsa));
		expect_dbuf(cases[i].what, &req, cases[i].rc, cases[i].rc ? "key: the public key is not DER" : NULL);
		dbuf_free(&spki);
		dbuf_free(&req);
	}
	BN_free(n);
	EVP_PKEY_free(k);
}

static void test_pem_der(void)
{
	struct dbuf der, pem, t;
	dbuf_init(&der);
	dbuf_init(&pem);
	dbuf_init(&t);
	CHECK(req_make(p256, "DNS:a.example", &der));
	pem_of(der.data, der.len, "\n", &pem);

	expect_dbuf("DER", &der, 0, NULL);
	expect_dbuf("PEM", &pem, 0, NULL);
	pem_of(der.data, der.len, "\r\n", &t);
	expect_dbuf("PEM with CRLF", &t, 0, NULL);
	/* whitespace around the block, no newline at the end */
	t.len = 0;
	dbuf_add(&t, " \r\n\t\n", 5);
	dbuf_add(&t, pem.data, pem.len);
	dbuf_add(&t, "\n\n  \t", 5);
	expect_dbuf("PEM in whitespace", &t, 0, NULL);
	expect("PEM without the final newline", pem.data, pem.len - 1, 0, NULL);

	/* trailing and leading garbage, two blocks */
	t.len = 0;
	dbuf_add(&t, pem.data, pem.len);
	dbuf_add(&t, "x", 1);
	expect_dbuf("PEM + garbage", &t, HSMCA_ERR_PARSE, "PEM: not a single");
	t.len = 0;
	dbuf_add(&t, pem.data, pem.len);
	dbuf_add(&t, pem.data, pem.len);
	expect_dbuf("two PEM blocks", &t, HSMCA_ERR_PARSE, "PEM: not a single");
	/* explanatory text before the block (RFC 7468 5.2), as `openssl req -text` writes it */
	t.len = 0;
	dbuf_add(&t, "hello\n", 6);
	dbuf_add(&t, pem.data, pem.len);
	expect_dbuf("text + PEM", &t, 0, NULL);
	t.len = 0;
	dbuf_add(&t, "\n Certificate Request:\r\n\tData:\n\n  Subject: CN=caf\xc3\xa9 - (1)\n", 58);
	dbuf_add(&t, pem.data, pem.len);
	expect_dbuf("openssl -text lines + PEM", &t, 0, NULL);
	t.len = 0;
	dbuf_add(&t, "- a line starting with a dash\n", 30);
	dbuf_add(&t, pem.data, pem.len);
	expect_dbuf("text starting with '-' + PEM", &t, 0, NULL);
	static const struct {
		const char *what, *text;
		size_t len;
	} pre_bad[] = {
		{ "text without a line end before BEGIN", "hello", 5 },
		{ "a NUL in the text", "he\0lo\n", 6 },
		{ "an ESC in the text", "\x1b[31mred\n", 9 },
		{ "a DEL in the text", "a\x7f\n", 3 },
		{ "CR alone in the text", "a\rb\n", 4 },
		{ "----- in the text", "x -----END CERTIFICATE REQUEST----- y\n", 38 },
		{ "a line of dashes before BEGIN", "-----\n", 6 },
	};
	for (size_t i = 0; i < sizeof(pre_bad) / sizeof(pre_bad[0]); i++) {
		t.len = 0;
		dbuf_add(&t, pre_bad[i].text, pre_bad[i].len);
		dbuf_add(&t, pem.data, pem.len);
		expect_dbuf(pre_bad[i].what, &t, HSMCA_ERR_PARSE, NULL);
	}
	/* two blocks after the text: the second is trailing bytes; a block of another label before the request
	 * ends the text (a line starting with "-----") and is not the BEGIN line wanted */
	t.len = 0;
	dbuf_add(&t, "note\n", 5);
	dbuf_add(&t, pem.data, pem.len);
	dbuf_add(&t, pem.data, pem.len);
	expect_dbuf("text + two PEM blocks", &t, HSMCA_ERR_PARSE, "PEM: not a single");
	t.len = 0;
	dbuf_add(&t, "note\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 64);
	dbuf_add(&t, pem.data, pem.len);
	expect_dbuf("text + another block + PEM", &t, HSMCA_ERR_PARSE, "PEM: not a single");
	/* text may begin with '0', DER_SEQUENCE's byte: still text before PEM, not DER */
	t.len = 0;
	dbuf_add(&t, "0 text first\n", 13);
	dbuf_add(&t, pem.data, pem.len);
	expect_dbuf("text starting with '0' + PEM", &t, 0, NULL);
	t.len = 0;
	dbuf_add(&t, "\n-----BEGIN CERTIFICATE-----\n", 29);
	dbuf_add(&t, pem.data + 36, pem.len - 36);
	expect_dbuf("wrong label", &t, HSMCA_ERR_PARSE, "PEM: not a single");
	t.len = 0;
	dbuf_add(&t, pem.data, 36);
	dbuf_add(&t, "Proc-Type: 4,ENCRYPTED\n\n", 24);
	dbuf_add(&t, pem.data + 36, pem.len - 36);
	expect_dbuf("PEM headers", &t, HSMCA_ERR_PARSE, "PEM: a line");
	expect("no END line", pem.data, pem.len - 34, HSMCA_ERR_PARSE, "PEM: not a single");
	expect("BEGIN line only", pem.data, 36, HSMCA_ERR_PARSE, NULL);
	t.len = 0;
	dbuf_add(&t, pem.data, 36);
	dbuf_add(&t, pem.data + pem.len - 34, 34);
	expect_dbuf("no body", &t, HSMCA_ERR_PARSE, "PEM: base64 is not canonical");

	/* base64 damage: a byte outside the alphabet, a space, an empty line, '=' inside */
	static const struct {
		const char *what;
		size_t at;
		const char *with;
	} damage[] = {
		{ "bad base64 byte", 40, "*" },  { "space in a line", 40, " " },
		{ "empty line", 36, "\n" },      { "'=' inside", 40, "=" },
		{ "tab in a line", 100, "\t" },  { "CR alone", 101, "\r" },
	};
	for (size_t i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
		t.len = 0;
		dbuf_add(&t, pem.data, damage[i].at);
		dbuf_add(&t, damage[i].with, strlen(damage[i].with));
		dbuf_add(&t, pem.data + damage[i].at, pem.len - damage[i].at);
		expect_dbuf(damage[i].what, &t, HSMCA_ERR_PARSE, "PEM:");
	}
	/* a replaced character still decodes, to other DER: no longer the signed request */
	t.len = 0;
	dbuf_add(&t, pem.data, pem.len);
	t.data[36 + 70] = t.data[36 + 70] == 'A' ? 'B' : 'A';
	struct csr c;
	int rc = csr_parse(t.data, t.len, &c, err);
	CHECKF((rc == HSMCA_ERR_PARSE || rc == HSMCA_ERR_AUTH) && c.req == NULL, "altered base64: %d %s", rc, err);
	csr_free(&c);

	/* DER: trailing byte, truncation, non-minimal outer length, empty, too large */
	t.len = 0;
	dbuf_add(&t, der.data, der.len);
	dbuf_add_u8(&t, 0x00);
	expect_dbuf("DER + 1 byte", &t, HSMCA_ERR_PARSE, "DER: 1 trailing bytes");
	expect("DER - 1 byte", der.data, der.len - 1, HSMCA_ERR_PARSE, "DER: not a SEQUENCE");
	expect("DER, half", der.data, der.len / 2, HSMCA_ERR_PARSE, "DER: not a SEQUENCE");
	expect("DER, 2 bytes", der.data, 2, HSMCA_ERR_PARSE, NULL);
	expect("empty", der.data, 0, HSMCA_ERR_PARSE, "empty request");
	CHECK(der.data[1] == 0x81 || der.data[1] == 0x82);
	size_t hdr = der.data[1] == 0x81 ? 3 : 4, clen = der.len - hdr; /* 30 8n ... -> 30 83 00 hi lo */
	t.len = 0;
	uint8_t long_hdr[] = { 0x30, 0x83, 0x00, (uint8_t)(clen >> 8), (uint8_t)clen };
	dbuf_add(&t, long_hdr, sizeof(long_hdr));
	dbuf_add(&t, der.data + hdr, clen);
	expect_dbuf("non-minimal outer length", &t, HSMCA_ERR_PARSE, "DER: not a SEQUENCE");
	expect("garbage", "hello", 5, HSMCA_ERR_PARSE, NULL);
	uint8_t *big = calloc(1, CSR_MAX_INPUT + 1);
	expect("over the size limit", big, CSR_MAX_INPUT + 1, HSMCA_ERR_LIMIT, "request larger than 65536 bytes");
	free(big);

	/* a flipped signature byte, or a flipped subject byte: AUTH */
	t.len = 0;
	dbuf_add(&t, der.data, der.len);
	t.data[t.len - 1] ^= 0x01;
	expect_dbuf("flipped signature byte", &t, HSMCA_ERR_AUTH, "signature: the request is not signed by its key");
	t.len = 0;
	pem_of(der.data, der.len - 1, "\n", &t); /* PEM of truncated DER */
	expect_dbuf("PEM of truncated DER", &t, HSMCA_ERR_PARSE, "DER:");
	t.len = 0;
	dbuf_add(&t, der.data, der.len);
	uint8_t *cn = memmem(t.data, t.len, "test.example", 12);
	CHECK(cn != NULL);
	if (cn)
		cn[0] = 'b';
	expect_dbuf("altered subject", &t, HSMCA_ERR_AUTH, "signature:");

	dbuf_free(&der);
	dbuf_free(&pem);
	dbuf_free(&t);
}

/* The DER as bare base64 text (for JSON fields): standard and padded, or base64url without padding (ACME);
 * canonical, one line, one alphabet; the same request as its DER. */
static void test_bare_base64(void)
{
	bool padded = false;
	char san[64];
	for (int i = 0; i < 40; i++) { /* lengths vary with the signature: both padded and unpadded forms come up */
		struct dbuf der, t;
		dbuf_init(&der);
		dbuf_init(&t);
		snprintf(san, sizeof(san), "DNS:%.*s.example", i % 3 + 1, "abc");
		CHECK(req_make(p256, san, &der));
		unsigned char *enc = malloc(der.len * 2 + 8);
		int n = enc ? EVP_EncodeBlock(enc, der.data, (int)der.len) : -1;
		CHECK(n > 0);
		dbuf_add(&t, enc, n > 0 ? (size_t)n : 0);
		free(enc);
		CHECKF(t.data[0] == 'M', "base64 of a request starts with %c", t.data[0]);
		expect_dbuf("bare base64", &t, 0, NULL);
		struct csr a, b;
		CHECK(csr_parse(t.data, t.len, &a, err) == 0 && csr_parse(der.data, der.len, &b, err) == 0);
		CHECK(a.spki_len == b.spki_len && memcmp(a.spki, b.spki, b.spki_len) == 0 && a.n_sans == 1 &&
		      strcmp(a.sans[0].value, b.sans[0].value) == 0);
		csr_free(&a);
		csr_free(&b);
		uint8_t *eq = memchr(t.data, '=', t.len);
		bool has_std = memchr(t.data, '+', t.len) || memchr(t.data, '/', t.len);
		if (eq) {
			padded = true;
			size_t full = t.len;
			t.len = (size_t)(eq - t.data);
			expect_dbuf("standard base64 without its padding", &t, has_std ? HSMCA_ERR_PARSE : 0, NULL);
			t.len = full;
			static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
			uint8_t *last = eq - 1, keep = *last;
			*last = (uint8_t)alpha[(size_t)(strchr(alpha, *last) - alpha) | 1]; /* a pad bit set */
			expect_dbuf("bare base64, non-canonical", &t, HSMCA_ERR_PARSE, "neither PEM nor DER");
			*last = keep;
		}
		/* base64url without padding: '+' -> '-', '/' -> '_', '=' dropped */
		struct dbuf u;
		dbuf_init(&u);
		for (size_t k = 0; k < t.len && t.data[k] != '='; k++)
			dbuf_add_u8(&u, t.data[k] == '+' ? '-' : t.data[k] == '/' ? '_' : t.data[k]);
		expect_dbuf("base64url", &u, 0, NULL);
		if (eq && (memchr(u.data, '-', u.len) || memchr(u.data, '_', u.len))) { /* else it is standard base64 */
			dbuf_add(&u, "=", 1);
			expect_dbuf("base64url with padding", &u, HSMCA_ERR_PARSE, "neither PEM nor DER");
			u.len--;
		}
		size_t n_std = 0;
		for (size_t k = 0; k < t.len; k++)
			n_std += t.data[k] == '+' || t.data[k] == '/' || t.data[k] == '=';
		if (has_std && n_std >= 2) { /* both alphabets in one text: one '+' or '/' made url, another kept */
			u.len = 0;
			bool swapped = false;
			for (size_t k = 0; k < t.len; k++) {
				uint8_t c = t.data[k];
				if (!swapped && (c == '+' || c == '/'))
					c = c == '+' ? '-' : '_', swapped = true;
				dbuf_add_u8(&u, c);
			}
			expect_dbuf("mixed alphabets", &u, HSMCA_ERR_PARSE, "neither PEM nor DER");
		}
		/* whitespace, a line break, a character outside both alphabets, trailing bytes */
		static const char *const bad[] = { " ", "\n", "*", "." };
		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			u.len = 0;
			dbuf_add(&u, t.data, 40);
			dbuf_add(&u, bad[k], 1);
			dbuf_add(&u, t.data + 40, t.len - 40);
			expect_dbuf("bare base64 with a stray byte", &u, HSMCA_ERR_PARSE, "neither PEM nor DER");
		}
		u.len = 0;
		dbuf_add(&u, t.data, t.len);
		dbuf_add(&u, "AAAA", 4);
		if (eq) /* after the padding */
			expect_dbuf("bare base64, a quantum after the padding", &u, HSMCA_ERR_PARSE, "neither PEM nor DER");
		else
			expect_dbuf("bare base64 of DER + 3 bytes", &u, HSMCA_ERR_PARSE, "DER: 3 trailing bytes");
		expect("bare base64, truncated by a quantum", t.data, t.len - 4, HSMCA_ERR_PARSE, NULL);
		dbuf_free(&u);
		dbuf_free(&der);
		dbuf_free(&t);
	}
	CHECKF(padded, "no request with base64 padding was made");
}

/* Canonical base64 only: in some request whose DER length is not a multiple of 3, change the pad bits. */
static void test_pem_canonical(void)
{
	bool tried = false;
	char san[64];
	for (int i = 0; i < 40 && !tried; i++) { /* signature lengths vary: 40 tries make "no padding" ~1e-19 */
		struct dbuf der, pem;
		dbuf_init(&der);
		dbuf_init(&pem);
		snprintf(san, sizeof(san), "DNS:%.*s.example", i % 3 + 1, "abc");
		CHECK(req_make(p256, san, &der));
		pem_of(der.data, der.len, "\n", &pem);
		uint8_t *eq = memchr(pem.data, '=', pem.len);
		if (eq) {
			tried = true;
			static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
			uint8_t *last = eq - 1;
			size_t v = (size_t)(strchr(alpha, *last) - alpha);
			*last = (uint8_t)alpha[v | 1]; /* a pad bit set: decodes to the same bytes */
			expect_dbuf("non-canonical base64", &pem, HSMCA_ERR_PARSE, "PEM: base64 is not canonical");
			*last = (uint8_t)alpha[v];
			expect_dbuf("canonical base64", &pem, 0, NULL);
			/* padding removed */
			uint8_t *nl = memchr(eq, '\n', pem.len - (size_t)(eq - pem.data));
			memmove(eq, nl, pem.len - (size_t)(nl - pem.data));
			pem.len -= (size_t)(nl - eq);
			expect_dbuf("base64 without padding", &pem, HSMCA_ERR_PARSE, "PEM: base64 is not canonical");
		}
		dbuf_free(&der);
		dbuf_free(&pem);
	}
	CHECKF(tried, "no request with base64 padding was made");
}

static void test_sans(void)
{
	struct dbuf der;
	struct csr c;
	dbuf_init(&der);
	CHECK(req_make(p256,
		       "DNS:a.example, IP:192.0.2.1, IP:2001:db8:0:0:0:0:0:1, email:a@example.com, "
		       "URI:https://example.com/x?y=1, IP:::ffff:198.51.100.7, DNS:*.b.example",
		       &der));
	int rc = csr_parse(der.data, der.len, &c, err);
	CHECKF(rc == 0 && c.n_sans == 7, "rc %d %s n %zu", rc, err, c.n_sans);
	static const struct {
		enum csr_san_type type;
		const char *value;
	} want[] = {
		{ CSR_SAN_DNS, "a.example" },       { CSR_SAN_IP, "192.0.2.1" },
		{ CSR_SAN_IP, "2001:db8::1" },      { CSR_SAN_EMAIL, "a@example.com" },
		{ CSR_SAN_URI, "https://example.com/x?y=1" }, { CSR_SAN_IP, "::ffff:198.51.100.7" },
		{ CSR_SAN_DNS, "*.b.example" },
	};
	for (size_t i = 0; rc == 0 && i < c.n_sans; i++)
		CHECKF(c.sans[i].type == want[i].type && strcmp(c.sans[i].value, want[i].value) == 0, "SAN %zu: %d %s",
		       i, c.sans[i].type, c.sans[i].value);
	CHECKF(rc == 0 && c.req == NULL && c.own_key, "a P-256 request with ECDSA-SHA256 takes the fast path");
	CHECK(rc == 0 && EVP_PKEY_eq(c.pubkey, p256) == 1);
	same_as_full("seven SANs", der.data, der.len, rc, &c);
	struct csr f;
	char cn[64] = "";
	CHECK(csr_parse_full(der.data, der.len, &f, err) == 0 && f.req &&
	      X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(f.req), NID_commonName, cn, sizeof(cn)) > 0 &&
	      strcmp(cn, "test.example") == 0);
	csr_free(&f);
	csr_free(&c);
	csr_free(&c); /* twice is harmless */
	csr_free(NULL);

	/* no extensions at all, and extensions without a SAN */
	der.len = 0;
	CHECK(req_make(p256, NULL, &der));
	rc = csr_parse(der.data, der.len, &c, err);
	CHECK(rc == 0 && c.n_sans == 0);
	csr_free(&c);

	/* CSR_MAX_SANS names pass, one more is over the limit */
	char *conf = malloc(MANY_SANS_CONF_MAX);
	for (int n = CSR_MAX_SANS; n <= CSR_MAX_SANS + 1; n++) {
		size_t k = 0;
		for (int i = 0; i < n; i++)
			k += (size_t)snprintf(conf + k, MANY_SANS_CONF_MAX - k, "%sDNS:h%d.example", i ? "," : "", i);
		der.len = 0;
		CHECK(req_make(p256, conf, &der));
		if (n == CSR_MAX_SANS) {
			rc = csr_parse(der.data, der.len, &c, err);
			CHECKF(rc == 0 && c.n_sans == CSR_MAX_SANS && strcmp(c.sans[99].value, "h99.example") == 0, "%d %s",
			       rc, err);
			csr_free(&c);
		} else {
			expect_dbuf("101 SANs", &der, HSMCA_ERR_POLICY, "SAN: 101 names, at most 100");
		}
	}
	free(conf);
	dbuf_free(&der);
}

static void gen(struct dbuf *g, uint8_t tag, const void *v, size_t len)
{
	dbuf_add_tlv(g, tag, v, len);
}

static void test_san_rules(void)
{
	struct dbuf g;
	char buf[CSR_SAN_MAX + 1];
	dbuf_init(&g);
	gen(&g, 0x82, "ok.example", 10);
	expect_gens("crafted DNS", &g, 0, NULL);

	static const struct {
		const char *what;
		uint8_t tag;
		const char *v;
		size_t len;
		int rc;
		const char *prefix;
	} one[] = {
		{ "otherName", 0xa0, "\x06\x03\x2a\x03\x04\xa0\x03\x0c\x01x", 10, HSMCA_ERR_POLICY,
		  "SAN: type otherName not accepted" },
		{ "directoryName", 0xa4, "\x30\x0c\x31\x0a\x30\x08\x06\x03\x55\x04\x03\x0c\x01x", 14, HSMCA_ERR_POLICY,
		  "SAN: type directoryName" },
		{ "registeredID", 0x88, "\x2a\x03\x04", 3, HSMCA_ERR_POLICY, "SAN: type registeredID" },
		{ "IP of 8 bytes", 0x87, "\xc0\x00\x02\x00\xff\xff\xff\x00", 8, HSMCA_ERR_PARSE, "SAN: IP address of 8" },
		{ "IP of 5 bytes", 0x87, "\xc0\x00\x02\x00\x01", 5, HSMCA_ERR_PARSE, "SAN: IP address of 5" },
		{ "empty DNS", 0x82, "", 0, HSMCA_ERR_PARSE, "SAN: empty DNS" },
		{ "DNS with a space", 0x82, "a b", 3, HSMCA_ERR_PARSE, "SAN: DNS name with a byte 0x20" },
		{ "DNS with NUL", 0x82, "a\0.example", 10, HSMCA_ERR_PARSE, "SAN: DNS name with a byte 0x00" },
		{ "email with 8-bit", 0x81, "\xc3\xa9@x", 4, HSMCA_ERR_PARSE, "SAN: email with a byte 0xc3" },
		{ "URI with newline", 0x86, "http://x/\n", 10, HSMCA_ERR_PARSE, "SAN: URI with a byte 0x0a" },
	};
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		g.len = 0;
		gen(&g, 0x82, "first.example", 13);
		gen(&g, one[i].tag, one[i].v, one[i].len);
		expect_gens(one[i].what, &g, one[i].rc, one[i].prefix);
	}
	/* the longest value that fits, and one byte more */
	memset(buf, 'u', sizeof(buf));
	g.len = 0;
	gen(&g, 0x86, buf, CSR_SAN_MAX - 1);
	expect_gens("URI of 255 bytes", &g, 0, NULL);
	g.len = 0;
	gen(&g, 0x86, buf, CSR_SAN_MAX);
	expect_gens("URI of 256 bytes", &g, HSMCA_ERR_POLICY, "SAN: URI longer than 255 bytes");
	/* empty GeneralNames */
	g.len = 0;
	expect_gens("empty subjectAltName", &g, HSMCA_ERR_PARSE, "SAN: subjectAltName is empty");
	/* BER inside the SAN (non-minimal length in the OCTET STRING's contents is caught before: the walk does not
	 * descend into OCTET STRINGs, so the re-encoding has to) */
	g.len = 0;
	dbuf_add(&g, "\x82\x81\x01" "a", 4);
	expect_gens("BER length in a GeneralName", &g, HSMCA_ERR_PARSE, "SAN: subjectAltName is not DER");
	dbuf_free(&g);
}

/* Re-encoding: DER rules the walk cannot see, in each part OpenSSL would otherwise hand back verbatim. */
static void test_ber(void)
{
	struct dbuf attrs, exts, req, v;
	dbuf_init(&attrs);
	dbuf_init(&exts);
	dbuf_init(&req);
	dbuf_init(&v);
	/* SAN value: SEQUENCE { [2] "a.example" } */
	dbuf_add_tlv(&v, DER_SEQUENCE, "\x82\x09" "a.example", 11);

	static const struct {
		const char *what, *crit;
		size_t crit_len;
		int rc;
		const char *prefix;
	} crit[] = {
		{ "no critical flag", NULL, 0, 0, NULL },
		{ "critical TRUE", "\x01\x01\xff", 3, 0, NULL },
		{ "critical FALSE spelled out (DEFAULT)", "\x01\x01\x00", 3, HSMCA_ERR_PARSE, "extensions: not DER" },
		{ "critical TRUE as 01 (OpenSSL re-encodes it as 01)", "\x01\x01\x01", 3, HSMCA_ERR_PARSE, "DER: not DER" },
	};
	for (size_t i = 0; i < sizeof(crit) / sizeof(crit[0]); i++) {
		exts.len = attrs.len = req.len = 0;
		size_t m = dbuf_open(&exts, DER_SEQUENCE);
		ext_add(&exts, oid_san, sizeof(oid_san), crit[i].crit, crit[i].crit_len, v.data, v.len);
		dbuf_close(&exts, m);
		attr_add(&attrs, oid_ext_req, sizeof(oid_ext_req), exts.data, exts.len);
		craft(&req, 0, name_cn_x, sizeof(name_cn_x), NULL, &attrs);
		expect_dbuf(crit[i].what, &req, crit[i].rc, crit[i].prefix);
	}

	/* two SAN extensions; another extension beside the SAN is fine */
	static const char ku[] = { 0x03, 0x02, 0x07, 0x80 };
	for (int twice = 0; twice < 2; twice++) {
		exts.len = attrs.len = req.len = 0;
		size_t m = dbuf_open(&exts, DER_SEQUENCE);
		ext_add(&exts, oid_san, sizeof(oid_san), NULL, 0, v.data, v.len);
		ext_add(&exts, twice ? oid_san : oid_ku, 5, NULL, 0, twice ? (const char *)v.data : ku,
			twice ? v.len : sizeof(ku));
		dbuf_close(&exts, m);
		attr_add(&attrs, oid_ext_req, sizeof(oid_ext_req), exts.data, exts.len);
		craft(&req, 0, name_cn_x, sizeof(name_cn_x), NULL, &attrs);
		expect_dbuf(twice ? "SAN twice" : "SAN and keyUsage", &req, twice ? HSMCA_ERR_PARSE : 0,
			    twice ? "extensions: subjectAltName twice" : NULL);
	}

	/* extensionRequest twice, or with two values */
	exts.len = 0;
	size_t m = dbuf_open(&exts, DER_SEQUENCE);
	ext_add(&exts, oid_san, sizeof(oid_san), NULL, 0, v.data, v.len);
	dbuf_close(&exts, m);
	attrs.len = req.len = 0;
	attr_add(&attrs, oid_ext_req, sizeof(oid_ext_req), exts.data, exts.len);
	attr_add(&attrs, oid_ext_req, sizeof(oid_ext_req), exts.data, exts.len);
	craft(&req, 0, name_cn_x, sizeof(name_cn_x), NULL, &attrs);
	expect_dbuf("extensionRequest twice", &req, HSMCA_ERR_PARSE, "extensions: more than one");
	struct dbuf two;
	dbuf_init(&two);
	dbuf_add(&two, exts.data, exts.len);
	dbuf_add(&two, exts.data, exts.len);
	attrs.len = req.len = 0;
	attr_add(&attrs, oid_ext_req, sizeof(oid_ext_req), two.data, two.len);
	craft(&req, 0, name_cn_x, sizeof(name_cn_x), NULL, &attrs);
	expect_dbuf("extensionRequest with two values", &req, HSMCA_ERR_PARSE, "extensions: extensionRequest must");
	dbuf_free(&two);
	/* extensionRequest whose value is not a SEQUENCE */
	attrs.len = req.len = 0;
	attr_add(&attrs, oid_ext_req, sizeof(oid_ext_req), "\x0c\x01x", 3);
	craft(&req, 0, name_cn_x, sizeof(name_cn_x), NULL, &attrs);
	expect_dbuf("extensionRequest not a SEQUENCE", &req, HSMCA_ERR_PARSE, "extensions:");

	/* attributes SET OF: DER sorts by encoding, so of the two orders exactly one is DER */
	struct dbuf a1, a2;
	dbuf_init(&a1);
	dbuf_init(&a2);
	attr_add(&a1, oid_challenge, sizeof(oid_challenge), "\x0c\x02pw", 4);
	attr_add(&a2, oid_ext_req, sizeof(oid_ext_req), exts.data, exts.len);
	int rcs[2];
	for (int order = 0; order < 2; order++) {
		struct csr c;
		attrs.len = req.len = 0;
		dbuf_add(&attrs, order ? a2.data : a1.data, order ? a2.len : a1.len);
		dbuf_add(&attrs, order ? a1.data : a2.data, order ? a1.len : a2.len);
		craft(&req, 0, name_cn_x, sizeof(name_cn_x), NULL, &attrs);
		rcs[order] = csr_parse(req.data, req.len, &c, err);
		if (rcs[order] == 0)
			CHECK(c.n_sans == 1 && strcmp(c.sans[0].value, "a.example") == 0);
		else
			CHECKF(rcs[order] == HSMCA_ERR_PARSE && check_prefix(err, "DER: does not re-encode"), "%s", err);
		csr_free(&c);
	}
	CHECKF((rcs[0] == 0) != (rcs[1] == 0), "attribute orders: %d %d", rcs[0], rcs[1]);
	dbuf_free(&a1);
	dbuf_free(&a2);

	/* the subject: a multi-valued RDN must have its AVAs sorted (CN 55 04 03 before O 55 04 0a) */
	static const uint8_t rdn_sorted[] = { 0x30, 0x18, 0x31, 0x16, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01,
					      'a', 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x03, 'b', 'b', 'b' };
	static const uint8_t rdn_unsorted[] = { 0x30, 0x18, 0x31, 0x16, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c,
						0x03, 'b', 'b', 'b', 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 'a' };
	/* two RDNs, each one AVA, in either order: both are DER (a Name is a SEQUENCE) */
	static const uint8_t two_rdns[] = { 0x30, 0x1a, 0x31, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x03,
					    'b', 'b', 'b', 0x31, 0x0a, 0x30, 0x08, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 'a' };
	static const uint8_t empty_name[] = { 0x30, 0x00 };
	/* a constructed UTF8String, and a non-minimal length: caught by the walk */
	static const uint8_t constructed[] = { 0x30, 0x0e, 0x31, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04,
					       0x03, 0x2c, 0x03, 0x0c, 0x01, 'x' };
	static const uint8_t long_len[] = { 0x30, 0x0d, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x81,
					    0x01, 'x' };
	static const struct {
		const char *what;
		const uint8_t *name;
		size_t len;
		int rc;
		const char *prefix;
	} names[] = {
		{ "sorted multi-valued RDN", rdn_sorted, sizeof(rdn_sorted), 0, NULL },
		{ "unsorted multi-valued RDN", rdn_unsorted, sizeof(rdn_unsorted), HSMCA_ERR_PARSE, "DER: does not re-encode" },
		{ "two RDNs", two_rdns, sizeof(two_rdns), 0, NULL },
		{ "empty subject", empty_name, sizeof(empty_name), 0, NULL },
		{ "constructed string", constructed, sizeof(constructed), HSMCA_ERR_PARSE, "DER: not DER" },
		{ "non-minimal length", long_len, sizeof(long_len), HSMCA_ERR_PARSE, "DER: not DER" },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		req.len = 0;
		craft(&req, 0, names[i].name, names[i].len, NULL, NULL);
		expect_dbuf(names[i].what, &req, names[i].rc, names[i].prefix);
	}

	/* an attribute nested 40 SEQUENCEs deep: refused by the walk before OpenSSL sees it */
	struct dbuf deep;
	dbuf_init(&deep);
	size_t marks[40];
	for (int i = 0; i < 40; i++)
		marks[i] = dbuf_open(&deep, DER_SEQUENCE);
	for (int i = 39; i >= 0; i--)
		dbuf_close(&deep, marks[i]);
	attrs.len = req.len = 0;
	attr_add(&attrs, oid_challenge, sizeof(oid_challenge), deep.data, deep.len);
	craft(&req, 0, name_cn_x, sizeof(name_cn_x), NULL, &attrs);
	expect_dbuf("nested 40 deep", &req, HSMCA_ERR_PARSE, "DER: not DER");
	dbuf_free(&deep);

	/* version must be v1 (0) */
	req.len = 0;
	craft(&req, 1, name_cn_x, sizeof(name_cn_x), NULL, NULL);
	expect_dbuf("version 2", &req, HSMCA_ERR_PARSE, "DER: version is not 1");
	/* a crafted request with a challengePassword only */
	attrs.len = req.len = 0;
	attr_add(&attrs, oid_challenge, sizeof(oid_challenge), "\x0c\x02pw", 4);
	craft(&req, 0, name_cn_x, sizeof(name_cn_x), NULL, &attrs);
	expect_dbuf("challengePassword", &req, 0, NULL);

	dbuf_free(&attrs);
	dbuf_free(&exts);
	dbuf_free(&req);
	dbuf_free(&v);
}

/* A request for CN=test.example signed by k with md; pss: RSASSA-PSS padding. */
static bool req_make_md(EVP_PKEY *k, const EVP_MD *md, bool pss, struct dbuf *out)
{
	X509_REQ *r = X509_REQ_new();
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	unsigned char *der = NULL;
	bool ok = false;
	int n;
	if (!r || !ctx || !X509_REQ_set_version(r, X509_REQ_VERSION_1) ||
	    !X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(r), "CN", MBSTRING_ASC,
					(const unsigned char *)"test.example", -1, -1, 0) ||
	    !X509_REQ_set_pubkey(r, k) || EVP_DigestSignInit(ctx, &pctx, md, NULL, k) != 1 ||
	    (pss && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1) ||
	    X509_REQ_sign_ctx(r, ctx) <= 0 || (n = i2d_X509_REQ(r, &der)) <= 0)
		goto out;
	dbuf_add(out, der, (size_t)n);
	ok = !out->failed;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	X509_REQ_free(r);
	return ok;
}

/* Only ECDSA (no parameters) and RSA PKCS#1 v1.5 (NULL or no parameters) with SHA-256/384/512 are taken: a
 * request signed with MD5, SHA-1 or SHA-224, or with RSASSA-PSS, was accepted by the full path before. */
static void test_sigalgs(void)
{
	static const uint8_t ecdsa_sha256_null[] = { 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
						     0x3d, 0x04, 0x03, 0x02, 0x05, 0x00 };
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	struct dbuf der;
	char what[64];
	const struct { const char *name; EVP_PKEY *k; const EVP_MD *md; bool pss; bool ok; } cases[] = {
		{ "P-256 SHA-256", p256, EVP_sha256(), false, true },
		{ "P-256 SHA-384", p256, EVP_sha384(), false, true },
		{ "P-256 SHA-512", p256, EVP_sha512(), false, true },
		{ "P-256 SHA-1", p256, EVP_sha1(), false, false },
		{ "P-256 SHA-224", p256, EVP_sha224(), false, false },
		{ "RSA SHA-256", rsa, EVP_sha256(), false, true },
		{ "RSA SHA-512", rsa, EVP_sha512(), false, true },
		{ "RSA MD5", rsa, EVP_md5(), false, false },
		{ "RSA SHA-1", rsa, EVP_sha1(), false, false },
		{ "RSA SHA-224", rsa, EVP_sha224(), false, false },
		{ "RSA-PSS SHA-256", rsa, EVP_sha256(), true, false },
	};
	CHECK(rsa != NULL);
	dbuf_init(&der);
	for (size_t i = 0; rsa && i < sizeof(cases) / sizeof(cases[0]); i++) {
		der.len = 0;
		CHECKF(req_make_md(cases[i].k, cases[i].md, cases[i].pss, &der), "%s: cannot make", cases[i].name);
		snprintf(what, sizeof(what), "signed with %s", cases[i].name);
		expect_dbuf(what, &der, cases[i].ok ? 0 : HSMCA_ERR_PARSE, cases[i].ok ? NULL : "signature algorithm ");
	}
	/* ECDSA with NULL parameters (RFC 5758: absent), the signature itself good */
	der.len = 0;
	craft_by(&der, 0, name_cn_x, sizeof(name_cn_x), NULL, NULL, p256, ecdsa_sha256_null, sizeof(ecdsa_sha256_null));
	expect_dbuf("ecdsa-with-SHA256 with NULL parameters", &der, HSMCA_ERR_PARSE,
		    "signature algorithm: ECDSA takes no parameters");
	dbuf_free(&der);
	EVP_PKEY_free(rsa);
}

/* Java's keytool and Windows' certreq label the block NEW CERTIFICATE REQUEST; it ends with its own label. */
static void test_pem_new_label(void)
{
	struct dbuf der, pem, t;
	dbuf_init(&der);
	dbuf_init(&pem);
	dbuf_init(&t);
	CHECK(req_make(p256, "DNS:a.example", &der));
	pem_of(der.data, der.len, "\n", &pem);
	const char *body = memchr(pem.data, '\n', pem.len);
	const char *end = body ? strstr(body, "-----END") : NULL;
	CHECK(body && end);
	if (body && end) {
		dbuf_add(&t, "-----BEGIN NEW CERTIFICATE REQUEST-----", 39);
		dbuf_add(&t, body, (size_t)(end - body));
		size_t keep = t.len;
		dbuf_add(&t, "-----END NEW CERTIFICATE REQUEST-----\n", 38);
		expect_dbuf("PEM labelled NEW CERTIFICATE REQUEST", &t, 0, NULL);
		t.len = keep;
		dbuf_add(&t, "-----END CERTIFICATE REQUEST-----\n", 34);
		expect_dbuf("PEM begun NEW and ended without it", &t, HSMCA_ERR_PARSE, "PEM: ");
	}
	dbuf_free(&der);
	dbuf_free(&pem);
	dbuf_free(&t);
}

int main(void)
{
	p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!p256) {
		fprintf(stderr, "unit_csr: no P-256 key\n");
		return 1;
	}
	test_keys();
	test_key_bounds();
	test_key_forms();
	test_key_der();
	test_pem_der();
	test_pem_canonical();
	test_bare_base64();
	test_sans();
	test_san_rules();
	test_ber();
	test_sigalgs();
	test_pem_new_label();
	CHECKF(fast_taken >= 10, "only %u accepted requests took the fast path", fast_taken);
	printf("unit_csr: %u accepted requests took the fast path, each compared with the full path\n", fast_taken);
	EVP_PKEY_free(p256);
	return check_done("unit_csr");
}
