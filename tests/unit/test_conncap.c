/* frontend/conncap: the per-address key (IPv4, IPv4-mapped, IPv6 /64) and the counts over real loopback
 * connections from 127.0.0.1 and 127.0.0.2. */
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
	conncap_init(2);
	const char *src[4] = { "127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.2" };
	for (int i = 0; i < 4; i++) {
		fds[i] = dial(src[i], ntohs(a.sin_port));
		acc[i] = accept(l, NULL, NULL);
	}
	CHECK(conncap_take(acc[0], &e[0]) == 0 && e[0]);
	CHECK(conncap_take(acc[1], &e[1]) == 0 && e[1] == e[0]);
	CHECK(conncap_take(acc[2], &e[2]) == HSMCA_ERR_LIMIT && !e[2]); /* the third from 127.0.0.1 */
	CHECK(conncap_take(acc[3], &e[3]) == 0 && e[3] && e[3] != e[0]);
	CHECK(conncap_refused() == 1 && conncap_open() == 3);
	conncap_release(e[1]);
	CHECK(conncap_take(acc[2], &e[2]) == 0 && e[2] == e[0]); /* room again */
	conncap_release(e[0]);
	conncap_release(e[2]);
	conncap_release(e[3]);
	CHECK(conncap_open() == 0);
	conncap_init(0); /* no cap: counted all the same */
	for (int i = 0; i < 3; i++)
		CHECK(conncap_take(acc[i], &e[i]) == 0 && e[i]);
	CHECK(conncap_open() == 3 && conncap_refused() == 1);
	for (int i = 0; i < 3; i++)
		conncap_release(e[i]);
	CHECK(conncap_open() == 0);
	int pair[2];
	struct conncap_entry *none = (void *)1;
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0 && conncap_take(pair[0], &none) == 0 && !none);
	close(pair[0]);
	close(pair[1]);
	for (int i = 0; i < 4; i++) {
		close(fds[i]);
		close(acc[i]);
	}
	close(l);
}

int main(void)
{
	check_keys();
	check_counts();
	return check_done("unit_conncap");
}
