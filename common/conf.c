#include "conf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *conf_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = 0;
	return s;
}

static bool conf_key_ok(const char *k)
{
	if (!*k)
		return false;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_' || *k == '-' || *k == '.'))
			return false;
	return true;
}

static int conf_line(char *line, unsigned lineno, char *section, conf_cb cb, void *ctx, char *err)
{
	char *s = conf_trim(line);
	if (!*s || *s == '#')
		return 0;
	if (strchr(s, '#')) { /* cutting there would silently change a value ("/O=Acme #2/CN=..." -> "/O=Acme") */
		snprintf(err, CONF_ERR_MAX, "line %u: '#' after the start of the line (a comment takes a line of its own, "
			 "and no value may hold a '#')", lineno);
		return HSMCA_ERR_CONFIG;
	}
	if (*s == '[') {
		size_t n = strlen(s);
		if (s[n - 1] != ']' || n < 3) {
			snprintf(err, CONF_ERR_MAX, "line %u: malformed section header", lineno);
			return HSMCA_ERR_CONFIG;
		}
		s[n - 1] = 0;
		char *name = conf_trim(s + 1);
		if (!*name || strlen(name) >= CONF_LINE_MAX) {
			snprintf(err, CONF_ERR_MAX, "line %u: empty section name", lineno);
			return HSMCA_ERR_CONFIG;
		}
		memmove(section, name, strlen(name) + 1);
		return cb(ctx, section, NULL, NULL, lineno, err);
	}
	char *eq = strchr(s, '=');
	if (!eq) {
		snprintf(err, CONF_ERR_MAX, "line %u: expected key = value", lineno);
		return HSMCA_ERR_CONFIG;
	}
	*eq = 0;
	char *key = conf_trim(s), *val = conf_trim(eq + 1);
	if (!conf_key_ok(key)) {
		snprintf(err, CONF_ERR_MAX, "line %u: bad key name", lineno);
		return HSMCA_ERR_CONFIG;
	}
	if (!*val) {
		snprintf(err, CONF_ERR_MAX, "line %u: key %s has an empty value", lineno, key);
		return HSMCA_ERR_CONFIG;
	}
	return cb(ctx, section, key, val, lineno, err);
}

int conf_parse(const char *text, size_t len, conf_cb cb, void *ctx, char *err)
{
	char line[CONF_LINE_MAX + 1], section[CONF_LINE_MAX + 1] = "";
	unsigned lineno = 0;
	size_t pos = 0, n = 0;
	int rc = 0;
	err[0] = 0;
	if (len > CONF_FILE_MAX) {
		snprintf(err, CONF_ERR_MAX, "file larger than %u bytes", CONF_FILE_MAX);
		return HSMCA_ERR_LIMIT;
	}
	while (!rc && pos < len) {
		lineno++;
		while (pos < len && text[pos] != '\n') {
			unsigned char c = (unsigned char)text[pos++];
			if (c == '\r' && (pos == len || text[pos] == '\n'))
				continue; /* CRLF: the CR is not part of the line */
			if (n >= CONF_LINE_MAX) {
				snprintf(err, CONF_ERR_MAX, "line %u: longer than %u bytes", lineno, CONF_LINE_MAX);
				rc = HSMCA_ERR_LIMIT;
				goto out;
			}
			if ((c < 0x20 && c != '\t') || c > 0x7e) {
				snprintf(err, CONF_ERR_MAX, "line %u: non-printable byte", lineno);
				rc = HSMCA_ERR_PARSE;
				goto out;
			}
			line[n++] = (char)c;
		}
		pos++; /* the newline */
		line[n] = 0;
		rc = conf_line(line, lineno, section, cb, ctx, err);
		/* a line may hold a secret (a key, a password in a conninfo): none outlives its callback */
		explicit_bzero(line, n + 1);
		n = 0;
	}
out:
	explicit_bzero(line, n);
	return rc;
}

int conf_read_file(const char *path, char **out, size_t *out_len, char *err)
{
	int rc = HSMCA_ERR_IO, fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t len = 0;
	*out = NULL;
	*out_len = 0;
	if (fd < 0) {
		snprintf(err, CONF_ERR_MAX, "%s: %s", path, strerror(errno));
		return HSMCA_ERR_IO;
	}
	buf = malloc(CONF_FILE_MAX + 1);
	if (!buf) {
		rc = HSMCA_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, CONF_FILE_MAX + 1 - len);
		if (r < 0) {
			snprintf(err, CONF_ERR_MAX, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > CONF_FILE_MAX) {
			snprintf(err, CONF_ERR_MAX, "%s: larger than %u bytes", path, CONF_FILE_MAX);
			rc = HSMCA_ERR_LIMIT;
			goto out;
		}
	}
	*out = buf;
	*out_len = len;
	buf = NULL;
	rc = 0;
out:
	conf_file_free(buf, len);
	close(fd);
	return rc;
}

void conf_file_free(char *buf, size_t len)
{
	if (buf) /* the file may hold secrets */
		explicit_bzero(buf, len);
	free(buf);
}

int conf_parse_file(const char *path, conf_cb cb, void *ctx, char *err)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = conf_read_file(path, &buf, &len, err);
	if (rc == 0)
		rc = conf_parse(buf, len, cb, ctx, err);
	conf_file_free(buf, len);
	return rc;
}

bool conf_value_uint(const char *v, uint64_t max, uint64_t *out)
{
	uint64_t r = 0;
	if (!*v || strlen(v) > 20)
		return false;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return false;
		uint64_t d = (uint64_t)(*v - '0');
		if (r > (UINT64_MAX - d) / 10)
			return false;
		r = r * 10 + d;
	}
	if (r > max)
		return false;
	*out = r;
	return true;
}

bool conf_value_bool(const char *v, bool *out)
{
	if (!strcmp(v, "yes") || !strcmp(v, "true")) {
		*out = true;
		return true;
	}
	if (!strcmp(v, "no") || !strcmp(v, "false")) {
		*out = false;
		return true;
	}
	return false;
}

bool conf_value_str(const char *v, char *out, size_t out_len)
{
	size_t n = strlen(v);
	if (n >= out_len)
		return false;
	memcpy(out, v, n + 1);
	return true;
}

bool conf_value_hex(const char *v, uint8_t *out, size_t len)
{
	if (strlen(v) != 2 * len)
		return false;
	for (size_t i = 0; i < 2 * len; i++) {
		char ch = v[i];
		int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
			 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
		if (d < 0)
			return false;
		out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] << 4 | d : d);
	}
	return true;
}

int conf_list_next(struct conf_list *l, char *item, size_t max)
{
	const char *p = l->p;
	while (*p == ' ')
		p++;
	if (*p == ',') {
		if (!l->started)
			return HSMCA_ERR_CONFIG; /* ",x" */
		p++;
		while (*p == ' ')
			p++;
		if (!*p || *p == ',')
			return HSMCA_ERR_CONFIG; /* "x,", "x,,y" */
	}
	if (!*p)
		return 0;
	size_t n = strcspn(p, ", ");
	if (n >= max)
		return HSMCA_ERR_LIMIT;
	memcpy(item, p, n);
	item[n] = '\0';
	l->p = p + n;
	l->started = true;
	return 1;
}
