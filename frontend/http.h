/* The HTTP side (libevent evhttp on one loop thread): limits, routing, cheap endpoints answered on the
 * loop, everything that touches PostgreSQL or the signer handed to the worker pool. */
#ifndef HSMCA_HTTP_H
#define HSMCA_HTTP_H

#include "app.h"

/* Binds, starts the pool and runs the loop until the process is told to stop (SIGTERM/SIGINT). */
int http_run(struct app *a) HSMCA_WUR;

#endif
