#include <stdio.h>
#include <string.h>

#include "tbs.h"

const uint8_t OID_BC[3] = { 0x55, 0x1d, 0x13 };
const uint8_t OID_KU[3] = { 0x55, 0x1d, 0x0f };
const uint8_t OID_EKU[3] = { 0x55, 0x1d, 0x25 };
const uint8_t OID_SKI[3] = { 0x55, 0x1d, 0x0e };
const uint8_t OID_AKI[3] = { 0x55, 0x1d, 0x23 };
const uint8_t OID_SAN[3] = { 0x55, 0x1d, 0x11 };
const uint8_t OID_NC[3] = { 0x55, 0x1d, 0x1e };
const uint8_t OID_CP[3] = { 0x55, 0x1d, 0x20 };
const uint8_t OID_CRLDP[3] = { 0x55, 0x1d, 0x1f };
const uint8_t OID_CRL_NUMBER[3] = { 0x55, 0x1d, 0x14 };
const uint8_t OID_PC[3] = { 0x55, 0x1d, 0x24 };
const uint8_t OID_AIA[8] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x01 };
const uint8_t OID_ANY_EKU[4] = { 0x55, 0x1d, 0x25, 0x00 };

#define WHY(...) (snprintf(why, TBS_WHY_MAX, __VA_ARGS__), false)

bool tbs_exts_parse(struct span seq, struct tbs_ext *ext, size_t *n_ext, char *why)
{
	size_t n = 0;
	if (span_len(&seq) == 0)
		return WHY("empty extensions");
	while (span_len(&seq) > 0) {
		struct span e, oid, val;
		bool crit = false;
		if (n >= TBS_MAX_EXT)
			return WHY("more than %d extensions", TBS_MAX_EXT);
		if (!der_get(&seq, &e, DER_SEQUENCE) || !der_get_oid(&e, &oid))
			return WHY("malformed extension (or its OID not in DER)");
		if (der_peek(&e, DER_BOOLEAN)) {
			if (!der_get_bool(&e, &crit) || !crit)
				return WHY("malformed extension criticality (DEFAULT FALSE must be absent)");
		}
		if (!der_get(&e, &val, DER_OCTET_STRING) || span_len(&e) != 0)
			return WHY("malformed extension value");
		for (size_t i = 0; i < n; i++)
			if (span_equal(&ext[i].oid, &oid))
				return WHY("duplicate extension");
		ext[n].oid = oid;
		ext[n].critical = crit;
		ext[n].value = val;
		n++;
	}
	*n_ext = n;
	return true;
}

const struct tbs_ext *tbs_ext_find(const struct tbs_ext *ext, size_t n, const uint8_t *oid, size_t oid_len)
{
	struct span o = span_make(oid, oid_len);
	for (size_t i = 0; i < n; i++)
		if (span_equal(&ext[i].oid, &o))
			return &ext[i];
	return NULL;
}

bool tbs_aki_parse(struct span value, struct span *keyid)
{
	struct span seq;
	if (!der_get(&value, &seq, DER_SEQUENCE) || span_len(&value) != 0 ||
	    !der_get(&seq, keyid, DER_CONTEXT | 0) || keyid->len == 0)
		return false;
	/* the keyIdentifier alone, as hsmca writes it: authorityCertIssuer [1] and authorityCertSerialNumber [2],
	 * which nothing here checks, would make verifiers match the issuer by them (OpenSSL's X509_check_akid):
	 * a certificate or CRL that no path or CRL check takes, signed */
	return span_len(&seq) == 0;
}

static bool tbs_subtrees(struct span seq, struct tbs_subtree *out, size_t *n, char *why)
{
	*n = 0;
	if (span_len(&seq) == 0)
		return WHY("nameConstraints: empty GeneralSubtrees");
	while (span_len(&seq) > 0) {
		struct span sub;
		if (*n >= TBS_MAX_SUBTREES)
			return WHY("nameConstraints: more than %d subtrees", TBS_MAX_SUBTREES);
		if (!der_get(&seq, &sub, DER_SEQUENCE) || !der_get_any(&sub, &out[*n].tag, &out[*n].value, NULL) ||
		    (out[*n].tag & 0xc0) != DER_CONTEXT)
			return WHY("nameConstraints: malformed GeneralSubtree");
		if (span_len(&sub) != 0)
			return WHY("nameConstraints: a subtree with minimum or maximum");
		(*n)++;
	}
	return true;
}

bool tbs_nc_parse(struct span value, struct tbs_nc *out, char *why)
{
	struct span seq, part;
	memset(out, 0, sizeof(*out));
	if (!der_get(&value, &seq, DER_SEQUENCE) || span_len(&value) != 0)
		return WHY("nameConstraints: malformed");
	for (uint8_t n = 0; n < 2; n++) { /* permittedSubtrees [0], excludedSubtrees [1], each optional */
		uint8_t tag = DER_CONTEXT | DER_CONSTRUCTED | n;
		if (!der_peek(&seq, tag))
			continue;
		if (!der_get(&seq, &part, tag))
			return WHY("nameConstraints: malformed %s", n ? "excludedSubtrees" : "permittedSubtrees");
		if (!tbs_subtrees(part, n ? out->excluded : out->permitted, n ? &out->n_excluded : &out->n_permitted, why))
			return false;
	}
	if (span_len(&seq) != 0)
		return WHY("nameConstraints: trailing bytes");
	if (out->n_permitted + out->n_excluded == 0)
		return WHY("nameConstraints: empty");
	return true;
}
