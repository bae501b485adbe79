#include "http.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "acceptguard.h"
#include "commit.h"
#include "conncap.h"
#include "cfssl.h"
#include "deadline.h"
#include "httperr.h"
#include "issue.h"
#include "json.h"
#include "log.h"
#include "pool.h"
#include "renew.h"
#include "signerfit.h"
#include "signerup.h"
#include "tls.h"
#include "unrecorded.h"

struct http_ctx {
	struct app *app;
	struct pool *pool;
	struct event_base *base;
	struct evhttp *http, *https;
	struct evhttp_bound_socket *plain_bound, *tls_bound;
	bool draining;        /* a stop signal came: no new connections, no new requests */
	struct event *drain;  /* checks every HTTP_DRAIN_TICK_MS whether the requests under way are answered */
	struct timespec drain_until;
};

/* Sends body[0..len) with status; to a HEAD request the headers alone, with the Content-Length a GET's reply
 * has (RFC 9110 9.3.2: a body after them would be read as the next reply on a kept-alive connection). */
static void http_reply(struct evhttp_request *req, int status, const char *reason, const void *body, size_t len)
{
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
		char n[24];
		snprintf(n, sizeof n, "%zu", len);
		evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", n);
		evhttp_send_reply(req, status, reason, NULL);
		return;
	}
	struct evbuffer *b = evbuffer_new();
	if (b)
		evbuffer_add(b, body, len);
	evhttp_send_reply(req, status, reason, b);
	if (b)
		evbuffer_free(b);
}

/* An error answered by the loop itself (method, overload, headers, stopping): in CFSSL's format under
 * /api/v1/cfssl/, whose clients read only that, else ours. */
static void http_json_error(struct evhttp_request *req, int status, const char *code, const char *msg)
{
	struct job tmp;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	memset(&tmp, 0, sizeof(tmp));
	if (path && !strncmp(path, "/api/v1/cfssl/", 14))
		cfssl_error(&tmp, status, msg);
	else
		job_error(&tmp, status, code, msg);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
	http_reply(req, status, httperr_reason(status), tmp.resp.data, tmp.resp.len);
	dbuf_free(&tmp.resp);
}

/* 405 with the Allow header RFC 9110 asks of it (allow: the methods the path takes, "GET" or "GET, POST"). */
static void http_bad_method(struct evhttp_request *req, const char *allow)
{
	char msg[32];
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", allow);
	snprintf(msg, sizeof msg, "use %s", !strcmp(allow, "GET, POST") ? "GET or POST" : !strcmp(allow, "GET, HEAD") ? "GET" : allow);
	http_json_error(req, 405, "method", msg);
}

static void http_text(struct evhttp_request *req, int status, const char *ctype, const char *body, size_t len)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", ctype);
	http_reply(req, status, httperr_reason(status), body, len);
}

/* profiles refused here because another frontend recorded other definitions (profrec_check) */
static unsigned http_profiles_diverged(const struct app *a)
{
	unsigned n = 0;
	for (unsigned i = 0; i < a->profiles.n; i++)
		n += !app_profile_current(a, &a->profiles.p[i]);
	return n;
}

static void http_metrics(struct http_ctx *h, struct evhttp_request *req)
{
	char out[4096];
	int n = snprintf(out, sizeof(out),
			 "# TYPE hsmca_certificates_issued_total counter\nhsmca_certificates_issued_total %lu\n"
			 "# TYPE hsmca_requests_refused_total counter\nhsmca_requests_refused_total %lu\n"
			 "# TYPE hsmca_signing_failures_total counter\nhsmca_signing_failures_total %lu\n"
			 "# TYPE hsmca_auth_failures_total counter\nhsmca_auth_failures_total %lu\n"
			 "# TYPE hsmca_request_timeouts_total counter\nhsmca_request_timeouts_total %lu\n"
			 "# TYPE hsmca_password_verifications_total counter\nhsmca_password_verifications_total %lu\n"
			 "# TYPE hsmca_requests_shed_total counter\nhsmca_requests_shed_total %lu\n"
			 "# TYPE hsmca_accept_pauses_total counter\nhsmca_accept_pauses_total %lu\n"
			 "# TYPE hsmca_requests_in_progress gauge\nhsmca_requests_in_progress %u\n"
			 "# TYPE hsmca_audit_checkpoint_row gauge\nhsmca_audit_checkpoint_row %lld\n"
			 "# TYPE hsmca_audit_checkpoint_timestamp_seconds gauge\nhsmca_audit_checkpoint_timestamp_seconds %lld\n"
			 "# TYPE hsmca_audit_checkpoint_failures_total counter\nhsmca_audit_checkpoint_failures_total %lu\n"
			 "# TYPE hsmca_audit_log_tampered gauge\nhsmca_audit_log_tampered %d\n"
			 "# TYPE hsmca_intents_refused_total counter\nhsmca_intents_refused_total %lu\n"
			 "# TYPE hsmca_rows_refused_total counter\nhsmca_rows_refused_total %lu\n"
			 "# TYPE hsmca_connections_refused_total counter\nhsmca_connections_refused_total %lu\n"
			 "# TYPE hsmca_connections_open gauge\nhsmca_connections_open %lu\n"
			 "# TYPE hsmca_connections_rate_limited_total counter\nhsmca_connections_rate_limited_total %lu\n"
			 "# TYPE hsmca_connection_addresses gauge\nhsmca_connection_addresses %lu\n"
			 "# TYPE hsmca_tls_client_hellos_total counter\nhsmca_tls_client_hellos_total %lu\n"
			 "# TYPE hsmca_profiles_diverged gauge\nhsmca_profiles_diverged %u\n"
			 "# TYPE hsmca_commit_queue_items gauge\nhsmca_commit_queue_items %zu\n"
			 "# TYPE hsmca_connections_max_refused_total counter\nhsmca_connections_max_refused_total %lu\n"
			 "# TYPE hsmca_connections gauge\nhsmca_connections %lu\n"
			 "# TYPE hsmca_connections_max gauge\nhsmca_connections_max %u\n"
			 "# TYPE hsmca_certificates_unrecorded gauge\nhsmca_certificates_unrecorded %zu\n"
			 "# TYPE hsmca_reply_timeouts_total counter\nhsmca_reply_timeouts_total %lu\n"
			 "# TYPE hsmca_connections_recycled_total counter\nhsmca_connections_recycled_total %lu\n"
			 "# TYPE hsmca_signer_profiles_unfit gauge\nhsmca_signer_profiles_unfit %d\n"
			 "# TYPE hsmca_signer_up gauge\nhsmca_signer_up %d\n"
			 "# TYPE hsmca_cross_site_refused_total counter\nhsmca_cross_site_refused_total %lu\n",
			 atomic_load(&h->app->issued), atomic_load(&h->app->refused), atomic_load(&h->app->failed),
			 atomic_load(&h->app->auth_failures), deadline_timeouts(), atomic_load(&h->app->password_checks),
			 atomic_load(&h->app->shed), acceptguard_pauses(), pool_inflight(h->pool), atomic_load(&h->app->checkpoint_row),
			 atomic_load(&h->app->checkpoint_unix), atomic_load(&h->app->checkpoint_failures),
			 atomic_load(&h->app->checkpoint_tampered), atomic_load(&h->app->intents_refused),
			 atomic_load(&h->app->rows_refused), conncap_refused(), conncap_open(),
			 conncap_rate_refused(), conncap_entries(), tls_client_hellos(), http_profiles_diverged(h->app),
			 h->app->committer ? committer_queued(h->app->committer) : (size_t)0, deadline_total_refused(),
			 deadline_open(), h->app->conf.max_connections, unrecorded_count(), deadline_reply_timeouts(),
			 deadline_recycled(), signerfit_unfit(), signerup_up() ? 1 : 0, atomic_load(&h->app->cross_site));
	if (n < 0 || (size_t)n >= sizeof(out)) { /* cut: never send a part, or bytes past the buffer */
		http_json_error(req, 500, "internal", "the metrics do not fit their buffer");
		return;
	}
	http_text(req, 200, "text/plain; version=0.0.4", out, (size_t)n);
}

/* The request target in origin form, path then ?query (RFC 9112 3.2), whatever form the client sent: an
 * absolute-form target (http://host/path?query, which a server must accept) was routed by its path but
 * handed to the handlers whole, which answered 404 for a path they could not find in it. Its length (out
 * holds at most size - 1 bytes of it). */
static size_t http_origin_form(struct evhttp_request *req, char *out, size_t size)
{
	const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
	const char *path = u ? evhttp_uri_get_path(u) : NULL, *query = u ? evhttp_uri_get_query(u) : NULL;
	int n = snprintf(out, size, "%s%s%s", path && *path ? path : "/", query ? "?" : "", query ? query : "");
	return n < 0 ? SIZE_MAX : (size_t)n;
}

/* Copies what the worker needs out of the request (the request itself stays on the loop thread); target is
 * its origin form (http_origin_form), shorter than JOB_PATH_MAX. */
static struct job *http_job(struct evhttp_request *req, enum job_kind kind, const char *target)
{
	struct job *j = calloc(1, sizeof(*j));
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	char *peer = NULL;
	ev_uint16_t port = 0;
	if (!j)
		return NULL;
	dbuf_init(&j->resp);
	j->kind = kind;
	j->req = req;
	snprintf(j->path, sizeof(j->path), "%s", target);
	if (auth && strlen(auth) < sizeof(j->auth))
		strcpy(j->auth, auth);
	evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer, &port);
	snprintf(j->peer, sizeof(j->peer), "%s", peer ? peer : "?");
	j->body_len = evbuffer_get_length(in);
	j->body = malloc(j->body_len + 1);
	if (!j->body) {
		job_free(j);
		return NULL;
	}
	evbuffer_remove(in, j->body, j->body_len);
	j->body[j->body_len] = 0;
	/* set only for a client certificate that verified against client_ca */
	if (tls_conn_client_cert(evhttp_request_get_connection(req), &j->client_cert, &j->client_cert_len)) {
		job_free(j);
		return NULL;
	}
	return j;
}

#define HTTP_BAD_METHOD (-1)

/* path is prefix or below it, by at most max_depth more segments (0: any) */
static bool http_prefix(const char *path, const char *prefix, unsigned max_depth)
{
	size_t n = strlen(prefix);
	if (strncmp(path, prefix, n) != 0 || (path[n] != 0 && path[n] != '/'))
		return false;
	unsigned depth = 0;
	for (const char *c = path + n; *c; c++)
		depth += *c == '/';
	return !max_depth || depth <= max_depth;
}

/* path is prefix/{one segment}/last exactly */
static bool http_last_segment(const char *path, const char *prefix, const char *last)
{
	size_t n = strlen(prefix), pl = strlen(path), ll = strlen(last);
	if (pl < n + 1 + 1 + 1 + ll || strcmp(path + pl - ll, last) != 0 || path[pl - ll - 1] != '/')
		return false;
	const char *seg = path + n + 1, *end = path + pl - ll - 1;
	return path[n] == '/' && end > seg && memchr(seg, '/', (size_t)(end - seg)) == NULL;
}

/* Which worker job serves path with cmd: a job kind, 0 (no such endpoint) or HTTP_BAD_METHOD (*allow: the
 * methods the path takes); body_max gets the most body bytes its parser takes (max_body may be up to 1 MiB: a
 * body between the two is 413, as one over max_body is, not the parser's 400). */
static int http_job_kind(const char *path, enum evhttp_cmd_type cmd, size_t *body_max, const char **allow)
{
	static const struct {
		const char *path;
		bool prefix;
		unsigned methods;
		int kind;
		size_t body_max;
		unsigned max_depth; /* a prefix route's segments below its path (0: any) */
		const char *last;   /* a prefix route's last segment, when it must be this one (NULL: any) */
	} routes[] = {
		{ "/api/v1/certificates", false, EVHTTP_REQ_POST, JOB_ISSUE, JSON_MAX_INPUT, 0, NULL },
		{ "/api/v1/certificates/renew", false, EVHTTP_REQ_POST, JOB_RENEW, RENEW_BODY_MAX, 0, NULL },
		{ "/api/v1/certificates/renewal-challenge", false, EVHTTP_REQ_POST, JOB_RENEW_CHALLENGE, JSON_MAX_INPUT, 0, NULL },
		/* GET /api/v1/certificates/{serial} and POST /api/v1/certificates/{serial}/revoke; any other path
		 * below is no endpoint at all (404), not a 405 naming the other one's method */
		{ "/api/v1/certificates", true, EVHTTP_REQ_GET, JOB_CERT_GET, JSON_MAX_INPUT, 1, NULL },
		{ "/api/v1/certificates", true, EVHTTP_REQ_POST, JOB_REVOKE, JSON_MAX_INPUT, 2, "revoke" },
		{ "/api/v1/accounts", true, EVHTTP_REQ_GET | EVHTTP_REQ_POST, JOB_ACCOUNTS, JSON_MAX_INPUT, 0, NULL },
		{ "/api/v1/approvals", true, EVHTTP_REQ_GET | EVHTTP_REQ_POST, JOB_APPROVALS, JSON_MAX_INPUT, 0, NULL },
		{ "/api/v1/cfssl/authsign", false, EVHTTP_REQ_POST, JOB_CFSSL_AUTHSIGN, JSON_MAX_INPUT, 0, NULL },
		{ "/api/v1/cfssl/sign", false, EVHTTP_REQ_POST, JOB_CFSSL_SIGN, CFSSL_REQUEST_MAX, 0, NULL },
		{ "/api/v1/cfssl/info", false, EVHTTP_REQ_POST, JOB_CFSSL_INFO, JSON_MAX_INPUT, 0, NULL },
		{ "/crl", true, EVHTTP_REQ_GET, JOB_CRL, JSON_MAX_INPUT, 1, NULL }, /* /crl/{name}.crl */
	};
	unsigned taken = 0;
	bool exact = false; /* a path an exact route names is that route's, whatever the method: GET of
			     * /api/v1/certificates/renew is 405, not a certificate named "renew" */
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		exact = exact || (!routes[i].prefix && !strcmp(path, routes[i].path));
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (routes[i].prefix ? exact || !http_prefix(path, routes[i].path, routes[i].max_depth) ||
					       (routes[i].last && !http_last_segment(path, routes[i].path, routes[i].last))
				     : strcmp(path, routes[i].path) != 0)
			continue;
		*body_max = routes[i].body_max;
		if (routes[i].methods & (unsigned)cmd)
			return routes[i].kind;
		taken |= routes[i].methods;
	}
	if (!taken)
		return 0;
	*allow = taken == (EVHTTP_REQ_GET | EVHTTP_REQ_POST) ? "GET, POST" : taken == EVHTTP_REQ_GET ? "GET" : "POST";
	return HTTP_BAD_METHOD;
}

/* A browser's request made by another site's page (cross-site request forgery): hsmca serves no pages, but a
 * person's credentials are ambient in a browser (a login certificate it presents at every handshake, HTTP
 * Basic it caches), and a form or a "simple" fetch POSTs without a preflight. Such a request says where it
 * comes from: Sec-Fetch-Site, which a browser that sends it sets itself, other than same-origin or none; or,
 * from a browser without it, an Origin whose host[:port] is not this request's Host (a page of the same
 * origin, behind a proxy that serves one and keeps Host, passes; "null" never does). Clients that are not
 * browsers (curl, cfssl, scripts) send neither header. */
/* host[:port] a and b name the same origin's authority, the scheme's default port (":443", ":80") written or
 * not on either side (a proxy or client may add it to Host; browsers leave it out of Origin) */
static bool http_same_authority(const char *a, const char *b, const char *dport)
{
	size_t al = strlen(a), bl = strlen(b), dl = strlen(dport);
	if (al > dl && !strcmp(a + al - dl, dport))
		al -= dl;
	if (bl > dl && !strcmp(b + bl - dl, dport))
		bl -= dl;
	return al == bl && strncasecmp(a, b, al) == 0;
}

static bool http_cross_site(struct evhttp_request *req)
{
	const struct evkeyvalq *hd = evhttp_request_get_input_headers(req);
	const char *site = evhttp_find_header(hd, "Sec-Fetch-Site");
	if (site) /* the browser's own word: also right behind a proxy that rewrites Host */
		return strcmp(site, "same-origin") != 0 && strcmp(site, "none") != 0;
	const char *origin = evhttp_find_header(hd, "Origin");
	if (!origin)
		return false;
	const char *host = evhttp_find_header(hd, "Host"), *authority = NULL;
	if (!strncasecmp(origin, "https://", 8))
		authority = origin + 8;
	else if (!strncasecmp(origin, "http://", 7))
		authority = origin + 7;
	return !authority || !host || !*host || !http_same_authority(authority, host, authority == origin + 8 ? ":443" : ":80");
}

/* The request's header fields as the client sent them: counted before deadline_request_read, which may add
 * Connection: close to them (the last request of a recycled connection). */
static unsigned http_header_count(struct evhttp_request *req)
{
	unsigned n = 0;
	for (const struct evkeyval *kv = evhttp_request_get_input_headers(req)->tqh_first; kv; kv = kv->next.tqe_next)
		n++;
	return n;
}

/* The router, n_headers the client's (http_header_count). */
static void http_route_n(struct evhttp_request *req, struct http_ctx *h, unsigned n_headers)
{
	if (deadline_request_read(req)) /* complete: its whole-request clock stops */
		return http_json_error(req, 503, "connection-cut", "this connection was refused or cut; nothing was done");
	if (h->draining) { /* a request on a kept-alive connection after the stop signal (health checks too) */
		deadline_close_after(req);
		return http_json_error(req, 503, "stopping", "the frontend is stopping; try again");
	}
	if (n_headers > h->app->conf.max_headers)
		return http_json_error(req, 431, "too-many-headers", "more request header fields than max_headers");
	/* a longer one would not fit the job (struct job's auth): refused, not dropped, which made the request
	 * one without credentials (401 or a login certificate instead, and no failure counted) */
	const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
	if (auth && strlen(auth) >= JOB_AUTH_MAX)
		return http_json_error(req, 431, "header-too-large", "the Authorization header is too long");
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	if (!path)
		path = "";
	/* the loop's own answers: GET, and HEAD (the same headers, no body: monitors probe with it) */
	bool loop_path = !strcmp(path, "/healthz") || !strcmp(path, "/api/v1/cfssl/health") ||
			 !strcmp(path, "/metrics") || !strcmp(path, "/api/v1/ca/chain");
	if (loop_path && cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD)
		return http_bad_method(req, "GET, HEAD");
	/* healthy: this frontend can issue, so a load balancer or monitor takes a frontend whose signer is stopped,
	 * sealed or hung (signerup.h) for what it is; it still serves what needs no signature meanwhile */
	if (!strcmp(path, "/healthz")) {
		static const char ok[] = "{\"status\": \"ok\"}\n",
				  down[] = "{\"status\": \"unavailable\", \"signer\": \"unavailable\", \"message\": "
					   "\"the signer does not answer (stopped, sealed or hung): no certificate can be issued\"}\n";
		return signerup_up() ? http_text(req, 200, "application/json", ok, sizeof(ok) - 1)
				     : http_text(req, 503, "application/json", down, sizeof(down) - 1);
	}
	if (!strcmp(path, "/api/v1/cfssl/health")) {
		static const char ok[] = "{\"success\": true, \"result\": {\"healthy\": true}, \"errors\": [], \"messages\": []}\n",
				  down[] = "{\"success\": false, \"result\": {\"healthy\": false}, \"errors\": [{\"code\": 503, "
					   "\"message\": \"the signer does not answer (stopped, sealed or hung)\"}], \"messages\": []}\n";
		return signerup_up() ? http_text(req, 200, "application/json", ok, sizeof(ok) - 1)
				     : http_text(req, 503, "application/json", down, sizeof(down) - 1);
	}
	if (!strcmp(path, "/metrics"))
		return http_metrics(h, req);
	if (!strcmp(path, "/api/v1/ca/chain"))
		return http_text(req, 200, "application/pem-certificate-chain", h->app->chain_pem, h->app->chain_len);
	size_t body_max = 0;
	const char *allow = NULL;
	int kind = http_job_kind(path, cmd, &body_max, &allow);
	if (kind == HTTP_BAD_METHOD)
		return http_bad_method(req, allow);
	if (kind && evbuffer_get_length(evhttp_request_get_input_buffer(req)) > body_max)
		return http_json_error(req, 413, "too-large", "the request body is larger than this endpoint takes");
	/* the job keeps the URI in JOB_PATH_MAX bytes: a longer one (its query, since no routed path is that long)
	 * would reach the handler cut, a query's parameter with it ("?<pad>&all=10" read as all=1) */
	char target[JOB_PATH_MAX];
	if (kind && http_origin_form(req, target, sizeof(target)) >= JOB_PATH_MAX)
		return http_json_error(req, 414, "uri-too-long", "the request URI is longer than this endpoint takes");
	if (kind && cmd == EVHTTP_REQ_POST && http_cross_site(req)) {
		atomic_fetch_add(&h->app->cross_site, 1);
		return http_json_error(req, 403, "cross-site", "a browser's request from another site's page "
				       "(Origin or Sec-Fetch-Site): refused, nothing was done");
	}
	if (kind) {
		/* bounded: past max_inflight the queue would only grow (every request answered late, memory
		 * unbounded); shed at once instead, cheaply, so the requests already taken finish in time */
		if (pool_inflight(h->pool) >= h->app->conf.max_inflight) {
			atomic_fetch_add(&h->app->shed, 1);
			evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
			return http_json_error(req, 503, "overloaded", "too many requests in progress; try again shortly");
		}
		struct job *j = http_job(req, (enum job_kind)kind, target);
		if (!j)
			return http_json_error(req, 503, "overloaded", "out of memory");
		j->method = cmd;
		pool_adopt(h->pool, j);
		if (issue_inline(h->app, h->pool, j))
			return; /* checked here and queued for the committer: no worker needed */
		return pool_submit(h->pool, j);
	}
	http_json_error(req, 404, "not-found", "no such endpoint");
}

/* The HTTPS listener's entry: a connection that is not TLS (tls_bevcb failed and evhttp fell back to a
 * plain bufferevent) gets nothing but an error. */
static void http_route_tls(struct evhttp_request *req, void *arg)
{
	unsigned n_headers = http_header_count(req);
	/* ours to answer (not one of evhttp's own errors, which deadline.c rewrites); http_route_n asks again */
	if (deadline_request_read(req))
		return http_json_error(req, 503, "connection-cut", "this connection was refused or cut; nothing was done");
	if (!tls_conn_is_tls(evhttp_request_get_connection(req)))
		return http_json_error(req, 503, "tls", "TLS unavailable");
	http_route_n(req, arg, n_headers);
}

static void http_route(struct evhttp_request *req, void *arg)
{
	http_route_n(req, arg, http_header_count(req));
}

static void http_limits(struct evhttp *http, const struct fconfig *c)
{
	evhttp_set_max_body_size(http, (ev_ssize_t)c->max_body);
	evhttp_set_max_headers_size(http, (ev_ssize_t)c->max_header_size);
	/* per read and per write (a client reading a reply a few bytes at a time renews it); deadline.c's
	 * whole-request deadline (timeout_seconds) fires first and answers 408, and its reply deadline (the same
	 * seconds) cuts a reply not written out by then */
	evhttp_set_timeout(http, (int)c->timeout_seconds + 1);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
}

static struct bufferevent *http_tls_bevcb(struct event_base *base, void *arg)
{
	return deadline_watch(tls_bevcb(base, arg), true);
}

/* Stop: the first SIGTERM or SIGINT closes the listeners and refuses new requests, then waits until every
 * request under way has been answered (its certificate committed, or its error sent), at most
 * timeout_seconds, the longest a client is kept anyway; a second signal stops at once. A request still
 * under way at the deadline is dropped: its intent stays pending and the next start's recovery pass
 * completes it, as after a crash. */
#define HTTP_DRAIN_TICK_MS 20
#define HTTP_INPUT_SLACK (64 * 1024) /* beyond max_header_size + max_body: pipelined requests, a chunk line */
#define HTTP_FLUSH_MS 200 /* after the last answer, for the loop to write it out */

static void http_on_drain(evutil_socket_t fd, short what, void *arg)
{
	struct http_ctx *h = arg;
	struct timespec now;
	unsigned n = pool_inflight(h->pool);
	bool recovering = dispatch_recovery_running(); /* on the row it is on: issue_recover_stop */
	(void)fd;
	(void)what;
	clock_gettime(CLOCK_MONOTONIC, &now);
	bool late = now.tv_sec > h->drain_until.tv_sec ||
		    (now.tv_sec == h->drain_until.tv_sec && now.tv_nsec >= h->drain_until.tv_nsec);
	if ((n || recovering) && !late)
		return;
	event_del(h->drain);
	if (n || recovering)
		log_event("warn", "stopped", "unanswered=%u recovering=%s why=\"still under way at the deadline; their intents "
			  "stay pending for recovery\"", n, recovering ? "yes" : "no");
	else
		log_event("info", "stopped", "unanswered=0");
	struct timeval flush = { 0, HTTP_FLUSH_MS * 1000 };
	event_base_loopexit(h->base, &flush);
}

static void http_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct http_ctx *h = arg;
	(void)what;
	if (h->draining) {
		log_event("warn", "stopping_now", "signal=%d unanswered=%u", (int)sig, pool_inflight(h->pool));
		event_base_loopbreak(h->base);
		return;
	}
	h->draining = true;
	issue_recover_stop(); /* a pass under way ends after its row; the drain waits for it */
	acceptguard_stop(); /* no paused listener is enabled again once it is gone */
	if (h->plain_bound)
		evhttp_del_accept_socket(h->http, h->plain_bound); /* closes the listening socket */
	if (h->tls_bound)
		evhttp_del_accept_socket(h->https, h->tls_bound);
	h->plain_bound = h->tls_bound = NULL;
	clock_gettime(CLOCK_MONOTONIC, &h->drain_until);
	h->drain_until.tv_sec += (time_t)h->app->conf.timeout_seconds;
	log_event("info", "stopping", "signal=%d under_way=%u wait_seconds=%u", (int)sig, pool_inflight(h->pool),
		  h->app->conf.timeout_seconds);
	struct timeval tick = { 0, HTTP_DRAIN_TICK_MS * 1000 };
	if (!(h->drain = event_new(h->base, -1, EV_PERSIST, http_on_drain, h)) || event_add(h->drain, &tick) != 0)
		event_base_loopbreak(h->base);
	else
		http_on_drain(-1, 0, h); /* nothing under way: stop now */
}

int http_run(struct app *a, struct listeners *l)
{
	struct http_ctx h = { .app = a };
	struct evhttp *http = NULL, *https = NULL;
	struct event *sigterm = NULL, *sigint = NULL;
	int rc = HSMCA_ERR_IO;
	signal(SIGPIPE, SIG_IGN);
	if (evthread_use_pthreads() != 0 || !(h.base = event_base_new()) || !(http = evhttp_new(h.base)) ||
	    (l->tls_fd >= 0 && !(https = evhttp_new(h.base))))
		goto out;
	http_limits(http, &a->conf);
	evhttp_set_gencb(http, http_route, &h);
	evhttp_set_bevcb(http, deadline_bevcb_plain, NULL);
	deadline_set_conn_limits(a->conf.max_conn_requests, a->conf.max_conn_seconds);
	/* the input a connection may hold: a request's headers and body, and room for what a client pipelines */
	if ((rc = deadline_start(h.base, a->conf.timeout_seconds,
				 a->conf.max_header_size + a->conf.max_body + HTTP_INPUT_SLACK, a->conf.max_header_size,
				 a->conf.max_headers, a->conf.max_connections, a->conf.max_conns_per_address,
				 a->conf.conn_rate_per_address)))
		goto out;
	rc = HSMCA_ERR_IO;
	/* the listeners were bound before the privilege drop; evhttp owns each fd once it accepts on it */
	h.http = http;
	h.https = https;
	if (l->plain_fd >= 0) {
		if (!(h.plain_bound = evhttp_accept_socket_with_handle(http, l->plain_fd)))
			goto out;
		l->plain_fd = -1;
		if ((rc = acceptguard_watch(h.base, h.plain_bound)))
			goto out;
		rc = HSMCA_ERR_IO;
	}
	if (https) {
		http_limits(https, &a->conf);
		evhttp_set_gencb(https, http_route_tls, &h);
		evhttp_set_bevcb(https, http_tls_bevcb, l->tls);
		if (!(h.tls_bound = evhttp_accept_socket_with_handle(https, l->tls_fd)))
			goto out;
		l->tls_fd = -1;
		if ((rc = acceptguard_watch(h.base, h.tls_bound)))
			goto out;
		rc = HSMCA_ERR_IO;
	}
	if ((rc = pool_start(a, h.base, a->conf.threads, &h.pool)) ||
	    (rc = pool_schedule_recovery(h.pool, h.base,
					 a->conf.recover_after_seconds < ISSUE_RECOVER_INTERVAL_MAX
						 ? a->conf.recover_after_seconds
						 : ISSUE_RECOVER_INTERVAL_MAX)))
		goto out;
	sigterm = evsignal_new(h.base, SIGTERM, http_on_signal, &h);
	sigint = evsignal_new(h.base, SIGINT, http_on_signal, &h);
	if (!sigterm || !sigint || event_add(sigterm, NULL) || event_add(sigint, NULL)) {
		rc = HSMCA_ERR_IO;
		goto out;
	}
	log_event("info", "ready", "listen=%s:%u tls_listen=%s:%u client_ca=%s workers=%u profiles=%u",
		  a->conf.listen_addr, a->conf.listen_port, a->conf.tls_addr, a->conf.tls_port,
		  a->conf.client_ca[0] ? "yes" : "no", a->conf.threads, a->profiles.n);
	rc = event_base_dispatch(h.base) < 0 ? HSMCA_ERR_IO : 0;
out:
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	if (h.drain)
		event_free(h.drain);
	if (https)
		evhttp_free(https);
	if (http)
		evhttp_free(http);
	acceptguard_stop();
	deadline_stop();
	return rc;
}
