/* Locked memory for secrets (PINs, shares, passphrases). */
#ifndef HSMCA_SECMEM_H
#define HSMCA_SECMEM_H

#include <stddef.h>

/* Returns a zeroed, mlock'd, MADV_DONTDUMP buffer of len bytes, or NULL. Caller owns it; free with secmem_free. */
void *secmem_alloc(size_t len);
/* Wipes and frees a buffer from secmem_alloc (NULL is fine). */
void secmem_free(void *p, size_t len);
/* For a process about to hold secrets outside secmem (a PKCS#11 module's own memory: the token key, keys
 * being generated; passphrases in library buffers): no core file (RLIMIT_CORE 0) and not dumpable (no
 * ptrace or /proc/PID/mem by same-uid processes). 0 or HSMCA_ERR_IO. */
int secmem_nodump(void);

#endif
