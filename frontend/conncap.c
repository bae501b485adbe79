#include "conncap.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define CONNCAP_BUCKETS 1024

struct conncap_entry {
	struct conncap_entry *next;
	uint8_t key[CONNCAP_KEY_LEN];
	unsigned n;        /* connections open */
	uint64_t tokens_m; /* the bucket, in thousandths of a connection, as of at_ms */
	uint64_t at_ms;
};

static struct {
	unsigned max, rate;
	uint64_t full_m; /* a full bucket: two seconds' worth */
	unsigned long refused, rate_refused, open, entries;
	struct conncap_entry *buckets[CONNCAP_BUCKETS];
} cc;

static void conncap_free(struct conncap_entry *e);

void conncap_init(unsigned max, unsigned rate)
{
	for (unsigned h = 0; h < CONNCAP_BUCKETS; h++)
		while (cc.buckets[h])
			conncap_free(cc.buckets[h]);
	cc.max = max;
	cc.rate = rate;
	cc.full_m = (uint64_t)rate * 2000;
}

bool conncap_key(const struct sockaddr *sa, socklen_t len, uint8_t key[CONNCAP_KEY_LEN])
{
	memset(key, 0, CONNCAP_KEY_LEN);
	if (sa->sa_family == AF_INET && (size_t)len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		key[0] = 4;
		memcpy(key + 1, &in->sin_addr, 4);
		return true;
	}
	if (sa->sa_family == AF_INET6 && (size_t)len >= sizeof(struct sockaddr_in6)) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		const uint8_t *a = in6->s6_addr;
		if (IN6_IS_ADDR_V4MAPPED(in6)) {
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

/* The bucket refilled at rate a second up to full, as of now_ms (a clock going back counts as no time). */
static void conncap_refill(struct conncap_entry *e, uint64_t now_ms)
{
	if (now_ms > e->at_ms) {
		uint64_t dt = now_ms - e->at_ms;
		e->tokens_m = dt >= 2000 ? cc.full_m : e->tokens_m + dt * cc.rate;
		if (e->tokens_m > cc.full_m)
			e->tokens_m = cc.full_m;
		e->at_ms = now_ms;
	}
}

int conncap_take(evutil_socket_t fd, uint64_t now_ms, struct conncap_entry **out)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	uint8_t key[CONNCAP_KEY_LEN];
	*out = NULL;
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		return HSMCA_ERR_IO; /* reset before it was counted: not served, or it escaped the caps */
	if (!conncap_key((struct sockaddr *)&ss, len, key))
		return 0;
	return conncap_take_key(key, now_ms, out);
}

int conncap_take_key(const uint8_t key[CONNCAP_KEY_LEN], uint64_t now_ms, struct conncap_entry **out)
{
	*out = NULL;
	unsigned h = conncap_hash(key);
	struct conncap_entry *e = cc.buckets[h];
	while (e && memcmp(e->key, key, CONNCAP_KEY_LEN))
		e = e->next;
	if (!e) {
		if (cc.entries >= CONNCAP_MAX_ENTRIES) {
			if (!cc.rate)
				return 0; /* no rate to keep: served, not counted */
			cc.rate_refused++;
			return HSMCA_ERR_AGAIN;
		}
		if (!(e = calloc(1, sizeof(*e))))
			return HSMCA_ERR_NOMEM;
		memcpy(e->key, key, CONNCAP_KEY_LEN);
		e->tokens_m = cc.full_m;
		e->at_ms = now_ms;
		e->next = cc.buckets[h];
		cc.buckets[h] = e;
		cc.entries++;
	}
	if (cc.rate) {
		conncap_refill(e, now_ms);
		if (e->tokens_m < 1000) {
			cc.rate_refused++;
			return HSMCA_ERR_AGAIN; /* an entry with no connection open goes in the sweep */
		}
		e->tokens_m -= 1000;
	}
	if (cc.max && e->n >= cc.max) {
		cc.refused++;
		return HSMCA_ERR_LIMIT;
	}
	e->n++;
	cc.open++;
	*out = e;
	return 0;
}

/* Unlinks and frees the entry *pp points at. */
static void conncap_unlink(struct conncap_entry **pp)
{
	struct conncap_entry *e = *pp;
	*pp = e->next;
	free(e);
	cc.entries--;
}

static void conncap_free(struct conncap_entry *e)
{
	for (struct conncap_entry **pp = &cc.buckets[conncap_hash(e->key)]; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			conncap_unlink(pp);
			return;
		}
}

void conncap_release(struct conncap_entry *e)
{
	if (!e || !e->n)
		return;
	cc.open--;
	if (--e->n == 0 && !cc.rate)
		conncap_free(e); /* with a rate, the sweep forgets it once its bucket is full again */
}

void conncap_sweep(uint64_t now_ms)
{
	if (!cc.rate)
		return;
	for (unsigned h = 0; h < CONNCAP_BUCKETS; h++)
		for (struct conncap_entry **pp = &cc.buckets[h]; *pp;) {
			struct conncap_entry *e = *pp;
			conncap_refill(e, now_ms);
			if (e->n == 0 && e->tokens_m >= cc.full_m)
				conncap_unlink(pp);
			else
				pp = &e->next;
		}
}

unsigned long conncap_refused(void)
{
	return cc.refused;
}

unsigned long conncap_rate_refused(void)
{
	return cc.rate_refused;
}

unsigned long conncap_entries(void)
{
	return cc.entries;
}

unsigned long conncap_open(void)
{
	return cc.open;
}
