/* fuzz_issue: issue_body (frontend/issue.c), the JSON body of POST /api/v1/certificates. The input is the
 * body of a job built as the loop thread builds one (http_job: a malloc'ed copy with a NUL after it; issue_body
 * reads nothing else). A refusal is HSMCA_ERR_PARSE and says why; an acceptance is exactly
 * {"csr": string, "profile": string}: csr and profile are those members' strings, NUL-terminated at their
 * length. The caller frees the document either way, as both callers (issue.c, issue_async.c) do. */
#include <stdlib.h>

#include "fuzz_common.h"
#include "issue_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct job j;
	struct json_doc *doc = NULL;
	const char *csr = NULL, *profile = NULL;
	size_t csr_len = 0, len = 0;
	char why[ISSUE_WHY_MAX] = "";
	memset(&j, 0, sizeof(j));
	j.kind = JOB_ISSUE;
	j.body_len = size;
	if (!(j.body = malloc(size + 1)))
		return 0;
	if (size)
		memcpy(j.body, data, size);
	j.body[size] = 0;
	int rc = issue_body(&j, &doc, &csr, &csr_len, &profile, why);
	if (rc != 0) {
		FUZZ_CHECK(rc == HSMCA_ERR_PARSE && fuzz_why_ok(why, sizeof(why)));
	} else {
		const struct json_node *root = json_root(doc);
		FUZZ_CHECK(doc != NULL && json_type(root) == JSON_OBJECT && json_object_len(root) == 2);
		FUZZ_CHECK(csr != NULL && csr == json_string(json_get(root, "csr"), &len) && len == csr_len &&
			   strlen(csr) == csr_len);
		FUZZ_CHECK(profile != NULL && profile == json_string(json_get(root, "profile"), NULL));
	}
	json_free(doc);
	free(j.body);
	return 0;
}
