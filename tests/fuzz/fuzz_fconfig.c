/* fuzz_fconfig: fconfig_parse (frontend/fconfig.c), the frontend's config file with its real key callback
 * (fconf_cb: the addr:port splitter of listen and tls_listen, the user-name rule, the number bounds) and the
 * checks across keys; fconfig_load reads the file and parses it the same way. Nothing here touches the
 * filesystem or the network: paths are only strings to the parser.
 *
 * A refusal is CONFIG, LIMIT or PARSE with a message; an acceptance has the required keys, at least one
 * listener, HTTPS with its certificate and key, numbers within their bounds, and listen, tls_listen and user
 * exactly as an independent reading of their rules splits or takes the raw values, which a recording callback
 * gets from conf_parse on the same text; a refusal of one of those values ("bad value for KEY") comes exactly when
 * the independent reading refuses it. */
#include <stdio.h>
#include <stdlib.h>

#include "conf.h"
#include "fconfig.h"
#include "fuzz_common.h"

#define FUZZ_FCONF_PORT_MAX 65535u
#define FUZZ_FCONF_USER_MAX_CHARS 32u

/* The raw values of the keys checked against a reference: the first of each in [frontend], which is the one
 * fconf_cb judges (a repeat is refused as such before its value is looked at). */
struct fuzz_fconf_raw {
	char listen[CONF_LINE_MAX + 1], tls_listen[CONF_LINE_MAX + 1], user[CONF_LINE_MAX + 1];
	bool has_listen, has_tls_listen, has_user;
};

static int fuzz_fconf_record(void *ctx_, const char *section, const char *key, const char *value, unsigned line,
			     char *err)
{
	struct fuzz_fconf_raw *r = ctx_;
	(void)line;
	(void)err;
	if (!key || strcmp(section, "frontend") != 0)
		return 0;
	if (!strcmp(key, "listen") && !r->has_listen) {
		snprintf(r->listen, sizeof(r->listen), "%s", value);
		r->has_listen = true;
	} else if (!strcmp(key, "tls_listen") && !r->has_tls_listen) {
		snprintf(r->tls_listen, sizeof(r->tls_listen), "%s", value);
		r->has_tls_listen = true;
	} else if (!strcmp(key, "user") && !r->has_user) {
		snprintf(r->user, sizeof(r->user), "%s", value);
		r->has_user = true;
	}
	return 0;
}

/* "ADDR:PORT": the last colon splits; ADDR 1..FCONF_ADDR_MAX-1 bytes, PORT 1..20 decimal digits worth
 * 1..65535 (leading zeros allowed, as conf_value_uint allows them). */
static bool fuzz_fconf_ref_listen(const char *v, char addr[FCONF_ADDR_MAX], unsigned *port)
{
	const char *colon = strrchr(v, ':');
	uint64_t p = 0;
	size_t digits = 0;
	if (!colon || colon == v || (size_t)(colon - v) >= FCONF_ADDR_MAX)
		return false;
	for (const char *d = colon + 1; *d; d++, digits++) {
		if (*d < '0' || *d > '9' || digits >= 20)
			return false;
		p = p * 10 + (uint64_t)(*d - '0');
		if (p > FUZZ_FCONF_PORT_MAX)
			return false;
	}
	if (digits == 0 || p == 0)
		return false;
	memcpy(addr, v, (size_t)(colon - v));
	addr[colon - v] = 0;
	*port = (unsigned)p;
	return true;
}

/* POSIX portable user name: [a-z_][a-z0-9_-]*, 1..32 characters */
static bool fuzz_fconf_ref_user(const char *v)
{
	size_t n = strlen(v);
	if (n == 0 || n > FUZZ_FCONF_USER_MAX_CHARS)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		bool lower = c >= 'a' && c <= 'z', digit = c >= '0' && c <= '9';
		if (!(lower || c == '_' || (i > 0 && (digit || c == '-'))))
			return false;
	}
	return true;
}

static void fuzz_fconf_accepted(const struct fconfig *c, const struct fuzz_fconf_raw *raw)
{
	char addr[FCONF_ADDR_MAX];
	unsigned port = 0;
	FUZZ_CHECK(c->database[0] && c->signer_socket[0] && c->profiles[0] && c->chain[0] && c->intent_key_file[0]);
	FUZZ_CHECK(c->listen_port || c->tls_port);
	FUZZ_CHECK(!c->tls_port || (c->tls_cert[0] && c->tls_key[0]));
	FUZZ_CHECK(c->tls_port || (!c->tls_cert[0] && !c->tls_key[0] && !c->client_ca[0]));
	FUZZ_CHECK(!c->tls_port || c->tls_port != c->listen_port || strcmp(c->tls_addr, c->listen_addr) != 0);
	FUZZ_CHECK(c->threads >= 1 && c->max_body >= 1024 && c->max_body <= 1024 * 1024 && c->max_headers >= 8 &&
		   c->max_headers <= 256 && c->max_header_size >= 1024 && c->max_header_size <= 65536 &&
		   c->timeout_seconds >= 1 && c->timeout_seconds <= 300 && c->max_inflight >= 1 &&
		   c->recover_after_seconds >= 1 && c->recover_after_seconds <= 3600 && c->checkpoint_seconds >= 1 &&
		   c->checkpoint_seconds <= 86400 && c->db_timeout_seconds <= 3600 && c->max_conn_requests >= 1 &&
		   c->max_conn_requests <= 100000 && c->max_conn_seconds >= 1 && c->max_conn_seconds <= 86400 &&
		   c->sign_wait_seconds >= 1 && c->sign_wait_seconds <= 480);
	FUZZ_CHECK(raw->has_listen == (c->listen_port != 0) && raw->has_tls_listen == (c->tls_port != 0));
	if (raw->has_listen)
		FUZZ_CHECK(fuzz_fconf_ref_listen(raw->listen, addr, &port) && port == c->listen_port &&
			   strcmp(addr, c->listen_addr) == 0);
	else
		FUZZ_CHECK(c->listen_addr[0] == 0);
	if (raw->has_tls_listen)
		FUZZ_CHECK(fuzz_fconf_ref_listen(raw->tls_listen, addr, &port) && port == c->tls_port &&
			   strcmp(addr, c->tls_addr) == 0);
	else
		FUZZ_CHECK(c->tls_addr[0] == 0);
	FUZZ_CHECK(raw->has_user ? fuzz_fconf_ref_user(raw->user) && strcmp(raw->user, c->user) == 0 : c->user[0] == 0);
}

/* A refusal that names one of the referenced keys' values: the reference refuses that value too. */
static void fuzz_fconf_refused(const char *err, const struct fuzz_fconf_raw *raw)
{
	char key[CONF_LINE_MAX + 1], addr[FCONF_ADDR_MAX];
	unsigned line, port;
	int end = 0;
	if (sscanf(err, "line %u: bad value for %1024s%n", &line, key, &end) != 2 || err[end] != 0)
		return;
	if (!strcmp(key, "listen"))
		FUZZ_CHECK(raw->has_listen && !fuzz_fconf_ref_listen(raw->listen, addr, &port));
	else if (!strcmp(key, "tls_listen"))
		FUZZ_CHECK(raw->has_tls_listen && !fuzz_fconf_ref_listen(raw->tls_listen, addr, &port));
	else if (!strcmp(key, "user"))
		FUZZ_CHECK(raw->has_user && !fuzz_fconf_ref_user(raw->user));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fconfig c; /* large: keep it off the stack */
	static struct fuzz_fconf_raw raw;
	char err[CONF_ERR_MAX], rerr[CONF_ERR_MAX];

	memset(err, 'E', sizeof(err));
	int rc = fconfig_parse("fuzz.conf", (const char *)data, size, &c, err);
	FUZZ_CHECK(strnlen(err, CONF_ERR_MAX) < CONF_ERR_MAX);
	memset(&raw, 0, sizeof(raw));
	int rrc = conf_parse((const char *)data, size, fuzz_fconf_record, &raw, rerr);
	if (rc != 0) {
		FUZZ_CHECK((rc == HSMCA_ERR_CONFIG || rc == HSMCA_ERR_LIMIT || rc == HSMCA_ERR_PARSE) && err[0] != 0);
		/* a line too long or a byte not printable: the reader refuses it whatever the callback */
		FUZZ_CHECK(rc == HSMCA_ERR_CONFIG || (rrc == rc && strcmp(err, rerr) == 0));
		if (rc == HSMCA_ERR_CONFIG && rrc == 0)
			fuzz_fconf_refused(err, &raw);
		return 0;
	}
	FUZZ_CHECK(err[0] == 0 && rrc == 0);
	fuzz_fconf_accepted(&c, &raw);
	return 0;
}
