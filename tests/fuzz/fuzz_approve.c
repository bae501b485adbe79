/* fuzz_approve: approve_body (frontend/approve.c), the optional body of an approval decision. The first byte's
 * low bit picks approve (1) or reject (0); the rest is the body of a job built as the loop thread builds one
 * (a malloc'ed copy with a NUL after it). A refusal is HSMCA_ERR_PARSE and says why; an acceptance leaves
 * reason NUL-terminated: "" for an empty body, {} or any approval, else the "reason" member's string
 * (1..APPROVE_REASON_MAX-1 bytes), which json_parse of the same body must agree with. */
#include <stdlib.h>

#include "approve.h"
#include "fuzz_common.h"
#include "issue.h"
#include "json.h"

#define FUZZ_JSON_ERR_MAX 128

/* What the accepted body says the reason is ("" if no body or no member). */
static void fuzz_approve_reason(const struct job *j, const char *reason, size_t reason_len)
{
	struct json_doc *doc = NULL;
	char err[FUZZ_JSON_ERR_MAX];
	size_t len = 0;
	if (j->body_len == 0) {
		FUZZ_CHECK(reason_len == 0);
		return;
	}
	FUZZ_CHECK(json_parse((const char *)j->body, j->body_len, &doc, err, sizeof(err)) == 0);
	const struct json_node *root = json_root(doc);
	const char *text = json_string(json_get(root, "reason"), &len);
	FUZZ_CHECK(json_type(root) == JSON_OBJECT && json_object_len(root) == (text ? 1u : 0u));
	FUZZ_CHECK(text ? len == reason_len && memcmp(text, reason, len) == 0 : reason_len == 0);
	json_free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct job j;
	char reason[APPROVE_REASON_MAX], why[ISSUE_WHY_MAX] = "";
	if (size == 0)
		return 0;
	bool approve = data[0] & 1;
	memset(&j, 0, sizeof(j));
	j.kind = JOB_APPROVALS;
	j.body_len = size - 1;
	if (!(j.body = malloc(size)))
		return 0;
	memcpy(j.body, data + 1, size - 1);
	j.body[size - 1] = 0;
	memset(reason, 'x', sizeof(reason)); /* not terminated: the parser must write it */
	int rc = approve_body(&j, approve, reason, why);
	if (rc != 0) {
		FUZZ_CHECK(rc == HSMCA_ERR_PARSE && j.body_len > 0 && fuzz_why_ok(why, sizeof(why)));
	} else {
		size_t n = strnlen(reason, sizeof(reason));
		FUZZ_CHECK(n < sizeof(reason) && (!approve || n == 0));
		fuzz_approve_reason(&j, reason, n);
	}
	free(j.body);
	return 0;
}
