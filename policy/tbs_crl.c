#include <stdio.h>
#include <string.h>

#include "tbs.h"

#define TBS_CRL_SERIAL_MAX_OCTETS 20 /* as a certificate's (policy.h POLICY_SERIAL_MAX_OCTETS) */

#define WHY(...) (snprintf(why, TBS_WHY_MAX, __VA_ARGS__), false)

static const uint8_t OID_CRL_REASON[3] = { 0x55, 0x1d, 0x15 };     /* 2.5.29.21 reasonCode */
static const uint8_t OID_INVALIDITY_DATE[3] = { 0x55, 0x1d, 0x18 }; /* 2.5.29.24 invalidityDate */

/* NULL if the entry's extensions are ones hsmca may write: reasonCode (a reason other than removeFromCRL)
 * and invalidityDate, neither critical; else what is wrong. A certificateIssuer (an indirect CRL's entry
 * about another CA's certificate) is among the refused. */
static const char *tbs_crl_entry_refusal(const struct tbs_ext *ext, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ext[i].critical)
			return "a critical entry extension";
		if (span_len(&ext[i].oid) == sizeof(OID_INVALIDITY_DATE) &&
		    memcmp(ext[i].oid.data, OID_INVALIDITY_DATE, sizeof(OID_INVALIDITY_DATE)) == 0) {
			struct span v = ext[i].value;
			time_t t;
			if (!der_get_gentime(&v, &t) || span_len(&v) != 0) /* GeneralizedTime, RFC 5280 5.3.2 */
				return "a malformed invalidityDate";
			continue;
		}
		if (span_len(&ext[i].oid) != sizeof(OID_CRL_REASON) ||
		    memcmp(ext[i].oid.data, OID_CRL_REASON, sizeof(OID_CRL_REASON)) != 0)
			return "an entry extension other than reasonCode and invalidityDate";
		const uint8_t *v = ext[i].value.data;
		if (span_len(&ext[i].value) != 3 || v[0] != DER_ENUMERATED || v[1] != 1 || v[2] > CRL_REASON_MAX || v[2] == 7)
			return "a malformed or unassigned reasonCode";
		if (v[2] == CRL_REASON_REMOVE)
			return "reasonCode removeFromCRL (delta CRLs only, where it un-revokes)";
	}
	return NULL;
}

static bool tbs_crl_entry_parse(struct span *list, const char **refused)
{
	struct span e, serial, exts;
	time_t when;
	struct tbs_ext ext[TBS_MAX_EXT];
	size_t n = 0;
	char why[TBS_WHY_MAX];
	if (!der_get(list, &e, DER_SEQUENCE) || !der_get_integer(&e, &serial) || !der_get_time(&e, &when))
		return false;
	if (span_len(&e) > 0 && (!der_get(&e, &exts, DER_SEQUENCE) || !tbs_exts_parse(exts, ext, &n, why)))
		return false;
	*refused = tbs_crl_entry_refusal(ext, n);
	/* a serial no certificate may have (RFC 5280 4.1.2.2: positive, at most 20 octets): strict clients refuse
	 * the whole CRL for one such entry */
	if (!*refused && ((serial.data[0] & 0x80) || (serial.len == 1 && serial.data[0] == 0) ||
			  serial.len > TBS_CRL_SERIAL_MAX_OCTETS))
		*refused = "a serial that is not positive or longer than 20 octets";
	return span_len(&e) == 0;
}

bool tbs_crl_parse(struct span in, struct tbs_crl *out, char *why)
{
	struct span tbs, list, wrap, exts;
	uint64_t version;
	bool present;
	const struct tbs_ext *e;
	memset(out, 0, sizeof(*out));
	if (!der_get(&in, &tbs, DER_SEQUENCE) || span_len(&in) != 0)
		return WHY("not a single DER SEQUENCE");
	if (!der_get_uint(&tbs, &version) || version != 1)
		return WHY("version is not v2");
	if (!der_get_element(&tbs, &out->sigalg, DER_SEQUENCE) || !der_get_element(&tbs, &out->issuer, DER_SEQUENCE))
		return WHY("malformed signature algorithm or issuer");
	if (!der_get_time(&tbs, &out->this_update) || !der_get_time(&tbs, &out->next_update))
		return WHY("malformed thisUpdate/nextUpdate (nextUpdate required)");
	if (!der_get_optional(&tbs, &list, &present, DER_SEQUENCE))
		return WHY("malformed revokedCertificates");
	if (present) {
		if (span_len(&list) == 0)
			return WHY("empty revokedCertificates must be absent");
		while (span_len(&list) > 0) {
			const char *refused = NULL;
			if (!tbs_crl_entry_parse(&list, &refused))
				return WHY("malformed revoked entry %zu", out->n_revoked);
			if (refused && !out->entry_refused) {
				out->entry_refused = refused;
				out->entry_refused_at = out->n_revoked;
			}
			out->n_revoked++;
		}
	}
	if (!der_get(&tbs, &wrap, DER_CONTEXT | DER_CONSTRUCTED | 0) || !der_get(&wrap, &exts, DER_SEQUENCE) ||
	    span_len(&wrap) != 0)
		return WHY("crlExtensions missing or malformed");
	if (span_len(&tbs) != 0)
		return WHY("trailing bytes in TBSCertList");
	if (!tbs_exts_parse(exts, out->ext, &out->n_ext, why))
		return false;
	if ((e = tbs_ext_find(out->ext, out->n_ext, OID_AKI, sizeof(OID_AKI)))) {
		out->has_aki = true;
		if (!tbs_aki_parse(e->value, &out->aki_keyid))
			return WHY("malformed authorityKeyIdentifier");
	}
	if ((e = tbs_ext_find(out->ext, out->n_ext, OID_CRL_NUMBER, sizeof(OID_CRL_NUMBER)))) {
		struct span v = e->value, num;
		if (!der_get_integer(&v, &num) || span_len(&v) != 0 || (num.data[0] & 0x80) || num.len > 20)
			return WHY("malformed cRLNumber");
		out->has_number = true;
	}
	return true;
}
