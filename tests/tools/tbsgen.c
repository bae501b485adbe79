#include "tbsgen.h"

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "certbuild.h"
#include "frame.h"
#include "policy.h"

#define DAY 86400L

static const uint8_t alg_ecdsa_sha384[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 };
static const uint8_t alg_ecdsa_sha256[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };

static int is(const char *brk, const char *name) { return brk && !strcmp(brk, name); }

static ASN1_INTEGER *leaf_serial(const char *brk)
{
	uint8_t r[21];
	RAND_bytes(r, sizeof(r));
	if (is(brk, "serial-negative")) {
		ASN1_INTEGER *a = ASN1_INTEGER_new();
		ASN1_INTEGER_set(a, -123456789);
		return a;
	}
	if (is(brk, "serial-small")) {
		ASN1_INTEGER *a = ASN1_INTEGER_new();
		ASN1_INTEGER_set(a, 1);
		return a;
	}
	if (is(brk, "serial-long")) { /* 21 octets: one more than RFC 5280 allows */
		r[0] = 0x40;
		BIGNUM *bn = BN_bin2bn(r, sizeof(r), NULL);
		ASN1_INTEGER *a = BN_to_ASN1_INTEGER(bn, NULL);
		BN_free(bn);
		return a;
	}
	return certbuild_serial(r, 16);
}

static time_t asn1_to_time(const ASN1_TIME *t)
{
	struct tm tm;
	ASN1_TIME_to_tm(t, &tm);
	return timegm(&tm);
}

/* spki-padded: the certificate's RSA key with its modulus padded by a zero octet (non-minimal INTEGER), which
 * OpenSSL reads as the same key */
static int pad_rsa_modulus(X509 *x)
{
	X509_PUBKEY *xp = X509_get_X509_PUBKEY(x);
	const unsigned char *pk = NULL;
	int pklen = 0, rc = -1;
	struct span in, seq, n, e;
	struct dbuf b;
	if (!xp || !X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL, xp))
		return -1;
	in = span_make(pk, (size_t)pklen);
	if (!der_get(&in, &seq, DER_SEQUENCE) || !der_get_integer(&seq, &n) || !der_get_integer(&seq, &e))
		return -1;
	dbuf_init(&b);
	size_t m = dbuf_open(&b, DER_SEQUENCE), i = dbuf_open(&b, DER_INTEGER);
	dbuf_add_u8(&b, 0);
	dbuf_add(&b, n.data, n.len);
	dbuf_close(&b, i);
	dbuf_add_tlv(&b, DER_INTEGER, e.data, e.len);
	dbuf_close(&b, m);
	unsigned char *copy = b.failed ? NULL : OPENSSL_memdup(b.data, b.len);
	if (copy && X509_PUBKEY_set0_param(xp, OBJ_nid2obj(NID_rsaEncryption), V_ASN1_NULL, NULL, copy, (int)b.len))
		rc = 0;
	else
		OPENSSL_free(copy);
	dbuf_free(&b);
	return rc;
}

/* A non-critical extension with the given DER value. */
static void add_raw_ext(X509 *x, const char *oid, const uint8_t *value, int len)
{
	ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
	ASN1_OCTET_STRING_set(v, value, len);
	X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, OBJ_txt2obj(oid, 1), 0, v);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	ASN1_OCTET_STRING_free(v);
}

const char *tbsgen_crl_url, *tbsgen_ocsp_url;

int tbsgen_leaf(X509 *issuer, EVP_PKEY *pub, const char *brk, struct dbuf *out)
{
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	ASN1_INTEGER *serial = leaf_serial(brk);
	struct span alg;
	time_t now = time(NULL), nb = now - 60, na = now + 90 * DAY;
	time_t issuer_nb = asn1_to_time(X509_get0_notBefore(issuer));
	int rc = -1;
	if (nb < issuer_nb)
		nb = issuer_nb; /* never before the issuer: a freshly made test CA */
	if (is(brk, "validity-order")) {
		nb = now + 10 * DAY;
		na = now + DAY;
	} else if (is(brk, "validity-long")) {
		na = now + 400 * DAY;
	} else if (is(brk, "future")) { /* inside the issuer's validity, a day ahead of the signer's clock */
		nb = now + DAY;
		na = now + 30 * DAY;
	} else if (is(brk, "validity-outside")) {
		na = asn1_to_time(X509_get0_notAfter(issuer)) + DAY;
		nb = na - 30 * DAY;
	}
	/* cn-other: a CN that is none of the subjectAltNames (a signer key's leaf pin refuses it); printable: the CN
	 * a PrintableString holding '@', which is not in its repertoire (X.680 41.4; OpenSSL writes the given type
	 * and bytes as they are) */
	const char *cn = is(brk, "printable") ? "leaf@example.com" : is(brk, "cn-other") ? "other.example.com"
										 : "leaf.example.com";
	X509_NAME_add_entry_by_txt(n, "CN", is(brk, "printable") ? V_ASN1_PRINTABLESTRING : MBSTRING_UTF8,
				   (const unsigned char *)cn, -1, -1, 0);
	X509_NAME *iss_name = X509_NAME_dup(X509_get_subject_name(issuer));
	if (is(brk, "issuer"))
		X509_NAME_add_entry_by_txt(iss_name, "OU", MBSTRING_UTF8, (const unsigned char *)"forged", -1, -1, 0);
	if (!x || !serial || !X509_set_version(x, X509_VERSION_3) || !X509_set_serialNumber(x, serial) ||
	    !X509_set_subject_name(x, n) || !X509_set_issuer_name(x, iss_name) || !X509_set_pubkey(x, pub) ||
	    !X509_time_adj_ex(X509_getm_notBefore(x), 0, 0, &nb) || !X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &na))
		goto out;
	if (is(brk, "spki-padded") && pad_rsa_modulus(x))
		goto out;
	if (is(brk, "ca")) {
		if (certbuild_add_ext(x, issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
		    certbuild_add_ext(x, issuer, NID_key_usage, "critical,keyCertSign"))
			goto out;
	} else {
		/* ku-keytype: keyEncipherment (pinned) on the EC key (RFC 5480); on an RSA key keyAgreement */
		const char *ku = is(brk, "ku") ? "critical,digitalSignature,dataEncipherment"
			       : is(brk, "ku-certsign") ? "critical,digitalSignature,keyCertSign"
			       : is(brk, "ku-keytype") ? (EVP_PKEY_is_a(pub, "RSA") ? "critical,digitalSignature,keyAgreement"
										 : "critical,digitalSignature,keyEncipherment")
						       : "critical,digitalSignature";
		if (certbuild_add_ext(x, issuer, NID_key_usage, ku) ||
		    certbuild_add_ext(x, issuer, NID_ext_key_usage, is(brk, "eku") ? "serverAuth,codeSigning" : "serverAuth"))
			goto out;
	}
	/* san-outside: a second name outside .example.com (a signer key's leaf pin refuses it) */
	if (certbuild_add_ext(x, issuer, NID_subject_alt_name,
			      is(brk, "san-outside") ? "DNS:leaf.example.com,DNS:leaf.example.org" : "DNS:leaf.example.com") ||
	    certbuild_add_ext(x, issuer, NID_subject_key_identifier, "hash"))
		goto out;
	/* the revocation URLs a frontend writes (tbsbuild.c), which a key may pin (crl_url, ocsp_url): crl-other,
	 * ocsp-other name others, no-urls neither */
	char crl[512], ocsp[512];
	snprintf(crl, sizeof(crl), "URI:%s", is(brk, "crl-other") ? "http://elsewhere.example/int.crl"
					    : tbsgen_crl_url	  ? tbsgen_crl_url
								  : "http://crl.example/int.crl");
	snprintf(ocsp, sizeof(ocsp), "OCSP;URI:%s", is(brk, "ocsp-other") ? "http://elsewhere.example/ocsp"
						    : tbsgen_ocsp_url	   ? tbsgen_ocsp_url
									   : "http://ocsp.example/ocsp");
	if (!is(brk, "no-urls") && (certbuild_add_ext(x, issuer, NID_crl_distribution_points, crl) ||
				    certbuild_add_ext(x, issuer, NID_info_access, ocsp)))
		goto out;
	if (is(brk, "aki-wrong")) {
		if (certbuild_add_ext(x, x, NID_authority_key_identifier, "keyid:always"))
			goto out;
	} else if (!is(brk, "aki-missing") && certbuild_add_ext(x, issuer, NID_authority_key_identifier, "keyid:always")) {
		goto out;
	}
	/* X.509 (1993) basicConstraints with the CA subject type bit; Netscape certificate type sslCA */
	if (is(brk, "legacy-bc"))
		add_raw_ext(x, "2.5.29.10", (const uint8_t *)"\x30\x04\x03\x02\x07\x80", 6);
	if (is(brk, "netscape-ca"))
		add_raw_ext(x, "2.16.840.1.113730.1.1", (const uint8_t *)"\x03\x02\x02\x04", 4);
	/* Microsoft Application Policies { clientAuth }; an NTDS CA security extension (an empty SEQUENCE) */
	if (is(brk, "ms-app-policies"))
		add_raw_ext(x, "1.3.6.1.4.1.311.21.10",
			    (const uint8_t *)"\x30\x0c\x30\x0a\x06\x08\x2b\x06\x01\x05\x05\x07\x03\x02", 14);
	/* certificatePolicies { 1.2.3 } and policyConstraints { requireExplicitPolicy 0 }: a ceremony's only */
	if (is(brk, "policies"))
		add_raw_ext(x, "2.5.29.32", (const uint8_t *)"\x30\x06\x30\x04\x06\x02\x2a\x03", 8);
	if (is(brk, "policy-constraints"))
		add_raw_ext(x, "2.5.29.36", (const uint8_t *)"\x30\x03\x80\x01\x00", 5);
	if (is(brk, "ms-sid"))
		add_raw_ext(x, "1.3.6.1.4.1.311.25.2", (const uint8_t *)"\x30\x00", 2);
	/* non-critical extensions hsmca never writes: a private one (1.3.6.1.4.1.55555.98, NULL), the TLS feature must-staple
	 * (SEQUENCE { INTEGER 5 }), and subjectInfoAccess (an empty SEQUENCE) */
	if (is(brk, "unknown-ext"))
		add_raw_ext(x, "1.3.6.1.4.1.55555.98", (const uint8_t *)"\x05\x00", 2);
	if (is(brk, "sia"))
		add_raw_ext(x, "1.3.6.1.5.5.7.1.11", (const uint8_t *)"\x30\x00", 2);
	if (is(brk, "tls-feature"))
		add_raw_ext(x, "1.3.6.1.5.5.7.1.24", (const uint8_t *)"\x30\x03\x02\x01\x05", 5);
	if (is(brk, "critical")) {
		ASN1_OCTET_STRING *v = ASN1_OCTET_STRING_new();
		ASN1_OCTET_STRING_set(v, (const unsigned char *)"\x05\x00", 2);
		X509_EXTENSION *e = X509_EXTENSION_create_by_OBJ(NULL, OBJ_txt2obj("1.3.6.1.4.1.55555.99", 1), 1, v);
		X509_add_ext(x, e, -1);
		X509_EXTENSION_free(e);
		ASN1_OCTET_STRING_free(v);
	}
	if (!policy_sigalg_for_pkey(X509_get0_pubkey(issuer), &alg))
		goto out;
	if (is(brk, "sigalg"))
		alg = alg.data[alg.len - 1] == 0x02 ? span_make(alg_ecdsa_sha384, sizeof(alg_ecdsa_sha384))
						    : span_make(alg_ecdsa_sha256, sizeof(alg_ecdsa_sha256));
	rc = certbuild_tbs(x, alg, out);
	if (!rc && is(brk, "trailing"))
		dbuf_add_u8(out, 0);
out:
	X509_free(x);
	X509_NAME_free(n);
	X509_NAME_free(iss_name);
	ASN1_INTEGER_free(serial);
	return rc;
}

static void add_time(struct dbuf *b, time_t t, int generalized)
{
	char s[32];
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), generalized ? "%Y%m%d%H%M%SZ" : "%y%m%d%H%M%SZ", &tm);
	dbuf_add_tlv(b, generalized ? DER_GENERALIZEDTIME : DER_UTCTIME, s, strlen(s));
}

static void add_name(struct dbuf *b, X509_NAME *n)
{
	unsigned char *der = NULL;
	int len = i2d_X509_NAME(n, &der);
	if (len > 0)
		dbuf_add(b, der, (size_t)len);
	OPENSSL_free(der);
}

/* One Extension { oid, critical (only if true), OCTET STRING value }. */
static void add_ext_raw(struct dbuf *b, const uint8_t *oid, size_t oid_len, bool critical, const void *v, size_t len)
{
	size_t e = dbuf_open(b, DER_SEQUENCE);
	dbuf_add_tlv(b, DER_OID, oid, oid_len);
	if (critical)
		dbuf_add_tlv(b, DER_BOOLEAN, "\xff", 1);
	dbuf_add_tlv(b, DER_OCTET_STRING, v, len);
	dbuf_close(b, e);
}

static void add_ext_der(struct dbuf *b, const uint8_t *oid, size_t oid_len, const struct dbuf *value)
{
	add_ext_raw(b, oid, oid_len, false, value->data, value->len);
}

/* The first revoked entry's crlEntryExtensions for the breaks that have them: entry-reason (keyCompromise and
 * an invalidityDate: accepted), entry-remove (reasonCode removeFromCRL), entry-issuer (a critical
 * certificateIssuer naming another CA: an indirect CRL's entry), entry-unknown (a private, non-critical one),
 * entry-critical (a critical reasonCode) */
static void crl_entry_exts(struct dbuf *out, const char *brk, time_t now)
{
	static const uint8_t reason[] = { 0x55, 0x1d, 0x15 }, inval[] = { 0x55, 0x1d, 0x18 }, cissuer[] = { 0x55, 0x1d, 0x1d };
	static const uint8_t priv[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xb2, 0x63, 0x63, 0x02 }; /* 1.3.6.1.4.1.55651.99.2 */
	/* GeneralNames { directoryName { CN=other CA } } */
	static const uint8_t other_ca[] = { 0x30, 0x17, 0xa4, 0x15, 0x30, 0x13, 0x31, 0x11, 0x30, 0x0f, 0x06, 0x03, 0x55,
					    0x04, 0x03, 0x0c, 0x08, 'o', 't', 'h', 'e', 'r', ' ', 'C', 'A' };
	if (!is(brk, "entry-reason") && !is(brk, "entry-remove") && !is(brk, "entry-issuer") && !is(brk, "entry-unknown") &&
	    !is(brk, "entry-critical"))
		return;
	size_t seq = dbuf_open(out, DER_SEQUENCE);
	if (is(brk, "entry-reason") || is(brk, "entry-critical"))
		add_ext_raw(out, reason, sizeof(reason), is(brk, "entry-critical"), "\x0a\x01\x01", 3);
	if (is(brk, "entry-reason")) {
		struct dbuf t;
		dbuf_init(&t);
		add_time(&t, now - 7200, 1);
		add_ext_raw(out, inval, sizeof(inval), false, t.data, t.len);
		dbuf_free(&t);
	}
	if (is(brk, "entry-remove"))
		add_ext_raw(out, reason, sizeof(reason), false, "\x0a\x01\x08", 3);
	if (is(brk, "entry-issuer"))
		add_ext_raw(out, cissuer, sizeof(cissuer), true, other_ca, sizeof(other_ca));
	if (is(brk, "entry-unknown"))
		add_ext_raw(out, priv, sizeof(priv), false, "\x05\x00", 2);
	dbuf_close(out, seq);
}

/* The CRL with `extra` more revoked serials (fixed-size entries) after the random one. */
static int crl_build(X509 *issuer, const char *brk, size_t extra, struct dbuf *out);

/* huge: a CRL whose TBS alone nearly fills a sign request frame (label up to 8 bytes), so the signed CRL could
 * not fit in the reply: between FRAME_BODY_MAX - 13 - 60 and FRAME_BODY_MAX - 13 bytes */
static int crl_huge(X509 *issuer, struct dbuf *out)
{
	const size_t hi = FRAME_BODY_MAX - 1 - 8 - 4, lo = hi - 60;
	size_t extra = hi / 40;
	for (int tries = 0; tries < 64; tries++) {
		struct dbuf b;
		dbuf_init(&b);
		if (crl_build(issuer, NULL, extra, &b)) {
			dbuf_free(&b);
			return -1;
		}
		size_t len = b.len;
		if (len >= lo && len <= hi) {
			dbuf_add(out, b.data, b.len);
			dbuf_free(&b);
			return out->failed ? -1 : 0;
		}
		dbuf_free(&b);
		extra = len > hi ? extra - ((len - hi) / 30 + 1) : extra + ((lo - len) / 40 + 1);
	}
	return -1;
}

int tbsgen_crl(X509 *issuer, const char *brk, struct dbuf *out)
{
	/* big: about 90 kB (2,500 entries), which fits a reply frame signed */
	return is(brk, "huge") ? crl_huge(issuer, out) : is(brk, "big") ? crl_build(issuer, NULL, 2500, out)
								      : crl_build(issuer, brk, 0, out);
}

static int crl_build(X509 *issuer, const char *brk, size_t extra, struct dbuf *out)
{
	struct span alg;
	struct dbuf v;
	const ASN1_OCTET_STRING *ski = X509_get0_subject_key_id(issuer);
	time_t now = time(NULL);
	uint8_t serial[16];
	if (!policy_sigalg_for_pkey(X509_get0_pubkey(issuer), &alg) || !ski)
		return -1;
	if (is(brk, "sigalg"))
		alg = span_make(alg_ecdsa_sha384, sizeof(alg_ecdsa_sha384));
	RAND_bytes(serial, sizeof(serial));
	size_t top = dbuf_open(out, DER_SEQUENCE);
	dbuf_add_tlv(out, DER_INTEGER, "\x01", 1);
	dbuf_add(out, alg.data, alg.len);
	X509_NAME *n = X509_NAME_dup(X509_get_subject_name(issuer));
	if (is(brk, "issuer"))
		X509_NAME_add_entry_by_txt(n, "OU", MBSTRING_UTF8, (const unsigned char *)"forged", -1, -1, 0);
	add_name(out, n);
	X509_NAME_free(n);
	time_t this_update = now - 60, issuer_nb = asn1_to_time(X509_get0_notBefore(issuer));
	if (this_update < issuer_nb)
		this_update = issuer_nb;
	if (is(brk, "future")) /* a CRL signed now to be published tomorrow */
		this_update = now + DAY;
	add_time(out, this_update, 0);
	add_time(out, this_update + (is(brk, "long") ? 30 : 7) * DAY - 120, 0);
	size_t list = dbuf_open(out, DER_SEQUENCE);
	size_t ent = dbuf_open(out, DER_SEQUENCE);
	dbuf_add_uint_bytes(out, serial, sizeof(serial));
	add_time(out, now - 3600, 0);
	crl_entry_exts(out, brk, now);
	dbuf_close(out, ent);
	for (size_t i = 0; i < extra; i++) {
		uint8_t s[16] = { 0x40 };
		for (size_t b = 0; b < sizeof(size_t); b++)
			s[sizeof(s) - 1 - b] = (uint8_t)(i >> (8 * b));
		ent = dbuf_open(out, DER_SEQUENCE);
		dbuf_add_uint_bytes(out, s, sizeof(s));
		add_time(out, now - 3600, 0);
		dbuf_close(out, ent);
	}
	dbuf_close(out, list);
	size_t wrap = dbuf_open(out, DER_CONTEXT | DER_CONSTRUCTED | 0);
	size_t exts = dbuf_open(out, DER_SEQUENCE);
	if (!is(brk, "aki")) {
		dbuf_init(&v);
		size_t s = dbuf_open(&v, DER_SEQUENCE);
		dbuf_add_tlv(&v, DER_CONTEXT | 0, ski->data, (size_t)ski->length);
		dbuf_close(&v, s);
		add_ext_der(out, OID_AKI, sizeof(OID_AKI), &v);
		dbuf_free(&v);
	}
	if (!is(brk, "number")) {
		dbuf_init(&v);
		dbuf_add_tlv(&v, DER_INTEGER, "\x07", 1);
		add_ext_der(out, OID_CRL_NUMBER, sizeof(OID_CRL_NUMBER), &v);
		dbuf_free(&v);
	}
	/* crl-ext: a private, non-critical CRL extension; idp: an issuingDistributionPoint (critical, empty) */
	if (is(brk, "crl-ext")) {
		static const uint8_t priv[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83, 0xb2, 0x63, 0x63, 0x03 };
		add_ext_raw(out, priv, sizeof(priv), false, "\x05\x00", 2);
	}
	if (is(brk, "idp")) {
		static const uint8_t idp[] = { 0x55, 0x1d, 0x1c };
		add_ext_raw(out, idp, sizeof(idp), true, "\x30\x00", 2);
	}
	dbuf_close(out, exts);
	dbuf_close(out, wrap);
	dbuf_close(out, top);
	return out->failed ? -1 : 0;
}

int tbsgen_ocsp(X509 *responder, X509 *issuer, X509 *cert, const char *brk, struct dbuf *out)
{
	static const uint8_t sha1_alg[] = { 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00 };
	/* certid-alg: SHA-256 named, the SHA-1 hashes kept (a client asking in SHA-256 would match nothing) */
	static const uint8_t sha256_alg[] = { 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
					      0x03, 0x04, 0x02, 0x01, 0x05, 0x00 };
	/* critical-ext: a critical extension (an unknown OID) in responseExtensions or, single-ext, in the
	 * SingleResponse's singleExtensions */
	static const uint8_t crit_ext[] = { 0x30, 0x11, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x83,
					    0xb2, 0x63, 0x63, 0x01, 0x01, 0x01, 0xff, 0x04, 0x00 };
	uint8_t name_hash[20], key_hash[20];
	unsigned char *nder = NULL;
	int nlen = i2d_X509_NAME(X509_get_subject_name(issuer), &nder);
	const ASN1_BIT_STRING *bits = X509_get0_pubkey_bitstr(issuer);
	const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
	time_t now = time(NULL);
	if (nlen <= 0)
		return -1;
	SHA1(nder, (size_t)nlen, name_hash);
	OPENSSL_free(nder);
	SHA1(bits->data, (size_t)bits->length, key_hash);
	if (is(brk, "certid"))
		key_hash[0] ^= 1;
	if (is(brk, "namehash"))
		name_hash[0] ^= 1;
	size_t top = dbuf_open(out, DER_SEQUENCE);
	size_t rid = dbuf_open(out, DER_CONTEXT | DER_CONSTRUCTED | 1);
	add_name(out, X509_get_subject_name(is(brk, "responder") ? issuer : responder));
	dbuf_close(out, rid);
	add_time(out, is(brk, "future") ? now + DAY : now, 1); /* producedAt */
	size_t list = dbuf_open(out, DER_SEQUENCE);
	size_t single = dbuf_open(out, DER_SEQUENCE);
	size_t certid = dbuf_open(out, DER_SEQUENCE);
	if (is(brk, "certid-alg"))
		dbuf_add(out, sha256_alg, sizeof(sha256_alg));
	else
		dbuf_add(out, sha1_alg, sizeof(sha1_alg));
	dbuf_add_tlv(out, DER_OCTET_STRING, name_hash, sizeof(name_hash));
	dbuf_add_tlv(out, DER_OCTET_STRING, key_hash, sizeof(key_hash));
	dbuf_add_tlv(out, DER_INTEGER, serial->data, (size_t)serial->length);
	dbuf_close(out, certid);
	dbuf_add_tlv(out, DER_CONTEXT | 0, NULL, 0); /* good */
	time_t this_update = is(brk, "this-future") ? now + DAY : now - 60;
	add_time(out, this_update, 1);
	if (!is(brk, "next-missing")) {
		size_t nu = dbuf_open(out, DER_CONTEXT | DER_CONSTRUCTED | 0);
		add_time(out, is(brk, "next-long") ? now + 30 * DAY : is(brk, "next-before") ? this_update - 1 : now + DAY, 1);
		dbuf_close(out, nu);
	}
	if (is(brk, "single-ext")) {
		size_t w = dbuf_open(out, DER_CONTEXT | DER_CONSTRUCTED | 1), s = dbuf_open(out, DER_SEQUENCE);
		dbuf_add(out, crit_ext, sizeof(crit_ext));
		dbuf_close(out, s);
		dbuf_close(out, w);
	}
	dbuf_close(out, single);
	dbuf_close(out, list);
	if (is(brk, "critical-ext")) {
		size_t w = dbuf_open(out, DER_CONTEXT | DER_CONSTRUCTED | 1), s = dbuf_open(out, DER_SEQUENCE);
		dbuf_add(out, crit_ext, sizeof(crit_ext));
		dbuf_close(out, s);
		dbuf_close(out, w);
	}
	dbuf_close(out, top);
	return out->failed ? -1 : 0;
}

void tbsgen_ocsp_wrap(const uint8_t *basic, size_t len, struct dbuf *out)
{
	static const uint8_t basic_oid[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01 };
	size_t top = dbuf_open(out, DER_SEQUENCE);
	dbuf_add_tlv(out, DER_ENUMERATED, "\x00", 1);
	size_t wrap = dbuf_open(out, DER_CONTEXT | DER_CONSTRUCTED | 0);
	size_t rb = dbuf_open(out, DER_SEQUENCE);
	dbuf_add_tlv(out, DER_OID, basic_oid, sizeof(basic_oid));
	dbuf_add_tlv(out, DER_OCTET_STRING, basic, len);
	dbuf_close(out, rb);
	dbuf_close(out, wrap);
	dbuf_close(out, top);
}
