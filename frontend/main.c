/* hsmca-frontend: subcommand dispatch and start-up order only. */
#include <getopt.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acctwatch.h"
#include "wipealloc.h"
#include "admin.h"
#include "app.h"
#include "auth.h"
#include "checkpoint.h"
#include "ckanchor.h"
#include "commit.h"
#include "conf.h"
#include "frame.h"
#include "http.h"
#include "issue.h"
#include "json.h"
#include "listen.h"
#include "log.h"
#include "pemcerts.h"
#include "privdrop.h"
#include "signerfit.h"
#include "profrec.h"
#include "pwfile.h"

/* ASan builds: a leak check of the running process as the frontend stops (see fe_run) */
#if defined(__SANITIZE_ADDRESS__)
#define FE_LEAK_CHECK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FE_LEAK_CHECK 1
#endif
#endif
#ifdef FE_LEAK_CHECK
#include <sanitizer/lsan_interface.h>
#endif

#define FE_APIKEY_LEN 32
_Static_assert(FE_APIKEY_LEN == ADMIN_KEY_RANDOM, "auth.c's auth_key_form takes the CLI's keys by this length");

struct fe_args {
	const char *config, *conninfo, *schema, *name, *role, *password_file, *account, *profile, *expect;
	const char *intent_key_file; /* --intent-key-file, else the config's intent_key_file */
	const char *profiles;        /* create-apikey --profiles, else the config's profiles */
	const char *anchor;          /* audit-verify --anchor: a checkpoint_anchor_file as --expect */
	bool replace;                /* create-account --replace */
	const char *checkpoint_cert[DB_AUDIT_KEYS_MAX]; /* --checkpoint-cert, repeatable */
	unsigned n_checkpoint_cert;
};

static int fe_usage(void)
{
	fprintf(stderr,
		"usage: hsmca-frontend run -c CONFIG\n"
		"       hsmca-frontend migrate --conninfo OWNER_CONNINFO [--schema DIR]\n"
		"       hsmca-frontend bootstrap-admin -c CONFIG --name NAME --password-file FILE\n"
		"       hsmca-frontend create-account -c CONFIG --name NAME --role requester|admin|auditor --password-file FILE\n"
		"                                     [--replace (an existing account: this role and password, enabled)]\n"
		"       hsmca-frontend create-apikey -c CONFIG --account NAME --profile PROFILE\n"
		"       (these three write rows with the intent key's MAC: instead of -c CONFIG, give\n"
		"        --conninfo CONNINFO --intent-key-file PATH, and to create-apikey --profiles FILE, the\n"
		"        profiles file PROFILE must be in with NAME among its accounts)\n"
		"       hsmca-frontend audit-verify (-c CONFIG | --conninfo CONNINFO) [--checkpoint-cert [LABEL=]PEM]...\n"
		"                                   [--expect ROW:HEX (a logged audit_checkpoint's audit_id and head)\n"
		"                                    | --anchor FILE (a checkpoint_anchor_file: its ROW:HEX)]\n"
		"       (--checkpoint-cert up to %d times, e.g. the checkpoint_key's certificate now and the one it\n"
		"        replaced: each checkpoint must verify under one of them; LABEL= ties a certificate to the\n"
		"        checkpoints of that key label only; exit status 0 intact, 1 broken or not proven, 2 the log\n"
		"        could not be checked: no connection, a role that may not read it, bad arguments)\n",
		DB_AUDIT_KEYS_MAX);
	return 2;
}

static int fe_parse(int argc, char **argv, struct fe_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },   { "conninfo", required_argument, NULL, 'C' },
		{ "schema", required_argument, NULL, 's' },   { "name", required_argument, NULL, 'n' },
		{ "role", required_argument, NULL, 'r' },     { "password-file", required_argument, NULL, 'p' },
		{ "account", required_argument, NULL, 'a' },  { "profile", required_argument, NULL, 'P' },
		{ "checkpoint-cert", required_argument, NULL, 'k' }, { "expect", required_argument, NULL, 'e' },
		{ "intent-key-file", required_argument, NULL, 'K' }, { "replace", no_argument, NULL, 'R' },
		{ "profiles", required_argument, NULL, 'F' }, { "anchor", required_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 }
	};
	int o;
	while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
		if (o == 'k') {
			if (a->n_checkpoint_cert == DB_AUDIT_KEYS_MAX)
				return HSMCA_ERR_CONFIG;
			a->checkpoint_cert[a->n_checkpoint_cert++] = optarg;
			continue;
		}
		if (o == 'R') {
			a->replace = true;
			continue;
		}
		const char **slot = o == 'c' ? &a->config : o == 'C' ? &a->conninfo : o == 's' ? &a->schema
				  : o == 'n' ? &a->name : o == 'r' ? &a->role : o == 'p' ? &a->password_file
				  : o == 'a' ? &a->account : o == 'P' ? &a->profile
				  : o == 'e' ? &a->expect : o == 'K' ? &a->intent_key_file
				  : o == 'F' ? &a->profiles : o == 'A' ? &a->anchor : NULL;
		if (!slot)
			return HSMCA_ERR_CONFIG;
		*slot = optarg;
	}
	return optind == argc ? 0 : HSMCA_ERR_CONFIG;
}

static struct fconfig fe_conf; /* -c CONFIG, once loaded */

static int fe_db(const struct fe_args *a, struct db **db)
{
	char err[CONF_ERR_MAX > DB_ERR_MAX ? CONF_ERR_MAX : DB_ERR_MAX];
	const char *ci = a->conninfo;
	if (!ci) {
		if (!a->config || fconfig_load(a->config, &fe_conf, err)) {
			fprintf(stderr, "hsmca-frontend: %s\n", a->config ? err : "-c CONFIG or --conninfo required");
			return HSMCA_ERR_CONFIG;
		}
		ci = fe_conf.database;
	}
	int rc = db_open(ci, db, err);
	if (rc)
		fprintf(stderr, "hsmca-frontend: database: %s\n", err);
	return rc;
}

/* fe_db, with the intent key read into key (--intent-key-file, else the config's intent_key_file) and given
 * to the connection for the account and API key rows it writes (rowmac.h). The caller wipes key. */
static int fe_db_keyed(const struct fe_args *a, struct db **db, uint8_t key[INTENT_KEY_LEN])
{
	char err[CONF_ERR_MAX];
	int rc = fe_db(a, db);
	const char *path = a->intent_key_file ? a->intent_key_file : a->conninfo ? NULL : fe_conf.intent_key_file;
	if (rc)
		return rc;
	if (!path || !*path) {
		fprintf(stderr, "hsmca-frontend: --intent-key-file (or -c CONFIG) required: account and API key rows "
				"carry the intent key's MAC\n");
		rc = HSMCA_ERR_CONFIG;
	} else if ((rc = intent_key_read(a->intent_key_file ? "--intent-key-file" : "intent_key_file", path, key, err))) {
		fprintf(stderr, "hsmca-frontend: %s\n", err);
	}
	if (rc) {
		db_close(*db);
		*db = NULL;
		return rc;
	}
	db_set_row_keys(*db, key, NULL);
	return 0;
}

static int fe_create_account(const struct fe_args *a, bool bootstrap)
{
	struct db *db = NULL;
	uint8_t key[INTENT_KEY_LEN];
	char pw[PWFILE_OUT], hash[DB_HASH_MAX], details[128];
	size_t pl = 0;
	enum db_role role = bootstrap ? DB_ROLE_ADMIN : 0;
	int rc;
	if (!bootstrap && a->role && !db_role_parse(a->role, &role)) {
		fprintf(stderr, "hsmca-frontend: --role %s: no such role (requester, admin or auditor)\n", a->role);
		return 2;
	}
	if (!a->name || !role || strlen(a->name) >= DB_NAME_MAX)
		return fe_usage();
	char why[ADMIN_WHY_MAX];
	if (!(a->replace && !bootstrap) && admin_new_name_check(a->name, strlen(a->name), why)) {
		/* the names the HTTP API takes, with its reasons (here the table's CHECK refused some, as a raw error); --replace
		 * still repairs an account made under an older rule */
		fprintf(stderr, "hsmca-frontend: --name: %s\n", why);
		return 1;
	}
	if ((rc = pwfile_read(a->password_file, pw, &pl))) { /* pw is all zero after a refusal */
		if (rc == HSMCA_ERR_PARSE)
			fprintf(stderr, "hsmca-frontend: --password-file must hold one line of at most %d bytes (no NUL, "
					"no CR but in a final CRLF)\n", AUTH_PW_MAX);
		else if (rc == HSMCA_ERR_AUTH)
			fprintf(stderr, "hsmca-frontend: the password in --password-file is shorter than %d bytes\n",
				PWFILE_MIN);
		else
			fprintf(stderr, "hsmca-frontend: cannot read --password-file\n");
		return 1;
	}
	rc = auth_hash_password(pw, pl, hash);
	OPENSSL_cleanse(pw, sizeof(pw));
	if (rc || (rc = fe_db_keyed(a, &db, key))) {
		OPENSSL_cleanse(key, sizeof(key));
		return 1;
	}
	bool reset = a->replace && !bootstrap;
	snprintf(details, sizeof(details), "{\"role\": \"%s\"%s}", bootstrap ? "admin" : a->role,
		 reset ? ", \"enabled\": true" : "");
	bool admin_exists = false;
	if (!(rc = db_begin(db)) && !(rc = bootstrap ? db_account_admin_first(db) : 0)) {
		if (!(rc = reset ? db_account_reset(db, a->name, role, hash) : db_account_create(db, a->name, role, hash)) &&
		    !(rc = db_audit_append(db, bootstrap ? "bootstrap" : "cli", reset ? "account.reset" : "account.created",
					   a->name, details)))
			rc = db_commit(db);
	} else if (rc == HSMCA_ERR_EXISTS) {
		admin_exists = true;
	}
	if (rc) {
		fprintf(stderr, "hsmca-frontend: %s\n",
			admin_exists || (rc != HSMCA_ERR_EXISTS && rc != HSMCA_ERR_NOTFOUND) ? db_errmsg(db)
			: rc == HSMCA_ERR_EXISTS ? "the account exists (--replace resets it)" : "no such account");
		db_rollback(db);
	} else {
		printf("account %s %s\n", a->name, reset ? "reset" : "created");
	}
	db_close(db);
	OPENSSL_cleanse(key, sizeof(key));
	return rc ? 1 : 0;
}

/* each row a rotation re-MACs, for review (after a leak of the old key, a row forged under it is among them) */
static void fe_resealed(void *ctx, const char *what, int64_t id, const char *name, const char *detail)
{
	char q[2 * DB_NAME_MAX + 8];
	(void)ctx;
	if (!strcmp(what, "account"))
		log_event("info", "row_resealed", "account=%s id=%lld role=%s", log_quote(name, q, sizeof q), (long long)id,
			  detail);
	else
		log_event("info", "row_resealed", "apikey=%lld account_id=%s profile=%s", (long long)id, name,
			  *detail ? detail : "(any)");
}

/* create-apikey's profile: in the profiles file (--profiles, else the config's) with the account among its
 * accounts, as the HTTP API checks it; 0, or 1 with the reason on stderr. After fe_db (the config loaded). */
static int fe_apikey_profile(const struct fe_args *a)
{
	const char *path = a->profiles ? a->profiles : a->config ? fe_conf.profiles : NULL;
	char err[CONF_ERR_MAX];
	int rc = 1;
	if (!path || !*path) {
		fprintf(stderr, "hsmca-frontend: --profiles FILE (or -c CONFIG) required: the key's profile is checked "
				"against the profiles file\n");
		return 1;
	}
	struct profiles *ps = calloc(1, sizeof(*ps));
	if (!ps)
		return 1;
	const struct profile *p = NULL;
	if (profiles_load(path, ps, err))
		fprintf(stderr, "hsmca-frontend: %s\n", err);
	else if (!(p = profiles_find(ps, a->profile)))
		fprintf(stderr, "hsmca-frontend: --profile %s: no such profile in %s\n", a->profile, path);
	else if (!profile_allows_account(p, a->account))
		fprintf(stderr, "hsmca-frontend: --profile %s: account %s may not use this profile (not among its "
				"accounts in %s)\n", a->profile, a->account, path);
	else
		rc = 0;
	profiles_wipe(ps);
	free(ps);
	return rc;
}

static int fe_create_apikey(const struct fe_args *a)
{
	uint8_t raw[FE_APIKEY_LEN], h[SHA256_DIGEST_LENGTH];
	char key[2 * FE_APIKEY_LEN + 8], hex[2 * SHA256_DIGEST_LENGTH + 1];
	struct db *db = NULL;
	int rc;
	if (!a->account || !a->profile)
		return fe_usage();
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return 1;
	strcpy(key, "hsk_");
	for (int i = 0; i < FE_APIKEY_LEN; i++)
		snprintf(key + 4 + 2 * i, 3, "%02x", raw[i]);
	OPENSSL_cleanse(raw, sizeof(raw));
	SHA256((const uint8_t *)key, strlen(key), h);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	uint8_t ikey[INTENT_KEY_LEN];
	int64_t id = 0;
	struct dbuf details; /* the key's id and profile, as the API's apikey.created rows carry them */
	dbuf_init(&details);
	rc = fe_db_keyed(a, &db, ikey);
	if (rc == 0 && (rc = fe_apikey_profile(a))) {
		db_close(db);
		db = NULL;
	}
	if (rc == 0) {
		if (!(rc = db_begin(db)) && !(rc = db_apikey_insert(db, a->account, hex, a->profile, &id))) {
			char num[24];
			snprintf(num, sizeof(num), "%lld", (long long)id);
			dbuf_add(&details, "{\"id\": ", 7);
			dbuf_add(&details, num, strlen(num));
			dbuf_add(&details, ", \"profile\": ", 13);
			json_write_string(&details, a->profile);
			dbuf_add(&details, ", \"by\": \"cli\"}", 15); /* with its NUL */
			rc = details.failed ? HSMCA_ERR_NOMEM
					    : db_audit_append(db, "cli", "apikey.created", a->account, (const char *)details.data);
		}
		if (!rc)
			rc = db_commit(db);
		if (rc) {
			fprintf(stderr, "hsmca-frontend: %s\n", db_errmsg(db));
			db_rollback(db);
		}
		db_close(db);
	}
	OPENSSL_cleanse(ikey, sizeof(ikey));
	dbuf_free(&details);
	if (rc) {
		OPENSSL_cleanse(key, sizeof(key));
		return 1;
	}
	/* shown once; only its hash is stored. write(2), not stdio, whose buffer would keep a copy */
	size_t n = strlen(key);
	key[n++] = '\n';
	bool written = write(STDOUT_FILENO, key, n) == (ssize_t)n;
	OPENSSL_cleanse(key, sizeof(key));
	return written ? 0 : 1;
}

/* "LABEL=PATH" (a key label as the signer takes them, printable ASCII without space, and without '=' or '/',
 * shorter than FCONF_LABEL_MAX as checkpoint_key) into label and PATH; anything else is a path (label ""). */
static const char *fe_cert_label(const char *arg, char label[FCONF_LABEL_MAX])
{
	size_t n = strcspn(arg, "=");
	label[0] = '\0';
	if (arg[n] != '=' || n >= FCONF_LABEL_MAX || !frame_label_ok(span_make(arg, n)) || memchr(arg, '/', n))
		return arg;
	memcpy(label, arg, n);
	label[n] = '\0';
	return arg + n + 1;
}

/* The public key of a PEM certificate file of one certificate (pemcerts.h; NULL and a message on stderr if it
 * cannot be read). */
static EVP_PKEY *fe_cert_key(const char *path)
{
	char err[CONF_ERR_MAX];
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	if (pemcerts_load_one(path, "certificate", &x, err))
		fprintf(stderr, "hsmca-frontend: audit-verify: %s\n", err);
	else if (!(k = X509_get_pubkey(x)))
		fprintf(stderr, "hsmca-frontend: audit-verify: cannot read the public key of %s\n", path);
	X509_free(x);
	return k;
}

/* "ROW:HEX" (as an audit_checkpoint log line gives them) into o's expectation. */
static bool fe_parse_expect(const char *v, struct db_audit_opts *o)
{
	char *end = NULL;
	long long id = strtoll(v, &end, 10);
	if (id <= 0 || *end != ':' || !conf_value_hex(end + 1, o->expect_hash, DB_AUDIT_HASH_LEN))
		return false;
	o->expect_id = id;
	return true;
}

static int fe_audit_verify(const struct fe_args *a)
{
	struct db *db = NULL;
	struct db_audit_report rep;
	struct db_audit_opts o = { 0 };
	int64_t bad = 0;
	char why[DB_ERR_MAX] = "";
	int rc = 2; /* until there is a verdict */
	if (a->expect && !fe_parse_expect(a->expect, &o)) {
		fprintf(stderr, "hsmca-frontend: audit-verify: --expect wants ROW:HEX (64 hex digits)\n");
		return 2;
	}
	if (a->anchor) {
		struct ckanchor an;
		char aerr[CONF_ERR_MAX];
		int arc = a->expect ? HSMCA_ERR_CONFIG : ckanchor_read(a->anchor, &an, aerr);
		if (arc) {
			fprintf(stderr, "hsmca-frontend: audit-verify: --anchor: %s\n",
				a->expect ? "not with --expect" : arc == HSMCA_ERR_NOTFOUND ? "no such file" : aerr);
			return 2;
		}
		o.expect_id = an.audit_id;
		memcpy(o.expect_hash, an.hash, DB_AUDIT_HASH_LEN);
	}
	char labels[DB_AUDIT_KEYS_MAX][FCONF_LABEL_MAX];
	for (; o.n_checkpoint_keys < a->n_checkpoint_cert; o.n_checkpoint_keys++) {
		unsigned i = o.n_checkpoint_keys;
		const char *path = fe_cert_label(a->checkpoint_cert[i], labels[i]);
		o.checkpoint_labels[i] = labels[i][0] ? labels[i] : NULL;
		if (!(o.checkpoint_keys[i] = fe_cert_key(path)))
			goto out;
	}
	if (fe_db(a, &db))
		goto out;
	rc = db_audit_verify(db, &o, &rep, &bad, why);
	db_close(db);
	if (rc == 0 && o.n_checkpoint_keys && rep.checkpoints == 0) {
		/* a certificate was given to check checkpoints against, and there are none: deleted, or never made (an
		 * empty log too: the bootstrap's account is on it, so an empty one was wiped whole) */
		printf("audit chain NOT PROVEN: %lld rows and no checkpoint to check under the certificate (deleted, or "
		       "checkpoint_key unset)\n", (long long)rep.rows);
		rc = 1;
		goto out;
	}
	if (rc == 0) {
		/* the first words are what scripts look for */
		printf("audit chain intact: %lld rows", (long long)rep.rows);
		if (o.expect_id)
			printf("; row %lld has the expected hash", (long long)o.expect_id);
		if (rep.checkpoints == 0)
			printf("; no checkpoints (every row rests on the database alone)\n");
		else
			printf("; %lld checkpoints %s, the last at row %lld of %s (%lld rows after it not yet covered)\n",
			       (long long)rep.checkpoints,
			       o.n_checkpoint_keys == 1 ? "verified under the checkpoint certificate"
			       : o.n_checkpoint_keys	? "verified under the checkpoint certificates"
							: "match the chain (signatures not checked: give --checkpoint-cert)",
			       (long long)rep.last_checkpointed, rep.last_checkpointed_ts[0] ? rep.last_checkpointed_ts : "?",
			       (long long)(rep.rows - rep.last_checkpointed));
	} else if (rc == HSMCA_ERR_AUTH) {
		printf("audit chain BROKEN at row %lld: %s\n", (long long)bad, why);
		if (rep.checkpoints > 0 && rep.forged_checkpoints == rep.checkpoints)
			/* not one verifies: a wrong certificate given looks the same as every checkpoint forged */
			printf("note: none of the %lld checkpoints verifies under the certificate%s given: if that is not "
			       "checkpoint_key's certificate (checkpoint_cert in the frontend's config), check again with it "
			       "before taking this for tampering\n",
			       (long long)rep.checkpoints, o.n_checkpoint_keys == 1 ? "" : "s");
	} else if (rc == HSMCA_ERR_STATE) {
		/* read, but not as the schema has it (the chain head missing, a NULL, another format): no verdict on
		 * a row, and no intact log either */
		printf("audit chain BROKEN: %s\n", why);
	} else {
		/* no verdict: the log could not be read (a role without SELECT on it, the server gone, ...) */
		fprintf(stderr, "hsmca-frontend: audit-verify: cannot check the audit log (%s): %s\n", hsmca_strerror(rc),
			why);
		rc = 2;
		goto out;
	}
	rc = rc ? 1 : 0;
out:
	for (unsigned i = 0; i < o.n_checkpoint_keys; i++)
		EVP_PKEY_free(o.checkpoint_keys[i]);
	return rc;
}

/* Start-up order: read every file and bind every socket (as root if started so), drop privileges, then
 * threads and connections (committer, database, signer), recovery, and the loop. */
static int fe_run(const struct fe_args *args)
{
	static struct app a;
	char err[CONF_ERR_MAX];
	struct worker w = { .app = &a, .id = 999 };
	struct listeners l = { .plain_fd = -1, .tls_fd = -1 };
	unsigned issued = 0, failed = 0;
	if (!args->config)
		return fe_usage();
	wipealloc_install(); /* before anything of libevent's exists */
	if (fconfig_load(args->config, &a.conf, err) || listen_conn_cap(&a.conf, err) || app_load(&a, err) ||
	    listen_open(&a.conf, &l, err)) {
		log_event("error", "startup_failed", "why=\"%s\"", err);
		return 1;
	}
	if (privdrop_to(a.conf.user)) {
		log_event("error", "startup_failed", "step=privdrop");
		return 1;
	}
	/* the profiles against what the running signer's keys may sign, before anything is served */
	int fit = signerfit_check(&a, a.conf.timeout_seconds * 1000u, a.conf.signer_check_warn);
	if (fit) {
		log_event("error", "startup_failed", "step=signer_keys why=\"%s\"",
			  fit == HSMCA_ERR_POLICY ? "profiles the signer would refuse certificates of (profile_unfit_signer)"
						  : "cannot read the signer's keys");
		return 1;
	}
	w.sgn.fd = -1;
	char dberr[DB_ERR_MAX];
	db_set_service_timeout(a.conf.db_timeout_seconds);
	db_require_unprivileged();
	if (committer_start(a.conf.database, &a.committer, dberr)) {
		log_event("error", "startup_failed", "step=committer why=\"%s\"", dberr);
		return 1;
	}
	if (acctwatch_start(&a)) {
		log_event("error", "startup_failed", "step=account_watch");
		return 1;
	}
	if (checkpoint_start(&a, err)) {
		log_event("error", "startup_failed", "step=checkpoints why=\"%s\"", err);
		return 1;
	}
	/* refuse an unknown schema before serving; resolve what a crash left pending */
	if (db_open(a.conf.database, &w.db, err)) {
		log_event("error", "startup_failed", "step=database why=\"%s\"", err);
		return 1;
	}
	app_db_keys(&a, w.db);
	/* what it serves under is on the record before anything is served: a profile or issuer that is new or
	 * changed since the last start gets its audit row (a change that cannot be recorded is not served) */
	unsigned recorded = 0;
	if (profrec_record(w.db, &a, &recorded)) {
		log_event("error", "startup_failed", "step=profiles why=\"cannot record the profiles: %s\"", db_errmsg(w.db));
		db_close(w.db);
		return 1;
	}
	atomic_store(&a.profiles_recorded, true); /* the account watch compares them with the record from now on */
	(void)signerfit_record_unsealed(w.db); /* who unsealed the signer, if its HELLO said (logged on failure) */
	if (a.has_intent_key_accept) { /* a rotation: account and API key rows move to the new key */
		unsigned resealed = 0;
		const struct db_reseal_cb cb = { fe_resealed, NULL };
		if (db_rows_reseal(w.db, a.intent_key_accept, &cb, &resealed))
			log_event("warn", "rows_reseal_failed", "why=\"%s\"", db_errmsg(w.db));
		else
			log_event("info", "rows_resealed", "rows=%u", resealed);
	}
	/* not age 0: rows younger than recover_after_seconds may be another running frontend's, still being
	 * signed there; this frontend's own are completed by its first periodic passes */
	if (issue_recover(&w, a.conf.recover_after_seconds, &issued, &failed))
		log_event("warn", "recovery_incomplete", "why=\"signer unavailable; pending rows stay pending\"");
	log_event("info", "recovery", "issued=%u failed=%u", issued, failed);
	db_close(w.db);
	if (w.sgn_open)
		sgn_client_close(&w.sgn);
	int rc = http_run(&a, &l);
	listen_close(&l);
	/* the workers', committer's and account watcher's threads still run and read a: only its secret is wiped,
	 * nothing is freed under them; the process exits now (a MAC asked for under the wiped intent key is an
	 * error, intent.c: no intent is stored under it and no stored one is judged by it) */
	app_wipe(&a);
#ifdef FE_LEAK_CHECK
	/* the process leaves with _exit, so LeakSanitizer's own check at exit never runs: with detect_leaks=1 in
	 * ASAN_OPTIONS (the tests' frontends; off by default in tests/run.sh), memory nothing points to any more
	 * once the loop has stopped and evhttp has freed its connections is reported on stderr, and the stop fails.
	 * The line says the check was reached (with leak detection off it finds nothing). */
	int leaked = __lsan_do_recoverable_leak_check();
	log_event(leaked ? "error" : "info", "leak_check", "leaks=%s", leaked ? "found" : "none");
	if (leaked)
		rc = 1;
#endif
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct fe_args a = { 0 };
	log_set_prog("hsmca-frontend");
	if (argc < 2 || fe_parse(argc - 1, argv + 1, &a))
		return fe_usage();
	const char *cmd = argv[1];
	if (!strcmp(cmd, "run")) {
		/* the workers', committer's, signing and watcher threads may still run: leave without exit()'s
		 * handlers, whose OpenSSL cleanup would free what they are using */
		int rc = fe_run(&a);
		fflush(NULL);
		_exit(rc);
	}
	if (!strcmp(cmd, "migrate")) {
		char err[DB_ERR_MAX];
		int version = 0;
		if (!a.conninfo)
			return fe_usage();
		/* without --schema: the source tree's migrations while they are this build's (the tree may have
		 * moved on since the build was installed), else the installed ones */
		const char *dir = a.schema ? a.schema
			: db_migrate_dir_version(HSMCA_SCHEMA_DIR) == db_schema_version_known() ? HSMCA_SCHEMA_DIR
												: HSMCA_SCHEMA_INSTALL_DIR;
		if (db_migrate(a.conninfo, dir, &version, err)) {
			fprintf(stderr, "hsmca-frontend: migrate: %s\n", err);
			return 1;
		}
		printf("schema at version %d\n", version);
		return 0;
	}
	if (!strcmp(cmd, "bootstrap-admin"))
		return fe_create_account(&a, true);
	if (!strcmp(cmd, "create-account"))
		return fe_create_account(&a, false);
	if (!strcmp(cmd, "create-apikey"))
		return fe_create_apikey(&a);
	if (!strcmp(cmd, "audit-verify"))
		return fe_audit_verify(&a);
	return fe_usage();
}
