#include "conncap.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define CONNCAP_BUCKETS 1024

struct conncap_entry {
	struct conncap_entry *next;
	uint8_t key[CONNCAP_KEY_LEN];
	unsigned n;
};

static struct {
	unsigned max;
	unsigned long refused, open;
	struct conncap_entry *buckets[CONNCAP_BUCKETS];
} cc;

void conncap_init(unsigned max)
{
	cc.max = max;
}

bool conncap_key(const struct sockaddr *sa, socklen_t len, uint8_t key[CONNCAP_KEY_LEN])
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	memset(key, 0, CONNCAP_KEY_LEN);
	if (sa->sa_family == AF_INET && (size_t)len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		key[0] = 4;
		memcpy(key + 1, &in->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6 && (size_t)len >= sizeof(struct sockaddr_in6)) {
		const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		if (!memcmp(a, v4mapped, sizeof(v4mapped))) {
			key[0] = 4;
			memcpy(key + 1, a + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a, 8); /* the /64 */
		}
		return true;
	}
	return false;
}

static unsigned conncap_hash(const uint8_t key[CONNCAP_KEY_LEN])
{
	uint32_t h = 2166136261u; /* FNV-1a: spreads addresses; an attacker choosing addresses gains nothing here */
	for (int i = 0; i < CONNCAP_KEY_LEN; i++)
		h = (h ^ key[i]) * 16777619u;
	return h % CONNCAP_BUCKETS;
}

int conncap_take(evutil_socket_t fd, struct conncap_entry **out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	uint8_t key[CONNCAP_KEY_LEN];
	*out = NULL;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0 || !conncap_key((struct sockaddr *)&ss, len, key))
		return 0;
	unsigned h = conncap_hash(key);
	struct conncap_entry *e = cc.buckets[h];
	while (e && memcmp(e->key, key, sizeof(key)))
		e = e->next;
	if (e && cc.max && e->n >= cc.max) {
		cc.refused++;
		return HSMCA_ERR_LIMIT;
	}
	if (!e) {
		if (!(e = calloc(1, sizeof(*e))))
			return HSMCA_ERR_NOMEM;
		memcpy(e->key, key, sizeof(key));
		e->next = cc.buckets[h];
		cc.buckets[h] = e;
	}
	e->n++;
	cc.open++;
	*out = e;
	return 0;
}

void conncap_release(struct conncap_entry *e)
{
	if (!e || !e->n)
		return;
	cc.open--;
	if (--e->n)
		return;
	unsigned h = conncap_hash(e->key);
	for (struct conncap_entry **pp = &cc.buckets[h]; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			free(e);
			return;
		}
}

unsigned long conncap_refused(void)
{
	return cc.refused;
}

unsigned long conncap_open(void)
{
	return cc.open;
}
