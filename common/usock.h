/* Unix SOCK_SEQPACKET sockets for the signer's request and control sockets. */
#ifndef HSMCA_USOCK_H
#define HSMCA_USOCK_H

#include <sys/types.h>

#include "err.h"

/* Binds and listens on path (a stale socket file is replaced), created with mode (through the umask: no
 * chmod) and, if gid != -1, group gid: as root through the effective gid around bind (no chown of a path,
 * which the signer's in-process sandbox does not allow), otherwise by a chown of the new socket (a group the
 * process is in; a setgid directory's group needs none). Checked by lstat; on failure nothing is left. */
int usock_listen(const char *path, mode_t mode, gid_t gid, int *out_fd) HSMCA_WUR;
int usock_connect(const char *path, int *out_fd) HSMCA_WUR;
/* The same with timeout_ms (0: none) on connect and on every later send and receive (SO_SNDTIMEO,
 * SO_RCVTIMEO): one that expires fails with errno EAGAIN. */
int usock_connect_timeout(const char *path, unsigned timeout_ms, int *out_fd) HSMCA_WUR;

#endif
