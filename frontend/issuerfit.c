#include "issuerfit.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conf.h"

#define FIT_CA_NAME_MAX 96 /* of a CA's subject, in messages */

int issuerfit_push(struct issuerfit *f, X509 *ca)
{
	int crit = 0;
	if (f->n == ISSUERFIT_DEPTH_MAX)
		return HSMCA_ERR_LIMIT;
	NAME_CONSTRAINTS *nc = X509_get_ext_d2i(ca, NID_name_constraints, &crit, NULL);
	if (!nc && crit != -1) /* -1: absent; else present but undecodable (or there twice) */
		return ERR_clear_error(), HSMCA_ERR_PARSE;
	EXTENDED_KEY_USAGE *eku = X509_get_ext_d2i(ca, NID_ext_key_usage, &crit, NULL);
	if (!eku && crit != -1) {
		NAME_CONSTRAINTS_free(nc);
		return ERR_clear_error(), HSMCA_ERR_PARSE;
	}
	if (!X509_up_ref(ca)) {
		NAME_CONSTRAINTS_free(nc);
		EXTENDED_KEY_USAGE_free(eku);
		return HSMCA_ERR_NOMEM;
	}
	f->cas[f->n] = ca;
	f->nc[f->n] = nc;
	f->eku[f->n] = eku;
	f->n++;
	f->has_nc = f->has_nc || nc;
	return 0;
}

void issuerfit_clear(struct issuerfit *f)
{
	for (size_t i = 0; i < f->n; i++) {
		X509_free(f->cas[i]);
		NAME_CONSTRAINTS_free(f->nc[i]);
		EXTENDED_KEY_USAGE_free(f->eku[i]);
	}
	memset(f, 0, sizeof(*f));
}

static const char *fit_ca_name(const struct issuerfit *f, size_t i, char buf[FIT_CA_NAME_MAX])
{
	if (!X509_NAME_oneline(X509_get_subject_name(f->cas[i]), buf, FIT_CA_NAME_MAX))
		snprintf(buf, FIT_CA_NAME_MAX, "(unnamed)");
	return buf;
}

/* s ends with "." followed by d, or is d (ASCII case-insensitively; s and d are not NUL-terminated) */
static bool fit_at_or_below(const char *s, size_t sl, const char *d, size_t dl)
{
	if (sl == dl)
		return !strncasecmp(s, d, dl) && !memchr(d, 0, dl);
	return sl > dl && s[sl - dl - 1] == '.' && !strncasecmp(s + sl - dl, d, dl) && !memchr(d, 0, dl);
}

/* Every DNS name the profile suffix s allows matches the dNSName subtree base as OpenSSL's nc_dns (and Go, and
 * GnuTLS) match it: an empty base matches all; ".b" the names ending with ".b"; "b" the name b and the names
 * ending with ".b". s = ".d" allows the names ending with ".d", s = "d" the name d alone. */
static bool fit_dns_covered(const ASN1_IA5STRING *base, const char *s)
{
	const char *b = (const char *)base->data;
	size_t bl = (size_t)base->length, sl;
	bool below = s[0] == '.';
	if (bl == 0)
		return true;
	s += below;
	sl = strlen(s);
	if (b[0] == '.' && !below) /* d itself must end with ".b" */
		return sl > bl - 1 && fit_at_or_below(s, sl, b + 1, bl - 1);
	if (b[0] == '.') /* names below d end with ".b" when d is b or below it */
		return fit_at_or_below(s, sl, b + 1, bl - 1);
	return fit_at_or_below(s, sl, b, bl);
}

/* Every address the profile's email names may have (local@domain, the domain allowed by suffix s) matches the
 * rfc822Name subtree base as OpenSSL's nc_email matches it: ".h" domains ending with ".h"; "h" the domain h;
 * "local@h" one mailbox (which never holds every address). */
static bool fit_email_covered(const ASN1_IA5STRING *base, const char *s)
{
	const char *b = (const char *)base->data;
	size_t bl = (size_t)base->length, sl;
	bool below = s[0] == '.';
	s += below;
	sl = strlen(s);
	if (bl == 0 || memchr(b, '@', bl))
		return false;
	if (b[0] != '.') /* exactly the domain b */
		return !below && sl == bl && !strncasecmp(s, b, bl) && !memchr(b, 0, bl);
	if (below)
		return fit_at_or_below(s, sl, b + 1, bl - 1);
	return sl > bl - 1 && fit_at_or_below(s, sl, b + 1, bl - 1);
}

/* Every address of range r matches the iPAddress subtree base (address then mask, 8 or 32 bytes): the mask
 * sets no bit past r's prefix, and r's address agrees with base's under the mask. */
static bool fit_ip_covered(const ASN1_OCTET_STRING *base, const struct prof_iprange *r)
{
	size_t alen = r->family == AF_INET ? 4 : 16;
	if ((size_t)base->length != 2 * alen)
		return false;
	const uint8_t *addr = base->data, *mask = base->data + alen;
	for (size_t i = 0; i < alen; i++) {
		unsigned fixed = r->prefix >= 8 * (i + 1) ? 8 : r->prefix > 8 * i ? r->prefix - 8 * i : 0;
		uint8_t fixed_mask = (uint8_t)(0xff00u >> fixed);
		if ((mask[i] & (uint8_t)~fixed_mask) || ((r->addr[i] ^ addr[i]) & mask[i]))
			return false;
	}
	return true;
}

enum fit_kind { FIT_DNS, FIT_EMAIL, FIT_IP };

/* The subtrees' bases of type gen_type: whether one covers the profile's name set (s or r), and whether there
 * is any of that type at all. */
static bool fit_subtrees_cover(const STACK_OF(GENERAL_SUBTREE) *st, enum fit_kind k, const char *s,
			       const struct prof_iprange *r, bool *any)
{
	static const int types[] = { GEN_DNS, GEN_EMAIL, GEN_IPADD };
	*any = false;
	for (int i = 0; i < sk_GENERAL_SUBTREE_num(st); i++) {
		const GENERAL_NAME *g = sk_GENERAL_SUBTREE_value(st, i)->base;
		if (g->type != types[k])
			continue;
		*any = true;
		if ((k == FIT_DNS && fit_dns_covered(g->d.dNSName, s)) ||
		    (k == FIT_EMAIL && fit_email_covered(g->d.rfc822Name, s)) ||
		    (k == FIT_IP && fit_ip_covered(g->d.iPAddress, r)))
			return true;
	}
	return false;
}

/* The profile's names of kind k (suffix s or range r, shown as what) against CA i's nameConstraints. */
static int fit_names(const struct issuerfit *f, size_t i, const struct profile *p, enum fit_kind k, const char *s,
		     const struct prof_iprange *r, const char *what, char *err)
{
	static const char *const kinds[] = { "DNS names", "email addresses", "IP addresses" };
	char ca[FIT_CA_NAME_MAX];
	bool any = false;
	const NAME_CONSTRAINTS *nc = f->nc[i];
	if (!fit_subtrees_cover(nc->permittedSubtrees, k, s, r, &any) && any) {
		snprintf(err, CONF_ERR_MAX, "profile %s: %s %s are not all inside the permitted subtrees of the "
			 "nameConstraints of %s %s: narrow the profile to them", p->name, kinds[k], what,
			 i ? "a CA above its issuer," : "its issuer", fit_ca_name(f, i, ca));
		return HSMCA_ERR_CONFIG;
	}
	if (fit_subtrees_cover(nc->excludedSubtrees, k, s, r, &any)) {
		snprintf(err, CONF_ERR_MAX, "profile %s: %s %s are all inside an excluded subtree of the "
			 "nameConstraints of %s %s", p->name, kinds[k], what, i ? "a CA above its issuer," : "its issuer",
			 fit_ca_name(f, i, ca));
		return HSMCA_ERR_CONFIG;
	}
	return 0;
}

static int fit_profile_names(const struct issuerfit *f, size_t i, const struct profile *p, char *err)
{
	char what[PROF_NAME_MAX + 64];
	int rc = 0;
	for (unsigned k = 0; !rc && k < p->n_dns; k++) {
		const char *s = p->dns_suffixes[k];
		snprintf(what, sizeof(what), "%s %s", s[0] == '.' ? "below" : "at", s + (s[0] == '.'));
		rc = fit_names(f, i, p, FIT_DNS, s, NULL, what, err);
		if (!rc && p->allow_email)
			rc = fit_names(f, i, p, FIT_EMAIL, s, NULL, what, err);
	}
	for (unsigned k = 0; !rc && k < p->n_ip; k++) {
		const struct prof_iprange *r = &p->ip_ranges[k];
		char text[INET6_ADDRSTRLEN];
		if (!inet_ntop(r->family, r->addr, text, sizeof(text)))
			snprintf(text, sizeof(text), "?");
		snprintf(what, sizeof(what), "in %s/%u", text, r->prefix);
		rc = fit_names(f, i, p, FIT_IP, NULL, r, what, err);
	}
	return rc;
}

static bool fit_eku_has(const EXTENDED_KEY_USAGE *eku, const struct span *oid)
{
	for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		const ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);
		if (OBJ_obj2nid(o) == NID_anyExtendedKeyUsage ||
		    ((size_t)OBJ_length(o) == oid->len && !memcmp(OBJ_get0_data(o), oid->data, oid->len)))
			return true;
	}
	return false;
}

int issuerfit_check_profile(const struct issuerfit *f, const struct profile *p, char *err)
{
	char ca[FIT_CA_NAME_MAX];
	int rc;
	for (size_t i = 0; i < f->n; i++) {
		if (f->nc[i] && (rc = fit_profile_names(f, i, p, err)))
			return rc;
		for (size_t k = 0; f->eku[i] && k < p->n_eku; k++) {
			struct span oid;
			if (!policy_eku_oid(p->eku[k], &oid) || fit_eku_has(f->eku[i], &oid))
				continue;
			snprintf(err, CONF_ERR_MAX, "profile %s: extended key usage %s is not among those of %s %s: its "
				 "certificates would not verify", p->name, p->eku[k],
				 i ? "a CA above its issuer," : "its issuer", fit_ca_name(f, i, ca));
			return HSMCA_ERR_CONFIG;
		}
	}
	return 0;
}

/* A certificate of nothing but the one name (type as profile_check_request) or, name NULL, the subject CN cn,
 * for NAME_CONSTRAINTS_check: NULL if memory runs out or the name does not encode. */
static X509 *fit_probe(int type, const char *name, const char *cn)
{
	X509 *x = X509_new();
	GENERAL_NAMES *gens = NULL;
	GENERAL_NAME *g = NULL;
	X509_NAME *subject = NULL;
	bool ok = x != NULL;
	if (ok && name) {
		int gt = type == 1 ? GEN_DNS : type == 2 ? GEN_IPADD : GEN_EMAIL;
		ok = (gens = GENERAL_NAMES_new()) && (g = a2i_GENERAL_NAME(NULL, NULL, NULL, gt, name, 0)) &&
		     sk_GENERAL_NAME_push(gens, g) && (g = NULL, X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, 0));
	} else if (ok) {
		ok = (subject = X509_NAME_new()) &&
		     X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8, (const unsigned char *)cn, -1,
						-1, 0) &&
		     X509_set_subject_name(x, subject);
	}
	/* caches the extensions NAME_CONSTRAINTS_check reads (the fingerprint of this unsigned stand-in fails) */
	if (ok)
		(void)X509_get_extension_flags(x);
	ERR_clear_error();
	GENERAL_NAME_free(g);
	GENERAL_NAMES_free(gens);
	X509_NAME_free(subject);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* the first CA whose constraints refuse probe x (the CN's alone, cn true), or f->n */
static size_t fit_refusing_ca(const struct issuerfit *f, X509 *x, bool cn)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->nc[i] && (cn ? NAME_CONSTRAINTS_check_CN(x, f->nc[i]) : NAME_CONSTRAINTS_check(x, f->nc[i])) !=
					X509_V_OK)
			return i;
	return f->n;
}

int issuerfit_check_names(const struct issuerfit *f, const char *cn, const int *san_types,
			  const char *const *sans, size_t n_sans, bool *cn_only, char *why)
{
	char ca[FIT_CA_NAME_MAX];
	bool has_dns = false;
	size_t at;
	*cn_only = false;
	if (!f->has_nc)
		return 0;
	for (size_t k = 0; k < n_sans; k++) {
		X509 *x = fit_probe(san_types[k], sans[k], NULL);
		if (!x)
			return HSMCA_ERR_NOMEM;
		at = fit_refusing_ca(f, x, false);
		X509_free(x);
		has_dns = has_dns || san_types[k] == 1;
		if (at < f->n)
			return snprintf(why, PROF_WHY_MAX, "issuer-name-constraints: %.64s is outside the nameConstraints "
					"of %s %s", sans[k], at ? "a CA above the issuer," : "the issuer",
					fit_ca_name(f, at, ca)),
			       HSMCA_ERR_POLICY;
	}
	/* OpenSSL and GnuTLS check the CN as a DNS name when the subjectAltName has none (an IP address as the
	 * CN of a certificate with IP addresses alone, under a CA with DNS subtrees, fails) */
	if (!cn || has_dns)
		return 0;
	X509 *x = fit_probe(0, NULL, cn);
	if (!x)
		return HSMCA_ERR_NOMEM;
	at = fit_refusing_ca(f, x, true);
	X509_free(x);
	if (at == f->n)
		return 0;
	*cn_only = true;
	snprintf(why, PROF_WHY_MAX, "issuer-name-constraints: the subject CN %.64s, which verifiers check as a DNS name "
		 "when no DNS name is present, is outside the nameConstraints of %s %s", cn,
		 at ? "a CA above the issuer," : "the issuer", fit_ca_name(f, at, ca));
	return HSMCA_ERR_POLICY;
}
