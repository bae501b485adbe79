/* The serials this process is issuing right now: from before its intent is committed until its request is
 * answered (sign-ahead in the committer, or a worker's own signer call). The recovery pass leaves these
 * rows alone (issue.c): their signing is under way here, and a second signature of the same TBS would be
 * one nobody asked for. Thread-safe; a small hash table under one mutex. */
#ifndef HSMCA_INFLIGHT_H
#define HSMCA_INFLIGHT_H

#include <stdbool.h>

#include "err.h"

/* Records serial (hex, as the intent carries it; compared case-insensitively). HSMCA_ERR_NOMEM or
 * HSMCA_ERR_LIMIT (longer than DB_SERIAL_HEX_MAX - 1) if it cannot be recorded: the caller must not go on. */
int inflight_add(const char *serial) HSMCA_WUR;
/* Forgets one record of serial (none: nothing happens). */
void inflight_del(const char *serial);
bool inflight_has(const char *serial);

#endif
