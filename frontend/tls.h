/* HTTPS for the frontend: one SSL_CTX built at start-up (before the privilege drop: it reads the key) from
 * tls_cert, tls_key and client_ca, and the evhttp hooks that wrap each accepted connection in OpenSSL and
 * read the verified client certificate of a request. Everything here runs on the loop thread. */
#ifndef HSMCA_TLS_H
#define HSMCA_TLS_H

#include <event2/bufferevent.h>
#include <event2/http.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "fconfig.h"

#define TLS_VERIFY_DEPTH 4 /* client leaf, issuing CA, root, one spare */
#define TLS_CERT_DER_MAX (16u * 1024u)

/* TLS 1.2 minimum, forward-secret AEAD suites only, no renegotiation or compression. Serves the chain in
 * c->tls_cert (leaf first) with c->tls_key, refusing a key that does not match the leaf. With c->client_ca:
 * asks for a client certificate (optional, so password and API-key clients share the listener); one that
 * is sent must chain to a certificate of that bundle and be fit for clientAuth, or the handshake fails.
 * On error err (CONF_ERR_MAX bytes) says which file and why. The caller owns *out (SSL_CTX_free). */
int tls_ctx_new(const struct fconfig *c, SSL_CTX **out, char *err) HSMCA_WUR;

/* evhttp_set_bevcb callback (arg: the SSL_CTX): a server-side OpenSSL bufferevent for a new connection.
 * NULL when OpenSSL is out of memory; evhttp then falls back to a plain bufferevent, which
 * tls_conn_is_tls tells apart. */
struct bufferevent *tls_bevcb(struct event_base *base, void *arg);

/* ClientHellos read so far (handshakes begun), for /metrics. */
unsigned long tls_client_hellos(void);

/* Whether conn runs over TLS. */
bool tls_conn_is_tls(struct evhttp_connection *conn);

/* The DER of conn's client certificate into *out (malloc'd, owned by the caller) when the peer sent one
 * and it verified against client_ca; otherwise *out = NULL, *out_len = 0. Fails only on allocation. */
int tls_conn_client_cert(struct evhttp_connection *conn, uint8_t **out, size_t *out_len) HSMCA_WUR;

#endif
