/* PostgreSQL access of the frontend (the only file family that includes libpq). Parameterised SQL only
 * (PQexecParams). One struct db per thread; not thread-safe. The schema lives in schema/NNN_*.sql. */
#ifndef HSMCA_DB_H
#define HSMCA_DB_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "err.h"

#define DB_ERR_MAX 256
#define DB_NAME_MAX 64
#define DB_HASH_MAX 256   /* encoded password / API key hash */
#define DB_SERIAL_HEX_MAX 41
#define DB_STATUS_MAX 16 /* a certificate status and its NUL */
#define DB_AUDIT_HASH_LEN 32 /* SHA-256 */

struct db;

/* The running service's sessions, opened after this call (and their reconnections): a statement that runs
 * longer than seconds ends in an error (statement_timeout: a lock another session holds, a stalled server),
 * so a worker answers 503 instead of waiting without end; a connection attempt gives up after seconds, and
 * over TCP a server that stops answering is noticed within about twice that (keepalives, tcp_user_timeout),
 * unless the conninfo sets those itself. 0 (the default, and the command-line tools'): none of these.
 * Called once, before any session is opened and before threads start. */
void db_set_service_timeout(unsigned seconds);
/* The running service's sessions (db_open after this call, and their reconnections) are refused
 * (HSMCA_ERR_AUTH, saying why) if their role is a superuser, may UPDATE, DELETE or TRUNCATE audit_log, or is a
 * member of audit_log's owner: the audit log's and the rows' guarantees hold against hsmca_frontend only. Not
 * for the command-line tools (migrate runs as the owner). Called once, before any session is opened. */
void db_require_unprivileged(void);
#define DB_SCHEMA_CHANNEL "hsmca_schema" /* schema 020: NOTIFY on every change of schema_version */
/* The schema may have changed (a NOTIFY on DB_SCHEMA_CHANNEL, or a listener that was not listening): every
 * session of db_open is checked again as a reconnection is, at its next unit of work. Any thread. */
void db_schema_changed(void);
/* A session of this process was found lost (and re-established) within the last seconds: a restart of the
 * server, a crash of one of its backends or a failover ends every session, other frontends' too. Any thread. */
bool db_lost_recently(unsigned seconds);
/* Connects (libpq conninfo) and checks the schema version: a database at a version this build does not
 * know (newer, or not migrated) is refused with HSMCA_ERR_STATE. A lost connection that db_ensure (or any unit
 * of work) re-establishes is checked again, and not used while it fails (db_errmsg says why). */
int db_open(const char *conninfo, struct db **out, char *err) HSMCA_WUR;
void db_close(struct db *db);
/* At the start of a unit of work, never inside a transaction: notices a session the server ended while it
 * was idle (a restart of PostgreSQL, a terminated backend) and connects again, so that the next statement
 * does not fail on a connection that is already gone. 0 if the connection is usable; else db_errmsg says
 * why (the next unit of work tries again). */
int db_ensure(struct db *db) HSMCA_WUR;
/* Forgets this connection's prepared statements (each is prepared again on its next use), so that their
 * plans are made again for the tables as they are now: PostgreSQL keeps a generic plan chosen while a
 * table was small (a sequential scan of it) until an ANALYZE, which autovacuum may run minutes later. */
int db_replan(struct db *db) HSMCA_WUR;
/* True while the session is up (a statement's error left it usable). */
bool db_connection_ok(const struct db *db);
/* The message of the last failure on db (one line; never NULL). */
const char *db_errmsg(const struct db *db);
/* True if the last error was a statement that ran past db_set_service_timeout's limit (or was cancelled):
 * another statement now would most likely wait as long, so a caller with more work queued fails it at once. */
bool db_timed_out(const struct db *db);
/* True if the last error was a serialization failure or a deadlock (40001, 40P01: mapped to HSMCA_ERR_STATE
 * with a change refused by the schema): the transaction lost a race and was rolled back, nothing was done,
 * and the same request again may well succeed. */
bool db_transient(const struct db *db);
/* Applies schema_dir/NNN_*.sql not yet applied, each in its own transaction, recording it in
 * schema_version. Applying twice is a no-op. Run as the database owner. out_version: the version after. */
int db_migrate(const char *conninfo, const char *schema_dir, int *out_version, char *err) HSMCA_WUR;
/* (db_migrate: schema_dir NULL means HSMCA_SCHEMA_DIR, the source tree's schema/; an applied file that has
 * changed since is refused with HSMCA_ERR_STATE; err holds DB_ERR_MAX bytes, as for db_open.) */
/* The highest version of dir's migrations (they run 1..n), or a negative error (unreadable, misnamed, a gap). */
int db_migrate_dir_version(const char *dir);
/* The newest schema version this build knows (the highest NNN in schema/). */
int db_schema_version_known(void);

/* LISTEN on channel ([a-z_], a name of ours) on this connection, which then serves db_wait_notify only. */
int db_listen(struct db *db, const char *channel) HSMCA_WUR;
/* NOTIFY channel (empty payload), delivered when the current transaction commits (at once outside one). */
int db_notify(struct db *db, const char *channel) HSMCA_WUR;
/* Waits up to timeout_ms (-1: no limit) for notifications and calls fn for each one received. 0, or
 * HSMCA_ERR_IO if the connection is lost (then close it and open another). */
int db_wait_notify(struct db *db, int timeout_ms, void (*fn)(void *ctx, const char *channel, const char *payload),
		   void *ctx) HSMCA_WUR;
/* A round trip on a listening connection, bounded: 0 if the server answered SELECT 1 within timeout_ms
 * (SELECT 1 AS listener_ping; notifications that came meanwhile stay queued for db_wait_notify), else HSMCA_ERR_IO and the connection
 * is to be closed. A connection that went silent (a dropped route, a stopped server) never says so itself. */
int db_ping(struct db *db, int timeout_ms) HSMCA_WUR;
int db_begin(struct db *db) HSMCA_WUR;
int db_commit(struct db *db) HSMCA_WUR;
void db_rollback(struct db *db);
/* One savepoint level inside a transaction (group commit: one failing item does not abort the others). */
int db_savepoint(struct db *db) HSMCA_WUR;
int db_savepoint_release(struct db *db) HSMCA_WUR;
int db_savepoint_rollback(struct db *db) HSMCA_WUR;

/* The newest audit row on object whose action is one of actions[0..n): its action and its details' "sha256"
 * (out_action "" if there is none; out_sha "" if the row has none). The audit log, not a table the
 * frontend's role may UPDATE, is what a start-up record compares with (profrec.c). */
int db_audit_last_sha256(struct db *db, const char *object, const char *const *actions, size_t n_actions,
			 char out_action[DB_NAME_MAX], char out_sha[65]) HSMCA_WUR;
/* Appends one audit row inside the current transaction. details: a JSON object text (may be "{}").
 * The row's hash chain (prev_hash, row_hash) is computed by the database. */
int db_audit_append(struct db *db, const char *actor, const char *action, const char *object,
		    const char *details_json) HSMCA_WUR;
/* One audit row of action on object, unless the log has one already: in a transaction of its own (none may be
 * open) under an advisory lock, so that frontends racing to record one event write it once. 0 with
 * *out_written (false: it was there), or the database's error (nothing written). */
int db_audit_append_once(struct db *db, const char *actor, const char *action, const char *object,
			 const char *details_json, bool *out_written) HSMCA_WUR;
/* What db_audit_verify saw. */
struct db_audit_report {
	int64_t rows;              /* the last row's id (0: an empty log) */
	int64_t checkpoints;       /* audit_checkpoints rows checked */
	int64_t last_checkpointed; /* the highest row a checkpoint covers (0: none) */
	char last_checkpointed_ts[24]; /* that row's time (UTC, ISO 8601; in its hashed bytes), "" if none */
	int64_t forged_checkpoints; /* checkpoints whose signature did not verify (the walk went on past them) */
};
/* What db_audit_verify checks besides the chain (all optional). */
#define DB_AUDIT_KEYS_MAX 4 /* checkpoint certificates audit-verify takes (the key now, and keys before it) */
struct db_audit_opts {
	/* borrowed; n > 0: every checkpoint's signature must verify under one of the keys that apply to it (a
	 * checkpoint_key that was changed leaves the older checkpoints under the older key): checkpoint_labels[i]
	 * NULL, key i applies to every checkpoint; else only to those of that key_label */
	EVP_PKEY *checkpoint_keys[DB_AUDIT_KEYS_MAX];
	const char *checkpoint_labels[DB_AUDIT_KEYS_MAX];
	unsigned n_checkpoint_keys;
	int64_t expect_id;        /* > 0: row expect_id must exist with row_hash expect_hash (a logged head) */
	uint8_t expect_hash[DB_AUDIT_HASH_LEN];
};
/* Walks the whole chain recomputing every row's hash, then the checkpoints (schema 007): each one's head_hash
 * must still be the row_hash of its row, and with o->checkpoint_keys its signature must verify under one. 0 if all
 * holds; HSMCA_ERR_AUTH with *out_bad_id set to the first row whose hash or link does not match, or the row
 * of the first checkpoint or expectation that fails (why says which). A checkpoint whose signature does not
 * verify does not stop the walk: the others are still checked, and it is named (with how many more there are,
 * rep->forged_checkpoints) only if nothing else failed. o and rep may be NULL. A query the server refuses
 * (permission denied: a role that may not read the log) is HSMCA_ERR_CONFIG, never HSMCA_ERR_AUTH. */
int db_audit_verify(struct db *db, const struct db_audit_opts *o, struct db_audit_report *rep, int64_t *out_bad_id,
		    char *why) HSMCA_WUR;
/* The rows after from_id up to to_id, in one snapshot with nothing else: row from_id + 1 must link to
 * from_hash, every row's hash must match its contents, the ids must be consecutive and row to_id's hash must
 * be to_hash. 0 if so; HSMCA_ERR_AUTH with *out_bad_id and why (DB_ERR_MAX) if not; a refused query as in
 * db_audit_verify (HSMCA_ERR_CONFIG, why the server's message). */
int db_audit_verify_range(struct db *db, int64_t from_id, const uint8_t from_hash[DB_AUDIT_HASH_LEN], int64_t to_id,
			  const uint8_t to_hash[DB_AUDIT_HASH_LEN], int64_t *out_bad_id, char *why) HSMCA_WUR;
/* Stores a checkpoint (its own statement): the signature of row audit_id's head_hash by key_label. */
int db_checkpoint_insert(struct db *db, int64_t audit_id, const uint8_t head_hash[DB_AUDIT_HASH_LEN],
			 const char *key_label, const uint8_t *sig, size_t sig_len) HSMCA_WUR;
#define DB_CHECKPOINT_SIG_MAX 1024 /* schema 007's bound */
/* A stored checkpoint: its own row id (audit_checkpoints.id, in insertion order), the audit row it covers,
 * that row's hash, and the signature. */
struct db_checkpoint {
	int64_t id, audit_id;
	uint8_t hash[DB_AUDIT_HASH_LEN];
	uint8_t sig[DB_CHECKPOINT_SIG_MAX];
	size_t sig_len;
};
/* Key key_label's checkpoints stored after checkpoint row after_id, the one covering the highest audit row
 * first (then the later stored), at most max of them into out[] (the caller's); *out_max_id is the highest
 * checkpoint row id stored, of any key (after_id if none is newer): a row of another key is never asked for, so
 * the next call may start there. Costs a few index entries however many rows the table holds, unless many were
 * stored since after_id (schema 018). */
int db_checkpoint_newer(struct db *db, const char *key_label, int64_t after_id, struct db_checkpoint *out, size_t max,
			size_t *out_n, int64_t *out_max_id) HSMCA_WUR;
/* The page after (before_audit_id, before_id) in the same order (audit_id, then id, descending) of key_label's
 * checkpoints, at most max into out[]: for a start that found none of the newest verifying. */
int db_checkpoint_older(struct db *db, const char *key_label, int64_t before_audit_id, int64_t before_id,
			struct db_checkpoint *out, size_t max, size_t *out_n) HSMCA_WUR;
/* (db_audit_verify: why holds DB_ERR_MAX bytes and also gets the message of any other failure; the
 * canonical bytes of a row are defined in frontend/db_audit.c and schema/001_init.sql.) */
/* The chain head: id and row_hash of the last row (0 and zeros while empty), e.g. to have it signed. */
int db_audit_head(struct db *db, int64_t *out_last_id, uint8_t out_hash[DB_AUDIT_HASH_LEN]) HSMCA_WUR;

struct db_cert {
	char serial_hex[DB_SERIAL_HEX_MAX];
	char issuer[DB_NAME_MAX];   /* issuing key label */
	char profile[DB_NAME_MAX];
	char requester[DB_NAME_MAX];
	const char *subject;        /* RFC 4514 text */
	const char *sans;           /* comma-separated, e.g. "DNS:a.example.com,IP:10.0.0.1" */
	time_t not_before, not_after;
	const uint8_t *tbs;
	size_t tbs_len;
	const char *renews_serial_hex; /* NULL unless a renewal */
	const uint8_t *authsign_token; /* DB_TOKEN_LEN bytes: the CFSSL authsign token it was requested with, or NULL */
	const uint8_t *intent_mac;     /* DB_MAC_LEN bytes, required: the frontend's MAC of the intent (intent.h) */
};

#define DB_MAC_LEN 32   /* an intent MAC (HMAC-SHA-256, intent.h) */

/* What a stored intent carries for frontend/intent.h's checks before its TBS is signed. */
struct db_intent_macs {
	uint8_t mac[DB_MAC_LEN];         /* when has_mac: the intent's MAC (schema 013) */
	uint8_t release_mac[DB_MAC_LEN]; /* when has_release_mac: its approval's release MAC (schema 014) */
	bool has_mac, has_release_mac;
	bool legacy; /* no MAC, and one of the rows schema 013 found pending or held (legacy_intents) */
	int gate;    /* enum intent_gate: 0 no approval row; 1 it has one; 2 it has one and schema 014 found it
		      * pending (legacy_releases) */
};

/* A stored intent as it is read back to be signed (recovery): borrowed pointers, valid during the callback. */
struct db_intent {
	const char *serial_hex, *issuer;
	const uint8_t *tbs;
	size_t tbs_len;
	const char *renews;         /* the serial it renews, or NULL */
	const char *renewed_status; /* that certificate's status now ("issued", "revoked", ...), or NULL */
	const struct db_intent_macs *macs;
};

/* Inserts the intent (status 'pending', the TBS) inside the current transaction. */
int db_cert_insert_pending(struct db *db, const struct db_cert *c) HSMCA_WUR;
/* pending -> issued with the signed DER (current transaction). */
int db_cert_mark_issued(struct db *db, const char *serial_hex, const uint8_t *der, size_t der_len) HSMCA_WUR;
/* pending -> failed with a reason (current transaction). */
int db_cert_mark_failed(struct db *db, const char *serial_hex, const char *why) HSMCA_WUR;
/* Calls fn for every pending row last changed at least min_age_seconds ago (recovery after a crash: 0 at
 * start-up; in a running frontend an age well past any in-flight signing), outside any transaction. */
int db_cert_pending_each(struct db *db, unsigned min_age_seconds,
			 int (*fn)(void *ctx, const char *serial_hex, const char *issuer, const uint8_t *tbs,
				   size_t tbs_len),
			 void *ctx) HSMCA_WUR;
/* What is stored for serial_hex (no row: HSMCA_ERR_NOTFOUND): its status, and in *out_same whether its TBS
 * equals tbs (unless tbs is NULL) and its DER equals der (unless der is NULL; no DER stored is not equal).
 * For redoing a write whose outcome is unknown (a batch statement that failed, a connection lost after
 * the server may have committed): an intent whose row holds its TBS, or a result whose row is issued with
 * its DER, is already stored. */
int db_cert_compare(struct db *db, const char *serial_hex, const uint8_t *tbs, size_t tbs_len, const uint8_t *der,
		    size_t der_len, char *out_status, size_t out_len, bool *out_same) HSMCA_WUR;
/* Recovery of one pending row, claimed across processes: in a transaction of its own, locks serial_hex's
 * row if it is still pending and no other session holds it (SELECT ... FOR UPDATE SKIP LOCKED: another
 * frontend's recovery, or a batch updating it), calls fn with the stored intent (issuer, TBS, MAC) while
 * the lock is held, so fn may check and sign it and write its new state and audit row on db in the same
 * transaction; commits if fn returns
 * 0 (it may have written nothing: the row stays pending and unlocked), else rolls back and returns fn's
 * error. *out_claimed is false (and fn not called) if the row was not pending or was locked. Outside any
 * transaction. */
int db_cert_claim_pending(struct db *db, const char *serial_hex,
			  int (*fn)(void *ctx, struct db *db, const struct db_intent *in), void *ctx,
			  bool *out_claimed) HSMCA_WUR;
/* Status of a certificate: "pending", "issued", "failed", "revoked"; HSMCA_ERR_NOTFOUND if none. */
int db_cert_status(struct db *db, const char *serial_hex, char *out_status, size_t out_len) HSMCA_WUR;
/* Serials are hex, 1..40 digits, either case (stored lowercase). A status change that does not apply
 * (unknown serial: HSMCA_ERR_NOTFOUND; wrong state: HSMCA_ERR_STATE) changes nothing; mark_issued refuses
 * (HSMCA_ERR_STATE) a DER that does not carry the committed TBS. */
/* issued -> revoked plus its revocations row (current transaction; the caller audits it). reason: an
 * RFC 5280 name ("keyCompromise", ...); by: the administrator. */
int db_cert_revoke(struct db *db, const char *serial_hex, const char *reason, const char *by) HSMCA_WUR;
/* What an issuer's CRL reflects: its revocations rows' count and highest change_seq (they are only ever
 * inserted, so a CRL built at one state is current while the state is the same). */
struct db_crl_state {
	int64_t last_seq, count;
};
int db_crl_state(struct db *db, const char *issuer, struct db_crl_state *out) HSMCA_WUR;
/* A new CRL number (schema 029's sequence: every one larger than any taken before, by any frontend). */
int db_crl_number_next(struct db *db, int64_t *out) HSMCA_WUR;
/* fn for each of issuer's revocations in revocation order (serial lowercase hex, the RFC 5280 reason name, the
 * revocation time in Unix seconds), and state for that list; a non-zero return of fn stops and is returned. */
int db_crl_revocations(struct db *db, const char *issuer, struct db_crl_state *state,
		       int (*fn)(void *ctx, const char *serial_hex, const char *reason, int64_t revoked_at), void *ctx)
	HSMCA_WUR;
/* Start-up records of what the frontend serves under (profrec.c; the caller's transaction, the caller audits,
 * deciding "new or changed" against the audit log: db_audit_last_sha256): a profile's definition and an
 * issuer's certificate, upserted (*out_written when the table's row was new or differed), and the profiles
 * not in keep_names (names separated by '\n'), whose definitions are cleared once and handed to fn. */
/* Serialises the start-up records of frontends starting at once (first, in their transaction): two of them
 * would both find the same record missing, and files listing profiles in other orders could deadlock. */
int db_profile_record_lock(struct db *db) HSMCA_WUR;
int db_profile_record(struct db *db, const char *name, const char *issuer, const char *definition,
		      bool needs_approval, bool *out_written) HSMCA_WUR;
int db_issuer_record(struct db *db, const char *key_label, const uint8_t *cert_der, size_t der_len,
		     bool *out_written) HSMCA_WUR;
int db_profiles_retire(struct db *db, const char *keep_names,
		       int (*fn)(void *ctx, const char *name, const char *previous), void *ctx) HSMCA_WUR;
/* Records (or updates) an issuing CA: its key label and certificate. */
int db_issuer_upsert(struct db *db, const char *key_label, const uint8_t *cert_der, size_t der_len) HSMCA_WUR;

enum db_role { DB_ROLE_REQUESTER = 1, DB_ROLE_ADMIN, DB_ROLE_AUDITOR };

struct db_account {
	int64_t id;
	char name[DB_NAME_MAX];
	enum db_role role;
	char pw_hash[DB_HASH_MAX]; /* "scrypt$N$r$p$salt_b64$hash_b64" */
	bool disabled;
	char key_profile[DB_NAME_MAX]; /* db_apikey_lookup: the profile the key is bound to ("" = any) */
	int64_t mac_seq;               /* the row's counter (schema 015, rowmac.h) */
};

/* The keys that account and API key rows are checked and written with (rowmac.h: the intent key, and during a
 * rotation the accepted one, or NULL): borrowed, INTENT_KEY_LEN bytes each, and must outlive db. Until they
 * are set, every function below that reads or writes such a row fails with HSMCA_ERR_CONFIG. A row whose MAC
 * does not check is refused with HSMCA_ERR_AUTH (db_errmsg: "account NAME: row-mac: ..." or "API key ID: ..."),
 * except where a function says otherwise. */
void db_set_row_keys(struct db *db, const uint8_t *key, const uint8_t *also);

/* Whether name is one the audit log's own actors use ("-" before authentication, "bootstrap" and "cli" for the
 * command line, "expiry" and "recovery" for the frontend's passes): no account is created under one, so an
 * audit row's actor says who acted, and the second-person rule of approvals (which reads actors) is not
 * confused by an account named like the command line. Accounts made before this rule keep working. */
bool db_account_name_reserved(const char *name);
/* Creates an account (current transaction; the caller audits it). HSMCA_ERR_EXISTS if the name is taken,
 * HSMCA_ERR_PARSE if it is not a valid or is a reserved name (db_account_name_reserved). */
int db_account_create(struct db *db, const char *name, enum db_role role, const char *pw_hash) HSMCA_WUR;
/* For the bootstrap: takes a transaction-scoped lock that serialises bootstraps, then HSMCA_ERR_EXISTS (with the
 * first one's name in db_errmsg) if an administrator account exists, enabled or not (current transaction). */
int db_account_admin_first(struct db *db) HSMCA_WUR;
/* Sets an existing account's role and password hash and enables it, whatever its row holds now, with a new
 * row MAC (the operator's repair of a row refused as changed outside the frontend; current transaction).
 * HSMCA_ERR_NOTFOUND if there is none. */
int db_account_reset(struct db *db, const char *name, enum db_role role, const char *pw_hash) HSMCA_WUR;
int db_account_get(struct db *db, const char *name, struct db_account *out) HSMCA_WUR;
/* API keys are stored only as hashes (SHA-256 hex of the key). */
int db_apikey_create(struct db *db, const char *account, const char *key_hash_hex, const char *profile) HSMCA_WUR;
int db_apikey_lookup(struct db *db, const char *key_hash_hex, struct db_account *out_account) HSMCA_WUR;

/* Account management (frontend/admin.c). Role names: "requester", "admin", "auditor". */
#define DB_TIME_TEXT_MAX 24 /* "YYYY-MM-DDTHH:MM:SSZ" (UTC) */
const char *db_role_name(enum db_role role); /* NULL if unknown */
bool db_role_parse(const char *s, enum db_role *out);

/* What management shows of an account or key (never a hash). */
struct db_account_info {
	int64_t id;
	char name[DB_NAME_MAX];
	enum db_role role;        /* 0 if the row's role is none of them (refused) */
	bool disabled;
	bool refused;             /* its row does not check (rowmac.h): it logs in as no one */
	char created_at[DB_TIME_TEXT_MAX];
};
struct db_apikey_info {
	int64_t id;
	char profile[DB_NAME_MAX]; /* "" = any profile of the account */
	bool disabled;
	char created_at[DB_TIME_TEXT_MAX];
};

/* Current transaction: locks the rows of actor and target (FOR UPDATE, in id order) and returns them as
 * they are now; an account that does not exist comes back with id 0. target NULL: the actor only. */
int db_account_lock(struct db *db, const char *actor, const char *target, struct db_account *out_actor,
		    struct db_account *out_target) HSMCA_WUR;
/* Changes of one account (current transaction; the caller audits). HSMCA_ERR_NOTFOUND if none. */
int db_account_set_disabled(struct db *db, const char *name, bool disabled) HSMCA_WUR;
int db_account_set_password(struct db *db, const char *name, const char *pw_hash) HSMCA_WUR;
int db_account_set_role(struct db *db, const char *name, enum db_role role) HSMCA_WUR;
/* Calls fn for every account in id order (at most 10000); a non-zero return of fn stops and is returned. */
int db_account_each(struct db *db, int (*fn)(void *ctx, const struct db_account_info *a), void *ctx) HSMCA_WUR;
int db_account_info_get(struct db *db, const char *name, struct db_account_info *out) HSMCA_WUR;
/* As db_apikey_create, returning the new key's id. */
int db_apikey_insert(struct db *db, const char *account, const char *key_hash_hex, const char *profile,
		     int64_t *out_id) HSMCA_WUR;
/* Calls fn for every API key of account in id order (fn as for db_account_each). */
int db_apikey_each(struct db *db, const char *account, int (*fn)(void *ctx, const struct db_apikey_info *k),
		   void *ctx) HSMCA_WUR;
/* Disables key id of account (current transaction); HSMCA_ERR_NOTFOUND if account has no such key. */
int db_apikey_disable(struct db *db, const char *account, int64_t id) HSMCA_WUR;
/* Told of each row db_rows_reseal re-MACs, inside its transaction (kept only if db_rows_reseal returns 0):
 * what "account" (id, its name, its role) or "apikey" (id, its account's id, its profile or ""). */
struct db_reseal_cb {
	void (*fn)(void *ctx, const char *what, int64_t id, const char *name, const char *detail);
	void *ctx;
};
#define DB_RESEAL_ACTOR "config" /* the audit rows' actor (a reserved account name) */
/* A key rotation (intent_key_accept_file): in one transaction of its own, re-MACs under db's key every account
 * row and enabled API key row whose MAC checks under old_key alone, so that the old key can be dropped, each
 * with its audit row (actor DB_RESEAL_ACTOR, object the account's name; account.resealed {"id", "role"},
 * apikey.resealed {"id", "profile"}); rows already under the new key, without a MAC (legacy) or refused under
 * both are left as they are. *out_n: how many were re-MACed. */
int db_rows_reseal(struct db *db, const uint8_t *old_key, const struct db_reseal_cb *cb, unsigned *out_n) HSMCA_WUR;

#define DB_TOKEN_LEN 32 /* an authsign token (HMAC-SHA-256) */
/* Takes an authsign token for ttl_seconds (its own statement, autocommit; schema 006): 0 if it was not
 * held (new, or its last hold expired), HSMCA_ERR_EXISTS if another request holds it (a replay, from any
 * frontend of the database). */
int db_token_claim(struct db *db, const uint8_t token[DB_TOKEN_LEN], unsigned ttl_seconds) HSMCA_WUR;
/* Deletes expired tokens (its own statement, autocommit), but not those whose request is held or pending, or
 * was issued within ttl_seconds, or, approved by an administrator, was issued (not expired) or failed within
 * an approval's length (their replays are answered from that row: db_token_state). */
int db_token_prune(struct db *db, unsigned ttl_seconds) HSMCA_WUR;
/* Ends the hold of an authsign token at once (its own statement) unless its current claim wrote a row: a
 * request that failed for a reason of ours (a 5xx) before its intent was committed may be sent again at
 * once, while one whose row is pending keeps the hold (a retry is told it is being signed, then gets it) and
 * one the signer refused (its row failed) keeps it too (replays cannot make the HSM refuse without limit). */
int db_token_release(struct db *db, const uint8_t token[DB_TOKEN_LEN]) HSMCA_WUR;

/* Failed-login limits shared by every frontend of the database (schema 021), each call its own statement
 * (autocommit). Tags are DB_AUTH_TAG_LEN bytes (auth.c: HMACs of a kind and a name or address group). */
#define DB_AUTH_TAG_LEN 32
/* Counts a failure against tag a and, if b is not NULL, tag b: a count whose last failure is window_s or more
 * ago starts again at 1; one at limit or above is not counted (nor its time moved) and *was_limited (may be
 * NULL) says that a or b was. */
int db_auth_fail(struct db *db, const uint8_t *a, const uint8_t *b, unsigned limit, unsigned window_s,
		 bool *was_limited) HSMCA_WUR;
struct db_auth_state {
	bool addr_limited; /* addr has limit failures within window_s */
	bool acct_limited; /* so has acct */
	bool pair_known;   /* the account logged in from this address (its pair) within known_s */
};
/* What the shared counts say of a login (acct and pair may be NULL: an address's count only). */
int db_auth_limited(struct db *db, const uint8_t *addr, const uint8_t *acct, const uint8_t *pair, unsigned limit,
		    unsigned window_s, unsigned known_s, struct db_auth_state *out) HSMCA_WUR;
/* A verification about to run (its own transaction): reserved against a and, if not NULL, b, both or
 * neither; *reserved is false if the failures and reservations of one of them within window_s have reached
 * limit. db_auth_settle ends it: counted as a failure, or given back (a success moves no failure's time).
 * Without the reservation, five guesses could run at each frontend at once. */
int db_auth_reserve(struct db *db, const uint8_t *a, const uint8_t *b, unsigned limit, unsigned window_s,
		    bool *reserved) HSMCA_WUR;
int db_auth_settle(struct db *db, const uint8_t *a, const uint8_t *b, bool failed, unsigned window_s) HSMCA_WUR;
/* Records a login of pair now. */
int db_auth_known(struct db *db, const uint8_t *pair) HSMCA_WUR;
/* Deletes counts past window_s and pairs past known_s. */
int db_auth_prune(struct db *db, unsigned window_s, unsigned known_s) HSMCA_WUR;

/* What the certificates requested with an authsign token say about a replay (schema 011). */
#define DB_TOKEN_REASON_MAX 1024 /* 240 characters of UTF-8 and the NUL */
struct db_token_state {
	char revoked[DB_SERIAL_HEX_MAX]; /* a revoked certificate requested with the token (any claim), or "" */
	char rejected[DB_SERIAL_HEX_MAX]; /* the newest request with the token (any claim), if an administrator
					   * rejected it, or "" */
	char serial[DB_SERIAL_HEX_MAX];  /* the newest row of the token's last claim, or "" */
	char status[DB_STATUS_MAX];      /* its status */
	char reason[DB_TOKEN_REASON_MAX]; /* its failure reason if failed (the first 240 characters), else "" */
	bool recent;                     /* it last changed (was issued) within recent_seconds, or, approved by an
					  * administrator and not expired, within an approval's TTL (DB_APPROVAL_TTL_DEFAULT) */
	bool live;                       /* the token's hold has not ended (its expires_at is not past), or the row,
					  * approved by an administrator, last changed within an approval's TTL */
	uint8_t *der;                    /* its certificate if issued (owned: db_token_state_free), else NULL */
	size_t der_len;
};
/* Fills out (zeroed first; free it with db_token_state_free, also after an error). */
int db_token_state(struct db *db, const uint8_t token[DB_TOKEN_LEN], unsigned recent_seconds,
		   struct db_token_state *out) HSMCA_WUR;
void db_token_state_free(struct db_token_state *s);

#endif
