/* The HTTP side (libevent evhttp on one loop thread): limits, routing, cheap endpoints answered on the
 * loop, everything that touches PostgreSQL or the signer handed to the worker pool. */
#ifndef HSMCA_HTTP_H
#define HSMCA_HTTP_H

#include "app.h"
#include "listen.h"

/* Serves on the listeners bound by listen_open (taking their fds; l->tls stays the caller's and must
 * outlive the loop), starts the pool and runs the loop until the process is told to stop (SIGTERM/SIGINT). */
int http_run(struct app *a, struct listeners *l) HSMCA_WUR;

#endif
