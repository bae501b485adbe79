/* signerfit_unseal_details (frontend/signerfit.c): the details of a signer.unsealed audit row are one JSON
 * object the database takes (audit_log.details must be JSON) whatever printable bytes the signer's token serial
 * holds: a quote or a backslash in it once made the row invalid JSON, refused at every batch for ever. */
#include <stdlib.h>

#include "check.h"
#include "json.h"
#include "signerfit.h"

int main(void)
{
	struct pinwire_unsealed u = { .has = true, .at = 1796000000, .n = 2, .token = "AB\"1\\x" };
	strcpy(u.custodian[0], "alice");
	strcpy(u.custodian[1], "bob.smith");
	u.share[0] = 1;
	u.share[1] = 4;
	struct dbuf d;
	struct json_doc *doc = NULL;
	char err[128];
	dbuf_init(&d);
	CHECK(signerfit_unseal_details(&u, &d) && !d.failed && d.len > 0 && d.data[d.len - 1] == 0);
	CHECKF(json_parse((const char *)d.data, d.len - 1, &doc, err, sizeof(err)) == 0, "%s: %s", err, (const char *)d.data);
	if (doc) {
		const struct json_node *r = json_root(doc), *c = json_get(r, "custodians");
		const char *tok = json_string(json_get(r, "token"), NULL), *when = json_string(json_get(r, "unsealed_at"), NULL);
		long long share = 0;
		CHECK(tok && !strcmp(tok, "AB\"1\\x"));
		CHECK(when && !strcmp(when, "2026-11-30T00:53:20Z"));
		CHECK(json_array_len(c) == 2 && !strcmp(json_string(json_get(json_array_at(c, 1), "name"), NULL), "bob.smith"));
		CHECK(json_int(json_get(json_array_at(c, 1), "share"), &share) && share == 4);
		json_free(doc);
	}
	dbuf_free(&d);
	/* a time no calendar gives is refused, not formatted from an unset struct tm */
	u.at = UINT64_MAX;
	dbuf_init(&d);
	CHECK(!signerfit_unseal_details(&u, &d));
	dbuf_free(&d);
	return check_done("unit_signerfit");
}
