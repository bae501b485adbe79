/* Internals shared by frontend/db*.c (the only files that include libpq). Not for other code. */
#ifndef HSMCA_DB_PRIV_H
#define HSMCA_DB_PRIV_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"

/* DB_SCHEMA_VERSION: the highest schema/NNN_*.sql this build knows. Raise it with every new migration
 * (tests/integration/db_test.c fails if it differs from the highest NNN in HSMCA_SCHEMA_DIR). */
#define DB_SCHEMA_VERSION 29
#define DB_BLOB_MAX (1024 * 1024)      /* TBS, DER: far above any certificate we issue */
#define DB_TEXT_MAX (64 * 1024)        /* subject, SANs, reasons, audit details */
#define DB_PARAMS_MAX 20
#define DB_FMT_TEXT 0
#define DB_FMT_BINARY 1

#define DB_STMT_CACHE 48 /* statements prepared once per connection (db_exec) */

struct db_stmt {
	char *sql; /* owned copy */
	uint32_t hash;
};

struct db {
	PGconn *conn;
	char err[DB_ERR_MAX]; /* the last error, for db_errmsg */
	bool timed_out;       /* the last error was the server's statement_timeout (db_timed_out) */
	bool transient;       /* the last error was a serialization failure or a deadlock (db_transient) */
	bool stmt_cache;      /* db_open sets it (db_close frees the cache); a struct db made elsewhere never caches */
	bool checked;         /* opened by db_open: a reconnection checks the schema version (and role) again */
	bool recheck;         /* that check failed: the session is not used, the next unit of work connects again */
	unsigned schema_gen;  /* db_schema_changed's count at the session's last check */
	unsigned n_stmts;     /* prepared on this connection as hsmca_<index>; cleared on reconnect */
	struct db_stmt stmts[DB_STMT_CACHE];
	const uint8_t *row_key, *row_key_also; /* db_set_row_keys: borrowed; NULL until set */
};

/* Query parameters: text values (NULL is SQL NULL) unless len[i] is set, which makes value i binary. */
struct db_params {
	int n;
	const char *val[DB_PARAMS_MAX];
	int len[DB_PARAMS_MAX];
	int fmt[DB_PARAMS_MAX];
};

void db_params_text(struct db_params *p, const char *v);
void db_params_bin(struct db_params *p, const void *v, size_t len);

/* Runs sql with p (may be NULL) and result format fmt. On success *out holds a result whose status is
 * COMMAND_OK or TUPLES_OK (the caller PQclears it); on failure *out is NULL, db->err says why and the
 * SQLSTATE is mapped to an HSMCA_ERR_* code. */
int db_exec(struct db *db, const char *sql, const struct db_params *p, int fmt, PGresult **out) HSMCA_WUR;
/* Runs a statement whose result is not needed. */
int db_exec_cmd(struct db *db, const char *sql, const struct db_params *p) HSMCA_WUR;

/* The UNIQUE constraint of certificates.serial_hex (schema/001_init.sql: PostgreSQL's default name). */
#define DB_CONSTRAINT_SERIAL "certificates_serial_hex_key"
/* An HSMCA_ERR_* for a server error's SQLSTATE (NULL: no server error, the connection failed) and the
 * constraint it names (may be NULL): a unique violation is HSMCA_ERR_SERIAL on DB_CONSTRAINT_SERIAL (a
 * serial drawn twice), HSMCA_ERR_EXISTS on any other (a name taken, a certificate renewed twice). */
int db_map_error(const char *sqlstate, const char *constraint);
/* Maps the SQLSTATE of a failed result and records its message in db->err. */
int db_error_from(struct db *db, const PGresult *r, const char *what) HSMCA_WUR;
/* Records a message in db->err and returns rc. */
int db_fail(struct db *db, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Finds columns by name: cols[i] gets the number of names[i]; HSMCA_ERR_STATE if one is missing. */
int db_columns(struct db *db, const PGresult *r, const char *const *names, int *cols, int n) HSMCA_WUR;
/* Copies a text value into out (NUL-terminated); HSMCA_ERR_LIMIT if it does not fit. */
int db_copy_text(struct db *db, const PGresult *r, int row, int col, char *out, size_t out_len) HSMCA_WUR;

/* Lowercase hex serial of 1..DB_SERIAL_HEX_MAX-1 digits into out (DB_SERIAL_HEX_MAX bytes). */
int db_serial_norm(struct db *db, const char *in, char *out) HSMCA_WUR;
/* A short text argument: non-NULL, 1..max-1 bytes. */
int db_check_name(struct db *db, const char *what, const char *s, size_t max) HSMCA_WUR;

/* Connects with a quiet notice processor, UTF8 client encoding and search_path public. */
int db_connect(const char *conninfo, PGconn **out, char *err) HSMCA_WUR;
/* This process's application_name on every connection (db_connect): "hsmca-frontend:" and 16 hex digits drawn
 * at first use; certificate rows it inserts carry it as their owner (schema 008). Static storage. */
#define DB_INSTANCE_NAME_MAX 40
/* How long a pending row of another live frontend process is left to it by recovery (db_cert_pending_each) */
#define DB_OWNER_LEASE_TEXT "600"
/* For this long after this process found a session of its own lost (db_lost_recently: a restart of
 * PostgreSQL, a crash of one of its backends, a failover: every session ends), an owner not connected counts
 * as gone only for rows changed since this session began: a live frontend connects again within seconds (its
 * account watch retries every second), but until it did its rows looked orphaned and another frontend's
 * recovery signed them too. (A frontend that dies while the server stays up is taken for gone at once.) */
#define DB_OWNER_RECONNECT_SECONDS 60
const char *db_instance_name(void);
/* Re-establishes a lost connection; only at the start of a unit of work. */
int db_reconnect_if_lost(struct db *db) HSMCA_WUR;
/* The highest applied migration (0 if none). */
int db_version_current(struct db *db, int *out) HSMCA_WUR;
void db_err_copy(char *dst, const char *src);
/* The select-list items of a certificates row aliased T that struct db_intent_macs holds (DB_INTENT_NAMES):
 * intent_mac; legacy, true if it has no intent MAC and is one of the pending or held rows that migration 013
 * (which gave every intent one) found, with the same TBS (signed without a MAC); release_mac; and gate, "none"
 * (no certificate.issue approval names it), "gated" (one does) or "legacy" (one does, and migration 014 found
 * it pending: released before the release MAC existed). */
#define DB_INTENT_SQL(T)                                                                                         \
	T ".intent_mac, (" T ".intent_mac IS NULL AND EXISTS (SELECT 1 FROM legacy_intents l WHERE l.serial_hex = " \
	T ".serial_hex AND l.tbs_sha256 = sha256(" T ".tbs))) AS legacy, " T ".release_mac, "                      \
	"CASE WHEN NOT EXISTS (SELECT 1 FROM approvals a WHERE a.object = " T ".serial_hex AND a.action = "         \
	"'certificate.issue') THEN 'none' WHEN EXISTS (SELECT 1 FROM legacy_releases lr WHERE lr.serial_hex = " T   \
	".serial_hex) THEN 'legacy' ELSE 'gated' END AS gate"
#define DB_INTENT_NAMES "intent_mac", "legacy", "release_mac", "gate"
/* Reads a binary-format result's DB_INTENT_SQL items of row (cols: their 4 column numbers in that order) into
 * out (a MAC of another length reads as one that does not match); HSMCA_ERR_STATE for an unknown gate. */
int db_intent_cols(struct db *db, const PGresult *r, int row, const int cols[4], struct db_intent_macs *out) HSMCA_WUR;
/* The checks of db_cert_insert_pending (serial and renews get the normalised serials, DB_SERIAL_HEX_MAX each)
 * and of db_audit_append (object and details non-NULL), for the batched statements of db_batch.c. */
int db_cert_check(struct db *db, const struct db_cert *c, char *serial, char *renews) HSMCA_WUR;
int db_audit_check(struct db *db, const char *actor, const char *action, const char *object,
		   const char *details_json) HSMCA_WUR;

#endif
