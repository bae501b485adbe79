/* frontend/httperr: evhttp's own error replies recognised by their status line, and the JSON reply put in
 * their place. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "httperr.h"

static void check_reply(int status, const char *line, const char *code)
{
	char out[HTTPERR_REPLY_MAX];
	size_t n = httperr_reply(status, true, out);
	CHECKF(n > 0 && n < sizeof(out), "%d: %zu bytes", status, n);
	out[n < sizeof(out) ? n : sizeof(out) - 1] = 0;
	CHECKF(check_prefix(out, line), "%d: %s", status, out);
	const char *body = strstr(out, "\r\n\r\n");
	CHECKF(body != NULL, "%d: no header end", status);
	if (!body)
		return;
	body += 4;
	char want[96];
	snprintf(want, sizeof(want), "{\"error\": {\"code\": \"%s\", \"message\": \"", code);
	CHECKF(check_prefix(body, want), "%d: %s", status, body);
	CHECKF(strstr(out, "Content-Type: application/json\r\n") && strstr(out, "Connection: close\r\n"), "%d: %s", status, out);
	char cl[48];
	snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", strlen(body));
	CHECKF(strstr(out, cl) != NULL, "%d: %s", status, out);
}

int main(void)
{
	CHECK(httperr_status("HTTP/1.1 400 Bad Request\r\n", 26) == 400);
	CHECK(httperr_status("HTTP/1.0 413", 12) == 413);
	CHECK(httperr_status("HTTP/1.1 501", 12) == 501);
	CHECK(httperr_status("HTTP/1.1 599", 12) == 599);
	CHECK(httperr_status("HTTP/1.1 100 Continue\r\n\r\n", 25) == 0);
	CHECK(httperr_status("HTTP/1.1 200", 12) == 0);
	CHECK(httperr_status("HTTP/1.1 399", 12) == 0);
	CHECK(httperr_status("HTTP/1.1 600", 12) == 0);
	CHECK(httperr_status("HTTP/1.1 40", 11) == 0);
	CHECK(httperr_status("HTTP/1.1 4x0", 12) == 0);
	/* evhttp echoes any version it accepts (HTTP/1.9: its HTML 400 went out as it was) */
	CHECK(httperr_status("HTTP/1.9 400 Bad Request\r\n", 26) == 400);
	CHECK(httperr_status("HTTP/1.5 501", 12) == 501);
	CHECK(httperr_status("HTTP/2.0 413", 12) == 413);
	CHECK(httperr_status("HTTP/1.10 400", 13) == 0);
	CHECK(httperr_status("HTTP/x.1 400", 12) == 0);
	CHECK(httperr_status("HTTP/1x1 400", 12) == 0);
	CHECK(httperr_status("HTTPS1.1 400", 12) == 0);
	CHECK(httperr_status("HTTP/1.1x400", 12) == 0);
	CHECK(httperr_status("<HTML><HEAD>", 12) == 0);
	check_reply(400, "HTTP/1.1 400 Bad Request\r\n", "bad-request");
	check_reply(413, "HTTP/1.1 413 Content Too Large\r\n", "too-large");
	check_reply(431, "HTTP/1.1 431 Request Header Fields Too Large\r\n", "header-too-large");
	check_reply(414, "HTTP/1.1 414 URI Too Long\r\n", "uri-too-long");
	check_reply(501, "HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD, POST\r\n", "method"); /* evhttp's 501 */
	check_reply(417, "HTTP/1.1 417 Client Error\r\n", "http-error");
	check_reply(503, "HTTP/1.1 503 Server Error\r\n", "http-error");
	/* the reason phrases of the router's and the workers' replies (they all said "OK" or "Error") */
	CHECK(strcmp(httperr_reason(200), "OK") == 0);
	CHECK(strcmp(httperr_reason(201), "Created") == 0);
	CHECK(strcmp(httperr_reason(401), "Unauthorized") == 0);
	CHECK(strcmp(httperr_reason(429), "Too Many Requests") == 0);
	CHECK(strcmp(httperr_reason(503), "Service Unavailable") == 0);
	CHECK(strcmp(httperr_reason(418), "Error") == 0);
	CHECK(strcmp(httperr_reason(299), "OK") == 0);
	/* to HEAD: the same head (Content-Length of the body it would have), no body */
	char full[HTTPERR_REPLY_MAX], head[HTTPERR_REPLY_MAX];
	size_t fn = httperr_reply(501, true, full), hn = httperr_reply(501, false, head);
	const char *end = fn ? strstr(full, "\r\n\r\n") : NULL;
	CHECK(end && hn == (size_t)(end + 4 - full) && !memcmp(full, head, hn));
	return check_done("unit_httperr");
}
