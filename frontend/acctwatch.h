/* The account watcher: a thread with its own database connection that LISTENs on hsmca_accounts (schema
 * 004: one NOTIFY per statement that changes accounts or api_keys) and voids the account cache of auth.c on
 * every such change, by any process. While it is not listening (start-up, a lost
 * connection) nothing is cached, so a missed notification can never leave a stale row in use. */
#ifndef HSMCA_ACCTWATCH_H
#define HSMCA_ACCTWATCH_H

#include "app.h"

/* Starts the watcher thread for a (which outlives it: the thread runs until the process exits). */
int acctwatch_start(struct app *a) HSMCA_WUR;

#endif
