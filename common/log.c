#include "log.h"

#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "span.h"

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
	/* one event, one line: a value carrying a line break or another control byte (a database error's
	 * DETAIL, a name a client sent) cannot start a forged line of its own */
	for (size_t i = (size_t)n; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (c == '\n' || c == '\r' || c == '\t')
			line[i] = ' ';
		else if (c < 0x20 || c == 0x7f)
			line[i] = '?';
	}
	line[len++] = '\n';
	/* one write so concurrent lines do not interleave */
	ssize_t w = write(2, line, len);
	(void)w;
}

const char *log_quote(const char *in, char *out, size_t out_len)
{
	static const char hx[] = "0123456789abcdef";
	size_t o = 0;
	if (out_len < 3) {
		if (out_len)
			out[0] = 0;
		return out;
	}
	out[o++] = '"';
	for (const unsigned char *c = (const unsigned char *)in; *c; c++) {
		char esc[4];
		size_t el = 0;
		if (*c == '"' || *c == '\\') {
			esc[el++] = '\\';
			esc[el++] = (char)*c;
		} else if (*c < 0x20 || *c > 0x7e) { /* inside the quotes a space is part of the value */
			esc[el++] = '\\';
			esc[el++] = 'x';
			esc[el++] = hx[*c >> 4];
			esc[el++] = hx[*c & 15];
		} else {
			esc[el++] = (char)*c;
		}
		if (o + el + 2 > out_len) /* room for the closing quote and the NUL */
			break;
		memcpy(out + o, esc, el);
		o += el;
	}
	out[o++] = '"';
	out[o] = 0;
	return out;
}

void log_sha256_hex(const void *data, unsigned long len, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(data, len, md);
	span_hex(md, sizeof(md), out);
}
