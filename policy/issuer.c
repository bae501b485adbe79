#include <openssl/x509v3.h>
#include <openssl/sha.h>
#include <string.h>

#include "policy.h"

static const uint8_t pol_alg_ecdsa_sha256[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
static const uint8_t pol_alg_ecdsa_sha384[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 };
static const uint8_t pol_alg_rsa_sha256[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
					      0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00 };

bool policy_sigalg_for_pkey(EVP_PKEY *pk, struct span *out)
{
	if (EVP_PKEY_is_a(pk, "RSA")) {
		int bits = EVP_PKEY_get_bits(pk);
		if (bits < 2048 || bits > 4096)
			return false;
		*out = span_make(pol_alg_rsa_sha256, sizeof(pol_alg_rsa_sha256));
		return true;
	}
	if (EVP_PKEY_is_a(pk, "EC")) {
		char g[64];
		size_t gl;
		if (!EVP_PKEY_get_utf8_string_param(pk, "group", g, sizeof(g), &gl))
			return false;
		if (!strcmp(g, "prime256v1")) {
			*out = span_make(pol_alg_ecdsa_sha256, sizeof(pol_alg_ecdsa_sha256));
			return true;
		}
		if (!strcmp(g, "secp384r1")) {
			*out = span_make(pol_alg_ecdsa_sha384, sizeof(pol_alg_ecdsa_sha384));
			return true;
		}
	}
	return false;
}

static int pol_time(const ASN1_TIME *t, time_t *out)
{
	struct tm tm;
	if (!ASN1_TIME_to_tm(t, &tm))
		return HSMCA_ERR_PARSE;
	*out = timegm(&tm);
	return 0;
}

static int pol_issuer_fill(X509 *cert, X509 *parent, const ASN1_OCTET_STRING *ski, struct policy_issuer *out);

int policy_issuer_from_x509(X509 *cert, X509 *parent, struct policy_issuer *out)
{
	/* read the extension itself: the cached value is not computed for an unsigned certificate */
	ASN1_OCTET_STRING *ski = X509_get_ext_d2i(cert, NID_subject_key_identifier, NULL, NULL);
	int rc = pol_issuer_fill(cert, parent, ski, out);
	ASN1_OCTET_STRING_free(ski);
	return rc;
}

static int pol_issuer_fill(X509 *cert, X509 *parent, const ASN1_OCTET_STRING *ski, struct policy_issuer *out)
{
	unsigned char *p;
	struct span alg;
	int len;
	memset(out, 0, sizeof(*out));
	len = i2d_X509_NAME(X509_get_subject_name(cert), NULL);
	if (len <= 0 || (size_t)len > sizeof(out->subject))
		return HSMCA_ERR_LIMIT;
	p = out->subject;
	i2d_X509_NAME(X509_get_subject_name(cert), &p);
	out->subject_len = (size_t)len;
	SHA1(out->subject, out->subject_len, out->name_hash);
	unsigned char *iss = NULL;
	int ilen = i2d_X509_NAME(X509_get_issuer_name(cert), &iss);
	if (ilen <= 0)
		return HSMCA_ERR_PARSE;
	SHA1(iss, (size_t)ilen, out->parent_name_hash);
	OPENSSL_free(iss);
	if (!ski || ski->length <= 0 || (size_t)ski->length > sizeof(out->ski))
		return HSMCA_ERR_POLICY; /* a signing certificate must carry an SKI */
	memcpy(out->ski, ski->data, (size_t)ski->length);
	out->ski_len = (size_t)ski->length;
	const ASN1_BIT_STRING *bits = X509_get0_pubkey_bitstr(cert);
	SHA1(bits->data, (size_t)bits->length, out->key_hash);
	if (parent) {
		bits = X509_get0_pubkey_bitstr(parent);
		SHA1(bits->data, (size_t)bits->length, out->parent_key_hash);
	}
	if (pol_time(X509_get0_notBefore(cert), &out->not_before) || pol_time(X509_get0_notAfter(cert), &out->not_after))
		return HSMCA_ERR_PARSE;
	if (!policy_sigalg_for_pkey(X509_get0_pubkey(cert), &alg))
		return HSMCA_ERR_POLICY;
	memcpy(out->sigalg, alg.data, alg.len);
	out->sigalg_len = alg.len;
	return 0;
}

static const struct {
	const char *name;
	uint8_t oid[8];
} pol_ekus[] = {
	{ "serverAuth", { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01 } },
	{ "clientAuth", { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02 } },
	{ "codeSigning", { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03 } },
	{ "emailProtection", { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x04 } },
	{ "timeStamping", { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08 } },
	{ "OCSPSigning", { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x09 } },
};

bool policy_eku_oid(const char *name, struct span *out)
{
	for (size_t i = 0; i < sizeof(pol_ekus) / sizeof(pol_ekus[0]); i++)
		if (!strcmp(name, pol_ekus[i].name)) {
			*out = span_make(pol_ekus[i].oid, sizeof(pol_ekus[i].oid));
			return true;
		}
	return false;
}

static const char *const pol_ku_names[] = { "digitalSignature", "nonRepudiation", "keyEncipherment",
					    "dataEncipherment", "keyAgreement",   "keyCertSign",
					    "cRLSign",          "encipherOnly",   "decipherOnly" };

bool policy_ku_bit(const char *name, uint16_t *out)
{
	for (size_t i = 0; i < sizeof(pol_ku_names) / sizeof(pol_ku_names[0]); i++)
		if (!strcmp(name, pol_ku_names[i])) {
			*out = (uint16_t)(1u << i);
			return true;
		}
	return false;
}
