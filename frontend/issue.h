/* Issuance: a requester's CSR under a profile becomes a certificate, with the intent (serial + TBS)
 * committed before the signer is asked, and every outcome on the audit log. */
#ifndef HSMCA_ISSUE_H
#define HSMCA_ISSUE_H

#include "app.h"
#include "csr.h"
#include "der.h"

#define ISSUE_SERIAL_LEN 16

/* Builds the leaf TBS for csr under profile p (index pi in app->profiles), lints it with the signer's
 * rules. out_serial_hex gets the serial, out_validity notBefore and notAfter. Returns 0 or HSMCA_ERR_POLICY with why. */
int issue_build_tbs(const struct app *a, unsigned pi, const struct csr *csr, struct dbuf *out_tbs,
		    char out_serial_hex[DB_SERIAL_HEX_MAX], time_t out_validity[2], char *why) HSMCA_WUR;
/* Signs tbs with the issuer's key through this worker's signer connection (reconnecting once if needed).
 * On a signer refusal why gets its message. */
int issue_sign(struct worker *w, const char *label, const struct dbuf *tbs, struct dbuf *out_der, char *why) HSMCA_WUR;
#define ISSUE_RECOVER_INTERVAL_MAX 10 /* seconds between recovery passes (at most) */

/* Recovery: every pending row at least min_age seconds old is re-signed from its stored TBS (then issued)
 * or, if the signer refuses it, marked failed. With the signer unreachable rows stay pending. */
int issue_recover(struct worker *w, unsigned min_age, unsigned *out_issued, unsigned *out_failed) HSMCA_WUR;

#endif
