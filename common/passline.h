/* passline: a secret as a file or a terminal gives it (a custodian's --passphrase-file for the ceremony tool
 * and the unseal CLI, a line typed without echo, the frontend's --password-file). It is one line: bytes with no
 * NUL, CR or LF, then nothing or one line end ("\n" or "\r\n"), then nothing at all. A second line (a note
 * under the passphrase), a NUL or a bare CR is refused rather than taken into the secret; how long it must be
 * is the caller's rule (an empty line is one line, of length 0). */
#ifndef HSMCA_PASSLINE_H
#define HSMCA_PASSLINE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The line's length within buf[0..n) (its bytes are buf[0..*len), left where they are): 0, or
 * HSMCA_ERR_PARSE (not one line) with *len 0. Reads nothing past buf + n; copies nothing. */
int passline_len(const uint8_t *buf, size_t n, size_t *len) HSMCA_WUR;
/* The rule before passline_len, for opening a share sealed under it: everything but the line ends (CR, LF) at
 * the end. A passphrase of several lines sealed a share then, and only this reading opens it. */
size_t passline_len_legacy(const uint8_t *buf, size_t n);

#endif
