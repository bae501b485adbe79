/* db_test: drives frontend/db*.c against a private PostgreSQL cluster (tests/integration/frontend_db.sh
 * starts it and does the superuser-side tampering with psql). One subcommand per step; exit 0 on success.
 *
 *   db_test known SCHEMA_DIR                     db_schema_version_known() == highest NNN in SCHEMA_DIR
 *   db_test migrate CONNINFO SCHEMA_DIR WANT     db_migrate succeeds and reports version WANT
 *   db_test migrate-refused CONNINFO SCHEMA_DIR  db_migrate fails with HSMCA_ERR_STATE
 *   db_test open CONNINFO                        db_open succeeds
 *   db_test open-refused CONNINFO                db_open fails with HSMCA_ERR_STATE
 *   db_test certs CONNINFO                       certificate life cycle; prints "A B" serials for the script
 *   db_test accounts CONNINFO                    accounts and API keys
 *   db_test batch CONNINFO                       db_batch_apply alone and in the group committer
 *   db_test batch-partial CONNINFO               a batch of results meeting a row already issued stores
 *                                                nothing; the committer's fallback gives each its true outcome
 *   db_test claim CONNINFO                       recovery's claim: a row one session holds is skipped by another
 *   db_test retry-locks CONNINFO                 a committer transaction retried item by item locks its rows
 *                                                first (needs frontend_db.sh's slow-insert test trigger)
 *   db_test batch-plan OWNER_CONNINFO            the batch statement's plans (auto_explain, so superuser) on a
 *                                                table of mostly dead pending entries: never that index
 *   db_test pending-scan CONNINFO                recovery's scan on a table of mostly dead pending entries: a
 *                                                later pass does not read them again
 *   db_test checkpoint-scan CONNINFO             the checkpoint thread's looks at audit_checkpoints on a table
 *                                                of 20,000: a few index entries each, however many rows
 *   db_test batch-bench CONNINFO N ROUNDS        not a test: ROUNDS statements of N intents and the previous
 *                                                round's N results each, as the group committer sends them
 *                                                (P-256-sized TBS and certificate); prints ms per statement
 *                                                and per certificate (bench/batch.sh)
 *   db_test audit-append CONNINFO N              N rows (and a rolled-back one that must leave no trace)
 *   db_test audit-verify CONNINFO [BAD_ID]       the chain is intact, or broken exactly at BAD_ID
 *   db_test audit-concurrent CONNINFO P N        P processes with their own connections append N rows each
 */
#include <ctype.h>
#include <dirent.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commit.h"
#include "db.h"
#include "db_batch.h"
#include "db_priv.h" /* the connection, for auto_explain's plans (batch-plan) */
#include "intent.h"

#define CHECK(cond)                                                                                   \
	do {                                                                                          \
		if (!(cond)) {                                                                        \
			fprintf(stderr, "db_test: %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                                      \
		}                                                                                     \
	} while (0)
/* a call that must return want; the database's message on failure */
#define EXPECT(want, call, db)                                                                         \
	do {                                                                                           \
		int rc_ = (call);                                                                      \
		if (rc_ != (want)) {                                                                   \
			fprintf(stderr, "db_test: %s:%d: %s returned %d (%s), expected %d: %s\n", __FILE__, \
				__LINE__, #call, rc_, hsmca_strerror(rc_), (want), db_errmsg(db));     \
			exit(1);                                                                       \
		}                                                                                      \
	} while (0)

#define SERIAL_BYTES 16
#define TBS_LEN 40
#define STATUS_MAX 16

static struct db *open_or_die(const char *conninfo)
{
	char err[DB_ERR_MAX];
	struct db *db = NULL;
	int rc = db_open(conninfo, &db, err);

	if (rc) {
		fprintf(stderr, "db_test: db_open: %d %s\n", rc, err);
		exit(1);
	}
	return db;
}

static int cmd_known(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int max = 0;

	CHECK(d != NULL);
	while ((e = readdir(d)) != NULL) {
		int v;
		char rest[256];
		if (sscanf(e->d_name, "%3d_%255s", &v, rest) == 2 && strstr(rest, ".sql") && v > max)
			max = v;
	}
	closedir(d);
	printf("schema dir max %d, build knows %d\n", max, db_schema_version_known());
	CHECK(max == db_schema_version_known());
	return 0;
}

static int cmd_migrate(const char *conninfo, const char *dir, const char *want)
{
	char err[DB_ERR_MAX] = "";
	int version = -1, rc = db_migrate(conninfo, dir, &version, err);

	if (want == NULL) { /* must be refused */
		printf("migrate refused: %d %s\n", rc, err);
		CHECK(rc == HSMCA_ERR_STATE && err[0] != '\0');
		return 0;
	}
	if (rc) {
		fprintf(stderr, "db_test: db_migrate: %d %s\n", rc, err);
		return 1;
	}
	printf("migrated to version %d\n", version);
	CHECK(version == atoi(want));
	return 0;
}

static int cmd_open(const char *conninfo, bool refused)
{
	char err[DB_ERR_MAX] = "";
	struct db *db = NULL;
	int rc = db_open(conninfo, &db, err);

	if (refused) {
		printf("open refused: %d %s\n", rc, err);
		CHECK(rc == HSMCA_ERR_STATE && db == NULL && strstr(err, "schema version") != NULL);
		return 0;
	}
	if (rc)
		fprintf(stderr, "db_test: db_open: %d %s\n", rc, err);
	CHECK(rc == 0 && db != NULL);
	/* the cluster of frontend_db.sh says synchronous_commit = off: a session of the frontend's says on, or an
	 * intent's COMMIT could return before it is on disk and the signer sign it */
	PGresult *r = NULL;
	CHECK(db_exec(db, "SELECT pg_catalog.current_setting('synchronous_commit')", NULL, DB_FMT_TEXT, &r) == 0 &&
	      PQntuples(r) == 1);
	printf("synchronous_commit %s\n", PQgetvalue(r, 0, 0));
	CHECK(strcmp(PQgetvalue(r, 0, 0), "off") != 0);
	PQclear(r);
	/* and the settings pinned against an ALTER ROLE ... SET that would make its writes fail (db.c) */
	static const char *const pinned[] = { "default_transaction_isolation", "default_transaction_read_only",
					      "lock_timeout", "idle_in_transaction_session_timeout" };
	r = NULL;
	CHECK(db_exec(db, "SELECT pg_catalog.current_setting('default_transaction_isolation'), "
			  "pg_catalog.current_setting('default_transaction_read_only'), pg_catalog.current_setting('lock_timeout'), "
			  "pg_catalog.current_setting('idle_in_transaction_session_timeout')", NULL, DB_FMT_TEXT, &r) == 0 &&
	      PQntuples(r) == 1 && PQnfields(r) == 4);
	for (int i = 0; i < 4; i++)
		printf("%s %s\n", pinned[i], PQgetvalue(r, 0, i));
	PQclear(r);
	db_close(db);
	return 0;
}

static void random_serial(char *out)
{
	FILE *f = fopen("/dev/urandom", "rb");
	unsigned char b[SERIAL_BYTES];

	CHECK(f != NULL && fread(b, 1, sizeof b, f) == sizeof b);
	fclose(f);
	b[0] = (unsigned char)((b[0] & 0x7f) | 0x10); /* positive, 16 bytes */
	for (int i = 0; i < SERIAL_BYTES; i++)
		sprintf(out + 2 * i, "%02X", b[i]);      /* upper case: the db normalises */
}

/* a fake TBS (unique per serial) and a "certificate" that carries it: 30 82 LL LL | tbs | sig */
static void fake_tbs(const char *serial, uint8_t *tbs)
{
	memset(tbs, 0xa5, TBS_LEN);
	tbs[0] = 0x30;
	tbs[1] = TBS_LEN - 2;
	memcpy(tbs + 2, serial, 2 * SERIAL_BYTES);
}

static size_t fake_cert(const uint8_t *tbs, uint8_t *out)
{
	size_t body = TBS_LEN + 3;

	out[0] = 0x30, out[1] = 0x82, out[2] = 0, out[3] = (uint8_t)body;
	memcpy(out + 4, tbs, TBS_LEN);
	memcpy(out + 4 + TBS_LEN, "\x03\x01\x00", 3);
	return 4 + body;
}

/* the intent MAC every test row carries (its value is the frontend's business; the database stores it) */
static const uint8_t test_mac[DB_MAC_LEN] = { 0xa5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
					      19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 0x5a };

static struct db_cert cert_for(const char *serial, const uint8_t *tbs, const char *renews)
{
	struct db_cert c = {.subject = "CN=test,O=hsmca", .sans = "DNS:a.example.com,IP:10.0.0.1",
			    .not_before = 1700000000, .not_after = 1700000000 + 86400, .tbs = tbs,
			    .tbs_len = TBS_LEN, .renews_serial_hex = renews, .intent_mac = test_mac};

	snprintf(c.serial_hex, sizeof c.serial_hex, "%s", serial);
	snprintf(c.issuer, sizeof c.issuer, "intermediate");
	snprintf(c.profile, sizeof c.profile, "server");
	snprintf(c.requester, sizeof c.requester, "alice");
	return c;
}

struct pending_seen {
	char serials[8][DB_SERIAL_HEX_MAX];
	int n;
};

static int pending_cb(void *ctx, const char *serial, const char *issuer, const uint8_t *tbs, size_t tbs_len)
{
	struct pending_seen *s = ctx;

	CHECK(s->n < 8 && strcmp(issuer, "intermediate") == 0 && tbs_len == TBS_LEN && tbs[0] == 0x30);
	snprintf(s->serials[s->n++], DB_SERIAL_HEX_MAX, "%s", serial);
	return 0;
}

static bool status_is(struct db *db, const char *serial, const char *want)
{
	char st[STATUS_MAX];

	return db_cert_status(db, serial, st, sizeof st) == 0 && strcmp(st, want) == 0;
}

/* the certificates of cmd_certs: A issued then revoked, B failed, C left pending, D rolled back, E renews A */
enum { A, B, C, D, E, NCERTS };
struct certs {
	char s[NCERTS][DB_SERIAL_HEX_MAX];
	uint8_t tbs[NCERTS][TBS_LEN];
	uint8_t der[2 * TBS_LEN], bogus[2 * TBS_LEN];
	size_t der_len;
};

static void certs_intent(struct db *db, struct certs *t)
{
	struct db_cert ca = cert_for(t->s[A], t->tbs[A], NULL), cb = cert_for(t->s[B], t->tbs[B], NULL);
	struct db_cert cc = cert_for(t->s[C], t->tbs[C], NULL), cd = cert_for(t->s[D], t->tbs[D], NULL);
	struct pending_seen seen = {0};
	char st[STATUS_MAX];

	/* intent: A alone; B and C together; D rolled back leaves nothing */
	EXPECT(0, db_begin(db), db);
	EXPECT(0, db_cert_insert_pending(db, &ca), db);
	EXPECT(0, db_commit(db), db);
	CHECK(status_is(db, t->s[A], "pending"));
	EXPECT(0, db_begin(db), db);
	EXPECT(0, db_cert_insert_pending(db, &cb), db);
	EXPECT(0, db_cert_insert_pending(db, &cc), db);
	EXPECT(0, db_commit(db), db);
	EXPECT(0, db_begin(db), db);
	EXPECT(0, db_cert_insert_pending(db, &cd), db);
	db_rollback(db);
	EXPECT(HSMCA_ERR_NOTFOUND, db_cert_status(db, t->s[D], st, sizeof st), db);
	/* a duplicate serial; a failed transaction does not commit */
	EXPECT(0, db_begin(db), db);
	EXPECT(HSMCA_ERR_SERIAL, db_cert_insert_pending(db, &ca), db); /* drawn twice: the caller draws again */
	EXPECT(HSMCA_ERR_STATE, db_commit(db), db);
	/* recovery sees exactly the pending rows, in insertion order; not inside a transaction */
	EXPECT(0, db_cert_pending_each(db, 0, pending_cb, &seen), db);
	CHECK(seen.n == 3 && strcasecmp(seen.serials[0], t->s[A]) == 0 && strcasecmp(seen.serials[1], t->s[B]) == 0 &&
	      strcasecmp(seen.serials[2], t->s[C]) == 0);
	EXPECT(0, db_begin(db), db);
	EXPECT(HSMCA_ERR_STATE, db_cert_pending_each(db, 0, pending_cb, &seen), db);
	db_rollback(db);
}

static void certs_transitions(struct db *db, struct certs *t)
{
	struct pending_seen seen = {0};

	/* the signed certificate must carry the committed TBS */
	EXPECT(0, db_begin(db), db);
	EXPECT(HSMCA_ERR_STATE, db_cert_mark_issued(db, t->s[A], t->bogus, t->der_len), db);
	db_rollback(db);
	CHECK(status_is(db, t->s[A], "pending"));
	/* pending -> issued (with its audit row in the same transaction); pending -> failed */
	EXPECT(0, db_begin(db), db);
	EXPECT(0, db_cert_mark_issued(db, t->s[A], t->der, t->der_len), db);
	EXPECT(0, db_audit_append(db, "alice", "certificate.issued", t->s[A], "{}"), db);
	EXPECT(0, db_commit(db), db);
	CHECK(status_is(db, t->s[A], "issued"));
	EXPECT(0, db_begin(db), db);
	EXPECT(0, db_cert_mark_failed(db, t->s[B], "signer: CKR_DEVICE_ERROR"), db);
	EXPECT(0, db_audit_append(db, "signer", "certificate.failed", t->s[B], "{}"), db); /* schema 023 */
	EXPECT(0, db_commit(db), db);
	CHECK(status_is(db, t->s[B], "failed"));
	EXPECT(0, db_cert_pending_each(db, 0, pending_cb, &seen), db);
	CHECK(seen.n == 1 && strcasecmp(seen.serials[0], t->s[C]) == 0);
	/* transitions that do not apply change nothing */
	EXPECT(HSMCA_ERR_STATE, db_cert_mark_issued(db, t->s[A], t->der, t->der_len), db);
	EXPECT(HSMCA_ERR_STATE, db_cert_mark_failed(db, t->s[A], "again"), db);
	EXPECT(HSMCA_ERR_STATE, db_cert_mark_issued(db, t->s[B], t->der, t->der_len), db);
	EXPECT(HSMCA_ERR_NOTFOUND, db_cert_mark_issued(db, t->s[D], t->der, t->der_len), db);
	EXPECT(HSMCA_ERR_NOTFOUND, db_cert_mark_failed(db, t->s[D], "x"), db);
	EXPECT(HSMCA_ERR_STATE, db_cert_revoke(db, t->s[C], "keyCompromise", "bob"), db);
	CHECK(status_is(db, t->s[A], "issued") && status_is(db, t->s[B], "failed") && status_is(db, t->s[C], "pending"));
}

static void certs_revoke_renew(struct db *db, struct certs *t)
{
	struct db_cert ce = cert_for(t->s[E], t->tbs[E], t->s[A]), bad = cert_for(t->s[D], t->tbs[D], "abcdef");

	/* renewal links to the old certificate; an unknown old serial is refused */
	EXPECT(0, db_cert_insert_pending(db, &ce), db);
	EXPECT(HSMCA_ERR_NOTFOUND, db_cert_insert_pending(db, &bad), db);
	/* a second renewal of A is "exists" (renewed once), not a serial drawn twice */
	char s2[DB_SERIAL_HEX_MAX];
	uint8_t tbs2[TBS_LEN];
	random_serial(s2);
	fake_tbs(s2, tbs2);
	struct db_cert ce2 = cert_for(s2, tbs2, t->s[A]);
	EXPECT(HSMCA_ERR_EXISTS, db_cert_insert_pending(db, &ce2), db);
	/* the classification itself */
	CHECK(db_map_error("23505", DB_CONSTRAINT_SERIAL) == HSMCA_ERR_SERIAL);
	CHECK(db_map_error("23505", "certificates_renewed_once") == HSMCA_ERR_EXISTS);
	CHECK(db_map_error("23505", "accounts_name_key") == HSMCA_ERR_EXISTS);
	CHECK(db_map_error("23505", NULL) == HSMCA_ERR_EXISTS);
	CHECK(db_map_error("23503", DB_CONSTRAINT_SERIAL) == HSMCA_ERR_NOTFOUND);
	CHECK(db_map_error(NULL, NULL) == HSMCA_ERR_IO);
	/* revocation (an unknown reason is refused by the schema) */
	EXPECT(0, db_begin(db), db);
	EXPECT(HSMCA_ERR_PARSE, db_cert_revoke(db, t->s[A], "notAReason", "bob"), db);
	db_rollback(db);
	CHECK(status_is(db, t->s[A], "issued"));
	EXPECT(0, db_begin(db), db);
	EXPECT(0, db_cert_revoke(db, t->s[A], "keyCompromise", "bob"), db);
	EXPECT(0, db_audit_append(db, "bob", "certificate.revoked", t->s[A], "{\"reason\":\"keyCompromise\"}"), db);
	EXPECT(0, db_commit(db), db);
	CHECK(status_is(db, t->s[A], "revoked"));
	EXPECT(HSMCA_ERR_STATE, db_cert_revoke(db, t->s[A], "keyCompromise", "bob"), db);
	/* a renewal of a revoked certificate is refused by the database itself (013: a revocation committed after
	 * the frontend's check of the renewal is seen), as HSMCA_ERR_POLICY, in a batch too */
	char s3[DB_SERIAL_HEX_MAX];
	uint8_t tbs3[TBS_LEN];
	random_serial(s3);
	fake_tbs(s3, tbs3);
	struct db_cert ce3 = cert_for(s3, tbs3, t->s[A]);
	EXPECT(HSMCA_ERR_POLICY, db_cert_insert_pending(db, &ce3), db);
	CHECK(strstr(db_errmsg(db), "which is revoked (not issued)") != NULL);
	struct db_batch_intent bi3 = { &ce3, "alice", "{}" };
	const struct db_batch_intent *v3[] = { &bi3 };
	EXPECT(HSMCA_ERR_POLICY, db_batch_apply(db, v3, 1, NULL, 0), db);
	CHECK(db_map_error("HS003", NULL) == HSMCA_ERR_POLICY);
	CHECK(db_map_error("55P03", NULL) == HSMCA_ERR_AGAIN);
	/* issuers */
	EXPECT(0, db_issuer_upsert(db, "intermediate", t->der, t->der_len), db);
	EXPECT(0, db_issuer_upsert(db, "intermediate", t->bogus, t->der_len), db);
}

static void certs_bad_input(struct db *db, struct certs *t)
{
	struct db_cert bad = cert_for("xyz", t->tbs[D], NULL);
	char st[STATUS_MAX];

	EXPECT(HSMCA_ERR_PARSE, db_cert_insert_pending(db, &bad), db);
	bad = cert_for(t->s[D], t->tbs[D], NULL);
	bad.not_after = bad.not_before;
	EXPECT(HSMCA_ERR_PARSE, db_cert_insert_pending(db, &bad), db);
	bad = cert_for(t->s[D], t->tbs[D], NULL);
	bad.tbs_len = 0;
	EXPECT(HSMCA_ERR_PARSE, db_cert_insert_pending(db, &bad), db);
	EXPECT(HSMCA_ERR_PARSE, db_cert_status(db, "", st, sizeof st), db);
	EXPECT(HSMCA_ERR_PARSE, db_cert_status(db, "00112233445566778899aabbccddeeff0011223344", st, sizeof st), db);
	EXPECT(HSMCA_ERR_PARSE, db_cert_mark_issued(db, "0x12", t->der, t->der_len), db);
	EXPECT(HSMCA_ERR_PARSE, db_cert_mark_issued(db, t->s[C], t->der, 0), db);
}

static int cmd_certs(const char *conninfo)
{
	struct db *db = open_or_die(conninfo);
	struct certs t;

	for (int i = 0; i < NCERTS; i++) {
		random_serial(t.s[i]);
		fake_tbs(t.s[i], t.tbs[i]);
	}
	t.der_len = fake_cert(t.tbs[A], t.der);
	memcpy(t.bogus, t.der, t.der_len);
	t.bogus[10] ^= 1;
	certs_intent(db, &t);
	certs_transitions(db, &t);
	certs_revoke_renew(db, &t);
	certs_bad_input(db, &t);
	for (int i = 0; i < NCERTS; i++) /* for the script (change_seq, renewal): as stored */
		for (char *p = t.s[i]; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	printf("%s %s %s\n", t.s[A], t.s[C], t.s[E]);
	db_close(db);
	return 0;
}

/* ---- batch: db_batch_apply and the committer's fallback ---- */
#define BATCH_N 6
struct batch_one {
	struct committer *c;
	const struct db_batch_intent *in;
	int rc;
};

static int batch_intent_apply(struct db *db, void *arg)
{
	const struct db_batch_intent *in = arg;
	int rc = db_cert_insert_pending(db, in->cert);
	return rc ? rc : db_audit_append(db, in->actor, "certificate.requested", in->cert->serial_hex, in->details);
}

/* The committer held up by one item until `want` items wait behind it, so that they share the next batch
 * (committer_queued: no sleeps that a slow machine could outlast). */
struct batch_hold {
	struct committer *c;
	size_t want;
	atomic_bool running;
	pthread_t th;
};

static int batch_busy_apply(struct db *db, void *arg)
{
	struct batch_hold *h = arg;
	(void)db;
	atomic_store(&h->running, true);
	for (int t = 0; t < 2000 && committer_queued(h->c) < h->want; t++) /* up to ~20 s */
		usleep(10000);
	CHECK(committer_queued(h->c) >= h->want);
	return 0;
}

static void *batch_busy(void *arg)
{
	struct batch_hold *h = arg;
	CHECK(committer_run(h->c, NULL, batch_busy_apply, h) == 0);
	return NULL;
}

/* Starts the holding item and returns once the committer runs it: what is queued next waits behind it. */
static void batch_hold_start(struct batch_hold *h, struct committer *c, size_t want)
{
	h->c = c;
	h->want = want;
	atomic_init(&h->running, false);
	CHECK(pthread_create(&h->th, NULL, batch_busy, h) == 0);
	for (int t = 0; t < 20000 && !atomic_load(&h->running); t++)
		usleep(1000);
	CHECK(atomic_load(&h->running));
}

static void *batch_intent(void *arg)
{
	struct batch_one *o = arg;
	o->rc = committer_run_intent(o->c, o->in, batch_intent_apply, (void *)o->in);
	return NULL;
}

/* Every column of serial's row as the batch was given it (compared by PostgreSQL: text, times, bytes, NULLs),
 * and exactly one audit row (action, actor, details) for it. der NULL: none yet. */
static bool batch_row_is(struct db *db, const struct db_cert *c, const uint8_t *der, size_t der_len,
			 const char *action, const char *actor, const char *details)
{
	char serial[DB_SERIAL_HEX_MAX], renews[DB_SERIAL_HEX_MAX] = "", nb[32], na[32];
	struct db_params p = { 0 };
	PGresult *r = NULL;
	for (size_t i = 0; i < sizeof serial; i++) { /* serials are stored in lowercase */
		serial[i] = (char)tolower((unsigned char)c->serial_hex[i]);
		if (c->renews_serial_hex && i <= strlen(c->renews_serial_hex))
			renews[i] = (char)tolower((unsigned char)c->renews_serial_hex[i]);
	}
	snprintf(nb, sizeof nb, "%lld", (long long)c->not_before);
	snprintf(na, sizeof na, "%lld", (long long)c->not_after);
	db_params_text(&p, serial);
	db_params_text(&p, c->issuer);
	db_params_text(&p, c->subject);
	db_params_text(&p, c->sans);
	db_params_text(&p, nb);
	db_params_text(&p, na);
	db_params_text(&p, c->profile);
	db_params_text(&p, c->requester);
	db_params_bin(&p, c->tbs, c->tbs_len);
	db_params_text(&p, c->renews_serial_hex ? renews : NULL);
	if (der)
		db_params_bin(&p, der, der_len);
	else
		db_params_text(&p, NULL);
	db_params_text(&p, action);
	db_params_text(&p, actor);
	db_params_text(&p, details);
	EXPECT(0, db_exec(db, "SELECT issuer = $2 AND subject = $3 AND sans = $4 AND not_before = to_timestamp($5::bigint) "
			      "AND not_after = to_timestamp($6::bigint) AND profile = $7 AND requester = $8 AND tbs = $9::bytea "
			      "AND renews_serial IS NOT DISTINCT FROM $10::text AND der IS NOT DISTINCT FROM $11::bytea AND "
			      "(SELECT count(*) FROM audit_log a WHERE a.object = $1 AND a.action = $12 AND a.actor = $13 "
			      "AND a.details = $14) = 1 FROM certificates WHERE serial_hex = $1",
			  &p, DB_FMT_TEXT, &r),
	       db);
	bool ok = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	return ok;
}

/* Intents alone and intents with issued results are one statement, a transaction of its own outside one
 * (seen at once from another connection); a statement with one bad item stores nothing; in the committer,
 * two intents that share a batch whose statement fails (a duplicate serial) are then stored one by one: the
 * good one is, the duplicate fails alone with HSMCA_ERR_SERIAL. */
static int cmd_batch(const char *conninfo)
{
	struct db *db = open_or_die(conninfo), *other = open_or_die(conninfo);
	char s[BATCH_N][DB_SERIAL_HEX_MAX];
	uint8_t tbs[BATCH_N][TBS_LEN], der[2][2 * TBS_LEN];
	struct db_cert c[BATCH_N];
	struct db_batch_intent in[BATCH_N];
	for (int i = 0; i < BATCH_N; i++) {
		random_serial(s[i]);
		fake_tbs(s[i], tbs[i]);
		c[i] = cert_for(s[i], tbs[i], NULL);
		in[i] = (struct db_batch_intent){ &c[i], "alice", "{}" };
	}
	const struct db_batch_intent *v01[] = { &in[0], &in[1] }, *v23[] = { &in[2], &in[3] };
	EXPECT(0, db_batch_apply(db, v01, 2, NULL, 0), db);
	CHECK(status_is(other, s[0], "pending") && status_is(other, s[1], "pending"));

	struct db_batch_issued is[2];
	for (int i = 0; i < 2; i++)
		is[i] = (struct db_batch_issued){ s[i], der[i], fake_cert(tbs[i], der[i]), "signer", "{}" };
	const struct db_batch_issued *vs[] = { &is[0], &is[1] };
	EXPECT(0, db_batch_apply(db, v23, 2, vs, 2), db);
	CHECK(status_is(other, s[0], "issued") && status_is(other, s[1], "issued"));
	CHECK(status_is(other, s[2], "pending") && status_is(other, s[3], "pending"));

	/* atomic: a duplicate intent (s[2] again) fails the statement, and s[4] is not stored either */
	const struct db_batch_intent *vdup[] = { &in[4], &in[2] };
	CHECK(db_batch_apply(db, vdup, 2, NULL, 0) != 0);
	char st[STATUS_MAX];
	EXPECT(HSMCA_ERR_NOTFOUND, db_cert_status(other, s[4], st, sizeof st), other);

	/* the committer: s[4] and a duplicate of s[2] (another TBS: the row is not this intent's) wait together
	 * behind a busy item, share a batch */
	struct committer *cm = NULL;
	pthread_t t[2];
	struct batch_hold hold;
	struct db_cert cdup = c[2];
	cdup.tbs = tbs[3];
	struct db_batch_intent indup = { &cdup, "alice", "{}" };
	struct batch_one o[2] = { { NULL, &in[4], -1 }, { NULL, &indup, -1 } };
	char cmerr[DB_ERR_MAX];
	CHECK(committer_start(conninfo, &cm, cmerr) == 0);
	o[0].c = o[1].c = cm;
	batch_hold_start(&hold, cm, 2);
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, batch_intent, &o[i]) == 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_join(hold.th, NULL);
	CHECK(o[0].rc == 0 && status_is(other, s[4], "pending"));
	CHECK(o[1].rc == HSMCA_ERR_SERIAL); /* its serial drawn twice: the issuing path draws another */

	/* every value arrives as given, in each of the three statements (intents, intents with results,
	 * results): quotes, backslashes, braces, commas and non-ASCII text, an empty SAN list, a renewal's serial
	 * beside a NULL one, bytes that are not text (a zero byte among them), times */
	struct db_cert rt[2] = { c[5], c[5] };
	uint8_t rt_tbs[2][TBS_LEN], rt_der[2 * TBS_LEN];
	static const char rt_details[] = "{\"note\":\"a \\\"b\\\" \\\\ c, {d} \u00e9\",\"n\":[1,2]}";
	for (int i = 0; i < 2; i++) {
		random_serial(rt[i].serial_hex);
		fake_tbs(rt[i].serial_hex, rt_tbs[i]);
		for (int k = 2 + 2 * SERIAL_BYTES; k < TBS_LEN; k++)
			rt_tbs[i][k] = (uint8_t)(0xff - k * 37 - i);
		rt_tbs[i][TBS_LEN - 1] = 0;
		rt[i].tbs = rt_tbs[i];
	}
	rt[0].subject = "CN=a \"quoted\" \\, back\\slash,O={braces} and commas,L=Z\xc3\xbcrich \xe2\x9c\x93";
	rt[0].sans = "DNS:a.example.com,IP:10.0.0.1,URI:https://x.example.com/{p}?q=\"1\"";
	rt[0].renews_serial_hex = s[0];
	rt[1].sans = "";
	rt[1].not_before = 0;
	rt[1].not_after = 4102444800; /* 2100-01-01 */
	struct db_batch_intent rt_in[2] = { { &rt[0], "alice \"the\" admin", rt_details }, { &rt[1], "bob", "{}" } };
	const struct db_batch_intent *vrt[] = { &rt_in[0], &rt_in[1] }, *v5[] = { &in[5] };
	EXPECT(0, db_batch_apply(db, vrt, 2, NULL, 0), db);
	CHECK(batch_row_is(other, &rt[0], NULL, 0, "certificate.requested", "alice \"the\" admin", rt_details));
	CHECK(batch_row_is(other, &rt[1], NULL, 0, "certificate.requested", "bob", "{}"));
	struct db_batch_issued rt_is = { rt[1].serial_hex, rt_der, fake_cert(rt_tbs[1], rt_der), "signer", rt_details };
	const struct db_batch_issued *vrs[] = { &rt_is };
	EXPECT(0, db_batch_apply(db, v5, 1, vrs, 1), db);
	CHECK(batch_row_is(other, &rt[1], rt_der, rt_is.der_len, "certificate.issued", "signer", rt_details));
	struct db_batch_issued is5 = { s[5], der[0], fake_cert(tbs[5], der[0]), "signer \\ 1", "{}" };
	const struct db_batch_issued *vs5[] = { &is5 };
	EXPECT(0, db_batch_apply(db, NULL, 0, vs5, 1), db);
	CHECK(batch_row_is(other, &c[5], der[0], is5.der_len, "certificate.issued", "signer \\ 1", "{}"));

	/* a batch whose details column would pass DB_BLOB_MAX is refused whole (the committer then stores its
	 * items one by one, as after any failed batch statement) and stores nothing */
	enum { BIG_N = 20, BIG_DETAILS = 60000 };
	static char big_details[BIG_DETAILS + 16], big_s[BIG_N][DB_SERIAL_HEX_MAX];
	static uint8_t big_tbs[BIG_N][TBS_LEN];
	static struct db_cert big_c[BIG_N];
	static struct db_batch_intent big_in[BIG_N];
	const struct db_batch_intent *vbig[BIG_N];
	snprintf(big_details, sizeof big_details, "{\"pad\":\"%0*d\"}", BIG_DETAILS, 0);
	for (int i = 0; i < BIG_N; i++) {
		random_serial(big_s[i]);
		fake_tbs(big_s[i], big_tbs[i]);
		big_c[i] = cert_for(big_s[i], big_tbs[i], NULL);
		big_in[i] = (struct db_batch_intent){ &big_c[i], "alice", big_details };
		vbig[i] = &big_in[i];
	}
	EXPECT(HSMCA_ERR_LIMIT, db_batch_apply(db, vbig, BIG_N, NULL, 0), db);
	EXPECT(HSMCA_ERR_NOTFOUND, db_cert_status(other, big_s[0], st, sizeof st), other);
	EXPECT(0, db_batch_apply(db, vbig, 2, NULL, 0), db); /* two of them fit */
	CHECK(status_is(other, big_s[0], "pending") && status_is(other, big_s[1], "pending"));
	db_close(other);
	db_close(db);
	printf("batch: one statement, atomic; the committer's fallback stores the good item of a failed batch; "
	       "every value arrives as given; a batch of more than DB_BLOB_MAX bytes in a column is refused whole\n");
	return 0;
}

/* ---- batch-partial: a batch whose results meet a row that is no longer pending ---- */
struct batch_res {
	struct committer *c;
	const struct db_batch_issued *is;
	int rc;
};

static int batch_issued_apply(struct db *db, void *arg)
{
	const struct db_batch_issued *is = arg;
	int rc = db_cert_mark_issued(db, is->serial_hex, is->der, is->der_len);
	return rc ? rc : db_audit_append(db, is->actor, "certificate.issued", is->serial_hex, is->details);
}

static void *batch_issued(void *arg)
{
	struct batch_res *o = arg;
	o->rc = committer_run_issued(o->c, o->is, batch_issued_apply, (void *)o->is);
	return NULL;
}

/* audit rows of action for serial (any case) */
static long audit_count(struct db *db, const char *serial, const char *action)
{
	char lower[DB_SERIAL_HEX_MAX];
	struct db_params p = { 0 };
	PGresult *r = NULL;
	for (size_t i = 0; i < sizeof lower; i++)
		lower[i] = (char)tolower((unsigned char)serial[i]);
	db_params_text(&p, lower);
	db_params_text(&p, action);
	EXPECT(0, db_exec(db, "SELECT count(*) FROM audit_log WHERE lower(object) = $1 AND action = $2", &p, DB_FMT_TEXT, &r),
	       db);
	long n = atol(PQgetvalue(r, 0, 0));
	PQclear(r);
	return n;
}

/* Pending S and T, S already issued: a batch statement of results for S and T stores nothing (outside a
 * transaction it used to commit T and an audit row for S, then report failure); the committer's one-by-one
 * fallback then finds S issued with the same DER (stored: 0, no second audit row) and issues T; S with another
 * DER is HSMCA_ERR_EXISTS (not pending any more), and an intent whose row already holds its TBS (a batch
 * statement that committed before the connection went) is stored, one with another TBS is a serial drawn
 * twice (HSMCA_ERR_SERIAL). */
static int cmd_batch_partial(const char *conninfo)
{
	struct db *db = open_or_die(conninfo), *other = open_or_die(conninfo);
	enum { S, T, U, N };
	char s[N][DB_SERIAL_HEX_MAX];
	uint8_t tbs[N][TBS_LEN], der[N][2 * TBS_LEN], der2[2 * TBS_LEN], tbs2[TBS_LEN];
	struct db_cert c[N];
	struct db_batch_intent in[N];
	struct db_batch_issued is[N];
	const struct db_batch_intent *vi[N];
	for (int i = 0; i < N; i++) {
		random_serial(s[i]);
		fake_tbs(s[i], tbs[i]);
		c[i] = cert_for(s[i], tbs[i], NULL);
		in[i] = (struct db_batch_intent){ &c[i], "alice", "{}" };
		is[i] = (struct db_batch_issued){ s[i], der[i], fake_cert(tbs[i], der[i]), "signer", "{}" };
		vi[i] = &in[i];
	}
	EXPECT(0, db_batch_apply(db, vi, N, NULL, 0), db);
	const struct db_batch_issued *vS[] = { &is[S] }, *vST[] = { &is[S], &is[T] };
	EXPECT(0, db_batch_apply(db, NULL, 0, vS, 1), db);
	CHECK(status_is(other, s[S], "issued") && audit_count(other, s[S], "certificate.issued") == 1);

	/* the statement alone, outside a transaction (as the committer runs it): nothing changes */
	EXPECT(HSMCA_ERR_STATE, db_batch_apply(db, NULL, 0, vST, 2), db);
	CHECK(status_is(other, s[T], "pending"));
	CHECK(strstr(db_errmsg(db), "not pending") != NULL);
	CHECK(audit_count(other, s[S], "certificate.issued") == 1 && audit_count(other, s[T], "certificate.issued") == 0);
	/* with an intent in the same statement: the intent is not stored either */
	char su[DB_SERIAL_HEX_MAX];
	uint8_t tu[TBS_LEN];
	random_serial(su);
	fake_tbs(su, tu);
	struct db_cert cu = cert_for(su, tu, NULL);
	struct db_batch_intent inu = { &cu, "alice", "{}" };
	const struct db_batch_intent *vu[] = { &inu };
	EXPECT(HSMCA_ERR_STATE, db_batch_apply(db, vu, 1, vST, 2), db);
	char st[STATUS_MAX];
	EXPECT(HSMCA_ERR_NOTFOUND, db_cert_status(other, su, st, sizeof st), other);
	CHECK(status_is(other, s[T], "pending") && audit_count(other, su, "certificate.requested") == 0);

	/* the committer: S (already issued, same DER) and T share a batch behind a busy item */
	struct committer *cm = NULL;
	char cmerr[DB_ERR_MAX];
	pthread_t t[2];
	struct batch_hold hold;
	CHECK(committer_start(conninfo, &cm, cmerr) == 0);
	struct batch_res o[2] = { { cm, &is[S], -1 }, { cm, &is[T], -1 } };
	batch_hold_start(&hold, cm, 2);
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, batch_issued, &o[i]) == 0);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_join(hold.th, NULL);
	printf("committer: S rc=%d, T rc=%d\n", o[0].rc, o[1].rc);
	CHECK(o[0].rc == 0 && o[1].rc == 0);
	CHECK(status_is(other, s[T], "issued"));
	CHECK(audit_count(other, s[S], "certificate.issued") == 1 && audit_count(other, s[T], "certificate.issued") == 1);

	/* S with another DER (the same TBS, another signature): not pending, and said so */
	memcpy(der2, der[S], is[S].der_len);
	der2[is[S].der_len - 1] ^= 1;
	struct db_batch_issued isx = is[S];
	isx.der = der2;
	CHECK(committer_run_issued(cm, &isx, batch_issued_apply, &isx) == HSMCA_ERR_EXISTS);
	CHECK(audit_count(other, s[S], "certificate.issued") == 1);

	/* an intent already stored with its TBS is stored (one audit row); the same serial with another TBS is not */
	CHECK(committer_run_intent(cm, &in[U], batch_intent_apply, &in[U]) == 0);
	CHECK(audit_count(other, s[U], "certificate.requested") == 1);
	/* ... but only while its row is pending: S's intent (its TBS, the row issued since, by another path) is
	 * not "stored", which would send it to the signer again; it is completed (HSMCA_ERR_EXISTS: 409 not-pending) */
	int rs = committer_run_intent(cm, &in[S], batch_intent_apply, &in[S]);
	if (rs != HSMCA_ERR_EXISTS)
		printf("an intent whose row was issued meanwhile: rc %d\n", rs);
	CHECK(rs == HSMCA_ERR_EXISTS);
	CHECK(status_is(other, s[S], "issued") && audit_count(other, s[S], "certificate.requested") == 1);
	memcpy(tbs2, tbs[U], TBS_LEN);
	tbs2[TBS_LEN - 1] ^= 1;
	struct db_cert c2 = c[U];
	c2.tbs = tbs2;
	struct db_batch_intent in2 = { &c2, "alice", "{}" };
	CHECK(committer_run_intent(cm, &in2, batch_intent_apply, &in2) == HSMCA_ERR_SERIAL);
	db_close(other);
	db_close(db);
	printf("batch-partial: a batch meeting an issued row stores nothing; the fallback finds each row's true state\n");
	return 0;
}

/* ---- claim: recovery's cross-process claim of a pending row ---- */
struct claim_ctx {
	struct db *other; /* another session (another frontend) */
	const char *serial;
	const uint8_t *der;
	size_t der_len;
	int calls;
	bool write;
};

static int claim_other_fn(void *vctx, struct db *db, const struct db_intent *in)
{
	(void)vctx, (void)db, (void)in;
	CHECK(!"the other session claimed a row that is held");
	return 0;
}

/* While this session holds the row, another cannot claim it (and does not wait for it); what fn writes is
 * committed with the claim. */
static int claim_fn(void *vctx, struct db *db, const struct db_intent *in)
{
	struct claim_ctx *x = vctx;
	bool claimed = true;
	x->calls++;
	CHECK(strcmp(in->issuer, "intermediate") == 0 && in->tbs_len == TBS_LEN && in->tbs[0] == 0x30 &&
	      strcasecmp(in->serial_hex, x->serial) == 0);
	/* the MAC stored with the batch's intent comes back; a row written now is not one 013 found */
	CHECK(in->macs->has_mac && memcmp(in->macs->mac, test_mac, DB_MAC_LEN) == 0 && !in->macs->legacy &&
	      !in->macs->has_release_mac && in->macs->gate == 0);
	EXPECT(0, db_cert_claim_pending(x->other, x->serial, claim_other_fn, NULL, &claimed), x->other);
	CHECK(!claimed);
	if (!x->write)
		return 0;
	int rc = db_cert_mark_issued(db, x->serial, x->der, x->der_len);
	return rc ? rc : db_audit_append(db, "recovery", "certificate.issued", x->serial, "{}");
}

static int cmd_claim(const char *conninfo)
{
	struct db *db = open_or_die(conninfo), *other = open_or_die(conninfo);
	char s[DB_SERIAL_HEX_MAX];
	uint8_t tbs[TBS_LEN], der[2 * TBS_LEN];
	random_serial(s);
	fake_tbs(s, tbs);
	struct db_cert c = cert_for(s, tbs, NULL);
	struct db_batch_intent in = { &c, "alice", "{}" };
	const struct db_batch_intent *v[] = { &in };
	EXPECT(0, db_batch_apply(db, v, 1, NULL, 0), db);
	struct claim_ctx x = { other, s, der, fake_cert(tbs, der), 0, false };
	bool claimed = false;
	/* held without writing: released pending; then held and issued */
	EXPECT(0, db_cert_claim_pending(db, s, claim_fn, &x, &claimed), db);
	CHECK(claimed && x.calls == 1 && status_is(other, s, "pending"));
	x.write = true;
	EXPECT(0, db_cert_claim_pending(db, s, claim_fn, &x, &claimed), db);
	CHECK(claimed && x.calls == 2 && status_is(other, s, "issued"));
	/* not pending any more: nobody claims it */
	EXPECT(0, db_cert_claim_pending(other, s, claim_other_fn, NULL, &claimed), other);
	CHECK(!claimed);
	db_close(other);
	db_close(db);
	printf("claim: a pending row held by one session is skipped by another; a row no longer pending is not claimed\n");
	return 0;
}

/* ---- claim-order: recovery in one frontend claims a pending row (held while its TBS is signed), then writes
 * its state and audit row; another frontend's committer has a result for the same row (two frontends on one
 * row after a PostgreSQL restart). Each must take the row before the audit chain's head, or the two
 * deadlock (PostgreSQL then aborts one after deadlock_timeout) ---- */
struct order_ctx {
	const char *conninfo;
	struct db *other;	    /* the other frontend's committer connection (mode 0) */
	struct committer *cm;	    /* its committer (mode 1) */
	int mode;		    /* 0: the batch statement; 1: a committer transaction with a row's failure */
	struct db_batch_intent *in; /* an unrelated intent in the same batch */
	struct db_batch_issued *is; /* the result for the claimed row */
	const char *serial;
	const uint8_t *der;
	size_t der_len;
	pthread_t th;
	int rc, rc_in, rc_row; /* mode 0: the statement; mode 1: the intent's and the row's items */
	char err[DB_ERR_MAX];
};

static int order_fail_apply(struct db *db, void *arg)
{
	const char *serial = arg;
	int rc = db_cert_mark_failed(db, serial, "test");
	return rc ? rc : db_audit_append(db, "signer", "certificate.failed", serial, "{}");
}

static void *order_fail_one(void *arg)
{
	struct order_ctx *x = arg;
	x->rc_row = committer_run(x->cm, x->serial, order_fail_apply, (void *)x->serial);
	return NULL;
}

static void *order_other(void *arg)
{
	struct order_ctx *x = arg;
	if (x->mode == 0) {
		const struct db_batch_intent *vi[] = { x->in };
		const struct db_batch_issued *vs[] = { x->is };
		x->rc = db_batch_apply(x->other, vi, 1, vs, 1);
		snprintf(x->err, sizeof x->err, "%s", db_errmsg(x->other));
		return NULL;
	}
	/* an intent and the row's failure in one transaction behind a busy item */
	pthread_t one;
	struct batch_hold hold;
	batch_hold_start(&hold, x->cm, 2);
	CHECK(pthread_create(&one, NULL, order_fail_one, x) == 0);
	for (int t = 0; t < 2000 && committer_queued(x->cm) < 1; t++) /* the failure first, then the intent */
		usleep(10000);
	CHECK(committer_queued(x->cm) == 1);
	x->rc_in = committer_run_intent(x->cm, x->in, batch_intent_apply, (void *)x->in);
	pthread_join(one, NULL);
	pthread_join(hold.th, NULL);
	return NULL;
}

/* claim fn: starts the other frontend's write, waits until it waits for this row's lock, then writes the
 * row's new state and audit row (recovery's order: the row, then the head) */
static int order_claim_fn(void *vctx, struct db *db, const struct db_intent *in)
{
	struct order_ctx *x = vctx;
	(void)in;
	CHECK(pthread_create(&x->th, NULL, order_other, x) == 0);
	struct db *watch = open_or_die(x->conninfo);
	bool waiting = false;
	for (int t = 0; t < 500 && !waiting; t++) { /* up to ~10 s */
		PGresult *r = NULL;
		EXPECT(0, db_exec(watch, "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
					 "AND datname = current_database()", &(struct db_params){ 0 }, DB_FMT_TEXT, &r),
		       watch);
		waiting = atol(PQgetvalue(r, 0, 0)) > 0;
		PQclear(r);
		if (!waiting)
			usleep(20000);
	}
	db_close(watch);
	CHECK(waiting);
	int rc = db_cert_mark_issued(db, x->serial, x->der, x->der_len);
	return rc ? rc : db_audit_append(db, "recovery", "certificate.issued", x->serial, "{}");
}

static int cmd_claim_order(const char *conninfo)
{
	struct db *db = open_or_die(conninfo), *other = open_or_die(conninfo);
	for (int mode = 0; mode < 2; mode++) {
		char s[DB_SERIAL_HEX_MAX], su[DB_SERIAL_HEX_MAX], cmerr[DB_ERR_MAX];
		uint8_t tbs[TBS_LEN], tu[TBS_LEN], der[2 * TBS_LEN], der2[2 * TBS_LEN];
		random_serial(s);
		random_serial(su);
		fake_tbs(s, tbs);
		fake_tbs(su, tu);
		struct db_cert c = cert_for(s, tbs, NULL), cu = cert_for(su, tu, NULL);
		struct db_batch_intent in = { &c, "alice", "{}" }, inu = { &cu, "alice", "{}" };
		const struct db_batch_intent *v[] = { &in };
		EXPECT(0, db_batch_apply(db, v, 1, NULL, 0), db);
		size_t der_len = fake_cert(tbs, der);
		memcpy(der2, der, der_len);
		der2[der_len - 1] ^= 1; /* the other frontend's signature of the same TBS */
		struct db_batch_issued is = { s, der2, der_len, "signer", "{}" };
		struct order_ctx x = { .conninfo = conninfo, .other = other, .mode = mode, .in = &inu, .is = &is,
				       .serial = s, .der = der, .der_len = der_len };
		if (mode == 1)
			CHECK(committer_start(conninfo, &x.cm, cmerr) == 0);
		bool claimed = false;
		EXPECT(0, db_cert_claim_pending(db, s, order_claim_fn, &x, &claimed), db);
		pthread_join(x.th, NULL);
		CHECK(claimed && status_is(other, s, "issued") && audit_count(other, s, "certificate.issued") == 1);
		CHECK(audit_count(other, s, "certificate.failed") == 0);
		if (mode == 0) {
			printf("claim-order: batch statement rc=%d why=\"%s\"\n", x.rc, x.err);
			/* it waited for the row, then found it issued: nothing of it stored, no deadlock */
			CHECK(x.rc == HSMCA_ERR_STATE && strstr(x.err, "not pending") && !strstr(x.err, "deadlock"));
			CHECK(audit_count(other, su, "certificate.requested") == 0);
		} else {
			printf("claim-order: committer intent rc=%d, the row's failure rc=%d\n", x.rc_in, x.rc_row);
			/* the intent stored; the failure found the row issued (not a deadlock's abort) */
			CHECK(x.rc_in == 0 && status_is(other, su, "pending"));
			CHECK(x.rc_row == HSMCA_ERR_STATE);
		}
	}
	db_close(other);
	db_close(db);
	printf("claim-order: a batch and a committer transaction meeting a row recovery holds wait for it, no deadlock\n");
	return 0;
}

/* ---- retry-locks: a committer transaction with a row's item (here a failure) whose batch statement fails
 * (a serial drawn twice) runs its items one by one in a new transaction. That one must lock the rows first
 * too, as the first did (commit_lock_rows): an earlier item's audit row takes the chain's head, and recovery
 * in another frontend takes a row and then the head, so the two deadlocked. Seen from another connection: the
 * row stays locked from the first transaction's lock to the commit, also while the first item of the one by
 * one pass is slowed (frontend_db.sh's test trigger sleeps 1 s on inserting subject "CN=slow retry"). ---- */
struct retry_poll {
	const char *conninfo, *serial;
	atomic_bool stop;
	atomic_bool row_done; /* the committer answered for the row: free from then on, polls stop counting */
	bool seen_locked;     /* the row was found locked */
	int max_free;     /* the longest run of polls that found it free after that */
	pthread_t th;
};

static void *retry_poll_run(void *arg)
{
	struct retry_poll *p = arg;
	struct db *db = open_or_die(p->conninfo);
	int run = 0;
	while (!atomic_load(&p->stop) && !atomic_load(&p->row_done)) {
		struct db_params q = { 0 };
		db_params_text(&q, p->serial);
		EXPECT(0, db_begin(db), db);
		int rc = db_exec_cmd(db, "SELECT 1 FROM certificates WHERE serial_hex = lower($1) FOR UPDATE NOWAIT", &q);
		db_rollback(db);
		if (atomic_load(&p->row_done))
			break; /* a free row now says nothing (a slow main thread joined late: not a flake) */
		if (rc) {
			p->seen_locked = true;
			run = 0;
		} else if (p->seen_locked && ++run > p->max_free) {
			p->max_free = run;
		}
		usleep(20000);
	}
	db_close(db);
	return NULL;
}

struct retry_row {
	struct committer *c;
	const char *serial;
	atomic_bool *done; /* set once committer_run returned */
	int rc;
};

static void *retry_row_fail(void *arg)
{
	struct retry_row *r = arg;
	r->rc = committer_run(r->c, r->serial, order_fail_apply, (void *)r->serial);
	atomic_store(r->done, true);
	return NULL;
}

static int cmd_retry_locks(const char *conninfo)
{
	struct db *db = open_or_die(conninfo);
	char sr[DB_SERIAL_HEX_MAX], sa[DB_SERIAL_HEX_MAX], sd[DB_SERIAL_HEX_MAX], cmerr[DB_ERR_MAX];
	uint8_t tr[TBS_LEN], ta[TBS_LEN], td[TBS_LEN], td2[TBS_LEN];
	random_serial(sr);
	random_serial(sa);
	random_serial(sd);
	fake_tbs(sr, tr);
	fake_tbs(sa, ta);
	fake_tbs(sd, td);
	fake_tbs(sd, td2);
	td2[TBS_LEN - 1] ^= 1;
	struct db_cert cr = cert_for(sr, tr, NULL), ca = cert_for(sa, ta, NULL), cd = cert_for(sd, td, NULL), cd2 = cd;
	ca.subject = "CN=slow retry";
	cd2.tbs = td2;
	struct db_batch_intent inr = { &cr, "alice", "{}" }, ina = { &ca, "alice", "{}" }, ind = { &cd, "alice", "{}" },
			       ind2 = { &cd2, "alice", "{}" };
	const struct db_batch_intent *vr[] = { &inr };
	EXPECT(0, db_batch_apply(db, vr, 1, NULL, 0), db); /* the row whose failure the batch carries */

	struct committer *cm = NULL;
	CHECK(committer_start(conninfo, &cm, cmerr) == 0);
	struct batch_hold hold;
	struct batch_one o[3] = { { cm, &ina, -1 }, { cm, &ind, -1 }, { cm, &ind2, -1 } };
	struct retry_poll poll = { .conninfo = conninfo, .serial = sr };
	struct retry_row row = { cm, sr, &poll.row_done, -1 };
	pthread_t t[4];
	atomic_init(&poll.stop, false);
	atomic_init(&poll.row_done, false);
	CHECK(pthread_create(&poll.th, NULL, retry_poll_run, &poll) == 0);
	batch_hold_start(&hold, cm, 4);
	/* in this order: the slow intent, the two of one serial, the row's failure last */
	for (size_t i = 0; i < 4; i++) {
		CHECK(pthread_create(&t[i], NULL, i < 3 ? batch_intent : retry_row_fail, i < 3 ? (void *)&o[i] : &row) == 0);
		if (i == 3)
			break; /* the fourth lets the holding item go: the batch is taken at once */
		for (int k = 0; k < 2000 && committer_queued(cm) < i + 1; k++)
			usleep(10000);
		CHECK(committer_queued(cm) == i + 1);
	}
	for (size_t i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	pthread_join(hold.th, NULL);
	atomic_store(&poll.stop, true);
	pthread_join(poll.th, NULL);
	printf("retry-locks: slow intent rc=%d, same serial rc=%d/%d, the row's failure rc=%d; the row found locked %s, "
	       "then free for at most %d polls in a row\n", o[0].rc, o[1].rc, o[2].rc, row.rc,
	       poll.seen_locked ? "yes" : "no", poll.max_free);
	CHECK(o[0].rc == 0 && status_is(db, sa, "pending"));
	CHECK((o[1].rc == 0) != (o[2].rc == 0) && (o[1].rc == HSMCA_ERR_SERIAL || o[2].rc == HSMCA_ERR_SERIAL));
	CHECK(row.rc == 0 && status_is(db, sr, "failed"));
	/* the one by one pass took 1 s (the slow insert) before it reached the row: free meanwhile, ~50 polls */
	CHECK(poll.seen_locked && poll.max_free < 5);
	db_close(db);
	printf("retry-locks: the one by one pass after a failed batch statement holds the rows from its start\n");
	return 0;
}

/* ---- batch-plan: every certificate passes through pending, so the partial index of pending rows is mostly
 * dead entries until a vacuum; the batch statement must not read it (a generic plan did, 0.9 of 2.1 ms per
 * batch and growing), and a plan made while the table was small (a sequential scan) must not outlive the
 * table's growth: the committer re-plans (db_replan) as it goes ---- */
#define PLAN_ROWS 5000 /* dead pending entries, as a few seconds of issuance leave */
#define PLAN_SMALL 8   /* batches on the small table: more than the 5 runs before a generic plan */
#define PLAN_ROUNDS 20
#define PLAN_PER 4

static void plan_capture(void *arg, const PGresult *r)
{
	struct dbuf *b = arg;
	const char *m = PQresultErrorMessage(r);
	dbuf_add(b, m, strlen(m));
}

struct plan_state {
	char s[PLAN_ROUNDS][PLAN_PER][DB_SERIAL_HEX_MAX];
	uint8_t tbs[PLAN_ROUNDS][PLAN_PER][TBS_LEN], der[PLAN_ROUNDS][PLAN_PER][2 * TBS_LEN];
	struct db_cert c[PLAN_ROUNDS][PLAN_PER];
	struct db_batch_intent in[PLAN_ROUNDS][PLAN_PER];
	struct db_batch_issued is[PLAN_ROUNDS][PLAN_PER];
	struct dbuf plans; /* auto_explain's NOTICEs of the last batch */
};

/* Round r: PLAN_PER new intents and the previous round's results in one statement; 0 if its plan is right
 * (grown: the table is large, so no sequential scan of it either). */
static int plan_round(struct db *db, struct plan_state *t, int r, bool grown)
{
	const struct db_batch_intent *vi[PLAN_PER];
	const struct db_batch_issued *vs[PLAN_PER];
	for (int i = 0; i < PLAN_PER; i++) {
		random_serial(t->s[r][i]);
		fake_tbs(t->s[r][i], t->tbs[r][i]);
		t->c[r][i] = cert_for(t->s[r][i], t->tbs[r][i], NULL);
		t->in[r][i] = (struct db_batch_intent){ &t->c[r][i], "alice", "{}" };
		vi[i] = &t->in[r][i];
		if (r > 0) {
			uint8_t *d = t->der[r - 1][i];
			t->is[r][i] = (struct db_batch_issued){ t->s[r - 1][i], d, fake_cert(t->tbs[r - 1][i], d), "signer",
								"{}" };
			vs[i] = &t->is[r][i];
		}
	}
	dbuf_free(&t->plans);
	dbuf_init(&t->plans);
	EXPECT(0, db_batch_apply(db, vi, PLAN_PER, vs, r > 0 ? PLAN_PER : 0), db);
	dbuf_add(&t->plans, "", 1);
	const char *p = (const char *)t->plans.data;
	if (!strstr(p, "Insert on certificates") || (r > 0 && !strstr(p, "Update on certificates")) ||
	    strstr(p, "certificates_pending") || (grown && strstr(p, "Seq Scan on certificates"))) {
		fprintf(stderr, "db_test: batch %d's plan:\n%s\n", r, p);
		return 1;
	}
	return 0;
}

static int cmd_batch_plan(const char *conninfo)
{
	struct db *db = open_or_die(conninfo);
	static struct plan_state t;
	char sql[512];
	dbuf_init(&t.plans);
	EXPECT(0, db_exec_cmd(db, "LOAD 'auto_explain'", NULL), db);
	EXPECT(0, db_exec_cmd(db, "SET auto_explain.log_min_duration = 0", NULL), db);
	EXPECT(0, db_exec_cmd(db, "SET auto_explain.log_level = 'notice'", NULL), db);
	PQsetNoticeReceiver(db->conn, plan_capture, &t.plans);
	for (int r = 0; r < PLAN_SMALL; r++) /* the table is small: any scan of it will do */
		if (plan_round(db, &t, r, false))
			return 1;
	/* it grows by thousands of rows that went through pending, with no ANALYZE since (autovacuum comes
	 * within a minute, and a busy committer makes a batch every few milliseconds) */
	snprintf(sql, sizeof sql,
		 "INSERT INTO certificates (serial_hex, issuer, subject, sans, not_before, not_after, profile, "
		 "requester, tbs) SELECT md5(g::text), 'int', 'CN=x', '', now(), now() + interval '1 day', 'p', 'r', "
		 "'\\x3000'::bytea FROM generate_series(1, %d) g",
		 PLAN_ROWS);
	EXPECT(0, db_exec_cmd(db, sql, NULL), db);
	/* each with its audit row, as schema 023 requires */
	EXPECT(0, db_exec_cmd(db, "WITH f AS (UPDATE certificates SET status = 'failed', failure_reason = 'x' WHERE "
				  "status = 'pending' AND requester = 'r' RETURNING serial_hex) INSERT INTO audit_log "
				  "(actor, action, object, details) SELECT 'test', 'certificate.failed', serial_hex, '{}' FROM f",
			      NULL), db);
	EXPECT(0, db_replan(db), db); /* what the committer does as its batches add up */
	for (int r = PLAN_SMALL; r < PLAN_ROUNDS; r++)
		if (plan_round(db, &t, r, true))
			return 1;
	dbuf_free(&t.plans);
	db_close(db);
	printf("batch-plan: %d batches after the table grew by %d dead pending entries, none read that index or "
	       "scanned the table\n",
	       PLAN_ROUNDS - PLAN_SMALL, PLAN_ROWS);
	return 0;
}

/* ---- pending-scan: recovery's scan of pending rows (db_cert_pending_each) on a table where thousands of rows
 * went through pending since the last vacuum. A bitmap scan of the pending index visited all of their heap
 * tuples at every pass; a plain index scan marks their entries dead once, so a later pass reads only the
 * few live entries. Measured by the index's idx_tup_read (entries returned by its scans). ---- */
#define SCAN_ROWS 20000
#define SCAN_LIVE 3
#define SCAN_PASSES 4

static int64_t scan_count(struct db *db, const char *sql)
{
	PGresult *r = NULL;
	EXPECT(0, db_exec(db, sql, NULL, DB_FMT_TEXT, &r), db);
	CHECK(PQntuples(r) == 1);
	int64_t v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

/* entries the pending index returned so far, this session's own scans included */
static int64_t scan_reads(struct db *db)
{
	EXPECT(0, db_exec_cmd(db, "SELECT pg_stat_force_next_flush()", NULL), db);
	return scan_count(db, "SELECT idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = 'certificates_pending'");
}

static int scan_cb(void *ctx, const char *serial, const char *issuer, const uint8_t *tbs, size_t tbs_len)
{
	(void)serial, (void)issuer, (void)tbs, (void)tbs_len;
	++*(int64_t *)ctx;
	return 0;
}

static int cmd_pending_scan(const char *conninfo)
{
	struct db *db = open_or_die(conninfo);
	char sql[512];
	int64_t live, seen[SCAN_PASSES + 1], reads[SCAN_PASSES + 1];
	int quiet = -1;
	static const char ins[] = "INSERT INTO certificates (serial_hex, issuer, subject, sans, not_before, not_after, "
				  "profile, requester, tbs) SELECT md5('scan' || g::text), 'int', 'CN=x', '', now(), "
				  "now() + interval '1 day', 'p', 'scan', '\\x3000'::bytea FROM generate_series(1, %d) g";

	snprintf(sql, sizeof sql, ins, SCAN_ROWS);
	EXPECT(0, db_exec_cmd(db, sql, NULL), db);
	/* statistics taken while they were pending (autovacuum's ANALYZE of a busy table sees a share of pending
	 * rows): the planner expects many, where a bitmap scan looks cheaper */
	EXPECT(0, db_exec_cmd(db, "ANALYZE certificates", NULL), db);
	EXPECT(0, db_exec_cmd(db, "WITH f AS (UPDATE certificates SET status = 'failed', failure_reason = 'x' "
				  "WHERE status = 'pending' AND requester = 'scan' RETURNING serial_hex) INSERT INTO audit_log "
				  "(actor, action, object, details) SELECT 'test', 'certificate.failed', serial_hex, '{}' FROM f",
			      NULL), db);
	EXPECT(0, db_exec_cmd(db, "INSERT INTO certificates (serial_hex, issuer, subject, sans, not_before, not_after, "
				  "profile, requester, tbs) SELECT md5('live' || g::text), 'int', 'CN=x', '', now(), "
				  "now() + interval '1 day', 'p', 'scan', '\\x3000'::bytea FROM generate_series(1, 3) g", NULL), db);
	/* on this small table the planner's own choice is the plain index scan; on bench/issue.sh's, at 100
	 * thousand certificates, it was a bitmap scan. Whatever the session's settings, the scan is a plain one. */
	EXPECT(0, db_exec_cmd(db, "SET enable_indexscan = off", NULL), db);
	reads[0] = scan_reads(db);
	for (int i = 1; i <= SCAN_PASSES; i++) {
		seen[i] = 0;
		EXPECT(0, db_cert_pending_each(db, 0, scan_cb, &seen[i]), db);
		reads[i] = scan_reads(db);
		if (i > 1 && quiet < 0 && reads[i] - reads[i - 1] <= SCAN_ROWS / 10)
			quiet = i;
	}
	CHECK(PQtransactionStatus(db->conn) == PQTRANS_IDLE);
	/* counted last: this count's own scan of the index could mark the dead entries */
	live = scan_count(db, "SELECT count(*) FROM certificates WHERE status = 'pending'");
	CHECK(live >= SCAN_LIVE);
	for (int i = 1; i <= SCAN_PASSES; i++)
		CHECK(seen[i] == live);
	db_close(db);
	printf("pending-scan: %d rows through pending, %" PRId64 " still pending; index entries read by passes 1..%d:",
	       SCAN_ROWS, live, SCAN_PASSES);
	for (int i = 1; i <= SCAN_PASSES; i++)
		printf(" %" PRId64, reads[i] - reads[i - 1]);
	printf("\n");
	if (quiet < 0) {
		fprintf(stderr, "db_test: every pass after the first read the dead entries again\n");
		return 1;
	}
	return 0;
}

/* ---- checkpoint-scan: the checkpoint thread's two looks per pass at audit_checkpoints (db_checkpoint_newer) on
 * a table of CK_ROWS checkpoints: the newest of its key, and those stored since the last one it saw. They read
 * all rows and sorted them (a window function over every row of the key), ~0.5 s and 47 MB of temporary files
 * per call at 300,000 rows; now a few index entries each (018). Measured as the rows and index entries this
 * transaction's statements read (pg_stat_xact_*). ---- */
#define CK_ROWS 20000
#define CK_AUDIT_ROWS 50
#define CK_CANDIDATES 32 /* checkpoint.c's CHECKPOINT_CANDIDATES */
#define CK_READS_MAX(max) (4 * (int64_t)(max) + 16) /* an index entry and a row of each, counted twice */
#define CK_PASSES 8 /* past the plan cache's five custom plans */

static int64_t ck_reads(struct db *db)
{
	return scan_count(db, "SELECT coalesce(sum(n), 0) FROM (SELECT pg_stat_get_xact_tuples_returned(c.oid) + "
			      "pg_stat_get_xact_tuples_fetched(c.oid) AS n FROM pg_class c WHERE c.oid = "
			      "'audit_checkpoints'::regclass OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = "
			      "'audit_checkpoints'::regclass)) s");
}

/* db_checkpoint_newer in a transaction of its own; the entries it read */
static int64_t ck_newer(struct db *db, int64_t after, struct db_checkpoint *out, size_t max, size_t *n, int64_t *max_id)
{
	EXPECT(0, db_exec_cmd(db, "BEGIN", NULL), db);
	int64_t before = ck_reads(db);
	EXPECT(0, db_checkpoint_newer(db, "ckpt-scan", after, out, max, n, max_id), db);
	int64_t reads = ck_reads(db) - before;
	EXPECT(0, db_exec_cmd(db, "COMMIT", NULL), db);
	if (reads > CK_READS_MAX(max)) {
		fprintf(stderr, "db_test: checkpoint-scan: db_checkpoint_newer(after %" PRId64 ", %zu) read %" PRId64
			" rows and index entries of %d checkpoints (at most %" PRId64 " expected)\n", after, max, reads,
			CK_ROWS, CK_READS_MAX(max));
		exit(1);
	}
	return reads;
}

static int cmd_checkpoint_scan(const char *conninfo)
{
	static struct db_checkpoint out[CK_CANDIDATES];
	struct db *db = open_or_die(conninfo);
	char sql[768];
	int64_t lo, top, seen, max_id, r0, r1 = 0, r2;
	size_t n;

	for (int i = 0; i < CK_AUDIT_ROWS; i++)
		EXPECT(0, db_audit_append(db, "test", "test.checkpoint", "", "{}"), db);
	top = scan_count(db, "SELECT max(id) FROM audit_log");
	lo = top - CK_AUDIT_ROWS + 1;
	/* as the thread stores them: audit_id and id grow together; every 100th of another key */
	snprintf(sql, sizeof sql,
		 "INSERT INTO audit_checkpoints (audit_id, head_hash, key_label, signature) SELECT a.id, a.row_hash, "
		 "CASE WHEN g %% 100 = 0 THEN 'ckpt-other' ELSE 'ckpt-scan' END, '\\x0102030405060708'::bytea "
		 "FROM generate_series(0, %d) g JOIN audit_log a ON a.id = %" PRId64 " + g * %d / %d ORDER BY g",
		 CK_ROWS - 1, lo, CK_AUDIT_ROWS, CK_ROWS);
	EXPECT(0, db_exec_cmd(db, sql, NULL), db);
	/* no ANALYZE (the frontend's role may not, and autovacuum has not yet): the plans must not need statistics */
	int64_t want_id = scan_count(db, "SELECT max(id) FROM audit_checkpoints WHERE key_label = 'ckpt-scan'");
	int64_t all_max = scan_count(db, "SELECT max(id) FROM audit_checkpoints");

	/* the newest of the key, and a first pass (nothing seen yet) */
	r0 = ck_newer(db, 0, out, 1, &n, &max_id);
	CHECK(n == 1 && out[0].audit_id == top && out[0].id == want_id && max_id == all_max);
	ck_newer(db, 0, out, CK_CANDIDATES, &n, &max_id);
	CHECK(n == CK_CANDIDATES && out[0].id == want_id && out[1].id < out[0].id && max_id == all_max);
	seen = max_id;
	/* the passes after: nothing new, then one of the key and one of another */
	for (int i = 0; i < CK_PASSES; i++) {
		int64_t r = ck_newer(db, seen, out, CK_CANDIDATES, &n, &max_id);
		CHECK(n == 0 && max_id == seen);
		r1 = r > r1 ? r : r1;
	}
	snprintf(sql, sizeof sql,
		 "INSERT INTO audit_checkpoints (audit_id, head_hash, key_label, signature) SELECT id, row_hash, k, "
		 "'\\x0102030405060708'::bytea FROM audit_log, (VALUES (1, 'ckpt-scan'), (2, 'ckpt-other')) v(o, k) "
		 "WHERE id = %" PRId64 " ORDER BY o", top);
	EXPECT(0, db_exec_cmd(db, sql, NULL), db);
	r2 = ck_newer(db, seen, out, CK_CANDIDATES, &n, &max_id);
	CHECK(n == 1 && out[0].id == seen + 1 && out[0].audit_id == top && max_id == seen + 2);
	for (int i = 0; i < CK_PASSES; i++) {
		ck_newer(db, 0, out, 1, &n, &max_id);
		CHECK(n == 1 && out[0].id == seen + 1);
	}
	db_close(db);
	printf("checkpoint-scan: %d checkpoints; entries read: the newest %" PRId64 ", a pass with nothing new %" PRId64
	       " at most, with one new %" PRId64 "\n", CK_ROWS, r0, r1, r2);
	return 0;
}

/* batch-bench: the committer's statement alone, at a chosen batch size. The TBS and certificate have the
 * sizes of a P-256 leaf (~420 and ~500 bytes); the details are those of an issuance. */
#define BB_TBS 420
#define BB_SIG 72
#define BB_MAX 128

struct bb_round {
	char s[BB_MAX][DB_SERIAL_HEX_MAX];
	uint8_t tbs[BB_MAX][BB_TBS], der[BB_MAX][BB_TBS + BB_SIG + 8];
	size_t der_len[BB_MAX];
	struct db_cert c[BB_MAX];
	struct db_batch_intent in[BB_MAX];
	struct db_batch_issued is[BB_MAX];
};

/* Serials of one run: a random prefix read once, then a counter (no /dev/urandom read per row: the client's
 * own work would count in the wall time, which the committer does not have) */
static void bb_serial(char *out)
{
	static char prefix[DB_SERIAL_HEX_MAX];
	static unsigned long long next;
	if (!prefix[0])
		random_serial(prefix);
	snprintf(out, DB_SERIAL_HEX_MAX, "%.16s%016llX", prefix, next++);
}

static void bb_fill(struct bb_round *r, int n)
{
	for (int i = 0; i < n; i++) {
		bb_serial(r->s[i]);
		memset(r->tbs[i], 0xa5, BB_TBS);
		r->tbs[i][0] = 0x30, r->tbs[i][1] = 0x82, r->tbs[i][2] = (BB_TBS - 4) >> 8, r->tbs[i][3] = (BB_TBS - 4) & 0xff;
		memcpy(r->tbs[i] + 4, r->s[i], 2 * SERIAL_BYTES);
		size_t body = BB_TBS + BB_SIG;
		uint8_t *d = r->der[i];
		d[0] = 0x30, d[1] = 0x82, d[2] = (uint8_t)(body >> 8), d[3] = (uint8_t)body;
		memcpy(d + 4, r->tbs[i], BB_TBS);
		memset(d + 4 + BB_TBS, 0x5a, BB_SIG);
		r->der_len[i] = 4 + body;
		r->c[i] = cert_for(r->s[i], r->tbs[i], NULL);
		r->c[i].tbs_len = BB_TBS;
		r->c[i].sans = "DNS:www.example.com";
		r->c[i].subject = "CN=www.example.com";
		r->in[i] = (struct db_batch_intent){ &r->c[i], "bench",
						     "{\"profile\":\"server\",\"subject\":\"CN=www.example.com\","
						     "\"sans\":\"DNS:www.example.com\",\"key\":\"p256\"}" };
		r->is[i] = (struct db_batch_issued){ r->s[i], r->der[i], r->der_len[i], "bench", "{}" };
	}
}

/* utime + stime of a process in clock ticks (the backend's own CPU: steadier than wall time on a shared VM) */
static long long bb_cpu_ticks(int pid)
{
	char path[64], buf[1024];
	long long ut = 0, st = 0;
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[len] = '\0';
	const char *p = strrchr(buf, ')'); /* comm may hold spaces; fields 14 and 15 follow */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &ut, &st) != 2)
		return -1;
	return ut + st;
}

static int cmd_batch_bench(const char *conninfo, int n, int rounds)
{
	if (n < 1 || n > BB_MAX || rounds < 2)
		return 2;
	struct db *db = open_or_die(conninfo);
	static struct bb_round r[2];
	const struct db_batch_intent *vi[BB_MAX];
	const struct db_batch_issued *vs[BB_MAX];
	struct timespec t0, t1;
	bb_fill(&r[0], n);
	for (int i = 0; i < n; i++)
		vi[i] = &r[0].in[i];
	EXPECT(0, db_batch_apply(db, vi, (size_t)n, NULL, 0), db); /* round 0: intents only, untimed */
	int backend = PQbackendPID(db->conn);
	long long cpu0 = bb_cpu_ticks(backend);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int k = 1; k < rounds; k++) {
		struct bb_round *cur = &r[k % 2], *prev = &r[(k + 1) % 2];
		bb_fill(cur, n);
		for (int i = 0; i < n; i++) {
			vi[i] = &cur->in[i];
			vs[i] = &prev->is[i];
		}
		EXPECT(0, db_batch_apply(db, vi, (size_t)n, vs, (size_t)n), db);
		if (k >= 32 && (k & (k - 1)) == 0)
			EXPECT(0, db_replan(db), db); /* the committer's schedule (commit.c) */
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long long cpu1 = bb_cpu_ticks(backend);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	double cpu_ms = cpu0 < 0 || cpu1 < 0 ? -1 : (double)(cpu1 - cpu0) * 1e3 / (double)sysconf(_SC_CLK_TCK);
	printf("batch-bench: n=%d rounds=%d wall ms per statement %.3f, per certificate %.4f; backend CPU ms per "
	       "statement %.3f, per certificate %.4f\n",
	       n, rounds - 1, ms / (rounds - 1), ms / (rounds - 1) / n, cpu_ms / (rounds - 1), cpu_ms / (rounds - 1) / n);
	db_close(db);
	return 0;
}

static void tx(struct db *db, int want, int rc)
{
	EXPECT(want, rc, db);
	if (rc)
		db_rollback(db);
	else
		EXPECT(0, db_commit(db), db);
}

/* what this connection (the frontend's role) writes into account and API key rows itself, as someone with its
 * password would: refused (HSMCA_ERR_AUTH) until the frontend writes the row again */
static void accounts_tampered(struct db *db, const uint8_t *rk, const uint8_t *rk2, const char *key1)
{
	struct db_account acc;
	PGresult *r = NULL;
	char old[80], sql[256];
	/* alice made an administrator, or given another password hash, in SQL */
	EXPECT(0, db_exec(db, "SELECT encode(row_mac, 'hex') FROM accounts WHERE name = 'alice'", NULL, DB_FMT_TEXT, &r), db);
	snprintf(old, sizeof old, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	EXPECT(0, db_exec_cmd(db, "UPDATE accounts SET role = 'admin' WHERE name = 'alice'", NULL), db);
	EXPECT(HSMCA_ERR_AUTH, db_account_get(db, "alice", &acc), db);
	CHECK(strstr(db_errmsg(db), "account alice: row-mac: ") && acc.name[0] == 0 && acc.role == 0);
	EXPECT(HSMCA_ERR_AUTH, db_apikey_lookup(db, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &acc), db);
	/* its old fields and MAC written back: mac_seq has moved on, so the old MAC does not check */
	snprintf(sql, sizeof sql, "UPDATE accounts SET role = 'requester', row_mac = decode('%s', 'hex') WHERE name = 'alice'", old);
	EXPECT(0, db_exec_cmd(db, sql, NULL), db);
	EXPECT(HSMCA_ERR_AUTH, db_account_get(db, "alice", &acc), db);
	/* a MAC removed: no MAC, and not a row migration 015 found */
	EXPECT(0, db_exec_cmd(db, "UPDATE accounts SET row_mac = NULL WHERE name = 'carol'", NULL), db);
	EXPECT(HSMCA_ERR_AUTH, db_account_get(db, "carol", &acc), db);
	CHECK(strstr(db_errmsg(db), "has no MAC") != NULL);
	/* the frontend does not build on a refused row; the operator's reset writes it anew */
	EXPECT(0, db_begin(db), db);
	tx(db, HSMCA_ERR_AUTH, db_account_set_password(db, "alice", "scrypt$16384$8$1$c2FsdX$aGFzaX"));
	EXPECT(0, db_begin(db), db);
	tx(db, 0, db_account_reset(db, "alice", DB_ROLE_REQUESTER, "scrypt$16384$8$1$c2FsdY$aGFzaY"));
	EXPECT(0, db_account_get(db, "alice", &acc), db);
	CHECK(acc.role == DB_ROLE_REQUESTER && !strcmp(acc.pw_hash, "scrypt$16384$8$1$c2FsdY$aGFzaY") && acc.mac_seq >= 4);
	EXPECT(0, db_begin(db), db);
	tx(db, HSMCA_ERR_NOTFOUND, db_account_reset(db, "mallory", DB_ROLE_ADMIN, "x"));
	/* the frontend's own changes keep a row good */
	EXPECT(0, db_begin(db), db);
	tx(db, 0, db_account_set_role(db, "bob", DB_ROLE_AUDITOR));
	EXPECT(0, db_begin(db), db);
	tx(db, 0, db_account_set_disabled(db, "bob", true));
	EXPECT(0, db_account_get(db, "bob", &acc), db);
	CHECK(acc.role == DB_ROLE_AUDITOR && acc.disabled);
	/* a rotation: a MAC under the accepted key counts, one under neither does not */
	db_set_row_keys(db, rk2, rk);
	EXPECT(0, db_account_get(db, "bob", &acc), db);
	db_set_row_keys(db, rk2, NULL);
	EXPECT(HSMCA_ERR_AUTH, db_account_get(db, "bob", &acc), db);
	db_set_row_keys(db, rk, NULL);
	/* API key rows: another profile, another account */
	EXPECT(0, db_apikey_lookup(db, key1, &acc), db);
	EXPECT(0, db_exec_cmd(db, "UPDATE api_keys SET profile = 'other' WHERE key_hash = lower('6f1ed002ab5595859014ebf0951522d9e9e4d1c3f1d9f2e3a4b5c6d7e8f90a1b')", NULL), db);
	EXPECT(HSMCA_ERR_AUTH, db_apikey_lookup(db, key1, &acc), db);
	CHECK(strstr(db_errmsg(db), "API key ") && strstr(db_errmsg(db), "row-mac: ") && acc.name[0] == 0);
	EXPECT(0, db_exec_cmd(db, "UPDATE api_keys SET profile = 'server' WHERE key_hash = lower('6f1ed002ab5595859014ebf0951522d9e9e4d1c3f1d9f2e3a4b5c6d7e8f90a1b')", NULL), db);
	EXPECT(HSMCA_ERR_AUTH, db_apikey_lookup(db, key1, &acc), db); /* the same fields, a later mac_seq */
	/* a refused key can still be disabled (it gives nothing either way); then it is simply unknown */
	EXPECT(0, db_exec(db, "SELECT id::text FROM api_keys WHERE key_hash = lower('6f1ed002ab5595859014ebf0951522d9e9e4d1c3f1d9f2e3a4b5c6d7e8f90a1b')", NULL, DB_FMT_TEXT, &r), db);
	int64_t kid = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	EXPECT(0, db_begin(db), db);
	tx(db, 0, db_apikey_disable(db, "bob", kid));
	EXPECT(HSMCA_ERR_NOTFOUND, db_apikey_lookup(db, key1, &acc), db);
}

static int cmd_accounts(const char *conninfo)
{
	static const char key1[] = "6f1ed002ab5595859014ebf0951522d9e9e4d1c3f1d9f2e3a4b5c6d7e8f90a1b";
	static const char key2[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	static const uint8_t rk[INTENT_KEY_LEN] = { 7, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	static const uint8_t rk2[INTENT_KEY_LEN] = { 8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct db *db = open_or_die(conninfo);
	struct db_account acc;

	/* account rows carry the intent key's MAC (rowmac.h): without the key nothing is written */
	EXPECT(0, db_begin(db), db);
	EXPECT(HSMCA_ERR_CONFIG, db_account_create(db, "alice", DB_ROLE_REQUESTER, "scrypt$16384$8$1$c2FsdA$aGFzaA"), db);
	db_rollback(db);
	db_set_row_keys(db, rk, NULL);
	EXPECT(0, db_begin(db), db);
	EXPECT(0, db_account_create(db, "alice", DB_ROLE_REQUESTER, "scrypt$16384$8$1$c2FsdA$aGFzaA"), db);
	EXPECT(0, db_account_create(db, "bob", DB_ROLE_ADMIN, "scrypt$16384$8$1$c2FsdB$aGFzaB"), db);
	EXPECT(0, db_account_create(db, "carol", DB_ROLE_AUDITOR, "scrypt$16384$8$1$c2FsdC$aGFzaC"), db);
	EXPECT(0, db_audit_append(db, "bootstrap", "account.created", "alice,bob,carol", "{}"), db);
	EXPECT(0, db_commit(db), db);
	EXPECT(0, db_account_get(db, "alice", &acc), db);
	CHECK(acc.id > 0 && strcmp(acc.name, "alice") == 0 && acc.role == DB_ROLE_REQUESTER && !acc.disabled &&
	      strcmp(acc.pw_hash, "scrypt$16384$8$1$c2FsdA$aGFzaA") == 0);
	EXPECT(0, db_account_get(db, "carol", &acc), db);
	CHECK(acc.role == DB_ROLE_AUDITOR);
	/* the row and its MAC are two statements: inside a transaction only */
	EXPECT(HSMCA_ERR_STATE, db_account_create(db, "dave", DB_ROLE_ADMIN, "x"), db);
	EXPECT(HSMCA_ERR_STATE, db_apikey_create(db, "bob", key1, "server"), db);
	EXPECT(0, db_begin(db), db);
	EXPECT(HSMCA_ERR_EXISTS, db_account_create(db, "alice", DB_ROLE_ADMIN, "x"), db);
	db_rollback(db);
	EXPECT(HSMCA_ERR_NOTFOUND, db_account_get(db, "dave", &acc), db);
	EXPECT(HSMCA_ERR_NOTFOUND, db_account_get(db, "mallory", &acc), db);
	EXPECT(HSMCA_ERR_NOTFOUND, db_account_get(db, "", &acc), db);
	EXPECT(HSMCA_ERR_PARSE, db_account_create(db, "a:b", DB_ROLE_ADMIN, "x"), db);
	EXPECT(HSMCA_ERR_PARSE, db_account_create(db, "dave", (enum db_role)9, "x"), db);
	EXPECT(HSMCA_ERR_LIMIT, db_account_create(db, "0123456789012345678901234567890123456789012345678901234567890123",
						  DB_ROLE_ADMIN, "x"), db);
	/* API keys: bound to a profile or not, stored as hashes (either case in, lowercase stored) */
	EXPECT(0, db_begin(db), db);
	EXPECT(0, db_apikey_create(db, "bob", key1, "server"), db);
	EXPECT(0, db_apikey_create(db, "alice", key2, NULL), db);
	EXPECT(0, db_commit(db), db);
	EXPECT(0, db_apikey_lookup(db, key1, &acc), db);
	CHECK(strcmp(acc.name, "bob") == 0 && acc.role == DB_ROLE_ADMIN && strcmp(acc.key_profile, "server") == 0);
	EXPECT(0, db_apikey_lookup(db, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &acc), db);
	CHECK(strcmp(acc.name, "alice") == 0 && acc.key_profile[0] == '\0');
	EXPECT(0, db_begin(db), db);
	EXPECT(HSMCA_ERR_EXISTS, db_apikey_create(db, "carol", key1, NULL), db);
	db_rollback(db);
	EXPECT(0, db_begin(db), db);
	EXPECT(HSMCA_ERR_NOTFOUND, db_apikey_create(db, "mallory", "bb" "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", NULL), db);
	db_rollback(db);
	EXPECT(HSMCA_ERR_NOTFOUND, db_apikey_lookup(db, "cc" "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", &acc), db);
	EXPECT(HSMCA_ERR_PARSE, db_apikey_lookup(db, "not-a-hash", &acc), db);
	EXPECT(HSMCA_ERR_PARSE, db_apikey_create(db, "bob", "zz", NULL), db);
	accounts_tampered(db, rk, rk2, key1);
	db_close(db);
	printf("accounts ok\n");
	return 0;
}

static int cmd_audit_append(const char *conninfo, int n)
{
	struct db *db = open_or_die(conninfo);
	char details[256], object[32];

	/* a rolled-back append leaves no gap in the chain */
	EXPECT(0, db_begin(db), db);
	EXPECT(0, db_audit_append(db, "test", "test.rolledback", "x", "{}"), db);
	db_rollback(db);
	for (int i = 0; i < n; i++) {
		snprintf(object, sizeof object, "row %d", i);
		/* unicode, quotes, separators and newlines must not confuse the canonical bytes */
		snprintf(details, sizeof details, "{\"i\": %d, \"note\": \"\\u00e4 \xc3\xb6 \\\"q\\\" 1:2\\n|\"}", i);
		EXPECT(0, db_begin(db), db);
		EXPECT(0, db_audit_append(db, "test", "test.append", object, details), db);
		if (i % 5 == 0) /* several rows in one transaction */
			EXPECT(0, db_audit_append(db, "test \xe2\x9c\x93", "test.second", NULL, NULL), db);
		EXPECT(0, db_commit(db), db);
	}
	EXPECT(HSMCA_ERR_PARSE, db_audit_append(db, "test", "test.bad", "", "{not json"), db);
	EXPECT(HSMCA_ERR_PARSE, db_audit_append(db, "test", "test.bad", "", "[1, 2]"), db);
	EXPECT(HSMCA_ERR_PARSE, db_audit_append(db, "", "test.bad", "", "{}"), db);
	db_close(db);
	printf("appended %d\n", n);
	return 0;
}

/* want_broken: the row verify must name (want_bad, which may be 0); else the chain must verify */
static int cmd_audit_verify(const char *conninfo, bool want_broken, int64_t want_bad)
{
	struct db *db = open_or_die(conninfo);
	char why[DB_ERR_MAX] = "";
	int64_t bad = -1, head_id = -1;
	uint8_t head[DB_AUDIT_HASH_LEN];
	int rc = db_audit_verify(db, NULL, NULL, &bad, why);

	EXPECT(0, db_audit_head(db, &head_id, head), db);
	printf("verify: rc=%d bad=%" PRId64 " head=%" PRId64 " %s\n", rc, bad, head_id, why);
	if (!want_broken)
		CHECK(rc == 0 && bad == 0);
	else
		CHECK(rc == HSMCA_ERR_AUTH && bad == want_bad && why[0] != '\0');
	db_close(db);
	return 0;
}

static void writer(const char *conninfo, int p, int n)
{
	struct db *db = open_or_die(conninfo);
	char actor[32], object[32];

	snprintf(actor, sizeof actor, "writer-%d", p);
	for (int i = 0; i < n; i++) {
		snprintf(object, sizeof object, "%d", i);
		EXPECT(0, db_begin(db), db);
		EXPECT(0, db_audit_append(db, actor, "test.concurrent", object, "{}"), db);
		EXPECT(0, db_commit(db), db);
	}
	db_close(db);
	exit(0);
}

static int cmd_audit_concurrent(const char *conninfo, int procs, int n)
{
	struct db *db = open_or_die(conninfo);
	int64_t before, after, bad = 0;
	uint8_t h[DB_AUDIT_HASH_LEN];
	char why[DB_ERR_MAX];
	pid_t pids[16];

	CHECK(procs > 0 && procs <= 16 && n > 0);
	EXPECT(0, db_audit_head(db, &before, h), db);
	db_close(db); /* no connection shared across fork */
	for (int p = 0; p < procs; p++) {
		pids[p] = fork();
		CHECK(pids[p] >= 0);
		if (pids[p] == 0)
			writer(conninfo, p, n);
	}
	for (int p = 0; p < procs; p++) {
		int status = 0;
		CHECK(waitpid(pids[p], &status, 0) == pids[p] && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	db = open_or_die(conninfo);
	EXPECT(0, db_audit_head(db, &after, h), db);
	EXPECT(0, db_audit_verify(db, NULL, NULL, &bad, why), db);
	printf("concurrent: %d x %d rows, head %" PRId64 " -> %" PRId64 ", chain intact\n", procs, n, before, after);
	CHECK(after == before + (int64_t)procs * n);
	db_close(db);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(cmd, "known") == 0 && argc == 3)
		return cmd_known(argv[2]);
	if (strcmp(cmd, "migrate") == 0 && argc == 5)
		return cmd_migrate(argv[2], argv[3], argv[4]);
	if (strcmp(cmd, "migrate-refused") == 0 && argc == 4)
		return cmd_migrate(argv[2], argv[3], NULL);
	if ((strcmp(cmd, "open") == 0 || strcmp(cmd, "open-refused") == 0) && argc == 3)
		return cmd_open(argv[2], strcmp(cmd, "open-refused") == 0);
	if (strcmp(cmd, "certs") == 0 && argc == 3)
		return cmd_certs(argv[2]);
	if (strcmp(cmd, "accounts") == 0 && argc == 3)
		return cmd_accounts(argv[2]);
	if (strcmp(cmd, "batch") == 0 && argc == 3)
		return cmd_batch(argv[2]);
	if (strcmp(cmd, "batch-partial") == 0 && argc == 3)
		return cmd_batch_partial(argv[2]);
	if (strcmp(cmd, "claim") == 0 && argc == 3)
		return cmd_claim(argv[2]);
	if (strcmp(cmd, "retry-locks") == 0 && argc == 3)
		return cmd_retry_locks(argv[2]);
	if (strcmp(cmd, "claim-order") == 0 && argc == 3)
		return cmd_claim_order(argv[2]);
	if (strcmp(cmd, "batch-plan") == 0 && argc == 3)
		return cmd_batch_plan(argv[2]);
	if (strcmp(cmd, "pending-scan") == 0 && argc == 3)
		return cmd_pending_scan(argv[2]);
	if (strcmp(cmd, "checkpoint-scan") == 0 && argc == 3)
		return cmd_checkpoint_scan(argv[2]);
	if (strcmp(cmd, "batch-bench") == 0 && argc == 5)
		return cmd_batch_bench(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (strcmp(cmd, "audit-append") == 0 && argc == 4)
		return cmd_audit_append(argv[2], atoi(argv[3]));
	if (strcmp(cmd, "audit-verify") == 0 && (argc == 3 || argc == 4))
		return cmd_audit_verify(argv[2], argc == 4, argc == 4 ? strtoll(argv[3], NULL, 10) : 0);
	if (strcmp(cmd, "audit-concurrent") == 0 && argc == 5)
		return cmd_audit_concurrent(argv[2], atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: see the header of tests/integration/db_test.c\n");
	return 2;
}
