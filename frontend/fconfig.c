#include "fconfig.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

#define CERR(...) (snprintf(err, CONF_ERR_MAX, __VA_ARGS__), HSMCA_ERR_CONFIG)
#define FCONF_BODY_MAX_LIMIT (1024u * 1024u)

struct fconf_ctx {
	struct fconfig *c;
	unsigned seen;
};

static bool fconf_listen(const char *v, struct fconfig *c)
{
	const char *colon = strrchr(v, ':');
	uint64_t port;
	if (!colon || colon == v || (size_t)(colon - v) >= sizeof(c->listen_addr) ||
	    !conf_value_uint(colon + 1, 65535, &port) || port == 0)
		return false;
	memcpy(c->listen_addr, v, (size_t)(colon - v));
	c->listen_addr[colon - v] = 0;
	c->listen_port = (unsigned)port;
	return true;
}

static int fconf_cb(void *vctx, const char *section, const char *key, const char *v, unsigned line, char *err)
{
	static const char *const keys[] = { "listen", "database", "signer_socket", "profiles", "chain", "threads",
					    "max_body", "max_headers", "max_header_size", "timeout_seconds",
					    "tls_cert", "tls_key", "client_ca", "recover_after_seconds" };
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
	switch (idx) {
	case 0: ok = fconf_listen(v, c); break;
	case 1: ok = conf_value_str(v, c->database, sizeof(c->database)); break;
	case 2: ok = conf_value_str(v, c->signer_socket, sizeof(c->signer_socket)); break;
	case 3: ok = conf_value_str(v, c->profiles, sizeof(c->profiles)); break;
	case 4: ok = conf_value_str(v, c->chain, sizeof(c->chain)); break;
	case 5: ok = conf_value_uint(v, 64, &n) && n > 0; c->threads = (unsigned)n; break;
	case 6: ok = conf_value_uint(v, FCONF_BODY_MAX_LIMIT, &n) && n >= 1024; c->max_body = n; break;
	case 7: ok = conf_value_uint(v, 256, &n) && n >= 8; c->max_headers = (unsigned)n; break;
	case 8: ok = conf_value_uint(v, 65536, &n) && n >= 1024; c->max_header_size = n; break;
	case 9: ok = conf_value_uint(v, 300, &n) && n > 0; c->timeout_seconds = (unsigned)n; break;
	case 10: ok = conf_value_str(v, c->tls_cert, sizeof(c->tls_cert)); break;
	case 11: ok = conf_value_str(v, c->tls_key, sizeof(c->tls_key)); break;
	case 12: ok = conf_value_str(v, c->client_ca, sizeof(c->client_ca)); break;
	case 13: ok = conf_value_uint(v, 3600, &n) && n > 0; c->recover_after_seconds = (unsigned)n; break;
	}
	return ok ? 0 : CERR("line %u: bad value for %s", line, key);
}

int fconfig_load(const char *path, struct fconfig *out, char *err)
{
	struct fconf_ctx ctx = { out, 0 };
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int rc;
	memset(out, 0, sizeof(*out));
	out->threads = ncpu < 2 ? 2 : (unsigned)ncpu * 2;
	out->max_body = 64 * 1024;
	out->max_headers = 64;
	out->max_header_size = 8192;
	out->timeout_seconds = 10;
	out->recover_after_seconds = 30;
	rc = conf_parse_file(path, fconf_cb, &ctx, err);
	if (rc)
		return rc;
	if (!out->listen_port || !out->database[0] || !out->signer_socket[0] || !out->profiles[0] || !out->chain[0])
		return CERR("%s: listen, database, signer_socket, profiles and chain are required", path);
	if (!out->tls_cert[0] != !out->tls_key[0])
		return CERR("%s: tls_cert and tls_key go together", path);
	if (out->client_ca[0] && !out->tls_cert[0])
		return CERR("%s: client_ca needs TLS (tls_cert, tls_key)", path);
	return 0;
}
