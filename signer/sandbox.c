#include "sandbox.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <seccomp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"

/* The signing phase: serve sockets, sign through the loaded module, allocate, log to stderr. */
static const int sgn_allowed[] = {
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(accept4), SCMP_SYS(recvfrom), SCMP_SYS(recvmsg),
	SCMP_SYS(sendto), SCMP_SYS(sendmsg), SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(writev),
	SCMP_SYS(close), SCMP_SYS(futex), SCMP_SYS(getrandom), SCMP_SYS(brk), SCMP_SYS(munmap),
	SCMP_SYS(madvise), SCMP_SYS(mremap), SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(getpid),
	SCMP_SYS(gettid), SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigprocmask), SCMP_SYS(sched_yield), SCMP_SYS(restart_syscall), SCMP_SYS(nanosleep),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(lseek),
	SCMP_SYS(sched_getaffinity),
};

/* Calls that must fail quietly rather than kill: SoftHSM's error path opens syslog. */
static const int sgn_eacces[] = { SCMP_SYS(socket), SCMP_SYS(connect) };

static bool sgn_add(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned nargs, const struct scmp_arg_cmp *args)
{
	return seccomp_rule_add_array(ctx, action, nr, nargs, args) == 0;
}

/* mmap/mprotect never with PROT_EXEC: no new code after the sandbox is up. */
static bool sgn_add_noexec(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp noexec = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	return sgn_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, &noexec) &&
	       sgn_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1, &noexec);
}

int sgn_sandbox_enter(bool trap)
{
	scmp_filter_ctx ctx = seccomp_init(trap ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS);
	int rc = HSMCA_ERR_CONFIG;
	if (!ctx)
		return HSMCA_ERR_NOMEM;
	/* The architecture is checked first: libseccomp kills foreign-arch calls (SCMP_FLTATR_ACT_BADARCH). */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) != 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) != 0 || seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) != 0)
		goto out;
	for (size_t i = 0; i < sizeof(sgn_allowed) / sizeof(sgn_allowed[0]); i++)
		if (!sgn_add(ctx, SCMP_ACT_ALLOW, sgn_allowed[i], 0, NULL))
			goto out;
	for (size_t i = 0; i < sizeof(sgn_eacces) / sizeof(sgn_eacces[0]); i++)
		if (!sgn_add(ctx, SCMP_ACT_ERRNO(EACCES), sgn_eacces[i], 0, NULL))
			goto out;
	if (!sgn_add_noexec(ctx))
		goto out;
	rc = seccomp_load(ctx) == 0 ? 0 : HSMCA_ERR_CONFIG;
out:
	seccomp_release(ctx);
	return rc;
}

int sgn_privdrop(const char *user)
{
	struct rlimit nocore = { 0, 0 };
	if (setrlimit(RLIMIT_CORE, &nocore) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return HSMCA_ERR_IO;
	if (geteuid() == 0) {
		struct passwd *pw = user && *user ? getpwnam(user) : NULL;
		if (!pw || pw->pw_uid == 0) {
			log_event("error", "privdrop_failed", "why=\"running as root needs an unprivileged user= in the config\"");
			return HSMCA_ERR_CONFIG;
		}
		if (setgroups(0, NULL) != 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0)
			return HSMCA_ERR_IO;
		if (setuid(0) == 0 || geteuid() == 0)
			return HSMCA_ERR_IO; /* the drop must be irreversible */
	}
	/* the uid change resets the dumpable flag: set it again */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return HSMCA_ERR_IO;
	return 0;
}
