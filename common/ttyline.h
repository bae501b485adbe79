/* ttyline: one secret line typed at a terminal without echo (a custodian's passphrase, for the ceremony tool
 * and the unseal CLI). What it reads is the caller's: out, in memory the caller wipes. */
#ifndef HSMCA_TTYLINE_H
#define HSMCA_TTYLINE_H

#include <stddef.h>

#include "err.h"

/* Turns echo off on terminal fd, writes prompt to prompt_fd, reads one line into out (max + 1 bytes: a line
 * of max bytes and its end), puts the terminal back and ends the prompt's line. A line longer than that is
 * read to its end and dropped (never left for the shell or the next prompt): HSMCA_ERR_LIMIT, out wiped.
 * HSMCA_ERR_STATE if fd is no terminal or echo cannot be turned off (nothing is read: a typed secret would
 * show), HSMCA_ERR_IO if the read fails. 0 with *out_len the bytes read (the line end included, as
 * passline_len takes it). */
int ttyline_read(int fd, int prompt_fd, const char *prompt, char *out, size_t max, size_t *out_len) HSMCA_WUR;

#endif
