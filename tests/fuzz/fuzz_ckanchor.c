/* fuzz_ckanchor: ckanchor_parse (frontend/ckanchor.c), the checkpoint_anchor_file the frontend and audit-verify
 * read. Oracle: a line accepted is canonical, so writing the parsed anchor back ("%lld:%s %s\n") gives the
 * input byte for byte; the row is positive and the label a signer key label. Refused: out is zeroed. */
#include <stdio.h>
#include <stdlib.h>

#include "ckanchor.h"
#include "conf.h"
#include "frame.h"
#include "fuzz_common.h"
#include "span.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1); /* exactly the input, so ASan sees any byte read past it */
	struct ckanchor a;
	char why[CONF_ERR_MAX], hex[2 * DB_AUDIT_HASH_LEN + 1], line[CKANCHOR_MAX + 64];
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	int rc = ckanchor_parse(copy, size, &a, why);
	FUZZ_CHECK(rc == 0 || rc == HSMCA_ERR_PARSE);
	if (rc == 0) {
		span_hex(a.hash, DB_AUDIT_HASH_LEN, hex);
		int n = snprintf(line, sizeof(line), "%lld:%s %s\n", (long long)a.audit_id, hex, a.label);
		FUZZ_CHECK(a.audit_id > 0 && frame_label_ok(span_make(a.label, strlen(a.label))));
		FUZZ_CHECK(n > 0 && (size_t)n == size && memcmp(line, data, size) == 0);
	} else {
		static const struct ckanchor zero;
		FUZZ_CHECK(memcmp(&a, &zero, sizeof(a)) == 0 && why[0] != '\0');
	}
	FUZZ_CHECK(memcmp(copy, data, size) == 0); /* nothing written */
	free(copy);
	return 0;
}
