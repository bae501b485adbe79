/* Landlock for the signer: the seccomp filters cannot say which files openat may reach (an in-process module
 * such as SoftHSM needs it), nor where unlink, bind and chown act, so before the sealed phase's filter the
 * process (one thread, so every later thread inherits it) is confined to its module's directories (none
 * behind p11-kit) and its sockets' directories. */
#ifndef HSMCA_SGN_LANDLOCK_H
#define HSMCA_SGN_LANDLOCK_H

#include <stddef.h>

#include "err.h"

#define SGN_LANDLOCK_DIRS_MAX 4

/* From now on files can be opened, created, truncated or removed (directories listed) only under
 * module_dirs[0..n_module), and Unix sockets created or files removed only under sock_dirs[0..n_sock)
 * (Landlock rules cover a directory's whole subtree: the sockets' directories must hold nothing else);
 * nothing can be executed, linked across directories, or made as a directory, device, FIFO or symlink
 * anywhere; with the kernel's ABI 4 no TCP bind or connect, with ABI 6 no abstract Unix socket outside and
 * no signal to another process. Sets PR_SET_NO_NEW_PRIVS. *abi: the kernel's Landlock ABI version, 0 if it
 * has none (nothing applied, returns 0: the caller says so). Errors (why, why_len: which directory or step
 * and errno's text): HSMCA_ERR_CONFIG (a directory that cannot be opened; more than one thread running,
 * which would stay unconfined), HSMCA_ERR_IO (the kernel refused the ruleset). */
/* Before sgn_landlock_enter, the directories as the kernel resolves them ("..", symlinks): no module
 * directory may be "/"; a sockets' directory may not be "/", writable by others, hold anything but sockets,
 * or hold (or be) a module directory. 0, or HSMCA_ERR_CONFIG with why (which directory, what is wrong). */
int sgn_landlock_check_dirs(const char *const *module_dirs, unsigned n_module, const char *const *sock_dirs,
			    unsigned n_sock, char *why, size_t why_len) HSMCA_WUR;
int sgn_landlock_enter(const char *const *module_dirs, unsigned n_module, const char *const *sock_dirs,
		       unsigned n_sock, int *abi, char *why, size_t why_len) HSMCA_WUR;

#endif
