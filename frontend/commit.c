#include "commit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

enum commit_kind { COMMIT_ONE, COMMIT_INTENT, COMMIT_ISSUED };

struct commit_item {
	enum commit_kind kind;
	const struct db_batch_intent *intent; /* COMMIT_INTENT */
	const struct db_batch_issued *issued; /* COMMIT_ISSUED */
	int (*apply)(struct db *db, void *arg);
	void *arg;
	int rc;
	bool batched; /* stored by its batch statement */
	bool done;
	pthread_cond_t cv; /* the waiting worker's own: only it is woken */
	struct commit_item *next;
};

struct committer {
	char conninfo[1024];
	struct db *db;
	pthread_mutex_t mu;
	pthread_cond_t work;
	struct commit_item *head, *tail;
	pthread_t thread;
};

/* Takes up to COMMIT_BATCH_MAX waiting items. */
static struct commit_item *commit_take(struct committer *c)
{
	pthread_mutex_lock(&c->mu);
	while (!c->head)
		pthread_cond_wait(&c->work, &c->mu);
	struct commit_item *batch = c->head, *last = c->head;
	for (int n = 1; n < COMMIT_BATCH_MAX && last->next; n++)
		last = last->next;
	c->head = last->next;
	if (!c->head)
		c->tail = NULL;
	last->next = NULL;
	pthread_mutex_unlock(&c->mu);
	return batch;
}

/* One statement for every item of this kind, under a savepoint: on failure the items stay unbatched and
 * run one by one. Returns non-zero only if the transaction itself is broken. */
static int commit_batch_kind(struct committer *c, struct commit_item *batch, enum commit_kind kind)
{
	const void *v[COMMIT_BATCH_MAX];
	size_t n = 0;
	int rc;
	for (struct commit_item *i = batch; i; i = i->next)
		if (i->kind == kind)
			v[n++] = kind == COMMIT_INTENT ? (const void *)i->intent : (const void *)i->issued;
	if (n == 0)
		return 0;
	if ((rc = db_savepoint(c->db)))
		return rc;
	rc = kind == COMMIT_INTENT ? db_batch_insert_pending(c->db, (const struct db_batch_intent *const *)v, n)
				   : db_batch_mark_issued(c->db, (const struct db_batch_issued *const *)v, n);
	if (rc) {
		log_event("warning", "commit_batch_failed", "items=%zu why=\"%s\"", n, db_errmsg(c->db));
		return db_savepoint_rollback(c->db) ? HSMCA_ERR_IO : 0;
	}
	for (struct commit_item *i = batch; i; i = i->next)
		if (i->kind == kind)
			i->batched = true;
	return db_savepoint_release(c->db) ? HSMCA_ERR_IO : 0;
}

static void commit_apply_all(struct committer *c, struct commit_item *batch)
{
	char err[DB_ERR_MAX];
	int rc = 0;
	if (!c->db && (rc = db_open(c->conninfo, &c->db, err)))
		log_event("error", "commit_db_unavailable", "why=\"%s\"", err);
	if (!rc)
		rc = db_begin(c->db);
	if (!rc && !(rc = commit_batch_kind(c, batch, COMMIT_INTENT)))
		rc = commit_batch_kind(c, batch, COMMIT_ISSUED);
	for (struct commit_item *i = batch; i; i = i->next) {
		if (i->batched)
			continue;
		if (rc || (i->rc = db_savepoint(c->db))) {
			i->rc = rc ? rc : i->rc;
			continue;
		}
		i->rc = i->apply(c->db, i->arg);
		if ((i->rc ? db_savepoint_rollback(c->db) : db_savepoint_release(c->db)) != 0 && !rc)
			rc = HSMCA_ERR_IO; /* the transaction itself is broken: fail the batch */
	}
	if (!rc && (rc = db_commit(c->db)) != 0)
		log_event("error", "commit_failed", "why=\"%s\"", db_errmsg(c->db));
	if (rc) {
		if (c->db)
			db_rollback(c->db);
		for (struct commit_item *i = batch; i; i = i->next)
			if (!i->rc)
				i->rc = rc;
	}
}

static void *commit_main(void *arg)
{
	struct committer *c = arg;
	for (;;) {
		struct commit_item *batch = commit_take(c);
		commit_apply_all(c, batch);
		pthread_mutex_lock(&c->mu);
		for (struct commit_item *i = batch, *next; i; i = next) {
			next = i->next; /* i belongs to its worker again once done is set */
			i->done = true;
			pthread_cond_signal(&i->cv);
		}
		pthread_mutex_unlock(&c->mu);
	}
	return NULL;
}

int committer_start(const char *conninfo, struct committer **out)
{
	struct committer *c = calloc(1, sizeof(*c));
	if (!c || strlen(conninfo) >= sizeof(c->conninfo)) {
		free(c);
		return HSMCA_ERR_CONFIG;
	}
	strcpy(c->conninfo, conninfo);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->work, NULL);
	if (pthread_create(&c->thread, NULL, commit_main, c) != 0) {
		free(c);
		return HSMCA_ERR_NOMEM;
	}
	*out = c;
	return 0;
}

static int commit_wait(struct committer *c, struct commit_item *item)
{
	pthread_cond_init(&item->cv, NULL);
	pthread_mutex_lock(&c->mu);
	if (c->tail)
		c->tail->next = item;
	else
		c->head = item;
	c->tail = item;
	pthread_cond_signal(&c->work);
	while (!item->done)
		pthread_cond_wait(&item->cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
	pthread_cond_destroy(&item->cv);
	return item->rc;
}

int committer_run(struct committer *c, int (*apply)(struct db *db, void *arg), void *arg)
{
	struct commit_item item = { .kind = COMMIT_ONE, .apply = apply, .arg = arg };
	return commit_wait(c, &item);
}

int committer_run_intent(struct committer *c, const struct db_batch_intent *in,
			 int (*apply)(struct db *db, void *arg), void *arg)
{
	struct commit_item item = { .kind = COMMIT_INTENT, .intent = in, .apply = apply, .arg = arg };
	return commit_wait(c, &item);
}

int committer_run_issued(struct committer *c, const struct db_batch_issued *is,
			 int (*apply)(struct db *db, void *arg), void *arg)
{
	struct commit_item item = { .kind = COMMIT_ISSUED, .issued = is, .apply = apply, .arg = arg };
	return commit_wait(c, &item);
}
