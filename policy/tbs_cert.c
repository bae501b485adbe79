#include <stdio.h>
#include <string.h>

#include "tbs.h"

#define WHY(...) (snprintf(why, TBS_WHY_MAX, __VA_ARGS__), false)

static bool tbs_bc_parse(struct span v, struct tbs_cert *out)
{
	struct span seq;
	if (!der_get(&v, &seq, DER_SEQUENCE) || span_len(&v) != 0)
		return false;
	out->ca = false;
	if (der_peek(&seq, DER_BOOLEAN) && (!der_get_bool(&seq, &out->ca) || !out->ca))
		return false; /* cA DEFAULT FALSE must not be encoded */
	if (span_len(&seq) > 0) {
		if (!der_get_uint(&seq, &out->pathlen))
			return false;
		out->has_pathlen = true;
	}
	return span_len(&seq) == 0;
}

static bool tbs_ku_parse(struct span v, uint16_t *out)
{
	struct span c;
	if (!der_get(&v, &c, DER_BIT_STRING) || span_len(&v) != 0 || c.len < 2 || c.len > 3 || c.data[0] > 7)
		return false;
	uint8_t unused = c.data[0], last = c.data[c.len - 1];
	if (last == 0 || (last & ((1u << unused) - 1)) != 0)
		return false; /* DER: no trailing zero bytes or bits */
	if (!(last & (1u << unused)))
		return false;
	uint16_t ku = 0;
	for (size_t i = 0; i < (c.len - 1) * 8 && i < 9; i++)
		if (c.data[1 + i / 8] & (0x80 >> (i % 8)))
			ku |= (uint16_t)(1u << i);
	if (c.len == 3 && (c.data[2] & 0x7f))
		return false; /* bits past decipherOnly */
	*out = ku;
	return ku != 0;
}

static bool tbs_eku_parse(struct span v, struct tbs_cert *out)
{
	struct span seq;
	if (!der_get(&v, &seq, DER_SEQUENCE) || span_len(&v) != 0 || span_len(&seq) == 0)
		return false;
	while (span_len(&seq) > 0) {
		if (out->n_eku >= TBS_MAX_EKU || !der_get_oid(&seq, &out->eku[out->n_eku]))
			return false;
		out->n_eku++;
	}
	return true;
}

static bool tbs_cert_known_exts(struct tbs_cert *out, char *why)
{
	const struct tbs_ext *e;
	if ((e = tbs_ext_find(out->ext, out->n_ext, OID_BC, sizeof(OID_BC)))) {
		out->has_bc = true;
		if (!tbs_bc_parse(e->value, out))
			return WHY("malformed basicConstraints");
		if (out->has_pathlen && !out->ca)
			return WHY("pathLenConstraint without cA");
	}
	if ((e = tbs_ext_find(out->ext, out->n_ext, OID_KU, sizeof(OID_KU)))) {
		out->has_ku = true;
		if (!tbs_ku_parse(e->value, &out->ku))
			return WHY("malformed keyUsage");
	}
	if ((e = tbs_ext_find(out->ext, out->n_ext, OID_EKU, sizeof(OID_EKU))) && !tbs_eku_parse(e->value, out))
		return WHY("malformed extKeyUsage");
	if ((e = tbs_ext_find(out->ext, out->n_ext, OID_AKI, sizeof(OID_AKI)))) {
		out->has_aki = true;
		if (e->critical || !tbs_aki_parse(e->value, &out->aki_keyid))
			return WHY("malformed or critical authorityKeyIdentifier");
	}
	if ((e = tbs_ext_find(out->ext, out->n_ext, OID_SKI, sizeof(OID_SKI)))) {
		struct span v = e->value;
		out->has_ski = true;
		if (e->critical || !der_get(&v, &out->ski, DER_OCTET_STRING) || span_len(&v) || out->ski.len == 0)
			return WHY("malformed or critical subjectKeyIdentifier");
	}
	return true;
}

bool tbs_cert_parse(struct span in, struct tbs_cert *out, char *why)
{
	struct span tbs, ver, vc, validity, exts_wrap, exts;
	uint64_t version;
	memset(out, 0, sizeof(*out));
	if (!der_get(&in, &tbs, DER_SEQUENCE) || span_len(&in) != 0)
		return WHY("not a single DER SEQUENCE");
	if (!der_get(&tbs, &ver, DER_CONTEXT | DER_CONSTRUCTED | 0))
		return WHY("version missing (v3 required)");
	vc = ver;
	if (!der_get_uint(&vc, &version) || span_len(&vc) != 0 || version != 2)
		return WHY("version is not v3");
	if (!der_get_integer(&tbs, &out->serial))
		return WHY("malformed serialNumber");
	if (!der_get_element(&tbs, &out->sigalg, DER_SEQUENCE))
		return WHY("malformed signature algorithm");
	if (!der_get_element(&tbs, &out->issuer, DER_SEQUENCE))
		return WHY("malformed issuer");
	if (!der_get(&tbs, &validity, DER_SEQUENCE) || !der_get_time(&validity, &out->not_before) ||
	    !der_get_time(&validity, &out->not_after) || span_len(&validity) != 0)
		return WHY("malformed validity");
	if (!der_get_element(&tbs, &out->subject, DER_SEQUENCE))
		return WHY("malformed subject");
	if (!der_get_element(&tbs, &out->spki, DER_SEQUENCE))
		return WHY("malformed subjectPublicKeyInfo");
	if (der_peek(&tbs, DER_CONTEXT | 1) || der_peek(&tbs, DER_CONTEXT | 2))
		return WHY("unique identifiers are not allowed");
	if (!der_get(&tbs, &exts_wrap, DER_CONTEXT | DER_CONSTRUCTED | 3))
		return WHY("extensions missing");
	if (!der_get(&exts_wrap, &exts, DER_SEQUENCE) || span_len(&exts_wrap) != 0)
		return WHY("malformed extensions");
	if (span_len(&tbs) != 0)
		return WHY("trailing bytes in TBSCertificate");
	if (!tbs_exts_parse(exts, out->ext, &out->n_ext, why))
		return false;
	return tbs_cert_known_exts(out, why);
}
