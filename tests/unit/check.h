/* Plain-assert checks for the unit tests: a failed CHECK prints where and what, counts, and carries on, so one
 * run shows every failing check; check_done() turns the count into the exit status. Unlike assert() these stay
 * on under NDEBUG. */
#ifndef HSMCA_UNIT_CHECK_H
#define HSMCA_UNIT_CHECK_H

#include <stdio.h>
#include <string.h>

static unsigned check_run, check_failed;

#define CHECK(cond) CHECKF(cond, "%s", "")

/* CHECKF(cond, fmt, ...): as CHECK, with a printf-style note naming the case. */
#define CHECKF(cond, ...)                                                                                      \
	do {                                                                                                   \
		check_run++;                                                                                   \
		if (!(cond)) {                                                                                 \
			check_failed++;                                                                        \
			fprintf(stderr, "FAIL %s:%d %s(): %s: ", __FILE__, __LINE__, __func__, #cond);          \
			fprintf(stderr, __VA_ARGS__);                                                          \
			fputc('\n', stderr);                                                                   \
		}                                                                                              \
	} while (0)

/* True if s starts with prefix. */
static inline int check_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static inline int check_done(const char *prog)
{
	if (check_failed) {
		fprintf(stderr, "%s: %u of %u checks FAILED\n", prog, check_failed, check_run);
		return 1;
	}
	printf("%s: all %u checks passed\n", prog, check_run);
	return 0;
}

#endif
