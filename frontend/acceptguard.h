/* acceptguard: an accept() that fails for want of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM)
 * pauses its listener for ACCEPTGUARD_PAUSE_MS instead of being retried at once. libevent leaves a listener
 * armed after such an error, and the connection still waiting in the backlog keeps it readable, so the loop
 * thread spun at full CPU (and the log took a line per turn) until a descriptor came free. Loop thread only. */
#ifndef HSMCA_ACCEPTGUARD_H
#define HSMCA_ACCEPTGUARD_H

#include <event2/event.h>
#include <event2/http.h>

#include "err.h"

#define ACCEPTGUARD_PAUSE_MS 100
#define ACCEPTGUARD_MAX 2 /* listeners watched: HTTP and HTTPS */

/* Watches the listener of bound (from evhttp_accept_socket_with_handle) on base. */
int acceptguard_watch(struct event_base *base, struct evhttp_bound_socket *bound) HSMCA_WUR;
/* Frees the timers (after the listeners are freed). */
void acceptguard_stop(void);
/* accept() failures that paused a listener so far. */
unsigned long acceptguard_pauses(void);

#endif
