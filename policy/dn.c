/* Directory names written as text in configs, and the directoryName rule of pinned name constraints.
 * Both the frontend (its CA profiles' dn_prefix) and the signer (its keys' ca_permitted_dn) encode the text
 * with this one function, so a CA certificate the frontend builds carries the same bytes the signer pins. */
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>

#include "der.h"
#include "policy.h"

#define DN_WHY(...) (snprintf(why, POLICY_DN_WHY_MAX, __VA_ARGS__), HSMCA_ERR_PARSE)

static const struct {
	const char *name;
	int nid;
} DN_TYPES[] = {
	{ "C", NID_countryName },	 { "ST", NID_stateOrProvinceName }, { "L", NID_localityName },
	{ "O", NID_organizationName },	 { "OU", NID_organizationalUnitName }, { "CN", NID_commonName },
	{ "DC", NID_domainComponent },
};

static int dn_type(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof(DN_TYPES) / sizeof(DN_TYPES[0]); i++)
		if (strlen(DN_TYPES[i].name) == n && !memcmp(DN_TYPES[i].name, s, n))
			return DN_TYPES[i].nid;
	return NID_undef;
}

/* A value: 1..POLICY_DN_VALUE_MAX printable ASCII characters but '/', '\\' and '"', no space at either end
 * and no two in a row (verifiers compare names with spaces folded); C two upper-case letters; DC a label. */
static bool dn_value_ok(int nid, const char *v, size_t n)
{
	if (n == 0 || n > POLICY_DN_VALUE_MAX || v[0] == ' ' || v[n - 1] == ' ')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (nid == NID_countryName && !(n == 2 && c >= 'A' && c <= 'Z'))
			return false;
		if (nid == NID_domainComponent && !alnum && c != '-')
			return false;
		if (c < 0x20 || c > 0x7e || c == '/' || c == '\\' || c == '"' || (c == ' ' && v[i + 1] == ' '))
			return false;
	}
	return true;
}

int policy_dn_parse(const char *text, uint8_t *out, size_t cap, size_t *len, char *why)
{
	X509_NAME *name = X509_NAME_new();
	unsigned char *p = out;
	int rc = HSMCA_ERR_PARSE, der_len;
	const char *s = text;
	*len = 0;
	if (!name) {
		snprintf(why, POLICY_DN_WHY_MAX, "out of memory");
		rc = HSMCA_ERR_NOMEM;
		goto out;
	}
	if (s[0] != '/') {
		rc = DN_WHY("a directory name is written /TYPE=VALUE/..., e.g. /C=US/O=Example");
		goto out;
	}
	while (*s == '/') {
		const char *t = s + 1, *eq = strchr(t, '='), *end = strchr(t, '/');
		if (!end)
			end = t + strlen(t);
		if (!eq || eq > end) {
			rc = DN_WHY("\"%.*s\" is not TYPE=VALUE", (int)(end - t), t);
			goto out;
		}
		int nid = dn_type(t, (size_t)(eq - t));
		if (nid == NID_undef) {
			rc = DN_WHY("unknown attribute type \"%.*s\" (C, ST, L, O, OU, CN or DC)", (int)(eq - t), t);
			goto out;
		}
		if (!dn_value_ok(nid, eq + 1, (size_t)(end - eq - 1))) {
			rc = DN_WHY("bad value for %.*s: 1-%d printable characters but / \\ \" (C: two upper-case "
				    "letters; DC: letters, digits, '-'), no space at either end or two in a row",
				    (int)(eq - t), t, POLICY_DN_VALUE_MAX);
			goto out;
		}
		if (X509_NAME_entry_count(name) >= POLICY_DN_RDNS_MAX) {
			rc = DN_WHY("more than %d attributes", POLICY_DN_RDNS_MAX);
			goto out;
		}
		if (!X509_NAME_add_entry_by_NID(name, nid, MBSTRING_ASC, (const unsigned char *)eq + 1,
						(int)(end - eq - 1), -1, 0)) {
			rc = DN_WHY("OpenSSL refused the value of %.*s", (int)(eq - t), t);
			goto out;
		}
		s = end;
	}
	der_len = i2d_X509_NAME(name, NULL);
	if (der_len <= 0 || (size_t)der_len > cap) {
		rc = DN_WHY("longer than %zu bytes encoded", cap);
		goto out;
	}
	if (i2d_X509_NAME(name, &p) != der_len) {
		rc = DN_WHY("could not be encoded");
		goto out;
	}
	*len = (size_t)der_len;
	rc = 0;
out:
	X509_NAME_free(name);
	if (rc)
		ERR_clear_error(); /* the reason is in why; leave no stale OpenSSL errors for the caller's next check */
	return rc;
}

/* A Name: SEQUENCE OF RelativeDistinguishedName (SET OF AttributeTypeAndValue), each ATAV an OID and one
 * value, nothing after; rdns gets the RDNs' bytes. */
static bool dn_well_formed(struct span name, struct span *rdns)
{
	struct span all, rdn, atav, oid, value;
	uint8_t tag;
	if (!der_get(&name, &all, DER_SEQUENCE) || span_len(&name) != 0)
		return false;
	*rdns = all;
	while (span_len(&all) > 0) {
		if (!der_get(&all, &rdn, DER_SET) || span_len(&rdn) == 0)
			return false;
		while (span_len(&rdn) > 0)
			if (!der_get(&rdn, &atav, DER_SEQUENCE) || !der_get_oid(&atav, &oid) ||
			    !der_get_any(&atav, &tag, &value, NULL) || span_len(&atav) != 0)
				return false;
	}
	return true;
}

bool policy_dn_well_formed(struct span name)
{
	struct span rdns;
	return dn_well_formed(name, &rdns);
}

bool policy_dn_within(struct span name, const uint8_t *pin, size_t pin_len)
{
	struct span rdns, pin_rdns, p = span_make(pin, pin_len);
	if (!dn_well_formed(name, &rdns) || !dn_well_formed(p, &pin_rdns) || span_len(&pin_rdns) == 0)
		return false;
	/* both are sequences of whole RDNs, so a byte prefix is a prefix of RDNs: the name's first RDNs are the
	 * pin's, encoded alike */
	return rdns.len >= pin_rdns.len && memcmp(rdns.data, pin_rdns.data, pin_rdns.len) == 0;
}
