#include "wipealloc.h"

#include <event2/event.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

static void *wipealloc_malloc(size_t n)
{
	return malloc(n);
}

/* malloc_usable_size: the block's whole size, what was written included (glibc; ASan's interceptor too) */
static void wipealloc_free(void *p)
{
	if (!p)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

/* never in place: a block that moves would leave its old bytes behind */
static void *wipealloc_realloc(void *p, size_t n)
{
	if (!p)
		return malloc(n);
	if (n == 0) {
		wipealloc_free(p);
		return NULL;
	}
	size_t old = malloc_usable_size(p);
	void *q = malloc(n);
	if (!q)
		return NULL; /* p stays, as realloc leaves it */
	memcpy(q, p, old < n ? old : n);
	wipealloc_free(p);
	return q;
}

void wipealloc_install(void)
{
	event_set_mem_functions(wipealloc_malloc, wipealloc_realloc, wipealloc_free);
}
