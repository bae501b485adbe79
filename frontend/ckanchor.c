/* The audit checkpoints' anchor file (ckanchor.h): a strict one-line parser and a durable replace. */
#include "ckanchor.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "frame.h"
#include "readall.h"
#include "span.h"

#define CKANCHOR_ROW_DIGITS_MAX 19 /* INT64_MAX has 19 digits */
#define WHY(...) (snprintf(why, CONF_ERR_MAX, __VA_ARGS__), HSMCA_ERR_PARSE)

static int ckanchor_hexval(uint8_t c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int ckanchor_parse_into(const uint8_t *buf, size_t len, struct ckanchor *out, char *why)
{
	size_t i = 0, start;
	uint64_t row = 0;
	memset(out, 0, sizeof(*out));
	if (len == 0 || len > CKANCHOR_MAX || buf[len - 1] != '\n')
		return WHY("not one line of at most %d bytes ending in a newline", CKANCHOR_MAX);
	len--; /* the line without its '\n' */
	for (start = i; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
		if (i - start == CKANCHOR_ROW_DIGITS_MAX || (i == start && buf[i] == '0'))
			return WHY("the row is not a number from 1 to 2^63-1 without leading zeros");
		uint64_t next = row * 10 + (uint64_t)(buf[i] - '0');
		if (next > (uint64_t)INT64_MAX)
			return WHY("the row is not a number from 1 to 2^63-1 without leading zeros");
		row = next;
	}
	if (i == start || i >= len || buf[i] != ':')
		return WHY("not ROW:HEX LABEL (the row, then ':')");
	i++;
	for (size_t k = 0; k < DB_AUDIT_HASH_LEN; k++, i += 2) {
		int hi = i + 1 < len ? ckanchor_hexval(buf[i]) : -1, lo = hi >= 0 ? ckanchor_hexval(buf[i + 1]) : -1;
		if (hi < 0 || lo < 0)
			return WHY("the hash is not %d lowercase hex digits", 2 * DB_AUDIT_HASH_LEN);
		out->hash[k] = (uint8_t)(hi << 4 | lo);
	}
	if (i >= len || buf[i] != ' ')
		return WHY("not ROW:HEX LABEL (a space after the hash, then the key's label)");
	i++;
	struct span label = span_make(buf + i, len - i);
	if (label.len == 0 || label.len >= FCONF_LABEL_MAX || !frame_label_ok(label) || memchr(label.data, '\n', label.len))
		return WHY("the key's label is not a signer key label (printable ASCII without spaces, shorter than %d)",
			   FCONF_LABEL_MAX);
	memcpy(out->label, label.data, label.len);
	out->label[label.len] = '\0';
	out->audit_id = (int64_t)row;
	return 0;
}

int ckanchor_parse(const uint8_t *buf, size_t len, struct ckanchor *out, char *why)
{
	int rc = ckanchor_parse_into(buf, len, out, why);
	if (rc)
		memset(out, 0, sizeof(*out)); /* nothing half-parsed */
	return rc;
}

int ckanchor_read(const char *path, struct ckanchor *out, char *why)
{
	uint8_t buf[CKANCHOR_MAX + 1];
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc;
	if (fd < 0) {
		if (errno == ENOENT)
			return HSMCA_ERR_NOTFOUND;
		snprintf(why, CONF_ERR_MAX, "%s: %s", path, strerror(errno));
		return HSMCA_ERR_IO;
	}
	rc = readall_fd(fd, buf, CKANCHOR_MAX, false, &n);
	close(fd);
	if (rc) {
		snprintf(why, CONF_ERR_MAX, "%s: %s", path, rc == HSMCA_ERR_LIMIT ? "longer than an anchor line" : "cannot be read");
		return rc == HSMCA_ERR_LIMIT ? HSMCA_ERR_PARSE : rc;
	}
	char inner[CONF_ERR_MAX];
	if ((rc = ckanchor_parse(buf, n, out, inner))) {
		snprintf(why, CONF_ERR_MAX, "%s: %s", path, inner);
		return rc;
	}
	return 0;
}

/* Syncs the directory path is in (the rename is durable only then). */
static int ckanchor_sync_dir(const char *path)
{
	char copy[FCONF_PATH_MAX];
	snprintf(copy, sizeof(copy), "%s", path);
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;
	if (fd < 0 || fsync(fd) != 0)
		rc = HSMCA_ERR_IO;
	if (fd >= 0)
		close(fd);
	return rc;
}

int ckanchor_write(const char *path, const struct ckanchor *a, char *why)
{
	char tmp[FCONF_PATH_MAX + 32], line[CKANCHOR_MAX + 1], hex[2 * DB_AUDIT_HASH_LEN + 1];
	span_hex(a->hash, DB_AUDIT_HASH_LEN, hex);
	int n = snprintf(line, sizeof(line), "%lld:%s %s\n", (long long)a->audit_id, hex, a->label);
	if (n <= 0 || (size_t)n > CKANCHOR_MAX || snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof(tmp)) {
		snprintf(why, CONF_ERR_MAX, "%s: the line or the path is too long", path);
		return HSMCA_ERR_IO;
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600), e = errno;
	const char *step = fd < 0 ? "open" : NULL;
	if (fd >= 0) {
		step = write(fd, line, (size_t)n) != n ? "write" : fsync(fd) != 0 ? "fsync" : NULL;
		e = errno;
		if (close(fd) != 0 && !step)
			step = "close", e = errno;
		if (!step && rename(tmp, path) != 0)
			step = "rename", e = errno;
		if (!step && ckanchor_sync_dir(path) != 0)
			step = "renamed into place, but its directory not synced", e = errno;
		if (step && strcmp(step, "renamed into place, but its directory not synced") != 0)
			(void)unlink(tmp);
	}
	if (step) {
		snprintf(why, CONF_ERR_MAX, "%s: %s: %s", tmp, step, strerror(e));
		return HSMCA_ERR_IO;
	}
	return 0;
}
