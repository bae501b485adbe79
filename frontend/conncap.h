/* conncap: at most max_connections_per_address connections open from one peer address (an IPv6 peer counts
 * by its /64, which one host holds whole) on the HTTP and HTTPS listeners, so one client cannot take every
 * descriptor the frontend has. deadline.c counts each connection once its socket is known and releases it
 * when evhttp has let go of the connection. Loop thread only. */
#ifndef HSMCA_CONNCAP_H
#define HSMCA_CONNCAP_H

#include <event2/util.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "err.h"

#define CONNCAP_KEY_LEN 17 /* family byte, then the IPv4 address or the IPv6 /64 (zero-padded) */

struct conncap_entry; /* one address's count (owned by this module) */

/* max 0: no cap (counts are still kept for conncap_open). */
void conncap_init(unsigned max);
/* The key of a peer address: false for a family other than IPv4 and IPv6 (a Unix socket: not capped). An
 * IPv4-mapped IPv6 address counts as the IPv4 address. */
bool conncap_key(const struct sockaddr *sa, socklen_t len, uint8_t key[CONNCAP_KEY_LEN]);
/* Counts a connection from fd's peer: 0 and *out set (NULL for an uncapped family or an unreadable peer),
 * HSMCA_ERR_LIMIT if the address has max connections already (not counted), HSMCA_ERR_NOMEM. */
int conncap_take(evutil_socket_t fd, struct conncap_entry **out) HSMCA_WUR;
/* Releases a connection counted by conncap_take (e NULL: nothing). */
void conncap_release(struct conncap_entry *e);
/* Connections refused so far, and connections counted now (all addresses). */
unsigned long conncap_refused(void);
unsigned long conncap_open(void);

#endif
