/* The frontend's listening sockets and TLS context, opened as root (privileged ports, key files) before
 * the privilege drop and handed to http_run, which owns them from then on. */
#ifndef HSMCA_LISTEN_H
#define HSMCA_LISTEN_H

#include <openssl/ssl.h>

#include "err.h"
#include "fconfig.h"

#define LISTEN_BACKLOG 128

struct listeners {
	int plain_fd; /* listen (HTTP), or -1 */
	int tls_fd;   /* tls_listen (HTTPS), or -1 */
	SSL_CTX *tls; /* set when tls_fd is */
};

/* Builds the TLS context (tls.h) and binds every listener c names; err (CONF_ERR_MAX) says which and why.
 * On failure nothing stays open. */
int listen_open(const struct fconfig *c, struct listeners *out, char *err) HSMCA_WUR;
/* Descriptors kept back from client connections: the workers', committer's, checkpoint's and watcher's
 * database and signer connections, files, and room (LISTEN_FD_RESERVE + LISTEN_FD_PER_THREAD * threads). */
#define LISTEN_FD_RESERVE 256
#define LISTEN_FD_PER_THREAD 4
/* Raises the soft descriptor limit to the hard one, then sets c->max_connections if the file left it 0 (the
 * limit less the reserve, at least 64) or checks that the reserve still fits beside it (else err says what
 * to raise or lower). */
int listen_conn_cap(struct fconfig *c, char *err) HSMCA_WUR;
/* Closes what is still open (fds set to -1 were handed on). */
void listen_close(struct listeners *l);

#endif
