#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "pinwire.h"

#define CERR(...) (snprintf(err, CONF_ERR_MAX, __VA_ARGS__), HSMCA_ERR_CONFIG)

struct sgn_conf_ctx {
	struct sgn_config *c;
	struct sgn_key_conf *key; /* current [key NAME] section */
	unsigned seen_main;       /* keys given in [signer] */
	unsigned seen_key;        /* keys given in the current [key] section */
};

/* Each key at most once per section: a repeated line would silently override or accumulate. */
static int sgn_conf_once(unsigned *seen, const char *key, unsigned line, char *err)
{
	static const char *const names[] = { "module", "token_label", "token_serial", "p11kit_server_address",
					     "socket", "control_socket", "user", "socket_group", "workers",
					     "session_copy", "label", "cert", "issuer_cert", "operations", "ca",
					     "max_pathlen", "key_usage", "eku", "max_validity_days", "max_crl_days",
					     "ocsp_delegated", "ca_permitted", "unseal_timeout_seconds",
					     "pin_verifier", "max_ocsp_days", "module_dirs", "ca_permitted_dn",
					     "leaf_permitted", "crl_url", "ocsp_url", "leaf_wildcard", "custodians" };
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(names[i], key)) {
			if (*seen & (1u << i))
				return CERR("line %u: %s given twice in this section", line, key);
			*seen |= 1u << i;
		}
	return 0;
}

static int sgn_conf_list(const char *v, unsigned line, char *err, int (*each)(void *, const char *, unsigned, char *),
			 void *arg)
{
	char tok[CONF_LINE_MAX + 1];
	struct conf_list l = { .p = v };
	int rc;
	while ((rc = conf_list_next(&l, tok, sizeof(tok))) == 1)
		if ((rc = each(arg, tok, line, err)))
			return rc;
	return rc ? CERR("line %u: an empty item in a list (\"a,,b\", a comma at its start or end)", line) : 0;
}

static int sgn_conf_dir(void *arg, const char *tok, unsigned line, char *err)
{
	struct sgn_config *c = arg;
	if (c->n_module_dirs >= SGN_LANDLOCK_DIRS_MAX)
		return CERR("line %u: module_dirs: at most %d directories", line, SGN_LANDLOCK_DIRS_MAX);
	if (tok[0] != '/' || !conf_value_str(tok, c->module_dirs[c->n_module_dirs], SGN_PATH_MAX))
		return CERR("line %u: module_dirs: %s is not an absolute path", line, tok);
	c->n_module_dirs++;
	return 0;
}

static int sgn_conf_custodian(void *arg, const char *tok, unsigned line, char *err)
{
	char why[QUORUM_ERR_MAX];
	if (quorum_roster_add(arg, tok, why))
		return CERR("line %u: %s", line, why);
	return 0;
}

static int sgn_conf_op(void *arg, const char *tok, unsigned line, char *err)
{
	struct policy_profile *p = arg;
	if (!strcmp(tok, "cert"))
		p->allow_cert = true;
	else if (!strcmp(tok, "crl"))
		p->allow_crl = true;
	else if (!strcmp(tok, "ocsp"))
		p->allow_ocsp = true;
	else if (!strcmp(tok, "checkpoint"))
		p->allow_checkpoint = true;
	else
		return CERR("line %u: unknown operation %s (cert, crl, ocsp, checkpoint)", line, tok);
	return 0;
}

static int sgn_conf_ku(void *arg, const char *tok, unsigned line, char *err)
{
	struct policy_profile *p = arg;
	uint16_t bit;
	if (!policy_ku_bit(tok, &bit))
		return CERR("line %u: unknown key usage %s", line, tok);
	p->ku_allowed |= bit;
	return 0;
}

static int sgn_conf_eku(void *arg, const char *tok, unsigned line, char *err)
{
	struct policy_profile *p = arg;
	struct span oid;
	if (!policy_eku_oid(tok, &oid))
		return CERR("line %u: unknown extended key usage %s", line, tok);
	if (p->n_eku >= TBS_MAX_EKU)
		return CERR("line %u: too many extended key usages", line);
	memcpy(p->eku[p->n_eku], oid.data, oid.len);
	p->eku_len[p->n_eku++] = oid.len;
	return 0;
}

/* Where the entries of ca_permitted or leaf_permitted go (policy_profile's ca_* or leaf_* arrays). */
struct sgn_conf_names {
	const char *key;
	size_t *n_dns, *n_ip;
	char (*dns)[POLICY_NC_NAME_MAX];
	struct policy_iprange *ip;
};

/* ca_permitted and leaf_permitted entries: DNS:NAME (".example.com" or "example.com", lowercase letters,
 * digits, '-' and '.') or IP:ADDRESS/PREFIX. */
static int sgn_conf_nc(void *arg, const char *tok, unsigned line, char *err)
{
	const struct sgn_conf_names *t = arg;
	if (!strncmp(tok, "DNS:", 4)) {
		const char *d = tok + 4;
		size_t n = strlen(d);
		if (*t->n_dns >= POLICY_NC_MAX || !pinwire_dns_ok(d, n))
			return CERR("line %u: %s %s: a DNS name of lowercase letters, digits, '-' and '.', "
				    "at most %d of them", line, t->key, tok, POLICY_NC_MAX);
		memcpy(t->dns[(*t->n_dns)++], d, n + 1);
		return 0;
	}
	if (!strncmp(tok, "IP:", 3) && *t->n_ip < POLICY_NC_MAX) {
		char addr[INET6_ADDRSTRLEN + 1];
		const char *slash = strchr(tok + 3, '/');
		uint64_t prefix;
		struct policy_iprange *r = &t->ip[*t->n_ip];
		if (slash && (size_t)(slash - tok - 3) < sizeof(addr)) {
			memcpy(addr, tok + 3, (size_t)(slash - tok - 3));
			addr[slash - tok - 3] = 0;
			r->v6 = strchr(addr, ':') != NULL;
			if (inet_pton(r->v6 ? AF_INET6 : AF_INET, addr, r->addr) == 1 &&
			    conf_value_uint(slash + 1, r->v6 ? 128 : 32, &prefix)) {
				r->prefix = (unsigned)prefix;
				for (unsigned b = r->prefix; b < 128; b++) /* the base address */
					r->addr[b / 8] &= (uint8_t) ~(0x80 >> (b % 8));
				(*t->n_ip)++;
				return 0;
			}
		}
	}
	return CERR("line %u: %s %s: DNS:NAME or IP:ADDRESS/PREFIX, at most %d of each", line, t->key, tok,
		    POLICY_NC_MAX);
}

/* NULL, or a CA pin entry (ca_dns, ca_ip) that reaches past the leaf pin: a CA signed under it could name
 * what the key itself may not (as text, in buf). */
static const char *sgn_conf_ca_past_leaf(const struct policy_profile *p, char *buf, size_t cap)
{
	for (size_t i = 0; i < p->n_ca_dns; i++) {
		bool ok = false;
		for (size_t k = 0; !ok && k < p->n_leaf_dns; k++)
			ok = policy_dns_within(p->ca_dns[i], p->leaf_dns[k]);
		if (!ok)
			return snprintf(buf, cap, "DNS:%s", p->ca_dns[i]), buf;
	}
	for (size_t i = 0; i < p->n_ca_ip; i++) {
		const struct policy_iprange *c = &p->ca_ip[i];
		bool ok = false;
		for (size_t k = 0; !ok && k < p->n_leaf_ip; k++)
			ok = policy_range_within(c->v6, c->addr, c->prefix, &p->leaf_ip[k]);
		if (!ok) {
			char a[INET6_ADDRSTRLEN];
			inet_ntop(c->v6 ? AF_INET6 : AF_INET, c->addr, a, sizeof(a));
			return snprintf(buf, cap, "IP:%s/%u", a, c->prefix), buf;
		}
	}
	return NULL;
}

static int sgn_conf_key(struct sgn_key_conf *k, const char *key, const char *v, unsigned line, char *err)
{
	struct policy_profile *p = &k->profile;
	uint64_t n;
	bool ok = true;
	if (!strcmp(key, "label")) {
		if (!conf_value_str(v, k->label, sizeof(k->label)) || !frame_label_ok(span_make(k->label, strlen(k->label))))
			return CERR("line %u: label %s: 1 to %d printable ASCII characters without space (as requests "
				    "name it)", line, v, FRAME_LABEL_MAX);
	}
	else if (!strcmp(key, "cert"))
		ok = conf_value_str(v, k->cert, sizeof(k->cert));
	else if (!strcmp(key, "issuer_cert"))
		ok = conf_value_str(v, k->issuer_cert, sizeof(k->issuer_cert));
	else if (!strcmp(key, "operations")) {
		k->have_ops = true;
		return sgn_conf_list(v, line, err, sgn_conf_op, p);
	} else if (!strcmp(key, "ca"))
		ok = conf_value_bool(v, &p->allow_ca);
	else if (!strcmp(key, "ca_permitted")) {
		struct sgn_conf_names t = { "ca_permitted", &p->n_ca_dns, &p->n_ca_ip, p->ca_dns, p->ca_ip };
		p->ca_pinned = true;
		return sgn_conf_list(v, line, err, sgn_conf_nc, &t);
	} else if (!strcmp(key, "leaf_permitted")) {
		struct sgn_conf_names t = { "leaf_permitted", &p->n_leaf_dns, &p->n_leaf_ip, p->leaf_dns, p->leaf_ip };
		p->leaf_pinned = true;
		return sgn_conf_list(v, line, err, sgn_conf_nc, &t);
	} else if (!strcmp(key, "leaf_wildcard"))
		ok = conf_value_bool(v, &p->leaf_wildcard);
	else if (!strcmp(key, "ca_permitted_dn")) {
		char why[POLICY_DN_WHY_MAX];
		if (policy_dn_parse(v, p->ca_dn, sizeof(p->ca_dn), &p->ca_dn_len, why))
			return CERR("line %u: ca_permitted_dn: %s", line, why);
		return 0;
	} else if (!strcmp(key, "max_pathlen"))
		ok = conf_value_uint(v, 16, &p->max_pathlen);
	else if (!strcmp(key, "key_usage"))
		return sgn_conf_list(v, line, err, sgn_conf_ku, p);
	else if (!strcmp(key, "eku"))
		return sgn_conf_list(v, line, err, sgn_conf_eku, p);
	else if (!strcmp(key, "max_validity_days")) {
		ok = conf_value_uint(v, 9125, &n);
		p->max_validity_days = (uint32_t)n;
	} else if (!strcmp(key, "max_crl_days")) {
		ok = conf_value_uint(v, 366, &n);
		p->max_crl_days = (uint32_t)n;
	} else if (!strcmp(key, "max_ocsp_days")) {
		ok = conf_value_uint(v, 366, &n) && n >= 1;
		p->max_ocsp_days = (uint32_t)n;
	} else if (!strcmp(key, "ocsp_delegated"))
		ok = conf_value_bool(v, &p->ocsp_delegated);
	else if (!strcmp(key, "crl_url") || !strcmp(key, "ocsp_url")) { /* policy_check_urls */
		char *dst = key[0] == 'c' ? p->crl_url : p->ocsp_url;
		if (!conf_value_str(v, dst, POLICY_URL_MAX) || !policy_url_ok(dst))
			return CERR("line %u: %s must be an http:// or https:// URL of printable ASCII without spaces, "
				    "shorter than %d bytes", line, key, POLICY_URL_MAX);
	} else
		return CERR("line %u: unknown key %s in a [key] section", line, key);
	return ok ? 0 : CERR("line %u: bad value for %s", line, key);
}

static int sgn_conf_main(struct sgn_config *c, const char *key, const char *v, unsigned line, char *err)
{
	uint64_t n;
	bool ok = true;
	if (!strcmp(key, "module"))
		ok = conf_value_str(v, c->module, sizeof(c->module));
	else if (!strcmp(key, "token_label"))
		ok = conf_value_str(v, c->token_label, sizeof(c->token_label));
	else if (!strcmp(key, "token_serial"))
		ok = conf_value_str(v, c->token_serial, sizeof(c->token_serial));
	else if (!strcmp(key, "p11kit_server_address"))
		ok = conf_value_str(v, c->p11kit_server_address, sizeof(c->p11kit_server_address));
	else if (!strcmp(key, "socket"))
		ok = conf_value_str(v, c->socket, sizeof(c->socket));
	else if (!strcmp(key, "control_socket"))
		ok = conf_value_str(v, c->control_socket, sizeof(c->control_socket));
	else if (!strcmp(key, "user"))
		ok = conf_value_str(v, c->user, sizeof(c->user));
	else if (!strcmp(key, "socket_group"))
		ok = conf_value_str(v, c->socket_group, sizeof(c->socket_group));
	else if (!strcmp(key, "workers")) {
		ok = conf_value_uint(v, SGN_MAX_WORKERS, &n) && n > 0;
		c->workers = (unsigned)n;
	} else if (!strcmp(key, "session_copy")) {
		ok = conf_value_bool(v, &c->session_copy);
	} else if (!strcmp(key, "unseal_timeout_seconds")) {
		ok = conf_value_uint(v, 86400, &n) && n > 0;
		c->unseal_timeout_seconds = (unsigned)n;
	} else if (!strcmp(key, "module_dirs")) {
		return sgn_conf_list(v, line, err, sgn_conf_dir, c);
	} else if (!strcmp(key, "pin_verifier")) {
		ok = conf_value_hex(v, c->pin_verifier, sizeof(c->pin_verifier));
		c->has_pin_verifier = ok;
	} else if (!strcmp(key, "custodians")) {
		return sgn_conf_list(v, line, err, sgn_conf_custodian, &c->custodians);
	}
	else
		return CERR("line %u: unknown key %s in [signer]", line, key);
	return ok ? 0 : CERR("line %u: bad value for %s", line, key);
}

static int sgn_conf_cb(void *vctx, const char *section, const char *key, const char *v, unsigned line, char *err)
{
	struct sgn_conf_ctx *ctx = vctx;
	if (!key) { /* section header */
		ctx->key = NULL;
		ctx->seen_key = 0;
		if (!strcmp(section, "signer"))
			return 0;
		if (strncmp(section, "key ", 4) != 0)
			return CERR("line %u: unknown section [%s]", line, section);
		if (ctx->c->n_keys >= SGN_MAX_KEYS)
			return CERR("line %u: more than %d keys", line, SGN_MAX_KEYS);
		ctx->key = &ctx->c->keys[ctx->c->n_keys++];
		if (!conf_value_str(section + 4, ctx->key->name, sizeof(ctx->key->name)))
			return CERR("line %u: key name too long", line);
		return 0;
	}
	int rc = sgn_conf_once(ctx->key ? &ctx->seen_key : &ctx->seen_main, key, line, err);
	if (rc)
		return rc;
	if (ctx->key)
		return sgn_conf_key(ctx->key, key, v, line, err);
	if (strcmp(section, "signer") != 0)
		return CERR("line %u: key %s outside [signer]", line, key);
	return sgn_conf_main(ctx->c, key, v, line, err);
}

unsigned sgn_key_advice(const struct sgn_key_conf *k, struct sgn_advice out[SGN_ADVICE_MAX])
{
	const struct policy_profile *p = &k->profile;
	unsigned n = 0;
	if (p->allow_ca && !p->ca_pinned)
		out[n++] = (struct sgn_advice){ "ca_unpinned", "may sign CA certificates for any names (no ca_permitted)" };
	if (p->ca_pinned && !p->ca_dn_len)
		out[n++] = (struct sgn_advice){ "ca_dn_open",
						"may sign CA certificates for any subject names (no ca_permitted_dn; "
						"Go's crypto/x509 refuses a CA with directoryName constraints)" };
	if (p->allow_cert && !p->leaf_pinned)
		out[n++] = (struct sgn_advice){ "leaf_unpinned", "may sign end-entity certificates for any names (no "
								 "leaf_permitted)" };
	if (p->allow_checkpoint && (p->allow_cert || p->allow_crl || p->allow_ocsp))
		out[n++] = (struct sgn_advice){ "checkpoint_key_shared",
						"signs audit checkpoints as well as certificates, CRLs or OCSP "
						"responses (a dedicated key: hsmca-ceremony checkpoint)" };
	return n;
}

void sgn_config_socket_dir(const char *sock, char out[SGN_PATH_MAX])
{
	const char *slash = strrchr(sock, '/');
	size_t n = slash ? (size_t)(slash - sock) : 0;
	snprintf(out, SGN_PATH_MAX, "%.*s", (int)(n ? n : 1), n ? sock : "/");
}

/* dir without trailing slashes ("/" stays) */
static size_t sgn_path_len(const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	return n;
}

/* True if dir is inner or inside it (both absolute). */
static bool sgn_path_within(const char *inner, const char *dir)
{
	size_t n = sgn_path_len(dir), m = sgn_path_len(inner);
	if (n == 1)
		return true; /* "/" */
	return m >= n && strncmp(inner, dir, n) == 0 && (m == n || inner[n] == '/');
}

/* Landlock grants rights on whole subtrees (landlock.h): a module directory of "/" would grant nothing less
 * than everything, and the sockets' directories may remove files, so they must not hold the module's. */
static int sgn_config_check_dirs(const char *path, const struct sgn_config *c, char *err)
{
	const char *socks[2] = { c->socket, c->control_socket };
	for (unsigned i = 0; i < c->n_module_dirs; i++)
		if (sgn_path_len(c->module_dirs[i]) == 1)
			return CERR("%s: module_dirs: / would confine nothing", path);
	for (unsigned s = 0; s < 2; s++) {
		char dir[SGN_PATH_MAX];
		sgn_config_socket_dir(socks[s], dir);
		if (sgn_path_len(dir) == 1)
			return CERR("%s: %s: the sockets need a directory of their own, not /", path, socks[s]);
		for (unsigned i = 0; i < c->n_module_dirs; i++)
			if (sgn_path_within(c->module_dirs[i], dir))
				return CERR("%s: %s: its directory holds module_dirs %s (the signer may remove files where "
					    "its sockets are: give them a directory of their own)", path, socks[s],
					    c->module_dirs[i]);
	}
	return 0;
}

#define SGN_OCSP_DAYS_DEFAULT 7 /* max_ocsp_days when not given: a week, as RFC 5019 responders commonly use */

static void sgn_config_defaults(struct sgn_config *out)
{
	memset(out, 0, sizeof(*out));
	out->session_copy = true;
	out->unseal_timeout_seconds = 900;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	out->workers = ncpu < 2 ? 2 : (ncpu > SGN_MAX_WORKERS ? SGN_MAX_WORKERS : (unsigned)ncpu);
}

/* What no single line can say: required keys, keys that go together, unique names and labels. */
static int sgn_config_validate(const char *path, struct sgn_config *out, char *err)
{
	if (!out->module[0] || (!out->token_label[0] && !out->token_serial[0]) || !out->socket[0] ||
	    !out->control_socket[0])
		return CERR("%s: module, token_label or token_serial, socket and control_socket are required", path);
	if (out->n_keys == 0)
		return CERR("%s: no [key NAME] section", path);
	/* signing with the token object itself makes an in-process module such as SoftHSM open and lock its token
	 * files on every signature, which the sandbox forbids (the first request would kill the signer); behind
	 * p11-kit server the module runs in its own process */
	if (!out->session_copy && !out->p11kit_server_address[0])
		return CERR("%s: session_copy = no needs p11kit_server_address (an in-process module would open its "
			    "token files per signature, which the sandbox forbids)", path);
	if (out->socket[0] != '/' || out->control_socket[0] != '/')
		return CERR("%s: socket and control_socket must be absolute paths", path);
	if (!out->p11kit_server_address[0] && out->n_module_dirs == 0)
		return CERR("%s: an in-process module needs module_dirs (the directories it reads and writes once "
			    "running, e.g. SoftHSM's directories.tokendir): the sandbox confines files to them", path);
	if (out->p11kit_server_address[0] && out->n_module_dirs > 0)
		return CERR("%s: module_dirs is for an in-process module (behind p11-kit server the signer opens no "
			    "file)", path);
	/* with an address the signer takes the module for one in another process (it drops privileges before
	 * opening it, and seals no file access for it): an in-process module, which ignores the address, was
	 * killed by the sandbox at the first share's login */
	const char *base = strrchr(out->module, '/');
	base = base ? base + 1 : out->module;
	if (out->p11kit_server_address[0] && strncmp(base, "p11-kit-client", 14) != 0)
		return CERR("%s: p11kit_server_address is for p11-kit's client module (p11-kit-client.so), not %s",
			    path, base);
	int rc = sgn_config_check_dirs(path, out, err);
	if (rc)
		return rc;
	for (unsigned i = 0; i < out->n_keys; i++) {
		struct sgn_key_conf *k = &out->keys[i];
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(out->keys[j].name, k->name) || !strcmp(out->keys[j].label, k->label))
				return CERR("%s: key %s: a key section with this name or label %s exists already", path,
					    k->name, k->label);
		if (!k->label[0] || !k->cert[0] || !k->have_ops)
			return CERR("%s: key %s needs label, cert and operations", path, k->name);
		if (k->profile.allow_cert && k->profile.max_validity_days == 0)
			return CERR("%s: key %s signs certificates: max_validity_days is required", path, k->name);
		if (k->profile.allow_crl && k->profile.max_crl_days == 0)
			return CERR("%s: key %s signs CRLs: max_crl_days is required", path, k->name);
		if (k->profile.ca_pinned && (!k->profile.allow_ca || k->profile.n_ca_dns == 0))
			return CERR("%s: key %s: ca_permitted needs ca = yes and at least one DNS: entry", path, k->name);
		if (k->profile.leaf_pinned && (!k->profile.allow_cert || k->profile.n_leaf_dns + k->profile.n_leaf_ip == 0))
			return CERR("%s: key %s: leaf_permitted needs operations = cert and at least one entry", path, k->name);
		if (k->profile.leaf_wildcard && !k->profile.leaf_pinned)
			return CERR("%s: key %s: leaf_wildcard is part of leaf_permitted's pin", path, k->name);
		if (k->profile.leaf_pinned && k->profile.allow_ca && !k->profile.ca_pinned)
			return CERR("%s: key %s: leaf_permitted with ca = yes needs ca_permitted (a CA it signed could "
				    "name anything below it)", path, k->name);
		char past[INET6_ADDRSTRLEN + 80];
		if (k->profile.leaf_pinned && sgn_conf_ca_past_leaf(&k->profile, past, sizeof(past)))
			return CERR("%s: key %s: ca_permitted %s reaches past leaf_permitted (a CA it signed could name "
				    "what the key may not)", path, k->name, past);
		if (k->profile.ca_dn_len && !k->profile.ca_pinned)
			return CERR("%s: key %s: ca_permitted_dn is part of ca_permitted's pin", path, k->name);
		/* a certificate with id-kp-OCSPSigning from an issuing key is a delegated responder for every
		 * certificate of that key (OpenSSL's OCSP_basic_verify takes it): its holder answers "good" for any
		 * serial, past every OCSP rule here. Responders' certificates come from the ceremony, never online. */
		struct span ocsp_eku;
		if (k->profile.allow_cert && policy_eku_oid("OCSPSigning", &ocsp_eku))
			for (unsigned e = 0; e < k->profile.n_eku; e++)
				if (k->profile.eku_len[e] == ocsp_eku.len &&
				    !memcmp(k->profile.eku[e], ocsp_eku.data, ocsp_eku.len))
					return CERR("%s: key %s signs certificates: its eku cannot name OCSPSigning (a "
						    "certificate with it could answer OCSP for every certificate of the "
						    "key; the ceremony makes the responder's)", path, k->name);
		if (k->profile.max_ocsp_days == 0)
			k->profile.max_ocsp_days = SGN_OCSP_DAYS_DEFAULT;
		if (k->profile.ocsp_delegated && !k->issuer_cert[0])
			return CERR("%s: key %s is a delegated OCSP responder: issuer_cert is required", path, k->name);
	}
	return 0;
}

int sgn_config_load(const char *path, struct sgn_config *out, char *err)
{
	struct sgn_conf_ctx ctx = { out, NULL, 0, 0 };
	sgn_config_defaults(out);
	int rc = conf_parse_file(path, sgn_conf_cb, &ctx, err);
	return rc ? rc : sgn_config_validate(path, out, err);
}

int sgn_config_parse(const char *name, const char *text, size_t len, struct sgn_config *out, char *err)
{
	struct sgn_conf_ctx ctx = { out, NULL, 0, 0 };
	sgn_config_defaults(out);
	int rc = conf_parse(text, len, sgn_conf_cb, &ctx, err);
	return rc ? rc : sgn_config_validate(name, out, err);
}
