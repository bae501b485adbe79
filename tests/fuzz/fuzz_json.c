/* fuzz_json: json_parse (frontend/json.c) on raw bytes. A failure must be PARSE or LIMIT with an
 * "offset N: why" message, N within the input (or the size limit). On success the whole tree is walked: depth
 * and value count within the limits, accessors agree with each other (json_get finds each member the
 * iteration gives, out-of-range indexes give NULL), every string is NUL-terminated at its length, and every
 * string and member name written back with json_write_string parses again to the very same bytes. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "json.h"

#define FUZZ_JSON_ERR_MAX 128

struct fuzz_json_walk {
	size_t nodes;
	struct dbuf b; /* one writer for the whole run, emptied before each use */
};

static struct fuzz_json_walk fw;

/* s written with json_write_string must come back unchanged. */
static void fuzz_json_string(const char *s, size_t len)
{
	struct json_doc *doc = NULL;
	char err[FUZZ_JSON_ERR_MAX];
	size_t back_len = 0;
	FUZZ_CHECK(s != NULL && strlen(s) == len);
	fw.b.len = 0;
	fw.b.failed = false;
	json_write_string(&fw.b, s);
	FUZZ_CHECK(!fw.b.failed && fw.b.len >= len + 2);
	if (fw.b.len > JSON_MAX_INPUT)
		return; /* escaping can grow a long string past what the parser takes */
	FUZZ_CHECK(json_parse((const char *)fw.b.data, fw.b.len, &doc, err, sizeof(err)) == 0);
	const char *back = json_string(json_root(doc), &back_len);
	FUZZ_CHECK(back && back_len == len && memcmp(back, s, len) == 0);
	json_free(doc);
}

static void fuzz_json_walk(const struct json_node *n, unsigned depth)
{
	size_t len = 0;
	long long v;
	FUZZ_CHECK(n != NULL && ++fw.nodes <= JSON_MAX_NODES);
	switch (json_type(n)) {
	case JSON_STRING:
		fuzz_json_string(json_string(n, &len), len);
		break;
	case JSON_ARRAY:
		FUZZ_CHECK(depth < JSON_MAX_DEPTH && json_object_len(n) == 0 && json_string(n, NULL) == NULL);
		for (size_t i = 0; i < json_array_len(n); i++)
			fuzz_json_walk(json_array_at(n, i), depth + 1);
		FUZZ_CHECK(json_array_at(n, json_array_len(n)) == NULL);
		break;
	case JSON_OBJECT:
		FUZZ_CHECK(depth < JSON_MAX_DEPTH && json_array_len(n) == 0 && json_string(n, NULL) == NULL);
		for (size_t i = 0; i < json_object_len(n); i++) {
			const char *key = json_object_key(n, i);
			FUZZ_CHECK(key && json_get(n, key) == json_object_value(n, i)); /* names are unique */
			fuzz_json_string(key, strlen(key));
			fuzz_json_walk(json_object_value(n, i), depth + 1);
		}
		FUZZ_CHECK(json_object_key(n, json_object_len(n)) == NULL);
		break;
	case JSON_NUMBER:
		(void)json_int(n, &v);
		break;
	case JSON_NULL:
	case JSON_TRUE:
	case JSON_FALSE:
		FUZZ_CHECK(!json_int(n, &v) && json_string(n, NULL) == NULL);
		break;
	default:
		FUZZ_CHECK(0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_doc *doc = NULL;
	char err[FUZZ_JSON_ERR_MAX] = "";
	int rc = json_parse((const char *)data, size, &doc, err, sizeof(err));
	if (rc != 0) {
		size_t off = 0;
		FUZZ_CHECK(doc == NULL && (rc == HSMCA_ERR_PARSE || rc == HSMCA_ERR_LIMIT));
		FUZZ_CHECK(fuzz_why_ok(err, sizeof(err)) && sscanf(err, "offset %zu: ", &off) == 1);
		FUZZ_CHECK(off <= size || (rc == HSMCA_ERR_LIMIT && off == JSON_MAX_INPUT));
		return 0;
	}
	FUZZ_CHECK(doc != NULL && json_root(doc) != NULL);
	fw.nodes = 0;
	fuzz_json_walk(json_root(doc), 0);
	json_free(doc);
	return 0;
}
