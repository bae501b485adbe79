/* LISTEN/NOTIFY on a connection of its own (see db.h): the frontend learns of changes made by any process
 * sharing the database without polling it. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db_priv.h"

int db_listen(struct db *db, const char *channel)
{
	char sql[96];
	for (const char *c = channel; *c; c++) /* an identifier of our own, never caller input: [a-z_] only */
		if (!((*c >= 'a' && *c <= 'z') || *c == '_'))
			return HSMCA_ERR_PARSE;
	if (snprintf(sql, sizeof(sql), "LISTEN %s", channel) >= (int)sizeof(sql))
		return HSMCA_ERR_LIMIT;
	PGresult *r = PQexecParams(db->conn, sql, 0, NULL, NULL, NULL, NULL, 0);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : HSMCA_ERR_IO;
	if (rc)
		snprintf(db->err, sizeof(db->err), "%s", PQerrorMessage(db->conn));
	PQclear(r);
	return rc;
}

int db_notify(struct db *db, const char *channel)
{
	struct db_params p = { 0 };
	db_params_text(&p, channel);
	return db_exec_cmd(db, "SELECT pg_catalog.pg_notify($1, '')", &p);
}

int db_wait_notify(struct db *db, int timeout_ms, void (*fn)(void *ctx, const char *channel, const char *payload),
		   void *ctx)
{
	struct pollfd pfd = { .fd = PQsocket(db->conn), .events = POLLIN };
	if (pfd.fd < 0)
		return HSMCA_ERR_IO;
	PGnotify *early;
	/* notifications libpq already read (during a query on this connection) are handed over before waiting */
	bool had = false;
	while ((early = PQnotifies(db->conn)) != NULL) {
		fn(ctx, early->relname, early->extra);
		PQfreemem(early);
		had = true;
	}
	int n = poll(&pfd, 1, had ? 0 : timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : HSMCA_ERR_IO;
	if (n > 0 && PQconsumeInput(db->conn) != 1) {
		snprintf(db->err, sizeof(db->err), "%s", PQerrorMessage(db->conn));
		return HSMCA_ERR_IO;
	}
	PGnotify *note;
	while ((note = PQnotifies(db->conn)) != NULL) {
		fn(ctx, note->relname, note->extra);
		PQfreemem(note);
	}
	return PQstatus(db->conn) == CONNECTION_OK ? 0 : HSMCA_ERR_IO;
}

static long long db_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int db_ping(struct db *db, int timeout_ms)
{
	long long deadline = db_now_ms() + timeout_ms;
	int rc = 0;
	if (PQsendQueryParams(db->conn, "SELECT 1 AS listener_ping", 0, NULL, NULL, NULL, NULL, 0) != 1 || PQflush(db->conn) != 0) {
		snprintf(db->err, sizeof(db->err), "%s", PQerrorMessage(db->conn));
		return HSMCA_ERR_IO;
	}
	while (PQisBusy(db->conn)) {
		long long left = deadline - db_now_ms();
		struct pollfd pfd = { .fd = PQsocket(db->conn), .events = POLLIN };
		if (left <= 0) {
			snprintf(db->err, sizeof(db->err), "the server did not answer within %d ms", timeout_ms);
			return HSMCA_ERR_IO; /* the query is still in flight: the caller closes the connection */
		}
		int n = poll(&pfd, 1, (int)left);
		if (n < 0 && errno != EINTR)
			return HSMCA_ERR_IO;
		if (n > 0 && PQconsumeInput(db->conn) != 1) {
			snprintf(db->err, sizeof(db->err), "%s", PQerrorMessage(db->conn));
			return HSMCA_ERR_IO;
		}
	}
	PGresult *r;
	while ((r = PQgetResult(db->conn)) != NULL) {
		if (PQresultStatus(r) != PGRES_TUPLES_OK && !rc) {
			snprintf(db->err, sizeof(db->err), "%s", PQerrorMessage(db->conn));
			rc = HSMCA_ERR_IO;
		}
		PQclear(r);
	}
	return rc;
}
