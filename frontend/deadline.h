/* A whole-request deadline for the HTTP listeners. libevent's own timeout is per read, so a client that
 * trickles a byte every few seconds would hold its connection (and its memory) for ever. Here every
 * connection's input is watched: the first byte of a request starts a clock, the request reaching the
 * router stops it, and a request not complete within the deadline gets "408 Request Timeout" (over TLS
 * once the handshake is done) and its connection is shut down. Over TLS the first request's clock starts
 * at the connection, so the handshake is inside the deadline too, and each later one's when the one before
 * it is answered. Input past max_input (a chunk-size line without end) gets "413" and the same. A reply the
 * router started that is not written out within the same deadline (its client reads too slowly) cuts its
 * connection, logged and counted (libevent's per-read and per-write timeouts end most such, later and
 * silently, but a write that makes a little progress now and then renews its timeout). The replies
 * evhttp makes itself (400, 413, 501, as HTML; the 501 becomes 405) are replaced by JSON errors (httperr.h), and connections
 * are counted per peer address (conncap.h). Loop thread only. */
#ifndef HSMCA_DEADLINE_H
#define HSMCA_DEADLINE_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdbool.h>

#include "err.h"

/* Starts the sweep (five times a second) on base with the deadline in seconds; a connection whose unread
 * input exceeds max_input bytes is answered 413 and shut down. evhttp's own error replies (httperr.h) are
 * made JSON; its 400 for a request that took more than max_header bytes becomes 431. A header block is checked
 * as it arrives (hdrscan.h): refused framing gets 400, more than max_fields header fields 431, and the
 * connection is cut. Once more than max_total connections are open in all (0: no cap), a new one is answered
 * 503 too-many-connections (over TLS only shut) whatever its address. A connection from an
 * address that has max_per_address open already (0: no cap), or that opened more than rate_per_address a
 * second lately (0: no limit; 503 with Retry-After), is answered 503 and shut down (over TLS only shut,
 * before OpenSSL has read its ClientHello) (conncap.h). */
int deadline_start(struct event_base *base, unsigned seconds, size_t max_input, size_t max_header,
		   unsigned max_fields, unsigned max_total, unsigned max_per_address, unsigned rate_per_address) HSMCA_WUR;
/* Connections refused because max_total were open (503 too-many-connections), and connections watched now. */
unsigned long deadline_total_refused(void);
unsigned long deadline_open(void);
void deadline_stop(void);
/* Registers a new connection's bufferevent (from an evhttp bevcb); returns bev (NULL stays NULL). */
struct bufferevent *deadline_watch(struct bufferevent *bev, bool tls);
/* evhttp_set_bevcb callback for plain connections (arg unused). */
struct bufferevent *deadline_bevcb_plain(struct event_base *base, void *arg);
/* The router has the complete request: stop its clock (over TLS it runs again once the request is answered,
 * for the next request on the connection). True if the connection was cut or refused (408, 413, or over
 * max_connections_per_address or max_connection_rate_per_address): a request its client sent before the
 * cut reached evhttp anyway, and must not be acted on. */
bool deadline_request_read(struct evhttp_request *req);
/* What evhttp calls as it frees evcon (evhttp_connection_set_closecb; fn NULL: nothing), run by this module's
 * own close callback, which releases the connection's per-address count and closes its descriptor in the same
 * turn of the loop instead of at the next sweep. Other modules set a connection's close callback only so. */
void deadline_set_closecb(struct evhttp_connection *evcon, void (*fn)(struct evhttp_connection *, void *),
			  void *arg);
/* A kept-alive connection's limits: the reply to its max_requests'th request, or to one after it is
 * max_seconds old, carries Connection: close, and evhttp closes it once that reply is written (0: no such
 * limit, as before it is called). */
void deadline_set_conn_limits(unsigned max_requests, unsigned max_seconds);
/* Connections closed so (their last reply said Connection: close) so far. */
unsigned long deadline_recycled(void);
/* req's reply says Connection: close and evhttp closes its connection once the reply is written (the request's
 * own Connection header set to close). 0, or HSMCA_ERR_NOMEM (then evhttp's default for the request's HTTP
 * version stands: a caller may ignore it). */
int deadline_close_after(struct evhttp_request *req);
/* Requests answered 408 so far. */
unsigned long deadline_timeouts(void);
/* Replies not written out within the deadline so far (their connections cut). */
unsigned long deadline_reply_timeouts(void);

#endif
