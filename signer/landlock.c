#include "landlock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Rights newer than Debian 12's kernel headers (linux-libc-dev 6.1): ABI 3 and 5 */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

#define LL_FS_ABI1 ((1ULL << 13) - 1) /* EXECUTE .. MAKE_SYM */
#define LL_MODULE_RIGHTS                                                                                            \
	(LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_DIR |             \
	 LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_TRUNCATE)
#define LL_SOCK_RIGHTS (LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_REMOVE_FILE)

/* The filesystem rights the kernel's ABI knows: all of them are handled, i.e. denied unless a rule grants. */
static uint64_t ll_handled(int abi)
{
	uint64_t h = LL_FS_ABI1;
	if (abi >= 2)
		h |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		h |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		h |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return h;
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

static int ll_allow(int ruleset, const char *dir, uint64_t rights)
{
	struct landlock_path_beneath_attr rule = { .allowed_access = rights };
	int rc = 0;
	rule.parent_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rule.parent_fd < 0)
		return HSMCA_ERR_CONFIG;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0)
		rc = HSMCA_ERR_IO;
	close(rule.parent_fd);
	return rc;
}

int sgn_landlock_enter(const char *const *module_dirs, unsigned n_module, const char *const *sock_dirs,
		       unsigned n_sock, int *abi)
{
	struct landlock_ruleset_attr attr = { 0 };
	int ruleset = -1, rc = HSMCA_ERR_IO;
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	*abi = v > 0 ? (int)v : 0;
	if (v <= 0)
		return errno == ENOSYS || errno == EOPNOTSUPP ? 0 : HSMCA_ERR_IO;
	if (ll_threads() != 1)
		return HSMCA_ERR_CONFIG;
	attr.handled_access_fs = ll_handled(*abi);
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (ruleset < 0)
		return HSMCA_ERR_IO;
	for (unsigned i = 0; i < n_module; i++)
		if ((rc = ll_allow(ruleset, module_dirs[i], LL_MODULE_RIGHTS & attr.handled_access_fs)))
			goto out;
	for (unsigned i = 0; i < n_sock; i++)
		if ((rc = ll_allow(ruleset, sock_dirs[i], LL_SOCK_RIGHTS)))
			goto out;
	rc = HSMCA_ERR_IO;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) == 0)
		rc = 0;
out:
	close(ruleset);
	return rc;
}
