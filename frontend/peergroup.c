#include "peergroup.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

void peergroup_of(const char *peer, char out[PEERGROUP_MAX])
{
	struct in6_addr a6;
	char text[INET6_ADDRSTRLEN];

	snprintf(out, PEERGROUP_MAX, "%s", peer ? peer : "?");
	if (!peer || !strchr(peer, ':') || inet_pton(AF_INET6, peer, &a6) != 1)
		return; /* IPv4, or not an address: as given */
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		if (inet_ntop(AF_INET, &a6.s6_addr[12], text, sizeof(text)))
			snprintf(out, PEERGROUP_MAX, "%s", text);
		return;
	}
	memset(&a6.s6_addr[8], 0, 8);
	if (inet_ntop(AF_INET6, &a6, text, sizeof(text)))
		snprintf(out, PEERGROUP_MAX, "%s/64", text);
}
