#include "commit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app.h"
#include "frame.h"
#include "log.h"
#include "sgn_client.h"
#include "signerfit.h"
#include "signpipe.h"

enum commit_kind { COMMIT_ONE, COMMIT_INTENT, COMMIT_ISSUED };

struct commit_item {
	enum commit_kind kind;
	const struct db_batch_intent *intent; /* COMMIT_INTENT */
	const struct db_batch_issued *issued; /* COMMIT_ISSUED */
	int (*apply)(struct db *db, void *arg);
	void *arg;
	const char *row; /* the serial of the existing certificate row apply changes, if any (borrowed) */
	int rc;
	struct commit_sign *sign;    /* sign-ahead intent (COMMIT_INTENT) */
	bool signed_done;            /* sign->sign_rc is final */
	struct commit_item *owner;   /* a sign-ahead result (malloc'd): the intent item whose worker waits */
	bool batched; /* stored by its batch statement */
	bool stored_before; /* found already committed by an earlier transaction (commit_recheck): final */
	bool done;
	pthread_cond_t cv; /* the waiting worker's own: only it is woken */
	/* submitted without waiting (committer_submit*): called once the item is final, then the item is freed */
	void (*on_done)(void *done_arg, int rc);
	void *done_arg;
	struct commit_item *next;
};

struct committer {
	char conninfo[1024];
	struct db *db;
	pthread_mutex_t mu;
	pthread_cond_t work;
	struct commit_item *head, *tail;
	size_t queued; /* items between head and tail (for /metrics) */
	pthread_t thread;
	/* since the last commit_stats line (committer thread only) */
	unsigned long batches, items;
	unsigned long committed; /* batches ever, for commit_replan */
	double db_ms; /* time in PostgreSQL (statements + COMMIT) */
	time_t stats_at;
	/* sign-ahead: committed intents wait here for the signing thread, so a slow or stopped signer never
	 * holds up the committer (other intents, results and everything else keep being committed) */
	struct commit_item *sign_head, *sign_tail;
	size_t sign_queued; /* items between sign_head and sign_tail */
	pthread_cond_t sign_work;
	pthread_t sign_thread;
	struct sgn_client sgn[COMMIT_SIGN_CONNS]; /* signing thread only */
	bool sgn_open[COMMIT_SIGN_CONNS];
	struct timespec sign_backoff_until; /* signing thread only: after a hung signer, batches are not sent */
};

/* A signer that gives no answer (and takes no request) for this long is hung: its intents are answered
 * "signer unavailable" and stay pending for recovery. Long, because the signer may still sign what was
 * sent once it wakes up, and recovery would then sign the same TBS again: a stall shorter than this (a
 * stopped or busy signer) costs only latency. */
#define COMMIT_SIGN_TIMEOUT_MS 30000
/* After a signer timed out, batches are answered "signer unavailable" at once (their rows stay pending for
 * recovery) for this long, then one is sent as a probe: a hung signer costs each request at most one
 * timeout instead of a queue of them, and intents do not wait in the queue past the recovery lease. */
#define COMMIT_SIGN_BACKOFF_S 10

/* Takes up to COMMIT_BATCH_MAX waiting items. */
/* Under mu: detaches up to COMMIT_BATCH_MAX items from the non-empty queue (head, tail, queued). */
static struct commit_item *commit_detach(struct commit_item **head, struct commit_item **tail, size_t *queued)
{
	struct commit_item *batch = *head, *last = *head;
	size_t n = 1;
	for (; n < COMMIT_BATCH_MAX && last->next; n++)
		last = last->next;
	*head = last->next;
	if (!*head)
		*tail = NULL;
	last->next = NULL;
	*queued -= n;
	return batch;
}

static struct commit_item *commit_take(struct committer *c)
{
	pthread_mutex_lock(&c->mu);
	while (!c->head)
		pthread_cond_wait(&c->work, &c->mu);
	struct commit_item *batch = commit_detach(&c->head, &c->tail, &c->queued);
	pthread_mutex_unlock(&c->mu);
	return batch;
}

/* One statement for every intent and issued result of the batch (db_batch_apply). Outside a transaction it
 * is a transaction of its own. On failure nothing of it is stored, and the caller runs every item on its own
 * (no savepoint round trips on the common path). */
static int commit_batch(struct committer *c, struct commit_item *batch)
{
	const struct db_batch_intent *vi[COMMIT_BATCH_MAX];
	const struct db_batch_issued *vs[COMMIT_BATCH_MAX];
	size_t ni = 0, ns = 0;
	for (struct commit_item *i = batch; i; i = i->next) {
		if (i->kind == COMMIT_INTENT)
			vi[ni++] = i->intent;
		else if (i->kind == COMMIT_ISSUED)
			vs[ns++] = i->issued;
	}
	if (ni + ns == 0)
		return 0;
	int rc = db_batch_apply(c->db, vi, ni, vs, ns);
	if (rc) {
		log_event("warning", "commit_batch_failed", "items=%zu why=\"%s\"", ni + ns, db_errmsg(c->db));
		return rc;
	}
	for (struct commit_item *i = batch; i; i = i->next)
		if (i->kind != COMMIT_ONE)
			i->batched = true;
	return 0;
}

/* An intent or issued result that failed on its own after its batch statement failed: the statement (or a
 * connection lost once the server had it) may have stored it after all, or another path (recovery) may have
 * completed the row meanwhile. Looks at the row as it is (db_cert_compare) and returns the item's true
 * outcome: 0 if exactly this intent, or this issued certificate, is what the row holds (else an intent's
 * HSMCA_ERR_SERIAL stands: its serial is another row's, draw again); HSMCA_ERR_EXISTS if
 * the row was completed otherwise (issued with another DER, failed, revoked), which is not "will be
 * recovered"; else rc unchanged. An intent counts as stored only while its row is pending (one found issued
 * or failed was completed by another path, recovery in another frontend say: HSMCA_ERR_EXISTS, not signed
 * again), and a row that cannot be looked at is HSMCA_ERR_IO, never SERIAL (a fresh serial for an intent that
 * may be stored would make two certificates of one request). In the batch's transaction, after the item's
 * savepoint was rolled back. */
static int commit_recheck(struct db *db, const struct commit_item *i, int rc)
{
	char status[16];
	bool same = false;
	if (i->kind == COMMIT_INTENT && rc == HSMCA_ERR_SERIAL) {
		const struct db_cert *ct = i->intent->cert;
		if (db_cert_compare(db, ct->serial_hex, ct->tbs, ct->tbs_len, NULL, 0, status, sizeof status, &same) != 0)
			return HSMCA_ERR_IO;
		if (same && strcmp(status, "pending") != 0 && strcmp(status, "held") != 0) {
			log_event("warning", "commit_not_pending", "serial=%s status=%s what=intent", ct->serial_hex, status);
			return HSMCA_ERR_EXISTS;
		}
		if (same) {
			log_event("info", "commit_already_stored", "serial=%s what=intent", ct->serial_hex);
			return 0;
		}
	} else if (i->kind == COMMIT_ISSUED && rc == HSMCA_ERR_STATE) {
		const struct db_batch_issued *is = i->issued;
		if (db_cert_compare(db, is->serial_hex, NULL, 0, is->der, is->der_len, status, sizeof status, &same) != 0 ||
		    strcmp(status, "pending") == 0)
			return rc;
		if (same && strcmp(status, "issued") == 0) {
			log_event("info", "commit_already_stored", "serial=%s what=issued", is->serial_hex);
			return 0;
		}
		log_event("warning", "commit_not_pending", "serial=%s status=%s same_der=%d", is->serial_hex, status, same);
		return HSMCA_ERR_EXISTS;
	}
	return rc;
}

/* rc is a statement that ran out of the service's statement timeout (db_timed_out); logged once per batch */
static bool commit_timed_out(struct committer *c, int rc)
{
	if (rc == 0 || !db_timed_out(c->db))
		return false;
	log_event("error", "commit_timeout", "why=\"%s\"", db_errmsg(c->db));
	return true;
}

/* In the batch's transaction, before anything else: the existing rows its items change, locked before any
 * audit row takes the chain's head (db_batch_lock_rows). Recovery in another frontend takes a row and then
 * the head; an item's savepoint taking a row after an earlier item's audit row deadlocked with it. */
static int commit_lock_rows(struct committer *c, const struct commit_item *batch)
{
	const char *rows[COMMIT_BATCH_MAX];
	size_t n = 0;
	for (const struct commit_item *i = batch; i && n < COMMIT_BATCH_MAX; i = i->next)
		if (i->row)
			rows[n++] = i->row;
	int rc = db_batch_lock_rows(c->db, rows, n);
	if (rc && !commit_timed_out(c, rc))
		log_event("error", "commit_lock_failed", "rows=%zu why=\"%s\"", n, db_errmsg(c->db));
	return rc;
}

static void commit_apply_all(struct committer *c, struct commit_item *batch)
{
	char err[DB_ERR_MAX];
	int rc = 0;
	bool all_batchable = true, batch_failed = false;
	/* a signer process the signing thread met since: who unsealed it (nothing to do, nearly always); before
	 * db_ensure, which replaces a connection this may have lost */
	if (c->db)
		(void)signerfit_record_unsealed(c->db);
	if (!c->db && (rc = db_open(c->conninfo, &c->db, err)))
		log_event("error", "commit_db_unavailable", "why=\"%s\"", err);
	else if ((rc = db_ensure(c->db)) != 0) /* a batch is a unit of work: replace a dropped connection */
		log_event("error", "commit_db_unavailable", "why=\"%s\"", db_errmsg(c->db));
	for (struct commit_item *i = batch; i; i = i->next)
		all_batchable = all_batchable && i->kind != COMMIT_ONE;
	if (!rc && all_batchable) {
		/* the common case: one statement, committed on its own, one round trip for the whole batch */
		if ((rc = commit_batch(c, batch)) == 0)
			return;
		/* rolled back whole by PostgreSQL (db_batch_apply is all or nothing), unless the connection was lost
		 * after the server had it: each item on its own below, and one that fails looks at its row
		 * (commit_recheck). Not after a statement timeout (a lock held elsewhere, a stalled server): each item
		 * would wait as long again, a batch of n holding every waiting request n + 1 times the limit */
		batch_failed = true;
		if (!commit_timed_out(c, rc))
			rc = 0;
	}
	if (!rc)
		rc = db_begin(c->db);
	if (!rc)
		rc = commit_lock_rows(c, batch);
	if (!rc && !batch_failed && (rc = commit_batch(c, batch)) != 0) {
		for (struct commit_item *i = batch; i; i = i->next)
			i->batched = false; /* rolled back with the transaction: each on its own below */
		db_rollback(c->db);
		rc = commit_timed_out(c, rc) ? rc : db_begin(c->db);
		if (!rc) /* the rollback let the rows go: taken again before any item's audit row takes the head */
			rc = commit_lock_rows(c, batch);
	}
	for (struct commit_item *i = batch; i; i = i->next) {
		if (i->batched)
			continue;
		if (rc || (i->rc = db_savepoint(c->db))) {
			i->rc = rc ? rc : i->rc;
			continue;
		}
		i->rc = i->apply(c->db, i->arg);
		if (commit_timed_out(c, i->rc))
			rc = i->rc; /* the rest would wait as long: the whole transaction fails now */
		else if ((i->rc ? db_savepoint_rollback(c->db) : db_savepoint_release(c->db)) != 0) {
			/* the transaction itself is broken (the connection lost, say): fail the batch. The item's row
			 * was not looked at, so its own code cannot stand either: an intent's SERIAL would draw a new
			 * serial for a request whose first intent may be the row it met (stored by the batch statement
			 * whose reply was lost), two certificates of one request */
			rc = rc ? rc : HSMCA_ERR_IO;
			if (i->rc == HSMCA_ERR_SERIAL)
				i->rc = HSMCA_ERR_IO;
		} else if (i->rc)
			i->stored_before = (i->rc = commit_recheck(c->db, i, i->rc)) == 0;
	}
	if (!rc && (rc = db_commit(c->db)) != 0)
		log_event("error", "commit_failed", "why=\"%s\"", db_errmsg(c->db));
	if (rc) {
		if (c->db)
			db_rollback(c->db);
		for (struct commit_item *i = batch; i; i = i->next)
			if (!i->rc && !i->stored_before) /* a row an earlier transaction stored stays stored */
				i->rc = rc;
	}
}

static double commit_ms(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e3 + (double)(b->tv_nsec - a->tv_nsec) / 1e6;
}

/* One line every COMMIT_STATS_SECONDS while busy: how well batching works. */
static void commit_stats(struct committer *c, const struct commit_item *batch)
{
	time_t now = time(NULL);
	for (const struct commit_item *i = batch; i; i = i->next)
		c->items++;
	c->batches++;
	if (now - c->stats_at < COMMIT_STATS_SECONDS)
		return;
	if (c->stats_at)
		log_event("info", "commit_stats", "batches=%lu items=%lu per_batch=%.1f db_ms_per_batch=%.2f",
			  c->batches, c->items, (double)c->items / (double)c->batches, c->db_ms / (double)c->batches);
	c->stats_at = now;
	c->batches = c->items = 0;
	c->db_ms = 0;
}

/* Signs v[0..n) over the open connections conn[0..nc) (signpipe.h); a connection that failed is closed. False
 * if any item was left without signed_done. */
static bool commit_sign_pipelined(struct committer *c, struct commit_item **v, size_t n, const int *conn, size_t nc,
				  bool *timed_out)
{
	struct sgn_client *g[COMMIT_SIGN_CONNS];
	struct commit_sign *s[COMMIT_BATCH_MAX];
	bool done[COMMIT_BATCH_MAX] = { false }, keep[COMMIT_SIGN_CONNS];
	for (size_t k = 0; k < nc; k++)
		g[k] = &c->sgn[conn[k]];
	for (size_t j = 0; j < n; j++)
		s[j] = v[j]->sign;
	bool ok = signpipe_sign(g, nc, s, done, n, keep);
	for (size_t j = 0; j < n; j++)
		v[j]->signed_done = v[j]->signed_done || done[j];
	for (size_t k = 0; k < nc; k++) {
		if (keep[k])
			continue;
		*timed_out = *timed_out || g[k]->timed_out;
		sgn_client_close(g[k]);
		c->sgn_open[conn[k]] = false;
	}
	return ok;
}

/* Whether s has waited past its send_by (set when its intent was committed: sign_wait_seconds later), with the
 * answer its client gets: 503 signer-unavailable, the row left pending for the recovery pass. */
bool commit_sign_overdue(struct commit_sign *s, const struct timespec *now)
{
	if (s->send_by.tv_sec == 0 || now->tv_sec < s->send_by.tv_sec ||
	    (now->tv_sec == s->send_by.tv_sec && now->tv_nsec <= s->send_by.tv_nsec))
		return false; /* (0: no limit) */
	s->sign_rc = HSMCA_ERR_IO;
	snprintf(s->why, sizeof(s->why), "the signer is slow: the request waited longer than sign_wait_seconds to be "
		 "sent to it; the recovery pass signs it");
	return true;
}

/* Intents of batch that waited in the signing queue longer than sign_wait_seconds (FCONF_SIGN_WAIT_DEFAULT
 * without an app): not sent (signpipe_sign looks again before it sends each one). A signer that is slow but
 * answers (so never timed out) kept intents queued without end, past the recovery lease, and another
 * frontend's pass then signed the same TBS while this one still would. */
static void commit_sign_expire(struct commit_item *batch, const struct timespec *now)
{
	unsigned n = 0;
	for (struct commit_item *i = batch; i; i = i->next)
		if (i->sign && !i->rc && !i->signed_done && commit_sign_overdue(i->sign, now)) {
			i->signed_done = true;
			n++;
		}
	if (n)
		log_event("warning", "sign_queue_expired", "intents=%u why=\"left pending for the recovery pass: they "
			  "waited longer than sign_wait_seconds to be sent to the signer\"", n);
}

/* Signs the committed sign-ahead intents of the batch over COMMIT_SIGN_CONNS connections (those that open);
 * a lost connection is reopened once, as a worker would. The TBS of each is durable by now (its batch is
 * committed). */
static void commit_sign_all(struct committer *c, struct commit_item *batch)
{
	struct commit_item *v[COMMIT_BATCH_MAX];
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	commit_sign_expire(batch, &now);
	bool timed_out = false, backoff = now.tv_sec < c->sign_backoff_until.tv_sec;
	for (int attempt = 0; attempt < 2 && !timed_out && !backoff; attempt++) {
		int conn[COMMIT_SIGN_CONNS];
		size_t n = 0, nc = 0;
		for (struct commit_item *i = batch; i; i = i->next)
			if (i->sign && !i->rc && !i->signed_done)
				v[n++] = i;
		if (n == 0)
			return;
		for (int k = 0; k < COMMIT_SIGN_CONNS && (size_t)k < n; k++) {
			if (!c->sgn_open[k]) {
				/* a signer restarted with other keys or pins: logged (signerfit_recheck) */
				if (signerfit_open(&c->sgn[k], v[0]->sign->app, v[0]->sign->socket, COMMIT_SIGN_TIMEOUT_MS) != 0) {
					timed_out = timed_out || c->sgn[k].timed_out;
					sgn_client_close(&c->sgn[k]);
					if (timed_out)
						break; /* hung: opening the next would wait as long again */
					continue;
				}
				c->sgn_open[k] = true;
			}
			conn[nc++] = k;
		}
		if (nc == 0)
			break;
		if (commit_sign_pipelined(c, v, n, conn, nc, &timed_out))
			return; /* else: lost (signer restarted?): reconnect once; hung (timed out): not again */
		if (!timed_out)
			log_event("warning", "signer_connection_lost", "attempt=%d why=\"the signer closed a connection with "
				  "requests unanswered; %s\"", attempt + 1,
				  attempt == 0 ? "sending them again on a new one" : "answering them unavailable");
	}
	if (timed_out) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		c->sign_backoff_until.tv_sec = now.tv_sec + COMMIT_SIGN_BACKOFF_S;
		log_event("error", "signer_hung", "timeout_ms=%d backoff_s=%d", COMMIT_SIGN_TIMEOUT_MS, COMMIT_SIGN_BACKOFF_S);
	}
	for (struct commit_item *i = batch; i; i = i->next)
		if (i->sign && !i->rc && !i->signed_done) {
			i->sign->sign_rc = HSMCA_ERR_IO;
			snprintf(i->sign->why, sizeof(i->sign->why), "%s",
				 backoff || timed_out ? "the signer does not answer (hung?)" : "the signer is not available (sealed or down)");
			i->signed_done = true;
		}
}

/* What the issued batch statement does for one item, for the one-by-one fallback. */
static int commit_issued_apply(struct db *db, void *arg)
{
	const struct db_batch_issued *is = arg;
	int rc = db_cert_mark_issued(db, is->serial_hex, is->der, is->der_len);
	return rc ? rc : db_audit_append(db, is->actor, "certificate.issued", is->serial_hex, is->details);
}

/* The issued result of a signed sign-ahead intent, for the next batch; NULL if out of memory. */
static struct commit_item *commit_result_item(struct commit_item *intent)
{
	struct commit_sign *s = intent->sign;
	struct commit_item *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	s->issued = (struct db_batch_issued){ intent->intent->cert->serial_hex, s->der.data, s->der.len, s->actor, "{}" };
	r->kind = COMMIT_ISSUED;
	r->issued = &s->issued;
	r->row = s->issued.serial_hex;
	r->apply = commit_issued_apply;
	r->arg = &s->issued;
	r->owner = intent;
	return r;
}

/* Wakes the worker waiting for item i (the intent's worker for a sign-ahead result, freed here), or, for an
 * item submitted without waiting, moves it to *fired: its callback runs once mu is released. Under mu. */
static void commit_wake(struct commit_item *i, struct commit_item **fired)
{
	struct commit_item *waiter = i->owner ? i->owner : i;
	if (i->owner)
		waiter->sign->result_rc = i->rc;
	waiter->done = true;
	if (waiter->on_done) {
		waiter->next = *fired;
		*fired = waiter;
	} else {
		pthread_cond_signal(&waiter->cv);
	}
	if (i->owner)
		free(i);
}

/* Runs the callbacks of finished items submitted without waiting (not under mu) and frees the items. */
static void commit_fire(struct commit_item *fired)
{
	while (fired) {
		struct commit_item *next = fired->next;
		fired->on_done(fired->done_arg, fired->rc);
		free(fired);
		fired = next;
	}
}

/* Hands each item of a finished batch back: a committed sign-ahead intent goes to the signing thread,
 * every other item wakes its worker. */
static void commit_finish(struct committer *c, struct commit_item *batch)
{
	struct commit_item *fired = NULL;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&c->mu);
	for (struct commit_item *i = batch, *next; i; i = next) {
		next = i->next; /* i belongs to its worker again once done is set */
		i->next = NULL;
		if (i->sign && !i->rc) {
			unsigned wait_s = i->sign->app ? i->sign->app->conf.sign_wait_seconds : FCONF_SIGN_WAIT_DEFAULT;
			i->sign->send_by = now;
			i->sign->send_by.tv_sec += (time_t)wait_s;
			if (c->sign_tail)
				c->sign_tail->next = i;
			else
				c->sign_head = i;
			c->sign_tail = i;
			c->sign_queued++;
			pthread_cond_signal(&c->sign_work);
			continue;
		}
		commit_wake(i, &fired);
	}
	pthread_mutex_unlock(&c->mu);
	commit_fire(fired);
}

/* After signing: a signed intent's result goes to the head of the commit queue (the next batch); an
 * unsigned one (refused, or signer unavailable) wakes its worker. */
static void commit_signed(struct committer *c, struct commit_item *batch)
{
	struct commit_item *results = NULL, *last = NULL, *fired = NULL;
	pthread_mutex_lock(&c->mu);
	for (struct commit_item *i = batch, *next; i; i = next) {
		next = i->next;
		if (i->sign->sign_rc == 0) {
			struct commit_item *r = commit_result_item(i);
			if (r) {
				if (last)
					last->next = r;
				else
					results = r;
				last = r;
				c->queued++;
				continue;
			}
			i->sign->result_rc = HSMCA_ERR_NOMEM; /* stays pending: recovery completes it */
		}
		commit_wake(i, &fired);
	}
	if (results) {
		last->next = c->head;
		if (!c->head)
			c->tail = last;
		c->head = results;
		pthread_cond_signal(&c->work);
	}
	pthread_mutex_unlock(&c->mu);
	commit_fire(fired);
}

static void *commit_sign_main(void *arg)
{
	struct committer *c = arg;
	for (;;) {
		pthread_mutex_lock(&c->mu);
		while (!c->sign_head)
			pthread_cond_wait(&c->sign_work, &c->mu);
		struct commit_item *batch = commit_detach(&c->sign_head, &c->sign_tail, &c->sign_queued);
		pthread_mutex_unlock(&c->mu);
		commit_sign_all(c, batch);
		commit_signed(c, batch);
	}
	return NULL;
}

/* After 32, 64, 128, ... batches and then every COMMIT_REPLAN_EVERY, the connection's statements are planned
 * again (db_replan): a new appliance starts with empty tables, and the batch statement's generic plan, made
 * then, would scan certificates sequentially while it grows by thousands of rows a second. */
#define COMMIT_REPLAN_FIRST 32
#define COMMIT_REPLAN_EVERY 8192
static void commit_replan(struct committer *c)
{
	unsigned long n = ++c->committed;
	bool due = n % COMMIT_REPLAN_EVERY == 0 || (n >= COMMIT_REPLAN_FIRST && (n & (n - 1)) == 0);
	if (due && c->db && db_replan(c->db) != 0)
		log_event("warning", "commit_replan_failed", "why=\"%s\"", db_errmsg(c->db));
}

static void *commit_main(void *arg)
{
	struct committer *c = arg;
	for (;;) {
		struct commit_item *batch = commit_take(c);
		struct timespec t0, t1;
		commit_stats(c, batch);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		commit_apply_all(c, batch);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		c->db_ms += commit_ms(&t0, &t1);
		commit_finish(c, batch);
		commit_replan(c);
	}
	return NULL;
}

int committer_start(const char *conninfo, struct committer **out, char *err)
{
	struct committer *c = calloc(1, sizeof(*c));
	int rc;
	if (!c) {
		snprintf(err, DB_ERR_MAX, "out of memory");
		return HSMCA_ERR_NOMEM;
	}
	if (strlen(conninfo) >= sizeof(c->conninfo)) {
		snprintf(err, DB_ERR_MAX, "database: conninfo too long");
		free(c);
		return HSMCA_ERR_CONFIG;
	}
	strcpy(c->conninfo, conninfo);
	/* now, before the workers take their connections: every issuance goes through this one, so it must
	 * not be the one the server has no slot left for (it reconnects later only if the server drops it) */
	if ((rc = db_open(conninfo, &c->db, err)) != 0) {
		free(c);
		return rc;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->work, NULL);
	pthread_cond_init(&c->sign_work, NULL);
	if (pthread_create(&c->sign_thread, NULL, commit_sign_main, c) != 0) {
		db_close(c->db);
		free(c);
		snprintf(err, DB_ERR_MAX, "cannot start a thread");
		return HSMCA_ERR_NOMEM;
	}
	if (pthread_create(&c->thread, NULL, commit_main, c) != 0) {
		snprintf(err, DB_ERR_MAX, "cannot start a thread");
		return HSMCA_ERR_NOMEM; /* c stays allocated: the signing thread holds it; start-up fails anyway */
	}
	*out = c;
	return 0;
}

/* Under mu: appends item to the commit queue and wakes the committer if it was idle. */
static void commit_enqueue(struct committer *c, struct commit_item *item)
{
	bool idle = !c->head;
	if (c->tail)
		c->tail->next = item;
	else
		c->head = item;
	c->tail = item;
	c->queued++;
	if (idle) /* a busy committer takes everything waiting when its batch is done */
		pthread_cond_signal(&c->work);
}

size_t committer_queued(struct committer *c)
{
	pthread_mutex_lock(&c->mu);
	size_t n = c->queued;
	pthread_mutex_unlock(&c->mu);
	return n;
}

static int commit_wait(struct committer *c, struct commit_item *item)
{
	pthread_cond_init(&item->cv, NULL);
	pthread_mutex_lock(&c->mu);
	commit_enqueue(c, item);
	while (!item->done)
		pthread_cond_wait(&item->cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
	pthread_cond_destroy(&item->cv);
	return item->rc;
}

int committer_run(struct committer *c, const char *row, int (*apply)(struct db *db, void *arg), void *arg)
{
	struct commit_item item = { .kind = COMMIT_ONE, .apply = apply, .arg = arg, .row = row };
	return commit_wait(c, &item);
}

int committer_run_intent(struct committer *c, const struct db_batch_intent *in,
			 int (*apply)(struct db *db, void *arg), void *arg)
{
	struct commit_item item = { .kind = COMMIT_INTENT, .intent = in, .apply = apply, .arg = arg };
	return commit_wait(c, &item);
}

int committer_run_intent_sign(struct committer *c, const struct db_batch_intent *in,
			      int (*apply)(struct db *db, void *arg), void *arg, struct commit_sign *s)
{
	struct commit_item item = { .kind = COMMIT_INTENT, .intent = in, .apply = apply, .arg = arg, .sign = s };
	s->sign_rc = HSMCA_ERR_IO;
	s->result_rc = HSMCA_ERR_IO;
	s->why[0] = '\0';
	dbuf_init(&s->der);
	return commit_wait(c, &item);
}

int committer_run_issued(struct committer *c, const struct db_batch_issued *is,
			 int (*apply)(struct db *db, void *arg), void *arg)
{
	struct commit_item item = { .kind = COMMIT_ISSUED, .issued = is, .apply = apply, .arg = arg, .row = is->serial_hex };
	return commit_wait(c, &item);
}

static int commit_submit(struct committer *c, const struct commit_item *tmpl, void (*done)(void *, int), void *done_arg)
{
	struct commit_item *item = malloc(sizeof(*item));
	if (!item)
		return HSMCA_ERR_NOMEM;
	*item = *tmpl;
	item->on_done = done;
	item->done_arg = done_arg;
	pthread_mutex_lock(&c->mu);
	commit_enqueue(c, item);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

int committer_submit(struct committer *c, const char *row, int (*apply)(struct db *db, void *arg), void *arg,
		     void (*done)(void *done_arg, int rc), void *done_arg)
{
	struct commit_item tmpl = { .kind = COMMIT_ONE, .apply = apply, .arg = arg, .row = row };
	return commit_submit(c, &tmpl, done, done_arg);
}

int committer_submit_intent_sign(struct committer *c, const struct db_batch_intent *in,
				 int (*apply)(struct db *db, void *arg), void *arg, struct commit_sign *s,
				 void (*done)(void *done_arg, int rc), void *done_arg)
{
	struct commit_item tmpl = { .kind = COMMIT_INTENT, .intent = in, .apply = apply, .arg = arg, .sign = s };
	s->sign_rc = HSMCA_ERR_IO;
	s->result_rc = HSMCA_ERR_IO;
	s->why[0] = '\0';
	dbuf_init(&s->der);
	return commit_submit(c, &tmpl, done, done_arg);
}
