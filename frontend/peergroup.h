/* peergroup: the unit in which the per-address limits (auth.c) count an HTTP peer, from the address text
 * libevent gives. An IPv6 address counts as its /64: a host or a site usually holds a whole /64 and can take
 * any address in it at will, so counting single IPv6 addresses would let one client make up a fresh address
 * for every few failures. An IPv4-mapped IPv6 address (a dual-stack listener) counts as its IPv4 address, so
 * it shares that address's count. Anything else (an IPv4 address, "?") counts as given. */
#ifndef HSMCA_PEERGROUP_H
#define HSMCA_PEERGROUP_H

#include <stddef.h>

#define PEERGROUP_MAX 64 /* as JOB_PEER_MAX: an IPv6 address, "/64" and the NUL fit */

/* Writes peer's group into out (PEERGROUP_MAX bytes, NUL-terminated; a longer peer text is cut). */
void peergroup_of(const char *peer, char out[PEERGROUP_MAX]);

#endif
