#include "p11.h"

#include <openssl/sha.h>
#include <openssl/x509.h>
#include <string.h>

/* DER of the curve OIDs and our signature AlgorithmIdentifiers */
static const uint8_t p11_oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const uint8_t p11_oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const uint8_t p11_oid_ec_pubkey[] = { 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t p11_alg_rsa_enc[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
					   0x0d, 0x01, 0x01, 0x01, 0x05, 0x00 };

static const struct {
	enum p11_keytype t;
	const char *name;
	CK_ULONG bits;
} p11_types[] = {
	{ P11_KEY_P256, "p256", 256 },       { P11_KEY_P384, "p384", 384 },
	{ P11_KEY_RSA2048, "rsa2048", 2048 }, { P11_KEY_RSA3072, "rsa3072", 3072 },
	{ P11_KEY_RSA4096, "rsa4096", 4096 },
};

static bool p11_is_ec(enum p11_keytype t) { return t == P11_KEY_P256 || t == P11_KEY_P384; }

bool p11_keytype_parse(const char *s, enum p11_keytype *out)
{
	for (size_t i = 0; i < sizeof(p11_types) / sizeof(p11_types[0]); i++)
		if (!strcmp(s, p11_types[i].name)) {
			*out = p11_types[i].t;
			return true;
		}
	return false;
}

const char *p11_keytype_name(enum p11_keytype t)
{
	for (size_t i = 0; i < sizeof(p11_types) / sizeof(p11_types[0]); i++)
		if (p11_types[i].t == t)
			return p11_types[i].name;
	return "unknown";
}

bool p11_keytype_of_pkey(EVP_PKEY *pk, enum p11_keytype *out)
{
	int bits = EVP_PKEY_get_bits(pk);
	if (EVP_PKEY_is_a(pk, "EC")) {
		char group[64];
		size_t gl = 0;
		if (!EVP_PKEY_get_utf8_string_param(pk, "group", group, sizeof(group), &gl))
			return false;
		if (!strcmp(group, "prime256v1") || !strcmp(group, "P-256"))
			*out = P11_KEY_P256;
		else if (!strcmp(group, "secp384r1") || !strcmp(group, "P-384"))
			*out = P11_KEY_P384;
		else
			return false;
		return true;
	}
	if (EVP_PKEY_is_a(pk, "RSA")) {
		if (bits == 2048)
			*out = P11_KEY_RSA2048;
		else if (bits == 3072)
			*out = P11_KEY_RSA3072;
		else if (bits == 4096)
			*out = P11_KEY_RSA4096;
		else
			return false;
		return true;
	}
	return false;
}

int p11_object_find(struct p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label,
		    CK_OBJECT_HANDLE *out)
{
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_LABEL, (void *)label, strlen(label) },
	};
	CK_OBJECT_HANDLE h[2];
	CK_ULONG n = 0;
	int rc = p11_check_rv(m->f->C_FindObjectsInit(s, tmpl, 2));
	if (rc)
		return rc;
	rc = p11_check_rv(m->f->C_FindObjects(s, h, 2, &n));
	m->f->C_FindObjectsFinal(s);
	if (rc)
		return rc;
	if (n == 0)
		return HSMCA_ERR_NOTFOUND;
	if (n > 1)
		return HSMCA_ERR_EXISTS;
	*out = h[0];
	return 0;
}

int p11_key_generate(struct p11_module *m, CK_SESSION_HANDLE s, enum p11_keytype t, const char *label,
		     uint8_t out_id[P11_KEY_ID_LEN], CK_OBJECT_HANDLE *out_priv, CK_OBJECT_HANDLE *out_pub)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG bits = 0;
	CK_BYTE exp[] = { 0x01, 0x00, 0x01 };
	CK_MECHANISM_TYPE ec_mechs[] = { CKM_ECDSA };
	CK_MECHANISM_TYPE rsa_mechs[] = { CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS, CKM_SHA512_RSA_PKCS };
	CK_MECHANISM mech = { p11_is_ec(t) ? CKM_EC_KEY_PAIR_GEN : CKM_RSA_PKCS_KEY_PAIR_GEN, NULL, 0 };
	CK_OBJECT_HANDLE existing;
	size_t ll = strlen(label);
	int rc;
	for (size_t i = 0; i < sizeof(p11_types) / sizeof(p11_types[0]); i++)
		if (p11_types[i].t == t)
			bits = p11_types[i].bits;
	if (!bits || ll == 0 || ll > P11_LABEL_MAX)
		return HSMCA_ERR_CONFIG;
	rc = p11_object_find(m, s, CKO_PRIVATE_KEY, label, &existing);
	if (rc != HSMCA_ERR_NOTFOUND)
		return rc ? rc : HSMCA_ERR_EXISTS;
	rc = p11_random(m, s, out_id, P11_KEY_ID_LEN);
	if (rc)
		return rc;
	CK_ATTRIBUTE pub[6] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },      { CKA_VERIFY, &yes, sizeof(yes) },
		{ CKA_ENCRYPT, &no, sizeof(no) },      { CKA_WRAP, &no, sizeof(no) },
		{ CKA_LABEL, (void *)label, ll },       { CKA_ID, out_id, P11_KEY_ID_LEN },
	};
	CK_ATTRIBUTE pub_extra_ec = { CKA_EC_PARAMS, (void *)(t == P11_KEY_P256 ? p11_oid_p256 : p11_oid_p384),
				      t == P11_KEY_P256 ? sizeof(p11_oid_p256) : sizeof(p11_oid_p384) };
	CK_ATTRIBUTE pub_rsa[2] = { { CKA_MODULUS_BITS, &bits, sizeof(bits) },
				    { CKA_PUBLIC_EXPONENT, exp, sizeof(exp) } };
	CK_ATTRIBUTE pubt[8];
	CK_ULONG npub = 6;
	memcpy(pubt, pub, sizeof(pub));
	if (p11_is_ec(t)) {
		pubt[npub++] = pub_extra_ec;
	} else {
		pubt[npub++] = pub_rsa[0];
		pubt[npub++] = pub_rsa[1];
	}
	CK_ATTRIBUTE priv[] = {
		{ CKA_TOKEN, &yes, sizeof(yes) },
		{ CKA_PRIVATE, &yes, sizeof(yes) },
		{ CKA_SENSITIVE, &yes, sizeof(yes) },
		{ CKA_EXTRACTABLE, &no, sizeof(no) },
		{ CKA_SIGN, &yes, sizeof(yes) },
		{ CKA_DECRYPT, &no, sizeof(no) },
		{ CKA_UNWRAP, &no, sizeof(no) },
		{ CKA_DERIVE, &no, sizeof(no) },
		{ CKA_SIGN_RECOVER, &no, sizeof(no) },
		{ CKA_LABEL, (void *)label, ll },
		{ CKA_ID, out_id, P11_KEY_ID_LEN },
		{ CKA_ALLOWED_MECHANISMS, p11_is_ec(t) ? (void *)ec_mechs : (void *)rsa_mechs,
		  p11_is_ec(t) ? sizeof(ec_mechs) : sizeof(rsa_mechs) },
	};
	return p11_check_rv(m->f->C_GenerateKeyPair(s, &mech, pubt, npub, priv, sizeof(priv) / sizeof(priv[0]),
						    out_pub, out_priv));
}

/* Reads one attribute into a fresh dbuf-owned buffer. */
static int p11_attr_get(struct p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
			struct dbuf *out)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	int rc = p11_check_rv(m->f->C_GetAttributeValue(s, o, &a, 1));
	if (rc)
		return rc;
	if (a.ulValueLen == 0 || a.ulValueLen > 4096)
		return HSMCA_ERR_P11;
	uint8_t tmp[4096];
	a.pValue = tmp;
	rc = p11_check_rv(m->f->C_GetAttributeValue(s, o, &a, 1));
	if (rc)
		return rc;
	if (a.ulValueLen == 0 || a.ulValueLen > sizeof(tmp)) /* the module's second answer: bounded again */
		return HSMCA_ERR_P11;
	dbuf_add(out, tmp, a.ulValueLen);
	return out->failed ? HSMCA_ERR_NOMEM : 0;
}

int p11_pubkey_get(struct p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub, EVP_PKEY **out)
{
	CK_KEY_TYPE kt;
	CK_ATTRIBUTE a = { CKA_KEY_TYPE, &kt, sizeof(kt) };
	struct dbuf p1, p2, spki, inner;
	int rc;
	dbuf_init(&p1);
	dbuf_init(&p2);
	dbuf_init(&spki);
	dbuf_init(&inner);
	rc = p11_check_rv(m->f->C_GetAttributeValue(s, pub, &a, 1));
	if (rc)
		goto out;
	size_t top = dbuf_open(&spki, DER_SEQUENCE);
	if (kt == CKK_EC) {
		struct span pt, whole;
		if ((rc = p11_attr_get(m, s, pub, CKA_EC_PARAMS, &p1)) || (rc = p11_attr_get(m, s, pub, CKA_EC_POINT, &p2)))
			goto out;
		whole = span_make(p2.data, p2.len);
		if (!der_get(&whole, &pt, DER_OCTET_STRING) || whole.len != 0) {
			rc = HSMCA_ERR_PARSE;
			goto out;
		}
		size_t alg = dbuf_open(&spki, DER_SEQUENCE);
		dbuf_add(&spki, p11_oid_ec_pubkey, sizeof(p11_oid_ec_pubkey));
		dbuf_add(&spki, p1.data, p1.len);
		dbuf_close(&spki, alg);
		dbuf_add_bitstring(&spki, pt.data, pt.len);
	} else if (kt == CKK_RSA) {
		if ((rc = p11_attr_get(m, s, pub, CKA_MODULUS, &p1)) ||
		    (rc = p11_attr_get(m, s, pub, CKA_PUBLIC_EXPONENT, &p2)))
			goto out;
		size_t seq = dbuf_open(&inner, DER_SEQUENCE);
		dbuf_add_uint_bytes(&inner, p1.data, p1.len);
		dbuf_add_uint_bytes(&inner, p2.data, p2.len);
		dbuf_close(&inner, seq);
		dbuf_add(&spki, p11_alg_rsa_enc, sizeof(p11_alg_rsa_enc));
		dbuf_add_bitstring(&spki, inner.data, inner.len);
	} else {
		rc = HSMCA_ERR_NOTFOUND;
		goto out;
	}
	dbuf_close(&spki, top);
	if (spki.failed || inner.failed) {
		rc = HSMCA_ERR_NOMEM;
		goto out;
	}
	const unsigned char *p = spki.data;
	*out = d2i_PUBKEY(NULL, &p, (long)spki.len);
	rc = *out ? 0 : HSMCA_ERR_CRYPTO;
out:
	dbuf_free(&p1);
	dbuf_free(&p2);
	dbuf_free(&spki);
	dbuf_free(&inner);
	return rc;
}

int p11_key_copy_session(struct p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, CK_OBJECT_HANDLE *out)
{
	CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE t[] = { { CKA_TOKEN, &no, sizeof(no) } };
	return p11_check_rv(m->f->C_CopyObject(s, key, t, 1, out));
}

/* r||s (each half of raw) -> ECDSA-Sig-Value DER */
static int p11_ecdsa_der(const uint8_t *raw, size_t raw_len, uint8_t *out, size_t *out_len)
{
	struct dbuf b;
	int rc = HSMCA_ERR_CRYPTO;
	if (raw_len == 0 || raw_len % 2)
		return HSMCA_ERR_P11;
	dbuf_init(&b);
	size_t seq = dbuf_open(&b, DER_SEQUENCE);
	dbuf_add_uint_bytes(&b, raw, raw_len / 2);
	dbuf_add_uint_bytes(&b, raw + raw_len / 2, raw_len / 2);
	dbuf_close(&b, seq);
	if (!b.failed && b.len <= P11_SIG_MAX) {
		memcpy(out, b.data, b.len);
		*out_len = b.len;
		rc = 0;
	}
	dbuf_free(&b);
	return rc;
}

int p11_sign(struct p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, enum p11_keytype t,
	     const uint8_t *data, size_t len, uint8_t *out, size_t *out_len)
{
	uint8_t md[SHA384_DIGEST_LENGTH], raw[P11_SIG_MAX];
	CK_ULONG raw_len = sizeof(raw);
	CK_MECHANISM mech = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	const uint8_t *in = data;
	CK_ULONG in_len = len;
	int rc;
	if (p11_is_ec(t)) {
		mech.mechanism = CKM_ECDSA;
		if (t == P11_KEY_P256) {
			SHA256(data, len, md);
			in_len = SHA256_DIGEST_LENGTH;
		} else {
			SHA384(data, len, md);
			in_len = SHA384_DIGEST_LENGTH;
		}
		in = md;
	}
	rc = p11_check_rv(m->f->C_SignInit(s, &mech, key));
	if (rc)
		return rc;
	rc = p11_check_rv(m->f->C_Sign(s, (CK_BYTE_PTR)in, in_len, raw, &raw_len));
	if (rc)
		return rc;
	if (raw_len > sizeof(raw)) /* a module that says it wrote more than it was given room for */
		return HSMCA_ERR_P11;
	if (p11_is_ec(t))
		return p11_ecdsa_der(raw, raw_len, out, out_len);
	memcpy(out, raw, raw_len);
	*out_len = raw_len;
	return 0;
}
