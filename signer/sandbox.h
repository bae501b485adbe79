/* Privilege drop and the seccomp allowlists of the sealed and the signing phase. */
#ifndef HSMCA_SGN_SANDBOX_H
#define HSMCA_SGN_SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

#include "err.h"

/* The ids to drop to, resolved before any sandbox (getpwnam reads NSS files and may load NSS modules). */
struct sgn_ids {
	bool drop; /* running as root: drop to uid/gid */
	uid_t uid;
	gid_t gid;
};
/* Running as root: out gets user's uid and primary group (user NULL/"" or root is an error); otherwise
 * nothing to drop. */
int sgn_privdrop_resolve(const char *user, struct sgn_ids *out) HSMCA_WUR;
/* Drops to ids (no supplementary groups; checked irreversible) if ids->drop, then sets PR_SET_NO_NEW_PRIVS,
 * PR_SET_DUMPABLE 0 (again after the uid change) and RLIMIT_CORE 0. */
int sgn_privdrop(const struct sgn_ids *ids) HSMCA_WUR;
/* The sealed phase's allowlist (all threads), loaded once the module is loaded and the control socket
 * exists, before any share is read: the signing phase's calls plus what the unseal, C_Login, binding the
 * keys, the signing socket (socket() only AF_UNIX SOCK_SEQPACKET; others EACCES) and the worker threads need,
 * and loading the signing phase's filter. in_process (a module that reads its token's files in the signer,
 * and a privilege drop still to come): also openat, fcntl, ftruncate and the id changes; without it (the
 * p11-kit client, privileges already dropped) no file can be opened. */
int sgn_sandbox_enter_sealed(bool in_process, bool trap) HSMCA_WUR;
/* The signing phase's allowlist (all threads), stacked on the sealed one: the stricter verdict of the two
 * applies. trap = true: forbidden calls raise SIGSYS (tests), otherwise the process is killed. */
int sgn_sandbox_enter(bool trap) HSMCA_WUR;

#endif
