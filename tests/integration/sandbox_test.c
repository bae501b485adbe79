/* The signer's seccomp allowlist (signer/sandbox.c, the filter the running signer loads): allowed calls
 * work; a forbidden call kills the process (SIGSYS) or, in trap mode, raises SIGSYS; executable memory
 * and new network sockets are denied. Each case runs in its own child. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN 1
#endif
#endif

#define TRAPPED_EXIT 42

static void on_sigsys(int sig)
{
	(void)sig;
	_exit(TRAPPED_EXIT);
}

static void allowed(void)
{
	char buf[64];
	void *p = malloc(64u << 20); /* mmap path of malloc */
	if (!p || getrandom(buf, sizeof(buf), 0) != (ssize_t)sizeof(buf) || write(2, "", 0) != 0)
		_exit(1);
	memset(p, 1, 64u << 20);
	free(p);
	int fd = socket(AF_INET, SOCK_STREAM, 0); /* SoftHSM's syslog path: EACCES, not death */
	_exit(fd == -1 ? 0 : 2);
}

static void forbidden_open(void) { _exit(open("/etc/hostname", O_RDONLY) >= 0 ? 0 : 3); }

static void forbidden_exec(void)
{
	char *argv[] = { "/bin/true", NULL };
	execv("/bin/true", argv);
	_exit(3);
}

static void forbidden_mmap_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	_exit(p == MAP_FAILED ? 3 : 0);
}

static void forbidden_getuid(void) { _exit(getuid() == 12345 ? 3 : 0); }

static int run(const char *name, bool trap, void (*body)(void), int want_sig, int want_exit)
{
	pid_t pid = fork();
	if (pid == 0) {
		if (trap)
			signal(SIGSYS, on_sigsys);
		if (sgn_sandbox_enter(trap) != 0)
			_exit(99);
		body();
		_exit(98);
	}
	int st;
	waitpid(pid, &st, 0);
	bool ok = want_sig ? (WIFSIGNALED(st) && WTERMSIG(st) == want_sig) : (WIFEXITED(st) && WEXITSTATUS(st) == want_exit);
	printf("%s %s (%s %d)\n", ok ? "ok -" : "FAIL:", name, WIFSIGNALED(st) ? "signal" : "exit",
	       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	return ok ? 0 : 1;
}

int main(void)
{
	int bad = 0;
#ifdef SANDBOX_ASAN
	/* ASan's allocator makes its own mmap calls for a 64 MiB block that the filter refuses; the sanitizer build
	 * still runs the real signer inside the same filter through every integration test. */
	(void)allowed;
	printf("skip - allowed calls under AddressSanitizer\n");
#else
	bad |= run("allowed calls work (malloc, getrandom, write; socket gets EACCES)", false, allowed, 0, 0);
#endif
	bad |= run("open() kills the process", false, forbidden_open, SIGSYS, 0);
	bad |= run("execve() kills the process", false, forbidden_exec, SIGSYS, 0);
	bad |= run("mmap(PROT_EXEC) kills the process", false, forbidden_mmap_exec, SIGSYS, 0);
	bad |= run("getuid() kills the process", false, forbidden_getuid, SIGSYS, 0);
#ifdef SANDBOX_ASAN
	/* ASan wraps signal handlers with calls the allowlist forbids, so the trapped call ends in a second,
	 * fatal SIGSYS: the kill cases above still prove the filter; trap mode is checked in the plain build. */
	printf("skip - trap mode under AddressSanitizer\n");
#else
	bad |= run("trap mode: open() raises SIGSYS", true, forbidden_open, 0, TRAPPED_EXIT);
#endif
	return bad;
}
