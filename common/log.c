#include "log.h"

#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static const char *log_prog = "hsmca";
static int log_pid; /* cached: getpid per line costs a system call (and the signer's sandbox counts them) */

void log_set_prog(const char *prog)
{
	log_prog = prog;
	log_pid = (int)getpid();
}

void log_event(const char *level, const char *event, const char *fmt, ...)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	int n;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ prog=%s pid=%d level=%s event=%s ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     ts.tv_nsec / 1000000, log_prog, log_pid ? log_pid : (int)getpid(), level, event);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		return;
	size_t len = (size_t)n + ((size_t)m < sizeof(line) - (size_t)n - 1 ? (size_t)m : sizeof(line) - (size_t)n - 2);
	line[len++] = '\n';
	/* one write so concurrent lines do not interleave */
	ssize_t w = write(2, line, len);
	(void)w;
}

void log_sha256_hex(const void *data, unsigned long len, char out[65])
{
	static const char hx[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(data, len, md);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
		out[2 * i] = hx[md[i] >> 4];
		out[2 * i + 1] = hx[md[i] & 15];
	}
	out[64] = 0;
}
