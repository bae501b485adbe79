/* libevent 2.1's evhttp answers some requests itself, before any of ours sees them (a malformed request line
 * or header, or a header block over max_header_size: 400; a declared body over max_body: 413; a method other
 * than GET and POST, HEAD included: 501), with an HTML page, and it has no hook to change that
 * (evhttp_set_errorcb is 2.2). The interface promises JSON errors, so deadline.c catches those replies in the
 * connection's output buffer and puts this one in their place. */
#ifndef HSMCA_HTTPERR_H
#define HSMCA_HTTPERR_H

#include <stdbool.h>
#include <stddef.h>

#define HTTPERR_REPLY_MAX 384

/* The status of the reply whose first bytes are head ("HTTP/1.1 413 ..."), if it is an error (400-599); else
 * (a 100 Continue, fewer bytes than a status code, not a status line) 0. */
int httperr_status(const char *head, size_t len);

/* Writes the complete JSON reply for evhttp's status (Connection: close) into out and returns its length (0
 * only if it does not fit, which no status does); without its body if !body (the answer to a HEAD request,
 * whose Content-Length still gives the body's length). evhttp's 501 (a method it may not serve) is answered
 * 405 with "Allow: GET, POST", as the router answers a method a path does not take. 431 is the header block
 * over max_header_size, which evhttp itself answers 400 (deadline.c tells the two apart by the bytes the
 * request took). */
size_t httperr_reply(int status, bool body, char out[HTTPERR_REPLY_MAX]);

/* The status line's reason phrase RFC 9110 gives status ("Not Found"), or "OK" / "Error" for one it does not
 * list. Static; any thread. */
const char *httperr_reason(int status);

#endif
