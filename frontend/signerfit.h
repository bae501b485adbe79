/* At start-up, the profiles against the keys the running signer holds and what each of them may sign (its
 * HELLO reply: policy/pinwire.h), with the check `hsmca-signer check-config --profiles` runs offline
 * (policy/profcheck.c): a profile the signer would refuse certificates of stops the frontend, each mismatch
 * logged, instead of showing up as a 502 per request. A signer that does not answer (sealed, not started yet,
 * hung past timeout_ms) does not stop it: requests wait for the signer as before, and the check is skipped
 * with a warning, as it is when its reply carries no pins this frontend reads (a signer of an earlier release,
 * left running while the frontend is upgraded). A signer restarted later with other pins is not checked again
 * (its refusals say why). */
#ifndef HSMCA_SIGNERFIT_H
#define HSMCA_SIGNERFIT_H

#include "app.h"
#include "err.h"

/* 0: every profile fits, or the signer did not answer or sent no pins (logged as signer_keys_unchecked), or
 * warn and some profile does not fit (each logged at level warn as profile_unfit_signer); HSMCA_ERR_POLICY:
 * some profile does not fit (each logged at level error); HSMCA_ERR_NOMEM. */
int signerfit_check(const struct app *a, unsigned timeout_ms, bool warn) HSMCA_WUR;

#endif
