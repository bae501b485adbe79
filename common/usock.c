#include "usock.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int usock_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return HSMCA_ERR_LIMIT;
	strcpy(sa->sun_path, path);
	return 0;
}

int usock_listen(const char *path, mode_t mode, gid_t gid, int *out_fd)
{
	struct sockaddr_un sa;
	struct stat stt;
	int fd, rc = usock_addr(path, &sa);
	if (rc)
		return rc;
	if (lstat(path, &stt) == 0) {
		if (!S_ISSOCK(stt.st_mode))
			return HSMCA_ERR_EXISTS; /* never remove something that is not a socket */
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return HSMCA_ERR_IO;
	gid_t egid = getegid();
	/* root takes the group for the bind (no chown of a path); anyone else chowns its own socket */
	bool regroup = gid != (gid_t)-1 && gid != egid && geteuid() == 0;
	if (regroup && setegid(gid) != 0) {
		close(fd);
		return HSMCA_ERR_IO;
	}
	mode_t old = umask(~mode & 0777);
	/* listening at once: between bind and listen the path exists and a connect to it is refused, which a
	 * caller waiting for the path to appear can meet (the checks below unlink it again if they fail) */
	bool bound = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	rc = bound && listen(fd, 128) == 0 ? 0 : -1;
	umask(old);
	if (regroup && setegid(egid) != 0) {
		close(fd);
		if (bound)
			unlink(path);
		return HSMCA_ERR_IO; /* the process must not go on under the socket's group */
	}
	if (rc != 0) {
		close(fd);
		if (bound)
			unlink(path); /* bound, not listening */
		return HSMCA_ERR_IO;
	}
	/* the socket must be what was asked for (a setgid directory gives its own group) */
	if (lstat(path, &stt) != 0 ||
	    (gid != (gid_t)-1 && stt.st_gid != gid && (geteuid() == 0 || chown(path, (uid_t)-1, gid) != 0)) ||
	    lstat(path, &stt) != 0 || (stt.st_mode & 0777) != (mode & 0777) ||
	    (gid != (gid_t)-1 && stt.st_gid != gid)) {
		close(fd);
		unlink(path);
		return HSMCA_ERR_IO;
	}
	*out_fd = fd;
	return 0;
}

int usock_connect(const char *path, int *out_fd)
{
	return usock_connect_timeout(path, 0, out_fd);
}

/* One attempt of usock_connect_timeout; EINTR (a stop and SIGCONT during a connect with a timeout, signal(7))
 * is returned as USOCK_INTERRUPTED (positive, apart from every HSMCA_ERR_*) for the caller to try again on a
 * fresh socket: nothing was sent. */
#define USOCK_INTERRUPTED 1

static int usock_connect_once(const struct sockaddr_un *sa, unsigned timeout_ms, int *out_fd)
{
	struct timeval tv = { (time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000) * 1000 };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return HSMCA_ERR_IO;
	/* before connect: on a Unix socket a connect to a full backlog waits up to the send timeout */
	if (timeout_ms && (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
			   setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)) {
		close(fd);
		return HSMCA_ERR_IO;
	}
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0) {
		int e = errno;
		close(fd);
		errno = e; /* the caller may tell a timeout (EAGAIN) from the rest */
		return e == EINTR ? USOCK_INTERRUPTED : e == ENOENT || e == ECONNREFUSED ? HSMCA_ERR_NOTFOUND : HSMCA_ERR_IO;
	}
	*out_fd = fd;
	return 0;
}

int usock_connect_timeout(const char *path, unsigned timeout_ms, int *out_fd)
{
	struct sockaddr_un sa;
	int rc = usock_addr(path, &sa);
	if (rc)
		return rc;
	for (int attempt = 0; attempt < 4; attempt++)
		if ((rc = usock_connect_once(&sa, timeout_ms, out_fd)) != USOCK_INTERRUPTED)
			return rc;
	errno = EINTR;
	return HSMCA_ERR_IO;
}
