#include "httperr.h"

#include <stdio.h>
#include <string.h>

/* evhttp's status (from) and what is answered instead. evhttp says 501 to every method it is not allowed to
 * serve; the router answers a method a path does not take 405, so these are 405 too, with the Allow header
 * RFC 9110 asks of a 405. */
static const struct {
	int from, status;
	const char *reason, *code, *message, *extra;
} httperr_known[] = {
	{ 400, 400, "Bad Request", "bad-request", "the request is not well-formed HTTP/1.1", "" },
	{ 413, 413, "Content Too Large", "too-large", "the request is larger than max_header_size and max_body allow", "" },
	{ 414, 414, "URI Too Long", "uri-too-long", "the request line is longer than max_header_size", "" },
	{ 431, 431, "Request Header Fields Too Large", "header-too-large",
	  "the request's header block is larger than max_header_size", "" },
	{ 501, 405, "Method Not Allowed", "method", "only GET, HEAD and POST are served", "Allow: GET, HEAD, POST\r\n" },
};

int httperr_status(const char *head, size_t len)
{
	/* "HTTP/d.d NNN": evhttp echoes the request's version, any HTTP/1.N (its 400 to "GET / HTTP/1.9" with a
	 * malformed header was HTML) */
	if (len < 12 || memcmp(head, "HTTP/", 5) != 0 || head[5] < '0' || head[5] > '9' || head[6] != '.' ||
	    head[7] < '0' || head[7] > '9' || head[8] != ' ')
		return 0;
	int st = 0;
	for (int i = 9; i < 12; i++) {
		if (head[i] < '0' || head[i] > '9')
			return 0;
		st = st * 10 + (head[i] - '0');
	}
	return st >= 400 && st <= 599 ? st : 0;
}

size_t httperr_reply(int status, bool body, char out[HTTPERR_REPLY_MAX])
{
	const char *reason = status < 500 ? "Client Error" : "Server Error", *code = "http-error",
		   *message = "the request was refused by the HTTP layer", *extra = "";
	for (size_t i = 0; i < sizeof(httperr_known) / sizeof(httperr_known[0]); i++)
		if (httperr_known[i].from == status) {
			status = httperr_known[i].status;
			reason = httperr_known[i].reason;
			code = httperr_known[i].code;
			message = httperr_known[i].message;
			extra = httperr_known[i].extra;
		}
	char json[192];
	int bl = snprintf(json, sizeof(json), "{\"error\": {\"code\": \"%s\", \"message\": \"%s\"}}\n", code, message);
	if (bl < 0 || (size_t)bl >= sizeof(json))
		return 0;
	int n = snprintf(out, HTTPERR_REPLY_MAX,
			 "HTTP/1.1 %d %s\r\n%sContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
			 status, reason, extra, bl, body ? json : "");
	return n < 0 || n >= HTTPERR_REPLY_MAX ? 0 : (size_t)n;
}

const char *httperr_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} r[] = {
		{ 200, "OK" },
		{ 201, "Created" },
		{ 202, "Accepted" },
		{ 400, "Bad Request" },
		{ 401, "Unauthorized" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 408, "Request Timeout" },
		{ 409, "Conflict" },
		{ 411, "Length Required" },
		{ 413, "Content Too Large" },
		{ 414, "URI Too Long" },
		{ 415, "Unsupported Media Type" },
		{ 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" },
		{ 502, "Bad Gateway" },
		{ 503, "Service Unavailable" },
	};
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (r[i].status == status)
			return r[i].reason;
	return status < 400 ? "OK" : "Error";
}
