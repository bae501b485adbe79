#include "profcheck.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

#define PC_NAME_MAX 128

/* The names profile suffix s allows (".d" those strictly below d, "d" d alone), taken in lower case, are all
 * names of one of the n pinned entries. */
static bool pc_dns_pinned(const char *s, const char (*pins)[POLICY_NC_NAME_MAX], size_t n)
{
	char low[PC_NAME_MAX];
	size_t len = strlen(s);
	if (len >= sizeof(low))
		return false;
	for (size_t i = 0; i <= len; i++)
		low[i] = (char)tolower((unsigned char)s[i]);
	for (size_t k = 0; k < n; k++)
		if (policy_dns_within(low, pins[k]))
			return true;
	return false;
}

static bool pc_ip_pinned(const struct prof_iprange *r, const struct policy_iprange *pins, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (policy_range_within(r->family == AF_INET6, r->addr, r->prefix, &pins[k]))
			return true;
	return false;
}

/* The profile's names against one pin (what: "leaf_permitted" or "ca_permitted"). */
static unsigned pc_names(const struct profile *p, const char (*dns)[POLICY_NC_NAME_MAX], size_t n_dns,
			 const struct policy_iprange *ip, size_t n_ip, const char *key, const char *what, FILE *out)
{
	unsigned bad = 0;
	for (unsigned i = 0; i < p->n_dns; i++)
		if (!pc_dns_pinned(p->dns_suffixes[i], dns, n_dns))
			bad++, fprintf(out, "error: profile %s: DNS suffix %s reaches past %s of key %s\n", p->name,
				       p->dns_suffixes[i], what, key);
	for (unsigned i = 0; i < p->n_ip; i++)
		if (!pc_ip_pinned(&p->ip_ranges[i], ip, n_ip)) {
			char a[INET6_ADDRSTRLEN] = "?";
			inet_ntop(p->ip_ranges[i].family, p->ip_ranges[i].addr, a, sizeof(a));
			bad++, fprintf(out, "error: profile %s: IP range %s/%u reaches past %s of key %s\n", p->name, a,
				       p->ip_ranges[i].prefix, what, key);
		}
	return bad;
}

/* EKU, key usage, validity and CA rules of profile p against key k's pinned profile. */
static unsigned pc_usage(const struct profile *p, const struct profcheck_key *k, FILE *out)
{
	const struct policy_profile *pin = k->pin;
	unsigned bad = 0;
	for (size_t i = 0; i < p->n_eku; i++) {
		struct span oid;
		bool ok = false;
		for (size_t j = 0; policy_eku_oid(p->eku[i], &oid) && !ok && j < pin->n_eku; j++)
			ok = pin->eku_len[j] == oid.len && !memcmp(pin->eku[j], oid.data, oid.len);
		if (!ok)
			bad++, fprintf(out, "error: profile %s: extended key usage %s is not in eku of key %s\n", p->name,
				       p->eku[i], k->name);
	}
	if (p->n_eku == 0 && pin->n_eku > 0)
		bad++, fprintf(out, "error: profile %s: no eku, but key %s pins extended key usages\n", p->name, k->name);
	/* the usages a certificate carries: the profile's that its key's type permits (tbsbuild.c) */
	const struct {
		unsigned types;
		enum policy_key_kind kind;
		const char *what;
	} kinds[] = { { PROF_P256 | PROF_P384, POLICY_KEY_EC, "EC" },
		      { PROF_RSA2048 | PROF_RSA3072 | PROF_RSA4096, POLICY_KEY_RSA, "RSA" } };
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if ((p->key_types & kinds[i].types) &&
		    (p->key_usage & ~policy_ku_forbidden(kinds[i].kind) & ~pin->ku_allowed))
			bad++, fprintf(out, "error: profile %s: key_usage of its %s keys (0x%03x) beyond key_usage of key %s\n",
				       p->name, kinds[i].what, p->key_usage & ~policy_ku_forbidden(kinds[i].kind) & ~pin->ku_allowed,
				       k->name);
	if (p->max_validity_days > pin->max_validity_days)
		bad++, fprintf(out, "error: profile %s: max_validity_days %u above key %s's %u\n", p->name,
			       p->max_validity_days, k->name, pin->max_validity_days);
	if (!pin->allow_cert)
		bad++, fprintf(out, "error: profile %s: key %s does not sign certificates\n", p->name, k->name);
	if (p->ca && !pin->allow_ca)
		bad++, fprintf(out, "error: profile %s: a CA profile under key %s, which does not sign CAs\n", p->name,
			       k->name);
	else if (p->ca && p->path_length > pin->max_pathlen)
		bad++, fprintf(out, "error: profile %s: path_length %u above max_pathlen %llu of key %s\n", p->name,
			       p->path_length, (unsigned long long)pin->max_pathlen, k->name);
	if (p->ca && pin->ca_dn_len &&
	    (!p->dn_prefix_len || !policy_dn_within(span_make(p->dn_prefix, p->dn_prefix_len), pin->ca_dn, pin->ca_dn_len)))
		bad++, fprintf(out, "error: profile %s: dn_prefix missing or outside ca_permitted_dn of key %s\n", p->name,
			       k->name);
	if (pin->crl_url[0] && strcmp(p->crl_url, pin->crl_url))
		bad++, fprintf(out, "error: profile %s: crl_url %s is not key %s's pinned %s\n", p->name, p->crl_url,
			       k->name, pin->crl_url);
	if (pin->ocsp_url[0] && strcmp(p->ocsp_url, pin->ocsp_url))
		bad++, fprintf(out, "error: profile %s: ocsp_url %s is not key %s's pinned %s\n", p->name, p->ocsp_url,
			       k->name, pin->ocsp_url);
	return bad;
}

unsigned profcheck_run(const struct profcheck_key *keys, size_t n_keys, const struct profiles *ps, FILE *out,
		       unsigned *unfit)
{
	unsigned bad = 0, bad_before = 0, profiles = 0;
	for (unsigned i = 0; i < ps->n; i++, profiles += bad > bad_before, bad_before = bad) {
		const struct profile *p = &ps->p[i];
		const struct profcheck_key *k = NULL;
		for (size_t j = 0; !k && j < n_keys; j++)
			if (!strcmp(keys[j].label, p->issuer))
				k = &keys[j];
		if (!k) {
			bad++, fprintf(out, "error: profile %s: issuer %s is the label of no key of this signer\n", p->name,
				       p->issuer);
			continue;
		}
		const struct policy_profile *pin = k->pin;
		bad += pc_usage(p, k, out);
		if (pin->leaf_pinned && p->allow_wildcard && !pin->leaf_wildcard)
			bad++, fprintf(out, "error: profile %s: allow_wildcard = yes, but key %s's leaf pin refuses "
				       "wildcards (leaf_wildcard = no)\n", p->name, k->name);
		if (pin->leaf_pinned)
			bad += pc_names(p, pin->leaf_dns, pin->n_leaf_dns, pin->leaf_ip, pin->n_leaf_ip, k->name,
					"leaf_permitted", out);
		if (p->ca && pin->ca_pinned)
			bad += pc_names(p, pin->ca_dns, pin->n_ca_dns, pin->ca_ip, pin->n_ca_ip, k->name, "ca_permitted",
					out);
	}
	if (unfit)
		*unfit = profiles;
	return bad;
}
