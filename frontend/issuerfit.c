#include "issuerfit.h"

#include <arpa/inet.h>
#include <ctype.h>
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

/* s ends with "." followed by d, or is d: s (a profile's suffix) taken in lower case, d (a CA's base) as it is,
 * since GnuTLS compares names byte for byte (d is not NUL-terminated and may hold any byte) */
static bool fit_at_or_below(const char *s, size_t sl, const char *d, size_t dl)
{
	if (sl < dl || (sl > dl && s[sl - dl - 1] != '.'))
		return false;
	for (size_t i = 0; i < dl; i++)
		if ((char)tolower((unsigned char)s[sl - dl + i]) != d[i])
			return false;
	return true;
}

/* Every DNS name the profile suffix s allows matches the dNSName subtree base as OpenSSL's nc_dns (and Go, and
 * GnuTLS) match it: ".b" the names ending with ".b"; "b" the name b and the names ending with ".b". An empty
 * base matches every name to OpenSSL and none to GnuTLS, which skips it: as a permitted subtree it holds
 * nothing here, as an excluded one everything. s = ".d" allows the names ending with ".d", s = "d" d alone. */
static bool fit_dns_covered(const ASN1_IA5STRING *base, const char *s, bool excluded)
{
	const char *b = (const char *)base->data;
	size_t bl = (size_t)base->length, sl;
	bool below = s[0] == '.';
	if (bl == 0)
		return excluded;
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
 * "local@h" one mailbox (which never holds every address). An empty base matches nothing to OpenSSL and every
 * address to GnuTLS and Go: permitted, it holds nothing here; excluded, everything. */
static bool fit_email_covered(const ASN1_IA5STRING *base, const char *s, bool excluded)
{
	const char *b = (const char *)base->data;
	size_t bl = (size_t)base->length, sl;
	bool below = s[0] == '.';
	s += below;
	sl = strlen(s);
	if (bl == 0)
		return excluded;
	if (memchr(b, '@', bl))
		return false;
	if (b[0] != '.') /* exactly the domain b */
		return !below && sl == bl && fit_at_or_below(s, sl, b, bl);
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
			       const struct prof_iprange *r, bool excluded, bool *any)
{
	static const int types[] = { GEN_DNS, GEN_EMAIL, GEN_IPADD };
	*any = false;
	for (int i = 0; i < sk_GENERAL_SUBTREE_num(st); i++) {
		const GENERAL_NAME *g = sk_GENERAL_SUBTREE_value(st, i)->base;
		if (g->type != types[k])
			continue;
		*any = true;
		if ((k == FIT_DNS && fit_dns_covered(g->d.dNSName, s, excluded)) ||
		    (k == FIT_EMAIL && fit_email_covered(g->d.rfc822Name, s, excluded)) ||
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
	if (!fit_subtrees_cover(nc->permittedSubtrees, k, s, r, false, &any) && any) {
		snprintf(err, CONF_ERR_MAX, "profile %s: %s %s are not all inside the permitted subtrees of the "
			 "nameConstraints of %s %s: narrow the profile to them", p->name, kinds[k], what,
			 i ? "a CA above its issuer," : "its issuer", fit_ca_name(f, i, ca));
		return HSMCA_ERR_CONFIG;
	}
	if (fit_subtrees_cover(nc->excludedSubtrees, k, s, r, true, &any)) {
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

/* The EKU oid is among a CA's. anyExtendedKeyUsage counts for the others, not for serverAuth, clientAuth and
 * emailProtection: OpenSSL's purpose checks (every TLS peer's) want those named on each CA of the chain. */
static bool fit_eku_has(const EXTENDED_KEY_USAGE *eku, const struct span *oid)
{
	static const int named[] = { NID_server_auth, NID_client_auth, NID_email_protect };
	bool any_ok = true;
	for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
		const ASN1_OBJECT *o = OBJ_nid2obj(named[k]);
		if (o && (size_t)OBJ_length(o) == oid->len && !memcmp(OBJ_get0_data(o), oid->data, oid->len))
			any_ok = false;
	}
	for (int i = 0; i < sk_ASN1_OBJECT_num(eku); i++) {
		const ASN1_OBJECT *o = sk_ASN1_OBJECT_value(eku, i);
		if ((any_ok && OBJ_obj2nid(o) == NID_anyExtendedKeyUsage) ||
		    ((size_t)OBJ_length(o) == oid->len && !memcmp(OBJ_get0_data(o), oid->data, oid->len)))
			return true;
	}
	return false;
}

/* NULL, or why no verifier takes nc as hsmca reads it: OpenSSL refuses every name of a type with a subtree
 * that has minimum or maximum; GnuTLS and Go refuse the whole CA over an iPAddress subtree that is not an
 * address and a contiguous mask of 4 or 16 bytes each. */
static const char *fit_nc_unusable(const NAME_CONSTRAINTS *nc)
{
	const STACK_OF(GENERAL_SUBTREE) *lists[] = { nc->permittedSubtrees, nc->excludedSubtrees };
	for (size_t l = 0; l < 2; l++)
		for (int i = 0; i < sk_GENERAL_SUBTREE_num(lists[l]); i++) {
			const GENERAL_SUBTREE *st = sk_GENERAL_SUBTREE_value(lists[l], i);
			if (st->minimum || st->maximum)
				return "a subtree with minimum or maximum, which OpenSSL refuses every name under";
			if (st->base->type != GEN_IPADD)
				continue;
			const ASN1_OCTET_STRING *v = st->base->d.iPAddress;
			size_t n = (size_t)v->length / 2;
			bool ones = true;
			if (v->length != 8 && v->length != 32)
				return "an iPAddress subtree that is not an address and a mask of 4 or 16 bytes";
			for (size_t b = 0; b < 8 * n; b++) {
				bool bit = v->data[n + b / 8] & (0x80 >> (b % 8));
				if (bit && !ones)
					return "an iPAddress subtree whose mask is not contiguous, which GnuTLS and Go refuse";
				ones = ones && bit;
			}
		}
	return NULL;
}

int issuerfit_check_profile(const struct issuerfit *f, const struct profile *p, char *err)
{
	char ca[FIT_CA_NAME_MAX];
	int rc;
	/* every CA's pathLenConstraint, not only the issuer's (app.c): the CAs below it in the chain, the CA a CA
	 * profile issues and the path_length it gives that one must all fit (RFC 5280 4.2.1.9; OpenSSL and Go
	 * refuse a path longer than any CA on it allows). Self-issued CAs count too: RFC 5280 leaves them out,
	 * Go does not. */
	long below = 0; /* CAs among cas[0..i-1] */
	for (size_t i = 0; i < f->n; i++) {
		long len = X509_get_pathlen(f->cas[i]), need = below + (p->ca ? 1 + (long)p->path_length : 0);
		if (len >= 0 && need > len) {
			snprintf(err, CONF_ERR_MAX, "profile %s: %s %s has pathLenConstraint %ld, and %ld CA certificate%s "
				 "would follow it in the paths of what this profile issues: they would not verify", p->name,
				 i ? "a CA above its issuer," : "its issuer", fit_ca_name(f, i, ca), len, need,
				 need == 1 ? "" : "s");
			return HSMCA_ERR_CONFIG;
		}
		below++;
	}
	for (size_t i = 0; i < f->n; i++) {
		const char *bad = f->nc[i] ? fit_nc_unusable(f->nc[i]) : NULL;
		if (bad) {
			snprintf(err, CONF_ERR_MAX, "profile %s: the nameConstraints of %s %s hold %s", p->name,
				 i ? "a CA above its issuer," : "its issuer", fit_ca_name(f, i, ca), bad);
			return HSMCA_ERR_CONFIG;
		}
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

/* the first CA whose constraints refuse probe x (with its CN checked as a DNS name too, cn_as_dns), or f->n */
static size_t fit_refusing_ca(const struct issuerfit *f, X509 *x, bool cn_as_dns)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->nc[i] && (NAME_CONSTRAINTS_check(x, f->nc[i]) != X509_V_OK ||
				 (cn_as_dns && NAME_CONSTRAINTS_check_CN(x, f->nc[i]) != X509_V_OK)))
			return i;
	return f->n;
}

/* The first CA with a base of type gen_type in its excluded subtrees for which match(base, name) holds, or
 * f->n. */
static size_t fit_excluding_ca(const struct issuerfit *f, int gen_type, bool (*match)(const ASN1_IA5STRING *, const char *),
			       const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		for (int k = 0; f->nc[i] && k < sk_GENERAL_SUBTREE_num(f->nc[i]->excludedSubtrees); k++) {
			const GENERAL_NAME *g = sk_GENERAL_SUBTREE_value(f->nc[i]->excludedSubtrees, k)->base;
			if (g->type == gen_type && match(g->d.ia5, name))
				return i;
		}
	return f->n;
}

/* "*.P" could name "L.P", which the excluded base ("L.P" or ".L.P") names: Go, BoringSSL and rustls refuse
 * the wildcard, and OpenSSL, which matches it as text, would let it stand for the excluded name */
static bool fit_wildcard_excluded(const ASN1_IA5STRING *base, const char *name)
{
	const char *b = (const char *)base->data, *parent = name + 2;
	size_t bl = (size_t)base->length, pl = strlen(parent);
	if (bl && b[0] == '.') {
		b++;
		bl--;
	}
	const char *dot = bl ? memchr(b, '.', bl) : NULL;
	return dot && dot > b && (size_t)(b + bl - dot - 1) == pl && !strncasecmp(dot + 1, parent, pl) &&
	       !memchr(b, 0, bl);
}

/* an empty rfc822Name base: every address to GnuTLS and Go */
static bool fit_empty_base(const ASN1_IA5STRING *base, const char *name)
{
	(void)name;
	return base->length == 0;
}

static bool fit_has_upper(const char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			return true;
	return false;
}

/* The first CA with a subtree (permitted or excluded) whose base is of type gen_type, or f->n. */
static size_t fit_ca_with(const struct issuerfit *f, int gen_type)
{
	for (size_t i = 0; i < f->n; i++)
		for (int l = 0; f->nc[i] && l < 2; l++) {
			const STACK_OF(GENERAL_SUBTREE) *st = l ? f->nc[i]->excludedSubtrees : f->nc[i]->permittedSubtrees;
			for (int k = 0; k < sk_GENERAL_SUBTREE_num(st); k++)
				if (sk_GENERAL_SUBTREE_value(st, k)->base->type == gen_type)
					return i;
		}
	return f->n;
}

#define FIT_REFUSE(at, ...)                                                                                     \
	(snprintf(why, PROF_WHY_MAX, __VA_ARGS__), snprintf(why + strlen(why), PROF_WHY_MAX - strlen(why),      \
							    " %s %s", (at) ? "a CA above the issuer," : "the issuer", \
							    fit_ca_name(f, (at), ca)),                                \
	 HSMCA_ERR_POLICY)

/* One name of the request against every CA: its own probe, then what OpenSSL's matching does not catch. */
static int fit_check_one(const struct issuerfit *f, int type, const char *name, char *why)
{
	char ca[FIT_CA_NAME_MAX];
	X509 *x = fit_probe(type, name, NULL);
	if (!x)
		return HSMCA_ERR_NOMEM;
	size_t at = fit_refusing_ca(f, x, false);
	X509_free(x);
	if (at < f->n)
		return FIT_REFUSE(at, "issuer-name-constraints: %.64s is outside the nameConstraints of", name);
	if (type == 1 && !strncmp(name, "*.", 2) && (at = fit_excluding_ca(f, GEN_DNS, fit_wildcard_excluded, name)) < f->n)
		return FIT_REFUSE(at, "issuer-name-constraints: %.64s could stand for a name excluded by", name);
	if (type == 3 && (at = fit_excluding_ca(f, GEN_EMAIL, fit_empty_base, name)) < f->n)
		return FIT_REFUSE(at, "issuer-name-constraints: %.64s: every email address is excluded by", name);
	/* the domain of an email address (GnuTLS compares a local part only with a whole mailbox's) */
	const char *domain = type == 3 && strchr(name, '@') ? strchr(name, '@') + 1 : name;
	if (type != 2 && fit_has_upper(domain) && (at = fit_ca_with(f, type == 1 ? GEN_DNS : GEN_EMAIL)) < f->n)
		return FIT_REFUSE(at, "issuer-name-constraints: %.64s has upper-case letters, which GnuTLS compares "
				      "case-sensitively with the nameConstraints of", name);
	return 0;
}

int issuerfit_check_names(const struct issuerfit *f, bool ca_cert, const char *cn, const int *san_types,
			  const char *const *sans, size_t n_sans, bool *drop_cn, char *why)
{
	char ca[FIT_CA_NAME_MAX];
	bool has_dns = false;
	int rc;
	*drop_cn = false;
	if (!f->has_nc)
		return 0;
	for (size_t k = 0; k < n_sans; k++) {
		if ((rc = fit_check_one(f, san_types[k], sans[k], why)))
			return rc;
		has_dns = has_dns || san_types[k] == 1;
	}
	if (!cn)
		return 0;
	/* a leaf's CN: OpenSSL checks it as a DNS name when no DNS name is in the subjectAltName and it looks like
	 * one, GnuTLS whatever it looks like (an IPv6 address, an email address): under any dNSName subtree the
	 * CN of such a leaf is left out (its subject empty, its subjectAltName critical) */
	if (!ca_cert && !has_dns && fit_ca_with(f, GEN_DNS) < f->n)
		return *drop_cn = true, 0;
	X509 *x = fit_probe(0, NULL, cn); /* the subject itself, against directoryName subtrees */
	if (!x)
		return HSMCA_ERR_NOMEM;
	size_t at = fit_refusing_ca(f, x, !ca_cert && !has_dns);
	X509_free(x);
	if (at == f->n)
		return 0;
	if (!ca_cert)
		return *drop_cn = true, 0;
	return FIT_REFUSE(at, "issuer-name-constraints: the subject CN=%.64s is outside the nameConstraints of", cn);
}
