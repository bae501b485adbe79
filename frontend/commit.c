#include "commit.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct commit_item {
	int (*apply)(struct db *db, void *arg);
	void *arg;
	int rc;
	bool done;
	struct commit_item *next;
};

struct committer {
	char conninfo[1024];
	struct db *db;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
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

static void commit_apply_all(struct committer *c, struct commit_item *batch)
{
	char err[DB_ERR_MAX];
	int rc = 0;
	if (!c->db && (rc = db_open(c->conninfo, &c->db, err)))
		log_event("error", "commit_db_unavailable", "why=\"%s\"", err);
	if (!rc)
		rc = db_begin(c->db);
	for (struct commit_item *i = batch; i; i = i->next) {
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
			next = i->next;
			i->done = true;
		}
		pthread_cond_broadcast(&c->done);
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
	pthread_cond_init(&c->done, NULL);
	if (pthread_create(&c->thread, NULL, commit_main, c) != 0) {
		free(c);
		return HSMCA_ERR_NOMEM;
	}
	*out = c;
	return 0;
}

int committer_run(struct committer *c, int (*apply)(struct db *db, void *arg), void *arg)
{
	struct commit_item item = { .apply = apply, .arg = arg };
	pthread_mutex_lock(&c->mu);
	if (c->tail)
		c->tail->next = &item;
	else
		c->head = &item;
	c->tail = &item;
	pthread_cond_signal(&c->work);
	while (!item.done)
		pthread_cond_wait(&c->done, &c->mu);
	pthread_mutex_unlock(&c->mu);
	return item.rc;
}
