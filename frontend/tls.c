#include "tls.h"

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

/* TLS 1.2 suites: ECDHE only (forward secrecy), AEAD only; TLS 1.3 keeps OpenSSL's (all AEAD) defaults */
#define TLS_CIPHERS_12 "ECDHE+AESGCM:ECDHE+CHACHA20"
#define TLS_SESSION_CTX "hsmca-frontend"

#define TERR(...) tls_err(err, __VA_ARGS__)

__attribute__((format(printf, 2, 3))) static int tls_err(char *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, CONF_ERR_MAX, fmt, ap);
	va_end(ap);
	return HSMCA_ERR_CONFIG;
}

/* The first OpenSSL error as text (clears the queue). */
static const char *tls_ossl_why(char *buf, size_t len)
{
	unsigned long e = ERR_peek_error();
	if (!e)
		snprintf(buf, len, "no detail");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* Never prompts: an encrypted key is refused (the frontend starts unattended). */
static int tls_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1;
}

#define TLS_KEY_FILE_MAX (64 * 1024) /* an RSA-8192 key in PEM is under 7 kB */

/* The key file read into memory wiped afterwards (stdio's buffer would have been freed with the key's PEM in
 * it, for the life of the process), then parsed from there. */
static int tls_load_key(const char *path, EVP_PKEY **out, char *err)
{
	char why[160];
	int rc = 0;
	size_t len = 0;
	uint8_t *buf = OPENSSL_malloc(TLS_KEY_FILE_MAX + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	*out = NULL;
	if (!buf || fd < 0) {
		rc = TERR("tls_key %s: cannot open", path);
		goto out;
	}
	for (ssize_t r; len <= TLS_KEY_FILE_MAX; len += (size_t)r) {
		r = read(fd, buf + len, TLS_KEY_FILE_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			r = 0;
		else if (r < 0) {
			rc = TERR("tls_key %s: cannot read", path);
			goto out;
		} else if (r == 0)
			break;
	}
	if (len > TLS_KEY_FILE_MAX) {
		rc = TERR("tls_key %s: larger than %d bytes", path, TLS_KEY_FILE_MAX);
		goto out;
	}
	BIO *b = BIO_new_mem_buf(buf, (int)len);
	*out = b ? PEM_read_bio_PrivateKey(b, NULL, tls_no_passphrase, NULL) : NULL;
	BIO_free(b);
	if (!*out)
		rc = TERR("tls_key %s: not an unencrypted PEM private key (%s)", path, tls_ossl_why(why, sizeof(why)));
out:
	if (fd >= 0)
		close(fd);
	if (buf)
		OPENSSL_clear_free(buf, TLS_KEY_FILE_MAX + 1);
	return rc;
}

/* Chain and key; the key must belong to the leaf (checked here, not left to the first handshake). */
static int tls_load_identity(SSL_CTX *ctx, const struct fconfig *c, char *err)
{
	char why[160];
	EVP_PKEY *key = NULL;
	int rc = HSMCA_ERR_CONFIG;
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1) {
		rc = TERR("tls_cert %s: cannot read a PEM certificate chain (%s)", c->tls_cert, tls_ossl_why(why, sizeof(why)));
		goto out;
	}
	if ((rc = tls_load_key(c->tls_key, &key, err)))
		goto out;
	if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), key) != 1) {
		ERR_clear_error();
		rc = TERR("tls_key %s does not match the certificate in tls_cert %s", c->tls_key, c->tls_cert);
		goto out;
	}
	if (SSL_CTX_use_PrivateKey(ctx, key) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		rc = TERR("tls_key %s: unusable with tls_cert %s (%s)", c->tls_key, c->tls_cert, tls_ossl_why(why, sizeof(why)));
		goto out;
	}
	rc = 0;
out:
	EVP_PKEY_free(key); /* the SSL_CTX holds its own reference */
	return rc;
}

/* Client certificates: asked for, not required; one that is sent must verify against client_ca only (no
 * system roots) for the SSL client purpose, or the handshake fails. */
static int tls_load_client_ca(SSL_CTX *ctx, const char *path, char *err)
{
	char why[160];
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(path);
	if (!names || sk_X509_NAME_num(names) == 0) {
		sk_X509_NAME_pop_free(names, X509_NAME_free);
		return TERR("client_ca %s: no PEM certificates (%s)", path, tls_ossl_why(why, sizeof(why)));
	}
	SSL_CTX_set_client_CA_list(ctx, names); /* takes names: the CAs a client may pick its certificate for */
	if (SSL_CTX_load_verify_file(ctx, path) != 1)
		return TERR("client_ca %s: cannot load as a trust store (%s)", path, tls_ossl_why(why, sizeof(why)));
	if (SSL_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) != 1 ||
	    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(ctx), X509_V_FLAG_X509_STRICT) != 1 ||
	    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)TLS_SESSION_CTX, sizeof(TLS_SESSION_CTX) - 1) != 1)
		return TERR("client_ca %s: cannot set verification parameters (%s)", path, tls_ossl_why(why, sizeof(why)));
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_verify_depth(ctx, TLS_VERIFY_DEPTH);
	return 0;
}

static unsigned long tls_hellos; /* loop thread only */

/* Counts each ClientHello OpenSSL has read, i.e. each handshake that has started to cost the loop thread. */
static int tls_on_client_hello(SSL *ssl, int *alert, void *arg)
{
	(void)ssl;
	(void)alert;
	(void)arg;
	tls_hellos++;
	return SSL_CLIENT_HELLO_SUCCESS;
}

unsigned long tls_client_hellos(void)
{
	return tls_hellos;
}

int tls_ctx_new(const struct fconfig *c, SSL_CTX **out, char *err)
{
	char why[160];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int rc = HSMCA_ERR_CONFIG;
	*out = NULL;
	if (!ctx || SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_12) != 1) {
		rc = TERR("cannot set up OpenSSL (%s)", tls_ossl_why(why, sizeof(why)));
		goto out;
	}
	/* CLEANSE_PLAINTEXT: OpenSSL wipes the records it decrypted in place (passwords, API keys) when it is done
	 * with them; what it hands over goes into libevent's buffers (wipealloc.h). NO_TICKET: a TLS 1.2 session
	 * resumed from a ticket skips ECDHE, its secrets sealed by one ticket key kept for the life of the process
	 * (whoever reads that key reads every resumed session: Basic passwords, API keys); TLS 1.3 resumes with a
	 * fresh ECDHE and a stateful ticket instead */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_CLEANSE_PLAINTEXT | SSL_OP_NO_TICKET);
	SSL_CTX_set_client_hello_cb(ctx, tls_on_client_hello, NULL);
	if ((rc = tls_load_identity(ctx, c, err)) || (c->client_ca[0] && (rc = tls_load_client_ca(ctx, c->client_ca, err))))
		goto out;
	*out = ctx;
	ctx = NULL;
out:
	SSL_CTX_free(ctx);
	return rc;
}

struct bufferevent *tls_bevcb(struct event_base *base, void *arg)
{
	SSL *ssl = SSL_new(arg);
	struct bufferevent *bev;
	if (!ssl) {
		log_event("error", "tls_connection_failed", "why=\"SSL_new: out of memory\"");
		return NULL;
	}
	/* takes ssl (freed with the bufferevent, even on failure: BEV_OPT_CLOSE_ON_FREE) */
	bev = bufferevent_openssl_socket_new(base, -1, ssl, BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (!bev) {
		log_event("error", "tls_connection_failed", "why=\"bufferevent_openssl_socket_new failed\"");
		return NULL;
	}
	/* a client closing without close_notify ends its connection like a plain TCP close would */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return bev;
}

static SSL *tls_conn_ssl(struct evhttp_connection *conn)
{
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	return bev ? bufferevent_openssl_get_ssl(bev) : NULL; /* NULL for a plain bufferevent */
}

bool tls_conn_is_tls(struct evhttp_connection *conn)
{
	return tls_conn_ssl(conn) != NULL;
}

int tls_conn_client_cert(struct evhttp_connection *conn, uint8_t **out, size_t *out_len)
{
	SSL *ssl = tls_conn_ssl(conn);
	X509 *peer = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	uint8_t *p;
	int n;
	*out = NULL;
	*out_len = 0;
	/* only a certificate we asked for (client_ca set) and that verified: renewal trusts this field */
	if (!peer || !(SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) || SSL_get_verify_result(ssl) != X509_V_OK)
		return 0;
	n = i2d_X509(peer, NULL);
	if (n <= 0 || (size_t)n > TLS_CERT_DER_MAX)
		return 0;
	if (!(*out = malloc((size_t)n)))
		return HSMCA_ERR_NOMEM;
	p = *out;
	if (i2d_X509(peer, &p) != n) {
		free(*out);
		*out = NULL;
		return HSMCA_ERR_CRYPTO;
	}
	*out_len = (size_t)n;
	char hex[65];
	log_sha256_hex(*out, *out_len, hex);
	log_event("info", "tls_client_cert", "sha256=%s", hex);
	return 0;
}
