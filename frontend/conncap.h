/* conncap: at most max_connections_per_address connections open from one peer address (an IPv6 peer counts
 * by its /64, which one host holds whole) on the HTTP and HTTPS listeners, so one client cannot take every
 * descriptor the frontend has; and at most max_connection_rate_per_address new ones a second from it (a
 * token bucket holding two seconds' worth), so one client reconnecting in a loop cannot take the loop thread,
 * on which every TLS handshake runs (deadline.c ends a refused TLS connection before OpenSSL reads its
 * ClientHello). deadline.c counts each connection once its socket is known and releases
 * it when evhttp has let go of the connection. Loop thread only. */
#ifndef HSMCA_CONNCAP_H
#define HSMCA_CONNCAP_H

#include <event2/util.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "err.h"

#define CONNCAP_KEY_LEN 17 /* family byte, then the IPv4 address or the IPv6 /64 (zero-padded) */

#define CONNCAP_MAX_ENTRIES 65536 /* addresses tracked at once (~4 MB); with a rate, a new one past it is refused */

struct conncap_entry; /* one address's count and bucket (owned by this module) */

/* max 0: no cap (counts are still kept for conncap_open); rate 0: no rate limit. Forgets every address:
 * call it before any connection is counted, or once every counted one is released. */
void conncap_init(unsigned max, unsigned rate);
/* The key of a peer address: false for a family other than IPv4 and IPv6 (a Unix socket: not capped). An
 * IPv4-mapped IPv6 address counts as the IPv4 address. */
bool conncap_key(const struct sockaddr *sa, socklen_t len, uint8_t key[CONNCAP_KEY_LEN]);
/* Counts a connection from fd's peer at now_ms (a monotonic clock in milliseconds): 0 and *out set (NULL for
 * an uncapped family, or, without a rate, a new address while CONNCAP_MAX_ENTRIES are tracked); HSMCA_ERR_IO
 * if fd has no peer (getpeername fails: the client reset it already; the caller drops it, since a connection
 * let through uncounted escaped every per-address limit); HSMCA_ERR_AGAIN if the address has opened connections faster than rate lately (its bucket is
 * empty; with a rate, also an address new while CONNCAP_MAX_ENTRIES are tracked);
 * HSMCA_ERR_LIMIT if it has max connections open already; HSMCA_ERR_NOMEM. A refused connection is not
 * counted, but one refused by the cap has taken from its address's bucket all the same. */
int conncap_take(evutil_socket_t fd, uint64_t now_ms, struct conncap_entry **out) HSMCA_WUR;
/* The same for a peer whose key (conncap_key) is known already. */
int conncap_take_key(const uint8_t key[CONNCAP_KEY_LEN], uint64_t now_ms, struct conncap_entry **out) HSMCA_WUR;
/* Releases a connection counted by conncap_take (e NULL: nothing). */
void conncap_release(struct conncap_entry *e);
/* Forgets the addresses with no connection open whose bucket has filled again by now_ms (the sweep). */
void conncap_sweep(uint64_t now_ms);
/* Connections refused by the cap and by the rate so far, connections counted now, addresses tracked now. */
unsigned long conncap_refused(void);
unsigned long conncap_rate_refused(void);
unsigned long conncap_open(void);
unsigned long conncap_entries(void);

#endif
