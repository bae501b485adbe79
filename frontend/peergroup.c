#include "peergroup.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

void peergroup_of(const char *peer, char out[PEERGROUP_MAX])
{
	struct in6_addr a6;
	char text[INET6_ADDRSTRLEN], addr[PEERGROUP_MAX];
	const char *scope;

	snprintf(out, PEERGROUP_MAX, "%s", peer ? peer : "?");
	if (!peer || !strchr(peer, ':'))
		return; /* IPv4, or not an address: as given */
	/* a link-local peer comes with its zone ("fe80::1%eth0", getnameinfo): the /64 is taken of the address
	 * and the zone kept (another link is another network); inet_pton refused the text whole, so each
	 * address was a group of its own and a neighbour could change addresses at will */
	snprintf(addr, sizeof(addr), "%s", peer);
	char *pct = strchr(addr, '%');
	scope = pct ? peer + (pct - addr) : "";
	if (pct)
		*pct = '\0';
	if (inet_pton(AF_INET6, addr, &a6) != 1)
		return;
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		if (inet_ntop(AF_INET, &a6.s6_addr[12], text, sizeof(text)))
			snprintf(out, PEERGROUP_MAX, "%s", text);
		return;
	}
	memset(&a6.s6_addr[8], 0, 8);
	if (inet_ntop(AF_INET6, &a6, text, sizeof(text)))
		snprintf(out, PEERGROUP_MAX, "%s/64%s", text, scope);
}
