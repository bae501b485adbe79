/* Accounts and API keys (stored only as SHA-256 hex). */
#include <stdlib.h>
#include <string.h>

#include "db_priv.h"

#define DB_KEY_HASH_HEX_LEN 64

static const char *const db_role_names[] = {
	[DB_ROLE_REQUESTER] = "requester",
	[DB_ROLE_ADMIN] = "admin",
	[DB_ROLE_AUDITOR] = "auditor",
};
#define DB_ROLE_COUNT (sizeof db_role_names / sizeof db_role_names[0])

static const char *db_role_name(enum db_role role)
{
	return (size_t)role < DB_ROLE_COUNT ? db_role_names[role] : NULL;
}

static bool db_role_parse(const char *s, enum db_role *out)
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

/* Fills out from row 0 of r (columns id, name, role, pw_hash, disabled, key_profile). */
static int db_account_fill(struct db *db, const PGresult *r, struct db_account *out)
{
	static const char *const names[] = {"id", "name", "role", "pw_hash", "disabled", "key_profile"};
	char role[DB_NAME_MAX];
	int c[6], rc;

	memset(out, 0, sizeof *out);
	if ((rc = db_columns(db, r, names, c, 6)))
		return rc;
	if (PQntuples(r) != 1)
		return db_fail(db, HSMCA_ERR_NOTFOUND, "account not found");
	if ((rc = db_copy_text(db, r, 0, c[1], out->name, sizeof out->name)) ||
	    (rc = db_copy_text(db, r, 0, c[2], role, sizeof role)) ||
	    (rc = db_copy_text(db, r, 0, c[3], out->pw_hash, sizeof out->pw_hash)) ||
	    (rc = db_copy_text(db, r, 0, c[5], out->key_profile, sizeof out->key_profile)))
		return rc;
	if (!db_role_parse(role, &out->role))
		return db_fail(db, HSMCA_ERR_STATE, "account %s: unknown role %s", out->name, role);
	out->id = strtoll(PQgetvalue(r, 0, c[0]), NULL, 10);
	out->disabled = strcmp(PQgetvalue(r, 0, c[4]), "t") == 0;
	return 0;
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
	char hash[DB_KEY_HASH_HEX_LEN + 1];
	struct db_params p = {0};
	PGresult *r = NULL;
	int rc;

	if ((rc = db_account_name_check(db, account)) || (rc = db_key_hash_norm(db, key_hash_hex, hash)) ||
	    (profile && (rc = db_check_name(db, "profile", profile, DB_NAME_MAX))))
		return rc;
	db_params_text(&p, hash);
	db_params_text(&p, account);
	db_params_text(&p, profile);
	rc = db_exec(db,
		     "INSERT INTO api_keys (key_hash, account_id, profile) "
		     "SELECT $1, id, $3 FROM accounts WHERE name = $2",
		     &p, DB_FMT_TEXT, &r);
	if (rc == 0 && strcmp(PQcmdTuples(r), "1") != 0)
		rc = db_fail(db, HSMCA_ERR_NOTFOUND, "account %s not found", account);
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
