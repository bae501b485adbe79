/* readall: a small secret or file read whole from a descriptor (a share, a passphrase file, a CSR), bounded.
 * The caller owns buf and wipes it if it holds a secret. */
#ifndef HSMCA_READALL_H
#define HSMCA_READALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Reads fd into buf (max + 1 bytes) to its end, or with line to its first line end (a byte at a time: nothing
 * past the line is taken, and a pipe left open is not waited on). Short reads are continued, EINTR retried.
 * 0 with *out_len; HSMCA_ERR_LIMIT past max bytes (a line of max bytes and its "\n" fits); HSMCA_ERR_IO. */
int readall_fd(int fd, uint8_t *buf, size_t max, bool line, size_t *out_len) HSMCA_WUR;

#endif
