/* The CFSSL body parsers (frontend/cfssl.c): authsign (outer JSON, strict base64, inner JSON) and sign (the
 * inner JSON alone), both on every input. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cfssl.h"
#include "issue.h"
#include "json.h"

/* what the handlers rely on */
static bool request_ok(const struct cfssl_request *r)
{
	return r->csr && r->csr_len == strlen(r->csr) && (!r->hosts || json_type(r->hosts) == JSON_ARRAY);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfssl_authsign a;
	char why[ISSUE_WHY_MAX];
	if (cfssl_authsign_parse(data, size, &a, why) == 0) {
		if (!a.req || !request_ok(&a.r))
			__builtin_trap();
	} else if (why[0] == 0) {
		__builtin_trap(); /* every refusal says why */
	}
	cfssl_authsign_free(&a);
	struct cfssl_sign s;
	why[0] = 0;
	if (cfssl_sign_parse(data, size, &s, why) == 0) {
		if (!s.doc || !request_ok(&s.r))
			__builtin_trap();
	} else if (why[0] == 0) {
		__builtin_trap();
	}
	cfssl_sign_free(&s);
	return 0;
}
