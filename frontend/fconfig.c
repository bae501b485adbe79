#include "fconfig.h"

#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"

#define CERR(...) (snprintf(err, CONF_ERR_MAX, __VA_ARGS__), HSMCA_ERR_CONFIG)
#define FCONF_BODY_MAX_LIMIT (1024u * 1024u)
#define FCONF_CONN_REQUESTS_MAX 100000u /* max_requests_per_connection: 1 to this */
#define FCONF_CONN_SECONDS_MAX 86400u   /* max_connection_seconds: 1 to this (a day) */

enum { FCONF_KEY_LISTEN = 0, FCONF_KEY_TLS_CERT = 10, FCONF_KEY_TLS_KEY, FCONF_KEY_CLIENT_CA,
       FCONF_KEY_TLS_LISTEN = 14, FCONF_KEY_USER, FCONF_KEY_MAX_INFLIGHT, FCONF_KEY_CHECKPOINT_KEY,
       FCONF_KEY_CHECKPOINT_SECONDS, FCONF_KEY_CHECKPOINT_CERT, FCONF_KEY_DB_TIMEOUT, FCONF_KEY_INTENT_KEY,
       FCONF_KEY_INTENT_ACCEPT, FCONF_KEY_MAX_CONNS_PER_ADDRESS,
       FCONF_KEY_CONN_RATE_PER_ADDRESS, FCONF_KEY_FORMER_ISSUERS, FCONF_KEY_MAX_CONNECTIONS,
       FCONF_KEY_CONN_REQUESTS, FCONF_KEY_CONN_SECONDS, FCONF_KEY_SIGNER_CHECK, FCONF_KEY_SIGN_WAIT,
       FCONF_KEY_CHECKPOINT_ANCHOR, FCONF_NKEYS };

struct fconf_ctx {
	struct fconfig *c;
	unsigned seen;
	unsigned line[FCONF_NKEYS]; /* where each key was given, for the cross-key checks */
};

/* "addr:port" (the last colon splits, so "::1:8443" is IPv6) */
static bool fconf_listen(const char *v, char addr[FCONF_ADDR_MAX], unsigned *port_out)
{
	const char *colon = strrchr(v, ':');
	uint64_t port;
	if (!colon || colon == v || (size_t)(colon - v) >= FCONF_ADDR_MAX ||
	    !conf_value_uint(colon + 1, 65535, &port) || port == 0)
		return false;
	memcpy(addr, v, (size_t)(colon - v));
	addr[colon - v] = 0;
	*port_out = (unsigned)port;
	return true;
}

/* a POSIX portable user name: [a-z_][a-z0-9_-]*, at most 32 characters */
static bool fconf_user(const char *v, char out[FCONF_USER_MAX])
{
	size_t n = strlen(v);
	if (n == 0 || n > 32 || !((v[0] >= 'a' && v[0] <= 'z') || v[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '_' || v[i] == '-'))
			return false;
	memcpy(out, v, n + 1);
	return true;
}

/* A kept-alive connection's limits: 0 (no limit) is refused, so the error says what is allowed. */
static int fconf_conn_limit(struct fconfig *c, unsigned idx, const char *key, const char *v, unsigned line, char *err)
{
	bool requests = idx == FCONF_KEY_CONN_REQUESTS;
	unsigned max = requests ? FCONF_CONN_REQUESTS_MAX : FCONF_CONN_SECONDS_MAX;
	uint64_t n;
	if (!conf_value_uint(v, max, &n) || n == 0)
		return CERR("line %u: bad value for %s (1 to %u %s)", line, key, max, requests ? "requests" : "seconds");
	*(requests ? &c->max_conn_requests : &c->max_conn_seconds) = (unsigned)n;
	return 0;
}

static int fconf_cb(void *vctx, const char *section, const char *key, const char *v, unsigned line, char *err)
{
	static const char *const keys[] = { "listen", "database", "signer_socket", "profiles", "chain", "threads",
					    "max_body", "max_headers", "max_header_size", "timeout_seconds",
					    "tls_cert", "tls_key", "client_ca", "recover_after_seconds", "tls_listen",
					    "user", "max_inflight", "checkpoint_key", "checkpoint_seconds",
					    "checkpoint_cert", "db_timeout_seconds", "intent_key_file",
					    "intent_key_accept_file", "max_connections_per_address",
					    "max_connection_rate_per_address", "former_issuers", "max_connections",
					    "max_requests_per_connection", "max_connection_seconds",
					    "signer_profile_check", "sign_wait_seconds", "checkpoint_anchor_file" };
	_Static_assert(sizeof(keys) / sizeof(keys[0]) == FCONF_NKEYS, "key table and FCONF_KEY_* disagree");
	_Static_assert(FCONF_NKEYS <= 32, "ctx->seen holds a bit per key");
	struct fconf_ctx *ctx = vctx;
	struct fconfig *c = ctx->c;
	uint64_t n = 0;
	bool ok = false;
	unsigned idx = sizeof(keys) / sizeof(keys[0]);
	if (!key)
		return strcmp(section, "frontend") ? CERR("line %u: unknown section [%s]", line, section) : 0;
	if (strcmp(section, "frontend"))
		return CERR("line %u: key %s outside [frontend]", line, key);
	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i], key))
			idx = i;
	if (idx == sizeof(keys) / sizeof(keys[0]))
		return CERR("line %u: unknown key %s", line, key);
	if (ctx->seen & (1u << idx))
		return CERR("line %u: %s given twice", line, key);
	ctx->seen |= 1u << idx;
	ctx->line[idx] = line;
	switch (idx) {
	case 0: ok = fconf_listen(v, c->listen_addr, &c->listen_port); break;
	case 1: ok = conf_value_str(v, c->database, sizeof(c->database)); break;
	case 2: ok = conf_value_str(v, c->signer_socket, sizeof(c->signer_socket)); break;
	case 3: ok = conf_value_str(v, c->profiles, sizeof(c->profiles)); break;
	case 4: ok = conf_value_str(v, c->chain, sizeof(c->chain)); break;
	case 5: ok = conf_value_uint(v, 256, &n) && n > 0; c->threads = (unsigned)n; break;
	case 6: ok = conf_value_uint(v, FCONF_BODY_MAX_LIMIT, &n) && n >= 1024; c->max_body = n; break;
	case 7: ok = conf_value_uint(v, 256, &n) && n >= 8; c->max_headers = (unsigned)n; break;
	case 8: ok = conf_value_uint(v, 65536, &n) && n >= 1024; c->max_header_size = n; break;
	case 9: ok = conf_value_uint(v, 300, &n) && n > 0; c->timeout_seconds = (unsigned)n; break;
	case 10: ok = conf_value_str(v, c->tls_cert, sizeof(c->tls_cert)); break;
	case 11: ok = conf_value_str(v, c->tls_key, sizeof(c->tls_key)); break;
	case 12: ok = conf_value_str(v, c->client_ca, sizeof(c->client_ca)); break;
	case 13: ok = conf_value_uint(v, 3600, &n) && n > 0; c->recover_after_seconds = (unsigned)n; break;
	case 14: ok = fconf_listen(v, c->tls_addr, &c->tls_port); break;
	case 15: ok = fconf_user(v, c->user); break;
	case 16: ok = conf_value_uint(v, 1000000, &n) && n >= 1; c->max_inflight = (unsigned)n; break;
	case 17: ok = conf_value_str(v, c->checkpoint_key, sizeof(c->checkpoint_key)) && c->checkpoint_key[0]; break;
	case 18: ok = conf_value_uint(v, 86400, &n) && n >= 1; c->checkpoint_seconds = (unsigned)n; break;
	case 19: ok = conf_value_str(v, c->checkpoint_cert, sizeof(c->checkpoint_cert)) && c->checkpoint_cert[0]; break;
	case 20: ok = conf_value_uint(v, 3600, &n); c->db_timeout_seconds = (unsigned)n; break;
	case 21: ok = conf_value_str(v, c->intent_key_file, sizeof(c->intent_key_file)) && c->intent_key_file[0]; break;
	case 22:
		ok = conf_value_str(v, c->intent_key_accept_file, sizeof(c->intent_key_accept_file)) &&
		     c->intent_key_accept_file[0];
		break;
	case 23: ok = conf_value_uint(v, 1000000, &n); c->max_conns_per_address = (unsigned)n; break;
	case 24: ok = conf_value_uint(v, 1000000, &n); c->conn_rate_per_address = (unsigned)n; break;
	case 25: ok = conf_value_str(v, c->former_issuers, sizeof(c->former_issuers)) && c->former_issuers[0]; break;
	case 26: ok = conf_value_uint(v, 1000000, &n) && n >= 1; c->max_connections = (unsigned)n; break;
	case FCONF_KEY_CONN_REQUESTS: case FCONF_KEY_CONN_SECONDS: return fconf_conn_limit(c, idx, key, v, line, err);
	case FCONF_KEY_SIGN_WAIT:
		ok = conf_value_uint(v, FCONF_SIGN_WAIT_MAX, &n) && n >= 1;
		c->sign_wait_seconds = (unsigned)n;
		break;
	case FCONF_KEY_CHECKPOINT_ANCHOR:
		ok = conf_value_str(v, c->checkpoint_anchor_file, sizeof(c->checkpoint_anchor_file)) &&
		     c->checkpoint_anchor_file[0] == '/';
		if (!ok)
			return CERR("line %u: bad value for %s (an absolute path)", line, key);
		break;
	case FCONF_KEY_SIGNER_CHECK:
		ok = !strcmp(v, "refuse") || !strcmp(v, "warn");
		c->signer_check_warn = !strcmp(v, "warn");
		if (!ok)
			return CERR("line %u: bad value for %s (refuse or warn)", line, key);
		break;
	}
	return ok ? 0 : CERR("line %u: bad value for %s", line, key);
}

/* The listener keys depend on each other: name the line that needs what is missing. */
static int fconf_check_tls(const struct fconf_ctx *ctx, const char *path, char *err)
{
	const struct fconfig *c = ctx->c;
	const unsigned *line = ctx->line;
	if (!c->listen_port && !c->tls_port)
		return CERR("%s: listen (HTTP) or tls_listen (HTTPS) is required", path);
	if (c->tls_port && !c->tls_cert[0])
		return CERR("line %u: tls_listen needs tls_cert (the PEM certificate chain to serve)",
			    line[FCONF_KEY_TLS_LISTEN]);
	if (c->tls_port && !c->tls_key[0])
		return CERR("line %u: tls_listen needs tls_key (the certificate's private key)", line[FCONF_KEY_TLS_LISTEN]);
	if (!c->tls_port && c->tls_cert[0])
		return CERR("line %u: tls_cert without tls_listen (nothing would serve HTTPS)", line[FCONF_KEY_TLS_CERT]);
	if (!c->tls_port && c->tls_key[0])
		return CERR("line %u: tls_key without tls_listen (nothing would serve HTTPS)", line[FCONF_KEY_TLS_KEY]);
	if (!c->tls_port && c->client_ca[0])
		return CERR("line %u: client_ca needs tls_listen (client certificates only come over HTTPS)",
			    line[FCONF_KEY_CLIENT_CA]);
	if (c->tls_port && c->tls_port == c->listen_port && !strcmp(c->tls_addr, c->listen_addr))
		return CERR("line %u: tls_listen is the same address as listen (line %u)", line[FCONF_KEY_TLS_LISTEN],
			    line[FCONF_KEY_LISTEN]);
	if (line[FCONF_KEY_CHECKPOINT_SECONDS] && !c->checkpoint_key[0])
		return CERR("line %u: checkpoint_seconds without checkpoint_key (no key would sign the checkpoints)",
			    line[FCONF_KEY_CHECKPOINT_SECONDS]);
	if (line[FCONF_KEY_CHECKPOINT_CERT] && !c->checkpoint_key[0])
		return CERR("line %u: checkpoint_cert without checkpoint_key (no key would sign the checkpoints)",
			    line[FCONF_KEY_CHECKPOINT_CERT]);
	if (line[FCONF_KEY_CHECKPOINT_ANCHOR] && !c->checkpoint_key[0])
		return CERR("line %u: checkpoint_anchor_file without checkpoint_key (no key would sign the checkpoints)",
			    line[FCONF_KEY_CHECKPOINT_ANCHOR]);
	return 0;
}

static void fconfig_defaults(struct fconfig *out)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	memset(out, 0, sizeof(*out));
	/* a worker waits (two commits and a signature) far more than it computes: 32 by default, so 32
	 * concurrent clients do not queue behind a handful of workers (2 x CPUs capped this VM near 200/s) */
	out->threads = ncpu > 128 ? 256 : ncpu > 16 ? (unsigned)ncpu * 2 : 32; /* 256: the most a config may ask */
	out->max_body = 64 * 1024;
	out->max_headers = 64;
	out->max_header_size = 8192;
	out->timeout_seconds = 10;
	out->recover_after_seconds = 30;
	out->max_inflight = 4096;
	out->max_conns_per_address = 256;
	out->conn_rate_per_address = 100;
	out->max_conn_requests = 1000;
	out->max_conn_seconds = 600;
	out->checkpoint_seconds = 60;
	out->db_timeout_seconds = 30;
	out->sign_wait_seconds = FCONF_SIGN_WAIT_DEFAULT;
}

/* What no single line can say: required keys, and the keys that go together. */
static int fconfig_validate(const struct fconf_ctx *ctx, const char *path, char *err)
{
	const struct fconfig *out = ctx->c;
	if (!out->database[0] || !out->signer_socket[0] || !out->profiles[0] || !out->chain[0])
		return CERR("%s: database, signer_socket, profiles and chain are required", path);
	if (!out->intent_key_file[0])
		return CERR("%s: intent_key_file is required (the key that MACs stored intents: openssl rand -hex 32 > "
			    "FILE, chmod 600)", path);
	return fconf_check_tls(ctx, path, err);
}

/* A password in the database's conninfo (PQconninfoParse's "password"), however it is written there. */
static bool fconfig_has_password(const char *conninfo)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL), *o;
	bool found = false;
	for (o = opts; o && o->keyword; o++)
		if (!strcmp(o->keyword, "password") && o->val && o->val[0]) {
			found = true;
			OPENSSL_cleanse(o->val, strlen(o->val)); /* libpq's copy (its parse buffers it frees unwiped) */
		}
	PQconninfoFree(opts);
	return found;
}

int fconfig_load(const char *path, struct fconfig *out, char *err)
{
	struct fconf_ctx ctx = { .c = out };
	struct stat st;
	fconfig_defaults(out);
	int rc = conf_parse_file(path, fconf_cb, &ctx, err);
	if (rc || (rc = fconfig_validate(&ctx, path, err)))
		return rc;
	/* the file then holds a secret: as the intent key's file, no one but its owner may read it (quickstart's,
	 * peer-authenticated, holds none and is 0644) */
	if (fconfig_has_password(out->database) && (stat(path, &st) || (st.st_mode & (S_IRWXG | S_IRWXO))))
		return CERR("%s: database's conninfo holds a password, and group or others may read the file (chmod "
			    "600; or use peer authentication or a passfile)", path);
	return 0;
}

int fconfig_parse(const char *name, const char *text, size_t len, struct fconfig *out, char *err)
{
	struct fconf_ctx ctx = { .c = out };
	fconfig_defaults(out);
	int rc = conf_parse(text, len, fconf_cb, &ctx, err);
	return rc ? rc : fconfig_validate(&ctx, name, err);
}
