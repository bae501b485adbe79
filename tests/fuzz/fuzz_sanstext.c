/* fuzz_sanstext: issue_sans_text (frontend/issue.c), the stored SAN list "DNS:a,IP:b,email:c" a renewal reads
 * back from its certificate's row (the database role is not trusted, so the text is parsed as untrusted; the
 * names then go through profile_check_request, which fuzz_csrpolicy reaches). The input is the text as the
 * row gives it: a C string, so it ends at the first NUL.
 *
 * Accepted exactly when an independent reading of the list says so: 1..CSR_MAX_SANS entries separated by
 * single commas, each "DNS:", "IP:" or "email:" and a value of 1..CSR_SAN_MAX-1 bytes (anything but a comma),
 * with exactly those types and values, in order; a refusal is HSMCA_ERR_STATE, says why and leaves the
 * request's name count alone.
 *
 * It found one comma after the last entry accepted ("DNS:a," read as one name; tests/fuzz/crashes/
 * sanstext-trailing-comma), fixed in issue_sans_text: a trailing comma is refused like any other. */
#include <stdlib.h>

#include "csr.h"
#include "fuzz_common.h"
#include "issue_priv.h"

#define FUZZ_SANSTEXT_SENTINEL 7 /* a name count the refusals must leave as it was */

struct fuzz_san_ref {
	size_t n;
	enum csr_san_type type[CSR_MAX_SANS];
	const char *value[CSR_MAX_SANS]; /* into the text */
	size_t len[CSR_MAX_SANS];
};

/* The strict reading: false on anything but ENTRY (',' ENTRY)* of at most CSR_MAX_SANS entries. */
static bool fuzz_san_ref(const char *text, size_t text_len, struct fuzz_san_ref *r)
{
	static const struct {
		const char *prefix;
		size_t len;
		enum csr_san_type type;
	} kinds[] = { { "DNS:", 4, CSR_SAN_DNS }, { "IP:", 3, CSR_SAN_IP }, { "email:", 6, CSR_SAN_EMAIL } };
	size_t pos = 0;
	r->n = 0;
	if (text_len == 0)
		return false;
	for (;;) {
		const char *comma = memchr(text + pos, ',', text_len - pos);
		size_t end = comma ? (size_t)(comma - text) : text_len, k;
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (end - pos >= kinds[k].len && memcmp(text + pos, kinds[k].prefix, kinds[k].len) == 0)
				break;
		if (k == sizeof(kinds) / sizeof(kinds[0]) || r->n == CSR_MAX_SANS)
			return false;
		size_t vlen = end - pos - kinds[k].len;
		if (vlen == 0 || vlen >= CSR_SAN_MAX)
			return false;
		r->type[r->n] = kinds[k].type;
		r->value[r->n] = text + pos + kinds[k].len;
		r->len[r->n++] = vlen;
		if (!comma)
			return true;
		pos = end + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct csr c; /* large: keep it off the stack */
	struct fuzz_san_ref ref;
	char why[ISSUE_WHY_MAX];
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	if (size)
		memcpy(text, data, size);
	text[size] = 0;
	size_t text_len = strlen(text);

	bool want = fuzz_san_ref(text, text_len, &ref);
	memset(&c, 0, sizeof(c));
	c.n_sans = FUZZ_SANSTEXT_SENTINEL;
	memset(why, 'W', sizeof(why));
	int rc = issue_sans_text(&c, text, why);
	if (rc != 0) {
		FUZZ_CHECK(!want && rc == HSMCA_ERR_STATE && fuzz_why_ok(why, sizeof(why)));
		FUZZ_CHECK(c.n_sans == FUZZ_SANSTEXT_SENTINEL);
	} else {
		FUZZ_CHECK(want && c.n_sans == ref.n);
		for (size_t i = 0; i < ref.n; i++)
			FUZZ_CHECK(c.sans[i].type == ref.type[i] && strlen(c.sans[i].value) == ref.len[i] &&
				   memcmp(c.sans[i].value, ref.value[i], ref.len[i]) == 0);
	}
	free(text);
	return 0;
}
