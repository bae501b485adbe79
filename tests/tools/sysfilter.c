/* sysfilter: runs a program under the system-call filter a systemd unit's SystemCallFilter= gives it, the way
 * systemd 252 loads it (libseccomp, no_new_privs, SystemCallArchitectures=native), so that the integration
 * tests run the frontend and the signer under their units' filters and a system call a unit does not allow
 * fails a test instead of a production start. Test tool only, never installed.
 *
 *   sysfilter LIST ERRNO -- PROGRAM [ARG...]
 *
 * LIST is a file of system-call names, one a line (tests/integration/unitfilter.py makes it from the unit);
 * every other system call fails with ERRNO (SystemCallErrorNumber=), or with ERRNO 0 kills the process
 * (systemd's default). A name this architecture does not have is skipped, as systemd skips it. */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SYSFILTER_NAME_MAX 64

static int sysfilter_usage(void)
{
	fprintf(stderr, "usage: sysfilter LIST ERRNO -- PROGRAM [ARG...]\n");
	return 2;
}

/* Adds an allow rule for every name in path to ctx: 0, or -1 (said on stderr). */
static int sysfilter_load_list(scmp_filter_ctx ctx, const char *path, unsigned *allowed)
{
	char line[SYSFILTER_NAME_MAX + 2];
	int rc = -1;
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "sysfilter: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		size_t n = strlen(line);
		if (n == 0 || line[n - 1] != '\n') {
			fprintf(stderr, "sysfilter: %s: a line without end or longer than %d bytes\n", path,
				SYSFILTER_NAME_MAX);
			goto out;
		}
		line[--n] = '\0';
		if (n == 0 || strspn(line, "abcdefghijklmnopqrstuvwxyz0123456789_") != n) {
			fprintf(stderr, "sysfilter: %s: not a system call name: \"%s\"\n", path, line);
			goto out;
		}
		int nr = seccomp_syscall_resolve_name(line);
		if (nr == __NR_SCMP_ERROR)
			continue; /* not on this architecture */
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0) {
			fprintf(stderr, "sysfilter: cannot allow %s\n", line);
			goto out;
		}
		(*allowed)++;
	}
	rc = ferror(f) ? -1 : 0;
out:
	fclose(f);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 5 || strcmp(argv[3], "--") != 0)
		return sysfilter_usage();
	char *end;
	errno = 0;
	long err = strtol(argv[2], &end, 10);
	if (errno || end == argv[2] || *end || err < 0 || err > 4095)
		return sysfilter_usage();
	scmp_filter_ctx ctx = seccomp_init(err ? SCMP_ACT_ERRNO((unsigned)err) : SCMP_ACT_KILL_PROCESS);
	unsigned allowed = 0;
	if (!ctx)
		return 1;
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) != 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) != 0 || sysfilter_load_list(ctx, argv[1], &allowed) != 0) {
		seccomp_release(ctx);
		return 1;
	}
	if (allowed < 50) { /* an empty or cut list would only make every test fail obscurely */
		fprintf(stderr, "sysfilter: %s allows %u system calls on this architecture\n", argv[1], allowed);
		seccomp_release(ctx);
		return 1;
	}
	if (seccomp_load(ctx) != 0) {
		fprintf(stderr, "sysfilter: seccomp_load failed\n");
		seccomp_release(ctx);
		return 1;
	}
	seccomp_release(ctx);
	execv(argv[4], argv + 4);
	fprintf(stderr, "sysfilter: %s: %s\n", argv[4], strerror(errno));
	return 127;
}
