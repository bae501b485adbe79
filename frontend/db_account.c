/* Accounts and API keys (stored only as SHA-256 hex). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_priv.h"

#define DB_KEY_HASH_HEX_LEN 64
#define DB_ACCOUNT_LIST_MAX_SQL "10000" /* rows one listing returns at most */

static const char *const db_role_names[] = {
	[DB_ROLE_REQUESTER] = "requester",
	[DB_ROLE_ADMIN] = "admin",
	[DB_ROLE_AUDITOR] = "auditor",
};
#define DB_ROLE_COUNT (sizeof db_role_names / sizeof db_role_names[0])

const char *db_role_name(enum db_role role)
{
	return (size_t)role < DB_ROLE_COUNT ? db_role_names[role] : NULL;
}

bool db_role_parse(const char *s, enum db_role *out)
{
	for (size_t i = 1; i < DB_ROLE_COUNT; i++) {
		if (strcmp(s, db_role_names[i]) == 0) {
			*out = (enum db_role)i;
			return true;
		}
	}
	return false;
}

/* "name" must be a valid account name: 1..63 bytes, no ':' (HTTP Basic), no control characters. */
static int db_account_name_check(struct db *db, const char *name)
{
	int rc = db_check_name(db, "account name", name, DB_NAME_MAX);

	if (rc)
		return rc;
	for (const char *p = name; *p; p++)
		if (*p == ':' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return db_fail(db, HSMCA_ERR_PARSE, "account name: ':' or a control character");
	return 0;
}

/* Lowercase 64-hex-digit key hash into out (DB_KEY_HASH_HEX_LEN + 1 bytes). */
static int db_key_hash_norm(struct db *db, const char *in, char *out)
{
	size_t n = in ? strlen(in) : 0;

	if (n != DB_KEY_HASH_HEX_LEN)
		return db_fail(db, HSMCA_ERR_PARSE, "API key hash: %d hex digits expected", DB_KEY_HASH_HEX_LEN);
	for (size_t i = 0; i < n; i++) {
		char ch = in[i];
		if (ch >= 'A' && ch <= 'F')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
			return db_fail(db, HSMCA_ERR_PARSE, "API key hash: not hex");
		out[i] = ch;
	}
	out[n] = '\0';
	return 0;
}

int db_account_create(struct db *db, const char *name, enum db_role role, const char *pw_hash)
{
	struct db_params p = {0};
	int rc;

	if ((rc = db_account_name_check(db, name)) || (rc = db_check_name(db, "password hash", pw_hash, DB_HASH_MAX)))
		return rc;
	if (db_role_name(role) == NULL)
		return db_fail(db, HSMCA_ERR_PARSE, "account role: unknown");
	db_params_text(&p, name);
	db_params_text(&p, db_role_name(role));
	db_params_text(&p, pw_hash);
	rc = db_exec_cmd(db, "INSERT INTO accounts (name, role, pw_hash) VALUES ($1, $2, $3)", &p);
	if (rc == HSMCA_ERR_EXISTS)
		db_fail(db, rc, "account %s exists", name);
	return rc;
}

#define DB_ACCOUNT_COLS "id, name, role, pw_hash, disabled"

/* Fills out from row `row` of r (columns id, name, role, pw_hash, disabled, key_profile). */
static int db_account_row(struct db *db, const PGresult *r, int row, struct db_account *out)
{
	static const char *const names[] = {"id", "name", "role", "pw_hash", "disabled", "key_profile"};
	char role[DB_NAME_MAX];
	int c[6], rc;

	memset(out, 0, sizeof *out);
	if ((rc = db_columns(db, r, names, c, 6)))
		return rc;
	if ((rc = db_copy_text(db, r, row, c[1], out->name, sizeof out->name)) ||
	    (rc = db_copy_text(db, r, row, c[2], role, sizeof role)) ||
	    (rc = db_copy_text(db, r, row, c[3], out->pw_hash, sizeof out->pw_hash)) ||
	    (rc = db_copy_text(db, r, row, c[5], out->key_profile, sizeof out->key_profile)))
		return rc;
	if (!db_role_parse(role, &out->role))
		return db_fail(db, HSMCA_ERR_STATE, "account %s: unknown role %s", out->name, role);
	out->id = strtoll(PQgetvalue(r, row, c[0]), NULL, 10);
	out->disabled = strcmp(PQgetvalue(r, row, c[4]), "t") == 0;
	return 0;
}

/* Fills out from the only row of r. */
static int db_account_fill(struct db *db, const PGresult *r, struct db_account *out)
{
	memset(out, 0, sizeof *out);
	if (PQntuples(r) != 1)
		return db_fail(db, HSMCA_ERR_NOTFOUND, "account not found");
	return db_account_row(db, r, 0, out);
}

int db_account_get(struct db *db, const char *name, struct db_account *out)
{
	struct db_params p = {0};
	PGresult *r = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = db_account_name_check(db, name)))
		return rc == HSMCA_ERR_PARSE || rc == HSMCA_ERR_LIMIT ? HSMCA_ERR_NOTFOUND : rc;
	db_params_text(&p, name);
	rc = db_exec(db,
		     "SELECT id, name, role, pw_hash, disabled, '' AS key_profile FROM accounts WHERE name = $1", &p,
		     DB_FMT_TEXT, &r);
	if (rc == 0)
		rc = db_account_fill(db, r, out);
	PQclear(r);
	return rc;
}

int db_apikey_create(struct db *db, const char *account, const char *key_hash_hex, const char *profile)
{
	int64_t id;

	return db_apikey_insert(db, account, key_hash_hex, profile, &id);
}

int db_apikey_insert(struct db *db, const char *account, const char *key_hash_hex, const char *profile,
		     int64_t *out_id)
{
	char hash[DB_KEY_HASH_HEX_LEN + 1];
	struct db_params p = {0};
	PGresult *r = NULL;
	int rc;

	*out_id = 0;
	if ((rc = db_account_name_check(db, account)) || (rc = db_key_hash_norm(db, key_hash_hex, hash)) ||
	    (profile && (rc = db_check_name(db, "profile", profile, DB_NAME_MAX))))
		return rc;
	db_params_text(&p, hash);
	db_params_text(&p, account);
	db_params_text(&p, profile);
	rc = db_exec(db,
		     "INSERT INTO api_keys (key_hash, account_id, profile) "
		     "SELECT $1, id, $3 FROM accounts WHERE name = $2 RETURNING id",
		     &p, DB_FMT_TEXT, &r);
	if (rc == 0 && PQntuples(r) != 1)
		rc = db_fail(db, HSMCA_ERR_NOTFOUND, "account %s not found", account);
	else if (rc == 0)
		*out_id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	else if (rc == HSMCA_ERR_EXISTS)
		db_fail(db, rc, "API key exists");
	PQclear(r);
	return rc;
}

int db_apikey_lookup(struct db *db, const char *key_hash_hex, struct db_account *out_account)
{
	char hash[DB_KEY_HASH_HEX_LEN + 1];
	struct db_params p = {0};
	PGresult *r = NULL;
	int rc;

	memset(out_account, 0, sizeof *out_account);
	if ((rc = db_key_hash_norm(db, key_hash_hex, hash)))
		return rc;
	db_params_text(&p, hash);
	rc = db_exec(db,
		     "SELECT a.id, a.name, a.role, a.pw_hash, a.disabled, coalesce(k.profile, '') AS key_profile "
		     "FROM api_keys k JOIN accounts a ON a.id = k.account_id "
		     "WHERE k.key_hash = $1 AND NOT k.disabled",
		     &p, DB_FMT_TEXT, &r);
	if (rc == 0)
		rc = db_account_fill(db, r, out_account);
	PQclear(r);
	return rc;
}

/* ---- account management (frontend/admin.c) ---- */

#define DB_TIME_SQL(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created_at"

int db_account_lock(struct db *db, const char *actor, const char *target, struct db_account *out_actor,
		    struct db_account *out_target)
{
	struct db_params p = {0};
	PGresult *r = NULL;
	struct db_account row;
	int rc;

	memset(out_actor, 0, sizeof *out_actor);
	if (out_target)
		memset(out_target, 0, sizeof *out_target);
	if ((rc = db_account_name_check(db, actor)) || (target && (rc = db_account_name_check(db, target))))
		return rc;
	db_params_text(&p, actor);
	db_params_text(&p, target ? target : actor);
	/* both rows in id order, so two administrators acting on each other cannot deadlock */
	rc = db_exec(db,
		     "SELECT " DB_ACCOUNT_COLS ", '' AS key_profile FROM accounts WHERE name = $1 OR name = $2 "
		     "ORDER BY id FOR UPDATE",
		     &p, DB_FMT_TEXT, &r);
	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		if ((rc = db_account_row(db, r, i, &row)))
			break;
		if (strcmp(row.name, actor) == 0)
			*out_actor = row;
		if (target && out_target && strcmp(row.name, target) == 0)
			*out_target = row;
	}
	explicit_bzero(&row, sizeof row);
	PQclear(r);
	return rc;
}

/* One UPDATE of the account called name; HSMCA_ERR_NOTFOUND if there is none. */
static int db_account_update(struct db *db, const char *sql, const char *name, const char *value)
{
	struct db_params p = {0};
	PGresult *r = NULL;
	int rc;

	if ((rc = db_account_name_check(db, name)))
		return rc;
	db_params_text(&p, name);
	db_params_text(&p, value);
	rc = db_exec(db, sql, &p, DB_FMT_TEXT, &r);
	if (rc == 0 && strcmp(PQcmdTuples(r), "1") != 0)
		rc = db_fail(db, HSMCA_ERR_NOTFOUND, "account %s not found", name);
	PQclear(r);
	return rc;
}

int db_account_set_disabled(struct db *db, const char *name, bool disabled)
{
	return db_account_update(db, "UPDATE accounts SET disabled = $2::boolean WHERE name = $1", name,
				 disabled ? "true" : "false");
}

int db_account_set_password(struct db *db, const char *name, const char *pw_hash)
{
	int rc = db_check_name(db, "password hash", pw_hash, DB_HASH_MAX);

	return rc ? rc : db_account_update(db, "UPDATE accounts SET pw_hash = $2 WHERE name = $1", name, pw_hash);
}

int db_account_set_role(struct db *db, const char *name, enum db_role role)
{
	if (db_role_name(role) == NULL)
		return db_fail(db, HSMCA_ERR_PARSE, "account role: unknown");
	return db_account_update(db, "UPDATE accounts SET role = $2 WHERE name = $1", name, db_role_name(role));
}

/* Fills an info row (columns id, name, role, disabled, created_at). */
static int db_account_info_row(struct db *db, const PGresult *r, int row, struct db_account_info *out)
{
	static const char *const names[] = {"id", "name", "role", "disabled", "created_at"};
	char role[DB_NAME_MAX];
	int c[5], rc;

	memset(out, 0, sizeof *out);
	if ((rc = db_columns(db, r, names, c, 5)) ||
	    (rc = db_copy_text(db, r, row, c[1], out->name, sizeof out->name)) ||
	    (rc = db_copy_text(db, r, row, c[2], role, sizeof role)) ||
	    (rc = db_copy_text(db, r, row, c[4], out->created_at, sizeof out->created_at)))
		return rc;
	if (!db_role_parse(role, &out->role))
		return db_fail(db, HSMCA_ERR_STATE, "account %s: unknown role %s", out->name, role);
	out->id = strtoll(PQgetvalue(r, row, c[0]), NULL, 10);
	out->disabled = strcmp(PQgetvalue(r, row, c[3]), "t") == 0;
	return 0;
}

#define DB_ACCOUNT_INFO_SQL "SELECT id, name, role, disabled, " DB_TIME_SQL("created_at") " FROM accounts "

int db_account_each(struct db *db, int (*fn)(void *ctx, const struct db_account_info *a), void *ctx)
{
	struct db_account_info a;
	PGresult *r = NULL;
	int rc = db_exec(db, DB_ACCOUNT_INFO_SQL "ORDER BY id LIMIT " DB_ACCOUNT_LIST_MAX_SQL, NULL, DB_FMT_TEXT, &r);

	for (int i = 0; rc == 0 && i < PQntuples(r); i++)
		if (!(rc = db_account_info_row(db, r, i, &a)))
			rc = fn(ctx, &a);
	PQclear(r);
	return rc;
}

int db_account_info_get(struct db *db, const char *name, struct db_account_info *out)
{
	struct db_params p = {0};
	PGresult *r = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = db_account_name_check(db, name)))
		return rc == HSMCA_ERR_PARSE || rc == HSMCA_ERR_LIMIT ? HSMCA_ERR_NOTFOUND : rc;
	db_params_text(&p, name);
	rc = db_exec(db, DB_ACCOUNT_INFO_SQL "WHERE name = $1", &p, DB_FMT_TEXT, &r);
	if (rc == 0 && PQntuples(r) != 1)
		rc = db_fail(db, HSMCA_ERR_NOTFOUND, "account %s not found", name);
	else if (rc == 0)
		rc = db_account_info_row(db, r, 0, out);
	PQclear(r);
	return rc;
}

int db_apikey_each(struct db *db, const char *account, int (*fn)(void *ctx, const struct db_apikey_info *k),
		   void *ctx)
{
	static const char *const names[] = {"id", "profile", "disabled", "created_at"};
	struct db_params p = {0};
	struct db_apikey_info k;
	PGresult *r = NULL;
	int c[4], rc;

	if ((rc = db_account_name_check(db, account)))
		return rc;
	db_params_text(&p, account);
	rc = db_exec(db,
		     "SELECT k.id, coalesce(k.profile, '') AS profile, k.disabled, " DB_TIME_SQL("k.created_at")
		     " FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE a.name = $1 ORDER BY k.id",
		     &p, DB_FMT_TEXT, &r);
	if (rc == 0)
		rc = db_columns(db, r, names, c, 4);
	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		memset(&k, 0, sizeof k);
		k.id = strtoll(PQgetvalue(r, i, c[0]), NULL, 10);
		k.disabled = strcmp(PQgetvalue(r, i, c[2]), "t") == 0;
		if (!(rc = db_copy_text(db, r, i, c[1], k.profile, sizeof k.profile)) &&
		    !(rc = db_copy_text(db, r, i, c[3], k.created_at, sizeof k.created_at)))
			rc = fn(ctx, &k);
	}
	PQclear(r);
	return rc;
}

int db_apikey_disable(struct db *db, const char *account, int64_t id)
{
	char idtext[24];

	snprintf(idtext, sizeof idtext, "%lld", (long long)id);
	return db_account_update(db,
				 "UPDATE api_keys SET disabled = true WHERE id = $2::bigint "
				 "AND account_id = (SELECT id FROM accounts WHERE name = $1)",
				 account, idtext);
}
