/* frontend/conncap: the per-address key (IPv4, IPv4-mapped, IPv6 /64), and the counts and the rate over real
 * loopback connections from 127.0.0.1 and 127.0.0.2. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "conncap.h"

static void key_of6(const char *addr, uint8_t key[CONNCAP_KEY_LEN])
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
	inet_pton(AF_INET6, addr, &a.sin6_addr);
	CHECKF(conncap_key((struct sockaddr *)&a, sizeof(a), key), "%s", addr);
}

static void check_keys(void)
{
	uint8_t k1[CONNCAP_KEY_LEN], k2[CONNCAP_KEY_LEN];
	struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = htons(1) };
	inet_pton(AF_INET, "192.0.2.7", &v4.sin_addr);
	CHECK(conncap_key((struct sockaddr *)&v4, sizeof(v4), k1));
	key_of6("::ffff:192.0.2.7", k2);
	CHECK(memcmp(k1, k2, CONNCAP_KEY_LEN) == 0); /* the mapped address is the IPv4 one */
	v4.sin_port = htons(2);
	CHECK(conncap_key((struct sockaddr *)&v4, sizeof(v4), k2) && memcmp(k1, k2, CONNCAP_KEY_LEN) == 0); /* not the port */
	key_of6("2001:db8:1:2::1", k1);
	key_of6("2001:db8:1:2:ffff:ffff:ffff:ffff", k2);
	CHECK(memcmp(k1, k2, CONNCAP_KEY_LEN) == 0); /* one /64 */
	key_of6("2001:db8:1:3::1", k2);
	CHECK(memcmp(k1, k2, CONNCAP_KEY_LEN) != 0);
	CHECK(!conncap_key((struct sockaddr *)&v4, sizeof(v4) - 1, k1));
	struct sockaddr un = { .sa_family = AF_UNIX };
	CHECK(!conncap_key(&un, sizeof(un), k1));
}

/* a connected socket from src to the listener at port */
static int dial(const char *src, int port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET }, d = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, src, &a.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &d.sin_addr);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || connect(s, (struct sockaddr *)&d, sizeof(d))) {
		CHECKF(0, "dial from %s", src);
		return -1;
	}
	return s;
}

static void check_counts(void)
{
	int l = socket(AF_INET, SOCK_STREAM, 0), fds[4], acc[4];
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	struct conncap_entry *e[4] = { 0 };
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	CHECK(l >= 0 && bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 8) == 0 &&
	      getsockname(l, (struct sockaddr *)&a, &al) == 0);
	conncap_init(2, 0);
	const char *src[4] = { "127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2" };
	for (int i = 0; i < 4; i++) {
		fds[i] = dial(src[i], ntohs(a.sin_port));
		acc[i] = accept(l, NULL, NULL);
	}
	CHECK(conncap_take(acc[0], 0, &e[0]) == 0 && e[0]);
	CHECK(conncap_take(acc[1], 0, &e[1]) == 0 && e[1] == e[0]);
	CHECK(conncap_take(acc[2], 0, &e[2]) == HSMCA_ERR_LIMIT && !e[2]); /* the third from 127.0.0.1 */
	CHECK(conncap_take(acc[3], 0, &e[3]) == 0 && e[3] && e[3] != e[0]);
	CHECK(conncap_refused() == 1 && conncap_open() == 3);
	conncap_release(e[1]);
	CHECK(conncap_take(acc[2], 0, &e[2]) == 0 && e[2] == e[0]); /* room again */
	conncap_release(e[0]);
	conncap_release(e[2]);
	conncap_release(e[3]);
	CHECK(conncap_open() == 0);
	conncap_init(0, 0); /* no cap: counted all the same */
	for (int i = 0; i < 3; i++)
		CHECK(conncap_take(acc[i], 0, &e[i]) == 0 && e[i]);
	CHECK(conncap_open() == 3 && conncap_refused() == 1);
	for (int i = 0; i < 3; i++)
		conncap_release(e[i]);
	CHECK(conncap_open() == 0);
	/* a connection its client reset before it was counted has no peer: HSMCA_ERR_IO, not let through
	 * uncounted (past max_connections_per_address and the rate) as before */
	conncap_init(2, 5);
	int gone = dial("127.0.0.3", ntohs(a.sin_port));
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	CHECK(gone >= 0 && setsockopt(gone, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
	int gone_acc = accept(l, NULL, NULL);
	close(gone); /* RST */
	usleep(20000);
	struct conncap_entry *g = (void *)1;
	CHECK(gone_acc >= 0 && conncap_take(gone_acc, 0, &g) == HSMCA_ERR_IO && !g && conncap_open() == 0);
	close(gone_acc);
	conncap_init(0, 0);
	int pair[2];
	struct conncap_entry *none = (void *)1;
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0 && conncap_take(pair[0], 0, &none) == 0 && !none);
	close(pair[0]);
	close(pair[1]);
	for (int i = 0; i < 4; i++) {
		close(fds[i]);
		close(acc[i]);
	}
	close(l);
}

/* rate 5 a second: a burst of 10 from one address, then one per 200 ms; another address has its own bucket;
 * the cap still applies and a connection it refuses takes from the bucket; the sweep forgets an address
 * only once it has no connection open and its bucket is full again */
static void check_rate(void)
{
	int l = socket(AF_INET, SOCK_STREAM, 0), a1 = -1, a2 = -1, d1 = -1, d2 = -1;
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	struct conncap_entry *e[16] = { 0 }, *o = NULL, *x = NULL;
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	CHECK(l >= 0 && bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 8) == 0 &&
	      getsockname(l, (struct sockaddr *)&a, &al) == 0);
	d1 = dial("127.0.0.1", ntohs(a.sin_port));
	a1 = accept(l, NULL, NULL);
	d2 = dial("127.0.0.2", ntohs(a.sin_port));
	a2 = accept(l, NULL, NULL);
	unsigned long rr = conncap_rate_refused(), cr = conncap_refused();
	conncap_init(0, 5);
	const uint64_t t0 = 1000000;
	for (int i = 0; i < 10; i++)
		CHECKF(conncap_take(a1, t0, &e[i]) == 0 && e[i], "burst %d", i);
	CHECK(conncap_take(a1, t0 + 100, &x) == HSMCA_ERR_AGAIN && !x); /* half a token back: not enough */
	CHECK(conncap_rate_refused() == rr + 1 && conncap_open() == 10);
	CHECK(conncap_take(a2, t0 + 100, &o) == 0 && o && o != e[0]); /* 127.0.0.2: a bucket of its own */
	CHECK(conncap_take(a1, t0 + 200, &e[10]) == 0 && e[10] == e[0]); /* one token after 200 ms */
	CHECK(conncap_take(a1, t0 + 200, &x) == HSMCA_ERR_AGAIN);
	CHECK(conncap_take(a1, t0 + 1000, &e[11]) == 0 && conncap_take(a1, t0 + 1000, &e[12]) == 0 &&
	      conncap_take(a1, t0 + 1000, &e[13]) == 0 && conncap_take(a1, t0 + 1000, &e[14]) == 0);
	CHECK(conncap_take(a1, t0 + 1000, &x) == HSMCA_ERR_AGAIN && conncap_rate_refused() == rr + 3);
	CHECK(conncap_take(a1, t0 - 5000, &x) == HSMCA_ERR_AGAIN); /* a clock going back gives nothing */
	conncap_sweep(t0 + 1000); /* connections open: nothing forgotten */
	CHECK(conncap_entries() == 2);
	for (int i = 0; i < 15; i++)
		conncap_release(e[i]);
	conncap_release(o);
	CHECK(conncap_open() == 0 && conncap_entries() == 2); /* kept until their buckets are full */
	conncap_sweep(t0 + 1500); /* 127.0.0.1 drew its bucket empty at t0 + 1000: not full yet */
	CHECK(conncap_entries() == 1);
	conncap_sweep(t0 + 3000);
	CHECK(conncap_entries() == 0);
	/* with a cap of 2 as well: the third connection is refused by the cap and takes a token all the same */
	conncap_init(2, 2);
	CHECK(conncap_take(a1, t0, &e[0]) == 0 && conncap_take(a1, t0, &e[1]) == 0);
	CHECK(conncap_take(a1, t0, &x) == HSMCA_ERR_LIMIT && conncap_refused() == cr + 1);
	conncap_release(e[1]);
	CHECK(conncap_take(a1, t0, &e[1]) == 0); /* the fourth token */
	conncap_release(e[1]);
	CHECK(conncap_take(a1, t0, &x) == HSMCA_ERR_AGAIN); /* room under the cap, but the bucket is empty */
	conncap_release(e[0]);
	conncap_sweep(t0 + 2000);
	CHECK(conncap_entries() == 0 && conncap_open() == 0);
	conncap_init(0, 0);
	close(d1);
	close(d2);
	close(a1);
	close(a2);
	close(l);
}

/* at most CONNCAP_MAX_ENTRIES addresses are tracked: one more new address is refused as over the rate, an
 * address already tracked is still served, and the sweep makes room once the buckets are full again */
static void check_entries(void)
{
	static struct conncap_entry *e[CONNCAP_MAX_ENTRIES];
	struct conncap_entry *x = NULL;
	uint8_t key[CONNCAP_KEY_LEN] = { 6 };
	const uint64_t t0 = 5000000;
	unsigned long rr = conncap_rate_refused();
	conncap_init(0, 1);
	for (uint32_t i = 0; i < CONNCAP_MAX_ENTRIES; i++) {
		memcpy(key + 1, &i, sizeof(i)); /* a /64 of its own */
		if (conncap_take_key(key, t0, &e[i]) != 0 || !e[i]) {
			CHECKF(0, "address %u", (unsigned)i);
			return;
		}
		conncap_release(e[i]);
	}
	CHECK(conncap_entries() == CONNCAP_MAX_ENTRIES && conncap_open() == 0);
	uint32_t more = CONNCAP_MAX_ENTRIES;
	memcpy(key + 1, &more, sizeof(more));
	CHECK(conncap_take_key(key, t0, &x) == HSMCA_ERR_AGAIN && !x && conncap_rate_refused() == rr + 1);
	uint32_t known = 7;
	memcpy(key + 1, &known, sizeof(known));
	CHECK(conncap_take_key(key, t0, &x) == 0 && x == e[7]); /* its second token */
	conncap_release(x);
	conncap_sweep(t0 + 500); /* not full yet: nothing forgotten */
	CHECK(conncap_entries() == CONNCAP_MAX_ENTRIES);
	conncap_sweep(t0 + 2000);
	CHECK(conncap_entries() == 0);
	memcpy(key + 1, &more, sizeof(more));
	CHECK(conncap_take_key(key, t0 + 2000, &x) == 0 && x);
	conncap_release(x);
	/* without a rate, a table full of open connections' addresses serves a new one uncounted */
	conncap_init(0, 0);
	CHECK(conncap_entries() == 0);
	for (uint32_t i = 0; i < CONNCAP_MAX_ENTRIES; i++) {
		memcpy(key + 1, &i, sizeof(i));
		if (conncap_take_key(key, t0, &e[i]) != 0 || !e[i]) {
			CHECKF(0, "open address %u", (unsigned)i);
			return;
		}
	}
	memcpy(key + 1, &more, sizeof(more));
	x = (void *)1;
	CHECK(conncap_take_key(key, t0, &x) == 0 && !x && conncap_rate_refused() == rr + 1);
	for (uint32_t i = 0; i < CONNCAP_MAX_ENTRIES; i++)
		conncap_release(e[i]);
	CHECK(conncap_entries() == 0 && conncap_open() == 0);
}

int main(void)
{
	check_keys();
	check_counts();
	check_rate();
	check_entries();
	return check_done("unit_conncap");
}
