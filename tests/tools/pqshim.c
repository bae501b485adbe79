/* Test-only LD_PRELOAD library, never linked into hsmca (tests/integration/frontend_serial.sh): the connection
 * to PostgreSQL is lost just before a chosen statement. HSMCA_TEST_PQ_DROP_BEFORE is the statement's text, as
 * the frontend sends it (prepared under a name of its own, or not); the first HSMCA_TEST_PQ_DROP_TIMES (default
 * 1) times it is run, the connection's socket is shut down first, so libpq fails it as it fails a statement
 * whose server went away. Every other statement, and that one after those times, runs as it would. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RTLD_NEXT */
#endif
#include <dlfcn.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define PQSHIM_NAMES 64
#define PQSHIM_NAME_MAX 64

static pthread_mutex_t pqshim_mu = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const PGconn *conn;
	char name[PQSHIM_NAME_MAX];
} pqshim_names[PQSHIM_NAMES]; /* the statement's prepared names, each on its connection */
static unsigned pqshim_n;

static bool pqshim_is_target(const char *query)
{
	const char *t = getenv("HSMCA_TEST_PQ_DROP_BEFORE");
	return t && query && !strcmp(query, t);
}

/* true: drop the connection before this run (one of the first HSMCA_TEST_PQ_DROP_TIMES) */
static bool pqshim_take(void)
{
	static atomic_int left = -1; /* -1: not read yet */
	int expect = -1;
	const char *v = getenv("HSMCA_TEST_PQ_DROP_TIMES");
	atomic_compare_exchange_strong(&left, &expect, v ? atoi(v) : 1);
	return atomic_fetch_sub(&left, 1) > 0;
}

/* libpq's own functions by name: the shim links nothing, so a process without libpq (curl, started with the
 * same environment) loads it without unresolved symbols */
static void pqshim_drop(PGconn *conn)
{
	int (*sock)(const PGconn *) = (int (*)(const PGconn *))dlsym(RTLD_DEFAULT, "PQsocket");
	if (sock && pqshim_take())
		shutdown(sock(conn), SHUT_RDWR);
}

PGresult *PQprepare(PGconn *conn, const char *name, const char *query, int n, const Oid *types)
{
	PGresult *(*real)(PGconn *, const char *, const char *, int, const Oid *) =
		(PGresult * (*)(PGconn *, const char *, const char *, int, const Oid *)) dlsym(RTLD_NEXT, "PQprepare");
	if (pqshim_is_target(query) && name && strlen(name) < PQSHIM_NAME_MAX) {
		pthread_mutex_lock(&pqshim_mu);
		if (pqshim_n < PQSHIM_NAMES) {
			pqshim_names[pqshim_n].conn = conn;
			strcpy(pqshim_names[pqshim_n++].name, name);
		}
		pthread_mutex_unlock(&pqshim_mu);
	}
	return real ? real(conn, name, query, n, types) : NULL;
}

PGresult *PQexecPrepared(PGconn *conn, const char *name, int n, const char *const *values, const int *lengths,
			 const int *formats, int result_format)
{
	PGresult *(*real)(PGconn *, const char *, int, const char *const *, const int *, const int *, int) =
		(PGresult * (*)(PGconn *, const char *, int, const char *const *, const int *, const int *, int))
			dlsym(RTLD_NEXT, "PQexecPrepared");
	bool target = false;
	pthread_mutex_lock(&pqshim_mu);
	for (unsigned i = 0; i < pqshim_n && !target; i++)
		target = pqshim_names[i].conn == conn && name && !strcmp(name, pqshim_names[i].name);
	pthread_mutex_unlock(&pqshim_mu);
	if (target)
		pqshim_drop(conn);
	return real ? real(conn, name, n, values, lengths, formats, result_format) : NULL;
}

PGresult *PQexecParams(PGconn *conn, const char *query, int n, const Oid *types, const char *const *values,
		       const int *lengths, const int *formats, int result_format)
{
	PGresult *(*real)(PGconn *, const char *, int, const Oid *, const char *const *, const int *, const int *,
			  int) = (PGresult * (*)(PGconn *, const char *, int, const Oid *, const char *const *,
						 const int *, const int *, int)) dlsym(RTLD_NEXT, "PQexecParams");
	if (pqshim_is_target(query))
		pqshim_drop(conn);
	return real ? real(conn, query, n, types, values, lengths, formats, result_format) : NULL;
}
