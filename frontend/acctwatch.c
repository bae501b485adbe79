#include "acctwatch.h"

#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"
#include "profrec.h"

#define ACCTWATCH_CHANNEL "hsmca_accounts" /* schema 004: account and API key changes only */
#define ACCTWATCH_RETRY_SECONDS 1
/* A quiet connection is asked for a round trip this often and must answer within ACCTWATCH_PING_TIMEOUT_MS:
 * one that went silent cannot deliver changes, so the cache stops after at most ~10 s instead of serving
 * account rows (a disabled account, an old role) until TCP gives up. */
#define ACCTWATCH_PING_MS 5000
#define ACCTWATCH_PING_TIMEOUT_MS 5000

/* Every notification on ACCTWATCH_CHANNEL is a change of accounts or api_keys (the payload, "<table>:<change
 * number>", is not needed: the whole cache goes); one on DB_SCHEMA_CHANNEL a change of schema_version (a
 * migration: every session checks the version again before its next unit of work). */
struct acctwatch {
	struct app *a;
	bool profiles_due; /* a frontend recorded profiles (PROFREC_CHANNEL): compare ours once the wait returns */
};

static void acctwatch_on_notify(void *ctx, const char *channel, const char *payload)
{
	struct acctwatch *x = ctx;
	struct app *a = x->a;
	if (strcmp(channel, ACCTWATCH_CHANNEL) == 0)
		auth_accounts_changed(a->rl);
	else if (strcmp(channel, PROFREC_CHANNEL) == 0)
		x->profiles_due = true;
	else if (strcmp(channel, DB_SCHEMA_CHANNEL) == 0) {
		char q[48];
		log_event("info", "schema_changed", "version=%s effect=\"every session checks the schema version again\"",
			  log_quote(payload ? payload : "", q, sizeof q));
		db_schema_changed();
	}
}

/* The profiles compared with the record if a frontend recorded some (or, at connect, might have while
 * nobody listened); 0, or the connection's error */
static int acctwatch_profiles(struct db *db, struct acctwatch *x)
{
	if (!x->profiles_due || !atomic_load(&x->a->profiles_recorded))
		return 0; /* before this process's own record, its definitions are about to be the newest anyway */
	x->profiles_due = false;
	int rc = profrec_check(db, x->a);
	if (rc)
		log_event("warn", "profile_check_failed", "why=\"%s\"", db_errmsg(db));
	return rc;
}

static void *acctwatch_main(void *arg)
{
	struct app *a = arg;
	struct acctwatch x = { .a = a };
	char err[DB_ERR_MAX];
	bool logged = false;
	for (;;) {
		struct db *db = NULL;
		if (db_open(a->conf.database, &db, err) || db_listen(db, ACCTWATCH_CHANNEL) ||
		    db_listen(db, DB_SCHEMA_CHANNEL) || db_listen(db, PROFREC_CHANNEL)) {
			if (!logged)
				log_event("warn", "account_watch_down", "why=\"%s\" effect=\"account rows read on every request\"",
					  db ? db_errmsg(db) : err);
			logged = true;
			db_close(db);
			sleep(ACCTWATCH_RETRY_SECONDS);
			continue;
		}
		/* listening from here on: every change committed after this point reaches us; a migration while
		 * nobody listened is found by checking every session once more */
		auth_accounts_watching(a->rl, true);
		db_schema_changed();
		x.profiles_due = true;
		if (logged)
			log_event("info", "account_watch_up", "channel=%s", ACCTWATCH_CHANNEL);
		logged = false;
		for (;;) {
			struct timespec before, after;
			if (acctwatch_profiles(db, &x))
				break;
			clock_gettime(CLOCK_MONOTONIC, &before);
			if (db_wait_notify(db, ACCTWATCH_PING_MS, acctwatch_on_notify, &x))
				break;
			clock_gettime(CLOCK_MONOTONIC, &after);
			bool quiet = (after.tv_sec - before.tv_sec) * 1000 + (after.tv_nsec - before.tv_nsec) / 1000000 >=
				     ACCTWATCH_PING_MS;
			if (quiet && (db_ping(db, ACCTWATCH_PING_TIMEOUT_MS) ||
				      db_wait_notify(db, 0, acctwatch_on_notify, &x)))
				break;
		}
		auth_accounts_watching(a->rl, false);
		log_event("warn", "account_watch_down", "why=\"%s\" effect=\"account rows read on every request\"",
			  db_errmsg(db));
		logged = true;
		db_close(db);
		sleep(ACCTWATCH_RETRY_SECONDS); /* a failure that repeats (a profile check refused) is not a busy loop */
	}
	return NULL;
}

int acctwatch_start(struct app *a)
{
	pthread_t t;
	if (pthread_create(&t, NULL, acctwatch_main, a) != 0)
		return HSMCA_ERR_NOMEM;
	pthread_detach(t);
	return 0;
}
