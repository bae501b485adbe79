/* libevent's memory, wiped when freed: request lines, headers (an Authorization header's password or API
 * key) and bodies (an account API body's password) pass through its buffers, which it frees unwiped. */
#ifndef HSMCA_WIPEALLOC_H
#define HSMCA_WIPEALLOC_H

/* Makes libevent allocate through malloc and wipe every block it frees or moves (event_set_mem_functions).
 * Call before anything of libevent's is made (evthread_use_pthreads, event_base_new). */
void wipealloc_install(void);

#endif
