/* Audit checkpoints (schema/007_audit_checkpoints.sql, design.md "periodically the chain head is signed by
 * the HSM"): with conf.checkpoint_key set, a thread with its own database and signer connections looks at
 * the audit chain's head every conf.checkpoint_seconds and, if it moved since the last checkpoint, has the
 * signer sign it (SIGN_CHECKPOINT with that key), checks the signature under the key's certificate
 * (conf.checkpoint_cert, else the issuer_cert of a profile whose issuer is that key) and stores it. A sealed
 * or absent signer or a database that is down only delays checkpoints (logged once per cause, and when they
 * resume); nothing waits for them. Every checkpoint is also logged (audit_id and head hash), a copy outside the database, and /metrics
 * shows the last row covered, when, and the failed tries (hsmca_audit_checkpoint_*). */
#ifndef HSMCA_CHECKPOINT_H
#define HSMCA_CHECKPOINT_H

#include "app.h"

/* Starts the thread for a (which outlives it: the thread runs until the process exits); without
 * checkpoint_key does nothing. err (CONF_ERR_MAX): no checkpoint_cert and no profile's issuer is
 * checkpoint_key. */
int checkpoint_start(struct app *a, char *err) HSMCA_WUR;

#endif
