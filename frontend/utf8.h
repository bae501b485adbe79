/* Strict UTF-8 (RFC 3629): shortest forms only, no surrogates, nothing above U+10FFFF. PostgreSQL's UTF8
 * databases refuse anything else, so text from outside that is not UTF-8 is refused (or found to be nothing)
 * before it reaches a query. */
#ifndef HSMCA_UTF8_H
#define HSMCA_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The length of the one UTF-8 sequence at s[0..len) (len > 0), with its code point in *cp; or 0 if it is not
 * one (cp untouched). */
size_t utf8_next(const uint8_t *s, size_t len, uint32_t *cp);
/* True if s[0..len) is all UTF-8 (an empty string is). */
bool utf8_valid(const uint8_t *s, size_t len);

#endif
