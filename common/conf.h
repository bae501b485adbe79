/* Declarative config files: "[section name]" headers and "key = value" lines; a line whose first non-blank
 * byte is '#' is a comment, and a '#' anywhere else is refused (no value holds one, no comment follows one).
 * Bounded: CONF_FILE_MAX bytes, CONF_LINE_MAX per line, printable ASCII only. Each process reads its
 * file once; unknown keys are rejected by the caller's callback, which gets the line number. */
#ifndef HSMCA_CONF_H
#define HSMCA_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "err.h"

#define CONF_FILE_MAX (256u * 1024u)
#define CONF_LINE_MAX 1024u
#define CONF_ERR_MAX 256u

/* Called once per section header (key == NULL) and once per key/value. section is "" before any header.
 * Returns 0 or a negative error, having written a message into err (CONF_ERR_MAX bytes). */
typedef int (*conf_cb)(void *ctx, const char *section, const char *key, const char *value, unsigned line,
		       char *err);

/* Parses text (need not be NUL-terminated). On error err holds "line N: why". Each line is parsed in a copy
 * that is wiped once its callback returns (a value may be a secret: the callback copies what it keeps). */
int conf_parse(const char *text, size_t len, conf_cb cb, void *ctx, char *err) HSMCA_WUR;
/* Reads path (at most CONF_FILE_MAX bytes) into *out (malloc'd; the caller frees it with conf_file_free). */
int conf_read_file(const char *path, char **out, size_t *out_len, char *err) HSMCA_WUR;
/* Wipes (the file may hold secrets) and frees what conf_read_file returned; NULL is fine. */
void conf_file_free(char *buf, size_t len);
/* Reads path (at most CONF_FILE_MAX bytes) and parses it; the file's bytes are wiped before they are freed. */
int conf_parse_file(const char *path, conf_cb cb, void *ctx, char *err) HSMCA_WUR;

/* Value helpers: return false on anything but a clean value. */
bool conf_value_uint(const char *v, uint64_t max, uint64_t *out);
bool conf_value_bool(const char *v, bool *out);
/* Exactly 2 * len hex digits (either case) into out; false otherwise (out undefined). */
bool conf_value_hex(const char *v, uint8_t *out, size_t len);
/* Copies v into out (size out_len) if it fits. */
bool conf_value_str(const char *v, char *out, size_t out_len);

/* A list value: items separated by a comma, spaces or both ("a, b", "a b"; a tab is part of an item, which
 * the item's own check then refuses); an empty item (",a", "a,,b",
 * "a,") is an error, never skipped. Set up with { .p = value }, then conf_list_next until it returns 0: 1 with
 * the next item in item (max bytes with its NUL), HSMCA_ERR_CONFIG (an empty item), HSMCA_ERR_LIMIT (longer). */
struct conf_list {
	const char *p;
	bool started;
};
int conf_list_next(struct conf_list *l, char *item, size_t max) HSMCA_WUR;

#endif
