/* Whether a serving signer answers this frontend (signerup.h). */
#include <stdatomic.h>

#include "log.h"
#include "sgn_client.h"
#include "signerfit.h"
#include "signerup.h"

static atomic_bool signerup_state = true;
static atomic_bool signerup_probing; /* a probe job is queued or running */
static atomic_uint signerup_fails;    /* connections that failed since the last that did not */

void signerup_note(int rc)
{
	if (rc == HSMCA_ERR_NOMEM)
		return; /* says nothing about the signer */
	bool up = rc == 0;
	/* down after SIGNERUP_FAILS failures in a row: one slow HELLO (a signer busy signing, its connections all
	 * taken) does not take this frontend out of a load balancer's pool */
	if (up)
		atomic_store(&signerup_fails, 0);
	else if (atomic_fetch_add(&signerup_fails, 1) + 1 < SIGNERUP_FAILS)
		return;
	if (atomic_exchange(&signerup_state, up) == up)
		return;
	if (up)
		log_event("info", "signer_available", "why=\"a connection to the signer answered its HELLO\"");
	else
		log_event("warn", "signer_unavailable",
			  "why=\"the signer does not answer (stopped, sealed or hung): issuance answers 503 until it does; "
			  "/healthz says so\"");
}

bool signerup_up(void)
{
	return atomic_load(&signerup_state);
}

bool signerup_probe_claim(void)
{
	return !atomic_exchange(&signerup_probing, true);
}

void signerup_probe_release(void)
{
	atomic_store(&signerup_probing, false);
}

int signerup_probe(const struct app *a)
{
	struct sgn_client c;
	int rc = signerfit_open(&c, a, a->conf.signer_socket, SIGNERUP_PROBE_TIMEOUT_MS);
	if (rc == 0)
		sgn_client_close(&c);
	return rc;
}
