/* fuzz_sgnconf: the signer's config file (signer/config.c) over the config reader. A refusal says why; an
 * accepted file has every required key, unique key names and labels, and pinned profiles within their bounds:
 * a ca_permitted pin only on a CA key with at least one DNS name (ca_permitted_dn only with it), a
 * leaf_permitted pin only on a key that signs certificates, with at least one entry, pinned names and ranges
 * (of both) as the parser promises (lowercase DNS names without "..", IP base addresses with no bits past the prefix);
 * the custodians' roster of share names and distinct indices. */
#include <stdio.h>
#include <stdlib.h>

#include "config.h"
#include "conf.h"
#include "fuzz_common.h"

/* pinned names and ranges as the parser promises */
static void fuzz_sgnconf_names(const char (*dns)[POLICY_NC_NAME_MAX], size_t n_dns, const struct policy_iprange *ip,
			       size_t n_ip)
{
	for (size_t i = 0; i < n_dns; i++) {
		const char *d = dns[i];
		size_t n = strlen(d);
		FUZZ_CHECK(n > 0 && n < POLICY_NC_NAME_MAX && d[n - 1] != '.' && !strstr(d, ".."));
		for (size_t k = 0; k < n; k++)
			FUZZ_CHECK((d[k] >= 'a' && d[k] <= 'z') || (d[k] >= '0' && d[k] <= '9') || d[k] == '-' || d[k] == '.');
	}
	for (size_t i = 0; i < n_ip; i++) {
		const struct policy_iprange *r = &ip[i];
		FUZZ_CHECK(r->prefix <= (r->v6 ? 128u : 32u));
		for (unsigned b = r->prefix; b < 128; b++)
			FUZZ_CHECK(!(r->addr[b / 8] & (0x80 >> (b % 8))));
	}
}

static void fuzz_sgnconf_pins(const struct policy_profile *p)
{
	FUZZ_CHECK(p->n_ca_dns <= POLICY_NC_MAX && p->n_ca_ip <= POLICY_NC_MAX);
	FUZZ_CHECK(!p->ca_pinned || (p->allow_ca && p->n_ca_dns > 0));
	FUZZ_CHECK(p->ca_pinned || (p->n_ca_dns == 0 && p->n_ca_ip == 0 && p->ca_dn_len == 0));
	/* the pinned directory name is a well-formed Name of at least one RDN: it holds itself */
	FUZZ_CHECK(p->ca_dn_len <= sizeof(p->ca_dn));
	FUZZ_CHECK(!p->ca_dn_len || policy_dn_within(span_make(p->ca_dn, p->ca_dn_len), p->ca_dn, p->ca_dn_len));
	FUZZ_CHECK(p->n_leaf_dns <= POLICY_NC_MAX && p->n_leaf_ip <= POLICY_NC_MAX);
	FUZZ_CHECK(!p->leaf_pinned || (p->allow_cert && p->n_leaf_dns + p->n_leaf_ip > 0));
	FUZZ_CHECK(p->leaf_pinned || (p->n_leaf_dns == 0 && p->n_leaf_ip == 0));
	/* URL pins: none, or an http(s) URL as policy_url_ok takes it */
	FUZZ_CHECK(!p->crl_url[0] || policy_url_ok(p->crl_url));
	FUZZ_CHECK(!p->ocsp_url[0] || policy_url_ok(p->ocsp_url));
	FUZZ_CHECK(!p->leaf_pinned || !p->allow_ca || p->ca_pinned); /* the CA pin within it: config.c */
	fuzz_sgnconf_names(p->ca_dns, p->n_ca_dns, p->ca_ip, p->n_ca_ip);
	fuzz_sgnconf_names(p->leaf_dns, p->n_leaf_dns, p->leaf_ip, p->n_leaf_ip);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sgn_config c; /* large: not on the stack */
	char err[CONF_ERR_MAX];
	err[0] = 0;
	if (sgn_config_parse("fuzz", (const char *)data, size, &c, err)) {
		FUZZ_CHECK(err[0] != 0 && memchr(err, 0, sizeof(err)));
		return 0;
	}
	FUZZ_CHECK(c.module[0] && (c.token_label[0] || c.token_serial[0]) && c.socket[0] && c.control_socket[0]);
	FUZZ_CHECK(c.n_keys > 0 && c.n_keys <= SGN_MAX_KEYS && c.workers > 0);
	for (unsigned i = 0; i < c.n_keys; i++) {
		const struct sgn_key_conf *k = &c.keys[i];
		FUZZ_CHECK(k->label[0] && k->cert[0] && k->have_ops);
		FUZZ_CHECK(!k->profile.allow_cert || k->profile.max_validity_days > 0);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(c.keys[j].name, k->name) != 0 && strcmp(c.keys[j].label, k->label) != 0);
		fuzz_sgnconf_pins(&k->profile);
	}
	/* the custodians' roster: share names, indices 1..255, neither twice */
	FUZZ_CHECK(c.custodians.n <= SHAMIR_SHARES_MAX_Q);
	for (unsigned i = 0; i < c.custodians.n; i++) {
		FUZZ_CHECK(c.custodians.index[i] >= 1 && seal_name_ok(c.custodians.name[i], strlen(c.custodians.name[i])));
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(c.custodians.index[j] != c.custodians.index[i] &&
				   strcmp(c.custodians.name[j], c.custodians.name[i]) != 0);
	}
	return 0;
}
