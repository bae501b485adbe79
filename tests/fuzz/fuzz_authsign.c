/* The CFSSL body parsers (frontend/cfssl.c): authsign (outer JSON, strict base64, inner JSON) and sign (the
 * inner JSON alone), both on every input. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cfssl.h"
#include "issue.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfssl_authsign a;
	char why[ISSUE_WHY_MAX];
	if (cfssl_authsign_parse(data, size, &a, why) == 0) {
		/* what the handler relies on */
		if (!a.req || !a.csr || a.csr_len != strlen(a.csr) || (a.hosts && json_type(a.hosts) != JSON_ARRAY))
			__builtin_trap();
	} else if (why[0] == 0) {
		__builtin_trap(); /* every refusal says why */
	}
	cfssl_authsign_free(&a);
	struct cfssl_sign s;
	why[0] = 0;
	if (cfssl_sign_parse(data, size, &s, why) == 0) {
		if (!s.doc || !s.csr || s.csr_len != strlen(s.csr) || (s.hosts && json_type(s.hosts) != JSON_ARRAY))
			__builtin_trap();
	} else if (why[0] == 0) {
		__builtin_trap();
	}
	cfssl_sign_free(&s);
	return 0;
}
