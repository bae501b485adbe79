/* Batched writes for the group committer (frontend/commit.c): the intents of a whole batch and its issued
 * certificates, each with its audit row, in ONE statement instead of a savepoint and two statements per
 * certificate. Every item is validated exactly as db_cert_insert_pending / db_cert_mark_issued /
 * db_audit_append validate it. A failure of the statement (or a row that did not change) fails the whole
 * call; the caller then runs the items one by one under savepoints to learn which one failed. */
#ifndef HSMCA_DB_BATCH_H
#define HSMCA_DB_BATCH_H

#include "db.h"

#define DB_BATCH_MAX 256 /* items per statement */

/* An intent (status 'pending') and its audit row: action "certificate.requested", object the serial. */
struct db_batch_intent {
	const struct db_cert *cert; /* borrowed */
	const char *actor;          /* audit actor */
	const char *details;        /* audit details (JSON object text) */
};

/* pending -> issued with the signed DER, and its audit row: action "certificate.issued". */
struct db_batch_issued {
	const char *serial_hex;
	const uint8_t *der;
	size_t der_len;
	const char *actor, *details;
};

/* The intents vi[0..ni) and the issued results vs[0..ns) (either may be empty, not both; at most DB_BATCH_MAX
 * each) in ONE statement: inside the current transaction, or, outside one, as a transaction of its own
 * (one round trip: the statement commits, or nothing of it does). HSMCA_ERR_STATE if a row did not change
 * (then nothing of the statement is stored, inside a transaction or not). */
int db_batch_apply(struct db *db, const struct db_batch_intent *const *vi, size_t ni,
		   const struct db_batch_issued *const *vs, size_t ns) HSMCA_WUR;

/* Inside the current transaction, locks (FOR UPDATE, in the serials' order) the certificate rows of
 * serials[0..n) that exist (n <= DB_BATCH_MAX). A transaction that will change existing rows and write audit
 * rows takes the rows first, as recovery's claim does (db_cert_claim_pending: the row, then the audit chain's
 * head when its state is written): the other order deadlocks with it. */
int db_batch_lock_rows(struct db *db, const char *const *serials, size_t n) HSMCA_WUR;
#endif
