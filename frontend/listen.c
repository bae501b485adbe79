#include "listen.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "tls.h"

#define LISTEN_PORT_TEXT 8

/* A non-blocking, close-on-exec TCP listener on addr:port (SO_REUSEADDR, so a restart rebinds at once). */
static int listen_tcp(const char *key, const char *addr, unsigned port, int *out, char *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	char ports[LISTEN_PORT_TEXT];
	int one = 1, fd = -1, gai;
	snprintf(ports, sizeof(ports), "%u", port);
	if ((gai = getaddrinfo(addr, ports, &hints, &ai)) != 0) {
		snprintf(err, CONF_ERR_MAX, "%s %s:%u: %s", key, addr, port, gai_strerror(gai));
		return HSMCA_ERR_CONFIG;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, LISTEN_BACKLOG) != 0) {
		snprintf(err, CONF_ERR_MAX, "%s %s:%u: cannot listen (%s)", key, addr, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return HSMCA_ERR_IO;
	}
	freeaddrinfo(ai);
	*out = fd;
	return 0;
}

int listen_open(const struct fconfig *c, struct listeners *out, char *err)
{
	int rc = 0;
	out->plain_fd = out->tls_fd = -1;
	out->tls = NULL;
	/* the key files first: a bad key is reported as such even when the port is taken */
	if (c->tls_port)
		rc = tls_ctx_new(c, &out->tls, err);
	if (!rc && c->listen_port)
		rc = listen_tcp("listen", c->listen_addr, c->listen_port, &out->plain_fd, err);
	if (!rc && c->tls_port)
		rc = listen_tcp("tls_listen", c->tls_addr, c->tls_port, &out->tls_fd, err);
	if (rc)
		listen_close(out);
	return rc;
}

void listen_close(struct listeners *l)
{
	if (l->plain_fd >= 0)
		close(l->plain_fd);
	if (l->tls_fd >= 0)
		close(l->tls_fd);
	SSL_CTX_free(l->tls);
	l->plain_fd = l->tls_fd = -1;
	l->tls = NULL;
}
