#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame.h"
#include "passline.h"
#include "readall.h"
#include "secmem.h"
#include "sgn_client.h"
#include "ttyline.h"
#include "unseal.h"

/* Reads at most max bytes of path into buf (max + 1 bytes); fails if the file is larger. */
static int cli_read_file(const char *path, uint8_t *buf, size_t max, size_t *out_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return HSMCA_ERR_NOTFOUND;
	int rc = readall_fd(fd, buf, max, false, out_len);
	close(fd);
	return rc;
}

/* Passphrase from a file (one line: passline_len) or from the terminal without echo. */
static int cli_passphrase(const char *file, char *pw, size_t max, size_t *out_len)
{
	size_t len = 0;
	if (file) {
		int rc = cli_read_file(file, (uint8_t *)pw, max, &len);
		if (rc)
			return rc;
	} else if (isatty(0)) {
		int rc = ttyline_read(0, 2, "passphrase: ", pw, max, &len);
		if (rc == HSMCA_ERR_STATE)
			fprintf(stderr, "unseal: cannot turn echo off on the terminal: give --passphrase-file\n");
		else if (rc == HSMCA_ERR_LIMIT)
			fprintf(stderr, "unseal: the passphrase is longer than %zu bytes (none of it was sent)\n", max);
		if (rc)
			return rc;
	} else { /* a file (< pass.txt): all of it, as --passphrase-file reads one; piped: its first line (a pipe
		  * left open, as ssh's without a terminal, is not waited on) */
		struct stat st;
		int rc = readall_fd(0, (uint8_t *)pw, max, !(fstat(0, &st) == 0 && S_ISREG(st.st_mode)), &len);
		if (rc == HSMCA_ERR_LIMIT)
			fprintf(stderr, "unseal: the passphrase is longer than %zu bytes (none of it was sent)\n", max);
		if (rc)
			return rc;
	}
	if (passline_len((const uint8_t *)pw, len, out_len)) {
		/* a share sealed before the one-line rule may need the whole file, as then */
		*out_len = passline_len_legacy((const uint8_t *)pw, len);
		fprintf(stderr, "unseal: warning: the passphrase is not one line; all of it but the line ends at its end "
				"is taken, as shares were sealed before 2026-12-07 (a note belongs in another file)\n");
	}
	return 0;
}

/* A directory that holds a name on the way to the control socket: writable by no other user than its owner
 * unless sticky (/tmp). 0, or -1 (said on stderr). */
static int cli_dir_guarded(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) != 0) {
		fprintf(stderr, "unseal: cannot stat %s: refusing to send a share\n", dir);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		fprintf(stderr, "unseal: %s (above the control socket) is writable by other users, who could "
				"replace the socket's directory: refusing to send a share\n", dir);
		return -1;
	}
	return 0;
}

#define CLI_LINKS_MAX 40 /* symlinks followed in one path, as the kernel's limit */

/* Walks path (absolute) one name at a time as the kernel resolves it: each directory that holds a name passed
 * through is guarded (cli_dir_guarded), and a symlink met anywhere is followed by walking its target, so the
 * directory that holds every link on the way is checked too (another user who may write there could point it
 * at a directory and socket of theirs). 0, or -1 (said on stderr). */
static int cli_walk(const char *path, unsigned *links)
{
	char cur[PATH_MAX] = "/", rest[PATH_MAX], next[PATH_MAX], target[PATH_MAX];
	struct stat st;
	if (snprintf(rest, sizeof(rest), "%s", path) >= (int)sizeof(rest)) {
		fprintf(stderr, "unseal: cannot resolve %s (path too long): refusing to send a share\n", path);
		return -1;
	}
	for (char *save = NULL, *name = strtok_r(rest, "/", &save); name; name = strtok_r(NULL, "/", &save)) {
		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) { /* cur is free of links: its parent is where ".." leads */
			char *slash = strrchr(cur, '/');
			slash[slash == cur] = 0;
			continue;
		}
		if (cli_dir_guarded(cur))
			return -1;
		int n = snprintf(next, sizeof(next), "%s%s%s", cur, strcmp(cur, "/") ? "/" : "", name);
		if (n < 0 || (size_t)n >= sizeof(next) || lstat(next, &st) != 0) {
			fprintf(stderr, "unseal: cannot resolve %s: refusing to send a share\n", path);
			return -1;
		}
		if (!S_ISLNK(st.st_mode)) {
			memcpy(cur, next, (size_t)n + 1);
			continue;
		}
		ssize_t t = readlink(next, target, sizeof(target) - 1);
		if (t <= 0 || ++*links > CLI_LINKS_MAX) {
			fprintf(stderr, "unseal: cannot follow the link %s: refusing to send a share\n", next);
			return -1;
		}
		target[t] = 0;
		/* the link's target, then what was left of the path after the link */
		const char *left = save && *save ? save : "";
		n = target[0] == '/' ? snprintf(next, sizeof(next), "%s/%s", target, left)
				     : snprintf(next, sizeof(next), "%s/%s/%s", cur, target, left);
		if (n < 0 || (size_t)n >= sizeof(next)) {
			fprintf(stderr, "unseal: cannot resolve %s (path too long): refusing to send a share\n", path);
			return -1;
		}
		return cli_walk(next, links);
	}
	return 0;
}

/* Every directory on the way to dir, as the kernel resolves it (cli_walk), writable by no other user than its
 * owner unless sticky (/tmp): else anyone could move dir aside, or re-point a link on the way, and put a
 * directory and socket of theirs in its place. (Who owns them is the installation's choice: a clone in a home
 * directory is its user's.) 0, or -1 (said on stderr). */
static int cli_ancestors_ok(const char *dir)
{
	char abs[PATH_MAX], cwd[PATH_MAX];
	unsigned links = 0;
	int n = dir[0] == '/' ? snprintf(abs, sizeof(abs), "%s", dir)
			      : getcwd(cwd, sizeof(cwd)) ? snprintf(abs, sizeof(abs), "%s/%s", cwd, dir) : -1;
	if (n < 0 || (size_t)n >= sizeof(abs)) {
		fprintf(stderr, "unseal: cannot resolve %s: refusing to send a share\n", dir);
		return -1;
	}
	return cli_walk(abs, &links);
}

/* The control socket's server must be the signer: root (an in-process signer unseals as root) or the owner of
 * the socket's directory (the signer's user, which made the socket there), in a directory no other user may
 * write to. Else a socket another user put in its place would collect the share and its passphrase. 0, or -1
 * (said on stderr). */
static int cli_peer_ok(int fd, const char *path)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct stat st;
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		slash[slash == dir] = 0; /* "/x" -> "/", "a/b" -> "a" */
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 || stat(dir, &st) != 0) {
		fprintf(stderr, "unseal: cannot tell who serves %s: refusing to send a share\n", path);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		fprintf(stderr, "unseal: %s is writable by other users, who could have put a socket of theirs there: "
				"refusing to send a share (give the control socket a directory of the signer's own)\n", dir);
		return -1;
	}
	if (cr.uid != 0 && cr.uid != st.st_uid) {
		fprintf(stderr, "unseal: %s is served by uid %u, neither root nor the owner of %s (uid %u): refusing to "
				"send a share\n", path, (unsigned)cr.uid, dir, (unsigned)st.st_uid);
		return -1;
	}
	return cli_ancestors_ok(dir);
}

/* The directory path names exists (a socket path whose directory is missing is mistyped, not a serving signer's:
 * --status is not to say "not sealed" for it) */
static bool cli_parent_exists(const char *path)
{
	char dir[PATH_MAX];
	struct stat st;
	const char *slash = strrchr(path, '/');
	size_t n = !slash ? 1 : slash == path ? 1 : (size_t)(slash - path);
	if (n >= sizeof(dir))
		return false;
	memcpy(dir, slash ? path : ".", n);
	dir[n] = '\0';
	return stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
}

int sgn_unseal_cli(int argc, char **argv)
{
	static const struct option opts[] = { { "control", required_argument, NULL, 'c' },
					      { "share", required_argument, NULL, 's' },
					      { "passphrase-file", required_argument, NULL, 'p' },
					      { "status", no_argument, NULL, 'S' },
					      { NULL, 0, NULL, 0 } };
	const char *control = NULL, *share = NULL, *passfile = NULL;
	uint8_t sharebuf[FRAME_SHARE_MAX + 1];
	size_t share_len = 0, pass_len = 0;
	bool status = false;
	int c, rc = 1;
	char *pw = NULL;
	struct sgn_client cl = { .fd = -1 };
	struct dbuf body, reply;
	dbuf_init(&body);
	dbuf_init(&reply);
	/* a custodian's passphrase passes through library buffers (stdio, the frame): no core file, no ptrace */
	if (secmem_nodump()) {
		fprintf(stderr, "unseal: cannot disable core dumps (prctl/setrlimit)\n");
		return 1;
	}
	while ((c = getopt_long(argc, argv, "c:s:p:S", opts, NULL)) != -1) {
		if (c == 'c')
			control = optarg;
		else if (c == 's')
			share = optarg;
		else if (c == 'p')
			passfile = optarg;
		else if (c == 'S')
			status = true;
		else
			goto usage;
	}
	if (!control || (!status && !share) || optind != argc)
		goto usage;
	struct stat st;
	if (lstat(control, &st) != 0 && errno == ENOENT && cli_parent_exists(control)) {
		/* the control socket exists only while the signer is sealed: a monitor asking --status of a serving
		 * signer is told so, apart from a failure (exit 1); a custodian before typing a passphrase */
		fprintf(stderr, "unseal: no control socket at %s: the signer is not sealed (it is unsealed and serving, or "
				"not running)\n", control);
		rc = 3;
		goto out;
	}
	if (!status) {
		pw = secmem_alloc(FRAME_PASS_MAX + 1);
		if (!pw || cli_read_file(share, sharebuf, FRAME_SHARE_MAX, &share_len) != 0) {
			fprintf(stderr, "unseal: cannot read share file %s (missing or larger than %u bytes)\n", share,
				FRAME_SHARE_MAX);
			goto out;
		}
		if (cli_passphrase(passfile, pw, FRAME_PASS_MAX, &pass_len) != 0) {
			fprintf(stderr, "unseal: cannot read the passphrase\n");
			goto out;
		}
		dbuf_add_u16(&body, (uint16_t)share_len);
		dbuf_add(&body, sharebuf, share_len);
		dbuf_add_u16(&body, (uint16_t)pass_len);
		dbuf_add(&body, pw, pass_len);
	}
	if (sgn_client_open(&cl, control, 0) != 0) {
		fprintf(stderr, "unseal: cannot connect to %s (is the signer running and sealed?)\n", control);
		goto out;
	}
	if (!status && cli_peer_ok(cl.fd, control) != 0)
		goto out;
	rc = sgn_client_call(&cl, status ? FRAME_STATUS : FRAME_UNSEAL, body.data, body.len, &reply);
	if (rc == 0) {
		printf("%.*s\n", (int)reply.len, (const char *)reply.data);
	} else if (rc == HSMCA_ERR_POLICY) {
		fprintf(stderr, "unseal: refused: %s\n", cl.err_msg);
	} else {
		fprintf(stderr, "unseal: the signer closed the connection\n");
	}
	rc = rc ? 1 : 0;
	goto out;
usage:
	fprintf(stderr, "usage: hsmca-signer unseal --control SOCKET --share FILE [--passphrase-file FILE]\n"
			"       hsmca-signer unseal --control SOCKET --status\n");
	rc = 2;
out:
	sgn_client_close(&cl);
	dbuf_free(&body);
	dbuf_free(&reply);
	explicit_bzero(sharebuf, sizeof(sharebuf));
	secmem_free(pw, FRAME_PASS_MAX + 1);
	return rc;
}
