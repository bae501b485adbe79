#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "policy.h"

#define REFUSE(...) (snprintf(why, TBS_WHY_MAX, __VA_ARGS__), HSMCA_ERR_POLICY)
#define DAY 86400

static bool pol_span_is(const struct span *s, const uint8_t *b, size_t len)
{
	struct span o = span_make(b, len);
	return span_equal(s, &o);
}

static int pol_check_serial(const struct span *serial, char *why)
{
	const uint8_t *d = serial->data;
	size_t len = serial->len;
	if (d[0] & 0x80)
		return REFUSE("serial: must be positive");
	if (len > POLICY_SERIAL_MAX_OCTETS)
		return REFUSE("serial: longer than %d octets", POLICY_SERIAL_MAX_OCTETS);
	while (len > 0 && d[0] == 0) {
		d++;
		len--;
	}
	size_t bits = len ? (len - 1) * 8 : 0;
	for (uint8_t top = len ? d[0] : 0; top; top >>= 1)
		bits++;
	if (bits < POLICY_SERIAL_MIN_BITS)
		return REFUSE("serial: fewer than 64 random bits (value below 2^64)");
	return 0;
}

static int pol_check_known_critical(const struct tbs_ext *ext, size_t n, char *why)
{
	static const struct {
		const uint8_t *oid;
		size_t len;
	} known[] = {
		{ OID_BC, sizeof(OID_BC) },   { OID_KU, sizeof(OID_KU) },       { OID_EKU, sizeof(OID_EKU) },
		{ OID_SAN, sizeof(OID_SAN) }, { OID_NC, sizeof(OID_NC) },       { OID_CP, sizeof(OID_CP) },
		{ OID_PC, sizeof(OID_PC) },   { OID_CRLDP, sizeof(OID_CRLDP) },
	};
	for (size_t i = 0; i < n; i++) {
		bool ok = !ext[i].critical;
		for (size_t k = 0; !ok && k < sizeof(known) / sizeof(known[0]); k++)
			ok = pol_span_is(&ext[i].oid, known[k].oid, known[k].len);
		if (!ok)
			return REFUSE("critical-extension: unknown critical extension %zu", i);
	}
	return 0;
}

/* Extensions that grant CA powers outside basicConstraints, in verifiers that still read them (Windows
 * decodes the cA flag of the X.509 (1993) basicConstraints, NSS Netscape's certificate type bits when
 * basicConstraints is absent): whatever their criticality, a certificate the CA rules above took for a leaf
 * could act as a CA there. Neither is ever written by hsmca, nor are the Microsoft extensions below. */
static int pol_check_legacy_ca(const struct tbs_ext *ext, size_t n, char *why)
{
	static const uint8_t legacy_bc[] = { 0x55, 0x1d, 0x0a };                                       /* 2.5.29.10 */
	static const uint8_t ns_cert_type[] = { 0x60, 0x86, 0x48, 0x01, 0x86, 0xf8, 0x42, 0x01, 0x01 }; /* 2.16.840.1.113730.1.1 */
	/* Microsoft's: Application Policies (1.3.6.1.4.1.311.21.10), which Windows reads like extendedKeyUsage,
	 * so it would grant purposes past the pinned EKU (the ESC15 / CVE-2024-49019 mechanism); the NTDS CA
	 * security extension (1.3.6.1.4.1.311.25.2), an AD object SID for strong certificate mapping, which
	 * would let a certificate log in as an AD account */
	static const uint8_t ms_app_policies[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x15, 0x0a };
	static const uint8_t ms_ntds_sid[] = { 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x19, 0x02 };
	for (size_t i = 0; i < n; i++) {
		if (pol_span_is(&ext[i].oid, legacy_bc, sizeof(legacy_bc)) ||
		    pol_span_is(&ext[i].oid, ns_cert_type, sizeof(ns_cert_type)))
			return REFUSE("extension: extension %zu is a legacy CA marker (2.5.29.10 basicConstraints or "
				      "Netscape certificate type), refused", i);
		if (pol_span_is(&ext[i].oid, ms_app_policies, sizeof(ms_app_policies)) ||
		    pol_span_is(&ext[i].oid, ms_ntds_sid, sizeof(ms_ntds_sid)))
			return REFUSE("extension: extension %zu grants Windows powers past the pinned profile (Microsoft "
				      "Application Policies or an AD SID), refused", i);
	}
	return 0;
}

/* Nothing but the extensions hsmca writes into a certificate (frontend/tbsbuild.c: basicConstraints, keyUsage,
 * extendedKeyUsage, subjectAltName, the key identifiers, cRLDistributionPoints, authorityInfoAccess, and
 * nameConstraints for a CA; hsm/ceremony/certgen.c also certificatePolicies, and id-pkix-ocsp-nocheck on an
 * OCSP responder's), and policyConstraints, which RFC 5280 has relying parties process: whatever else a
 * TBS carries, critical or not, is refused, so a frontend that was taken over cannot have the HSM vouch for
 * meanings the pinned profile never looked at (Microsoft's and the legacy CA markers above are refused with
 * their own reasons first; an unknown critical one by pol_check_known_critical). */
/* A subjectAltName's GeneralNames (RFC 5280 4.2.1.6): not empty, and only the names the frontend writes,
 * each in its primitive DER form: rfc822Name [1], dNSName [2], URI [6] and iPAddress [7]. A constructed [2]
 * dNSName is BER that some verifiers read and others refuse; otherName (a UPN, an AD SID), directoryName and
 * the rest are names a compromised frontend could use to reach past what hsmca issues. A URI in Windows'
 * strong-mapping form for an AD SID ("tag:microsoft.com,2022-09-14:sid:...", KB5014754) would let the
 * certificate log in as that account, as the NTDS SID extension would (pol_check_legacy_ca). The value is
 * already known to be one strict-DER element (der_strict_one). */
static bool pol_general_names_ok(struct span v)
{
	static const char sid_uri[] = "tag:microsoft.com,2022-09-14:sid:";
	struct span names, name;
	uint8_t tag;
	if (!der_get(&v, &names, DER_SEQUENCE) || span_len(&names) == 0)
		return false;
	while (span_len(&names) > 0) {
		if (!der_get_any(&names, &tag, &name, NULL))
			return false;
		if (tag != 0x81 && tag != 0x82 && tag != 0x86 && tag != 0x87)
			return false;
		if (tag == 0x86 && name.len >= sizeof(sid_uri) - 1 && strncasecmp((const char *)name.data, sid_uri,
										     sizeof(sid_uri) - 1) == 0)
			return false;
	}
	return true;
}

static int pol_check_allowed_ext(const struct tbs_ext *ext, size_t n, const struct policy_profile *p, char *why)
{
	bool policies = p->allow_policies;
	static const uint8_t ocsp_nocheck[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x05 }; /* 1.3.6.1.5.5.7.48.1.5 */
	static const struct {
		const uint8_t *oid;
		size_t len;
	} allowed[] = {
		{ OID_BC, sizeof(OID_BC) },   { OID_KU, sizeof(OID_KU) },   { OID_EKU, sizeof(OID_EKU) },
		{ OID_SAN, sizeof(OID_SAN) }, { OID_SKI, sizeof(OID_SKI) }, { OID_AKI, sizeof(OID_AKI) },
		{ OID_CRLDP, sizeof(OID_CRLDP) }, { OID_AIA, sizeof(OID_AIA) }, { OID_NC, sizeof(OID_NC) },
		{ OID_CP, sizeof(OID_CP) },   { OID_PC, sizeof(OID_PC) },   { ocsp_nocheck, sizeof(ocsp_nocheck) },
	};
	for (size_t i = 0; i < n; i++) {
		bool ok = false;
		for (size_t k = 0; !ok && k < sizeof(allowed) / sizeof(allowed[0]); k++)
			ok = pol_span_is(&ext[i].oid, allowed[k].oid, allowed[k].len);
		if (ok && !policies && (pol_span_is(&ext[i].oid, OID_CP, sizeof(OID_CP)) ||
					pol_span_is(&ext[i].oid, OID_PC, sizeof(OID_PC))))
			return REFUSE("extension: extension %zu is certificatePolicies or policyConstraints, which only a key "
				      "ceremony writes (an issuance policy can grant Windows group membership): refused", i);
		/* OCSP no-check tells relying parties not to check the certificate's revocation: the ceremony writes
		 * it on a responder's certificate; the online signer signed it on any certificate */
		if (ok && !p->allow_nocheck && pol_span_is(&ext[i].oid, ocsp_nocheck, sizeof(ocsp_nocheck)))
			return REFUSE("extension: extension %zu is OCSP no-check, which only a key ceremony writes (on an "
				      "OCSP responder's certificate): refused", i);
		if (!ok)
			return REFUSE("extension: extension %zu is none of those hsmca writes (basicConstraints, keyUsage, "
				      "extendedKeyUsage, subjectAltName, key identifiers, cRLDistributionPoints, "
				      "authorityInfoAccess, nameConstraints, the policy ones, OCSP no-check), refused", i);
		/* also the values the checks below do not decode (subjectAltName, cRLDistributionPoints,
		 * authorityInfoAccess, the policy ones): verifiers that differ in what they forgive must not read
		 * different meanings into one signature */
		if (pol_span_is(&ext[i].oid, ocsp_nocheck, sizeof(ocsp_nocheck))
			    ? !(ext[i].value.len == 2 && ext[i].value.data[0] == 0x05 && ext[i].value.data[1] == 0x00)
			    : !der_strict_one(ext[i].value))
			return REFUSE("extension: the value of extension %zu is not one strict-DER element with nothing "
				      "after it (OCSP no-check: NULL)", i);
		if (pol_span_is(&ext[i].oid, OID_SAN, sizeof(OID_SAN)) && !pol_general_names_ok(ext[i].value))
			return REFUSE("extension: the subjectAltName is not a non-empty sequence of GeneralNames of "
				      "the kinds hsmca writes (email, DNS, URI, IP), each in its DER form, and no Windows "
				      "SID URI");
	}
	return 0;
}

/* True if b[0..n) equals the NUL-terminated s, ignoring ASCII case. */
static bool pol_name_eq(const uint8_t *b, size_t n, const char *s)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = b[i] >= 'A' && b[i] <= 'Z' ? (uint8_t)(b[i] - 'A' + 'a') : b[i];
		char d = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
		if (c != (uint8_t)d)
			return false;
	}
	return true;
}

/* A dNSName, rfc822Name or URI constraint value within a pinned entry. The value's names: ".v" those below
 * v; "v" v itself (and for dNSName also those below it, RFC 5280 4.2.1.10); "user@v" (rfc822Name) that
 * mailbox, so v itself. The pin's: ".d" those below d, "d" d and those below it. */
static bool pol_nc_name_within(const struct tbs_subtree *st, const char *pin)
{
	const uint8_t *v = st->value.data;
	size_t n = st->value.len;
	for (size_t i = 0; i < n; i++)
		if (v[i] <= 0x20 || v[i] >= 0x7f)
			return false;
	const uint8_t *at = n ? memchr(v, '@', n) : NULL;
	if (at) {
		if (st->tag != (DER_CONTEXT | 1))
			return false;
		n -= (size_t)(at + 1 - v);
		v = at + 1;
	}
	bool vdot = n > 0 && v[0] == '.', pdot = pin[0] == '.';
	if (vdot) {
		v++;
		n--;
	}
	const char *d = pdot ? pin + 1 : pin;
	size_t dl = strlen(d);
	if (n == 0 || dl == 0)
		return false;
	if (n > dl + 1 && v[n - dl - 1] == '.' && pol_name_eq(v + n - dl, dl, d))
		return true; /* strictly below d */
	/* v is d: only a pin that includes d itself may hold more than the names below it */
	return pol_name_eq(v, n, d) && (vdot || !pdot);
}

/* An iPAddress constraint (address || mask, contiguous mask) within a pinned range. */
static bool pol_nc_ip_within(const struct span *v, const struct policy_iprange *r)
{
	size_t n = r->v6 ? 16 : 4;
	unsigned prefix = 0;
	bool ones = true;
	if (v->len != 2 * n)
		return false;
	for (size_t i = 0; i < 8 * n; i++) {
		bool bit = v->data[n + i / 8] & (0x80 >> (i % 8));
		if (bit && !ones)
			return false; /* not a contiguous mask */
		ones = ones && bit;
		prefix += bit;
	}
	if (prefix < r->prefix)
		return false;
	for (unsigned i = 0; i < r->prefix; i++) {
		uint8_t m = (uint8_t)(0x80 >> (i % 8));
		if ((v->data[i / 8] & m) != (r->addr[i / 8] & m))
			return false;
	}
	return true;
}

/* An excluded subtree in the form the permitted side takes: a dNSName, rfc822Name or URI of printable ASCII
 * without spaces, an iPAddress of 8 or 32 bytes with a contiguous mask, or a well-formed directoryName (Go
 * refuses a certificate with another; a verifier that drops a nameConstraints it cannot read would take the
 * CA for an unconstrained one). */
static bool pol_nc_excluded_form(const struct tbs_subtree *st)
{
	switch (st->tag) {
	case DER_CONTEXT | 1:
	case DER_CONTEXT | 2:
	case DER_CONTEXT | 6:
		for (size_t i = 0; i < st->value.len; i++)
			if (st->value.data[i] <= 0x20 || st->value.data[i] >= 0x7f)
				return false;
		return true;
	case DER_CONTEXT | 7: {
		size_t n = st->value.len / 2;
		bool ones = true;
		if (st->value.len != 2 * 4 && st->value.len != 2 * 16)
			return false;
		for (size_t i = 0; i < 8 * n; i++) {
			bool bit = st->value.data[n + i / 8] & (0x80 >> (i % 8));
			if (bit && !ones)
				return false;
			ones = ones && bit;
		}
		return true;
	}
	case DER_CONTEXT | DER_CONSTRUCTED | 4:
		return policy_dn_well_formed(st->value);
	default:
		return false;
	}
}

/* An excluded subtree that is every address of one family: address and mask all zero. */
static bool pol_nc_all_ip(const struct tbs_subtree *st, size_t n)
{
	if (st->tag != (DER_CONTEXT | 7) || st->value.len != 2 * n)
		return false;
	for (size_t i = 0; i < 2 * n; i++)
		if (st->value.data[i])
			return false;
	return true;
}

/* An IPv6 subtree (address || mask) whose range meets ::ffff:0:0/96, the IPv4-mapped addresses (whole: holds
 * all of it): the two agree under its mask in the first 96 bits (whole: and its mask sets none of the last 32). */
static bool pol_nc_v4mapped(const struct tbs_subtree *st, bool whole)
{
	static const uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	if (st->tag != (DER_CONTEXT | 7) || st->value.len != 32)
		return false;
	const uint8_t *a = st->value.data, *m = st->value.data + 16;
	for (size_t i = 0; i < 16; i++)
		if (i < 12 ? (a[i] & m[i]) != (mapped[i] & m[i]) : whole && m[i])
			return false;
	return true;
}

/* The pinned name constraints of a CA certificate (policy_profile.ca_pinned). */
static int pol_check_nc(const struct tbs_cert *t, const struct policy_profile *p, char *why)
{
	const struct tbs_ext *e = tbs_ext_find(t->ext, t->n_ext, OID_NC, sizeof(OID_NC));
	struct tbs_nc nc;
	bool dns = false, email = false, uri = false, v4 = false, v6 = false, dn = false, no_v4 = false, no_v6 = false;
	bool mapped = false, no_mapped = false;
	if (!e || !e->critical)
		return REFUSE("name-constraints: a CA certificate of this key needs critical nameConstraints");
	if (!tbs_nc_parse(e->value, &nc, why))
		return HSMCA_ERR_POLICY;
	for (size_t i = 0; i < nc.n_permitted; i++) {
		const struct tbs_subtree *st = &nc.permitted[i];
		bool ok = false;
		switch (st->tag) {
		case DER_CONTEXT | 1:
		case DER_CONTEXT | 2:
		case DER_CONTEXT | 6:
			for (size_t k = 0; !ok && k < p->n_ca_dns; k++)
				ok = pol_nc_name_within(st, p->ca_dns[k]);
			dns = dns || st->tag == (DER_CONTEXT | 2);
			email = email || st->tag == (DER_CONTEXT | 1);
			uri = uri || st->tag == (DER_CONTEXT | 6);
			break;
		case DER_CONTEXT | 7:
			for (size_t k = 0; !ok && k < p->n_ca_ip; k++)
				ok = pol_nc_ip_within(&st->value, &p->ca_ip[k]);
			v4 = v4 || st->value.len == 2 * 4; /* within a pinned range: of its family's length */
			v6 = v6 || st->value.len == 2 * 16;
			mapped = mapped || pol_nc_v4mapped(st, false);
			break;
		case DER_CONTEXT | DER_CONSTRUCTED | 4:
			ok = p->ca_dn_len ? policy_dn_within(st->value, p->ca_dn, p->ca_dn_len)
					  : policy_dn_well_formed(st->value);
			dn = true;
			break;
		default:
			return REFUSE("name-constraints: permitted subtree %zu is not a DNS name, email, URI, IP range or "
				      "directory name", i);
		}
		if (!ok)
			return REFUSE("name-constraints: permitted subtree %zu is outside the names pinned for this key", i);
	}
	if (!dns || !email || !uri)
		return REFUSE("name-constraints: DNS names, email addresses and URIs must each have a permitted subtree");
	if (p->ca_dn_len && !dn)
		return REFUSE("name-constraints: directory names must have a permitted subtree (ca_permitted_dn)");
	for (size_t i = 0; i < nc.n_excluded; i++) {
		if (!pol_nc_excluded_form(&nc.excluded[i]))
			return REFUSE("name-constraints: excluded subtree %zu is not a DNS name, email, URI, IP range or "
				      "directory name in its DER form", i);
		no_v4 = no_v4 || pol_nc_all_ip(&nc.excluded[i], 4);
		no_v6 = no_v6 || pol_nc_all_ip(&nc.excluded[i], 16);
		no_mapped = no_mapped || pol_nc_v4mapped(&nc.excluded[i], true);
	}
	/* Go matches an iPAddress only against subtrees of its own length and takes ::ffff:a.b.c.d as a.b.c.d:
	 * an IPv6 range that holds any of the mapped block would let such a CA name IPv4 addresses past the pinned
	 * IPv4 ranges (tbsbuild.c excludes the whole block) */
	if (mapped && !no_mapped)
		return REFUSE("name-constraints: a permitted IPv6 range holds IPv4-mapped addresses (::ffff:0:0/96), "
			      "which are not all excluded");
	/* each family on its own: GnuTLS applies iPAddress subtrees only to the family they name, so one
	 * permitted IPv4 range alone would leave every IPv6 address open there */
	if (!v4 && !no_v4)
		return REFUSE("name-constraints: IPv4 addresses are neither permitted within pinned ranges nor all excluded");
	if (!v6 && !no_v6)
		return REFUSE("name-constraints: IPv6 addresses are neither permitted within pinned ranges nor all excluded");
	return 0;
}

/* True if the subject key is the issuer's own (a self-signed certificate: a root, as the ceremony lints it). */
static bool pol_self_signed(const struct tbs_cert *t, const struct policy_issuer *iss)
{
	struct span spki = t->spki, in, alg, bits;
	uint8_t h[POLICY_SHA1_LEN];
	if (!der_get(&spki, &in, DER_SEQUENCE) || !der_get(&in, &alg, DER_SEQUENCE) ||
	    !der_get_bitstring_bytes(&in, &bits))
		return false;
	SHA1(bits.data, bits.len, h);
	return memcmp(h, iss->key_hash, sizeof(h)) == 0;
}

/* The subject: not the issuer's name as verifiers compare names, unless the certificate is self-signed (a
 * self-issued CA is exempt from its issuer's name constraints and path length, RFC 5280 6.1, and a leaf so
 * named would be taken for its issuer by name); empty, never a CA's (RFC 5280 4.1.2.6: verifiers find a CA by
 * its subject, and openssl verify -x509_strict refuses it), and only with a critical subjectAltName that
 * names the subject (4.2.1.6). */
static int pol_check_subject(const struct tbs_cert *t, const struct policy_issuer *iss, char *why)
{
	struct span name = t->subject, rdns;
	/* first: policy_dn_equal takes a name it cannot read for another name, and verifiers read names more
	 * leniently (an empty RDN, a long-form length: OpenSSL then finds the issuer's name, or an empty one) */
	char dn_why[POLICY_DN_WHY_MAX];
	if (policy_dn_check(t->subject, dn_why))
		return REFUSE("subject: not a well-formed Name: %s", dn_why);
	if (policy_dn_equal(t->subject, span_make(iss->subject, iss->subject_len)) && !pol_self_signed(t, iss))
		return REFUSE("subject: the subject is the issuer's name (a self-issued certificate, which path "
			      "validation exempts from the issuer's constraints)");
	if (!der_get(&name, &rdns, DER_SEQUENCE) || span_len(&rdns) != 0)
		return 0;
	const struct tbs_ext *san = tbs_ext_find(t->ext, t->n_ext, OID_SAN, sizeof(OID_SAN));
	if (t->has_bc && t->ca)
		return REFUSE("subject: a CA certificate needs a non-empty subject (RFC 5280 4.1.2.6)");
	if (!san || !san->critical)
		return REFUSE("subject: an empty subject needs a critical subjectAltName (RFC 5280 4.2.1.6)");
	return 0;
}

static int pol_check_cert_ca(const struct tbs_cert *t, const struct policy_profile *p, char *why)
{
	bool ca = t->has_bc && t->ca;
	if (!ca) {
		if (t->has_ku && (t->ku & (TBS_KU_KEY_CERT_SIGN | TBS_KU_CRL_SIGN)))
			return REFUSE("key-usage: keyCertSign/cRLSign on a non-CA certificate");
		/* an absent KU or EKU means "any": not within a profile that pins them */
		if (!t->has_ku && p->ku_allowed)
			return REFUSE("key-usage: keyUsage missing (the pinned profile restricts key usage)");
		if (t->n_eku == 0 && p->n_eku > 0)
			return REFUSE("eku: extendedKeyUsage missing (the pinned profile restricts it)");
		return 0;
	}
	if (!p->allow_ca)
		return REFUSE("ca: the pinned profile does not allow CA certificates");
	const struct tbs_ext *bc = tbs_ext_find(t->ext, t->n_ext, OID_BC, sizeof(OID_BC));
	if (!bc->critical)
		return REFUSE("ca: basicConstraints must be critical on a CA certificate");
	if (!t->has_pathlen || t->pathlen > p->max_pathlen)
		return REFUSE("pathlen: pathLenConstraint missing or above %llu", (unsigned long long)p->max_pathlen);
	if (!t->has_ku || !(t->ku & TBS_KU_KEY_CERT_SIGN))
		return REFUSE("key-usage: a CA certificate needs keyCertSign");
	if (!t->has_ski)
		return REFUSE("ski: a CA certificate needs a subjectKeyIdentifier");
	/* an absent EKU means any purpose, for the CA and (to verifiers that chain EKUs) everything below it */
	if (t->n_eku == 0 && p->n_eku > 0)
		return REFUSE("eku: extendedKeyUsage missing on a CA certificate (the pinned profile restricts it)");
	return p->ca_pinned ? pol_check_nc(t, p, why) : 0;
}

enum policy_key_kind policy_spki_kind(struct span spki)
{
	static const uint8_t ec[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };                   /* 1.2.840.10045.2.1 */
	static const uint8_t rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };     /* 1.2.840.113549.1.1.1 */
	struct span in, alg, oid;
	if (!der_get(&spki, &in, DER_SEQUENCE) || !der_get(&in, &alg, DER_SEQUENCE) || !der_get_oid(&alg, &oid))
		return POLICY_KEY_OTHER;
	return pol_span_is(&oid, ec, sizeof(ec)) ? POLICY_KEY_EC
	       : pol_span_is(&oid, rsa, sizeof(rsa)) ? POLICY_KEY_RSA
						     : POLICY_KEY_OTHER;
}

uint16_t policy_ku_forbidden(enum policy_key_kind kind)
{
	switch (kind) {
	case POLICY_KEY_EC:
		return TBS_KU_KEY_ENCIPHERMENT | TBS_KU_DATA_ENCIPHERMENT;
	case POLICY_KEY_RSA:
		return TBS_KU_KEY_AGREEMENT | TBS_KU_ENCIPHER_ONLY | TBS_KU_DECIPHER_ONLY;
	default:
		return 0;
	}
}

/* Key usages the subject key's type cannot carry out (after the pinned subset check). */
static int pol_check_ku_key(const struct tbs_cert *t, char *why)
{
	enum policy_key_kind kind = policy_spki_kind(t->spki);
	const uint16_t only = TBS_KU_ENCIPHER_ONLY | TBS_KU_DECIPHER_ONLY;
	if (t->has_ku && (t->ku & only) && (!(t->ku & TBS_KU_KEY_AGREEMENT) || (t->ku & only) == only))
		return REFUSE("key-usage: encipherOnly or decipherOnly without keyAgreement, or both (RFC 5280 4.2.1.3)");
	if (!t->has_ku || !(t->ku & policy_ku_forbidden(kind)))
		return 0;
	if (kind == POLICY_KEY_EC)
		return REFUSE("key-usage: an EC key may not assert keyEncipherment or dataEncipherment (RFC 5480)");
	return REFUSE("key-usage: an RSA key may not assert keyAgreement, encipherOnly or decipherOnly (RFC 3279)");
}

static int pol_check_eku(const struct tbs_cert *t, const struct policy_profile *p, char *why)
{
	for (size_t i = 0; i < t->n_eku; i++) {
		bool ok = false;
		for (size_t k = 0; !ok && k < p->n_eku; k++)
			ok = pol_span_is(&t->eku[i], p->eku[k], p->eku_len[k]);
		if (!ok)
			return REFUSE("eku: extended key usage %zu is not allowed by the pinned profile", i);
	}
	return 0;
}

int policy_check_cert(const struct tbs_cert *t, const struct policy_issuer *iss, const struct policy_profile *p,
		      char *why)
{
	int rc;
	if (!p->allow_cert)
		return REFUSE("operation: this key may not sign certificates");
	if (!pol_span_is(&t->issuer, iss->subject, iss->subject_len))
		return REFUSE("issuer: issuer name does not match the key's certificate");
	if (!t->has_aki || !pol_span_is(&t->aki_keyid, iss->ski, iss->ski_len))
		return REFUSE("aki: authorityKeyIdentifier missing or not the key's SKI");
	if (!pol_span_is(&t->sigalg, iss->sigalg, iss->sigalg_len))
		return REFUSE("sigalg: signature algorithm does not match the key");
	if (t->not_before >= t->not_after)
		return REFUSE("validity: notBefore is not before notAfter");
	if (t->not_before < iss->not_before || t->not_after > iss->not_after)
		return REFUSE("validity: outside the issuer's validity");
	/* both ends count (RFC 5280 4.1.2.5; the CA/B Baseline Requirements' validity period is notAfter -
	 * notBefore + 1 s): a certificate to notBefore + days exactly would last a second longer than days */
	if ((uint64_t)(t->not_after - t->not_before) + 1 > (uint64_t)p->max_validity_days * DAY)
		return REFUSE("validity: longer than %u days", p->max_validity_days);
	if ((rc = pol_check_serial(&t->serial, why)) || (rc = pol_check_subject(t, iss, why)) ||
	    (rc = pol_check_cert_ca(t, p, why)))
		return rc;
	if (t->has_ku && (t->ku & ~p->ku_allowed))
		return REFUSE("key-usage: key usage not allowed by the pinned profile");
	if ((rc = pol_check_ku_key(t, why)) || (rc = pol_check_eku(t, p, why)) ||
	    (rc = pol_check_legacy_ca(t->ext, t->n_ext, why)))
		return rc;
	bool bad_form;
	const char *key_why = policy_spki_type(t->spki, &bad_form); /* the form and the type, one walk */
	if (key_why && bad_form)
		return REFUSE("key: the subject public key is not DER: %s", key_why);
	if (key_why)
		return REFUSE("key: %s", key_why);
	if ((rc = pol_check_known_critical(t->ext, t->n_ext, why)) || (rc = pol_check_allowed_ext(t->ext, t->n_ext, p, why)))
		return rc;
	/* a CA certificate too: OpenSSL and Go take one as a TLS server's, and its nameConstraints never apply to
	 * its own names */
	if ((rc = policy_check_urls(t, p, why)))
		return rc;
	return p->leaf_pinned ? policy_check_leaf_names(t, p, why) : 0;
}

int policy_check_crl(const struct tbs_crl *t, const struct policy_issuer *iss, const struct policy_profile *p,
		     char *why)
{
	if (!p->allow_crl)
		return REFUSE("operation: this key may not sign CRLs");
	if (!pol_span_is(&t->issuer, iss->subject, iss->subject_len))
		return REFUSE("issuer: CRL issuer does not match the key's certificate");
	if (!t->has_aki || !pol_span_is(&t->aki_keyid, iss->ski, iss->ski_len))
		return REFUSE("aki: authorityKeyIdentifier missing or not the key's SKI");
	if (!pol_span_is(&t->sigalg, iss->sigalg, iss->sigalg_len))
		return REFUSE("sigalg: signature algorithm does not match the key");
	if (!t->has_number)
		return REFUSE("crl-number: cRLNumber missing");
	if (t->this_update >= t->next_update ||
	    (uint64_t)(t->next_update - t->this_update) > (uint64_t)p->max_crl_days * DAY)
		return REFUSE("validity: nextUpdate not after thisUpdate or beyond %u days", p->max_crl_days);
	if (t->this_update < iss->not_before || t->this_update > iss->not_after)
		return REFUSE("validity: thisUpdate outside the issuer's validity");
	if (t->entry_refused)
		return REFUSE("crl-entry: revoked entry %zu has %s, refused", t->entry_refused_at, t->entry_refused);
	int rc = pol_check_known_critical(t->ext, t->n_ext, why);
	if (rc)
		return rc;
	/* a CRL's own extensions: those of a full CRL hsmca writes (RFC 5280 5.2.1, 5.2.3, 5.2.7); an
	 * issuingDistributionPoint or deltaCRLIndicator, critical, was refused just above */
	for (size_t i = 0; i < t->n_ext; i++)
		if (!pol_span_is(&t->ext[i].oid, OID_AKI, sizeof(OID_AKI)) &&
		    !pol_span_is(&t->ext[i].oid, OID_CRL_NUMBER, sizeof(OID_CRL_NUMBER)) &&
		    !pol_span_is(&t->ext[i].oid, OID_AIA, sizeof(OID_AIA)))
			return REFUSE("extension: CRL extension %zu is none of those hsmca writes (authorityKeyIdentifier, "
				      "cRLNumber, authorityInfoAccess), refused", i);
		else if (!der_strict_one(t->ext[i].value)) /* as a certificate's (pol_check_allowed_ext) */
			return REFUSE("extension: the value of CRL extension %zu is not one strict-DER element with "
				      "nothing after it", i);
	return 0;
}

int policy_check_ocsp(const struct tbs_ocsp *t, const struct policy_issuer *iss, const struct policy_profile *p,
		      char *why)
{
	if (!p->allow_ocsp)
		return REFUSE("operation: this key may not sign OCSP responses");
	if (t->by_key ? !pol_span_is(&t->responder, iss->key_hash, POLICY_SHA1_LEN)
		      : !pol_span_is(&t->responder, iss->subject, iss->subject_len))
		return REFUSE("responder: responderID does not name this key's certificate");
	const uint8_t *want = p->ocsp_delegated ? iss->parent_key_hash : iss->key_hash;
	const uint8_t *want_name = p->ocsp_delegated ? iss->parent_name_hash : iss->name_hash;
	if (!pol_span_is(&t->issuer_key_hash, want, POLICY_SHA1_LEN) ||
	    !pol_span_is(&t->issuer_name_hash, want_name, POLICY_SHA1_LEN))
		return REFUSE("responder: CertID names an issuer this responder does not answer for");
	if (t->produced_at < iss->not_before || t->produced_at > iss->not_after)
		return REFUSE("validity: producedAt outside the responder certificate's validity");
	return 0;
}

/* t within [now - back, now + POLICY_CLOCK_AHEAD] */
static int pol_clock(time_t t, time_t now, time_t back, const char *what, char *why)
{
	if (t > now + POLICY_CLOCK_AHEAD) {
		snprintf(why, TBS_WHY_MAX, "clock: %s is ahead of the signer's clock", what);
		return HSMCA_ERR_EARLY; /* not for good: after a clock step back, the same TBS signs a little later */
	}
	if (t < now - back)
		return REFUSE("clock: %s is more than %lld hours before the signer's clock", what, (long long)back / 3600);
	return 0;
}

int policy_check_cert_clock(const struct tbs_cert *t, time_t now, char *why)
{
	return pol_clock(t->not_before, now, POLICY_CERT_BACKDATE, "notBefore", why);
}

int policy_check_crl_clock(const struct tbs_crl *t, time_t now, char *why)
{
	return pol_clock(t->this_update, now, POLICY_STATUS_BACKDATE, "thisUpdate", why);
}

int policy_check_ocsp_clock(const struct tbs_ocsp *t, const struct policy_profile *p, time_t now, char *why)
{
	int rc;
	if ((rc = pol_clock(t->produced_at, now, POLICY_STATUS_BACKDATE, "producedAt", why)) ||
	    (rc = pol_clock(t->this_update_min, now, POLICY_STATUS_BACKDATE, "thisUpdate", why)) ||
	    (rc = pol_clock(t->this_update_max, now, POLICY_STATUS_BACKDATE, "thisUpdate", why)))
		return rc;
	if (t->next_update_missing)
		return REFUSE("validity: nextUpdate missing (a response without it would never go stale)");
	if (t->next_update_not_after || t->longest_validity > (uint64_t)p->max_ocsp_days * DAY)
		return REFUSE("validity: nextUpdate not after thisUpdate or beyond %u days", p->max_ocsp_days);
	return 0;
}
