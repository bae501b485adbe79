/* fuzz_profile: the frontend's profile file (policy/profile.c) over the config reader. Whatever the input,
 * a refusal says why, and an accepted file holds only profiles that keep to their kind: names and lists
 * within their bounds, a CA profile with keyCertSign and a path_length within PROF_PATH_LENGTH_MAX, a leaf
 * profile without keyCertSign, cRLSign or path_length and with an EKU, every required field present (the CRL
 * and OCSP URLs http:// or https:// without spaces). The same bytes then give each profile its recorded
 * definition (frontend/profrec.c): one per profile, every line "key = value", no cfssl_key in clear. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>

#include "conf.h"
#include "fuzz_common.h"
#include "profile.h"
#include "profrec.h"

static void fuzz_profile_check(const struct profile *p)
{
	const uint16_t ca_bits = TBS_KU_KEY_CERT_SIGN | TBS_KU_CRL_SIGN;
	FUZZ_CHECK(p->name[0] && memchr(p->name, 0, sizeof(p->name)));
	FUZZ_CHECK(p->issuer[0] && p->issuer_cert[0] && p->key_types && p->max_validity_days && p->max_sans &&
		   p->key_usage && p->n_accounts);
	FUZZ_CHECK(p->n_dns <= PROF_LIST_MAX && p->n_ip <= PROF_LIST_MAX && p->n_accounts <= PROF_LIST_MAX &&
		   p->n_eku <= TBS_MAX_EKU);
	for (unsigned i = 0; i < p->n_ip; i++)
		FUZZ_CHECK(p->ip_ranges[i].prefix <= (p->ip_ranges[i].family == AF_INET ? 32u : 128u));
	if (p->ca)
		FUZZ_CHECK((p->key_usage & TBS_KU_KEY_CERT_SIGN) && p->has_path_length && p->n_dns > 0 &&
			   p->path_length <= PROF_PATH_LENGTH_MAX && !p->login && !p->allow_wildcard && !p->allow_email &&
			   p->dn_prefix_len <= sizeof(p->dn_prefix) &&
			   (!p->dn_prefix_len ||
			    policy_dn_within(span_make(p->dn_prefix, p->dn_prefix_len), p->dn_prefix, p->dn_prefix_len)));
	else
		FUZZ_CHECK(!(p->key_usage & ca_bits) && !p->has_path_length && p->n_eku > 0 && p->dn_prefix_len == 0);
	FUZZ_CHECK(!p->cfssl_key_len == !p->cfssl_account[0]);
	FUZZ_CHECK((!strncmp(p->crl_url, "http://", 7) || !strncmp(p->crl_url, "https://", 8)) &&
		   !strchr(p->crl_url, ' '));
	FUZZ_CHECK((!strncmp(p->ocsp_url, "http://", 7) || !strncmp(p->ocsp_url, "https://", 8)) &&
		   !strchr(p->ocsp_url, ' '));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct profiles ps; /* large: not on the stack */
	char err[CONF_ERR_MAX];
	err[0] = 0;
	int rc = profiles_parse("fuzz", (const char *)data, size, &ps, err);
	if (rc) {
		FUZZ_CHECK(err[0] != 0 && memchr(err, 0, sizeof(err)));
		return 0;
	}
	FUZZ_CHECK(ps.n <= PROF_MAX);
	for (unsigned i = 0; i < ps.n; i++) {
		fuzz_profile_check(&ps.p[i]);
		FUZZ_CHECK(profiles_find(&ps, ps.p[i].name) == &ps.p[i]); /* names are unique */
	}
	char *defs[PROF_MAX];
	FUZZ_CHECK(profrec_definitions((const char *)data, size, &ps, defs, err) == 0);
	for (unsigned i = 0; i < PROF_MAX; i++) {
		FUZZ_CHECK((i < ps.n) == (defs[i] != NULL));
		if (!defs[i])
			continue;
		unsigned keys = 0;
		for (const char *l = defs[i]; *l; l = strchr(l, '\n') + 1) {
			FUZZ_CHECK(strchr(l, '\n') && strstr(l, " = ") && strstr(l, " = ") < strchr(l, '\n'));
			if (!strncmp(l, "cfssl_key = ", 12)) {
				FUZZ_CHECK(!strncmp(l + 12, "sha256:", 7) && strchr(l, '\n') - l == 12 + 7 + 64);
				keys++;
			}
		}
		FUZZ_CHECK(keys == (ps.p[i].cfssl_key_len ? 1u : 0u));
	}
	profrec_free(defs);
	return 0;
}
