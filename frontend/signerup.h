/* signerup: whether this frontend can reach a serving signer, for /healthz, CFSSL's health and /metrics
 * (hsmca_signer_up). Every new signer connection (signerfit_open, and the start-up check) tells it how it went:
 * a signer that is sealed (its signing socket appears once it is unsealed), stopped or hung counts as down
 * after SIGNERUP_FAILS failed connections in a row, and up again at the first that answers.
 * While it is up, each recovery pass probes it after its work (signerup_probe), and while it is down a probe runs
 * every second, so the state follows a signer that stops or comes back while no request needs it. A change is logged once: level=warn event=signer_unavailable, level=info
 * event=signer_available. It starts up; the start-up check sets it. Any thread. */
#ifndef HSMCA_SIGNERUP_H
#define HSMCA_SIGNERUP_H

#include <stdbool.h>

#include "app.h"

#define SIGNERUP_PROBE_TIMEOUT_MS 1000 /* a probe's HELLO not answered within this failed */
#define SIGNERUP_FAILS 2               /* connections failed in a row before the signer counts as down */

/* rc: the result of opening a signer connection with its HELLO (0: up; HSMCA_ERR_IO or a timeout: down; others,
 * out of memory say, tell nothing about the signer and change nothing). */
void signerup_note(int rc);
/* True while the last connection made (or probe) reached a serving signer. */
bool signerup_up(void);
/* The one probe queued at a time while the signer is down (pool.c's timer): claim is true if none is queued, and
 * the caller queues one; release when it could not, or once the queued probe ran. */
bool signerup_probe_claim(void);
void signerup_probe_release(void);
/* Opens a connection to a's signer (signerfit_open: its HELLO reply is checked as any new connection's), notes
 * how it went, and closes it; its result. A worker thread (it waits up to SIGNERUP_PROBE_TIMEOUT_MS). */
int signerup_probe(const struct app *a);

#endif
