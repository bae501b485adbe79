/* The leaf TBSCertificate the frontend asks the signer to sign, built from a verified CSR and a profile,
 * and linted with the very rules the signer applies (policy/check.c).
 *
 * Written directly as DER (common/der.c) instead of through OpenSSL's X509 object and X509V3_EXT_conf: the
 * same bytes OpenSSL wrote (tests/unit/test_tbsbuild.c compares them for many random requests), at a
 * fraction of the cost (no config-string parsing, no global-lock lookups, no re-encoding). The public key
 * is the CSR's own SubjectPublicKeyInfo bytes; issuer name, AKI key id and signature algorithm come from
 * the issuer facts computed once at start-up.
 *
 *   TBSCertificate: [0] v3, serial (0x01 || 16 random bytes: 17 octets, positive), sigalg, issuer, validity (UTCTime until
 *   2049, GeneralizedTime after), subject CN=<the first SAN of at most 64 characters> (UTF8String; without one
 *   a leaf gets an empty subject and a critical subjectAltName, RFC 5280 4.2.1.6, and a CA is refused, 4.1.2.6), SPKI, [3] extensions in this order:
 *   basicConstraints (critical, CA:FALSE; for a CA profile cA TRUE with its pathLenConstraint), keyUsage
 *   (critical; the profile's usages the key's type permits, policy_ku_forbidden; if any), extKeyUsage (if any), subjectAltName, subjectKeyIdentifier (SHA-1 of the key bits),
 *   authorityKeyIdentifier ([0] key id), nameConstraints (a CA profile: critical; each DNS suffix as written
 *   is a dNSName, rfc822Name and URI subtree, read as RFC 5280 4.2.1.10 reads each: ".example.com" the names
 *   below example.com; "example.com" that name and those below it as a dNSName, but mailboxes at that host
 *   only as an rfc822Name and that host only as a URI; each IP range permits its addresses, and each address
 *   family without one is excluded; then
 *   dn_prefix, if any, as a directoryName),
 *   cRLDistributionPoints (if a CRL URL),
 *   authorityInfoAccess (OCSP; if an OCSP URL). */
#include <arpa/inet.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certbuild.h"
#include "issue.h"
#include "tbsbuild.h"

#define DAY 86400L
#define TB_WHY(...) (why ? snprintf(why, TBS_WHY_MAX, __VA_ARGS__) : 0)
#define TB_CN_MAX_CHARS 64        /* ub-common-name (RFC 5280) */
#define TB_UTCTIME_LAST_YEAR 2049 /* RFC 5280 4.1.2.5 */
#define TB_TIME_MAX 16
#define TB_KU_BITS 9
#define TB_PEM_LINE_BYTES 48 /* 64 base64 characters */

static const uint8_t oid_cn[] = { 0x55, 0x04, 0x03 };
static const uint8_t oid_bc[] = { 0x55, 0x1d, 0x13 };
static const uint8_t oid_ku[] = { 0x55, 0x1d, 0x0f };
static const uint8_t oid_eku[] = { 0x55, 0x1d, 0x25 };
static const uint8_t oid_san[] = { 0x55, 0x1d, 0x11 };
static const uint8_t oid_ski[] = { 0x55, 0x1d, 0x0e };
static const uint8_t oid_aki[] = { 0x55, 0x1d, 0x23 };
static const uint8_t oid_cdp[] = { 0x55, 0x1d, 0x1f };
static const uint8_t oid_nc[] = { 0x55, 0x1d, 0x1e };
static const uint8_t oid_aia[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01 };

enum { GN_EMAIL = 1, GN_DNS = 2, GN_DIR = 4, GN_URI = 6, GN_IP = 7 }; /* GeneralName [n] (directoryName EXPLICIT) */
_Static_assert(PROF_PATH_LENGTH_MAX < 0x80, "a pathLenConstraint is one INTEGER content byte");
_Static_assert(3 * PROF_LIST_MAX + PROF_LIST_MAX + 1 <= TBS_MAX_SUBTREES, "the signer parses every subtree we write");
_Static_assert(2 <= TBS_MAX_SUBTREES, "and the two excluded address families");

/* Opens Extension { extnID, critical?, extnValue OCTET STRING { ... } }; tb_ext_close closes both. */
static size_t tb_ext_open(struct dbuf *b, const uint8_t *oid, size_t oid_len, bool critical, size_t *out_os)
{
	size_t ext = dbuf_open(b, DER_SEQUENCE);
	dbuf_add_tlv(b, DER_OID, oid, oid_len);
	if (critical)
		dbuf_add_tlv(b, DER_BOOLEAN, "\xff", 1);
	*out_os = dbuf_open(b, DER_OCTET_STRING);
	return ext;
}

static void tb_ext_close(struct dbuf *b, size_t ext, size_t os)
{
	dbuf_close(b, os);
	dbuf_close(b, ext);
}

/* keyUsage: a named bit list, so DER drops trailing zero bits. */
static void tb_ku(struct dbuf *b, uint16_t ku)
{
	uint8_t v[3] = { 0, 0, 0 };
	int last = -1;
	size_t os, ext = tb_ext_open(b, oid_ku, sizeof(oid_ku), true, &os);
	for (int i = 0; i < TB_KU_BITS; i++)
		if (ku & (1u << i)) {
			v[1 + i / 8] |= (uint8_t)(0x80 >> (i % 8));
			last = i;
		}
	size_t bytes = (size_t)last / 8 + 1;
	v[0] = (uint8_t)(7 - last % 8);
	dbuf_add_tlv(b, DER_BIT_STRING, v, 1 + bytes);
	tb_ext_close(b, ext, os);
}

/* extendedKeyUsage; critical for a time-stamping authority's certificate, whose only EKU it is (RFC 3161 2.3:
 * OpenSSL's timestamp purpose, as `openssl ts -verify` uses it, refuses a non-critical one). */
static int tb_eku(struct dbuf *b, const struct profile *p, char *why)
{
	bool tsa = !p->ca && p->n_eku == 1 && !strcmp(p->eku[0], "timeStamping");
	size_t os, ext = tb_ext_open(b, oid_eku, sizeof(oid_eku), tsa, &os);
	size_t seq = dbuf_open(b, DER_SEQUENCE);
	for (size_t i = 0; i < p->n_eku; i++) {
		struct span oid;
		if (!policy_eku_oid(p->eku[i], &oid))
			return TB_WHY("eku: profile %s names an unknown extended key usage", p->name), HSMCA_ERR_POLICY;
		dbuf_add_tlv(b, DER_OID, oid.data, oid.len);
	}
	dbuf_close(b, seq);
	tb_ext_close(b, ext, os);
	return 0;
}

/* subjectAltName; critical when the subject is empty (RFC 5280 4.2.1.6). */
static int tb_san(struct dbuf *b, const struct csr *csr, bool critical, char *why)
{
	size_t os, ext = tb_ext_open(b, oid_san, sizeof(oid_san), critical, &os);
	size_t seq = dbuf_open(b, DER_SEQUENCE);
	for (size_t i = 0; i < csr->n_sans; i++) {
		const struct csr_san *s = &csr->sans[i];
		uint8_t ip[16];
		if (strchr(s->value, ',') || !s->value[0]) /* the OpenSSL builder refused these; so do we */
			return TB_WHY("san: name %zu is empty or has a comma, which the certificate cannot carry", i),
			       HSMCA_ERR_POLICY;
		switch (s->type) {
		case CSR_SAN_DNS:
			dbuf_add_tlv(b, DER_CONTEXT | GN_DNS, s->value, strlen(s->value));
			break;
		case CSR_SAN_EMAIL:
			dbuf_add_tlv(b, DER_CONTEXT | GN_EMAIL, s->value, strlen(s->value));
			break;
		case CSR_SAN_URI:
			dbuf_add_tlv(b, DER_CONTEXT | GN_URI, s->value, strlen(s->value));
			break;
		case CSR_SAN_IP:
			if (inet_pton(AF_INET, s->value, ip) == 1)
				dbuf_add_tlv(b, DER_CONTEXT | GN_IP, ip, 4);
			else if (inet_pton(AF_INET6, s->value, ip) == 1)
				dbuf_add_tlv(b, DER_CONTEXT | GN_IP, ip, 16);
			else
				return TB_WHY("san: name %zu is not an IP address", i), HSMCA_ERR_POLICY;
			break;
		default:
			return TB_WHY("san: name %zu is of a type the certificate cannot carry", i), HSMCA_ERR_POLICY;
		}
	}
	dbuf_close(b, seq);
	tb_ext_close(b, ext, os);
	return 0;
}

/* subjectKeyIdentifier: SHA-1 of the subjectPublicKey BIT STRING's bits (RFC 5280 4.2.1.2 method 1). */
static int tb_ski(struct dbuf *b, const struct csr *csr, char *why)
{
	struct span spki = span_make(csr->spki, csr->spki_len), in, bits;
	uint8_t id[SHA_DIGEST_LENGTH];
	if (!der_get(&spki, &in, DER_SEQUENCE) || !der_get(&in, &bits, DER_SEQUENCE) ||
	    !der_get_bitstring_bytes(&in, &bits) || span_len(&in) != 0)
		return TB_WHY("key: the request's SubjectPublicKeyInfo is malformed"), HSMCA_ERR_PARSE;
	SHA1(bits.data, bits.len, id);
	size_t os, ext = tb_ext_open(b, oid_ski, sizeof(oid_ski), false, &os);
	dbuf_add_tlv(b, DER_OCTET_STRING, id, sizeof(id));
	tb_ext_close(b, ext, os);
	return 0;
}

static void tb_aki(struct dbuf *b, const struct policy_issuer *iss)
{
	size_t os, ext = tb_ext_open(b, oid_aki, sizeof(oid_aki), false, &os);
	size_t seq = dbuf_open(b, DER_SEQUENCE);
	dbuf_add_tlv(b, DER_CONTEXT | 0, iss->ski, iss->ski_len);
	dbuf_close(b, seq);
	tb_ext_close(b, ext, os);
}

/* GeneralSubtree ::= SEQUENCE { base GeneralName } (minimum 0 is the DEFAULT, so absent) */
static void tb_subtree(struct dbuf *b, uint8_t gn, const void *v, size_t len)
{
	size_t sub = dbuf_open(b, DER_SEQUENCE);
	dbuf_add_tlv(b, DER_CONTEXT | gn, v, len);
	dbuf_close(b, sub);
}

/* An iPAddress subtree: the range's base address || its mask. */
static void tb_subtree_ip(struct dbuf *b, int family, const uint8_t *addr, unsigned prefix)
{
	size_t n = family == AF_INET ? 4 : 16;
	uint8_t v[32] = { 0 };
	memcpy(v, addr, n);
	for (unsigned bit = 0; bit < prefix; bit++)
		v[n + bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
	for (size_t k = 0; k < n; k++)
		v[k] &= v[n + k];
	tb_subtree(b, GN_IP, v, 2 * n);
}

/* NameConstraints ::= SEQUENCE { permittedSubtrees [0], excludedSubtrees [1] }: each DNS suffix permits DNS
 * names, email addresses and URIs (their host) in that domain (RFC 5280 4.2.1.10 semantics for each), each IP
 * range permits addresses in it; each address family without a range is excluded whole (otherwise it would be
 * unconstrained: OpenSSL and Go apply the iPAddress subtrees to both families, GnuTLS only to those they name),
 * and so is ::ffff:0:0/96 under an IPv6 range that holds any of it (profile_range_meets_v4mapped);
 * dn_prefix, if any, permits subjects that begin with it (otherwise any subject name). */
static void tb_nc(struct dbuf *b, const struct profile *p)
{
	static const uint8_t any[16] = { 0 };
	bool v4 = false, v6 = false, v4mapped = false;
	size_t os, ext = tb_ext_open(b, oid_nc, sizeof(oid_nc), true, &os);
	size_t seq = dbuf_open(b, DER_SEQUENCE), permitted = dbuf_open(b, DER_CONTEXT | DER_CONSTRUCTED | 0);
	for (unsigned i = 0; i < p->n_dns; i++)
		tb_subtree(b, GN_DNS, p->dns_suffixes[i], strlen(p->dns_suffixes[i]));
	for (unsigned i = 0; i < p->n_dns; i++)
		tb_subtree(b, GN_EMAIL, p->dns_suffixes[i], strlen(p->dns_suffixes[i]));
	for (unsigned i = 0; i < p->n_dns; i++)
		tb_subtree(b, GN_URI, p->dns_suffixes[i], strlen(p->dns_suffixes[i]));
	for (unsigned i = 0; i < p->n_ip; i++) {
		tb_subtree_ip(b, p->ip_ranges[i].family, p->ip_ranges[i].addr, p->ip_ranges[i].prefix);
		*(p->ip_ranges[i].family == AF_INET ? &v4 : &v6) = true;
		v4mapped = v4mapped || profile_range_meets_v4mapped(&p->ip_ranges[i]);
	}
	if (p->dn_prefix_len) {
		size_t dir = dbuf_open(b, DER_SEQUENCE);
		dbuf_add_tlv(b, DER_CONTEXT | DER_CONSTRUCTED | GN_DIR, p->dn_prefix, p->dn_prefix_len);
		dbuf_close(b, dir);
	}
	dbuf_close(b, permitted);
	if (!v4 || !v6 || v4mapped) {
		size_t excluded = dbuf_open(b, DER_CONTEXT | DER_CONSTRUCTED | 1);
		if (!v4)
			tb_subtree_ip(b, AF_INET, any, 0);
		if (!v6)
			tb_subtree_ip(b, AF_INET6, any, 0);
		if (v4mapped) /* profile_range_meets_v4mapped: IPv4 addresses only as IPv4 */
			tb_subtree_ip(b, AF_INET6, profile_v4mapped_net, 96);
		dbuf_close(b, excluded);
	}
	dbuf_close(b, seq);
	tb_ext_close(b, ext, os);
}

/* CRLDistributionPoints ::= SEQUENCE { DistributionPoint { [0] { [0] fullName { URI } } } } */
static void tb_cdp(struct dbuf *b, const char *url)
{
	size_t os, ext = tb_ext_open(b, oid_cdp, sizeof(oid_cdp), false, &os);
	policy_cdp_value(b, url); /* the value a signer's crl_url pin compares with */
	tb_ext_close(b, ext, os);
}

/* AuthorityInfoAccess ::= SEQUENCE { AccessDescription { id-ad-ocsp, URI } } */
static void tb_aia(struct dbuf *b, const char *url)
{
	size_t os, ext = tb_ext_open(b, oid_aia, sizeof(oid_aia), false, &os);
	policy_aia_value(b, url); /* the value a signer's ocsp_url pin compares with */
	tb_ext_close(b, ext, os);
}

static int tb_extensions(struct dbuf *b, const struct profile *p, const struct csr *csr,
			 const struct policy_issuer *iss, bool empty_subject, char *why)
{
	size_t wrap = dbuf_open(b, DER_CONTEXT | DER_CONSTRUCTED | 3), seq = dbuf_open(b, DER_SEQUENCE), os;
	size_t ext = tb_ext_open(b, oid_bc, sizeof(oid_bc), true, &os);
	int rc;
	if (p->ca) { /* BasicConstraints { cA TRUE, pathLenConstraint } */
		uint8_t len = (uint8_t)p->path_length; /* at most PROF_PATH_LENGTH_MAX: one content byte */
		size_t bc = dbuf_open(b, DER_SEQUENCE);
		dbuf_add_tlv(b, DER_BOOLEAN, "\xff", 1);
		dbuf_add_tlv(b, DER_INTEGER, &len, 1);
		dbuf_close(b, bc);
	} else {
		dbuf_add(b, "\x30\x00", 2); /* cA FALSE is the DEFAULT, so an empty SEQUENCE */
	}
	tb_ext_close(b, ext, os);
	/* the profile's key usages where the key's type allows them (no keyEncipherment for EC, ...) */
	uint16_t ku = p->key_usage & (uint16_t)~policy_ku_forbidden(policy_spki_kind(span_make(csr->spki, csr->spki_len)));
	if (p->key_usage && !ku)
		return TB_WHY("key-usage: none of profile %s's key usages is permitted for this key type", p->name),
		       HSMCA_ERR_POLICY;
	if (ku)
		tb_ku(b, ku);
	if (p->n_eku && (rc = tb_eku(b, p, why)))
		return rc;
	if ((rc = tb_san(b, csr, empty_subject, why)) || (rc = tb_ski(b, csr, why)))
		return rc;
	tb_aki(b, iss);
	if (p->ca)
		tb_nc(b, p);
	tb_cdp(b, p->crl_url); /* both required of every profile (prof_check_urls) */
	tb_aia(b, p->ocsp_url);
	dbuf_close(b, seq);
	dbuf_close(b, wrap);
	return 0;
}

/* UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 4.1.2.5). */
static int tb_time(struct dbuf *b, time_t t, char *why)
{
	struct tm tm;
	char s[TB_TIME_MAX + 1];
	int n;
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
		return TB_WHY("time: the validity cannot be written (year beyond 0..9999)"), HSMCA_ERR_PARSE;
	if (tm.tm_year + 1900 <= TB_UTCTIME_LAST_YEAR && tm.tm_year + 1900 >= 1950) {
		n = snprintf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ", tm.tm_year % 100, tm.tm_mon + 1, tm.tm_mday,
			     tm.tm_hour, tm.tm_min, tm.tm_sec);
		dbuf_add_tlv(b, DER_UTCTIME, s, (size_t)n);
	} else {
		n = snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			     tm.tm_hour, tm.tm_min, tm.tm_sec);
		dbuf_add_tlv(b, DER_GENERALIZEDTIME, s, (size_t)n);
	}
	return 0;
}

const char *tbsbuild_cn(const struct csr *csr)
{
	if (csr->no_cn)
		return NULL;
	for (size_t i = 0; i < csr->n_sans; i++) {
		size_t chars = 0, len = strlen(csr->sans[i].value);
		for (size_t k = 0; k < len; k++)
			chars += ((uint8_t)csr->sans[i].value[k] & 0xc0) != 0x80;
		if (chars > 0 && chars <= TB_CN_MAX_CHARS)
			return csr->sans[i].value;
	}
	return NULL;
}

/* Name ::= SEQUENCE { SET { SEQUENCE { id-at-commonName, UTF8String } } }; without a CN the empty SEQUENCE. */
static void tb_subject(struct dbuf *b, const char *cn)
{
	size_t name = dbuf_open(b, DER_SEQUENCE);
	if (cn) {
		size_t rdn = dbuf_open(b, DER_SET), atv = dbuf_open(b, DER_SEQUENCE);
		dbuf_add_tlv(b, DER_OID, oid_cn, sizeof(oid_cn));
		dbuf_add_tlv(b, DER_UTF8STRING, cn, strlen(cn));
		dbuf_close(b, atv);
		dbuf_close(b, rdn);
	}
	dbuf_close(b, name);
}

int tbsbuild_leaf(const struct profile *p, const struct policy_issuer *iss, const struct csr *csr,
		  const uint8_t serial[TBSBUILD_SERIAL_RANDOM], time_t not_before, time_t not_after, struct dbuf *out,
		  char *why)
{
	uint8_t ser[TBSBUILD_SERIAL_LEN];
	int rc;
	if (csr->n_sans == 0)
		return TB_WHY("san: at least one subjectAltName is required"), HSMCA_ERR_POLICY;
	const char *cn = tbsbuild_cn(csr);
	if (!cn && p->ca) /* a leaf's subject may be empty (its SAN critical), a CA's may not */
		return TB_WHY("subject: a CA certificate needs a subject (RFC 5280 4.1.2.6), its CN the first SAN of "
			      "1..%d characters: none is that short", TB_CN_MAX_CHARS),
		       HSMCA_ERR_POLICY;
	ser[0] = CERTBUILD_SERIAL_LEAD; /* positive and minimal whatever the random bytes: 128 random bits */
	memcpy(ser + 1, serial, TBSBUILD_SERIAL_RANDOM);
	size_t tbs = dbuf_open(out, DER_SEQUENCE);
	dbuf_add(out, "\xa0\x03\x02\x01\x02", 5); /* [0] EXPLICIT INTEGER 2: v3 */
	dbuf_add_tlv(out, DER_INTEGER, ser, sizeof(ser));
	dbuf_add(out, iss->sigalg, iss->sigalg_len);
	dbuf_add(out, iss->subject, iss->subject_len);
	size_t validity = dbuf_open(out, DER_SEQUENCE);
	if ((rc = tb_time(out, not_before, why)) || (rc = tb_time(out, not_after, why)))
		return rc;
	dbuf_close(out, validity);
	size_t subject_at = out->len;
	tb_subject(out, cn);
	/* named as its issuer (an hsmca sub-CA's name is CN=<its first SAN>): self-issued, which RFC 5280 6.1 path
	 * validation exempts from the issuer's name constraints and path length */
	if (!out->failed && policy_dn_equal(span_make(out->data + subject_at, out->len - subject_at),
					    span_make(iss->subject, iss->subject_len)))
		return TB_WHY("subject: CN=<the first SAN of 1..%d characters> would be the issuer's name (a self-issued "
			      "certificate); put another name first", TB_CN_MAX_CHARS),
		       HSMCA_ERR_POLICY;
	dbuf_add(out, csr->spki, csr->spki_len);
	if ((rc = tb_extensions(out, p, csr, iss, cn == NULL, why)))
		return rc;
	dbuf_close(out, tbs);
	return out->failed ? HSMCA_ERR_NOMEM : 0;
}

/* The pinned-profile view of a frontend profile: the same rules the signer will apply. */
static void tb_policy(const struct profile *p, struct policy_profile *out)
{
	memset(out, 0, sizeof(*out));
	out->allow_cert = true;
	out->allow_ca = p->ca;
	out->max_pathlen = p->path_length;
	out->ku_allowed = p->key_usage;
	out->max_validity_days = p->max_validity_days;
	for (size_t i = 0; i < p->n_eku && i < TBS_MAX_EKU; i++) {
		struct span oid;
		if (policy_eku_oid(p->eku[i], &oid)) {
			memcpy(out->eku[out->n_eku], oid.data, oid.len);
			out->eku_len[out->n_eku++] = oid.len;
		}
	}
}

_Static_assert(TBSBUILD_SERIAL_LEN == ISSUE_SERIAL_LEN, "one serial length");
_Static_assert(TBSBUILD_SERIAL_LEN == TBSBUILD_SERIAL_RANDOM + 1 && TBSBUILD_SERIAL_LEN <= CERTBUILD_SERIAL_MAX,
	       "0x01 || the random bytes, within RFC 5280's 20 octets");
_Static_assert(2 * TBSBUILD_SERIAL_LEN < DB_SERIAL_HEX_MAX, "the serial's hex fits the database's");

int issue_build_tbs(const struct app *a, unsigned pi, const struct csr *csr, struct dbuf *out_tbs,
		    char out_serial_hex[DB_SERIAL_HEX_MAX], time_t out_validity[2], char *why)
{
	const struct profile *p = &a->profiles.p[pi];
	const struct app_issuer *iss = &a->issuers[pi];
	uint8_t rnd[TBSBUILD_SERIAL_RANDOM];
	time_t now = time(NULL), nb = now - 60, na;
	struct policy_profile pol;
	struct tbs_cert t;
	int rc;
	why[0] = 0;
	if (now >= iss->facts.not_after || now < iss->facts.not_before) {
		/* the appliance's own state, not the request's: no certificate can be issued under this CA now */
		snprintf(why, TBS_WHY_MAX, "the issuing CA %s is %s: nothing can be issued under profile %s until it is "
			 "replaced", p->issuer, now >= iss->facts.not_after ? "expired" : "not valid yet", p->name);
		return HSMCA_ERR_STATE;
	}
	if (nb < iss->facts.not_before)
		nb = iss->facts.not_before;
	na = nb + (time_t)p->max_validity_days * DAY - 1; /* both ends count (RFC 5280 4.1.2.5): exactly the days */
	if (na > iss->facts.not_after)
		na = iss->facts.not_after; /* never outlive the issuer */
	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		snprintf(why, TBS_WHY_MAX, "no random bytes for the serial");
		return HSMCA_ERR_CRYPTO;
	}
	if ((rc = tbsbuild_leaf(p, &iss->facts, csr, rnd, nb, na, out_tbs, why))) {
		if (rc == HSMCA_ERR_NOMEM) {
			snprintf(why, TBS_WHY_MAX, "out of memory");
			return rc;
		}
		if (!why[0])
			snprintf(why, TBS_WHY_MAX, "tbs: the certificate could not be built");
		return HSMCA_ERR_POLICY;
	}
	tb_policy(p, &pol);
	if (!tbs_cert_parse(span_make(out_tbs->data, out_tbs->len), &t, why))
		return HSMCA_ERR_POLICY;
	if ((rc = policy_check_cert(&t, &iss->facts, &pol, why)) || (rc = policy_check_cert_clock(&t, now, why)))
		return rc == HSMCA_ERR_EARLY ? HSMCA_ERR_POLICY : rc; /* here: an issuer not valid yet */
	out_validity[0] = t.not_before;
	out_validity[1] = t.not_after;
	for (size_t i = 0; i < t.serial.len && 2 * i + 2 < DB_SERIAL_HEX_MAX; i++)
		snprintf(out_serial_hex + 2 * i, 3, "%02x", t.serial.data[i]);
	return 0;
}

char *tbsbuild_pem_cert(const uint8_t *der, size_t len)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----\n", end[] = "-----END CERTIFICATE-----\n";
	struct span in = span_make(der, len), cert, part;
	uint8_t tag;
	if (!der_get(&in, &cert, DER_SEQUENCE) || span_len(&in) != 0 || !der_get(&cert, &part, DER_SEQUENCE) ||
	    !der_get(&cert, &part, DER_SEQUENCE) || !der_get_any(&cert, &tag, &part, NULL) || tag != DER_BIT_STRING ||
	    span_len(&cert) != 0)
		return NULL;
	size_t lines = (len + TB_PEM_LINE_BYTES - 1) / TB_PEM_LINE_BYTES;
	char *out = malloc(sizeof(begin) + (len + 2) / 3 * 4 + lines + sizeof(end));
	if (!out)
		return NULL;
	size_t n = sizeof(begin) - 1;
	memcpy(out, begin, n);
	for (size_t off = 0; off < len; off += TB_PEM_LINE_BYTES) {
		size_t k = len - off < TB_PEM_LINE_BYTES ? len - off : TB_PEM_LINE_BYTES;
		n += (size_t)EVP_EncodeBlock((unsigned char *)out + n, der + off, (int)k);
		out[n++] = '\n';
	}
	memcpy(out + n, end, sizeof(end)); /* with the NUL */
	return out;
}
