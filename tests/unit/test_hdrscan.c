/* frontend/hdrscan: a request's framing headers checked as its bytes arrive (request smuggling). */
#include <string.h>

#include "check.h"
#include "hdrscan.h"

/* Feeds req whole, then byte by byte: both must end in the same state. Returns the state; *taken gets how
 * many bytes the whole feed took. */
static int scan(const char *req, size_t *taken)
{
	struct hdrscan a, b;
	size_t n = strlen(req);
	hdrscan_reset(&a);
	hdrscan_reset(&b);
	size_t t = hdrscan_feed(&a, (const uint8_t *)req, n);
	for (size_t i = 0; i < n; i++)
		(void)hdrscan_feed(&b, (const uint8_t *)req + i, 1);
	CHECKF(a.state == b.state, "%s: whole %d, bytewise %d", req, a.state, b.state);
	if (taken)
		*taken = t;
	return a.state;
}

#define OK(r) CHECKF(scan(r, NULL) == HDRSCAN_DONE, "%s", r)
#define BAD(r) CHECKF(scan(r, NULL) == HDRSCAN_BAD, "%s", r)

int main(void)
{
	OK("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	OK("GET / HTTP/1.1\nHost: x\n\n");
	OK("GET / HTTP/1.1\r\n\r\n");
	OK("POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n");
	OK("POST / HTTP/1.1\r\ncontent-LENGTH:\t 0017 \t\r\n\r\n");
	OK("POST / HTTP/1.1\r\nContent-Lengthy: 1\r\nContent-Lengt: 2\r\nContent-Length: 3\r\n\r\n");
	OK("POST / HTTP/1.1\r\nX-Any: a\rb, \x01\xff\r\nContent-Length: 3\r\n\r\n");
	OK("POST / HTTP/1.1\r\n!#$%&'*+-.^_`|~09az: v\r\n\r\n");
	/* the ways evhttp 2.1 frames otherwise than a strict reader */
	BAD("POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 40\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nContent-Length : 38\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nContent-Length: +2\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nContent-Length: -2\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nContent-Length: 2 2\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nContent-Length: \r\n\r\n");
	BAD("POST / HTTP/1.1\r\nContent-Length: 2\r3\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nTransfer-Encoding: chunkedx\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nTransfer-Encoding: chunk\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nContent-Length: 2\r\n 40\r\n\r\n"); /* obs-fold */
	BAD("POST / HTTP/1.1\r\nX: 1\r\n\tContent-Length: 40\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nX(y): 1\r\n\r\n");
	BAD("POST / HTTP/1.1\r\n: 1\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nNo colon\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nX\xff: 1\r\n\r\n");
	BAD("POST / HTTP/1.1\r\n\rX: 1\r\n\r\n");
	/* a body only on POST: evhttp reads none for GET, and what a proxy took for the body would be the next
	 * request; a Content-Length of 0 is no body */
	OK("GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
	OK("GET / HTTP/1.1\r\nContent-Length: 000\r\n\r\n");
	BAD("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 34\r\n\r\n");
	BAD("GET / HTTP/1.1\r\nContent-Length: 01\r\n\r\n");
	BAD("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
	BAD("HEAD / HTTP/1.1\r\nContent-Length: 5\r\n\r\n");
	BAD("PUT / HTTP/1.1\r\nContent-Length: 5\r\n\r\n");
	BAD("post / HTTP/1.1\r\nContent-Length: 5\r\n\r\n");
	BAD("POS\nContent-Length: 5\r\n\r\n");
	BAD("POSTX / HTTP/1.1\r\nContent-Length: 5\r\n\r\n");
	/* a tab before chunked: evhttp skips only spaces, so it would read no body */
	BAD("POST / HTTP/1.1\r\nTransfer-Encoding:\tchunked\r\n\r\n");
	BAD("POST / HTTP/1.1\r\nTransfer-Encoding: \tchunked\r\n\r\n");
	/* the fields are counted as they begin */
	struct hdrscan f;
	hdrscan_reset(&f);
	const char *three = "GET / HTTP/1.1\r\na:\r\nb: 1\r\nc";
	CHECK(hdrscan_feed(&f, (const uint8_t *)three, strlen(three)) == strlen(three) && f.n_fields == 3 &&
	      f.state == HDRSCAN_NAME);
	/* the block ends at its empty line: what follows (a body, the next request) is not looked at */
	size_t taken = 0;
	const char *two = "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}GET / HTTP/1.1\r\nA : b\r\n\r\n";
	CHECK(scan(two, &taken) == HDRSCAN_DONE && taken == strlen(two) - strlen("{}GET / HTTP/1.1\r\nA : b\r\n\r\n"));
	/* a chunked body, well formed, is refused as such (411): the only refusal that sets length_required */
	static const char *const chunked[] = { "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
					       "POST / HTTP/1.1\r\nTransfer-Encoding:CHUNKED  \r\n\r\n" };
	for (size_t i = 0; i < sizeof(chunked) / sizeof(chunked[0]); i++) {
		struct hdrscan t;
		hdrscan_reset(&t);
		(void)hdrscan_feed(&t, (const uint8_t *)chunked[i], strlen(chunked[i]));
		CHECKF(t.state == HDRSCAN_BAD && t.length_required && strstr(t.why, "Content-Length"), "%s", chunked[i]);
	}
	static const char *const not_chunked[] = { "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
						   "GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
						   "POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n" };
	for (size_t i = 0; i < sizeof(not_chunked) / sizeof(not_chunked[0]); i++) {
		struct hdrscan t;
		hdrscan_reset(&t);
		(void)hdrscan_feed(&t, (const uint8_t *)not_chunked[i], strlen(not_chunked[i]));
		CHECKF(t.state == HDRSCAN_BAD && !t.length_required, "%s", not_chunked[i]);
	}
	/* CONNECT is refused from its request line (405): evhttp kept the connection open after its own answer,
	 * and the next request on it went unscanned; other methods are left to evhttp (it closes after them) */
	static const char *const connect[] = { "CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n", "CONNECT ", "CONNECT x" };
	for (size_t i = 0; i < sizeof(connect) / sizeof(connect[0]); i++) {
		struct hdrscan t;
		hdrscan_reset(&t);
		size_t took = hdrscan_feed(&t, (const uint8_t *)connect[i], strlen(connect[i]));
		CHECKF(t.state == HDRSCAN_BAD && t.method_refused && !t.length_required && took == strlen("CONNECT ") &&
		       strstr(t.why, "CONNECT"), "%s", connect[i]);
	}
	BAD("CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n");
	static const char *const not_connect[] = { "connect x:443 HTTP/1.1\r\n\r\n", "CONNECTX x HTTP/1.1\r\n\r\n",
						   "CONNEC x HTTP/1.1\r\n\r\n", "GET /CONNECT HTTP/1.1\r\n\r\n",
						   "OPTIONS * HTTP/1.1\r\n\r\n" };
	for (size_t i = 0; i < sizeof(not_connect) / sizeof(not_connect[0]); i++) {
		struct hdrscan t;
		hdrscan_reset(&t);
		(void)hdrscan_feed(&t, (const uint8_t *)not_connect[i], strlen(not_connect[i]));
		CHECKF(t.state == HDRSCAN_DONE && !t.method_refused, "%s", not_connect[i]);
	}
	/* a refused block says why, and takes nothing more */
	struct hdrscan s;
	hdrscan_reset(&s);
	const char *dup = "POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n";
	CHECK(hdrscan_feed(&s, (const uint8_t *)dup, strlen(dup)) < strlen(dup) && s.state == HDRSCAN_BAD && s.why &&
	      strstr(s.why, "more than one Content-Length"));
	CHECK(hdrscan_feed(&s, (const uint8_t *)"x", 1) == 0);
	/* a long name or value is no trouble */
	char big[9000];
	memcpy(big, "POST / HTTP/1.1\r\n", 17);
	memset(big + 17, 'a', 8000);
	static const char tail[] = ": 1\r\nContent-Length: 99999999999999999999999\r\n\r\n";
	memcpy(big + 8017, tail, sizeof(tail));
	OK(big);
	return check_done("unit_hdrscan");
}
