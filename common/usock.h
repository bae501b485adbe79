/* Unix SOCK_SEQPACKET sockets for the signer's request and control sockets. */
#ifndef HSMCA_USOCK_H
#define HSMCA_USOCK_H

#include <sys/types.h>

#include "err.h"

/* Binds and listens on path (a stale socket file is replaced), sets mode and, if gid != -1, group. */
int usock_listen(const char *path, mode_t mode, gid_t gid, int *out_fd) HSMCA_WUR;
int usock_connect(const char *path, int *out_fd) HSMCA_WUR;

#endif
