/* The DER form of a SubjectPublicKeyInfo that goes into a certificate (see policy.h). The certificate
 * carries the key's bytes as the request gave them, and OpenSSL's decoders are lenient inside the key's
 * BIT STRING (an RSA modulus padded with zero octets, a modulus whose top bit makes it negative, octets
 * after the key), so the form is checked here, by the frontend before anything is stored and by the
 * signer before it signs. */
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <pthread.h>
#include <string.h>

#include "policy.h"

static const uint8_t SPKI_OID_EC[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };               /* id-ecPublicKey */
static const uint8_t SPKI_OID_RSA[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 }; /* rsaEncryption */
static const uint8_t SPKI_OID_P256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };      /* prime256v1 */
static const uint8_t SPKI_OID_P384[] = { 0x2b, 0x81, 0x04, 0x00, 0x22 };                        /* secp384r1 */
static const uint8_t SPKI_OID_P521[] = { 0x2b, 0x81, 0x04, 0x00, 0x23 };                        /* secp521r1 */

#define SPKI_EC_UNCOMPRESSED 0x04

static bool spki_oid_is(const struct span *oid, const uint8_t *b, size_t len)
{
	return oid->len == len && memcmp(oid->data, b, len) == 0;
}

/* What the form check learns of the key, for policy_spki_type. */
struct spki_facts {
	enum policy_key_kind kind;
	size_t rsa_bits;   /* the modulus's */
	bool rsa_e_ok;     /* the exponent odd and above 1 */
	size_t rsa_e_bits; /* the exponent's */
	unsigned ec_bits;  /* P-256: 256, P-384: 384, P-521: 521, another curve: 0 */
	struct span ec_point;
};

/* The bits of a positive minimal INTEGER's value. */
static size_t spki_int_bits(struct span v)
{
	size_t i = 0;
	while (i < v.len && v.data[i] == 0)
		i++;
	if (i == v.len)
		return 0;
	size_t bits = (v.len - i) * 8;
	for (uint8_t top = v.data[i]; !(top & 0x80); top <<= 1)
		bits--;
	return bits;
}

/* A positive INTEGER in minimal DER (der_get_integer checks the minimal form): not zero, top bit clear. */
static bool spki_positive(struct span *in, struct span *v)
{
	if (!der_get_integer(in, v) || (v->data[0] & 0x80))
		return false;
	return v->len > 1 || v->data[0] != 0;
}

/* RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } (RFC 8017 A.1.1), filling the BIT
 * STRING exactly. */
static const char *spki_rsa(struct span alg, struct span key, struct spki_facts *f)
{
	struct span params, seq, n, e;
	if (!der_get(&alg, &params, DER_NULL) || params.len != 0 || alg.len != 0)
		return "rsaEncryption needs NULL parameters";
	if (!der_get(&key, &seq, DER_SEQUENCE) || key.len != 0)
		return "the RSA key is not one SEQUENCE";
	if (!spki_positive(&seq, &n) || !spki_positive(&seq, &e) || seq.len != 0)
		return "the RSA modulus and exponent must be positive minimal INTEGERs and nothing else";
	f->rsa_bits = spki_int_bits(n);
	f->rsa_e_bits = spki_int_bits(e);
	f->rsa_e_ok = (e.data[e.len - 1] & 1) && f->rsa_e_bits >= 2;
	return NULL;
}

/* ECParameters as namedCurve (RFC 5480 2.1.1) and an uncompressed point of the curve's length. */
static const char *spki_ec(struct span alg, struct span key, struct spki_facts *f)
{
	struct span curve;
	if (!der_get_oid(&alg, &curve) || alg.len != 0)
		return "an EC key must name its curve (namedCurve) and nothing else";
	f->ec_bits = spki_oid_is(&curve, SPKI_OID_P256, sizeof(SPKI_OID_P256))   ? 256
		     : spki_oid_is(&curve, SPKI_OID_P384, sizeof(SPKI_OID_P384)) ? 384
		     : spki_oid_is(&curve, SPKI_OID_P521, sizeof(SPKI_OID_P521)) ? 521
										   : 0;
	size_t want = f->ec_bits ? 1 + 2 * ((f->ec_bits + 7) / 8) : 0;
	if (key.len < 3 || key.data[0] != SPKI_EC_UNCOMPRESSED || (want ? key.len != want : key.len % 2 == 0))
		return "the EC point must be uncompressed and of the curve's length";
	f->ec_point = key;
	return NULL;
}

/* The curves hsmca certifies, made once (read-only afterwards: EC_POINT_oct2point only reads the group). */
static EC_GROUP *spki_p256, *spki_p384;
static pthread_once_t spki_groups_once = PTHREAD_ONCE_INIT;

static void spki_groups_make(void)
{
	spki_p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	spki_p384 = EC_GROUP_new_by_curve_name(NID_secp384r1);
}

/* The uncompressed point is on the curve (EC_POINT_oct2point checks it; OpenSSL does so again as it loads
 * the key). Only the length was checked before, so the signer certified a P-256 "key" that is no point of
 * the curve, which a relying party that does not validate a peer's key may be attacked through
 * (invalid-curve ECDH); the frontend's CSR path refused it, its decoder being OpenSSL's. */
int policy_spki_prepare(void)
{
	if (pthread_once(&spki_groups_once, spki_groups_make) != 0 || !spki_p256 || !spki_p384)
		return HSMCA_ERR_NOMEM;
	return 0;
}

static bool spki_on_curve(unsigned bits, struct span point)
{
	if (policy_spki_prepare())
		return false;
	const EC_GROUP *g = bits == 256 ? spki_p256 : spki_p384;
	EC_POINT *pt = EC_POINT_new(g);
	bool ok = pt && EC_POINT_oct2point(g, pt, point.data, point.len, NULL) == 1;
	EC_POINT_free(pt);
	if (!ok)
		ERR_clear_error(); /* the refusal is said in our words; the thread's queue is left as it was */
	return ok;
}

static const char *spki_walk(struct span spki, struct spki_facts *f)
{
	struct span in = spki, seq, alg, oid, key;
	*f = (struct spki_facts){ .kind = POLICY_KEY_OTHER };
	if (!der_get(&in, &seq, DER_SEQUENCE) || in.len != 0 || !der_get(&seq, &alg, DER_SEQUENCE) ||
	    !der_get_oid(&alg, &oid) || !der_get_bitstring_bytes(&seq, &key) || seq.len != 0)
		return "not SEQUENCE { AlgorithmIdentifier, BIT STRING } in DER";
	if (spki_oid_is(&oid, SPKI_OID_RSA, sizeof(SPKI_OID_RSA)))
		return f->kind = POLICY_KEY_RSA, spki_rsa(alg, key, f);
	if (spki_oid_is(&oid, SPKI_OID_EC, sizeof(SPKI_OID_EC)))
		return f->kind = POLICY_KEY_EC, spki_ec(alg, key, f);
	return NULL; /* another algorithm: the profile's key types decide */
}

const char *policy_spki_form(struct span spki)
{
	struct spki_facts f;
	return spki_walk(spki, &f);
}

const char *policy_spki_type(struct span spki, bool *form)
{
	struct spki_facts f;
	const char *why = spki_walk(spki, &f);
	*form = why != NULL;
	if (why)
		return why;
	switch (f.kind) {
	case POLICY_KEY_EC:
		if (f.ec_bits != 256 && f.ec_bits != 384)
			return "EC keys are certified on P-256 and P-384 only";
		return spki_on_curve(f.ec_bits, f.ec_point) ? NULL : "the EC public key is not a point of its curve";
	case POLICY_KEY_RSA:
		if (f.rsa_bits != 2048 && f.rsa_bits != 3072 && f.rsa_bits != 4096)
			return "RSA keys are certified with 2048-, 3072- or 4096-bit moduli only";
		if (f.rsa_e_bits > POLICY_RSA_E_BITS_MAX) /* as the CSR path refuses it: clients refuse the key */
			return "an RSA public exponent must be below 2^31";
		return f.rsa_e_ok ? NULL : "an RSA public exponent must be odd and above 1";
	default:
		return "only EC P-256 and P-384 and RSA 2048, 3072 and 4096 keys are certified";
	}
}

