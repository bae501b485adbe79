/* The renewal body parsers (frontend/renew_parse.c): {"csr"} / {"csr","serial","challenge","signature"}
 * and the challenge request {"serial"}; also the route splitter the handlers use on the request path. */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "issue.h"
#include "renew.h"
#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct renew_body b;
	char why[ISSUE_WHY_MAX], serial[DB_SERIAL_HEX_MAX];
	why[0] = 0;
	if (renew_parse(data, size, &b, why) == 0) {
		/* what the handler relies on */
		if (!b.csr || b.csr_len != strlen(b.csr) || (b.serial != NULL) != (b.challenge != NULL) ||
		    (b.serial != NULL) != (b.sig != NULL) || (b.sig && (b.sig_len == 0 || b.sig_len > RENEW_SIG_MAX)) ||
		    (b.serial && (strlen(b.serial) == 0 || strlen(b.serial) >= DB_SERIAL_HEX_MAX)) ||
		    (b.challenge && strlen(b.challenge) >= RENEW_CHALLENGE_MAX))
			__builtin_trap();
	} else if (why[0] == 0) {
		__builtin_trap(); /* every refusal says why */
	}
	renew_body_free(&b);
	why[0] = 0;
	if (renew_parse_challenge_request(data, size, serial, why) == 0) {
		size_t n = strlen(serial);
		if (n == 0 || n >= DB_SERIAL_HEX_MAX)
			__builtin_trap();
		for (size_t i = 0; i < n; i++)
			if (!isxdigit((unsigned char)serial[i]) || isupper((unsigned char)serial[i]))
				__builtin_trap();
	} else if (why[0] == 0) {
		__builtin_trap();
	}
	/* the path splitter on the same bytes as a URI */
	char *uri = malloc(size + 1), segs[ROUTE_SEGS_MAX][ROUTE_SEG_MAX];
	if (uri) {
		memcpy(uri, data, size);
		uri[size] = 0;
		int n = route_split(uri, "/api/v1/approvals", segs);
		if (n > ROUTE_SEGS_MAX)
			__builtin_trap();
		for (int i = 0; i < n; i++)
			if (segs[i][0] == 0 || strlen(segs[i]) >= ROUTE_SEG_MAX || strchr(segs[i], '/'))
				__builtin_trap();
		free(uri);
	}
	return 0;
}
