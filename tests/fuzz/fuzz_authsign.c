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
	if (!r->csr || r->csr_len != strlen(r->csr))
		return false;
	if (!r->hosts)
		return true;
	if (r->hosts != &r->host_list || r->hosts->n == 0 || r->hosts->n > CSR_MAX_SANS)
		return false;
	for (size_t i = 0; i < r->hosts->n; i++) /* each name non-empty, under CSR_SAN_MAX, no NUL or space */
		if (r->hosts->len[i] == 0 || r->hosts->len[i] >= CSR_SAN_MAX ||
		    memchr(r->hosts->name[i], '\0', r->hosts->len[i]) || memchr(r->hosts->name[i], ' ', r->hosts->len[i]))
			return false;
	return true;
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
