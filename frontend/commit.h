/* Group commit. Workers hand their small write transactions (the intent of a certificate, its result,
 * the audit row with each) to one committer thread, which runs all that are waiting in one PostgreSQL
 * transaction. Intents and issued results are batchable: all of a batch go in one statement each
 * (frontend/db_batch.c); any other write runs on its own under a savepoint, so one bad item fails alone; if
 * a batch statement fails, the transaction is rolled back and every item of the batch runs on its own. One fsync and one turn of the audit chain's lock then
 * serve a whole batch instead of one certificate. A worker returns only when its item is committed, so the
 * rule "the intent is durable before the signer is asked" is unchanged. */
#ifndef HSMCA_COMMIT_H
#define HSMCA_COMMIT_H

#include <time.h>

#include "db.h"
#include "db_batch.h"
#include "der.h"

struct app;

#define COMMIT_BATCH_MAX 128
#define COMMIT_STATS_SECONDS 5 /* a commit_stats log line at most this often */

struct committer;

/* Opens the committer's own connection (conninfo) and starts its threads. The connection is opened here,
 * before anything else takes the server's connection slots; if it cannot be, err (DB_ERR_MAX bytes) says
 * why and nothing is started. */
int committer_start(const char *conninfo, struct committer **out, char *err) HSMCA_WUR;
/* Runs apply(db, arg) inside the next batch and waits until the batch is committed. Returns apply's error,
 * or the commit's error if the batch could not be committed (then nothing of this item is stored). row: the
 * serial of the existing certificate row apply changes (NULL if none; borrowed until it returns): the batch's
 * transaction locks it before any audit row is written, the order recovery's claim takes them in. */
int committer_run(struct committer *c, const char *row, int (*apply)(struct db *db, void *arg), void *arg) HSMCA_WUR;
/* The same for an intent or an issued result that may share one statement with the rest of its batch;
 * apply(db, arg) must do exactly what the batch statement does for it (it runs if the batch statement
 * fails). Borrowed until it returns. */
int committer_run_intent(struct committer *c, const struct db_batch_intent *in,
			 int (*apply)(struct db *db, void *arg), void *arg) HSMCA_WUR;
int committer_run_issued(struct committer *c, const struct db_batch_issued *is,
			 int (*apply)(struct db *db, void *arg), void *arg) HSMCA_WUR;

/* Sign-ahead: an intent whose certificate the committer's signing thread signs as soon as the intent's
 * batch is COMMITted (never before), pipelining every TBS waiting to the signer over one connection, and
 * whose issued result (mark_issued + "certificate.issued" audit row) then goes to the head of the commit
 * queue. The worker sleeps once instead of three times (intent, its own signer round trip, result). A slow
 * or stopped signer holds up only the signing thread: the committer keeps committing everything else. */
#define COMMIT_WHY_MAX 448
#define COMMIT_SIGN_CONNS 2 /* the signing thread's connections: the signer serves each on one worker */
struct commit_sign {
	/* in (borrowed until committer_run_intent_sign returns) */
	const char *socket, *label; /* signer socket path, issuing key label */
	const uint8_t *tbs;
	size_t tbs_len;
	const char *actor; /* of the issued row's audit row */
	const struct app *app; /* NULL, or whose profiles a new signer connection's HELLO is held against
				* (signerfit_recheck) */
	/* out, when the intent was committed (return 0) */
	int sign_rc; /* 0; HSMCA_ERR_POLICY: the signer refused the TBS (why); HSMCA_ERR_AGAIN: it answered but
		      * could not sign now (why: HSM error, unknown key, clock); HSMCA_ERR_IO: signer unavailable */
	char why[COMMIT_WHY_MAX];
	struct dbuf der; /* sign_rc 0: the certificate (caller frees; committer_run_intent_sign inits it) */
	int result_rc;   /* sign_rc 0: 0 if the issued state was committed, else why not (the row stays pending) */
	struct db_batch_issued issued; /* the committer's */
	struct timespec send_by; /* the committer's: CLOCK_MONOTONIC past which it is not sent (sign_wait_seconds; 0: none) */
};
int committer_run_intent_sign(struct committer *c, const struct db_batch_intent *in,
			      int (*apply)(struct db *db, void *arg), void *arg, struct commit_sign *s) HSMCA_WUR;

/* The same without waiting: the caller's thread is free at once (a worker takes its next request), and
 * done(done_arg, rc) is called exactly once when the item is final, on a committer thread and not under
 * any committer lock, with what committer_run / committer_run_intent_sign would have returned (s filled as
 * they fill it). in, apply's arg and s are borrowed until done is called. Returns 0 if queued, or
 * HSMCA_ERR_NOMEM (then done is never called). */
int committer_submit(struct committer *c, const char *row, int (*apply)(struct db *db, void *arg), void *arg,
		     void (*done)(void *done_arg, int rc), void *done_arg) HSMCA_WUR;
/* Items waiting to be taken into a batch (not those of the batch running now, nor intents waiting to be
 * signed): the commit backlog, for /metrics and for tests that must know two items will share a batch. */
size_t committer_queued(struct committer *c);
/* Signing thread: true, with s's answer set (HSMCA_ERR_IO, why), if now is past s->send_by (not to be sent). */
bool commit_sign_overdue(struct commit_sign *s, const struct timespec *now);

int committer_submit_intent_sign(struct committer *c, const struct db_batch_intent *in,
				 int (*apply)(struct db *db, void *arg), void *arg, struct commit_sign *s,
				 void (*done)(void *done_arg, int rc), void *done_arg) HSMCA_WUR;

#endif
