/* Test-only LD_PRELOAD library, never linked into hsmca (tests/integration/frontend_crash.sh): the wall clock
 * (time, gettimeofday, clock_gettime of CLOCK_REALTIME and its variants) runs HSMCA_TEST_CLOCK_OFFSET seconds
 * ahead of the real one, as on a host whose clock is wrong; monotonic clocks are untouched. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

static time_t timeshim_offset(void)
{
	const char *v = getenv("HSMCA_TEST_CLOCK_OFFSET");
	return v ? (time_t)atol(v) : 0;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	int (*real)(clockid_t, struct timespec *) = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
	int rc = real ? real(id, ts) : -1;
	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
		ts->tv_sec += timeshim_offset();
	return rc;
}

time_t time(time_t *t)
{
	struct timespec ts;
	time_t now = clock_gettime(CLOCK_REALTIME, &ts) == 0 ? ts.tv_sec : (time_t)-1;
	if (t)
		*t = now;
	return now;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;
	(void)tz;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return -1;
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}
