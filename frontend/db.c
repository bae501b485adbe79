/* Connection, schema version check, transactions and the helpers the other db_*.c files share.
 * Parameterised SQL only; every result is PQclear'ed on every path; columns are found by name. */
#include <ctype.h>
#include <limits.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db_priv.h"
#include "log.h"
#include "span.h"

/* SQLSTATEs we map (see schema/001_init.sql for HS001/HS002) */
#define SQLSTATE_UNIQUE "23505"
#define SQLSTATE_QUERY_CANCELED "57014" /* statement_timeout, or a cancel request */
#define SQLSTATE_FOREIGN_KEY "23503"
#define SQLSTATE_CLASS_INTEGRITY "23"
#define SQLSTATE_CLASS_DATA "22"
#define SQLSTATE_PRIVILEGE "42501"
#define SQLSTATE_SERIALIZATION "40001"
#define SQLSTATE_DEADLOCK "40P01"
#define SQLSTATE_HSMCA_CHANGE "HS001"
#define SQLSTATE_HSMCA_APPEND_ONLY "HS002"
#define SQLSTATE_HSMCA_RENEWS_UNISSUED "HS003" /* 013: a renewal of a certificate that is not issued */
#define SQLSTATE_LOCK_NOT_AVAILABLE "55P03"    /* 013: a renewal's NOWAIT on a row being changed */

/* The error texts go into log lines as why="<text>" and into replies: a double quote in them (PostgreSQL
 * quotes identifiers, and names of accounts may hold one) would end the quoted field early and let the rest
 * pass for fields of its own, so each becomes an apostrophe, and a backslash a slash. */
static void db_err_plain(char *s)
{
	for (; *s; s++)
		*s = *s == '"' ? '\'' : *s == '\\' ? '/' : *s;
}

void db_err_copy(char *dst, const char *src)
{
	size_t n;

	if (dst == NULL)
		return;
	snprintf(dst, DB_ERR_MAX, "%s", src ? src : "");
	n = strlen(dst);
	while (n > 0 && (dst[n - 1] == '\n' || dst[n - 1] == '\r'))
		dst[--n] = '\0';
	for (size_t i = 0; i < n; i++) /* one log line */
		if (dst[i] == '\n' || dst[i] == '\r')
			dst[i] = ' ';
	db_err_plain(dst);
}

int db_fail(struct db *db, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(db->err, sizeof db->err, fmt, ap);
	va_end(ap);
	db_err_plain(db->err);
	db->timed_out = false;
	db->transient = false;
	return rc;
}

int db_map_error(const char *st, const char *constraint)
{
	if (st == NULL)
		return HSMCA_ERR_IO; /* no server error: the connection failed */
	if (strcmp(st, SQLSTATE_UNIQUE) == 0) /* a serial drawn twice is not "exists": the caller draws again */
		return constraint && strcmp(constraint, DB_CONSTRAINT_SERIAL) == 0 ? HSMCA_ERR_SERIAL : HSMCA_ERR_EXISTS;
	if (strcmp(st, SQLSTATE_FOREIGN_KEY) == 0)
		return HSMCA_ERR_NOTFOUND;
	if (strncmp(st, SQLSTATE_CLASS_INTEGRITY, 2) == 0 || strncmp(st, SQLSTATE_CLASS_DATA, 2) == 0)
		return HSMCA_ERR_PARSE;
	if (strcmp(st, SQLSTATE_HSMCA_RENEWS_UNISSUED) == 0)
		return HSMCA_ERR_POLICY;
	if (strcmp(st, SQLSTATE_LOCK_NOT_AVAILABLE) == 0)
		return HSMCA_ERR_AGAIN;
	if (strcmp(st, SQLSTATE_PRIVILEGE) == 0 || strcmp(st, SQLSTATE_HSMCA_APPEND_ONLY) == 0)
		return HSMCA_ERR_AUTH;
	if (strcmp(st, SQLSTATE_HSMCA_CHANGE) == 0 || strcmp(st, SQLSTATE_SERIALIZATION) == 0 ||
	    strcmp(st, SQLSTATE_DEADLOCK) == 0)
		return HSMCA_ERR_STATE;
	return HSMCA_ERR_IO;
}

int db_error_from(struct db *db, const PGresult *r, const char *what)
{
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *constraint = r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
	char line[DB_ERR_MAX];

	if (msg == NULL)
		msg = PQerrorMessage(db->conn);
	db_err_copy(line, msg);
	snprintf(db->err, sizeof db->err, "%s: %s%s%s", what, st ? st : "", st ? " " : "", line);
	db_err_plain(db->err);
	db->timed_out = st && strcmp(st, SQLSTATE_QUERY_CANCELED) == 0;
	db->transient = st && (strcmp(st, SQLSTATE_SERIALIZATION) == 0 || strcmp(st, SQLSTATE_DEADLOCK) == 0);
	return db_map_error(st, constraint);
}

bool db_timed_out(const struct db *db)
{
	return db && db->timed_out;
}

bool db_transient(const struct db *db)
{
	return db && db->transient;
}

void db_params_text(struct db_params *p, const char *v)
{
	if (p->n >= DB_PARAMS_MAX)
		abort(); /* a programming error: the SQL is fixed */
	p->val[p->n] = v;
	p->len[p->n] = 0;
	p->fmt[p->n] = DB_FMT_TEXT;
	p->n++;
}

void db_params_bin(struct db_params *p, const void *v, size_t len)
{
	if (p->n >= DB_PARAMS_MAX || len > DB_BLOB_MAX)
		abort(); /* callers check DB_BLOB_MAX first */
	p->val[p->n] = v;
	p->len[p->n] = (int)len;
	p->fmt[p->n] = DB_FMT_BINARY;
	p->n++;
}

static uint32_t db_stmt_hash(const char *s)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static void db_stmt_clear(struct db *db)
{
	for (unsigned i = 0; i < db->n_stmts; i++)
		free(db->stmts[i].sql);
	db->n_stmts = 0;
}

/* The statements worth keeping parsed: the fixed DML and transaction control of the db_*.c files. */
static bool db_stmt_cacheable(const char *sql)
{
	static const char *const heads[] = {"SELECT ", "INSERT ", "UPDATE ", "WITH ", "BEGIN", "COMMIT",
					    "SAVEPOINT ", "RELEASE ", "ROLLBACK TO "};

	for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
		if (strncmp(sql, heads[i], strlen(heads[i])) == 0)
			return true;
	return false;
}

/* The index of sql's prepared statement on this connection, preparing it on first use; -1 if it is not
 * kept (cache full or not cacheable: the caller runs it unprepared). A failed prepare (the same parse an
 * unprepared run would fail) leaves its result in *out_fail and returns -1. */
static int db_stmt_get(struct db *db, const char *sql, int n_params, PGresult **out_fail)
{
	uint32_t h = db_stmt_hash(sql);
	char name[16];
	PGresult *r;
	bool ok;

	*out_fail = NULL;
	for (unsigned i = 0; i < db->n_stmts; i++)
		if (db->stmts[i].hash == h && strcmp(db->stmts[i].sql, sql) == 0)
			return (int)i;
	if (!db->stmt_cache || db->n_stmts >= DB_STMT_CACHE || !db_stmt_cacheable(sql) ||
	    PQtransactionStatus(db->conn) == PQTRANS_INERROR)
		return -1;
	snprintf(name, sizeof name, "hsmca_%u", db->n_stmts);
	r = PQprepare(db->conn, name, sql, n_params, NULL);
	ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
	if (!ok) {
		*out_fail = r;
		return -1;
	}
	PQclear(r);
	if (!(db->stmts[db->n_stmts].sql = strdup(sql))) {
		PQclear(PQexec(db->conn, "DEALLOCATE ALL")); /* keep the server's names in step with ours */
		db_stmt_clear(db);
		return -1;
	}
	db->stmts[db->n_stmts].hash = h;
	return (int)db->n_stmts++;
}

int db_exec(struct db *db, const char *sql, const struct db_params *p, int fmt, PGresult **out)
{
	PGresult *r;
	ExecStatusType st;
	PGresult *fail = NULL;
	int rc = 0, k = db_stmt_get(db, sql, p ? p->n : 0, &fail);
	char name[16];

	*out = NULL;
	db->transient = false; /* of this statement, not of one before it */
	if (fail) {
		r = fail; /* the prepare's error is the statement's error */
	} else if (k >= 0) {
		snprintf(name, sizeof name, "hsmca_%d", k);
		r = PQexecPrepared(db->conn, name, p ? p->n : 0, p ? p->val : NULL, p ? p->len : NULL,
				   p ? p->fmt : NULL, fmt);
	} else {
		r = PQexecParams(db->conn, sql, p ? p->n : 0, NULL, p ? p->val : NULL, p ? p->len : NULL,
				 p ? p->fmt : NULL, fmt);
	}
	st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		rc = db_error_from(db, r, "query failed");
		goto out;
	}
	*out = r;
	r = NULL;
out:
	PQclear(r);
	return rc;
}

int db_replan(struct db *db)
{
	PGresult *r = PQexec(db->conn, "DEALLOCATE ALL");
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : db_error_from(db, r, "DEALLOCATE ALL");
	PQclear(r);
	db_stmt_clear(db); /* prepared again on their next use (if DEALLOCATE failed, the session is gone) */
	return rc;
}

int db_exec_cmd(struct db *db, const char *sql, const struct db_params *p)
{
	PGresult *r = NULL;
	int rc = db_exec(db, sql, p, DB_FMT_TEXT, &r);

	PQclear(r);
	return rc;
}

int db_columns(struct db *db, const PGresult *r, const char *const *names, int *cols, int n)
{
	for (int i = 0; i < n; i++) {
		cols[i] = PQfnumber(r, names[i]);
		if (cols[i] < 0)
			return db_fail(db, HSMCA_ERR_STATE, "result has no column %s", names[i]);
	}
	return 0;
}

int db_copy_text(struct db *db, const PGresult *r, int row, int col, char *out, size_t out_len)
{
	size_t n = (size_t)PQgetlength(r, row, col);

	if (PQgetisnull(r, row, col))
		n = 0;
	if (n >= out_len || memchr(PQgetvalue(r, row, col), '\0', n) != NULL)
		return db_fail(db, HSMCA_ERR_LIMIT, "column %s: value too long", PQfname(r, col));
	memcpy(out, PQgetvalue(r, row, col), n);
	out[n] = '\0';
	return 0;
}

/* a bytea column of NULL or DB_MAC_LEN bytes; one of another length reads as a MAC that does not match, so
 * that its row is failed rather than left pending */
static void db_mac_col(const PGresult *r, int row, int col, uint8_t mac[DB_MAC_LEN], bool *has)
{
	*has = !PQgetisnull(r, row, col);
	memset(mac, 0, DB_MAC_LEN);
	if (!*has)
		return;
	if (PQgetlength(r, row, col) == DB_MAC_LEN) /* else (the owner past the CHECK): all zero, which no MAC is */
		memcpy(mac, PQgetvalue(r, row, col), DB_MAC_LEN);
}

int db_intent_cols(struct db *db, const PGresult *r, int row, const int cols[4], struct db_intent_macs *out)
{
	static const char *const gates[] = { "none", "gated", "legacy" };
	const char *g = PQgetvalue(r, row, cols[3]);
	size_t gl = (size_t)PQgetlength(r, row, cols[3]);

	memset(out, 0, sizeof(*out));
	out->legacy = !PQgetisnull(r, row, cols[1]) && PQgetlength(r, row, cols[1]) == 1 &&
		      PQgetvalue(r, row, cols[1])[0] == 1;
	db_mac_col(r, row, cols[0], out->mac, &out->has_mac);
	db_mac_col(r, row, cols[2], out->release_mac, &out->has_release_mac);
	for (out->gate = 0; out->gate < 3; out->gate++)
		if (gl == strlen(gates[out->gate]) && !memcmp(g, gates[out->gate], gl))
			return 0;
	return db_fail(db, HSMCA_ERR_STATE, "gate: not none, gated or legacy");
}

int db_serial_norm(struct db *db, const char *in, char *out)
{
	size_t n = in ? strlen(in) : 0;

	if (n == 0 || n >= DB_SERIAL_HEX_MAX)
		return db_fail(db, HSMCA_ERR_PARSE, "serial: 1..%d hex digits expected", DB_SERIAL_HEX_MAX - 1);
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)in[i]))
			return db_fail(db, HSMCA_ERR_PARSE, "serial: not hex");
		out[i] = (char)tolower((unsigned char)in[i]);
	}
	out[n] = '\0';
	return 0;
}

int db_check_name(struct db *db, const char *what, const char *s, size_t max)
{
	if (s == NULL || s[0] == '\0')
		return db_fail(db, HSMCA_ERR_PARSE, "%s: empty", what);
	if (strlen(s) >= max)
		return db_fail(db, HSMCA_ERR_LIMIT, "%s: longer than %zu bytes", what, max - 1);
	return 0;
}

static void db_notice_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message; /* NOTICEs of migrations etc.: not our log format, not needed */
}

/* The session settings every connection needs (again after a PQreset). */
static unsigned db_service_timeout; /* db_set_service_timeout; read only once sessions exist */

void db_set_service_timeout(unsigned seconds)
{
	db_service_timeout = seconds;
}

/* The session's synchronous_commit as it came, and on if it came off: the rule "nothing is signed before its
 * intent is committed" is only as good as a COMMIT that returns once the intent is on disk, and with off
 * (ALTER ROLE/DATABASE ... SET, or postgresql.conf, to win the flush's time) a server crash after the signer
 * was asked would lose the intent of a signed certificate. Every other value flushes locally at least and
 * stays (local, remote_write, remote_apply: the operator's choice for standbys). db_authlimit's own
 * transactions say local themselves. */
#define DB_SYNC_COMMIT_SQL                                                                                     \
	"(SELECT was, pg_catalog.set_config('synchronous_commit', CASE was WHEN 'off' THEN 'on' ELSE was END, " \
	"false) FROM (SELECT pg_catalog.current_setting('synchronous_commit') AS was) s)"

/* Settings an ALTER ROLE/DATABASE ... SET could give every session for good (it outlives a password change)
 * and that would make the frontend's writes fail: SERIALIZABLE by default (concurrent appends to the audit
 * chain's head abort), read-only transactions, a lock or idle-in-transaction timeout short enough to cut a
 * batch. Pinned to PostgreSQL's defaults; the transactions that want REPEATABLE READ say so in their BEGIN. */
#define DB_PINNED_SQL                                                                                          \
	"pg_catalog.set_config('default_transaction_isolation', 'read committed', false), "                       \
	"pg_catalog.set_config('default_transaction_read_only', 'off', false), "                                  \
	"pg_catalog.set_config('lock_timeout', '0', false), "                                                     \
	"pg_catalog.set_config('idle_in_transaction_session_timeout', '0', false)"

/* Logs, once per process, the settings ALTER ROLE/DATABASE ... SET gives this role's sessions here (the pinned
 * ones above among them are overridden, the rest take effect): they are easy to miss. */
static void db_role_settings_note(PGconn *c)
{
	static atomic_bool noted;
	if (atomic_exchange(&noted, true))
		return;
	PGresult *r = PQexec(c, "SELECT pg_catalog.string_agg(pg_catalog.array_to_string(s.setconfig, ', '), ', ') "
				"FROM pg_catalog.pg_db_role_setting s WHERE s.setrole IN (0, (SELECT oid FROM "
				"pg_catalog.pg_roles WHERE rolname = current_user)) AND s.setdatabase IN (0, (SELECT oid "
				"FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()))");
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
		char q[512];
		log_event("warn", "db_role_settings", "settings=%s why=\"ALTER ROLE/DATABASE ... SET gives these to "
			  "the frontend's sessions; default_transaction_isolation, default_transaction_read_only, "
			  "lock_timeout, idle_in_transaction_session_timeout and synchronous_commit = off are overridden\"",
			  log_quote(PQgetvalue(r, 0, 0), q, sizeof(q)));
	}
	PQclear(r);
}

static int db_session_setup(PGconn *c, char *err)
{
	static atomic_bool warned;
	char sql[1024];
	PGresult *r;
	int rc = 0;

	PQsetNoticeProcessor(c, db_notice_quiet, NULL);
	/* statement_timeout never cancels a commit: PostgreSQL disables it before committing (postgres.c,
	 * finish_xact_command), so a COMMIT waiting for a synchronous standby is not cut short by it */
	if (db_service_timeout) /* an integer in milliseconds: nothing to quote */
		snprintf(sql, sizeof sql, "SELECT sc.was, pg_catalog.set_config('search_path', 'public', false), "
			 "pg_catalog.set_config('statement_timeout', '%u', false), " DB_PINNED_SQL " FROM "
			 DB_SYNC_COMMIT_SQL " sc", db_service_timeout * 1000);
	else
		snprintf(sql, sizeof sql, "SELECT sc.was, pg_catalog.set_config('search_path', 'public', false), "
			 DB_PINNED_SQL " FROM " DB_SYNC_COMMIT_SQL " sc");
	r = PQexec(c, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		db_err_copy(err, PQerrorMessage(c));
		rc = HSMCA_ERR_IO;
	} else if (!strcmp(PQgetvalue(r, 0, 0), "off") && !atomic_exchange(&warned, true)) {
		log_event("warn", "db_synchronous_commit", "was=off now=on why=\"the server or this role gave the "
			  "session synchronous_commit = off: an intent must be on disk before its certificate is signed\"");
	}
	PQclear(r);
	if (!rc)
		db_role_settings_note(c);
	return rc;
}

static char db_instance[DB_INSTANCE_NAME_MAX];
static pthread_once_t db_instance_once = PTHREAD_ONCE_INIT;

static void db_instance_draw(void)
{
	uint8_t id[8];
	char hex[2 * sizeof(id) + 1];
	if (RAND_bytes(id, sizeof(id)) != 1) { /* still unique enough among live processes of one host */
		uint64_t v = (uint64_t)getpid() << 32 ^ (uint64_t)time(NULL);
		memcpy(id, &v, sizeof(id));
	}
	span_hex(id, sizeof(id), hex);
	snprintf(db_instance, sizeof(db_instance), "hsmca-frontend:%s", hex);
}

const char *db_instance_name(void)
{
	pthread_once(&db_instance_once, db_instance_draw);
	return db_instance;
}

int db_connect(const char *conninfo, PGconn **out, char *err)
{
	/* dbname is expanded as a conninfo string; client_encoding and application_name after it win (and
	 * survive PQreset); the application_name names this process to the others' recovery (008). The
	 * service's connection timeouts come before it, so the conninfo's own win (libpq: the last one given) */
	char t[16], interval[16], user_ms[16];
	unsigned s = db_service_timeout;
	snprintf(t, sizeof t, "%u", s < 2 ? 2 : s); /* libpq's shortest connect_timeout */
	snprintf(interval, sizeof interval, "%u", s / 3 ? s / 3 : 1);
	snprintf(user_ms, sizeof user_ms, "%u", s * 1000);
	const char *const keys[] = {"connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
				    "keepalives_count", "tcp_user_timeout", "dbname", "client_encoding",
				    "application_name", NULL};
	const char *const vals[] = {t, "1", t, interval, "3", user_ms, conninfo ? conninfo : "", "UTF8",
				    db_instance_name(), NULL};
	const size_t first = s ? 0 : 6; /* without a service timeout: libpq's defaults */
	PGconn *c = PQconnectdbParams(keys + first, vals + first, 1);
	int rc = HSMCA_ERR_IO;

	*out = NULL;
	if (c == NULL) {
		db_err_copy(err, "cannot connect: out of memory");
		return HSMCA_ERR_NOMEM;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		db_err_copy(err, PQerrorMessage(c));
		goto out;
	}
	if ((rc = db_session_setup(c, err)))
		goto out;
	*out = c;
	c = NULL;
out:
	PQfinish(c);
	return rc;
}

int db_version_current(struct db *db, int *out)
{
	static const char *const reg_name[] = {"reg"};
	static const char *const version_name[] = {"version"};
	PGresult *r = NULL;
	int col, rc;

	*out = 0;
	rc = db_exec(db, "SELECT pg_catalog.to_regclass('public.schema_version') IS NOT NULL AS reg", NULL,
		     DB_FMT_TEXT, &r);
	if (rc || (rc = db_columns(db, r, reg_name, &col, 1)))
		goto out;
	if (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, col), "t") != 0)
		goto out; /* not migrated: version 0 */
	PQclear(r);
	r = NULL;
	rc = db_exec(db, "SELECT coalesce(max(version), 0) AS version FROM public.schema_version", NULL,
		     DB_FMT_TEXT, &r);
	if (rc || (rc = db_columns(db, r, version_name, &col, 1)))
		goto out;
	if (PQntuples(r) != 1) {
		rc = db_fail(db, HSMCA_ERR_STATE, "schema_version: no result");
		goto out;
	}
	*out = atoi(PQgetvalue(r, 0, col));
out:
	PQclear(r);
	return rc;
}

int db_schema_version_known(void)
{
	return DB_SCHEMA_VERSION;
}

static bool db_service_unprivileged; /* db_require_unprivileged; read only once sessions exist */
static atomic_uint db_schema_gen;    /* db_schema_changed: sessions checked before it check again */
static atomic_llong db_lost_ms;      /* CLOCK_MONOTONIC ms of this process's last session lost (0: none) */

bool db_lost_recently(unsigned seconds)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	long long at = atomic_load(&db_lost_ms), now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return at != 0 && now - at < (long long)seconds * 1000;
}

void db_schema_changed(void)
{
	atomic_fetch_add(&db_schema_gen, 1);
}

void db_require_unprivileged(void)
{
	db_service_unprivileged = true;
}

/* The session's role must not be able to change the audit log or the rows' guards, nor can any role it may
 * SET ROLE to (a NOINHERIT membership grants nothing until then): not a superuser (who disables triggers), no
 * UPDATE, DELETE or TRUNCATE of audit_log (pg_write_all_data, a grant), no write of its chain head nor
 * UPDATE, DELETE or TRUNCATE of its checkpoints, not a member of its owner's role (the
 * owner itself included), no CREATE in schema public (a function there, preferred by argument type, would
 * shadow pg_catalog's in the schema's triggers: the definer ones searched public until 025, the others still
 * do and run as the owner when the owner writes; migration 012 revokes it, an administrator's later GRANT
 * gave it back unnoticed), no temporary objects (009). 0, or HSMCA_ERR_AUTH with
 * db->err naming what it can do. */
static int db_role_check(struct db *db)
{
	static const char *const names[] = {"who", "super", "writes", "owner", "creates", "temps", "super_role", "aux"};
	PGresult *r = NULL;
	int c[8];
	int rc = db_exec(db,
			 "SELECT current_user AS who, bool_or(m.rolsuper AND m.rolname = current_user) AS super, "
			 "bool_or(m.rolsuper) AS super_role, "
			 "bool_or(has_table_privilege(m.oid, 'public.audit_log', 'UPDATE, DELETE, TRUNCATE') OR "
			 "has_any_column_privilege(m.oid, 'public.audit_log', 'UPDATE')) AS writes, "
			 "CASE WHEN pg_has_role(t.relowner, 'MEMBER') THEN pg_get_userbyid(t.relowner) END AS owner, "
			 "bool_or(has_schema_privilege(m.oid, 'public', 'CREATE')) AS creates, "
			 "bool_or(has_database_privilege(m.oid, current_database(), 'TEMPORARY')) AS temps, "
			 "bool_or(has_table_privilege(m.oid, 'public.audit_chain_head', 'INSERT, UPDATE, DELETE, TRUNCATE') OR "
			 "has_any_column_privilege(m.oid, 'public.audit_chain_head', 'INSERT, UPDATE') OR "
			 "has_table_privilege(m.oid, 'public.audit_checkpoints', 'UPDATE, DELETE, TRUNCATE') OR "
			 "has_any_column_privilege(m.oid, 'public.audit_checkpoints', 'UPDATE')) AS aux "
			 "FROM pg_roles m, pg_class t WHERE pg_has_role(m.oid, 'MEMBER') "
			 "AND t.oid = 'public.audit_log'::regclass GROUP BY t.relowner",
			 NULL, DB_FMT_TEXT, &r);
	if (rc || (rc = db_columns(db, r, names, c, 8)))
		goto out;
	if (PQntuples(r) != 1) {
		rc = db_fail(db, HSMCA_ERR_STATE, "the session's role: no result");
		goto out;
	}
	const char *who = PQgetvalue(r, 0, c[0]), *what = NULL;
	if (strcmp(PQgetvalue(r, 0, c[1]), "t") == 0)
		what = "is a superuser";
	else if (!PQgetisnull(r, 0, c[3]))
		what = "is (a member of) audit_log's owner";
	else if (strcmp(PQgetvalue(r, 0, c[2]), "t") == 0)
		what = "may UPDATE, DELETE or TRUNCATE audit_log";
	else if (strcmp(PQgetvalue(r, 0, c[6]), "t") == 0)
		what = "may SET ROLE to a superuser";
	else if (strcmp(PQgetvalue(r, 0, c[7]), "t") == 0)
		what = "may write audit_chain_head, or UPDATE, DELETE or TRUNCATE audit_checkpoints";
	else if (strcmp(PQgetvalue(r, 0, c[4]), "t") == 0)
		what = "may CREATE in schema public (a function there can shadow pg_catalog's in the schema's triggers)";
	else if (strcmp(PQgetvalue(r, 0, c[5]), "t") == 0)
		what = "may create temporary objects (which could shadow what the schema's functions name)";
	/* PostgreSQL 15's GRANT SET ON PARAMETER: session_replication_role = replica switches off every trigger
	 * the schema guards with (the audit chain's among them: a row written with a hash of its choosing, which
	 * the next append then chains on) */
	char who_copy[64];
	snprintf(who_copy, sizeof who_copy, "%s", who);
	if (!what && PQserverVersion(db->conn) >= 150000) {
		PQclear(r);
		r = NULL;
		static const char *const set_names[] = {"replica"};
		if ((rc = db_exec(db, "SELECT bool_or(has_parameter_privilege(m.oid, 'session_replication_role', 'SET')) "
				  "AS replica FROM pg_roles m WHERE pg_has_role(m.oid, 'MEMBER')", NULL, DB_FMT_TEXT, &r)) ||
		    (rc = db_columns(db, r, set_names, c, 1)))
			goto out;
		if (PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, c[0]), "t") == 0)
			what = "may SET session_replication_role (which turns the schema's triggers off)";
	}
	if (what)
		rc = db_fail(db, HSMCA_ERR_AUTH, "database role %.63s %s: the service connects as hsmca_frontend (schema/001), "
			     "whose audit log is append-only and whose rows carry MACs; refusing to run with more", who_copy, what);
out:
	PQclear(r);
	return rc;
}

/* What a session of the running service must find at every connect and reconnect: the schema this build
 * knows, and (db_require_unprivileged) a role that cannot rewrite the audit log. */
static int db_session_check(struct db *db)
{
	int rc, version = 0;

	if ((rc = db_version_current(db, &version)))
		return rc;
	if (version != DB_SCHEMA_VERSION)
		return db_fail(db, HSMCA_ERR_STATE, "database schema version %d, this build knows %d: %s", version,
			       DB_SCHEMA_VERSION,
			       version < DB_SCHEMA_VERSION ? "run the migration first"
							   : "migrated by a newer hsmca; refusing to use it");
	return db_service_unprivileged ? db_role_check(db) : 0;
}

int db_open(const char *conninfo, struct db **out, char *err)
{
	struct db *db = calloc(1, sizeof *db);
	int rc;

	*out = NULL;
	if (db == NULL) {
		db_err_copy(err, "out of memory");
		return HSMCA_ERR_NOMEM;
	}
	if ((rc = db_connect(conninfo, &db->conn, err)))
		goto out;
	db->schema_gen = atomic_load(&db_schema_gen); /* before the check: a change during it is checked again */
	if ((rc = db_session_check(db))) {
		db_err_copy(err, db->err);
		goto out;
	}
	db->checked = true;
	db->stmt_cache = true;
	*out = db;
	db = NULL;
out:
	db_close(db);
	return rc;
}

void db_close(struct db *db)
{
	if (db == NULL)
		return;
	PQfinish(db->conn);
	db_stmt_clear(db);
	free(db);
}

const char *db_errmsg(const struct db *db)
{
	return db ? db->err : "no database";
}

/* A connection lost since the last unit of work is re-established here, and only here (and in
 * db_cert_pending_each): reconnecting in the middle of a transaction would silently split it. */
int db_reconnect_if_lost(struct db *db)
{
	int rc;
	unsigned gen = atomic_load(&db_schema_gen);

	if (PQstatus(db->conn) == CONNECTION_OK && !db->recheck) {
		if (!db->checked || db->schema_gen == gen)
			return 0;
		/* the schema changed (db_schema_changed: a migration's NOTIFY) under this live session: the same
		 * check as a reconnection's, and the same refusal */
		db->schema_gen = gen;
		if ((rc = db_session_check(db)) == 0)
			return 0;
		db->recheck = true;
		if (PQsocket(db->conn) >= 0)
			shutdown(PQsocket(db->conn), SHUT_RDWR);
		return rc;
	}
	db->schema_gen = gen;
	if (PQstatus(db->conn) != CONNECTION_OK) { /* lost (the server restarted, or ended the session) */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		atomic_store(&db_lost_ms, (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + 1);
	}
	PQreset(db->conn);
	db_stmt_clear(db); /* a new session has none of them */
	if (PQstatus(db->conn) != CONNECTION_OK) {
		db_err_copy(db->err, PQerrorMessage(db->conn));
		return HSMCA_ERR_IO;
	}
	if ((rc = db_session_setup(db->conn, db->err)))
		return rc;
	/* a session of db_open's: the database may have been migrated (or the role changed) meanwhile. Refused,
	 * the connection is used for nothing (shut, so that a statement sent on it anyway fails): the next unit of
	 * work connects and asks again */
	db->recheck = db->checked && (rc = db_session_check(db)) != 0;
	if (db->recheck && PQsocket(db->conn) >= 0)
		shutdown(PQsocket(db->conn), SHUT_RDWR);
	return rc;
}

bool db_connection_ok(const struct db *db)
{
	return db && db->conn && PQstatus(db->conn) == CONNECTION_OK;
}

int db_ensure(struct db *db)
{
	/* an idle session has nothing to read unless the server ended it (restart, terminated backend): reading
	 * its farewell (one read) and then the end of the stream (the next) marks the connection bad */
	for (int i = 0; i < 4 && PQstatus(db->conn) == CONNECTION_OK && PQtransactionStatus(db->conn) == PQTRANS_IDLE; i++) {
		struct pollfd p = { .fd = PQsocket(db->conn), .events = POLLIN };
		if (p.fd < 0 || poll(&p, 1, 0) <= 0 || !PQconsumeInput(db->conn))
			break;
	}
	return db_reconnect_if_lost(db);
}

int db_begin(struct db *db)
{
	int rc = db_reconnect_if_lost(db);

	return rc ? rc : db_exec_cmd(db, "BEGIN", NULL);
}

/* COMMIT of a failed transaction "succeeds" with command tag ROLLBACK: that is an error for the caller. */
int db_commit(struct db *db)
{
	PGresult *r = NULL;
	int rc = db_exec(db, "COMMIT", NULL, DB_FMT_TEXT, &r);

	if (rc == 0 && strcmp(PQcmdStatus(r), "COMMIT") != 0)
		rc = db_fail(db, HSMCA_ERR_STATE, "commit: the transaction had failed and was rolled back");
	PQclear(r);
	return rc;
}

int db_savepoint(struct db *db)
{
	return db_exec_cmd(db, "SAVEPOINT hsmca_item", NULL);
}

int db_savepoint_release(struct db *db)
{
	return db_exec_cmd(db, "RELEASE SAVEPOINT hsmca_item", NULL);
}

int db_savepoint_rollback(struct db *db)
{
	return db_exec_cmd(db, "ROLLBACK TO SAVEPOINT hsmca_item", NULL);
}

void db_rollback(struct db *db)
{
	PGresult *r;

	if (db == NULL || PQtransactionStatus(db->conn) == PQTRANS_IDLE)
		return;
	r = PQexec(db->conn, "ROLLBACK");
	PQclear(r);
}
