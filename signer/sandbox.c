#include "sandbox.h"

#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"

#define SGN_SOCK_TYPE_MASK 0xf /* SOCK_CLOEXEC and SOCK_NONBLOCK are flags above the type */

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

/* Calls that must fail quietly rather than kill: SoftHSM's error path opens syslog; glibc's malloc opens
 * /proc/sys/vm/overcommit_memory the first time a worker thread's heap shrinks (shrink_heap, after a large
 * free: a big CRL), and takes a failed open for "may shrink" (madvise, allowed). Opening was a kill, which
 * left the signer to be restarted and unsealed again. */
static const int sgn_eacces[] = { SCMP_SYS(socket), SCMP_SYS(connect), SCMP_SYS(openat), SCMP_SYS(open) };
/* The same for the p11-kit client's sealed phase, which opens nothing (socket and connect have their rules
 * there: sgn_add_sealed_args) */
static const int sgn_sealed_eacces[] = { SCMP_SYS(openat), SCMP_SYS(open) };

/* The sealed phase adds what the unseal, C_Login, binding the keys, the signing socket and the worker threads
 * need (thread start-up under ASan too: sigaltstack), and loading the signing phase's filter on top. prctl,
 * socket, tgkill and clone only with the arguments in sgn_add_sealed_args. */
static const int sgn_sealed_allowed[] = {
	SCMP_SYS(bind), SCMP_SYS(listen), SCMP_SYS(umask), SCMP_SYS(unlink), SCMP_SYS(getegid),
	SCMP_SYS(eventfd2), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(rt_sigaction),
	SCMP_SYS(sigaltstack), SCMP_SYS(mlock), SCMP_SYS(munlock), SCMP_SYS(seccomp), SCMP_SYS(getuid),
	SCMP_SYS(geteuid),
};

/* The p11-kit client's sealed phase runs unprivileged and opens no file (EACCES), and Landlock keeps its
 * unlink, bind and chown to the two sockets' directories: a chown there can only give the process's own new
 * socket one of its groups (usock.c). As root (in-process) the group is taken at bind
 * instead, and chown is not allowed. */
static const int sgn_sealed_unprivileged[] = { SCMP_SYS(chown) };

/* A module that reads its token's files in the signer (SoftHSM: C_Login rewrites token.object and takes
 * token.lock) and the privilege drop after the keys are bound (glibc signals every thread to change its ids). */
static const int sgn_sealed_in_process[] = {
	SCMP_SYS(openat), SCMP_SYS(fcntl), SCMP_SYS(ftruncate), SCMP_SYS(getdents64), SCMP_SYS(setgroups), SCMP_SYS(setresgid),
	SCMP_SYS(setresuid), SCMP_SYS(setuid),
};

static bool sgn_add(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned nargs, const struct scmp_arg_cmp *args)
{
	return seccomp_rule_add_array(ctx, action, nr, nargs, args) == 0;
}

static bool sgn_add_all(scmp_filter_ctx ctx, uint32_t action, const int *nrs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!sgn_add(ctx, action, nrs[i], 0, NULL))
			return false;
	return true;
}

/* mmap/mprotect never with PROT_EXEC: no new code after the sandbox is up. */
static bool sgn_add_noexec(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp noexec = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	return sgn_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, &noexec) &&
	       sgn_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1, &noexec);
}

/* The sealed phase's narrow exceptions: socket() only for the signing socket (AF_UNIX, SOCK_SEQPACKET; any
 * other gets EACCES, as nscd's lookup and SoftHSM's syslog expect), prctl only to set no_new_privs or the
 * dumpable flag, tgkill only to this process's own threads, prlimit64 only on this process (pid 0: glibc's
 * getrlimit and setrlimit, the thread start-up's stack size, the privilege drop's RLIMIT_CORE; an in-process
 * signer is still root here, and could otherwise change any process's limits). */
static bool sgn_add_sealed_args(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp unix_seq[2] = { SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0),
					    SCMP_A1(SCMP_CMP_MASKED_EQ, SGN_SOCK_TYPE_MASK, SOCK_SEQPACKET) };
	struct scmp_arg_cmp unix_stream[2] = { SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0),
					       SCMP_A1(SCMP_CMP_MASKED_EQ, SGN_SOCK_TYPE_MASK, SOCK_STREAM) };
	struct scmp_arg_cmp unix_dgram[2] = { SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0),
					      SCMP_A1(SCMP_CMP_MASKED_EQ, SGN_SOCK_TYPE_MASK, SOCK_DGRAM) };
	struct scmp_arg_cmp not_unix = SCMP_A0(SCMP_CMP_NE, AF_UNIX, 0);
	struct scmp_arg_cmp nnp = SCMP_A0(SCMP_CMP_EQ, PR_SET_NO_NEW_PRIVS, 0);
	struct scmp_arg_cmp dumpable[2] = { SCMP_A0(SCMP_CMP_EQ, PR_SET_DUMPABLE, 0), SCMP_A1(SCMP_CMP_EQ, 0, 0) };
	struct scmp_arg_cmp self = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0);
	struct scmp_arg_cmp own_limits = SCMP_A0(SCMP_CMP_EQ, 0, 0);
	/* clone3's flags are in memory a filter cannot read: it gets ENOSYS, and glibc falls back to clone(),
	 * allowed for threads only (CLONE_THREAD): no new process can be made */
	struct scmp_arg_cmp thread = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);

	return sgn_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2, unix_seq) &&
	       sgn_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 2, unix_stream) &&
	       sgn_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 2, unix_dgram) &&
	       sgn_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 1, &not_unix) &&
	       sgn_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(connect), 0, NULL) &&
	       sgn_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, &nnp) &&
	       sgn_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 2, dumpable) &&
	       sgn_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, &self) &&
	       sgn_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1, &own_limits) &&
	       sgn_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, &thread) &&
	       sgn_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0, NULL);
}

enum sgn_phase { SGN_PHASE_SIGNING, SGN_PHASE_SEALED, SGN_PHASE_SEALED_IN_PROCESS };

static int sgn_sandbox_load(enum sgn_phase phase, bool trap)
{
	scmp_filter_ctx ctx = seccomp_init(trap ? SCMP_ACT_TRAP : SCMP_ACT_KILL_PROCESS);
	int rc = HSMCA_ERR_CONFIG;
	if (!ctx)
		return HSMCA_ERR_NOMEM;
	/* The architecture is checked first: libseccomp kills foreign-arch calls (SCMP_FLTATR_ACT_BADARCH). */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) != 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) != 0 || seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) != 0)
		goto out;
	if (!sgn_add_all(ctx, SCMP_ACT_ALLOW, sgn_allowed, sizeof(sgn_allowed) / sizeof(sgn_allowed[0])) ||
	    !sgn_add_noexec(ctx))
		goto out;
	if (phase == SGN_PHASE_SIGNING) {
		/* abort() (a failed assertion, malloc's or the stack protector's check in a library) raises SIGABRT
		 * with tgkill on this process: let it, so the end reads as the abort it is, not as the filter's kill */
		struct scmp_arg_cmp abrt[2] = { SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid(), 0),
						SCMP_A2(SCMP_CMP_EQ, SIGABRT, 0) };
		if (!sgn_add_all(ctx, SCMP_ACT_ERRNO(EACCES), sgn_eacces, sizeof(sgn_eacces) / sizeof(sgn_eacces[0])) ||
		    !sgn_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2, abrt))
			goto out;
	} else if (!sgn_add_all(ctx, SCMP_ACT_ALLOW, sgn_sealed_allowed,
				sizeof(sgn_sealed_allowed) / sizeof(sgn_sealed_allowed[0])) ||
		   !sgn_add_sealed_args(ctx) ||
		   (phase == SGN_PHASE_SEALED_IN_PROCESS &&
		    !sgn_add_all(ctx, SCMP_ACT_ALLOW, sgn_sealed_in_process,
				 sizeof(sgn_sealed_in_process) / sizeof(sgn_sealed_in_process[0]))) ||
		   (phase == SGN_PHASE_SEALED &&
		    (!sgn_add_all(ctx, SCMP_ACT_ALLOW, sgn_sealed_unprivileged,
				  sizeof(sgn_sealed_unprivileged) / sizeof(sgn_sealed_unprivileged[0])) ||
		     !sgn_add_all(ctx, SCMP_ACT_ERRNO(EACCES), sgn_sealed_eacces,
				  sizeof(sgn_sealed_eacces) / sizeof(sgn_sealed_eacces[0]))))) {
		goto out;
	}
	rc = seccomp_load(ctx) == 0 ? 0 : HSMCA_ERR_CONFIG;
out:
	seccomp_release(ctx);
	return rc;
}

int sgn_sandbox_enter_sealed(bool in_process, bool trap)
{
	return sgn_sandbox_load(in_process ? SGN_PHASE_SEALED_IN_PROCESS : SGN_PHASE_SEALED, trap);
}

int sgn_sandbox_enter(bool trap)
{
	return sgn_sandbox_load(SGN_PHASE_SIGNING, trap);
}

int sgn_privdrop_resolve(const char *user, struct sgn_ids *out)
{
	struct passwd *pw;

	memset(out, 0, sizeof(*out));
	if (geteuid() != 0)
		return 0;
	pw = user && *user ? getpwnam(user) : NULL;
	if (!pw || pw->pw_uid == 0) {
		log_event("error", "privdrop_failed", "why=\"running as root needs an unprivileged user= in the config\"");
		return HSMCA_ERR_CONFIG;
	}
	if (pw->pw_gid == 0) { /* setresgid(0) would keep the root group's files open to the signer */
		log_event("error", "privdrop_failed", "why=\"the user= of the config has primary group 0 (root): give it "
			  "a group of its own\"");
		return HSMCA_ERR_CONFIG;
	}
	out->drop = true;
	out->uid = pw->pw_uid;
	out->gid = pw->pw_gid;
	return 0;
}

int sgn_privdrop(const struct sgn_ids *ids)
{
	struct rlimit nocore = { 0, 0 };
	if (setrlimit(RLIMIT_CORE, &nocore) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return HSMCA_ERR_IO;
	if (ids->drop) {
		if (setgroups(0, NULL) != 0 || setresgid(ids->gid, ids->gid, ids->gid) != 0 ||
		    setresuid(ids->uid, ids->uid, ids->uid) != 0)
			return HSMCA_ERR_IO;
		if (setuid(0) == 0 || geteuid() == 0)
			return HSMCA_ERR_IO; /* the drop must be irreversible */
	}
	/* the uid change resets the dumpable flag: set it again */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return HSMCA_ERR_IO;
	return 0;
}
