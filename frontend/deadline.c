#include "deadline.h"

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "conncap.h"
#include "hdrscan.h"
#include "httperr.h"
#include "log.h"

#define DL_BUCKETS 4096
#define DL_SCAN_CHUNK 256 /* bytes of a header block copied out at a time for hdrscan */

struct dl_conn {
	struct dl_conn *next;
	struct bufferevent *bev; /* one reference held by us: freed when evhttp has let go */
	bool tls;
	bool started;            /* bytes of a request arrived and the router has not had it yet */
	bool expired;            /* answered 408 or 413 (or cut): shut down, waiting for evhttp to let go */
	bool idle;               /* TLS: its last request was answered and no byte of another came since */
	bool routed;             /* the router has its request and has not finished answering it */
	bool method_seen, head;  /* the request's first 5 bytes were read (at the input's start): "HEAD " */
	size_t taken;            /* bytes received since its request started (or since the router had the last) */
	bool in_output;          /* dl_on_output is changing the output itself */
	char *reply;             /* evhttp's own error reply is being replaced by this (httperr.h) */
	size_t reply_len;
	bool fresh;              /* on dl.fresh: not yet counted against its address (the sweep keeps it) */
	bool counted;            /* conncap_take has seen it (cap: its address's count, NULL if not counted) */
	bool admitted;           /* counted and served: one of dl.live */
	struct conncap_entry *cap;
	struct dl_conn *next_fresh;
	void (*close_fn)(struct evhttp_connection *, void *); /* deadline_set_closecb: called from dl_on_close */
	void *close_arg;
	bool closing;            /* on dl.closed: evhttp is freeing it, dl_reap frees it (the sweep leaves it) */
	struct dl_conn *next_closed;
	struct hdrscan scan;     /* the framing of the request whose header block is arriving (hdrscan.h) */
	bool refuse_next;        /* scan refused a request pipelined behind the routed one: 400 once it is answered */
	bool replying;           /* the router's reply to its request is being written (since reply_since) */
	struct evhttp_request *req; /* the request the router has (routed), counted once in served */
	unsigned served;         /* requests the router has had on this connection */
	bool last;               /* its current request is the last (dl_count_request): counted once answered */
	struct timespec opened;  /* deadline_watch: its age (max_connection_seconds) counts from here */
	struct timespec since;
	struct timespec reply_since;
};

/* An event logged at most once a second, with how many happened since the last line. */
struct dl_lograte {
	time_t at;
	unsigned long since;
};

static bool dl_lograte_due(struct dl_lograte *r, unsigned long *count)
{
	time_t now = time(NULL);
	r->since++;
	if (now == r->at)
		return false;
	*count = r->since;
	r->at = now;
	r->since = 0;
	return true;
}

static struct {
	struct event *sweep;
	unsigned seconds;
	size_t max_input; /* bytes a connection's input may hold (a request's headers and body, and some) */
	size_t max_header; /* max_header_size: evhttp's 400 after more than this is a header block too large */
	unsigned max_fields; /* max_headers: more header fields than this are refused as they arrive (431) */
	unsigned long timeouts;
	struct event *count;     /* made active by deadline_watch: counts dl.fresh once evhttp has set the fds */
	struct dl_conn *fresh;
	struct event *reap;      /* made active by dl_on_close: frees dl.closed once evhttp has let go */
	struct dl_conn *closed;
	struct dl_lograte refused_log, rate_log, http_log; /* connection_refused (cap, rate), http_refused */
	struct dl_lograte total_log; /* connection_refused (max_connections) */
	struct dl_lograte timeout_log, large_log; /* request_timeout, request_too_large */
	struct dl_lograte reply_log; /* reply_timeout */
	unsigned long reply_timeouts; /* replies not written out within the deadline: their connections cut */
	unsigned max_requests;    /* max_requests_per_connection: the reply to the last carries Connection: close */
	unsigned max_age;         /* max_connection_seconds: the reply to a request after it does too */
	unsigned long recycled;   /* connections closed so after a reply */
	unsigned long live;       /* connections admitted (dl_count) and not yet freed */
	unsigned max_total;       /* max_connections: more get 503 (0: no cap) */
	unsigned long total_refused;
	struct dl_conn *buckets[DL_BUCKETS];
} dl;

static unsigned dl_hash(const struct bufferevent *bev)
{
	return (unsigned)(((uintptr_t)bev >> 4) % DL_BUCKETS);
}

static void dl_now(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

static uint64_t dl_ms(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000 + (uint64_t)t->tv_nsec / 1000000;
}

static void dl_expire(struct dl_conn *c, int status, const char *reason, const char *code, const char *message,
		      bool retry);

/* Feeds hdrscan the input's bytes from off on, until its request's header block ends or is refused. */
static void dl_scan(struct dl_conn *c, struct evbuffer *buf, size_t off)
{
	struct evbuffer_ptr pos;
	uint8_t chunk[DL_SCAN_CHUNK];
	if (c->scan.state >= HDRSCAN_DONE || evbuffer_ptr_set(buf, &pos, off, EVBUFFER_PTR_SET) != 0)
		return;
	while (c->scan.state < HDRSCAN_DONE) {
		ev_ssize_t n = evbuffer_copyout_from(buf, &pos, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		(void)hdrscan_feed(&c->scan, chunk, (size_t)n);
		if ((size_t)n < sizeof(chunk) || evbuffer_ptr_set(buf, &pos, (size_t)n, EVBUFFER_PTR_ADD) != 0)
			break;
	}
	explicit_bzero(chunk, sizeof(chunk)); /* an Authorization header passes through it */
}

/* Whether the header block scanned so far is refused: its framing (hdrscan.h), or more header fields than
 * max_headers, counted as they begin (evhttp allocates each field it reads, ~100 bytes for a 4-byte line, and
 * counts only the block's bytes; the router's count came after the whole block was held). */
static bool dl_scan_refused(const struct dl_conn *c)
{
	return c->scan.state == HDRSCAN_BAD || c->scan.n_fields > dl.max_fields;
}

/* A request's header block was refused (dl_scan_refused): 400 for its framing, 431 for its fields, and the
 * connection is cut with its unread input dropped, so evhttp never reads the request (nor one hidden in its
 * body). Not while the router has a request of the connection: that one is answered first
 * (dl_request_done). */
static void dl_refuse_framing(struct dl_conn *c)
{
	if (c->routed) {
		c->refuse_next = true;
		return;
	}
	bool framing = c->scan.state == HDRSCAN_BAD, chunked = framing && c->scan.length_required;
	bool method = framing && c->scan.method_refused;
	const char *why = framing ? c->scan.why : "more request header fields than max_headers";
	unsigned long count;
	if (dl_lograte_due(&dl.http_log, &count))
		log_event("warn", "http_refused", "status=%d tls=%s refused=%lu why=\"%s\"",
			  chunked ? 411 : method ? 405 : framing ? 400 : 431, c->tls ? "yes" : "no", count, why);
	if (method)
		dl_expire(c, 405, "Method Not Allowed", "method", why, false);
	else if (chunked)
		dl_expire(c, 411, "Length Required", "length-required", why, false);
	else if (framing)
		dl_expire(c, 400, "Bad Request", "bad-request", why, false);
	else
		dl_expire(c, 431, "Request Header Fields Too Large", "too-many-headers", why, false);
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
}

/* Input grew: the first bytes of a request start its clock; more than max_input waiting cuts the connection
 * (evhttp caps a request's headers and a declared body, but not a chunk-size line without its line end, which
 * it keeps reading and searching again on every read: memory and loop time without end). */
static void dl_on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct dl_conn *c = arg;
	if (info->n_added > 0 && !c->started) {
		c->started = true;
		dl_now(&c->since);
	}
	if (info->n_added > 0)
		c->idle = false; /* the next request's bytes: its clock has run since the last answer */
	c->taken += info->n_added;
	/* until evhttp has the request line, the input starts with it (evhttp drains whole lines only, and this
	 * runs before evhttp reads what was added); a request pipelined behind another is not looked at */
	char m[5];
	if (!c->method_seen && evbuffer_get_length(buf) >= sizeof(m) && evbuffer_copyout(buf, m, sizeof(m)) == sizeof(m)) {
		c->method_seen = true;
		c->head = !memcmp(m, "HEAD ", sizeof(m));
	}
	if (info->n_added > 0 && !c->expired && evbuffer_get_length(buf) > dl.max_input)
		dl_expire(c, 413, "Content Too Large", "too-large",
			  "the request is larger than max_header_size and max_body allow", false);
	/* the new bytes are the input's last; scanned before evhttp reads them */
	if (info->n_added > 0 && !c->expired && c->scan.state < HDRSCAN_DONE) {
		dl_scan(c, buf, evbuffer_get_length(buf) - info->n_added);
		if (dl_scan_refused(c))
			dl_refuse_framing(c);
	}
}

/* Output grew while the router does not have a request: evhttp is answering one itself (httperr.h). All of
 * evhttp's writes of such a reply (status line, headers, body) happen in one call before the loop sends any
 * of it, so after each the buffer is emptied and the JSON reply put back; evhttp then sends it and closes the
 * connection (Connection: close). Only a reply that starts an empty buffer is replaced: one written behind
 * unsent bytes (a 100 Continue the client has not read yet) goes out as evhttp made it. */
static void dl_replace(struct dl_conn *c, struct evbuffer *buf, size_t pre)
{
	if (!c->reply) {
		char head[12], json[HTTPERR_REPLY_MAX];
		if (pre != 0 || evbuffer_copyout(buf, head, sizeof(head)) != (ev_ssize_t)sizeof(head))
			return;
		int status = httperr_status(head, sizeof(head));
		/* evhttp answers a request line or header block over its limit as malformed: 414 if the request line
		 * has not ended yet, else 431; bytes a client pipelined count too, so this is a guess (a short
		 * malformed request followed by more than max_header bytes is called 431) */
		if (status == 400 && c->taken > dl.max_header)
			status = c->scan.state == HDRSCAN_REQLINE ? 414 : 431;
		size_t n = status ? httperr_reply(status, !c->head, json) : 0;
		if (!n || !(c->reply = malloc(n)))
			return; /* not an error (100 Continue), or no memory: evhttp's own reply goes out */
		memcpy(c->reply, json, n);
		c->reply_len = n;
		unsigned long count;
		if (dl_lograte_due(&dl.http_log, &count))
			log_event("warn", "http_refused", "status=%d tls=%s refused=%lu", status, c->tls ? "yes" : "no", count);
	}
	evbuffer_drain(buf, evbuffer_get_length(buf));
	evbuffer_add(buf, c->reply, c->reply_len);
}

/* Output grew: the router's reply to its request starts its write clock (the sweep cuts a reply not written
 * out within the deadline), or evhttp is answering a request itself (dl_replace). */
static void dl_on_output(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct dl_conn *c = arg;
	if (info->n_added > 0 && c->routed && !c->replying) {
		c->replying = true;
		dl_now(&c->reply_since);
	}
	if (info->n_added == 0 || c->in_output || c->routed || c->expired)
		return;
	/* a socket bufferevent keeps its output's start frozen but while it writes (libevent's bufferevent_sock.c:
	 * copyout and drain fail), an OpenSSL one leaves it open */
	c->in_output = true;
	if (!c->tls)
		evbuffer_unfreeze(buf, 1);
	dl_replace(c, buf, info->orig_size);
	if (!c->tls)
		evbuffer_freeze(buf, 1);
	c->in_output = false;
}

struct bufferevent *deadline_watch(struct bufferevent *bev, bool tls)
{
	struct dl_conn *c;
	if (!bev || !dl.sweep || !(c = calloc(1, sizeof(*c))))
		return bev; /* unwatched: still served, with libevent's per-read timeout only */
	if (!evbuffer_add_cb(bufferevent_get_input(bev), dl_on_input, c)) {
		free(c);
		return bev;
	}
	if (!evbuffer_add_cb(bufferevent_get_output(bev), dl_on_output, c)) {
		evbuffer_remove_cb(bufferevent_get_input(bev), dl_on_input, c);
		free(c);
		return bev;
	}
	bufferevent_incref(bev);
	c->bev = bev;
	c->tls = tls;
	/* over TLS the clock starts at the connection: the handshake counts towards the first request, so a
	 * client trickling its handshake is cut off too */
	c->started = tls;
	dl_now(&c->since);
	c->opened = c->since;
	unsigned h = dl_hash(bev);
	c->next = dl.buckets[h];
	dl.buckets[h] = c;
	c->fresh = true;
	c->next_fresh = dl.fresh;
	dl.fresh = c;
	event_active(dl.count, EV_TIMEOUT, 0);
	return bev;
}

struct bufferevent *deadline_bevcb_plain(struct event_base *base, void *arg)
{
	(void)arg;
	return deadline_watch(bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE), false);
}

/* The watched connection of evcon, or NULL (not watched: deadline_watch could not allocate). */
static struct dl_conn *dl_find(struct evhttp_connection *evcon)
{
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	for (struct dl_conn *c = bev ? dl.buckets[dl_hash(bev)] : NULL; c; c = c->next)
		if (c->bev == bev)
			return c;
	return NULL;
}

/* evhttp is freeing a connection that has carried a request (its close callback, called before it frees
 * the bufferevent): the close callback set with deadline_set_closecb runs, the address's count is released
 * now, and dl_reap drops this module's reference, which closes the descriptor, once evhttp has let go,
 * later in this same turn of the loop rather than at the next sweep (up to 200 ms later). This relies on
 * evhttp clearing an incoming connection's bufferevent callbacks only as it frees the connection (libevent
 * 2.1: evhttp_connection_reset_, which clears them and calls the close callback on a connection that lives
 * on, is reached by outgoing connections only); else dl_reap would free c while evhttp still holds it. */
static void dl_on_close(struct evhttp_connection *evcon, void *arg)
{
	struct dl_conn *c = arg;
	void (*fn)(struct evhttp_connection *, void *) = c->close_fn;
	c->close_fn = NULL;
	if (fn)
		fn(evcon, c->close_arg);
	conncap_release(c->cap);
	c->cap = NULL;
	if (!c->closing && !c->fresh) {
		c->closing = true;
		c->next_closed = dl.closed;
		dl.closed = c;
		event_active(dl.reap, EV_TIMEOUT, 0);
	}
}

void deadline_set_closecb(struct evhttp_connection *evcon, void (*fn)(struct evhttp_connection *, void *),
			  void *arg)
{
	struct dl_conn *c = dl_find(evcon);
	if (!c) {
		evhttp_connection_set_closecb(evcon, fn, arg);
		return;
	}
	c->close_fn = fn;
	c->close_arg = arg;
	evhttp_connection_set_closecb(evcon, dl_on_close, c);
}

/* A request is answered: a reply evhttp writes from now on is its own (dl_on_output). Over TLS the clock runs
 * again: the next request must come within the deadline. (A client that sends part of a TLS record gives
 * evhttp no bytes, so no request starts, while every raw byte renews libevent's own per-read timeout: it
 * could keep the connection, and its fd, for ever.) Plain connections need no such clock: any byte starts
 * it, and an idle one meets libevent's per-read timeout. */
static void dl_request_done(struct evhttp_request *req, void *arg)
{
	struct dl_conn *c = dl_find(evhttp_request_get_connection(req));
	(void)arg;
	if (!c)
		return;
	c->routed = c->replying = false;
	if (c->last) { /* its reply, with Connection: close, is written: evhttp closes the connection now */
		c->last = false;
		dl.recycled++;
	}
	if (c->refuse_next && !c->expired) {
		c->refuse_next = false;
		dl_refuse_framing(c);
		return;
	}
	if (c->tls && !c->started) {
		c->started = c->idle = true;
		dl_now(&c->since);
	}
}

/* The router has a new request of c: the last the connection carries if it is the max_requests'th, or the
 * connection is older than max_age; its reply says Connection: close and evhttp closes the connection once it
 * is written (a request pipelined behind it is not answered; its client sends it again on a new one). */
static void dl_count_request(struct dl_conn *c, struct evhttp_request *req)
{
	struct timespec now;
	dl_now(&now);
	c->served++;
	if ((!dl.max_requests || c->served < dl.max_requests) &&
	    (!dl.max_age || dl_ms(&now) - dl_ms(&c->opened) < (uint64_t)dl.max_age * 1000))
		return;
	const char *asked = evhttp_find_header(evhttp_request_get_input_headers(req), "Connection");
	if (!(asked && !evutil_ascii_strcasecmp(asked, "close"))) /* (a client closing anyway is not recycled) */
		c->last = deadline_close_after(req) == 0;
}

int deadline_close_after(struct evhttp_request *req)
{
	/* as if the client had asked: evhttp then writes exactly one Connection: close, whatever the HTTP version
	 * (an output header of ours beside the keep-alive it adds for an HTTP/1.0 client would contradict it), and
	 * closes the connection once the reply is written */
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	evhttp_remove_header(in, "Connection");
	return evhttp_add_header(in, "Connection", "close") == 0 ? 0 : HSMCA_ERR_NOMEM;
}

bool deadline_request_read(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct dl_conn *c = dl_find(evcon);
	if (!c)
		return false;
	if (!(c->routed && c->req == req)) /* (the HTTPS listener's entry asks first, then the router again) */
		dl_count_request(c, req);
	c->req = req;
	c->started = false;
	c->routed = true;
	/* what is left in the input is the start of a request the client pipelined behind this one: its bytes
	 * count as taken and its method is known now, since no more input may come (its clock starts with the
	 * next byte, not while this one is served) */
	struct evbuffer *in = bufferevent_get_input(c->bev);
	char m[5];
	c->taken = evbuffer_get_length(in);
	c->method_seen = evbuffer_copyout(in, m, sizeof(m)) == (ev_ssize_t)sizeof(m);
	c->head = c->method_seen && !memcmp(m, "HEAD ", sizeof(m));
	/* and its framing is checked from its first byte: it is not read before this one is answered */
	hdrscan_reset(&c->scan);
	dl_scan(c, in, 0);
	if (dl_scan_refused(c))
		c->refuse_next = true;
	evhttp_request_set_on_complete_cb(req, dl_request_done, NULL);
	evhttp_connection_set_closecb(evcon, dl_on_close, c); /* keeps c->close_fn */
	return c->expired;
}

/* evhttp frees a connection's bufferevent by clearing its callbacks and dropping its reference. */
static bool dl_released(struct bufferevent *bev)
{
	bufferevent_data_cb r = NULL, w = NULL;
	bufferevent_event_cb e = NULL;
	void *arg = NULL;
	bufferevent_getcb(bev, &r, &w, &e, &arg);
	return !r && !w && !e;
}

/* Answers status (a fixed JSON error, with Retry-After: 1 if retry; 0: nothing, an idle kept-alive connection
 * is closed quietly) straight on the socket and shuts the connection down. */
static void dl_expire(struct dl_conn *c, int status, const char *reason, const char *code, const char *message,
		      bool retry)
{
	char body[192], reply[448];
	int bl = snprintf(body, sizeof(body), "{\"error\": {\"code\": \"%s\", \"message\": \"%s\"}}\n", code, message);
	int n = bl < 0 || (size_t)bl >= sizeof(body) ? -1
		: snprintf(reply, sizeof(reply),
			   "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nConnection: close\r\n%s%s"
			   "Content-Length: %d\r\n\r\n%s",
			   status, reason, retry ? "Retry-After: 1\r\n" : "", status == 405 ? "Allow: GET, HEAD, POST\r\n" : "",
			   bl, c->head ? "" : body); /* HEAD: no body */
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	c->expired = true;
	if (status == 0) {
		n = -1;
	} else if (status == 408) { /* logged at most once a second, with the count (a flood must not fill the log) */
		unsigned long count;
		dl.timeouts++;
		if (dl_lograte_due(&dl.timeout_log, &count))
			log_event("warn", "request_timeout", "tls=%s seconds=%u count=%lu", c->tls ? "yes" : "no",
				  dl.seconds, count);
	} else if (status == 413) {
		unsigned long count;
		if (dl_lograte_due(&dl.large_log, &count))
			log_event("warn", "request_too_large", "tls=%s max_input=%zu count=%lu", c->tls ? "yes" : "no",
				  dl.max_input, count);
	}
	if (fd < 0)
		return;
	/* a connection that is still reading its request has nothing queued to send: this goes out at once
	 * (over TLS as one record written straight to the socket, the bufferevent holding no pending write) */
	SSL *ssl = c->tls ? bufferevent_openssl_get_ssl(c->bev) : NULL;
	if (n > 0 && (size_t)n < sizeof(reply)) {
		if (!c->tls)
			(void)!send(fd, reply, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
		else if (ssl && SSL_is_init_finished(ssl))
			(void)SSL_write(ssl, reply, n);
	}
	shutdown(fd, SHUT_RDWR); /* evhttp sees the end of the connection and frees it */
	if (c->tls && !(ssl && SSL_is_init_finished(ssl))) {
		/* A ClientHello already queued stays readable after the shutdown (only later bytes are reset), and
		 * OpenSSL would answer it, signature included, before its write failed: read it away, so the
		 * handshake meets the end of the stream at once. */
		char sink[4096];
		while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
			;
	}
}

/* A reply was not written out within the deadline: its client reads it too slowly. libevent's timeouts
 * (timeout_seconds + 1) are per read and per write, renewed by any progress (over TLS a client's partial
 * record renews the read one), so they end such a connection late, silently, or not at all. It is shut down
 * (nothing more can be said on it), logged and counted. */
static void dl_cut_reply(struct dl_conn *c)
{
	unsigned long count;
	dl.reply_timeouts++;
	if (dl_lograte_due(&dl.reply_log, &count))
		log_event("warn", "reply_timeout", "tls=%s seconds=%u count=%lu unsent=%zu", c->tls ? "yes" : "no",
			  dl.seconds, count, evbuffer_get_length(bufferevent_get_output(c->bev)));
	dl_expire(c, 0, "", "", "", false);
}

static bool dl_late(const struct timespec *now, const struct timespec *since)
{
	return (now->tv_sec - since->tv_sec) * 1000 + (now->tv_nsec - since->tv_nsec) / 1000000 >= (long)dl.seconds * 1000;
}

/* Counts c against its peer's address (conncap.h) once evhttp has given its bufferevent the socket; one over
 * the cap or the rate gets 503 (over TLS, whose handshake has not run, it is only shut) and is shut down. */
static void dl_count(struct dl_conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);
	if (c->counted || c->expired || fd < 0 || dl_released(c->bev))
		return;
	c->counted = true;
	struct timespec now;
	dl_now(&now);
	const char *why;
	struct dl_lograte *lr;
	/* every address's too: the descriptors of the whole process (workers' connections to the database and the
	 * signer included) are not to be taken by many addresses' worth of connections (a /56 is 256 /64s) */
	int rc = 0;
	if (dl.max_total && dl.live >= dl.max_total) {
		why = "max_connections";
		lr = &dl.total_log;
		dl.total_refused++;
		dl_expire(c, 503, "Service Unavailable", "too-many-connections",
			  "the frontend has max_connections connections open; try again shortly", true);
	} else if ((rc = conncap_take(fd, dl_ms(&now), &c->cap)) == HSMCA_ERR_IO) {
		dl_expire(c, 0, "", "", "", false); /* reset already: dropped, not let past the caps */
		return;
	} else if (rc == HSMCA_ERR_LIMIT) {
		why = "max_connections_per_address";
		lr = &dl.refused_log;
		dl_expire(c, 503, "Service Unavailable", "too-many-connections",
			  "this address has max_connections_per_address connections open; close some and try again",
			  false);
	} else if (rc == HSMCA_ERR_AGAIN) {
		why = "max_connection_rate_per_address";
		lr = &dl.rate_log;
		dl_expire(c, 503, "Service Unavailable", "connection-rate",
			  "this address opens connections faster than max_connection_rate_per_address a second; "
			  "keep connections open and reuse them",
			  true);
	} else {
		c->admitted = true; /* counted, or not countable (no memory, not an IP peer): served */
		dl.live++;
		return;
	}
	unsigned long count;
	if (dl_lograte_due(lr, &count))
		log_event("warn", "connection_refused", "tls=%s refused=%lu why=\"%s\"", c->tls ? "yes" : "no", count,
			  why);
}

/* The connections accepted since the last run: evhttp sets a connection's socket right after its bevcb. */
static void dl_count_fresh(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	while (dl.fresh) {
		struct dl_conn *c = dl.fresh;
		dl.fresh = c->next_fresh;
		c->fresh = false;
		dl_count(c);
	}
}

/* Drops this module's hold on a connection evhttp has let go of (c is unlinked already). */
static void dl_free(struct dl_conn *c)
{
	evbuffer_remove_cb(bufferevent_get_input(c->bev), dl_on_input, c);
	evbuffer_remove_cb(bufferevent_get_output(c->bev), dl_on_output, c);
	bufferevent_decref(c->bev); /* the last reference: the bufferevent and its descriptor are closed */
	if (c->admitted)
		dl.live--;
	conncap_release(c->cap);
	free(c->reply);
	free(c);
}

/* The connections dl_on_close saw evhttp free: each is unlinked and freed if evhttp has let go of its
 * bufferevent, as it has by now, or else left to the sweep. */
static void dl_reap(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	while (dl.closed) {
		struct dl_conn *c = dl.closed;
		dl.closed = c->next_closed;
		c->closing = false;
		if (!dl_released(c->bev))
			continue;
		for (struct dl_conn **pp = &dl.buckets[dl_hash(c->bev)]; *pp; pp = &(*pp)->next)
			if (*pp == c) {
				*pp = c->next;
				dl_free(c);
				break;
			}
	}
}

static void dl_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct timespec now;
	(void)fd;
	(void)what;
	(void)arg;
	dl_now(&now);
	conncap_sweep(dl_ms(&now));
	for (unsigned h = 0; h < DL_BUCKETS; h++) {
		struct dl_conn **pp = &dl.buckets[h];
		while (*pp) {
			struct dl_conn *c = *pp;
			if (c->closing) { /* evhttp has freed it; dl_reap frees it later in this turn */
				pp = &c->next;
				continue;
			}
			if (!c->fresh && dl_released(c->bev)) {
				*pp = c->next;
				dl_free(c);
				continue;
			}
			if (!c->fresh && !c->counted)
				dl_count(c);
			if (c->started && !c->expired && dl_late(&now, &c->since))
				dl_expire(c, c->idle ? 0 : 408, "Request Timeout", "request-timeout",
					  "the request was not complete in time", false);
			if (c->replying && !c->expired && dl_late(&now, &c->reply_since))
				dl_cut_reply(c);
			pp = &c->next;
		}
	}
}

void deadline_set_conn_limits(unsigned max_requests, unsigned max_seconds)
{
	dl.max_requests = max_requests;
	dl.max_age = max_seconds;
}

unsigned long deadline_recycled(void)
{
	return dl.recycled;
}

int deadline_start(struct event_base *base, unsigned seconds, size_t max_input, size_t max_header,
		   unsigned max_fields, unsigned max_total, unsigned max_per_address, unsigned rate_per_address)
{
	dl.max_total = max_total;
	static const struct timeval tick = { 0, 200000 }; /* also how soon the fd of a connection closed before
							     * the router had a request of it is released */
	dl.seconds = seconds ? seconds : 1;
	dl.max_input = max_input;
	dl.max_header = max_header;
	dl.max_fields = max_fields;
	conncap_init(max_per_address, rate_per_address);
	if (!(dl.count = event_new(base, -1, 0, dl_count_fresh, NULL)) ||
	    !(dl.reap = event_new(base, -1, 0, dl_reap, NULL)) ||
	    !(dl.sweep = event_new(base, -1, EV_PERSIST, dl_sweep, NULL)) || event_add(dl.sweep, &tick) != 0)
		return HSMCA_ERR_NOMEM;
	return 0;
}

void deadline_stop(void)
{
	if (dl.sweep)
		event_free(dl.sweep);
	if (dl.count)
		event_free(dl.count);
	if (dl.reap)
		event_free(dl.reap);
	dl.sweep = dl.count = dl.reap = NULL;
}

unsigned long deadline_timeouts(void)
{
	return dl.timeouts;
}

unsigned long deadline_reply_timeouts(void)
{
	return dl.reply_timeouts;
}

unsigned long deadline_total_refused(void)
{
	return dl.total_refused;
}

unsigned long deadline_open(void)
{
	return dl.live;
}
