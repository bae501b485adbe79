/* Group commit. Workers hand their small write transactions (the intent of a certificate, its result,
 * the audit row with each) to one committer thread, which runs all that are waiting in one PostgreSQL
 * transaction, each item under its own savepoint. One fsync and one turn of the audit chain's lock then
 * serve a whole batch instead of one certificate. A worker returns only when its item is committed, so the
 * rule "the intent is durable before the signer is asked" is unchanged. */
#ifndef HSMCA_COMMIT_H
#define HSMCA_COMMIT_H

#include "db.h"

#define COMMIT_BATCH_MAX 128

struct committer;

/* Starts the committer thread with its own connection (conninfo). */
int committer_start(const char *conninfo, struct committer **out) HSMCA_WUR;
/* Runs apply(db, arg) inside the next batch and waits until the batch is committed. Returns apply's error,
 * or the commit's error if the batch could not be committed (then nothing of this item is stored). */
int committer_run(struct committer *c, int (*apply)(struct db *db, void *arg), void *arg) HSMCA_WUR;

#endif
