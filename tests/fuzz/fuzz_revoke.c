/* The revocation request's parsers (frontend/revoke.c): the body {"reason": name} and the path
 * /api/v1/certificates/{serial}/revoke; and the CRL's path /crl/{name}.crl (frontend/crl.c); all on the same
 * bytes. */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl.h"
#include "revoke.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char reason[REVOKE_REASON_MAX], why[REVOKE_WHY_MAX], serial[DB_SERIAL_HEX_MAX];
	why[0] = 0;
	int rc = revoke_parse_body(data, size, reason, why);
	if (rc == 0) {
		/* a name the revocations table takes, never the hold a CA may release; written back in its canonical
		 * form, it parses to the same name */
		size_t n = strlen(reason);
		char again[64], reason2[REVOKE_REASON_MAX];
		if (n == 0 || n >= REVOKE_REASON_MAX || !strcmp(reason, "certificateHold") || !strcmp(reason, "removeFromCRL"))
			__builtin_trap();
		int m = snprintf(again, sizeof(again), "{\"reason\": \"%s\"}", reason);
		if (m <= 0 || revoke_parse_body((const uint8_t *)again, (size_t)m, reason2, why) || strcmp(reason, reason2))
			__builtin_trap();
	} else if (rc != HSMCA_ERR_PARSE || why[0] == 0) {
		__builtin_trap(); /* every refusal is a parse error that says why */
	}
	char *uri = malloc(size + 1);
	if (!uri)
		return 0;
	memcpy(uri, data, size);
	uri[size] = 0;
	why[0] = 0;
	rc = revoke_parse_path(uri, serial, why);
	if (rc == 0) {
		size_t n = strlen(serial);
		if (n == 0 || n >= DB_SERIAL_HEX_MAX)
			__builtin_trap();
		for (size_t i = 0; i < n; i++)
			if (!isxdigit((unsigned char)serial[i]) || isupper((unsigned char)serial[i]))
				__builtin_trap();
	} else if ((rc != HSMCA_ERR_STATE && rc != HSMCA_ERR_NOTFOUND && rc != HSMCA_ERR_PARSE) || why[0] == 0) {
		__builtin_trap();
	}
	char name[CRL_NAME_MAX], cwhy[CRL_WHY_MAX];
	cwhy[0] = 0;
	rc = crl_parse_path(uri, name, cwhy);
	if (rc == 0) {
		/* a name made of the letters the route takes, that the path holds as /crl/{name}.crl */
		size_t n = strlen(name);
		if (n == 0 || n >= CRL_NAME_MAX || name[0] == '.' || strncmp(uri, "/crl/", 5) != 0 ||
		    strncmp(uri + 5, name, n) != 0 || strncmp(uri + 5 + n, ".crl", 4) != 0 ||
		    (uri[9 + n] != 0 && uri[9 + n] != '?' && uri[9 + n] != '#'))
			__builtin_trap();
		for (size_t i = 0; i < n; i++)
			if (!isalnum((unsigned char)name[i]) && name[i] != '.' && name[i] != '_' && name[i] != '-')
				__builtin_trap();
	} else if (rc != HSMCA_ERR_NOTFOUND || cwhy[0] == 0) {
		__builtin_trap();
	}
	free(uri);
	return 0;
}
