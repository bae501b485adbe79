/* The CRL distribution point and the OCSP responder a certificate names: the one encoding hsmca writes for each
 * (the frontend's TBS, tbsbuild.c) and the signer's pin on them (policy_profile.crl_url, ocsp_url). A frontend
 * that was taken over cannot have the HSM vouch for revocation URLs of its choosing, which soft-fail clients
 * would then ask (and, not reaching them, trust the certificate). */
#include <stdio.h>
#include <string.h>

#include "policy.h"

#define REFUSE(...) (snprintf(why, TBS_WHY_MAX, __VA_ARGS__), HSMCA_ERR_POLICY)

enum { PU_GN_URI = 6 };
static const uint8_t pu_oid_ocsp[] = { 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01 }; /* id-ad-ocsp */

bool policy_url_ok(const char *url)
{
	size_t skip = !strncmp(url, "http://", 7) ? 7 : !strncmp(url, "https://", 8) ? 8 : 0;
	if (skip == 0 || url[skip] == 0 || strlen(url) >= POLICY_URL_MAX)
		return false;
	for (const char *c = url; *c; c++)
		if (*c <= ' ' || *c > '~')
			return false;
	return true;
}

void policy_cdp_value(struct dbuf *b, const char *url)
{
	/* CRLDistributionPoints ::= SEQUENCE { DistributionPoint { [0] { fullName [0] { URI } } } } */
	size_t seq = dbuf_open(b, DER_SEQUENCE), dp = dbuf_open(b, DER_SEQUENCE);
	size_t name = dbuf_open(b, DER_CONTEXT | DER_CONSTRUCTED | 0), full = dbuf_open(b, DER_CONTEXT | DER_CONSTRUCTED | 0);
	dbuf_add_tlv(b, DER_CONTEXT | PU_GN_URI, url, strlen(url));
	dbuf_close(b, full);
	dbuf_close(b, name);
	dbuf_close(b, dp);
	dbuf_close(b, seq);
}

void policy_aia_value(struct dbuf *b, const char *url)
{
	/* AuthorityInfoAccess ::= SEQUENCE { AccessDescription { id-ad-ocsp, URI } } */
	size_t seq = dbuf_open(b, DER_SEQUENCE), ad = dbuf_open(b, DER_SEQUENCE);
	dbuf_add_tlv(b, DER_OID, pu_oid_ocsp, sizeof(pu_oid_ocsp));
	dbuf_add_tlv(b, DER_CONTEXT | PU_GN_URI, url, strlen(url));
	dbuf_close(b, ad);
	dbuf_close(b, seq);
}

int policy_check_urls(const struct tbs_cert *t, const struct policy_profile *p, char *why)
{
	static const struct {
		const uint8_t *oid;
		size_t oid_len;
		const char *name, *key;
	} kinds[2] = { { OID_CRLDP, sizeof(OID_CRLDP), "cRLDistributionPoints", "crl_url" },
		       { OID_AIA, sizeof(OID_AIA), "authorityInfoAccess", "ocsp_url" } };
	const char *urls[2] = { p->crl_url, p->ocsp_url };
	for (int k = 0; k < 2; k++) {
		if (!urls[k][0])
			continue;
		const struct tbs_ext *e = NULL;
		for (size_t i = 0; i < t->n_ext && !e; i++)
			if (t->ext[i].oid.len == kinds[k].oid_len && !memcmp(t->ext[i].oid.data, kinds[k].oid, kinds[k].oid_len))
				e = &t->ext[i];
		if (!e)
			return REFUSE("urls: no %s, and this key pins %s %s", kinds[k].name, kinds[k].key, urls[k]);
		struct dbuf want;
		dbuf_init(&want);
		(k == 0 ? policy_cdp_value : policy_aia_value)(&want, urls[k]);
		bool same = !want.failed && e->critical == false && want.len == e->value.len &&
			    !memcmp(want.data, e->value.data, want.len);
		dbuf_free(&want);
		if (!same)
			return REFUSE("urls: the %s is not this key's %s %s alone", kinds[k].name, kinds[k].key, urls[k]);
	}
	return 0;
}
