/* Ceremony configs: declarative key = value files; unknown keys, and keys this ceremony does not take,
 * are errors with their line number. */
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "ceremony.h"
#include "conf.h"
#include "policy.h"
#include "seal.h"

#define CERR(...) (snprintf(err, CONF_ERR_MAX, __VA_ARGS__), HSMCA_ERR_CONFIG)

enum { K_INIT = 1 << CER_INIT, K_ROOT = 1 << CER_ROOT, K_INT = 1 << CER_INTERMEDIATE, K_OCSP = 1 << CER_OCSP,
       K_RESPLIT = 1 << CER_RESPLIT, K_CKPT = 1 << CER_CHECKPOINT, K_CSR = 1 << CER_SIGN_CSR,
       K_KEYS = K_ROOT | K_INT | K_OCSP | K_CKPT, /* ceremonies that make a key */
       K_CERTS = K_KEYS | K_CSR, K_SUB = K_INT | K_CSR };

struct cer_conf_ctx {
	struct cer_config *c;
	enum cer_kind kind;
	unsigned seen;
};

static int cer_conf_custodians(struct cer_config *c, const char *v, unsigned line, char *err)
{
	char t[CONF_LINE_MAX + 1];
	struct conf_list l = { .p = v };
	int rc;
	while ((rc = conf_list_next(&l, t, sizeof(t))) == 1) {
		if (c->n_custodians >= CER_MAX_CUSTODIANS)
			return CERR("line %u: more than %d custodians", line, CER_MAX_CUSTODIANS);
		if (!seal_name_ok(t, strlen(t)))
			return CERR("line %u: custodian name %s: use 1-64 of A-Z a-z 0-9 . _ -", line, t);
		for (unsigned i = 0; i < c->n_custodians; i++)
			if (!strcmp(c->custodians[i], t))
				return CERR("line %u: custodian %s listed twice", line, t);
		strcpy(c->custodians[c->n_custodians++], t);
	}
	return rc ? CERR("line %u: custodians: an empty name (\"a,,b\", a comma at the start or end)", line) : 0;
}

static int cer_conf_cb(void *vctx, const char *section, const char *key, const char *v, unsigned line, char *err)
{
	static const struct {
		const char *key;
		unsigned kinds;
	} keys[] = {
		{ "token_label", K_INIT }, { "custodians", K_INIT | K_RESPLIT }, { "threshold", K_INIT | K_RESPLIT },
		{ "audit_key_label", K_INIT | K_RESPLIT | K_CERTS }, { "key_label", K_KEYS }, { "key_type", K_KEYS },
		{ "subject", K_CERTS }, { "validity_days", K_CERTS }, { "path_length", K_ROOT | K_SUB },
		{ "issuer_cert", K_SUB | K_OCSP | K_CKPT }, { "issuer_key_label", K_SUB | K_OCSP | K_CKPT },
		{ "permitted_dns", K_ROOT | K_SUB }, { "excluded_dns", K_ROOT | K_SUB },
		{ "policy_oids", K_ROOT | K_SUB }, { "crl_url", K_SUB }, { "ocsp_url", K_SUB },
		{ "ca_issuers_url", K_SUB }, { "pin_verifier", K_RESPLIT | K_CERTS },
	};
	struct cer_conf_ctx *ctx = vctx;
	struct cer_config *c = ctx->c;
	uint64_t n;
	unsigned idx = sizeof(keys) / sizeof(keys[0]);
	if (!key || section[0])
		return CERR("line %u: sections are not used in ceremony configs", line);
	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i].key, key))
			idx = i;
	if (idx == sizeof(keys) / sizeof(keys[0]))
		return CERR("line %u: unknown key %s", line, key);
	if (!(keys[idx].kinds & (1u << ctx->kind)))
		return CERR("line %u: key %s does not belong in this ceremony", line, key);
	if (ctx->seen & (1u << idx))
		return CERR("line %u: key %s given twice", line, key);
	ctx->seen |= 1u << idx;
	bool ok = true;
#define STR(field) ok = conf_value_str(v, c->field, sizeof(c->field))
	if (!strcmp(key, "custodians"))
		return cer_conf_custodians(c, v, line, err);
	else if (!strcmp(key, "threshold")) {
		ok = conf_value_uint(v, CER_MAX_CUSTODIANS, &n) && n >= 2;
		c->threshold = (unsigned)n;
	} else if (!strcmp(key, "validity_days")) {
		ok = conf_value_uint(v, 100000, &n) && n > 0;
		c->validity_days = (unsigned)n;
	} else if (!strcmp(key, "path_length")) {
		ok = conf_value_uint(v, CER_MAX_PATHLEN, &n);
		c->path_length = (int)n;
	} else if (!strcmp(key, "key_type"))
		ok = p11_keytype_parse(v, &c->key_type);
	else if (!strcmp(key, "token_label")) {
		STR(token_label);
		/* as a share file carries it: a label with a tab made every share unreadable, found only after the
		 * token was initialised for good */
		struct span label = span_make(c->token_label, strlen(c->token_label));
		ok = ok && seal_printable(&label, SEAL_LABEL_MAX);
	}
	else if (!strcmp(key, "audit_key_label"))
		STR(audit_key_label);
	else if (!strcmp(key, "key_label"))
		STR(key_label);
	else if (!strcmp(key, "subject"))
		STR(subject);
	else if (!strcmp(key, "issuer_cert"))
		STR(issuer_cert);
	else if (!strcmp(key, "issuer_key_label"))
		STR(issuer_key_label);
	else if (!strcmp(key, "permitted_dns"))
		STR(permitted_dns);
	else if (!strcmp(key, "excluded_dns"))
		STR(excluded_dns);
	else if (!strcmp(key, "policy_oids"))
		STR(policy_oids);
	else if (!strcmp(key, "crl_url"))
		STR(crl_url);
	else if (!strcmp(key, "ocsp_url"))
		STR(ocsp_url);
	else if (!strcmp(key, "ca_issuers_url"))
		STR(ca_issuers_url);
	else if (!strcmp(key, "pin_verifier") && !strcmp(v, "none") && ctx->kind == CER_RESPLIT)
		c->no_pin_verifier = true; /* the resplit then writes the token's first verifier */
	else if (!strcmp(key, "pin_verifier"))
		ok = c->has_pin_verifier = conf_value_hex(v, c->pin_verifier, sizeof(c->pin_verifier));
#undef STR
	return ok ? 0 : CERR("line %u: bad value for %s", line, key);
}

/* Every ceremony that logs in with shares: m shares that agree with each other but rebuild another PIN (an old
 * split's, after a resplit) would each cost a failed C_Login, and a real HSM locks its user PIN after a few, for
 * good (the SO PIN was discarded at init). */
static int cer_conf_verifier(const struct cer_config *c, char *err)
{
	if (!c->has_pin_verifier && !c->no_pin_verifier)
		return CERR("needs pin_verifier (the init's or the last resplit's pin.verifier): without it, shares of "
			    "another split would be tried on the token, whose PIN locks after a few failed logins (a "
			    "token made before verifiers: resplit it once with pin_verifier = none)");
	return 0;
}

#define CER_DNS_MAX 253

/* A name constraint's DNS name: lower case letters, digits, '-' and '.', ".d" the names below d, labels of 1
 * to 63 bytes, at most CER_DNS_MAX bytes; an upper-case or trailing-dot name matches otherwise than meant, or
 * not at all, in verifiers. */
static bool cer_dns_ok(const char *s)
{
	size_t n = strlen(s), label = 0;
	if (n == 0 || n > CER_DNS_MAX || s[n - 1] == '.')
		return false;
	for (size_t i = s[0] == '.'; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-') && label < 63) {
			label++;
		} else {
			return false;
		}
	}
	return label > 0;
}

/* A list key of a certificate ceremony (permitted_dns, excluded_dns, policy_oids): no empty item, each of
 * policy_oids a dotted OID, each DNS name as cer_dns_ok takes it. Checked when the config is read, before any
 * key is generated. */
static int cer_conf_list(const char *key, const char *v, bool oids, char *err)
{
	char item[CER_TEXT_MAX];
	struct conf_list l = { .p = v };
	int rc;
	while ((rc = conf_list_next(&l, item, sizeof(item))) == 1) {
		ASN1_OBJECT *o = oids ? OBJ_txt2obj(item, 1) : NULL;
		ASN1_OBJECT_free(o);
		if (oids && !o)
			return CERR("%s: %s is not a dotted OID", key, item);
		if (!oids && !cer_dns_ok(item))
			return CERR("%s: %s is not a DNS name of lower case letters, digits, '-' and '.' (\".d\" the names "
				    "below d; labels of 1 to 63, at most %d bytes)", key, item, CER_DNS_MAX);
	}
	return rc ? CERR("%s: an empty item (\"a,,b\", a comma at the start or end)", key) : 0;
}

/* crl_url, ocsp_url, ca_issuers_url: as a signer key's pins take them (policy_url_ok), or absent */
static int cer_conf_urls(const struct cer_config *c, char *err)
{
	const struct {
		const char *key, *v;
	} urls[] = { { "crl_url", c->crl_url }, { "ocsp_url", c->ocsp_url }, { "ca_issuers_url", c->ca_issuers_url } };
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
		if (urls[i].v[0] && !policy_url_ok(urls[i].v))
			return CERR("%s must be an http:// or https:// URL of printable ASCII without spaces, shorter than "
				    "%d bytes", urls[i].key, POLICY_URL_MAX);
	return 0;
}

int cer_subject_parse(const char *text, X509_NAME **out)
{
	char buf[CER_TEXT_MAX], *save = NULL;
	X509_NAME *n = X509_NAME_new();
	snprintf(buf, sizeof(buf), "%s", text);
	size_t len = strlen(buf);
	if (!n || buf[0] != '/' || buf[len - 1] == '/' || strstr(buf, "//")) /* an empty part: a typo, refused */
		goto fail;
	for (char *rdn = strtok_r(buf + 1, "/", &save); rdn; rdn = strtok_r(NULL, "/", &save)) {
		char *eq = strchr(rdn, '=');
		if (!eq || eq == rdn || !eq[1])
			goto fail;
		*eq = 0;
		if (!X509_NAME_add_entry_by_txt(n, rdn, MBSTRING_UTF8, (unsigned char *)eq + 1, -1, -1, 0))
			goto fail;
	}
	if (X509_NAME_entry_count(n) == 0)
		goto fail;
	*out = n;
	return 0;
fail:
	X509_NAME_free(n);
	return HSMCA_ERR_CONFIG;
}

static int cer_conf_validate(const struct cer_config *c, enum cer_kind kind, char *err)
{
	if (kind == CER_INIT || kind == CER_RESPLIT) {
		if ((kind == CER_INIT && !c->token_label[0]) || c->n_custodians < 2 || c->threshold < 2 ||
		    c->threshold > c->n_custodians)
			return CERR("needs %scustodians (at least 2) and 2 <= threshold <= custodians",
				    kind == CER_INIT ? "token_label, " : "");
		return kind == CER_INIT ? 0 : cer_conf_verifier(c, err);
	}
	bool sub = kind == CER_INTERMEDIATE || kind == CER_SIGN_CSR;
	unsigned max = kind == CER_ROOT	      ? CER_ROOT_MAX_DAYS
		       : sub		      ? CER_INT_MAX_DAYS
		       : kind == CER_CHECKPOINT ? CER_CHECKPOINT_MAX_DAYS
						: CER_OCSP_MAX_DAYS;
	if (kind != CER_SIGN_CSR && (!c->key_label[0] || !c->key_type))
		return CERR("needs key_label, key_type, subject and validity_days");
	if (!c->subject[0] || !c->validity_days)
		return CERR("needs %ssubject and validity_days", kind == CER_SIGN_CSR ? "" : "key_label, key_type, ");
	X509_NAME *name = NULL;
	if (cer_subject_parse(c->subject, &name)) /* before any key is made for it */
		return CERR("subject must look like /C=US/O=Example/CN=Name, no part empty (got %s)", c->subject);
	X509_NAME_free(name);
	if (c->validity_days > max)
		return CERR("validity_days %u is over the limit of %u days for this certificate", c->validity_days, max);
	if (kind != CER_ROOT && (!c->issuer_cert[0] || !c->issuer_key_label[0]))
		return CERR("needs issuer_cert and issuer_key_label");
	/* the audit key signs transcripts and nothing else: a CA key signing one would sign bytes of the
	 * ceremony's choosing beside its certificates */
	if (!strcmp(c->audit_key_label, c->key_label) || !strcmp(c->audit_key_label, c->issuer_key_label))
		return CERR("audit_key_label %s is this ceremony's key_label or issuer_key_label: the audit key signs "
			    "transcripts only", c->audit_key_label);
	if ((kind == CER_ROOT || sub) && c->path_length < 0)
		return CERR("needs path_length");
	int rc;
	if ((rc = cer_conf_list("permitted_dns", c->permitted_dns, false, err)) ||
	    (rc = cer_conf_list("excluded_dns", c->excluded_dns, false, err)) ||
	    (rc = cer_conf_list("policy_oids", c->policy_oids, true, err)) || (rc = cer_conf_urls(c, err)))
		return rc;
	return cer_conf_verifier(c, err);
}

int cer_config_parse(const uint8_t *buf, size_t len, enum cer_kind kind, struct cer_config *out, char *err)
{
	struct cer_conf_ctx ctx = { out, kind, 0 };
	memset(out, 0, sizeof(*out));
	out->path_length = -1;
	strcpy(out->audit_key_label, "hsmca-audit");
	SHA256(buf, len, out->sha256);
	int rc = conf_parse((const char *)buf, len, cer_conf_cb, &ctx, err);
	return rc ? rc : cer_conf_validate(out, kind, err);
}

int cer_config_load(const char *path, enum cer_kind kind, struct cer_config *out)
{
	char err[CONF_ERR_MAX];
	FILE *f;
	static uint8_t buf[CONF_FILE_MAX + 1];
	size_t len;
	int rc;
	memset(out, 0, sizeof(*out));
	if (!(f = fopen(path, "re"))) {
		fprintf(stderr, "ceremony: cannot read config %s\n", path);
		return HSMCA_ERR_IO;
	}
	len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (len > CONF_FILE_MAX) {
		fprintf(stderr, "ceremony: config %s is larger than %u bytes\n", path, CONF_FILE_MAX);
		return HSMCA_ERR_LIMIT;
	}
	if ((rc = cer_config_parse(buf, len, kind, out, err)))
		fprintf(stderr, "ceremony: %s: %s\n", path, err);
	return rc;
}
