/* The profiles against the keys the running signer holds and what each of them may sign (its HELLO reply:
 * policy/pinwire.h), with the check `hsmca-signer check-config --profiles` runs offline (policy/profcheck.c).
 * At start-up, a profile the signer would refuse certificates of stops the frontend, each mismatch logged,
 * instead of showing up as a 502 per request. A signer that does not answer (sealed, not started yet, hung past
 * timeout_ms) does not stop it: requests wait for the signer as before, and the check is skipped with a warning,
 * as it is when its reply carries no pins this frontend reads (a signer of an earlier release, left running
 * while the frontend is upgraded). Afterwards, every new connection to the signer hands its HELLO reply to
 * signerfit_recheck: a reply unlike the last one checked (the signer restarted with other keys or pins, or
 * unsealed after the frontend started) is checked again and logged; the frontend cannot stop serving then, so
 * the result goes to the log and to signerfit_unfit (the /metrics gauge hsmca_signer_profiles_unfit). */
#ifndef HSMCA_SIGNERFIT_H
#define HSMCA_SIGNERFIT_H

#include "app.h"
#include "db.h"
#include "der.h"
#include "err.h"
#include "pinwire.h"
#include "sgn_client.h"

/* 0: every profile fits, or the signer did not answer or sent no pins (logged as signer_keys_unchecked), or
 * warn and some profile does not fit (each mismatch logged at level warn as profile_unfit_signer); HSMCA_ERR_POLICY:
 * some profile does not fit (each logged at level error); HSMCA_ERR_NOMEM. Call once, before any worker runs. */
int signerfit_check(const struct app *a, unsigned timeout_ms, bool warn) HSMCA_WUR;

/* Any thread, after a new connection's HELLO: reply (not kept) is the signer's HELLO reply data. Nothing
 * happens when it is the reply last checked (byte for byte, by SHA-256); else the profiles are checked against
 * it and logged (event=signer_keys changed=yes, and each mismatch as profile_unfit_signer, at level error unless
 * signer_profile_check = warn). Nothing is refused here: a request of an unfit profile meets the signer's own
 * refusal (502 naming the rule). */
void signerfit_recheck(const struct app *a, const struct dbuf *reply);

/* Any thread: sgn_client_open_timeout with a HELLO, whose reply, when a is not NULL, goes to
 * signerfit_recheck. The same return and state of c. */
int signerfit_open(struct sgn_client *c, const struct app *a, const char *socket, unsigned timeout_ms) HSMCA_WUR;

/* Puts the unseal record of a signer process seen in a HELLO reply since (who unsealed it, when, the token) on
 * the audit log, once (db_audit_append_once: one row however many frontends meet the process): action
 * signer.unsealed, actor signer, object the process's random id. 0 (also when there is nothing to record, or
 * the log has it already), or the database's error (logged; tried again on the next call). The committer
 * before each batch, the recovery pass after its run, and start-up: a thread with its own db and no
 * transaction open on it. Up to 4 processes met before one could be recorded wait their turn. */
int signerfit_record_unsealed(struct db *db);

/* The audit details of an unseal record u, NUL-terminated, appended to out: {"token", "unsealed_at" (UTC,
 * ISO 8601), "custodians": [{"name", "share"}]}, strings written as JSON strings; false (out as it was or
 * partly written: discard it) if u's time is none gmtime_r can give. */
bool signerfit_unseal_details(const struct pinwire_unsealed *u, struct dbuf *out);

/* The profiles that did not fit the signer's keys at the last check (each counted once, whatever its
 * mismatches); -1 when none was possible (no answer, no pins, out of memory). */
int signerfit_unfit(void);

#endif
