/* A bounded JSON parser (RFC 8259) for request bodies, and a small writer for responses.
 * Limits: JSON_MAX_INPUT bytes, JSON_MAX_DEPTH nesting, JSON_MAX_NODES values. Strict: no trailing bytes
 * (besides whitespace), no duplicate object keys, valid UTF-8 and escapes (surrogate pairs checked),
 * no leading zeros, no NaN/Infinity. Strings are decoded into the document's arena (NUL-terminated;
 * a string containing U+0000 is rejected). */
#ifndef HSMCA_JSON_H
#define HSMCA_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "der.h"
#include "err.h"

#define JSON_MAX_INPUT (256u * 1024u)
#define JSON_MAX_DEPTH 16
#define JSON_MAX_NODES 4096

enum json_type { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json_doc; /* owns every node and string */
struct json_node;

/* Parses text. On failure returns HSMCA_ERR_PARSE or HSMCA_ERR_LIMIT and writes "offset N: why" to err. */
int json_parse(const char *text, size_t len, struct json_doc **out, char *err, size_t err_len) HSMCA_WUR;
void json_free(struct json_doc *doc);
const struct json_node *json_root(const struct json_doc *doc);
enum json_type json_type(const struct json_node *n);
/* Object member by key; NULL if absent or n is not an object. */
const struct json_node *json_get(const struct json_node *n, const char *key);
/* String value (NULL if not a string); *out_len gets its byte length if out_len is non-NULL. */
const char *json_string(const struct json_node *n, size_t *out_len);
/* Number as a signed 64-bit integer; false if not an integer in range. */
bool json_int(const struct json_node *n, long long *out);
size_t json_array_len(const struct json_node *n);
const struct json_node *json_array_at(const struct json_node *n, size_t i);
/* Object iteration: count and i-th key/value. */
size_t json_object_len(const struct json_node *n);
const char *json_object_key(const struct json_node *n, size_t i);
const struct json_node *json_object_value(const struct json_node *n, size_t i);

/* Writer: appends a string literal's bytes (without its NUL) to b. */
#define JSON_LIT(b, lit) dbuf_add((b), (lit), sizeof(lit) - 1)
/* Writer: appends s as a JSON string literal (quotes, escapes) to b. */
void json_write_string(struct dbuf *b, const char *s);

#endif
