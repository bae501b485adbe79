/* fuzz_pinwire: the signer's HELLO reply as the frontend reads it at start-up (policy/pinwire.c), then the
 * profiles check over the keys it names (policy/profcheck.c). An accepted reply is canonical (built again from
 * what was parsed it gives the same bytes), its labels and pins are within the bounds the signer's own config
 * holds them to, and profcheck over them runs to the end with one line per mismatch it counts. A refused one
 * leaves nothing behind. */
#include <stdio.h>
#include <stdlib.h>

#include "conf.h"
#include "fuzz_common.h"
#include "pinwire.h"
#include "profcheck.h"
#include "profile.h"

static const char fuzz_profiles_text[] =
	"[profile web]\nissuer = int\nissuer_cert = /dev/null\nkey_types = p256, rsa2048\nmax_sans = 4\n"
	"crl_url = http://ca.example.com/int.crl\nocsp_url = http://ca.example.com/ocsp\naccounts = alice\n"
	"max_validity_days = 90\nkey_usage = digitalSignature, keyEncipherment\neku = serverAuth, clientAuth\n"
	"dns_suffixes = .example.com, example.com\nip_ranges = 10.1.0.0/16, fd00::/8\n"
	"[profile sub]\nissuer = int\nissuer_cert = /dev/null\nkey_types = p256\nmax_sans = 1\nca = yes\n"
	"path_length = 0\ndn_prefix = /C=US/O=Example\n"
	"crl_url = http://ca.example.com/int.crl\nocsp_url = http://ca.example.com/ocsp\naccounts = alice\n"
	"max_validity_days = 365\nkey_usage = keyCertSign, cRLSign\neku = serverAuth\n"
	"dns_suffixes = .team.example.com\nip_ranges = 10.20.0.0/16\n";

static void fuzz_pinwire_names(const char (*dns)[POLICY_NC_NAME_MAX], size_t n_dns, const struct policy_iprange *ip,
			       size_t n_ip)
{
	FUZZ_CHECK(n_dns <= POLICY_NC_MAX && n_ip <= POLICY_NC_MAX);
	for (size_t i = 0; i < n_dns; i++)
		FUZZ_CHECK(pinwire_dns_ok(dns[i], strnlen(dns[i], POLICY_NC_NAME_MAX)));
	for (size_t i = 0; i < n_ip; i++) {
		FUZZ_CHECK(ip[i].prefix <= (ip[i].v6 ? 128u : 32u));
		for (unsigned b = ip[i].prefix; b < 128; b++)
			FUZZ_CHECK(!(ip[i].addr[b / 8] & (0x80 >> (b % 8))));
	}
}

static unsigned fuzz_pinwire_lines(const char *text)
{
	unsigned n = 0;
	for (const char *p = text; (p = strstr(p, "error: profile ")) != NULL; p++)
		n++;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct pinwire_hello h; /* large: not on the stack */
	static struct profiles ps;
	static bool loaded;
	static char report[1 << 16];
	struct profcheck_key keys[PINWIRE_KEYS_MAX];
	char err[CONF_ERR_MAX];
	if (!loaded) {
		FUZZ_CHECK(profiles_parse("fuzz", fuzz_profiles_text, strlen(fuzz_profiles_text), &ps, err) == 0);
		loaded = true;
	}
	if (!pinwire_hello_parse(span_make(data, size), &h)) {
		FUZZ_CHECK(h.n == 0 && h.version == 0 && h.k[0].label[0] == 0 && !h.unsealed.has && h.unsealed.n == 0);
		return 0;
	}
	FUZZ_CHECK(h.version == FRAME_VERSION && h.n <= PINWIRE_KEYS_MAX);
	struct dbuf b;
	dbuf_init(&b);
	pinwire_hello_start(&b, h.n);
	for (unsigned i = 0; i < h.n; i++) {
		const struct pinwire_key *k = &h.k[i];
		size_t ll = strnlen(k->label, sizeof(k->label));
		FUZZ_CHECK(ll >= 1 && ll <= FRAME_LABEL_MAX && (k->ops & ~PINWIRE_OPS_ALL) == 0);
		for (unsigned j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(h.k[j].label, k->label) != 0);
		const struct policy_profile *p = &k->pin;
		FUZZ_CHECK(p->max_pathlen <= 16 && p->max_validity_days <= 9125 && p->n_eku <= TBS_MAX_EKU);
		FUZZ_CHECK(p->ca_pinned || (!p->n_ca_dns && !p->n_ca_ip && !p->ca_dn_len));
		FUZZ_CHECK(p->leaf_pinned || (!p->n_leaf_dns && !p->n_leaf_ip));
		FUZZ_CHECK(!p->ca_dn_len || policy_dn_well_formed(span_make(p->ca_dn, p->ca_dn_len)));
		FUZZ_CHECK((!p->crl_url[0] || policy_url_ok(p->crl_url)) && (!p->ocsp_url[0] || policy_url_ok(p->ocsp_url)));
		fuzz_pinwire_names(p->ca_dns, p->n_ca_dns, p->ca_ip, p->n_ca_ip);
		fuzz_pinwire_names(p->leaf_dns, p->n_leaf_dns, p->leaf_ip, p->n_leaf_ip);
		pinwire_hello_add_key(&b, k->label, k->ops, p);
		keys[i] = (struct profcheck_key){ k->label, k->label, p };
	}
	if (h.unsealed.has) { /* the unseal record: within its rules, and written again byte for byte */
		const struct pinwire_unsealed *u = &h.unsealed;
		FUZZ_CHECK(u->n >= 1 && u->n <= PINWIRE_CUSTODIANS_MAX && u->token[0]);
		for (unsigned i = 0; i < u->n; i++) {
			FUZZ_CHECK(u->share[i] != 0 && u->custodian[i][0]);
			for (unsigned j = 0; j < i; j++)
				FUZZ_CHECK(u->share[j] != u->share[i] && strcmp(u->custodian[j], u->custodian[i]) != 0);
		}
		pinwire_hello_add_unsealed(&b, u);
	}
	FUZZ_CHECK(!b.failed && b.len == size && memcmp(b.data, data, size) == 0);
	dbuf_free(&b);
	report[0] = 0; /* fmemopen does not empty it: a run with nothing to say would read the last one's */
	FILE *f = fmemopen(report, sizeof(report), "w");
	FUZZ_CHECK(f != NULL);
	unsigned unfit = 0, bad = profcheck_run(keys, h.n, &ps, f, &unfit);
	FUZZ_CHECK(fclose(f) == 0);
	FUZZ_CHECK(fuzz_pinwire_lines(report) == bad);
	FUZZ_CHECK(unfit <= bad && unfit <= ps.n && (unfit == 0) == (bad == 0));
	return 0;
}
