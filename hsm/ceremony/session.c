/* Opening the token for a ceremony, custodians' passphrases, and files that are never overwritten. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ceremony.h"
#include "passline.h"
#include "readall.h"
#include "secmem.h"
#include "ttyline.h"

int cer_path_free(const char *path, const char *what)
{
	char dir[CER_PATH_MAX];
	struct stat st;
	const char *slash = strrchr(path, '/');
	size_t dl = slash ? (size_t)(slash - path) : 1;
	if (lstat(path, &st) == 0 || errno != ENOENT) {
		fprintf(stderr, "ceremony: %s %s exists (%s are never overwritten)\n", what, path,
			strcmp(what, "transcript") == 0 ? "transcripts" : "outputs");
		return HSMCA_ERR_EXISTS;
	}
	if (dl >= sizeof(dir))
		return HSMCA_ERR_LIMIT;
	if (!slash)
		memcpy(dir, ".", 2);
	else if (dl == 0)
		memcpy(dir, "/", 2);
	else {
		memcpy(dir, path, dl);
		dir[dl] = '\0';
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0) {
		fprintf(stderr, "ceremony: %s %s cannot be written: %s is not a writable directory\n", what, path, dir);
		return HSMCA_ERR_IO;
	}
	return 0;
}

int cer_write_new(const char *path, const void *data, size_t len, int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		int e = errno; /* fprintf may change it */
		fprintf(stderr, "ceremony: %s: %s%s\n", path, strerror(e), e == EEXIST ? " (outputs are never overwritten)" : "");
		return e == EEXIST ? HSMCA_ERR_EXISTS : HSMCA_ERR_IO;
	}
	const uint8_t *p = data;
	size_t done = 0;
	int e = 0;
	while (done < len && !e) { /* a short write is continued, not taken for the whole */
		ssize_t w = write(fd, p + done, len - done);
		if (w > 0)
			done += (size_t)w;
		else if (w == 0 || errno != EINTR)
			e = w == 0 ? EIO : errno;
	}
	if (!e && fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && !e) /* closed whatever happened */
		e = errno;
	if (e) {
		fprintf(stderr, "ceremony: %s: cannot write it whole: %s (removed)\n", path, strerror(e));
		unlink(path);
		return HSMCA_ERR_IO;
	}
	return 0;
}

/* path into buf (max + 1 bytes): a regular file whole; a pipe, FIFO or terminal (/dev/stdin, <(...)) to its
 * end or, with line, to its first line end (readall_fd) */
static int cer_read_path(const char *path, uint8_t *buf, size_t max, size_t *out_len, bool line)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return HSMCA_ERR_NOTFOUND;
	int rc = readall_fd(fd, buf, max, line && fstat(fd, &st) == 0 && !S_ISREG(st.st_mode), out_len);
	close(fd);
	return rc;
}

int cer_read_small(const char *path, uint8_t *buf, size_t max, size_t *out_len)
{
	return cer_read_path(path, buf, max, out_len, false);
}

static int cer_prompt(const char *prompt, char *out, size_t max, size_t *out_len)
{
	int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (tty < 0)
		return HSMCA_ERR_IO;
	int rc = ttyline_read(tty, tty, prompt, out, max, out_len);
	close(tty);
	if (rc == HSMCA_ERR_STATE)
		fprintf(stderr, "ceremony: cannot turn echo off on the terminal: give the passphrase in a file\n");
	return rc;
}

int cer_passphrase(const char *dir, const char *name, const char *file, bool confirm, char *out, size_t max,
		   size_t *out_len)
{
	char path[CER_PATH_MAX], prompt[128];
	int rc;
	if (file || dir) {
		if (!file)
			snprintf(path, sizeof(path), "%s/%s.pass", dir, name);
		rc = cer_read_path(file ? file : path, (uint8_t *)out, max, out_len, true);
	} else {
		char *again = secmem_alloc(max + 1);
		size_t again_len = 0;
		snprintf(prompt, sizeof(prompt), "passphrase for %s: ", name);
		rc = again ? cer_prompt(prompt, out, max, out_len) : HSMCA_ERR_NOMEM;
		if (!rc && confirm) {
			snprintf(prompt, sizeof(prompt), "again, for %s: ", name);
			rc = cer_prompt(prompt, again, max, &again_len);
			if (!rc && (again_len != *out_len || memcmp(again, out, again_len) != 0))
				rc = HSMCA_ERR_AUTH;
		}
		secmem_free(again, max + 1);
	}
	if (rc == HSMCA_ERR_LIMIT) /* cut, never taken in part */
		fprintf(stderr, "ceremony: the passphrase for %s is longer than %zu bytes\n", name, max);
	if (rc)
		return rc;
	size_t n = *out_len;
	if (passline_len((const uint8_t *)out, n, out_len)) {
		if (confirm) { /* sealing: a note on a second line would become part of the passphrase */
			explicit_bzero(out, n);
			fprintf(stderr, "ceremony: the passphrase for %s is not one line (a second line, a NUL or a "
					"bare CR)\n", name);
			return HSMCA_ERR_PARSE;
		}
		/* opening: a share sealed before the one-line rule may need the whole file, as then */
		*out_len = passline_len_legacy((const uint8_t *)out, n);
		fprintf(stderr, "ceremony: warning: the passphrase for %s is not one line; all of it but the line ends "
				"at its end is taken, as shares were sealed before 2026-12-07 (a note belongs in another "
				"file)\n", name);
	}
	if (confirm && *out_len < 12) {
		fprintf(stderr, "ceremony: passphrase for %s is shorter than 12 characters\n", name);
		return HSMCA_ERR_AUTH;
	}
	return 0;
}

/* Opens every presented share into the quorum; reports which share failed. */
static int cer_collect(struct cer_ctx *c, struct quorum *q)
{
	char *pw = secmem_alloc(FRAME_PASS_MAX_CER + 1), err[QUORUM_ERR_MAX];
	uint8_t file[SEAL_FILE_MAX + 1];
	int rc = pw ? 0 : HSMCA_ERR_NOMEM;
	for (unsigned i = 0; !rc && i < c->args->n_shares; i++) {
		size_t flen = 0, plen = 0;
		const char *path = c->args->share[i];
		if ((rc = cer_read_small(path, file, SEAL_FILE_MAX, &flen))) {
			fprintf(stderr, "ceremony: share %s: cannot read (missing or too large)\n", path);
			break;
		}
		if ((rc = cer_passphrase(NULL, path, c->args->share_pass[i], false, pw, FRAME_PASS_MAX_CER, &plen)))
			break;
		if ((rc = quorum_add(q, span_make(file, flen), pw, plen, err)))
			fprintf(stderr, "ceremony: share %s refused: %s\n", path, err);
		explicit_bzero(pw, FRAME_PASS_MAX_CER + 1);
	}
	secmem_free(pw, FRAME_PASS_MAX_CER + 1);
	return rc;
}

int cer_login(struct cer_ctx *c, uint8_t *keep_pin, size_t *keep_len)
{
	struct quorum q;
	char err[QUORUM_ERR_MAX];
	int rc = quorum_init(&q, NULL, NULL);
	if (rc)
		return rc;
	if ((rc = cer_collect(c, &q)))
		goto out;
	if (!quorum_ready(&q)) {
		fprintf(stderr, "ceremony: %u share(s) presented, the split needs %u\n", q.count, q.m ? q.m : 2);
		rc = HSMCA_ERR_QUORUM;
		goto out;
	}
	if ((rc = p11_module_load(c->args->module, &c->mod))) {
		fprintf(stderr, "ceremony: cannot load module %s\n", c->args->module);
		goto out;
	}
	if ((rc = p11_token_find(&c->mod, NULL, q.serial, &c->token))) {
		fprintf(stderr, "ceremony: no token with serial %s (named by the shares)\n", q.serial);
		goto out;
	}
	if ((rc = p11_session_open(&c->mod, c->token.slot, true, &c->s)))
		goto out;
	if ((rc = quorum_login(&q, &c->mod, c->s, c->conf.has_pin_verifier ? c->conf.pin_verifier : NULL, err))) {
		fprintf(stderr, "ceremony: login failed: %s\n", err);
		goto out;
	}
	if (keep_pin && (rc = quorum_secret(&q, keep_pin, keep_len)))
		goto out;
	cer_record(c, "token_label", "%s", c->token.label);
	cer_record(c, "token_serial", "%s", c->token.serial);
	/* q's shares in the order they were given (cer_collect stops at the first refused): present, a passphrase
	 * typed at the terminal; one read from a file proves no one's presence */
	for (unsigned i = 0; i < q.count; i++) {
		bool typed = i >= CER_MAX_SHARES || !c->args->share_pass[i];
		cer_record(c, typed ? "custodian_present" : "share_presented", "%s (share %u of %u-of-%u, passphrase %s)",
			   q.custodians[i], q.xs[i], q.m, q.n, typed ? "typed" : "from a file");
	}
out:
	quorum_free(&q);
	return rc;
}

void cer_record(struct cer_ctx *c, const char *key, const char *fmt, ...)
{
	char line[CER_TEXT_MAX * 2];
	va_list ap;
	int n = snprintf(line, sizeof(line), "%s: ", key);
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	dbuf_add(&c->record, line, strnlen(line, sizeof(line) - 1));
	dbuf_add_u8(&c->record, '\n');
}

void cer_record_hex(struct cer_ctx *c, const char *key, const uint8_t *b, size_t len)
{
	char hex[2 * 512 + 1];
	span_hex(b, len > 512 ? 512 : len, hex);
	cer_record(c, key, "%s", hex);
}
