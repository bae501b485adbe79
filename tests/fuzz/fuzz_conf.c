/* fuzz_conf: the config reader (common/conf.c) every process runs at start-up. Each input is parsed with a
 * callback that accepts everything (reaches the end of every well-formed file) and with one that rejects keys
 * starting with 'x' (the caller-rejects path: its error code and message must come back unchanged). An input
 * without CR is parsed a third time with CRLF line ends, which must change nothing (conf.h: a CR before LF is
 * not part of the line, so the CONF_LINE_MAX limit is the same either way). Values go through the
 * conf_value_* helpers, checked against a plain reference. The text is passed as-is, without a NUL:
 * conf_parse takes a length. */
#include <stdio.h>
#include <stdlib.h>

#include "conf.h"
#include "fuzz_common.h"

#define FUZZ_CONF_REJECT HSMCA_ERR_CONFIG
#define FUZZ_CONF_MSG "fuzz: rejected"

struct fuzz_conf_ctx {
	unsigned last_line;
	unsigned n_calls;
	unsigned n_x_keys;
	bool reject_x;
};

static bool fuzz_conf_clean(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > CONF_LINE_MAX || s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
		return false;
	for (size_t i = 0; i < n; i++)
		if ((s[i] < 0x20 && s[i] != '\t') || s[i] > 0x7e || s[i] == '#')
			return false;
	return true;
}

/* Reference for conf_value_uint with max UINT64_MAX: 1..20 decimal digits whose value fits in 64 bits. */
static bool fuzz_conf_ref_uint(const char *v, uint64_t *out)
{
	uint64_t r = 0;
	size_t n = strlen(v);
	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9' || __builtin_mul_overflow(r, 10, &r) ||
		    __builtin_add_overflow(r, (uint64_t)(v[i] - '0'), &r))
			return false;
	}
	*out = r;
	return true;
}

static int fuzz_conf_cb(void *ctx_, const char *section, const char *key, const char *value, unsigned line,
			char *err)
{
	struct fuzz_conf_ctx *ctx = ctx_;
	uint64_t u = 0, ref;
	bool b;
	char buf[32];
	FUZZ_CHECK(section && err && line >= 1 && line >= ctx->last_line);
	ctx->last_line = line;
	ctx->n_calls++;
	FUZZ_CHECK((key == NULL) == (value == NULL));
	if (!key) {
		FUZZ_CHECK(fuzz_conf_clean(section)); /* a header names a non-empty section */
		return 0;
	}
	FUZZ_CHECK(section[0] == 0 || fuzz_conf_clean(section));
	FUZZ_CHECK(fuzz_conf_clean(key) && fuzz_conf_clean(value));
	for (const char *k = key; *k; k++)
		FUZZ_CHECK((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_' || *k == '-' || *k == '.');
	/* the value helpers callers use */
	bool want = fuzz_conf_ref_uint(value, &ref);
	FUZZ_CHECK(conf_value_uint(value, UINT64_MAX, &u) == want && (!want || u == ref));
	if (want)
		FUZZ_CHECK(conf_value_uint(value, ref, &u) && u == ref && (ref == 0 || !conf_value_uint(value, ref - 1, &u)));
	if (conf_value_bool(value, &b))
		FUZZ_CHECK(strlen(value) <= 5);
	FUZZ_CHECK(conf_value_str(value, buf, sizeof(buf)) == (strlen(value) < sizeof(buf)));
	if (key[0] == 'x') {
		ctx->n_x_keys++;
		if (ctx->reject_x) {
			snprintf(err, CONF_ERR_MAX, FUZZ_CONF_MSG);
			return FUZZ_CONF_REJECT;
		}
	}
	return 0;
}

/* The same text with CRLF line ends must parse the same way: same result, same message, same callbacks. */
static void fuzz_conf_crlf(const uint8_t *data, size_t size, int rc_lf, const struct fuzz_conf_ctx *lf,
			   const char *err_lf)
{
	struct fuzz_conf_ctx crlf = { 0 };
	char err_crlf[CONF_ERR_MAX];
	size_t n = 0;
	if (memchr(data, '\r', size) || size > CONF_FILE_MAX / 2)
		return; /* only a CR-free text converts cleanly, and the doubled text must stay under the limit */
	char *text = malloc(2 * size + 1);
	FUZZ_CHECK(text != NULL);
	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n')
			text[n++] = '\r';
		text[n++] = (char)data[i];
	}
	int rc_crlf = conf_parse(text, n, fuzz_conf_cb, &crlf, err_crlf);
	FUZZ_CHECK(rc_crlf == rc_lf && crlf.n_calls == lf->n_calls && strcmp(err_crlf, err_lf) == 0);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_conf_ctx all = { 0 }, rej = { .reject_x = true };
	char err[CONF_ERR_MAX], err_all[CONF_ERR_MAX];
	int rc_all, rc_rej;

	memset(err, 'E', sizeof(err));
	rc_all = conf_parse((const char *)data, size, fuzz_conf_cb, &all, err);
	FUZZ_CHECK(rc_all <= 0);
	FUZZ_CHECK(strnlen(err, CONF_ERR_MAX) < CONF_ERR_MAX);
	FUZZ_CHECK(rc_all == 0 ? err[0] == 0 : err[0] != 0);
	FUZZ_CHECK(size <= CONF_FILE_MAX || rc_all == HSMCA_ERR_LIMIT);
	memcpy(err_all, err, sizeof(err));

	memset(err, 'E', sizeof(err));
	rc_rej = conf_parse((const char *)data, size, fuzz_conf_cb, &rej, err);
	FUZZ_CHECK(strnlen(err, CONF_ERR_MAX) < CONF_ERR_MAX);
	if (rej.n_x_keys > 0) {
		/* stopped at the first x key, with our code and message */
		FUZZ_CHECK(rej.n_x_keys == 1 && rc_rej == FUZZ_CONF_REJECT && strcmp(err, FUZZ_CONF_MSG) == 0);
		FUZZ_CHECK(all.n_x_keys >= 1 && rej.n_calls <= all.n_calls);
	} else {
		/* nothing to reject: both runs see the same file the same way */
		FUZZ_CHECK(rc_rej == rc_all && rej.n_calls == all.n_calls && all.n_x_keys == 0);
	}
	fuzz_conf_crlf(data, size, rc_all, &all, err_all);
	return 0;
}
