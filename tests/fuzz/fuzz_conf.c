/* fuzz_conf: the config reader (common/conf.c) every process runs at start-up. Each input is parsed twice:
 * once with a callback that accepts everything (reaches the end of every well-formed file) and once with one
 * that rejects keys starting with 'x' (the caller-rejects path: its error code and message must come back
 * unchanged). The text is passed as-is, without a NUL: conf_parse takes a length. */
#include <stdio.h>

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

static int fuzz_conf_cb(void *ctx_, const char *section, const char *key, const char *value, unsigned line,
			char *err)
{
	struct fuzz_conf_ctx *ctx = ctx_;
	uint64_t u;
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
	if (conf_value_uint(value, UINT64_MAX, &u)) {
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)u);
		FUZZ_CHECK(strcmp(buf, value) == 0 || value[0] == '0');
	}
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_conf_ctx all = { 0 }, rej = { .reject_x = true };
	char err[CONF_ERR_MAX];
	int rc_all, rc_rej;

	memset(err, 'E', sizeof(err));
	rc_all = conf_parse((const char *)data, size, fuzz_conf_cb, &all, err);
	FUZZ_CHECK(rc_all <= 0);
	FUZZ_CHECK(strnlen(err, CONF_ERR_MAX) < CONF_ERR_MAX);
	FUZZ_CHECK(rc_all == 0 ? err[0] == 0 : err[0] != 0);
	FUZZ_CHECK(size <= CONF_FILE_MAX || rc_all == HSMCA_ERR_LIMIT);

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
	return 0;
}
