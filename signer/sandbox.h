/* Privilege drop and the seccomp allowlist of the signing phase. */
#ifndef HSMCA_SGN_SANDBOX_H
#define HSMCA_SGN_SANDBOX_H

#include <stdbool.h>

#include "err.h"

/* If running as root: drops to user (its primary group, no supplementary groups). Then sets
 * PR_SET_NO_NEW_PRIVS and PR_SET_DUMPABLE 0 (again after the uid change). user NULL/"" as root is an error. */
int sgn_privdrop(const char *user) HSMCA_WUR;
/* Loads the allowlist (all threads). trap = true: forbidden calls raise SIGSYS (tests), otherwise the
 * process is killed. */
int sgn_sandbox_enter(bool trap) HSMCA_WUR;

#endif
