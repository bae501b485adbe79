/* Unix SOCK_SEQPACKET sockets for the signer's request and control sockets. */
#ifndef HSMCA_USOCK_H
#define HSMCA_USOCK_H

#include <sys/types.h>

#include "err.h"

/* Binds and listens on path (a stale socket file is replaced), created with mode and, if gid != -1, group
 * gid (through the umask and the effective gid around bind: no chmod or chown of the path, which the signer's
 * sandbox does not allow). gid other than the effective gid needs the right to take it (root). */
int usock_listen(const char *path, mode_t mode, gid_t gid, int *out_fd) HSMCA_WUR;
int usock_connect(const char *path, int *out_fd) HSMCA_WUR;
/* The same with timeout_ms (0: none) on connect and on every later send and receive (SO_SNDTIMEO,
 * SO_RCVTIMEO): one that expires fails with errno EAGAIN. */
int usock_connect_timeout(const char *path, unsigned timeout_ms, int *out_fd) HSMCA_WUR;

#endif
