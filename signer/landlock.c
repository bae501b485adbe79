#include "landlock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Rights and fields newer than Debian 12's kernel headers (linux-libc-dev 6.1): ABI 3 to 6 */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#define LL_NET_BIND_TCP (1ULL << 0)
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LL_SCOPE_SIGNAL (1ULL << 1)

/* struct landlock_ruleset_attr as of ABI 6; older kernels are given its first 8 or 16 bytes */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

#define LL_FS_ABI1 ((1ULL << 13) - 1) /* EXECUTE .. MAKE_SYM */
#define LL_MODULE_RIGHTS                                                                                            \
	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_DIR |             \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE)
#define LL_SOCK_RIGHTS (LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_REMOVE_FILE)

/* Everything the kernel's ABI can deny is handled, i.e. denied unless a rule grants it; returns the size of
 * the attribute the kernel takes. */
static size_t ll_handled(int abi, struct ll_ruleset_attr *a)
{
	a->handled_access_fs = LL_FS_ABI1;
	if (abi >= 2)
		a->handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		a->handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		a->handled_access_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	if (abi >= 4)
		a->handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
	if (abi >= 6)
		a->scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
	return abi >= 6 ? sizeof(*a) : abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t);
}

static int ll_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int ll_allow(int ruleset, const char *dir, uint64_t rights, char *why, size_t why_len)
{
	struct landlock_path_beneath_attr rule = { .allowed_access = rights };
	int rc = 0;
	rule.parent_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rule.parent_fd < 0) {
		snprintf(why, why_len, "%s: %s", dir, strerror(errno));
		return HSMCA_ERR_CONFIG;
	}
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0) {
		snprintf(why, why_len, "landlock_add_rule %s: %s", dir, strerror(errno));
		rc = HSMCA_ERR_IO;
	}
	close(rule.parent_fd);
	return rc;
}

/* True if resolved path inner is dir or inside it. */
static int ll_within(const char *inner, const char *dir)
{
	size_t n = strlen(dir);
	if (n == 1)
		return 1; /* "/" */
	return strncmp(inner, dir, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

/* A sockets' directory (resolved): not writable by others, nothing but sockets in it. */
static int ll_sockdir_ok(const char *dir, char *why, size_t why_len)
{
	struct stat st;
	struct dirent *e;
	DIR *d = opendir(dir);
	int rc = 0;
	if (!d || fstat(dirfd(d), &st) != 0) {
		snprintf(why, why_len, "%s: %s", dir, strerror(errno));
		rc = HSMCA_ERR_CONFIG;
	} else if (st.st_mode & S_IWOTH) {
		snprintf(why, why_len, "%s: writable by others; the sockets need a directory of their own", dir);
		rc = HSMCA_ERR_CONFIG;
	}
	while (!rc && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISSOCK(st.st_mode)) {
			snprintf(why, why_len, "%s holds %s, not a socket: the sockets need a directory of their own (the "
				 "signer may remove files there)", dir, e->d_name);
			rc = HSMCA_ERR_CONFIG;
		}
	}
	if (d)
		closedir(d);
	return rc;
}

int sgn_landlock_check_dirs(const char *const *module_dirs, unsigned n_module, const char *const *sock_dirs,
			    unsigned n_sock, char *why, size_t why_len)
{
	char mod[SGN_LANDLOCK_DIRS_MAX][PATH_MAX], sock[PATH_MAX];
	if (n_module > SGN_LANDLOCK_DIRS_MAX) {
		snprintf(why, why_len, "more than %d module directories", SGN_LANDLOCK_DIRS_MAX);
		return HSMCA_ERR_CONFIG;
	}
	for (unsigned i = 0; i < n_module; i++) {
		if (!realpath(module_dirs[i], mod[i])) {
			snprintf(why, why_len, "%s: %s", module_dirs[i], strerror(errno));
			return HSMCA_ERR_CONFIG;
		}
		if (!strcmp(mod[i], "/")) {
			snprintf(why, why_len, "module directory %s is /: that would confine nothing", module_dirs[i]);
			return HSMCA_ERR_CONFIG;
		}
	}
	for (unsigned s = 0; s < n_sock; s++) {
		if (!realpath(sock_dirs[s], sock)) {
			snprintf(why, why_len, "%s: %s", sock_dirs[s], strerror(errno));
			return HSMCA_ERR_CONFIG;
		}
		if (!strcmp(sock, "/")) {
			snprintf(why, why_len, "sockets' directory %s is /: the sockets need a directory of their own",
				 sock_dirs[s]);
			return HSMCA_ERR_CONFIG;
		}
		for (unsigned i = 0; i < n_module; i++)
			if (ll_within(mod[i], sock)) {
				snprintf(why, why_len, "sockets' directory %s holds module directory %s", sock_dirs[s],
					 module_dirs[i]);
				return HSMCA_ERR_CONFIG;
			}
		int rc = ll_sockdir_ok(sock, why, why_len);
		if (rc)
			return rc;
	}
	return 0;
}

int sgn_landlock_enter(const char *const *module_dirs, unsigned n_module, const char *const *sock_dirs,
		       unsigned n_sock, int *abi, char *why, size_t why_len)
{
	struct ll_ruleset_attr attr = { 0 };
	int ruleset = -1, rc = 0, threads;
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	*abi = v > 0 ? (int)v : 0;
	if (v <= 0) {
		if (errno == ENOSYS || errno == EOPNOTSUPP)
			return 0;
		snprintf(why, why_len, "landlock_create_ruleset: %s", strerror(errno));
		return HSMCA_ERR_IO;
	}
	if ((threads = ll_threads()) != 1) {
		snprintf(why, why_len, threads < 0 ? "cannot count the threads (/proc/self/task)"
						   : "%d threads run: those would stay unconfined", threads);
		return HSMCA_ERR_CONFIG;
	}
	size_t attr_len = ll_handled(*abi, &attr);
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, attr_len, 0);
	if (ruleset < 0) {
		snprintf(why, why_len, "landlock_create_ruleset (ABI %d): %s", *abi, strerror(errno));
		return HSMCA_ERR_IO;
	}
	for (unsigned i = 0; i < n_module && !rc; i++)
		rc = ll_allow(ruleset, module_dirs[i], LL_MODULE_RIGHTS & attr.handled_access_fs, why, why_len);
	for (unsigned i = 0; i < n_sock && !rc; i++)
		rc = ll_allow(ruleset, sock_dirs[i], LL_SOCK_RIGHTS, why, why_len);
	if (rc)
		goto out;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || syscall(SYS_landlock_restrict_self, ruleset, 0) != 0) {
		snprintf(why, why_len, "landlock_restrict_self: %s", strerror(errno));
		rc = HSMCA_ERR_IO;
	}
out:
	close(ruleset);
	return rc;
}
