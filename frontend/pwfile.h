/* pwfile: the command line's password files (bootstrap-admin, create-account --password-file FILE).
 * A password file holds one line: the password (1..AUTH_PW_MAX bytes, no NUL, CR or LF), then nothing or
 * one line end ("\n" or "\r\n"), then nothing at all. A longer line, a second line or a bare CR is refused
 * rather than cut or taken into the password. Passwords shorter than PWFILE_MIN bytes are refused too.
 * Neither function logs or keeps the bytes it reads: the caller owns out and wipes it after use. */
#ifndef HSMCA_PWFILE_H
#define HSMCA_PWFILE_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

#define PWFILE_MIN 12
#define PWFILE_READ_MAX (AUTH_PW_MAX + 3) /* a full line, "\r\n", and one byte to see what follows */
#define PWFILE_OUT (AUTH_PW_MAX + 1)      /* out's size: the password and its NUL */

/* Parses the file's n bytes into out (PWFILE_OUT bytes, NUL-terminated) and *len. 0;
 * HSMCA_ERR_PARSE if the bytes are not one line of at most AUTH_PW_MAX bytes (or n > PWFILE_READ_MAX);
 * HSMCA_ERR_AUTH if the line is shorter than PWFILE_MIN bytes. On an error out is all zero and *len 0. */
int pwfile_parse(const uint8_t *buf, size_t n, char *out, size_t *len);

/* Reads path (at most PWFILE_READ_MAX bytes, by read(2): no stdio buffer keeps a copy) and parses it as
 * pwfile_parse does; the raw bytes are wiped before it returns. HSMCA_ERR_IO if the file cannot be read. */
int pwfile_read(const char *path, char *out, size_t *len);

#endif
