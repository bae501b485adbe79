#include "httperr.h"

#include <stdio.h>
#include <string.h>

static const struct {
	int status;
	const char *reason, *code, *message;
} httperr_known[] = {
	{ 400, "Bad Request", "bad-request", "the request is not well-formed HTTP/1.1" },
	{ 413, "Content Too Large", "too-large", "the request is larger than max_header_size and max_body allow" },
	{ 431, "Request Header Fields Too Large", "header-too-large", "the request's header block is larger than max_header_size" },
	{ 501, "Not Implemented", "method", "this method is not served here (GET and POST are)" },
};

int httperr_status(const char *head, size_t len)
{
	/* "HTTP/1.x NNN" */
	if (len < 12 || memcmp(head, "HTTP/1.", 7) != 0 || (head[7] != '0' && head[7] != '1') || head[8] != ' ')
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
		   *message = "the request was refused by the HTTP layer";
	for (size_t i = 0; i < sizeof(httperr_known) / sizeof(httperr_known[0]); i++)
		if (httperr_known[i].status == status) {
			reason = httperr_known[i].reason;
			code = httperr_known[i].code;
			message = httperr_known[i].message;
		}
	char json[192];
	int bl = snprintf(json, sizeof(json), "{\"error\": {\"code\": \"%s\", \"message\": \"%s\"}}\n", code, message);
	if (bl < 0 || (size_t)bl >= sizeof(json))
		return 0;
	int n = snprintf(out, HTTPERR_REPLY_MAX,
			 "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
			 status, reason, bl, body ? json : "");
	return n < 0 || n >= HTTPERR_REPLY_MAX ? 0 : (size_t)n;
}
