/* fuzz_cconf: cer_config_parse (hsm/ceremony/cconf.c), a key ceremony's config file. The first byte picks the
 * ceremony (init, root, intermediate, ocsp, resplit, checkpoint, sign-csr), the rest is the file. A refusal says why. An
 * acceptance keeps what the ceremony relies on before it touches the token: init has a token label, 2 <= m <=
 * n custodians of unique, valid names and no pin_verifier; resplit the same without a label, and a
 * pin_verifier or "none"; a certificate ceremony a key label, key type, a subject starting '/', validity within its kind's
 * limit, a pin_verifier, an issuer (but the root), a path length for root, intermediate and sign-csr; sign-csr
 * names no key of its own. */
#include <stdlib.h>

#include "ceremony.h"
#include "conf.h"
#include "fuzz_common.h"
#include "seal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum cer_kind kinds[] = { CER_INIT,   CER_ROOT,	   CER_INTERMEDIATE, CER_OCSP,
					       CER_RESPLIT, CER_CHECKPOINT, CER_SIGN_CSR };
	static const unsigned max_days[] = { [CER_ROOT] = CER_ROOT_MAX_DAYS, [CER_INTERMEDIATE] = CER_INT_MAX_DAYS,
					     [CER_OCSP] = CER_OCSP_MAX_DAYS, [CER_CHECKPOINT] = CER_CHECKPOINT_MAX_DAYS,
					     [CER_SIGN_CSR] = CER_INT_MAX_DAYS };
	struct cer_config *c = malloc(sizeof(*c));
	char err[CONF_ERR_MAX] = "";
	if (!c || size < 1) {
		free(c);
		return 0;
	}
	enum cer_kind kind = kinds[data[0] % 7];
	int rc = cer_config_parse(data + 1, size - 1, kind, c, err);
	if (rc) {
		FUZZ_CHECK(rc < 0 && err[0] != '\0');
		free(c);
		return 0;
	}
	if (kind == CER_INIT || kind == CER_RESPLIT) {
		FUZZ_CHECK(kind == CER_RESPLIT || c->token_label[0]);
		FUZZ_CHECK(c->n_custodians >= 2 && c->n_custodians <= CER_MAX_CUSTODIANS);
		FUZZ_CHECK(c->threshold >= 2 && c->threshold <= c->n_custodians);
		for (unsigned i = 0; i < c->n_custodians; i++) {
			FUZZ_CHECK(seal_name_ok(c->custodians[i], strlen(c->custodians[i])));
			for (unsigned k = 0; k < i; k++)
				FUZZ_CHECK(strcmp(c->custodians[i], c->custodians[k]) != 0);
		}
		FUZZ_CHECK(kind == CER_RESPLIT ? c->has_pin_verifier != c->no_pin_verifier
					       : !c->has_pin_verifier && !c->no_pin_verifier);
	} else {
		FUZZ_CHECK(kind == CER_SIGN_CSR ? !c->key_label[0] && !c->key_type : c->key_label[0] && c->key_type);
		FUZZ_CHECK(c->subject[0] == '/' && c->has_pin_verifier && !c->no_pin_verifier);
		FUZZ_CHECK(c->validity_days > 0 && c->validity_days <= max_days[kind]);
		FUZZ_CHECK(kind == CER_ROOT || (c->issuer_cert[0] && c->issuer_key_label[0]));
		FUZZ_CHECK((kind != CER_ROOT && kind != CER_INTERMEDIATE && kind != CER_SIGN_CSR) || c->path_length >= 0);
		X509_NAME *name = NULL;
		FUZZ_CHECK(cer_subject_parse(c->subject, &name) == 0 && X509_NAME_entry_count(name) > 0);
		X509_NAME_free(name);
	}
	free(c);
	return 0;
}
