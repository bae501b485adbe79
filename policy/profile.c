#include "profile.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "policy.h"

#define CERR(...) (snprintf(err, CONF_ERR_MAX, __VA_ARGS__), HSMCA_ERR_CONFIG)
#define REFUSE(...) (snprintf(why, PROF_WHY_MAX, __VA_ARGS__), HSMCA_ERR_POLICY)
#define PROF_VALIDITY_LIMIT 825
#define PROF_EMAIL_LOCAL_MAX 64 /* RFC 5321 4.5.3.1.1 */

typedef int (*prof_item_fn)(struct profile *p, const char *item, unsigned line, char *err);

static int prof_list(struct profile *p, const char *v, unsigned line, char *err, prof_item_fn fn)
{
	char t[CONF_LINE_MAX + 1];
	struct conf_list l = { .p = v };
	int rc;
	while ((rc = conf_list_next(&l, t, sizeof(t))) == 1)
		if ((rc = fn(p, t, line, err)))
			return rc;
	return rc ? CERR("line %u: an empty item in a list (\"a,,b\", a comma at its start or end)", line) : 0;
}

static const struct {
	const char *n;
	unsigned bit;
} prof_kt[] = {
	{ "p256", PROF_P256 }, { "p384", PROF_P384 }, { "rsa2048", PROF_RSA2048 },
	{ "rsa3072", PROF_RSA3072 }, { "rsa4096", PROF_RSA4096 },
};

static int prof_keytype(struct profile *p, const char *t, unsigned line, char *err)
{
	for (size_t i = 0; i < sizeof(prof_kt) / sizeof(prof_kt[0]); i++)
		if (!strcmp(prof_kt[i].n, t)) {
			p->key_types |= prof_kt[i].bit;
			return 0;
		}
	return CERR("line %u: unknown key type %s (p256, p384, rsa2048, rsa3072, rsa4096)", line, t);
}

static int prof_dns(struct profile *p, const char *t, unsigned line, char *err)
{
	if (p->n_dns >= PROF_LIST_MAX || strlen(t) >= PROF_NAME_MAX || strchr(t, '*'))
		return CERR("line %u: bad or too many DNS suffixes (%s)", line, t);
	size_t n = strlen(t);
	for (size_t i = 0; i < n; i++) /* a tab or a comma without its space joined two suffixes into one */
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= '0' && t[i] <= '9') ||
		      t[i] == '-' || t[i] == '.'))
			return CERR("line %u: DNS suffix \"%s\": letters, digits, hyphens and dots only", line, t);
	if (n == 0 || t[n - 1] == '.' || strstr(t, ".."))
		return CERR("line %u: DNS suffix %s: no trailing dot or empty label (names are matched without the root's "
			    "dot; such a suffix would match nothing, and \".\" in a CA's name constraints reads as \"any "
			    "name\" to some clients)", line, t);
	/* an IPv4 address is no domain: as a CA profile's URI name constraint Go refuses the whole certificate
	 * ("cannot be IP address"), and DNS names under it are not names (IP addresses go in ip_ranges) */
	struct in_addr v4;
	if (inet_pton(AF_INET, t[0] == '.' ? t + 1 : t, &v4) == 1)
		return CERR("line %u: DNS suffix %s is an IPv4 address (give addresses as ip_ranges)", line, t);
	/* lower case, as names are compared (without regard to case) and as a CA profile's suffixes become its
	 * certificates' nameConstraints: GnuTLS compares those bases byte for byte, so ".Example.com" there made
	 * every leaf below the sub-CA (lower case, as requests must be under constraints) fail its check */
	char *d = p->dns_suffixes[p->n_dns++];
	for (size_t i = 0; i <= n; i++)
		d[i] = (char)((t[i] >= 'A' && t[i] <= 'Z') ? t[i] - 'A' + 'a' : t[i]);
	return 0;
}

static bool prof_ip_v4mapped(const uint8_t a[16]);

/* the first bits bits of a and b agree */
static bool prof_bits_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;
	return memcmp(a, b, full) == 0 && (!rest || !((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))));
}

const uint8_t profile_v4mapped_net[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool profile_range_meets_v4mapped(const struct prof_iprange *r)
{
	return r->family == AF_INET6 && prof_bits_equal(r->addr, profile_v4mapped_net, r->prefix < 96 ? r->prefix : 96);
}

static int prof_ip(struct profile *p, const char *t, unsigned line, char *err)
{
	char addr[64];
	const char *slash = strchr(t, '/');
	uint64_t prefix;
	struct prof_iprange *r = &p->ip_ranges[p->n_ip];
	if (p->n_ip >= PROF_LIST_MAX || !slash || (size_t)(slash - t) >= sizeof(addr))
		return CERR("line %u: bad IP range %s (address/prefix)", line, t);
	memcpy(addr, t, (size_t)(slash - t));
	addr[slash - t] = 0;
	r->family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(r->family, addr, r->addr) != 1 ||
	    !conf_value_uint(slash + 1, r->family == AF_INET ? 32 : 128, &prefix))
		return CERR("line %u: bad IP range %s", line, t);
	r->prefix = (unsigned)prefix;
	if (r->family == AF_INET6 && r->prefix >= 96 && prof_ip_v4mapped(r->addr))
		return CERR("line %u: IP range %s is IPv4-mapped (::ffff:a.b.c.d): give the IPv4 range", line, t);
	p->n_ip++;
	return 0;
}

static int prof_ku(struct profile *p, const char *t, unsigned line, char *err)
{
	uint16_t bit;
	if (!policy_ku_bit(t, &bit))
		return CERR("line %u: unknown key usage %s", line, t);
	p->key_usage |= bit;
	return 0;
}

static int prof_eku(struct profile *p, const char *t, unsigned line, char *err)
{
	struct span oid, had;
	if (!policy_eku_oid(t, &oid) || p->n_eku >= TBS_MAX_EKU)
		return CERR("line %u: unknown extended key usage %s", line, t);
	for (unsigned i = 0; i < p->n_eku; i++)
		if (policy_eku_oid(p->eku[i], &had) && had.len == oid.len && !memcmp(had.data, oid.data, oid.len))
			return CERR("line %u: extended key usage %s listed twice", line, t);
	strcpy(p->eku[p->n_eku++], t);
	return 0;
}

static int prof_account(struct profile *p, const char *t, unsigned line, char *err)
{
	if (p->n_accounts >= PROF_LIST_MAX || strlen(t) >= PROF_NAME_MAX)
		return CERR("line %u: bad or too many accounts", line);
	strcpy(p->accounts[p->n_accounts++], t);
	return 0;
}

static bool prof_hex(const char *v, uint8_t *out, size_t max, size_t *out_len)
{
	size_t n = strlen(v);
	if (n == 0 || n % 2 || n / 2 > max)
		return false;
	for (size_t i = 0; i < n / 2; i++) {
		unsigned b;
		if (!isxdigit((unsigned char)v[2 * i]) || !isxdigit((unsigned char)v[2 * i + 1]) ||
		    sscanf(v + 2 * i, "%2x", &b) != 1)
			return false;
		out[i] = (uint8_t)b;
	}
	*out_len = n / 2;
	return true;
}

static int prof_value(struct profile *p, const char *key, const char *v, unsigned line, char *err)
{
	uint64_t n;
	bool ok = true;
	if (!strcmp(key, "issuer"))
		ok = conf_value_str(v, p->issuer, sizeof(p->issuer));
	else if (!strcmp(key, "issuer_cert"))
		ok = conf_value_str(v, p->issuer_cert, sizeof(p->issuer_cert));
	else if (!strcmp(key, "key_types"))
		return prof_list(p, v, line, err, prof_keytype);
	else if (!strcmp(key, "dns_suffixes"))
		return prof_list(p, v, line, err, prof_dns);
	else if (!strcmp(key, "ip_ranges"))
		return prof_list(p, v, line, err, prof_ip);
	else if (!strcmp(key, "dn_prefix")) {
		char why[POLICY_DN_WHY_MAX];
		p->dn_prefix_line = line;
		if (policy_dn_parse(v, p->dn_prefix, sizeof(p->dn_prefix), &p->dn_prefix_len, why))
			return CERR("line %u: dn_prefix: %s", line, why);
		return 0;
	} else if (!strcmp(key, "key_usage")) {
		p->ku_line = line;
		return prof_list(p, v, line, err, prof_ku);
	} else if (!strcmp(key, "ca"))
		ok = conf_value_bool(v, &p->ca);
	else if (!strcmp(key, "path_length")) {
		ok = conf_value_uint(v, PROF_PATH_LENGTH_MAX, &n);
		p->path_length = (unsigned)n;
		p->has_path_length = true;
		p->path_length_line = line;
	}
	else if (!strcmp(key, "eku"))
		return prof_list(p, v, line, err, prof_eku);
	else if (!strcmp(key, "accounts"))
		return prof_list(p, v, line, err, prof_account);
	else if (!strcmp(key, "allow_wildcard"))
		ok = conf_value_bool(v, &p->allow_wildcard);
	else if (!strcmp(key, "allow_email"))
		ok = conf_value_bool(v, &p->allow_email);
	else if (!strcmp(key, "needs_approval"))
		ok = conf_value_bool(v, &p->needs_approval);
	else if (!strcmp(key, "login"))
		ok = conf_value_bool(v, &p->login);
	else if (!strcmp(key, "max_sans")) {
		ok = conf_value_uint(v, 100, &n) && n > 0;
		p->max_sans = (unsigned)n;
	} else if (!strcmp(key, "max_validity_days")) {
		ok = conf_value_uint(v, PROF_VALIDITY_LIMIT, &n) && n > 0;
		p->max_validity_days = (unsigned)n;
	} else if (!strcmp(key, "crl_url"))
		ok = conf_value_str(v, p->crl_url, sizeof(p->crl_url));
	else if (!strcmp(key, "ocsp_url"))
		ok = conf_value_str(v, p->ocsp_url, sizeof(p->ocsp_url));
	else if (!strcmp(key, "cfssl_key"))
		ok = prof_hex(v, p->cfssl_key, sizeof(p->cfssl_key), &p->cfssl_key_len) &&
		     p->cfssl_key_len >= PROF_CFSSL_KEY_MIN;
	else if (!strcmp(key, "cfssl_account"))
		ok = conf_value_str(v, p->cfssl_account, sizeof(p->cfssl_account));
	else
		return CERR("line %u: unknown key %s", line, key);
	return ok ? 0 : CERR("line %u: bad value for %s", line, key);
}

struct prof_ctx {
	struct profiles *ps;
	struct profile *cur;
	uint32_t seen; /* the current section's keys so far, one bit each (prof_once) */
};

/* A key given twice in one profile is an error, not a silent override (unknown keys fall to prof_value). */
static int prof_once(struct prof_ctx *ctx, const char *key, unsigned line, char *err)
{
	static const char *const names[] = { "issuer", "issuer_cert", "key_types", "dns_suffixes", "ip_ranges",
					     "key_usage", "ca", "path_length", "eku", "accounts", "allow_wildcard",
					     "allow_email", "needs_approval", "login", "max_sans", "max_validity_days",
					     "crl_url", "ocsp_url", "cfssl_key", "cfssl_account", "dn_prefix" };
	_Static_assert(sizeof(names) / sizeof(names[0]) <= 32, "one bit per key in prof_ctx.seen");
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(names[i], key)) {
			if (ctx->seen & (1u << i))
				return CERR("line %u: %s given twice in profile %s", line, key, ctx->cur->name);
			ctx->seen |= 1u << i;
		}
	return 0;
}

static int prof_cb(void *vctx, const char *section, const char *key, const char *v, unsigned line, char *err)
{
	struct prof_ctx *ctx = vctx;
	if (!key) {
		if (strncmp(section, "profile ", 8) != 0)
			return CERR("line %u: unknown section [%s] (expected [profile NAME])", line, section);
		if (ctx->ps->n >= PROF_MAX)
			return CERR("line %u: more than %d profiles", line, PROF_MAX);
		if (profiles_find(ctx->ps, section + 8))
			return CERR("line %u: profile %s defined twice", line, section + 8);
		ctx->cur = &ctx->ps->p[ctx->ps->n++];
		ctx->seen = 0;
		memset(ctx->cur, 0, sizeof(*ctx->cur));
		if (!conf_value_str(section + 8, ctx->cur->name, sizeof(ctx->cur->name)))
			return CERR("line %u: profile name too long", line);
		return 0;
	}
	if (!ctx->cur)
		return CERR("line %u: key %s outside a [profile NAME] section", line, key);
	int rc = prof_once(ctx, key, line, err);
	return rc ? rc : prof_value(ctx->cur, key, v, line, err);
}

static bool prof_has_eku(const struct profile *p, const char *name)
{
	for (size_t i = 0; i < p->n_eku; i++)
		if (!strcmp(p->eku[i], name))
			return true;
	return false;
}

/* A CA profile and a leaf profile each keep to their kind. */
static int prof_check_ca(const char *path, const struct profile *p, char *err)
{
	const uint16_t ca_bits = TBS_KU_KEY_CERT_SIGN | TBS_KU_CRL_SIGN;
	if (!p->ca && (p->key_usage & ca_bits))
		return CERR("%s line %u: profile %s: keyCertSign and cRLSign are only for a CA profile (ca = yes)", path,
			    p->ku_line, p->name);
	if (!p->ca && p->has_path_length)
		return CERR("%s line %u: profile %s: path_length is only for a CA profile (ca = yes)", path,
			    p->path_length_line, p->name);
	if (p->ca && !(p->key_usage & TBS_KU_KEY_CERT_SIGN))
		return CERR("%s line %u: profile %s: a CA profile needs key_usage keyCertSign", path, p->ku_line, p->name);
	if (p->ca && p->n_dns == 0)
		return CERR("%s: profile %s: a CA profile needs dns_suffixes (they become its name constraints)", path,
			    p->name);
	if (!p->ca && p->dn_prefix_len)
		return CERR("%s line %u: profile %s: dn_prefix is only for a CA profile (ca = yes)", path,
			    p->dn_prefix_line, p->name);
	if (p->ca && !p->has_path_length)
		return CERR("%s: profile %s: a CA profile needs path_length (0: it may issue only leaves)", path, p->name);
	if (p->ca && (p->login || p->allow_wildcard || p->allow_email))
		return CERR("%s: profile %s: a CA profile cannot have login, allow_wildcard or allow_email", path, p->name);
	return 0;
}

/* http:// or https:// and something after it, printable ASCII without spaces */
/* Every certificate carries its CRL distribution point and its OCSP responder (AIA). */
static int prof_check_urls(const char *path, const struct profile *p, char *err)
{
	if (!p->crl_url[0] || !p->ocsp_url[0])
		return CERR("%s: profile %s needs crl_url and ocsp_url (every certificate carries both)", path, p->name);
	if (!policy_url_ok(p->crl_url))
		return CERR("%s: profile %s: crl_url must be an http:// or https:// URL of printable ASCII without "
			    "spaces", path, p->name);
	if (!policy_url_ok(p->ocsp_url))
		return CERR("%s: profile %s: ocsp_url must be an http:// or https:// URL of printable ASCII without "
			    "spaces", path, p->name);
	return 0;
}

static int prof_validate(const char *path, const struct profiles *out, char *err)
{
	int rc;
	for (unsigned i = 0; i < out->n; i++) {
		const struct profile *p = &out->p[i];
		if ((rc = prof_check_ca(path, p, err)) || (rc = prof_check_urls(path, p, err)))
			return rc;
		if (!p->issuer[0] || !p->issuer_cert[0] || !p->key_types || !p->max_validity_days || !p->max_sans ||
		    !p->key_usage || (!p->n_eku && !p->ca) || !p->n_accounts)
			return CERR("%s: profile %s needs issuer, issuer_cert, key_types, max_validity_days, max_sans, "
				    "key_usage, eku (a leaf profile) and accounts", path, p->name);
		if (!p->cfssl_key_len != !p->cfssl_account[0])
			return CERR("%s: profile %s: cfssl_key and cfssl_account go together", path, p->name);
		if (p->cfssl_account[0] && !profile_allows_account(p, p->cfssl_account))
			return CERR("%s: profile %s: cfssl_account %s is not among its accounts (every authsign request "
				    "would be refused, and its token used up)", path, p->name, p->cfssl_account);
		if (p->login && !prof_has_eku(p, "clientAuth"))
			return CERR("%s: profile %s: login = yes needs eku clientAuth", path, p->name);
		if (prof_has_eku(p, "OCSPSigning")) /* a CA too: RFC 6960 takes any certificate of the issuer's */
			return CERR("%s: profile %s: eku OCSPSigning is not for a %s profile (its holder could answer OCSP "
				    "for every certificate of the issuing CA; the responder's key is made by the ceremony)",
				    path, p->name, p->ca ? "CA" : "leaf");
		/* RFC 3161 2.3: a time-stamping authority's certificate has timeStamping as its only EKU, critical
		 * (tbsbuild writes it so), and OpenSSL's timestamp purpose takes digitalSignature and nonRepudiation
		 * alone as key usages: any other mix made certificates no `openssl ts -verify` accepts */
		const uint16_t tsa_ku = TBS_KU_DIGITAL_SIGNATURE | TBS_KU_NON_REPUDIATION;
		if (!p->ca && prof_has_eku(p, "timeStamping") && (p->n_eku != 1 || (p->key_usage & ~tsa_ku)))
			return CERR("%s: profile %s: eku timeStamping is a leaf's only EKU, with key_usage digitalSignature "
				    "and nonRepudiation at most (RFC 3161 2.3; a CA profile may list it among others: what "
				    "its CA may issue)", path, p->name);
		const uint16_t only = TBS_KU_ENCIPHER_ONLY | TBS_KU_DECIPHER_ONLY;
		if ((p->key_usage & only) && (!(p->key_usage & TBS_KU_KEY_AGREEMENT) || (p->key_usage & only) == only))
			return CERR("%s: profile %s: encipherOnly or decipherOnly needs keyAgreement, and not both "
				    "(RFC 5280 4.2.1.3, RFC 5480 3)", path, p->name);
		if (p->login && p->cfssl_key_len)
			return CERR("%s: profile %s: login = yes cannot have cfssl_key (a login certificate logs a person "
				    "in: a machine's key must not mint one)", path, p->name);
	}
	return 0;
}

void profiles_wipe(struct profiles *ps)
{
	for (unsigned i = 0; i < PROF_MAX; i++)
		OPENSSL_cleanse(ps->p[i].cfssl_key, sizeof(ps->p[i].cfssl_key));
}

int profiles_load(const char *path, struct profiles *out, char *err)
{
	struct prof_ctx ctx = { out, NULL, 0 };
	memset(out, 0, sizeof(*out));
	int rc = conf_parse_file(path, prof_cb, &ctx, err);
	return rc ? rc : prof_validate(path, out, err);
}

int profiles_parse(const char *name, const char *text, size_t len, struct profiles *out, char *err)
{
	struct prof_ctx ctx = { out, NULL, 0 };
	memset(out, 0, sizeof(*out));
	int rc = conf_parse(text, len, prof_cb, &ctx, err);
	return rc ? rc : prof_validate(name, out, err);
}

const struct profile *profiles_find(const struct profiles *ps, const char *name)
{
	for (unsigned i = 0; i < ps->n; i++)
		if (!strcmp(ps->p[i].name, name))
			return &ps->p[i];
	return NULL;
}

bool profile_allows_account(const struct profile *p, const char *account)
{
	for (unsigned i = 0; i < p->n_accounts; i++)
		if (!strcmp(p->accounts[i], "*") || !strcmp(p->accounts[i], account))
			return true;
	return false;
}

static unsigned prof_keytype_of(EVP_PKEY *k)
{
	if (EVP_PKEY_is_a(k, "RSA")) {
		int bits = EVP_PKEY_get_bits(k);
		return bits == 2048 ? PROF_RSA2048 : bits == 3072 ? PROF_RSA3072 : bits == 4096 ? PROF_RSA4096 : 0;
	}
	if (EVP_PKEY_is_a(k, "EC")) {
		char g[64];
		size_t gl;
		if (!EVP_PKEY_get_utf8_string_param(k, "group", g, sizeof(g), &gl))
			return 0;
		return !strcmp(g, "prime256v1") ? PROF_P256 : !strcmp(g, "secp384r1") ? PROF_P384 : 0;
	}
	return 0;
}

/* key's type as the profiles file names it (p256, rsa2048, ...), else its algorithm and size ("rsa1024",
 * "EC secp521r1", "ED25519") */
static void prof_keytype_name(EVP_PKEY *k, char *out, size_t len)
{
	unsigned bit = prof_keytype_of(k);
	char g[64];
	size_t gl;
	for (size_t i = 0; i < sizeof(prof_kt) / sizeof(prof_kt[0]); i++)
		if (prof_kt[i].bit == bit) {
			snprintf(out, len, "%s", prof_kt[i].n);
			return;
		}
	const char *t = EVP_PKEY_get0_type_name(k);
	if (EVP_PKEY_is_a(k, "RSA"))
		snprintf(out, len, "rsa%d", EVP_PKEY_get_bits(k));
	else if (EVP_PKEY_is_a(k, "EC") && EVP_PKEY_get_utf8_string_param(k, "group", g, sizeof(g), &gl))
		snprintf(out, len, "EC %s", g);
	else
		snprintf(out, len, "%.32s", t ? t : "an unknown type");
}

/* the key types p allows, as the profiles file names them */
static void prof_keytypes_allowed(const struct profile *p, char *out, size_t len)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(prof_kt) / sizeof(prof_kt[0]) && n < len; i++)
		if (p->key_types & prof_kt[i].bit) {
			int w = snprintf(out + n, len - n, "%s%s", n ? ", " : "", prof_kt[i].n);
			n += w > 0 ? (size_t)w : 0;
		}
}

static bool prof_dns_ok(const struct profile *p, const char *name)
{
	size_t nl = strlen(name);
	for (unsigned i = 0; i < p->n_dns; i++) {
		const char *s = p->dns_suffixes[i];
		size_t sl = strlen(s);
		if (s[0] == '.' ? (nl > sl && !strcasecmp(name + nl - sl, s)) : !strcasecmp(name, s))
			return true;
	}
	return false;
}

/* A wildcard "*.parent" covers names one label below parent: it needs a ".S" suffix permitting names below
 * parent, i.e. parent is S or ends with ".S". An exact suffix never permits a wildcard. */
static bool prof_wild_ok(const struct profile *p, const char *parent)
{
	size_t pl = strlen(parent);
	for (unsigned i = 0; i < p->n_dns; i++) {
		const char *s = p->dns_suffixes[i];
		size_t sl = strlen(s);
		if (s[0] != '.')
			continue;
		if (!strcasecmp(parent, s + 1) || (pl > sl && !strcasecmp(parent + pl - sl, s)))
			return true;
	}
	return false;
}

/* LDH labels, 1..63 each, total <= 253; "*." only as the whole first label */
static bool prof_dns_syntax(const char *name, bool *wildcard)
{
	size_t len = strlen(name), label = 0;
	*wildcard = !strncmp(name, "*.", 2);
	if (*wildcard)
		name += 2;
	if (len == 0 || len > 253)
		return false;
	for (const char *c = name;; c++) {
		if (*c == '.' || *c == 0) {
			if (label == 0 || label > 63 || c[-1] == '-')
				return false;
			if (*c == 0)
				return true;
			label = 0;
			continue;
		}
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		      (*c == '-' && label > 0)))
			return false;
		label++;
	}
}

/* ::ffff:a.b.c.d would let an IPv4 address past the IPv4 ranges */
static bool prof_ip_v4mapped(const uint8_t a[16])
{
	return prof_bits_equal(a, profile_v4mapped_net, 96);
}

static int prof_ip_ok(const struct profile *p, const char *text, char *why)
{
	uint8_t a[16];
	int fam = strchr(text, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(fam, text, a) != 1)
		return REFUSE("san-ip: %.64s is not an IP address", text);
	if (fam == AF_INET6 && prof_ip_v4mapped(a))
		return REFUSE("san-ip: %.64s is an IPv4-mapped IPv6 address; use the IPv4 address", text);
	for (unsigned i = 0; i < p->n_ip; i++) {
		const struct prof_iprange *r = &p->ip_ranges[i];
		if (r->family == fam && prof_bits_equal(a, r->addr, r->prefix))
			return 0;
	}
	return REFUSE("san-ip: %.64s is outside the allowed IP ranges", text);
}

/* RFC 5321 atext (RFC 5322 3.2.3): letters, digits and !#$%&'*+-/=?^_`{|}~ */
static bool prof_atext(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* A dot-atom of 1..PROF_EMAIL_LOCAL_MAX characters: atext runs joined by single dots. */
static bool prof_email_local_ok(const char *local, size_t len)
{
	if (len == 0 || len > PROF_EMAIL_LOCAL_MAX || local[0] == '.' || local[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++)
		if (local[i] == '.' ? local[i + 1] == '.' : !prof_atext(local[i]))
			return false;
	return true;
}

/* local@domain: a dot-atom local part, exactly one '@', a DNS name (no wildcard) within the DNS suffixes */
static int prof_email_ok(const struct profile *p, const char *addr, char *why)
{
	const char *at = strchr(addr, '@');
	bool wild = false;
	if (!p->allow_email)
		return REFUSE("san-email: email names are not allowed by profile %s", p->name);
	if (!at || strchr(at + 1, '@') || !prof_email_local_ok(addr, (size_t)(at - addr)))
		return REFUSE("san-email: %.64s is not a valid address (local@domain, dot-atom local part)", addr);
	if (!prof_dns_syntax(at + 1, &wild) || wild)
		return REFUSE("san-email: %.64s: the domain is not a valid DNS name", addr);
	if (!prof_dns_ok(p, at + 1))
		return REFUSE("san-email: %.64s: the domain is outside the allowed DNS suffixes", addr);
	return 0;
}

int profile_check_request(const struct profile *p, EVP_PKEY *key, const int *san_types, const char *const *sans,
			  size_t n_sans, char *why)
{
	if (!(prof_keytype_of(key) & p->key_types)) {
		char have[48], allowed[64];
		prof_keytype_name(key, have, sizeof(have));
		prof_keytypes_allowed(p, allowed, sizeof(allowed));
		return REFUSE("key-type: the key is %s, which profile %s does not allow (it allows %s)", have, p->name,
			      allowed);
	}
	if (n_sans == 0)
		return REFUSE("san: at least one subjectAltName is required");
	if (n_sans > p->max_sans)
		return REFUSE("san-count: %zu names, profile %s allows %u", n_sans, p->name, p->max_sans);
	for (size_t i = 0; i < n_sans; i++) {
		bool wild = false;
		if (san_types[i] == 1) {
			if (!prof_dns_syntax(sans[i], &wild))
				return REFUSE("san-dns: %s is not a valid DNS name", sans[i]);
			if (wild && !p->allow_wildcard)
				return REFUSE("san-wildcard: wildcard names are not allowed by profile %s", p->name);
			if (wild ? !prof_wild_ok(p, sans[i] + 2) : !prof_dns_ok(p, sans[i]))
				return REFUSE("san-dns: %s is outside the allowed DNS suffixes", sans[i]);
			/* "*.corp" under ".corp": TLS clients (OpenSSL, BoringSSL, browsers) match no name by a
			 * wildcard with fewer than two labels after it, so it would be a certificate for nothing */
			if (wild && !strchr(sans[i] + 2, '.'))
				return REFUSE("san-wildcard: %s: a wildcard needs at least two labels after it", sans[i]);
		} else if (san_types[i] == 2) {
			int rc = prof_ip_ok(p, sans[i], why);
			if (rc)
				return rc;
		} else if (san_types[i] == 3) {
			int rc = prof_email_ok(p, sans[i], why);
			if (rc)
				return rc;
		} else {
			return REFUSE("san-type: only DNS, IP and (if allowed) email names");
		}
	}
	return 0;
}
