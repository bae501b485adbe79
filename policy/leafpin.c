/* The leaf pin of a signer key (leaf_permitted): the names a certificate it signs may carry, so that a
 * compromised frontend cannot have a certificate signed for a name outside what the key's operators pinned,
 * whatever its profiles say. A CA certificate is held to it too: its nameConstraints do not bound its own
 * names, and OpenSSL and Go accept a CA certificate as a TLS server's. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "der.h"
#include "policy.h"

#define REFUSE(...) (snprintf(why, TBS_WHY_MAX, __VA_ARGS__), HSMCA_ERR_POLICY)
#define LEAF_CN_MAX 64 /* ub-common-name */

static const uint8_t leaf_oid_cn[] = { 0x55, 0x04, 0x03 };

static bool leaf_lower_eq(const uint8_t *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = a[i] >= 'A' && a[i] <= 'Z' ? (uint8_t)(a[i] - 'A' + 'a') : a[i];
		if (c != (uint8_t)b[i]) /* pins are lowercase (signer/config.c) */
			return false;
	}
	return true;
}

/* name[0..n): labels of letters, digits and '-' joined by single dots, the first label "*" at most (a
 * wildcard), within a pinned DNS entry: ".d" the names below d, "d" d and the names below it. */
static bool leaf_dns_within(const uint8_t *name, size_t n, const struct policy_profile *p)
{
	size_t label = 0;
	if (n == 0 || name[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = name[i];
		if (c == '.') {
			if (label == 0)
				return false; /* an empty label */
			label = 0;
			continue;
		}
		if (c == '*' ? i != 0 || n < 2 || name[1] != '.'
			     : !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
		label++;
	}
	for (size_t k = 0; k < p->n_leaf_dns; k++) {
		const char *e = p->leaf_dns[k];
		bool below_only = e[0] == '.';
		const char *d = e + below_only;
		size_t dl = strlen(d);
		if (n > dl && name[n - dl - 1] == '.' && leaf_lower_eq(name + n - dl, d, dl))
			return true;
		if (!below_only && n == dl && leaf_lower_eq(name, d, dl))
			return true;
	}
	return false;
}

/* within a pinned range, and not IPv4-mapped (::ffff:a.b.c.d, which Go takes for a.b.c.d whatever the IPv4
 * ranges say) */
bool policy_dns_within(const char *s, const char *pin)
{
	bool s_below = s[0] == '.', pin_below = pin[0] == '.';
	const char *d = s + s_below, *x = pin + pin_below;
	size_t dl = strlen(d), xl = strlen(x);
	if (dl > xl && d[dl - xl - 1] == '.' && !strcmp(d + dl - xl, x))
		return true; /* d strictly below x */
	/* d is x: only a pin that holds x itself holds more than the names below it */
	return dl == xl && !strcmp(d, x) && (s_below || !pin_below);
}

bool policy_range_within(bool v6, const uint8_t addr[16], unsigned prefix, const struct policy_iprange *r)
{
	bool ok = v6 == r->v6 && prefix >= r->prefix;
	for (unsigned b = 0; ok && b < r->prefix; b++) {
		uint8_t m = (uint8_t)(0x80 >> (b % 8));
		ok = (addr[b / 8] & m) == (r->addr[b / 8] & m);
	}
	return ok;
}

static bool leaf_ip_within(const struct span *v, const struct policy_profile *p)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	uint8_t a[16] = { 0 };
	if ((v->len != 4 && v->len != 16) || (v->len == 16 && !memcmp(v->data, mapped, sizeof(mapped))))
		return false;
	memcpy(a, v->data, v->len);
	for (size_t k = 0; k < p->n_leaf_ip; k++)
		if (policy_range_within(v->len == 16, a, 8 * (unsigned)v->len, &p->leaf_ip[k]))
			return true;
	return false;
}

/* One GeneralName (tag, value) within the pin. */
static bool leaf_name_within(uint8_t tag, const struct span *v, const struct policy_profile *p)
{
	if (tag == 0x82)
		return leaf_dns_within(v->data, v->len, p);
	if (tag == 0x87)
		return leaf_ip_within(v, p);
	if (tag != 0x81)
		return false; /* a URI: hsmca's leaves carry none */
	const uint8_t *at = v->len ? memchr(v->data, '@', v->len) : NULL;
	if (!at || at == v->data || memchr(at + 1, '@', v->len - (size_t)(at + 1 - v->data)))
		return false;
	for (const uint8_t *c = v->data; c < at; c++)
		if (*c <= 0x20 || *c >= 0x7f)
			return false;
	size_t dl = v->len - (size_t)(at + 1 - v->data);
	return dl > 0 && !memchr(at + 1, '*', dl) && leaf_dns_within(at + 1, dl, p);
}

/* cn (a UTF8String's value) is the value of the name (tag, v): the same bytes, or for an iPAddress its text. */
static bool leaf_cn_is(const struct span *cn, uint8_t tag, const struct span *v)
{
	if (tag != 0x87)
		return cn->len == v->len && memcmp(cn->data, v->data, v->len) == 0;
	char text[LEAF_CN_MAX + 1];
	uint8_t addr[16];
	if (cn->len == 0 || cn->len > LEAF_CN_MAX || memchr(cn->data, 0, cn->len))
		return false;
	memcpy(text, cn->data, cn->len);
	text[cn->len] = 0;
	int fam = strchr(text, ':') ? AF_INET6 : AF_INET;
	return inet_pton(fam, text, addr) == 1 && v->len == (fam == AF_INET6 ? 16u : 4u) &&
	       memcmp(addr, v->data, v->len) == 0;
}

/* The subject: empty, or exactly one RDN of one CN (UTF8String), the value of one of the names in sans. */
static int leaf_check_subject(const struct tbs_cert *t, struct span sans, char *why)
{
	struct span in = t->subject, rdns, rdn, atv, oid, cn, v;
	uint8_t tag;
	if (!der_get(&in, &rdns, DER_SEQUENCE) || span_len(&in) != 0)
		return REFUSE("leaf-names: the subject is not a Name");
	if (span_len(&rdns) == 0)
		return 0; /* empty (pol_check_subject has the rest) */
	if (!der_get(&rdns, &rdn, DER_SET) || span_len(&rdns) != 0 || !der_get(&rdn, &atv, DER_SEQUENCE) ||
	    span_len(&rdn) != 0 || !der_get_oid(&atv, &oid) || oid.len != sizeof(leaf_oid_cn) ||
	    memcmp(oid.data, leaf_oid_cn, sizeof(leaf_oid_cn)) != 0 || !der_get(&atv, &cn, DER_UTF8STRING) ||
	    span_len(&atv) != 0)
		return REFUSE("leaf-names: under the key's leaf pin a subject is empty or one CN (UTF8String)");
	while (span_len(&sans) > 0 && der_get_any(&sans, &tag, &v, NULL))
		if (leaf_cn_is(&cn, tag, &v))
			return 0;
	return REFUSE("leaf-names: the subject's CN is none of the certificate's subjectAltNames");
}

int policy_check_leaf_names(const struct tbs_cert *t, const struct policy_profile *p, char *why)
{
	const struct tbs_ext *e = tbs_ext_find(t->ext, t->n_ext, OID_SAN, sizeof(OID_SAN));
	struct span in, sans, all, v;
	uint8_t tag;
	size_t i = 0;
	if (!e)
		return REFUSE("leaf-names: the key's leaf pin needs a subjectAltName");
	in = e->value;
	if (!der_get(&in, &sans, DER_SEQUENCE) || span_len(&sans) == 0)
		return REFUSE("leaf-names: the subjectAltName is not a non-empty SEQUENCE");
	all = sans;
	for (; span_len(&sans) > 0; i++) {
		if (!der_get_any(&sans, &tag, &v, NULL))
			return REFUSE("leaf-names: the subjectAltName is malformed");
		if (tag == 0x82 && v.len > 0 && v.data[0] == '*' && !p->leaf_wildcard)
			return REFUSE("leaf-names: subjectAltName %zu is a wildcard, which the key's leaf pin refuses "
				      "(leaf_wildcard = no)", i);
		if (!leaf_name_within(tag, &v, p))
			return REFUSE("leaf-names: subjectAltName %zu is outside the key's leaf pin (leaf_permitted)", i);
	}
	return leaf_check_subject(t, all, why);
}
