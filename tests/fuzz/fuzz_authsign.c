/* The CFSSL authsign body parser (frontend/cfssl.c): outer JSON, strict base64, inner JSON. */
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
	return 0;
}
