/* frontend/json.c: the strict, bounded JSON parser and the string writer. Every limit (input size, depth,
 * value count) at and one past its bound, every rejection rule, and writer output that parses back. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json.h"

#define ERR_MAX 128

static char err[ERR_MAX];

static int parse_n(const char *text, size_t len, struct json_doc **doc)
{
	err[0] = '\0';
	return json_parse(text, len, doc, err, sizeof(err));
}

/* Parses and frees: 0 or the error code. */
static int rc_of(const char *text)
{
	struct json_doc *doc = NULL;
	int rc = parse_n(text, strlen(text), &doc);
	CHECKF(rc == 0 ? doc != NULL : doc == NULL, "%s: doc set iff success", text);
	json_free(doc);
	return rc;
}

/* Must be refused as malformed, with "offset <off>: " leading the message. */
static void bad(const char *text, size_t off)
{
	char want[32];
	int rc = rc_of(text);
	snprintf(want, sizeof(want), "offset %zu: ", off);
	CHECKF(rc == HSMCA_ERR_PARSE && check_prefix(err, want), "\"%s\": rc %d err \"%s\", want \"%s...\"", text,
	       rc, err, want);
}

static void good(const char *text)
{
	int rc = rc_of(text);
	CHECKF(rc == 0, "\"%s\": rc %d err \"%s\"", text, rc, err);
}

/* The document's root must be one string equal to want (want_len bytes). */
static void string_is(const char *text, const char *want, size_t want_len)
{
	struct json_doc *doc = NULL;
	size_t len = 0;
	int rc = parse_n(text, strlen(text), &doc);
	const char *s = json_string(json_root(doc), &len);
	CHECKF(rc == 0 && s && len == want_len && memcmp(s, want, len) == 0 && s[len] == '\0', "\"%s\": rc %d %s",
	       text, rc, err);
	json_free(doc);
}

static void test_types(void)
{
	const char *text = " {\"s\": \"x\\ty\", \"n\": -42, \"f\": 1.5e3, \"t\": true, \"F\": false, \"z\": null,"
			   " \"a\": [1, [], {}], \"o\": {\"k\": \"v\"}} \r\n\t";
	struct json_doc *doc = NULL;
	long long v = 0;
	size_t len = 0;
	int rc = parse_n(text, strlen(text), &doc);
	CHECKF(rc == 0, "rc %d err %s", rc, err);
	const struct json_node *r = json_root(doc);
	CHECK(json_type(r) == JSON_OBJECT && json_object_len(r) == 8);
	CHECK(strcmp(json_string(json_get(r, "s"), &len), "x\ty") == 0 && len == 3);
	CHECK(json_int(json_get(r, "n"), &v) && v == -42);
	CHECK(json_type(json_get(r, "f")) == JSON_NUMBER && !json_int(json_get(r, "f"), &v));
	CHECK(json_type(json_get(r, "t")) == JSON_TRUE && json_type(json_get(r, "F")) == JSON_FALSE);
	CHECK(json_type(json_get(r, "z")) == JSON_NULL && json_get(r, "z") != NULL);
	const struct json_node *a = json_get(r, "a");
	CHECK(json_type(a) == JSON_ARRAY && json_array_len(a) == 3);
	CHECK(json_int(json_array_at(a, 0), &v) && v == 1);
	CHECK(json_type(json_array_at(a, 1)) == JSON_ARRAY && json_array_len(json_array_at(a, 1)) == 0);
	CHECK(json_type(json_array_at(a, 2)) == JSON_OBJECT && json_object_len(json_array_at(a, 2)) == 0);
	CHECK(json_array_at(a, 3) == NULL);
	CHECK(strcmp(json_string(json_get(json_get(r, "o"), "k"), NULL), "v") == 0);
	/* members in input order */
	CHECK(strcmp(json_object_key(r, 0), "s") == 0 && strcmp(json_object_key(r, 7), "o") == 0);
	CHECK(json_object_value(r, 7) == json_get(r, "o"));
	CHECK(json_object_key(r, 8) == NULL && json_object_value(r, 8) == NULL);
	/* wrong types and absent things give NULL / 0 / false, never a crash */
	CHECK(json_get(r, "missing") == NULL && json_get(a, "s") == NULL && json_get(NULL, "s") == NULL);
	CHECK(json_string(json_get(r, "n"), NULL) == NULL && json_string(NULL, NULL) == NULL);
	CHECK(!json_int(json_get(r, "s"), &v) && !json_int(NULL, &v));
	CHECK(json_array_len(r) == 0 && json_array_at(r, 0) == NULL && json_object_len(a) == 0);
	CHECK(json_object_key(a, 0) == NULL && json_object_value(a, 0) == NULL);
	CHECK(json_root(NULL) == NULL && json_type(NULL) == JSON_NULL);
	json_free(doc);
	json_free(NULL);

	/* scalars at the top */
	good("0");
	good("\"\"");
	good("null");
	good(" true ");
	good("[]");
	good("{}");
}

/* A CFSSL-like sign request: {"request": "<PEM>", "profile": "x"} and a nested variant. */
static void test_cfssl(void)
{
	const char *text =
		"{\"request\": \"-----BEGIN CERTIFICATE REQUEST-----\\nMIIBIjCByAIBADAMMQowCAYDVQQDDAF4MFkwEwYHKoZI"
		"zj0CAQYIKoZIzj0DAQcD\\nQgAE+Q==\\n-----END CERTIFICATE REQUEST-----\\n\", \"profile\": \"x\","
		" \"label\": \"\", \"bundle\": false, \"hosts\": [\"a.example\", \"10.0.0.1\"],"
		" \"subject\": {\"CN\": \"a.example\", \"names\": [{\"O\": \"Example\"}]}}";
	struct json_doc *doc = NULL;
	size_t len = 0;
	int rc = parse_n(text, strlen(text), &doc);
	CHECKF(rc == 0, "rc %d err %s", rc, err);
	const struct json_node *r = json_root(doc);
	const char *req = json_string(json_get(r, "request"), &len);
	CHECK(req && check_prefix(req, "-----BEGIN CERTIFICATE REQUEST-----\nMIIBIjCB") && len == strlen(req));
	CHECK(req && strstr(req, "\nQgAE+Q==\n-----END CERTIFICATE REQUEST-----\n") != NULL);
	CHECK(strcmp(json_string(json_get(r, "profile"), NULL), "x") == 0);
	CHECK(json_array_len(json_get(r, "hosts")) == 2);
	CHECK(strcmp(json_string(json_array_at(json_get(r, "hosts"), 1), NULL), "10.0.0.1") == 0);
	const struct json_node *names = json_get(json_get(r, "subject"), "names");
	CHECK(strcmp(json_string(json_get(json_array_at(names, 0), "O"), NULL), "Example") == 0);
	json_free(doc);
}

static void nested(char *buf, unsigned depth, char open, char close)
{
	memset(buf, open, depth);
	memset(buf + depth, close, depth);
	buf[2 * depth] = '\0';
}

static void test_limits(void)
{
	struct json_doc *doc = NULL;
	char buf[2 * (JSON_MAX_DEPTH + 1) + 1];
	int rc;

	/* depth: 16 containers nest, 17 do not */
	nested(buf, JSON_MAX_DEPTH, '[', ']');
	good(buf);
	nested(buf, JSON_MAX_DEPTH + 1, '[', ']');
	CHECKF(rc_of(buf) == HSMCA_ERR_LIMIT && check_prefix(err, "offset 16: "), "depth 17: %s", err);
	/* the same through objects: {"a":{"a":...{}...}} with 16 and 17 objects */
	char obj[6 * (JSON_MAX_DEPTH + 1) + 2 * (JSON_MAX_DEPTH + 1) + 1];
	for (unsigned depth = JSON_MAX_DEPTH; depth <= JSON_MAX_DEPTH + 1; depth++) {
		size_t k = 0;
		for (unsigned i = 0; i + 1 < depth; i++)
			k += (size_t)snprintf(obj + k, sizeof(obj) - k, "{\"a\":");
		k += (size_t)snprintf(obj + k, sizeof(obj) - k, "{}");
		for (unsigned i = 0; i + 1 < depth; i++)
			obj[k++] = '}';
		obj[k] = '\0';
		CHECKF(rc_of(obj) == (depth <= JSON_MAX_DEPTH ? 0 : HSMCA_ERR_LIMIT), "objects %u deep: %s", depth, err);
	}

	/* values: an array of 4095 numbers is 4096 values; one more is over */
	size_t cap = 2 * JSON_MAX_NODES + 8;
	char *big = malloc(cap);
	for (size_t n = JSON_MAX_NODES - 1; n <= JSON_MAX_NODES; n++) {
		size_t k = 0;
		big[k++] = '[';
		for (size_t i = 0; i < n; i++) {
			big[k++] = '0';
			big[k++] = ',';
		}
		big[k - 1] = ']';
		rc = parse_n(big, k, &doc);
		if (n == JSON_MAX_NODES - 1)
			CHECKF(rc == 0 && json_array_len(json_root(doc)) == n, "4096 values: rc %d %s", rc, err);
		else
			CHECKF(rc == HSMCA_ERR_LIMIT && check_prefix(err, "offset 8191: "), "4097 values: rc %d %s", rc,
			       err);
		json_free(doc);
	}
	free(big);

	/* size: JSON_MAX_INPUT bytes parse (one long string), one more byte is refused before parsing */
	big = malloc(JSON_MAX_INPUT + 1);
	memset(big, 'a', JSON_MAX_INPUT + 1);
	big[0] = '"';
	big[JSON_MAX_INPUT - 1] = '"';
	size_t len = 0;
	rc = parse_n(big, JSON_MAX_INPUT, &doc);
	CHECKF(rc == 0 && json_string(json_root(doc), &len) && len == JSON_MAX_INPUT - 2, "max size: %d %s", rc, err);
	json_free(doc);
	big[JSON_MAX_INPUT - 1] = 'a';
	big[JSON_MAX_INPUT] = '"';
	rc = parse_n(big, JSON_MAX_INPUT + 1, &doc);
	CHECKF(rc == HSMCA_ERR_LIMIT && doc == NULL && check_prefix(err, "offset 262144: "), "over size: %d %s", rc,
	       err);
	/* whitespace counts towards the size too */
	memset(big, ' ', JSON_MAX_INPUT + 1);
	big[0] = '1';
	CHECK(parse_n(big, JSON_MAX_INPUT, &doc) == 0);
	json_free(doc);
	CHECK(parse_n(big, JSON_MAX_INPUT + 1, &doc) == HSMCA_ERR_LIMIT);
	free(big);

	/* no room for an error message is fine */
	CHECK(json_parse("x", 1, &doc, NULL, 0) == HSMCA_ERR_PARSE && doc == NULL);
	char tiny[4];
	CHECK(json_parse("x", 1, &doc, tiny, sizeof(tiny)) == HSMCA_ERR_PARSE && strcmp(tiny, "off") == 0);
}

static void test_structure(void)
{
	bad("", 0);
	bad("   ", 3);
	CHECK(rc_of("") == HSMCA_ERR_PARSE && strcmp(err, "offset 0: empty input") == 0);
	/* trailing bytes: only whitespace may follow the value */
	bad("{} x", 3);
	bad("{}}", 2);
	bad("1 2", 2);
	bad("[] []", 3);
	bad("\"a\"\"b\"", 3);
	bad("null,", 4);
	good("{}\n\r\t ");
	struct json_doc *doc = NULL;
	CHECK(parse_n("{}\0", 3, &doc) == HSMCA_ERR_PARSE && check_prefix(err, "offset 2: ") && !doc);
	CHECK(parse_n("{\"a\":1}", 3, &doc) == HSMCA_ERR_PARSE && !doc); /* len is honoured */
	/* no NUL termination needed */
	CHECK(parse_n("[7]xyz", 3, &doc) == 0);
	json_free(doc);
	/* syntax */
	bad("[1,]", 3);
	bad("[,1]", 1);
	bad("{\"a\":1,}", 7);
	bad("{\"a\" 1}", 5);
	bad("{a:1}", 1);
	bad("{1:1}", 1);
	bad("{\"a\":}", 5);
	bad("[1 2]", 3);
	bad("[", 1);
	bad("{", 1);
	bad("{\"a\"", 4);
	bad("{\"a\":1", 6);
	bad("]", 0);
	bad("tru", 0);
	bad("nul", 0);
	bad("nulll", 4);
	bad("True", 0);
	bad("NaN", 0);
	bad("Infinity", 0);
	bad("-Infinity", 1);
	bad("'a'", 0);
	bad("\xef\xbb\xbf{}", 0); /* no byte order mark */
	bad("/* c */ 1", 0);
	bad("\f1", 0); /* form feed is not JSON whitespace */
}

static void test_duplicates(void)
{
	bad("{\"a\":1,\"a\":2}", 7);
	bad("{\"a\":1,\"b\":2,\"a\":3}", 13);
	bad("{\"b\":1,\"a\":2,\"c\":3,\"a\":4}", 19);
	bad("{\"a\":1,\"\\u0061\":2}", 7); /* the same name after decoding */
	bad("{\"\":1,\"\":2}", 6);
	bad("{\"x\":{\"a\":1,\"a\":1}}", 12);
	bad("[{\"k\":[],\"k\":{}}]", 9);
	good("{\"a\":1,\"b\":{\"a\":2},\"c\":[{\"a\":3}]}");
	good("{\"a\":1,\"A\":2,\"a \":3,\"\":4,\"aa\":5}");
	/* a prefix is not a duplicate; nor is a name that differs only after an escaped NUL (refused anyway) */
	good("{\"ab\":1,\"a\":2,\"abc\":3}");
	/* many members, duplicate last: found through the sorted copy */
	char buf[16 * 600];
	size_t k = 0;
	buf[k++] = '{';
	for (int i = 0; i < 500; i++)
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, "\"k%d\":%d,", i, i);
	snprintf(buf + k, sizeof(buf) - k, "\"k250\":0}");
	bad(buf, k);
	buf[k - 1] = '}';
	buf[k] = '\0';
	good(buf);
}

static void test_strings(void)
{
	string_is("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8);
	string_is("\"\\u0041\\u00e9\\u20AC\"", "A\xc3\xa9\xe2\x82\xac", 6);
	string_is("\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4);   /* surrogate pair */
	string_is("\"\\uDBFF\\uDFFF\"", "\xf4\x8f\xbf\xbf", 4);   /* U+10FFFF */
	string_is("\"\\u007f\\u0001\"", "\x7f\x01", 2);
	string_is("\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbf\"", "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xef\xbf\xbf",
		  12);
	/* bad escapes */
	bad("\"\\x\"", 1);
	bad("\"\\'\"", 1);
	bad("\"\\U0041\"", 1);
	bad("\"\\u12\"", 3);
	bad("\"\\u12G4\"", 5);
	bad("\"\\u", 3);
	bad("\"\\", 1);
	bad("\"abc\\\"", 6);
	bad("\"abc", 4);
	/* surrogates */
	bad("\"\\ud800\"", 1);
	bad("\"\\udc00\"", 1);
	bad("\"\\udfff\\ud800\"", 1);
	bad("\"\\ud800\\u0041\"", 1);
	bad("\"\\ud800\\ud800\"", 1);
	bad("\"\\ud800x\"", 1);
	bad("\"ab\\ud800\\n\"", 3);
	bad("\"\\ud800\\u12\"", 9);
	/* U+0000: escaped or raw */
	bad("\"\\u0000\"", 1);
	bad("\"a\\u0000b\"", 2);
	struct json_doc *doc = NULL;
	CHECK(parse_n("\"a\0b\"", 5, &doc) == HSMCA_ERR_PARSE && check_prefix(err, "offset 2: "));
	/* raw control characters */
	bad("\"a\tb\"", 2);
	bad("\"\n\"", 1);
	bad("\"\x1f\"", 1);
	good("\"\x7f\"");
	/* UTF-8 */
	bad("\"\xc0\x80\"", 1);             /* overlong NUL */
	bad("\"\xc1\xbf\"", 1);             /* overlong 2-byte */
	bad("\"\xe0\x80\x80\"", 1);         /* overlong 3-byte */
	bad("\"\xe0\x9f\xbf\"", 1);         /* overlong U+07FF */
	bad("\"\xf0\x80\x80\x80\"", 1);     /* overlong 4-byte */
	bad("\"\xf0\x8f\xbf\xbf\"", 1);     /* overlong U+FFFF */
	bad("\"\xed\xa0\x80\"", 1);         /* encoded surrogate */
	bad("\"\xed\xbf\xbf\"", 1);
	bad("\"\xf4\x90\x80\x80\"", 1);     /* above U+10FFFF */
	bad("\"\xf5\x80\x80\x80\"", 1);
	bad("\"\xff\"", 1);
	bad("\"\x80\"", 1);                 /* lone continuation */
	bad("\"a\xc3\"", 2);                /* truncated by the quote */
	bad("\"\xe2\x82\"", 1);
	bad("\"\xe2\x82", 1);               /* truncated by the end */
	bad("\"\xc3\xa9\xc3\x28\"", 3);
	good("\"\xed\x9f\xbf\xee\x80\x80\"");  /* U+D7FF, U+E000 */
	good("\"\xf4\x8f\xbf\xbf\"");
	/* invalid UTF-8 in a name, too */
	bad("{\"\xc0\xaf\":1}", 2);
}

static void test_numbers(void)
{
	struct json_doc *doc = NULL;
	long long v = 0;
	static const struct {
		const char *text;
		bool is_int;
		long long v;
	} nums[] = {
		{ "0", true, 0 },
		{ "-0", true, 0 },
		{ "7", true, 7 },
		{ "-7", true, -7 },
		{ "1234567890", true, 1234567890 },
		{ "9223372036854775807", true, LLONG_MAX },
		{ "-9223372036854775808", true, LLONG_MIN },
		{ "9223372036854775808", false, 0 },
		{ "-9223372036854775809", false, 0 },
		{ "99999999999999999999999999999999999999", false, 0 },
		{ "1.0", false, 0 },
		{ "1e2", false, 0 },
		{ "0.5", false, 0 },
		{ "-0.0e-0", false, 0 },
		{ "1E+300", false, 0 },
		{ "1e-400", false, 0 },
		{ "123456789012345678901234567890e99999999999", false, 0 },
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		int rc = parse_n(nums[i].text, strlen(nums[i].text), &doc);
		bool is_int = rc == 0 && json_int(json_root(doc), &v);
		CHECKF(rc == 0 && json_type(json_root(doc)) == JSON_NUMBER && is_int == nums[i].is_int &&
			       (!is_int || v == nums[i].v),
		       "%s: rc %d is_int %d v %lld", nums[i].text, rc, is_int, v);
		json_free(doc);
	}
	/* a very long number still parses (bounded only by the input) */
	char buf[2000];
	memset(buf, '9', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	CHECK(parse_n(buf, strlen(buf), &doc) == 0 && !json_int(json_root(doc), &v));
	json_free(doc);

	bad("01", 0);
	bad("-01", 1);
	bad("00", 0);
	bad("[0123]", 1);
	bad("-", 1);
	bad("--1", 1);
	bad("+1", 0);
	bad(".5", 0);
	bad("1.", 2);
	bad("1.e3", 2);
	bad("1e", 2);
	bad("1e+", 3);
	bad("1e+-1", 3);
	bad("0x10", 1);
	bad("1.5.5", 3);
	bad("- 1", 1);
	bad("[1,-]", 4);
}

/* json_write_string output, parsed back, must give the input (for valid UTF-8 without NUL). */
static void round_trip(const char *s, const char *want_json)
{
	struct dbuf b;
	struct json_doc *doc = NULL;
	size_t len = 0;
	dbuf_init(&b);
	json_write_string(&b, s);
	CHECK(!b.failed);
	if (want_json)
		CHECKF(b.len == strlen(want_json) && memcmp(b.data, want_json, b.len) == 0, "wrote %.*s, want %s",
		       (int)b.len, (const char *)b.data, want_json);
	int rc = parse_n((const char *)b.data, b.len, &doc);
	const char *back = json_string(json_root(doc), &len);
	CHECKF(rc == 0 && back && len == strlen(s) && strcmp(back, s) == 0, "round trip of \"%s\": rc %d %s", s, rc,
	       err);
	json_free(doc);
	dbuf_free(&b);
}

static void test_writer(void)
{
	struct dbuf b;
	round_trip("", "\"\"");
	round_trip("plain text", "\"plain text\"");
	round_trip("q\"b\\s/", "\"q\\\"b\\\\s/\"");
	round_trip("\x01\x1f\n\t\r\b\f", "\"\\u0001\\u001f\\u000a\\u0009\\u000d\\u0008\\u000c\"");
	round_trip("\x7f", "\"\x7f\"");
	round_trip("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf",
		   "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"");
	/* every single byte 0x01..0x7f and every valid two-byte sequence */
	char s[3] = { 0 };
	for (int c = 1; c < 0x80; c++) {
		s[0] = (char)c;
		round_trip(s, NULL);
	}
	for (int c = 0xc2; c <= 0xdf; c++)
		for (int d = 0x80; d <= 0xbf; d++) {
			s[0] = (char)c, s[1] = (char)d;
			round_trip(s, NULL);
		}
	s[1] = '\0';
	/* invalid UTF-8 becomes U+FFFD per byte, so the output is still valid JSON */
	dbuf_init(&b);
	json_write_string(&b, "a\xff" "b\xc0\x80" "c\xe2\x82");
	const char *want = "\"a\\ufffdb\\ufffd\\ufffdc\\ufffd\\ufffd\"";
	CHECKF(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0, "%.*s", (int)b.len, (const char *)b.data);
	struct json_doc *doc = NULL;
	CHECK(parse_n((const char *)b.data, b.len, &doc) == 0 &&
	      strcmp(json_string(json_root(doc), NULL),
		     "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd" "c\xef\xbf\xbd\xef\xbf\xbd") == 0);
	json_free(doc);
	/* appends: an object assembled from pieces parses */
	b.len = 0;
	dbuf_add(&b, "{", 1);
	json_write_string(&b, "k\"1");
	dbuf_add(&b, ":", 1);
	json_write_string(&b, "v\n");
	dbuf_add(&b, "}", 1);
	CHECK(parse_n((const char *)b.data, b.len, &doc) == 0 &&
	      strcmp(json_string(json_get(json_root(doc), "k\"1"), NULL), "v\n") == 0);
	json_free(doc);
	dbuf_free(&b);
}

int main(void)
{
	test_types();
	test_cfssl();
	test_limits();
	test_structure();
	test_duplicates();
	test_strings();
	test_numbers();
	test_writer();
	return check_done("unit_json");
}
