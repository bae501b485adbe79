/* /api/v1/accounts[/...] on a worker thread (JOB_ACCOUNTS): authenticate (HTTP Basic only), check the
 * caller's role, parse, then make the change and its audit row in one transaction with the caller's and the
 * target's rows locked, so the rules are checked against the rows as they are at commit time. */
#include "admin.h"

#include <event2/http.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "certauth.h"
#include "issue.h"
#include "json.h"
#include "log.h"
#include "pool.h"

#define ADMIN_DETAILS_MAX 512

/* One management request being served. */
struct admin_ctx {
	struct worker *w;
	struct job *j;
	struct db_account me; /* the authenticated caller, as its row was when it authenticated */
	bool via_cert;        /* me authenticated by a login certificate (mutual TLS), not a password */
	struct admin_path ap;
	char why[ADMIN_WHY_MAX];
};

static const char *admin_method(const struct job *j)
{
	return j->method == EVHTTP_REQ_POST ? "POST" : "GET";
}

/* Audits a refused request in its own transaction (nothing else is stored for it) and replies. The
 * details carry the reason, the request line without its query, and the peer; never the body. */
static void admin_refuse(struct admin_ctx *c, const char *actor, int status, const char *code, const char *why)
{
	char line[JOB_PATH_MAX + 8], st[8];
	struct db *db = c->w->db;
	struct dbuf d;
	snprintf(line, sizeof(line), "%s %.*s", admin_method(c->j), (int)strcspn(c->j->path, "?#"), c->j->path);
	snprintf(st, sizeof(st), "%d", status);
	dbuf_init(&d);
	dbuf_add(&d, "{\"status\": ", 11);
	dbuf_add(&d, st, strlen(st));
	dbuf_add(&d, ", \"code\": ", 10);
	json_write_string(&d, code);
	dbuf_add(&d, ", \"message\": ", 13);
	json_write_string(&d, why);
	dbuf_add(&d, ", \"request\": ", 13);
	json_write_string(&d, line);
	dbuf_add(&d, ", \"peer\": ", 10);
	json_write_string(&d, c->j->peer);
	dbuf_add(&d, "}", 2); /* includes the NUL */
	int rc = d.failed ? HSMCA_ERR_NOMEM : db_begin(db);
	if (!rc && (rc = db_audit_append(db, actor, "account.refused", c->ap.name[0] ? c->ap.name : "-",
					 (const char *)d.data)) == 0)
		rc = db_commit(db);
	if (rc) {
		db_rollback(db);
		log_event("error", "audit_failed", "action=account.refused rc=%d why=\"%s\"", rc, db_errmsg(db));
	}
	dbuf_free(&d);
	atomic_fetch_add(&c->w->app->refused, 1);
	job_error(c->j, status, code, why);
}

/* A failed database step of a change: the client's mistakes get their 4xx (audited), the rest 503. */
static void admin_db_failed(struct admin_ctx *c, int rc, const char *step)
{
	if (rc == HSMCA_ERR_EXISTS)
		return admin_refuse(c, c->me.name, 409, "exists", "an account with this name exists");
	if (rc == HSMCA_ERR_NOTFOUND)
		return admin_refuse(c, c->me.name, 404, "not-found", "no such account or API key");
	if (rc == HSMCA_ERR_PARSE)
		return admin_refuse(c, c->me.name, 400, "bad-request", "refused by the database's checks");
	if (rc == HSMCA_ERR_AUTH) { /* a row changed outside the frontend (rowmac.h) */
		auth_row_refused(c->w, c->j->peer);
		return admin_refuse(c, c->me.name, 409, "row-refused",
				    "the account's row was changed outside the frontend; an operator can reset it with "
				    "hsmca-frontend create-account --replace");
	}
	log_event("error", "db_failed", "step=%s rc=%d why=\"%s\"", step, rc, db_errmsg(c->w->db));
	job_error(c->j, 503, "unavailable", "the account database is unavailable");
}

/* A person: a password (HTTP Basic) or an administrator's login certificate over mutual TLS. */
static int admin_auth(struct admin_ctx *c)
{
	bool via_cert = false;
	switch (certauth_request(c->w, c->j, &c->me, &via_cert)) {
	case AUTH_OK:
		c->via_cert = via_cert;
		if (via_cert || !auth_is_api_key(c->j->auth))
			return 0;
		admin_refuse(c, c->me.name, 403, "api-key-forbidden",
			     "an API key is a machine credential: manage accounts with a password (HTTP Basic) or a "
			     "login certificate");
		return -1;
	case AUTH_MISSING: /* a change without credentials is audited and counted; a read is not */
		if (certauth_missing_limited(c->w, c->j))
			job_error(c->j, 429, "rate-limited", "too many failed logins; try again later");
		else if (certauth_is_read(c->j))
			job_error(c->j, 401, "unauthorized", "credentials required (HTTP Basic or a login certificate)");
		else
			admin_refuse(c, "-", 401, "unauthorized", "credentials required (HTTP Basic or a login certificate)");
		return -1;
	case AUTH_LIMITED:
		job_error(c->j, 429, "rate-limited", "too many failed logins; try again later");
		return -1;
	case AUTH_ERROR:
		job_error(c->j, 503, "unavailable", "the account database is unavailable");
		return -1;
	default:
		admin_refuse(c, "-", 401, "unauthorized", "wrong credentials");
		return -1;
	}
}

static bool admin_is_self(const struct admin_ctx *c)
{
	return strcmp(c->ap.name, c->me.name) == 0;
}

/* Administrators manage everything, auditors read, anyone may change their own password. */
static bool admin_may(const struct admin_ctx *c, const struct db_account *who)
{
	if (who->disabled)
		return false;
	if (who->role == DB_ROLE_ADMIN)
		return true;
	if (c->ap.op == ADMIN_LIST || c->ap.op == ADMIN_GET)
		return who->role == DB_ROLE_AUDITOR;
	return c->ap.op == ADMIN_PASSWORD && admin_is_self(c);
}

/* Begins the change: a transaction with the caller's row (and the target's, when there is one) locked,
 * and the permission checked again against the caller's row as it is now. On failure the reply is set. */
static int admin_tx_begin(struct admin_ctx *c, bool has_target, struct db_account *out_target)
{
	struct db *db = c->w->db;
	struct db_account actor;
	int rc = db_begin(db);
	if (!rc && (rc = db_account_lock(db, c->me.name, has_target ? c->ap.name : NULL, &actor, out_target)))
		db_rollback(db);
	if (rc) {
		admin_db_failed(c, rc, "lock");
		return rc;
	}
	bool may = actor.id != 0 && admin_may(c, &actor), found = !has_target || out_target->id != 0;
	explicit_bzero(&actor, sizeof(actor));
	if (has_target) /* no caller needs the target's password hash: it is not kept */
		explicit_bzero(out_target->pw_hash, sizeof(out_target->pw_hash));
	if (may && found)
		return 0;
	db_rollback(db);
	if (!may)
		admin_refuse(c, c->me.name, 403, "forbidden", "your account was changed meanwhile");
	else
		admin_refuse(c, c->me.name, 404, "not-found", "no such account");
	return HSMCA_ERR_STATE;
}

/* Ends the change: rc is its outcome; its audit row goes into the same transaction, then the commit.
 * On failure the reply is set. */
static int admin_tx_end(struct admin_ctx *c, int rc, const char *action, const char *details)
{
	struct db *db = c->w->db;
	if (!rc)
		rc = db_audit_append(db, c->me.name, action, c->ap.name, details);
	if (!rc)
		rc = db_commit(db);
	if (rc) {
		db_rollback(db);
		admin_db_failed(c, rc, action);
		return rc;
	}
	auth_accounts_changed(c->w->app->rl); /* this frontend's next request sees the change */
	char qa[4 * DB_NAME_MAX + 3], qo[4 * DB_NAME_MAX + 3];
	log_event("info", "account_changed", "actor=%s action=%s object=%s", log_quote(c->me.name, qa, sizeof(qa)), action,
		  log_quote(c->ap.name, qo, sizeof(qo)));
	return 0;
}

/* Starts a JSON reply with status (the body is built in j->resp). */
static struct dbuf *admin_reply(struct job *j, int status)
{
	dbuf_free(&j->resp);
	dbuf_init(&j->resp);
	j->status = status;
	strcpy(j->content_type, "application/json");
	return &j->resp;
}

static void admin_put(struct dbuf *d, const char *key, const char *text)
{
	json_write_string(d, key);
	dbuf_add(d, ": ", 2);
	if (text)
		json_write_string(d, text);
	else
		dbuf_add(d, "null", 4);
}

static void admin_put_raw(struct dbuf *d, const char *key, const char *raw)
{
	json_write_string(d, key);
	dbuf_add(d, ": ", 2);
	dbuf_add(d, raw, strlen(raw));
}

static void admin_put_id(struct dbuf *d, const char *key, int64_t v)
{
	char n[24];
	snprintf(n, sizeof(n), "%lld", (long long)v);
	admin_put_raw(d, key, n);
}

static void admin_reply_end(struct job *j)
{
	dbuf_add(&j->resp, "}\n", 2);
	if (j->resp.failed)
		job_error(j, 500, "internal", "out of memory");
}

/* The fields of an account (no braces). */
static void admin_put_account(struct dbuf *d, const struct db_account_info *a)
{
	admin_put(d, "name", a->name);
	dbuf_add(d, ", ", 2);
	admin_put(d, "role", db_role_name(a->role));
	dbuf_add(d, ", ", 2);
	admin_put_raw(d, "disabled", a->disabled ? "true" : "false");
	dbuf_add(d, ", ", 2);
	admin_put(d, "created_at", a->created_at);
	if (a->refused) { /* changed outside the frontend: listed as it stands, and marked */
		dbuf_add(d, ", ", 2);
		admin_put_raw(d, "refused", "true");
	}
}

struct admin_list {
	struct dbuf *d;
	size_t n;
};

static int admin_list_account(void *ctx, const struct db_account_info *a)
{
	struct admin_list *l = ctx;
	dbuf_add(l->d, l->n ? ", {" : "{", l->n ? 3 : 1);
	l->n++;
	admin_put_account(l->d, a);
	dbuf_add(l->d, "}", 1);
	return l->d->failed ? HSMCA_ERR_NOMEM : 0;
}

static int admin_list_key(void *ctx, const struct db_apikey_info *k)
{
	struct admin_list *l = ctx;
	dbuf_add(l->d, l->n ? ", {" : "{", l->n ? 3 : 1);
	l->n++;
	admin_put_id(l->d, "id", k->id);
	dbuf_add(l->d, ", ", 2);
	admin_put(l->d, "profile", k->profile[0] ? k->profile : NULL);
	dbuf_add(l->d, ", ", 2);
	admin_put_raw(l->d, "disabled", k->disabled ? "true" : "false");
	dbuf_add(l->d, ", ", 2);
	admin_put(l->d, "created_at", k->created_at);
	dbuf_add(l->d, "}", 1);
	return l->d->failed ? HSMCA_ERR_NOMEM : 0;
}

static void admin_op_list(struct admin_ctx *c)
{
	struct dbuf *d = admin_reply(c->j, 200);
	struct admin_list l = { d, 0 };
	dbuf_add(d, "{\"accounts\": [", 14);
	int rc = db_account_each(c->w->db, admin_list_account, &l);
	if (rc)
		return admin_db_failed(c, rc, "list");
	dbuf_add(d, "]", 1);
	admin_reply_end(c->j);
}

static void admin_op_get(struct admin_ctx *c)
{
	struct db_account_info a;
	int rc = db_account_info_get(c->w->db, c->ap.name, &a);
	if (rc == HSMCA_ERR_NOTFOUND)
		return job_error(c->j, 404, "not-found", "no such account");
	if (rc)
		return admin_db_failed(c, rc, "get");
	struct dbuf *d = admin_reply(c->j, 200);
	struct admin_list l = { d, 0 };
	dbuf_add(d, "{", 1);
	admin_put_account(d, &a);
	dbuf_add(d, ", \"apikeys\": [", 14);
	if ((rc = db_apikey_each(c->w->db, c->ap.name, admin_list_key, &l)))
		return admin_db_failed(c, rc, "apikeys");
	dbuf_add(d, "]", 1);
	admin_reply_end(c->j);
}

/* Hashes a password taken out of a body (scrypt; before any transaction, so no row stays locked meanwhile)
 * and wipes it. On failure the reply is set. */
static int admin_hash(struct admin_ctx *c, struct admin_secret *pw, char hash[DB_HASH_MAX])
{
	int rc = auth_hash_password(pw->text, pw->len, hash);
	explicit_bzero(pw, sizeof(*pw));
	if (rc)
		job_error(c->j, 500, "internal", "cannot hash the password");
	return rc;
}

static void admin_op_create(struct admin_ctx *c)
{
	struct admin_create cr;
	char hash[DB_HASH_MAX], details[ADMIN_DETAILS_MAX];
	if (admin_parse_create(c->j->body, c->j->body_len, &cr, c->why))
		return admin_refuse(c, c->me.name, 400, "bad-request", c->why);
	snprintf(c->ap.name, sizeof(c->ap.name), "%s", cr.name);
	if (admin_hash(c, &cr.password, hash) || admin_tx_begin(c, false, NULL))
		return;
	snprintf(details, sizeof(details), "{\"role\": \"%s\"}", db_role_name(cr.role));
	if (admin_tx_end(c, db_account_create(c->w->db, cr.name, cr.role, hash), "account.created", details))
		return;
	struct dbuf *d = admin_reply(c->j, 201);
	dbuf_add(d, "{", 1);
	admin_put(d, "name", cr.name);
	dbuf_add(d, ", ", 2);
	admin_put(d, "role", db_role_name(cr.role));
	admin_reply_end(c->j);
}

static void admin_op_state(struct admin_ctx *c, bool disable)
{
	struct db_account t;
	if (admin_parse_empty(c->j->body, c->j->body_len, c->why))
		return admin_refuse(c, c->me.name, 400, "bad-request", c->why);
	if (disable && admin_is_self(c))
		return admin_refuse(c, c->me.name, 409, "self-lockout", "an administrator cannot disable their own account");
	if (admin_tx_begin(c, true, &t) ||
	    admin_tx_end(c, db_account_set_disabled(c->w->db, c->ap.name, disable),
			 disable ? "account.disabled" : "account.enabled", t.disabled == disable ? "{\"unchanged\": true}" : "{}"))
		return;
	struct dbuf *d = admin_reply(c->j, 200);
	dbuf_add(d, "{", 1);
	admin_put(d, "name", c->ap.name);
	dbuf_add(d, ", ", 2);
	admin_put_raw(d, "disabled", disable ? "true" : "false");
	admin_reply_end(c->j);
}

static void admin_op_password(struct admin_ctx *c)
{
	struct admin_secret pw;
	struct db_account t;
	char hash[DB_HASH_MAX];
	if (admin_parse_password(c->j->body, c->j->body_len, &pw, c->why))
		return admin_refuse(c, c->me.name, 400, "bad-request", c->why);
	/* at most AUTH_FAIL_LIMIT password changes a window per caller, running or done: each costs a scrypt
	 * (~16 MiB, ~50 ms) and an account NOTIFY that empties every frontend's account cache, and a requester
	 * may change its own as often as it likes otherwise */
	time_t now = time(NULL);
	enum rl_reservation r = ratelimit_reserve(c->w->app->rl, "pwset", c->me.name, now);
	if (r == RL_NO_BUDGET) {
		explicit_bzero(&pw, sizeof(pw));
		return admin_refuse(c, c->me.name, 429, "rate-limited", "too many password changes by this account; "
									"try again in a minute");
	}
	int hrc = admin_hash(c, &pw, hash);
	if (r == RL_RESERVED)
		ratelimit_release(c->w->app->rl, "pwset", c->me.name, true, now); /* counted: the scrypt ran */
	if (hrc || admin_tx_begin(c, true, &t) ||
	    admin_tx_end(c, db_account_set_password(c->w->db, c->ap.name, hash), "account.password_changed",
			 admin_is_self(c) ? "{\"by\": \"self\"}" : "{\"by\": \"admin\"}"))
		return;
	struct dbuf *d = admin_reply(c->j, 200);
	dbuf_add(d, "{", 1);
	admin_put(d, "name", c->ap.name);
	dbuf_add(d, ", ", 2);
	admin_put_raw(d, "password_changed", "true");
	admin_reply_end(c->j);
}

static void admin_op_role(struct admin_ctx *c)
{
	enum db_role role;
	struct db_account t;
	char details[ADMIN_DETAILS_MAX];
	if (admin_parse_role(c->j->body, c->j->body_len, &role, c->why))
		return admin_refuse(c, c->me.name, 400, "bad-request", c->why);
	if (admin_is_self(c) && role != DB_ROLE_ADMIN)
		return admin_refuse(c, c->me.name, 409, "self-lockout", "an administrator cannot change their own role");
	if (admin_tx_begin(c, true, &t))
		return;
	snprintf(details, sizeof(details), "{\"from\": \"%s\", \"to\": \"%s\"}", db_role_name(t.role), db_role_name(role));
	if (admin_tx_end(c, db_account_set_role(c->w->db, c->ap.name, role), "account.role_changed", details))
		return;
	struct dbuf *d = admin_reply(c->j, 200);
	dbuf_add(d, "{", 1);
	admin_put(d, "name", c->ap.name);
	dbuf_add(d, ", ", 2);
	admin_put(d, "role", db_role_name(role));
	admin_reply_end(c->j);
}

/* A new API key: ADMIN_KEY_PREFIX + base64url (no padding) of ADMIN_KEY_RANDOM random bytes, and the
 * SHA-256 hex of the whole text (what auth.c looks up). */
static int admin_key_new(char key[ADMIN_KEY_TEXT_MAX], char hex[2 * SHA256_DIGEST_LENGTH + 1])
{
	uint8_t raw[ADMIN_KEY_RANDOM], h[SHA256_DIGEST_LENGTH];
	char b64[4 * ((ADMIN_KEY_RANDOM + 2) / 3) + 1];
	size_t pl = strlen(ADMIN_KEY_PREFIX);
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return HSMCA_ERR_CRYPTO;
	int n = EVP_EncodeBlock((unsigned char *)b64, raw, sizeof(raw));
	OPENSSL_cleanse(raw, sizeof(raw));
	while (n > 0 && b64[n - 1] == '=')
		n--;
	memcpy(key, ADMIN_KEY_PREFIX, pl);
	for (int i = 0; i < n; i++)
		key[pl + (size_t)i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	key[pl + (size_t)n] = 0;
	OPENSSL_cleanse(b64, sizeof(b64));
	SHA256((const uint8_t *)key, strlen(key), h);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	return 0;
}

/* {"id": N, "profile": name | null} into out (ADMIN_DETAILS_MAX): the key's audit details and reply. */
static void admin_key_json(char *out, int64_t id, const char *profile)
{
	struct dbuf d;
	dbuf_init(&d);
	dbuf_add(&d, "{", 1);
	admin_put_id(&d, "id", id);
	dbuf_add(&d, ", ", 2);
	admin_put(&d, "profile", profile);
	dbuf_add(&d, "}", 2); /* includes the NUL */
	snprintf(out, ADMIN_DETAILS_MAX, "%s", d.failed ? "{}" : (const char *)d.data);
	dbuf_free(&d);
}

/* Stores the new key's hash with its audit row; on success replies with the key (shown this once). */
static void admin_key_store(struct admin_ctx *c, const char *key, const char *hex, const char *profile)
{
	char details[ADMIN_DETAILS_MAX];
	struct db_account t;
	int64_t id = 0;
	if (admin_tx_begin(c, true, &t))
		return;
	int rc = db_apikey_insert(c->w->db, c->ap.name, hex, profile, &id);
	admin_key_json(details, id, profile);
	if (admin_tx_end(c, rc, "apikey.created", details))
		return;
	struct dbuf *d = admin_reply(c->j, 201);
	dbuf_add(d, details, strlen(details) - 1); /* without the closing brace */
	dbuf_add(d, ", ", 2);
	admin_put(d, "key", key);
	admin_reply_end(c->j);
}

static void admin_op_apikey_create(struct admin_ctx *c)
{
	char profile[DB_NAME_MAX], key[ADMIN_KEY_TEXT_MAX], hex[2 * SHA256_DIGEST_LENGTH + 1];
	if (admin_parse_apikey(c->j->body, c->j->body_len, profile, c->why))
		return admin_refuse(c, c->me.name, 400, "bad-request", c->why);
	const struct profile *p = profile[0] ? profiles_find(&c->w->app->profiles, profile) : NULL;
	char why[ISSUE_WHY_MAX];
	if (profile[0] && !p) {
		issue_why_no_profile(profile, NULL, why);
		return admin_refuse(c, c->me.name, 400, "unknown-profile", why);
	}
	if (p && !profile_allows_account(p, c->ap.name)) {
		snprintf(why, sizeof(why), "profile \"%s\" does not list account %s in its accounts: add it there in the "
			 "profiles file (and restart the frontend) first", p->name, c->ap.name);
		return admin_refuse(c, c->me.name, 400, "profile-forbidden", why);
	}
	if (admin_key_new(key, hex))
		return job_error(c->j, 500, "internal", "no random bytes");
	admin_key_store(c, key, hex, p ? p->name : NULL);
	OPENSSL_cleanse(key, sizeof(key));
}

static void admin_op_apikey_disable(struct admin_ctx *c)
{
	struct db_account t;
	char details[64];
	if (admin_parse_empty(c->j->body, c->j->body_len, c->why))
		return admin_refuse(c, c->me.name, 400, "bad-request", c->why);
	snprintf(details, sizeof(details), "{\"id\": %lld}", (long long)c->ap.key_id);
	if (admin_tx_begin(c, true, &t) ||
	    admin_tx_end(c, db_apikey_disable(c->w->db, c->ap.name, c->ap.key_id), "apikey.disabled", details))
		return;
	struct dbuf *d = admin_reply(c->j, 200);
	dbuf_add(d, "{", 1);
	admin_put_id(d, "id", c->ap.key_id);
	dbuf_add(d, ", ", 2);
	admin_put_raw(d, "disabled", "true");
	admin_reply_end(c->j);
}

static void admin_serve(struct admin_ctx *c)
{
	int prc = admin_parse_path(c->j->path, c->j->method == EVHTTP_REQ_POST, &c->ap, c->why);
	if (prc == HSMCA_ERR_NOTFOUND)
		return job_error(c->j, 404, "not-found", c->why);
	if (prc == HSMCA_ERR_STATE) {
		c->j->allow = c->j->method == EVHTTP_REQ_POST ? "GET" : "POST"; /* the one the path takes */
		return job_error(c->j, 405, "method", c->why);
	}
	if (issue_db(c->w))
		return job_error(c->j, 503, "unavailable", "the database is unavailable");
	if (admin_auth(c))
		return;
	if (prc)
		return admin_refuse(c, c->me.name, 400, "bad-request", c->why);
	if (!admin_may(c, &c->me))
		return admin_refuse(c, c->me.name, 403, "forbidden",
				    c->me.role == DB_ROLE_AUDITOR ? "auditors may only read accounts"
								  : "only administrators manage accounts (anyone may change their own password)");
	/* a login certificate reads and takes away (disable an account or a key); what grants a credential or a
	 * right that outlives it (an account, a password, one's own included, a role, an enabled account, an API
	 * key) takes the caller's password (HTTP Basic): a certificate's key, stolen, must not buy access that
	 * outlives the certificate's revocation. Before, only one's own password was refused */
	if (c->via_cert && (c->ap.op == ADMIN_CREATE || c->ap.op == ADMIN_ENABLE || c->ap.op == ADMIN_PASSWORD ||
			    c->ap.op == ADMIN_ROLE || c->ap.op == ADMIN_APIKEY_CREATE))
		return admin_refuse(c, c->me.name, 403, "password-required",
				    "this change grants a credential or a right: make it with your password (HTTP Basic), "
				    "not a login certificate");
	switch (c->ap.op) {
	case ADMIN_LIST:
		return admin_op_list(c);
	case ADMIN_GET:
		return admin_op_get(c);
	case ADMIN_CREATE:
		return admin_op_create(c);
	case ADMIN_DISABLE:
	case ADMIN_ENABLE:
		return admin_op_state(c, c->ap.op == ADMIN_DISABLE);
	case ADMIN_PASSWORD:
		return admin_op_password(c);
	case ADMIN_ROLE:
		return admin_op_role(c);
	case ADMIN_APIKEY_CREATE:
		return admin_op_apikey_create(c);
	case ADMIN_APIKEY_DISABLE:
		return admin_op_apikey_disable(c);
	}
	job_error(c->j, 404, "not-found", "no such endpoint");
}

void admin_request(struct worker *w, struct job *j)
{
	struct admin_ctx c;
	memset(&c, 0, sizeof(c));
	c.w = w;
	c.j = j;
	admin_serve(&c);
	explicit_bzero(&c, sizeof(c));
	if (j->body) /* it may have carried a password */
		explicit_bzero(j->body, j->body_len);
}
