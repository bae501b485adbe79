#include <stdio.h>
#include <string.h>

#include "tbs.h"

#define WHY(...) (snprintf(why, TBS_WHY_MAX, __VA_ARGS__), false)

static const uint8_t tbs_oid_ocsp_nonce[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02 };

/* The nonce's value (RFC 8954): one OCTET STRING of 1 to 32 bytes, nothing after it. */
static bool tbs_ocsp_nonce_ok(struct span v)
{
	struct span n;
	return der_get(&v, &n, DER_OCTET_STRING) && span_len(&v) == 0 && n.len >= 1 && n.len <= 32;
}

/* Extensions ([1] EXPLICIT in both places), none critical (a client that meets an unknown critical one must
 * reject the whole response): in responseExtensions the nonce alone, well formed; no singleExtensions at all.
 * Those are all hsmca writes: anything else a frontend put there would be signed as the CA's word. */
static bool tbs_ocsp_exts(struct span *in, uint8_t tag, bool single, char *why)
{
	struct span wrap, exts;
	struct tbs_ext ext[TBS_MAX_EXT];
	size_t n;
	bool present;
	if (!der_get_optional(in, &wrap, &present, tag))
		return false;
	if (!present)
		return true;
	if (!der_get(&wrap, &exts, DER_SEQUENCE) || span_len(&wrap) != 0 || !tbs_exts_parse(exts, ext, &n, why))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (ext[i].critical)
			return WHY("a critical extension in an OCSP response");
		if (single)
			return WHY("singleExtensions in an OCSP response (hsmca writes none)");
		if (ext[i].oid.len != sizeof(tbs_oid_ocsp_nonce) ||
		    memcmp(ext[i].oid.data, tbs_oid_ocsp_nonce, sizeof(tbs_oid_ocsp_nonce)) != 0)
			return WHY("an OCSP response extension other than the nonce");
		if (!tbs_ocsp_nonce_ok(ext[i].value))
			return WHY("an OCSP nonce that is not one OCTET STRING of 1 to 32 bytes");
	}
	return true;
}

/* CertID.hashAlgorithm: SHA-1, with NULL or absent parameters */
static bool tbs_ocsp_sha1(const struct span *alg)
{
	static const uint8_t sha1_null[] = { 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00 };
	size_t n = alg->len;
	return (n == sizeof(sha1_null) || n == sizeof(sha1_null) - 2) && memcmp(alg->data, sha1_null, n) == 0;
}

/* SingleResponse; *ikh and *inh get the CertID's issuerKeyHash and issuerNameHash, *this_update and
 * *next_update (0: absent) its times */
static bool tbs_ocsp_single_parse(struct span *list, struct span *ikh, struct span *inh, time_t *this_update,
				  time_t *next_update, char *why)
{
	struct span sr, certid, alg, serial, status, wrap;
	uint8_t tag;
	time_t t;
	bool present;
	if (!der_get(list, &sr, DER_SEQUENCE) || !der_get(&sr, &certid, DER_SEQUENCE) ||
	    !der_get(&certid, &alg, DER_SEQUENCE) || !der_get(&certid, inh, DER_OCTET_STRING) ||
	    !der_get(&certid, ikh, DER_OCTET_STRING) || !der_get_integer(&certid, &serial) || span_len(&certid) != 0)
		return false;
	if (!tbs_ocsp_sha1(&alg) || inh->len != 20 || ikh->len != 20)
		return WHY("a CertID that is not SHA-1");
	if (!der_get_any(&sr, &tag, &status, NULL))
		return false;
	if (tag == (DER_CONTEXT | 0) || tag == (DER_CONTEXT | 2)) { /* good / unknown: IMPLICIT NULL */
		if (status.len != 0)
			return false;
	} else if (tag == (DER_CONTEXT | DER_CONSTRUCTED | 1)) { /* revoked */
		if (!der_get_gentime(&status, &t))
			return false;
		if (span_len(&status) > 0) {
			struct span reason, r;
			/* CRLReason as a CRL entry's (tbs_crl.c): 7 is unassigned, removeFromCRL (8) only un-revokes
			 * in a delta CRL */
			if (!der_get(&status, &reason, DER_CONTEXT | DER_CONSTRUCTED | 0) ||
			    !der_get(&reason, &r, DER_ENUMERATED) || span_len(&reason) != 0 || r.len != 1 ||
			    r.data[0] > CRL_REASON_MAX || r.data[0] == 7 || r.data[0] == CRL_REASON_REMOVE)
				return WHY("a revoked status whose CRLReason is unassigned (7), removeFromCRL (8) or past 10");
		}
		if (span_len(&status) != 0)
			return false;
	} else {
		return false;
	}
	if (!der_get_gentime(&sr, this_update))
		return false;
	*next_update = 0;
	if (!der_get_optional(&sr, &wrap, &present, DER_CONTEXT | DER_CONSTRUCTED | 0))
		return false;
	if (present && (!der_get_gentime(&wrap, next_update) || span_len(&wrap) != 0))
		return false;
	if (!tbs_ocsp_exts(&sr, DER_CONTEXT | DER_CONSTRUCTED | 1, true, why))
		return false;
	return span_len(&sr) == 0;
}

bool tbs_ocsp_parse(struct span in, struct tbs_ocsp *out, char *why)
{
	struct span rd, rid, list;
	uint8_t tag;
	memset(out, 0, sizeof(*out));
	if (!der_get(&in, &rd, DER_SEQUENCE) || span_len(&in) != 0)
		return WHY("not a single DER SEQUENCE");
	if (der_peek(&rd, DER_CONTEXT | DER_CONSTRUCTED | 0))
		return WHY("version must be absent (v1 DEFAULT)");
	if (!der_get_any(&rd, &tag, &rid, NULL))
		return WHY("malformed responderID");
	if (tag == (DER_CONTEXT | DER_CONSTRUCTED | 1)) {
		if (!der_get_element(&rid, &out->responder, DER_SEQUENCE) || span_len(&rid) != 0)
			return WHY("malformed responderID byName");
	} else if (tag == (DER_CONTEXT | DER_CONSTRUCTED | 2)) {
		out->by_key = true;
		if (!der_get(&rid, &out->responder, DER_OCTET_STRING) || span_len(&rid) != 0 || out->responder.len != 20)
			return WHY("malformed responderID byKey");
	} else {
		return WHY("malformed responderID");
	}
	if (!der_get_gentime(&rd, &out->produced_at))
		return WHY("malformed producedAt");
	if (!der_get(&rd, &list, DER_SEQUENCE) || span_len(&list) == 0)
		return WHY("responses missing");
	while (span_len(&list) > 0) {
		struct span ikh, inh;
		time_t tu, nu;
		why[0] = 0;
		if (!tbs_ocsp_single_parse(&list, &ikh, &inh, &tu, &nu, why)) {
			if (why[0]) /* a reason of its own: keep it */
				return false;
			return WHY("malformed SingleResponse %zu", out->n_responses);
		}
		if (out->n_responses > 0 &&
		    (!span_equal(&ikh, &out->issuer_key_hash) || !span_equal(&inh, &out->issuer_name_hash)))
			return WHY("responses for more than one issuer");
		out->issuer_key_hash = ikh;
		out->issuer_name_hash = inh;
		if (out->n_responses == 0 || tu < out->this_update_min)
			out->this_update_min = tu;
		if (out->n_responses == 0 || tu > out->this_update_max)
			out->this_update_max = tu;
		if (nu == 0)
			out->next_update_missing = true;
		else if (nu <= tu)
			out->next_update_not_after = true;
		else if ((uint64_t)(nu - tu) > out->longest_validity)
			out->longest_validity = (uint64_t)(nu - tu);
		out->n_responses++;
	}
	why[0] = 0;
	if (!tbs_ocsp_exts(&rd, DER_CONTEXT | DER_CONSTRUCTED | 1, false, why))
		return why[0] ? false : WHY("malformed responseExtensions");
	if (span_len(&rd) != 0)
		return WHY("trailing bytes in ResponseData");
	return true;
}
