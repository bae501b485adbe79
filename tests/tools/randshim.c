/* Test-only LD_PRELOAD library, never linked into hsmca (tests/integration/frontend_serial.sh): RAND_bytes of
 * exactly TBSBUILD_SERIAL_RANDOM (16) bytes -- the frontend's serial draws, and renewal challenges' nonces,
 * which that test does not ask for -- returns the same bytes (0x5a...) for the first
 * HSMCA_TEST_SERIAL_REPEAT such calls of the process, so that a serial drawn twice reaches the real
 * database's unique index; every other call, and every call after those, is libcrypto's. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define RANDSHIM_SERIAL_LEN 16
#define RANDSHIM_BYTE 0x5a

int RAND_bytes(unsigned char *buf, int num);

int RAND_bytes(unsigned char *buf, int num)
{
	static atomic_int left = -1; /* -1: HSMCA_TEST_SERIAL_REPEAT not read yet */
	int (*real)(unsigned char *, int) = (int (*)(unsigned char *, int))dlsym(RTLD_NEXT, "RAND_bytes");
	if (num == RANDSHIM_SERIAL_LEN) {
		int expect = -1;
		const char *v = getenv("HSMCA_TEST_SERIAL_REPEAT");
		atomic_compare_exchange_strong(&left, &expect, v ? atoi(v) : 0);
		if (atomic_fetch_sub(&left, 1) > 0) {
			memset(buf, RANDSHIM_BYTE, RANDSHIM_SERIAL_LEN);
			return 1;
		}
	}
	return real ? real(buf, num) : 0;
}
