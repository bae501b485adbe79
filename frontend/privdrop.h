/* The frontend's own privilege drop: started as root, it binds its sockets and reads every file it needs,
 * then becomes `user` for good before it starts a thread or connects to PostgreSQL or the signer. */
#ifndef HSMCA_PRIVDROP_H
#define HSMCA_PRIVDROP_H

#include "err.h"

/* As root with user set: the user's groups (initgroups: supplementary groups such as the signer's socket
 * group apply), then setresgid and setresuid to the user's ids, proven irreversible (setuid(0) must fail),
 * then no new privileges, not dumpable, no core files. As root without user: refused (HSMCA_ERR_CONFIG),
 * the frontend never serves as root. Not root: the no-new-privileges and dumpable settings
 * only. Single-threaded callers only (getpwnam, and the ids change for this thread alone otherwise). */
int privdrop_to(const char *user) HSMCA_WUR;

#endif
