/* A request's framing, checked before evhttp acts on it. evhttp 2.1 frames leniently: of two Content-Length
 * headers the first wins, a header named "Content-Length " (space before the colon) is not one, and
 * Content-Length: +2 is 2; a client (or a proxy in front that reads the same bytes otherwise) can so hide a
 * second request in the body of a first (request smuggling). deadline.c feeds every byte of a request's
 * header block here as it arrives, before evhttp reads it, and cuts the connection (400) at the first of:
 * a header name that is not an RFC 9110 token; a folded (obs-fold) line; more than one Content-Length or
 * Transfer-Encoding; both; a Content-Length that is not all digits; a Transfer-Encoding other than chunked
 * (case-insensitive, as evhttp compares it), or one after a tab (evhttp skips only spaces before a value, so
 * "\tchunked" is no chunked to it, and the body would be read as the next request); a body on a method other
 * than POST (a Content-Length above 0, or a Transfer-Encoding): evhttp reads no body for GET, so one would be
 * the next request, while a proxy in front reads it as this one's body; and any chunked body at all
 * (length_required: answered 411): evhttp takes chunk sizes as strtoll does ("0x5", "+5", "5 junk"), needs no
 * CRLF after a chunk's data, merges trailer fields into the headers unchecked and searches an unfinished
 * chunk-size line again on every read, none of which a scan of the header block can police; every client of
 * the API (curl, cfssl, any HTTP library with a buffer) sends Content-Length. A CONNECT is refused from its
 * request line (method_refused: answered 405): evhttp answers it itself but keeps the connection open after
 * (its only method so), and the next request on it was then never scanned. Values are otherwise taken without the
 * spaces and tabs around them, as evhttp takes them. It also counts the header fields as they come
 * (n_fields), so a caller can refuse a block of many small fields before evhttp has allocated them all. A
 * pure, bounded state machine: no allocation, a few bytes of state per connection. */
#ifndef HSMCA_HDRSCAN_H
#define HSMCA_HDRSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hdrscan_state {
	HDRSCAN_REQLINE = 0, /* in the request line (a zeroed struct starts here) */
	HDRSCAN_LINE,        /* at the start of a header line */
	HDRSCAN_NAME,        /* in a header's name */
	HDRSCAN_VALUE,       /* in a header's value */
	HDRSCAN_DONE,        /* the empty line ended the block: what follows is the body or the next request */
	HDRSCAN_BAD,         /* refused: why says why */
};

struct hdrscan {
	uint8_t state;      /* enum hdrscan_state */
	uint8_t field;      /* the current header: 0 another, 1 Content-Length, 2 Transfer-Encoding */
	uint8_t val;        /* in its value: 0 leading blanks, 1 in the value, 2 trailing blanks */
	bool cr;            /* a CR came: only LF may follow it (in a name or a framing header's value) */
	bool may_cl, may_te; /* the name so far is a prefix of content-length / transfer-encoding */
	uint8_t n_cl, n_te; /* how many of each so far */
	uint32_t name_len;  /* saturating */
	uint32_t val_len;   /* digits of Content-Length, or letters of chunked matched */
	uint8_t method_len; /* bytes of the request line matched against "POST " (at most 5) */
	bool not_post;      /* the method is not POST */
	uint8_t connect_len; /* bytes of the request line matched against "CONNECT " (at most 8) */
	bool not_connect;   /* the method is not CONNECT */
	bool cl_nonzero;    /* the Content-Length has a digit other than 0 */
	uint32_t n_fields;  /* header fields begun so far (saturating) */
	bool length_required; /* HDRSCAN_BAD for a (well-formed) chunked body: 411, not 400 */
	bool method_refused;  /* HDRSCAN_BAD for CONNECT: 405, not 400 */
	const char *why;    /* HDRSCAN_BAD: a static message, fit for a JSON string as it is */
};

/* Back to the start of a request (its request line). */
void hdrscan_reset(struct hdrscan *s);
/* Feeds the next n bytes of the request. Returns how many were taken: all n, or fewer if the block ended
 * (HDRSCAN_DONE, the rest is not looked at) or was refused (HDRSCAN_BAD) within them. Nothing is taken in
 * either of those states. */
size_t hdrscan_feed(struct hdrscan *s, const uint8_t *p, size_t n);

#endif
