#include "listen.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
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

int listen_conn_cap(struct fconfig *c, char *err)
{
	struct rlimit r;
	if (getrlimit(RLIMIT_NOFILE, &r) != 0) {
		snprintf(err, CONF_ERR_MAX, "cannot read the descriptor limit: %s", strerror(errno));
		return HSMCA_ERR_CONFIG;
	}
	if (r.rlim_cur < r.rlim_max) { /* up to the hard limit: no privilege needed */
		rlim_t want = r.rlim_max;
		r.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &r) != 0)
			(void)getrlimit(RLIMIT_NOFILE, &r);
	}
	unsigned long long have = r.rlim_cur == RLIM_INFINITY ? 1ULL << 20 : (unsigned long long)r.rlim_cur;
	unsigned long long reserve = LISTEN_FD_RESERVE + (unsigned long long)LISTEN_FD_PER_THREAD * c->threads;
	if (c->max_connections == 0) {
		unsigned long long cap = have > reserve + 64 ? have - reserve : 64;
		c->max_connections = cap > 1000000 ? 1000000 : (unsigned)cap;
		return 0;
	}
	if (c->max_connections + reserve > have) {
		snprintf(err, CONF_ERR_MAX, "max_connections = %u needs %llu descriptors with the %llu kept for the "
			 "workers and the database and signer connections, and the limit is %llu: raise it (LimitNOFILE, "
			 "ulimit -n) or lower max_connections", c->max_connections, c->max_connections + reserve, reserve,
			 have);
		return HSMCA_ERR_CONFIG;
	}
	return 0;
}
