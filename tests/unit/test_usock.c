/* usock: a connect with a timeout that a stop and SIGCONT interrupt (EINTR, signal(7)) is tried again on a
 * fresh socket, not reported as "signer unavailable" (common/usock.c). The listener's backlog is filled so
 * that the connect waits; the child is stopped and continued while it does; then room is made. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "usock.h"

#define USOCK_T_QUEUE_MAX 16

static int usock_t_connect_nb(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

static void test_connect_interrupted(void)
{
	char dir[] = "/tmp/hsmca-usock.XXXXXX";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int queued[USOCK_T_QUEUE_MAX], n = 0, l, st = 0;
	CHECK(mkdtemp(dir) != NULL);
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s/s", dir);
	l = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	l = l >= 0 && bind(l, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(l, 0) == 0 ? l : -1;
	CHECK(l >= 0);
	if (l < 0)
		return;
	while (n < USOCK_T_QUEUE_MAX && (queued[n] = usock_t_connect_nb(&sa)) >= 0)
		n++; /* the backlog is full once a non-blocking connect fails (EAGAIN) */
	CHECKF(n >= 1 && n < USOCK_T_QUEUE_MAX, "%d queued", n);
	pid_t child = fork();
	if (child == 0) {
		int fd = -1;
		int rc = usock_connect_timeout(sa.sun_path, 5000, &fd);
		_exit(rc == 0 ? 0 : errno == EINTR ? 11 : 12);
	}
	CHECK(child > 0);
	usleep(300000); /* the child waits in connect */
	kill(child, SIGSTOP);
	usleep(100000);
	kill(child, SIGCONT);
	usleep(300000);
	/* room for the child's connection: take what is queued until the child is done (at most ~6 s) */
	pid_t done = 0;
	for (int t = 0; t < 600 && done == 0; t++) {
		int a = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (a >= 0)
			close(a);
		else
			usleep(10000);
		done = waitpid(child, &st, WNOHANG);
	}
	if (done == 0) {
		kill(child, SIGKILL);
		done = waitpid(child, &st, 0);
	}
	CHECK(done == child);
	CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d (11: EINTR came back as a failure)",
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	for (int i = 0; i < n; i++)
		close(queued[i]);
	close(l);
	unlink(sa.sun_path);
	rmdir(dir);
}

int main(void)
{
	test_connect_interrupted();
	return check_done("usock");
}
