#include "acctwatch.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "log.h"

#define ACCTWATCH_CHANNEL "hsmca_accounts" /* schema 004: account and API key changes only */
#define ACCTWATCH_RETRY_SECONDS 1

/* Every notification on the channel is a change of accounts or api_keys (the payload, "<table>:<change
 * number>", is not needed: the whole cache goes). */
static void acctwatch_on_notify(void *ctx, const char *channel, const char *payload)
{
	struct app *a = ctx;
	(void)payload;
	if (strcmp(channel, ACCTWATCH_CHANNEL) == 0)
		auth_accounts_changed(a->rl);
}

static void *acctwatch_main(void *arg)
{
	struct app *a = arg;
	char err[DB_ERR_MAX];
	bool logged = false;
	for (;;) {
		struct db *db = NULL;
		if (db_open(a->conf.database, &db, err) || db_listen(db, ACCTWATCH_CHANNEL)) {
			if (!logged)
				log_event("warn", "account_watch_down", "why=\"%s\" effect=\"account rows read on every request\"",
					  db ? db_errmsg(db) : err);
			logged = true;
			db_close(db);
			sleep(ACCTWATCH_RETRY_SECONDS);
			continue;
		}
		/* listening from here on: every change committed after this point reaches us */
		auth_accounts_watching(a->rl, true);
		if (logged)
			log_event("info", "account_watch_up", "channel=%s", ACCTWATCH_CHANNEL);
		logged = false;
		while (db_wait_notify(db, -1, acctwatch_on_notify, a) == 0)
			;
		auth_accounts_watching(a->rl, false);
		log_event("warn", "account_watch_down", "why=\"%s\" effect=\"account rows read on every request\"",
			  db_errmsg(db));
		logged = true;
		db_close(db);
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
