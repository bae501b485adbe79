/* Worker threads: each owns one PKCS#11 session and serves its own set of connections with poll(),
 * so no client waits on another's request beyond one signature, and both cores are used. */
#ifndef HSMCA_SGN_WORKER_H
#define HSMCA_SGN_WORKER_H

#include "state.h"

#define SGN_CONNS_PER_WORKER 64

/* Starts st->n_workers threads and returns once each has finished its thread set-up (glibc registers
 * rseq and the robust list in the new thread: those calls must happen before the sandbox). They then
 * block on st->start until the main thread has entered the sandbox and waits there too. */
int sgn_workers_start(struct sgn_state *st) HSMCA_WUR;

#endif
