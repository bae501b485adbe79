/* One line per event, key=value, to stderr. Never pass secrets or request bodies. */
#ifndef HSMCA_LOG_H
#define HSMCA_LOG_H

#include <stddef.h>

void log_set_prog(const char *prog);
/* level: "info", "warn", "error". fmt is the key=value rest of the line. */
void log_event(const char *level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A value from outside (a user name a client sent) as one quoted token for a key=value line: '"' and backslash
 * escaped, every byte outside ' '..'~' as \xNN, cut short to fit out_len (at least 3). Returns out. */
const char *log_quote(const char *in, char *out, size_t out_len);
/* Hex of the SHA-256 of data into out (65 bytes). */
void log_sha256_hex(const void *data, unsigned long len, char out[65]);

#endif
