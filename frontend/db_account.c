/* Accounts and API keys (stored only as SHA-256 hex). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "db_priv.h"
#include "json.h"
#include "rowmac.h"
#include "utf8.h"

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

/* "name" must be a valid account name: 1..63 bytes of UTF-8, no ':' (HTTP Basic), no control characters. A
 * lookup of any other name finds nothing without a query (PostgreSQL would refuse bytes that are not UTF-8
 * with an error, and a login with such a user name got 503 instead of the unknown user's 401). */
static int db_account_name_check(struct db *db, const char *name)
{
	int rc = db_check_name(db, "account name", name, DB_NAME_MAX);

	if (rc)
		return rc;
	for (const char *p = name; *p; p++)
		if (*p == ':' || (unsigned char)*p < 0x20 || *p == 0x7f)
			return db_fail(db, HSMCA_ERR_PARSE, "account name: ':' or a control character");
	if (!utf8_valid((const uint8_t *)name, strlen(name)))
		return db_fail(db, HSMCA_ERR_PARSE, "account name: not UTF-8");
	return 0;
}

bool db_account_name_reserved(const char *name)
{
	static const char *const reserved[] = { "-", "bootstrap", "cli", "config", "expiry", "recovery", "signer" };
	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
		if (!strcmp(name, reserved[i]))
			return true;
	return false;
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

static int db_account_select(struct db *db, const char *name, bool lock, bool verify, struct db_account *out);

/* Every function here that reads or writes an account or API key row needs db's row keys (db_set_row_keys). */
static int db_row_key_missing(struct db *db)
{
	return db_fail(db, HSMCA_ERR_CONFIG, "account and API key rows are checked and written with the intent key, "
					     "and none was given");
}

/* The columns of an API key row that its MAC covers but disabled, and their reader (c: their numbers). */
#define DB_APIKEY_COLS "k.id, k.key_hash, k.account_id, k.profile, k.mac_seq"
static const char *const db_apikey_names[] = {"id", "key_hash", "account_id", "profile", "mac_seq"};
static struct rowmac_apikey db_apikey_from(const PGresult *r, int row, const int c[5], bool disabled)
{
	return (struct rowmac_apikey){ strtoll(PQgetvalue(r, row, c[0]), NULL, 10), PQgetvalue(r, row, c[1]),
				       strtoll(PQgetvalue(r, row, c[2]), NULL, 10),
				       PQgetisnull(r, row, c[3]) ? NULL : PQgetvalue(r, row, c[3]), disabled,
				       strtoll(PQgetvalue(r, row, c[4]), NULL, 10) };
}

void db_set_row_keys(struct db *db, const uint8_t *key, const uint8_t *also)
{
	db->row_key = key;
	db->row_key_also = also;
}

/* The select list of an account row aliased A: what db_account_row reads. legacy: no MAC, never updated, and
 * listed by schema 015 with these fields (the same digest as 015's). */
#define DB_ACCOUNT_SEL(A)                                                                                         \
	A ".id, " A ".name, " A ".role, " A ".pw_hash, " A ".disabled, " A ".mac_seq, encode(" A                     \
	".row_mac, 'hex') AS row_mac, (" A ".row_mac IS NULL AND " A ".mac_seq = 0 AND EXISTS (SELECT 1 FROM "      \
	"legacy_accounts l WHERE l.id = " A ".id AND l.digest = sha256(convert_to(jsonb_build_array(" A ".name, " A \
	".role, " A ".pw_hash, " A ".disabled)::text, 'UTF8')))) AS legacy"

/* The stored MAC of a text-format result's column (hex, or NULL): mac and *has. HSMCA_ERR_AUTH (the row is
 * refused, as for a wrong MAC) if it is not INTENT_MAC_LEN bytes. */
static int db_row_mac(struct db *db, const PGresult *r, int row, int col, uint8_t mac[INTENT_MAC_LEN], bool *has)
{
	*has = !PQgetisnull(r, row, col);
	if (*has && !conf_value_hex(PQgetvalue(r, row, col), mac, INTENT_MAC_LEN))
		return db_fail(db, HSMCA_ERR_AUTH, "%s: row-mac: not %d bytes (changed outside this appliance's frontend)",
			       PQfname(r, col), INTENT_MAC_LEN);
	return 0;
}

/* Writes a's role, pw_hash, disabled and their MAC over mac_seq + 1, the value the UPDATE gives the row (015's
 * trigger), if the row is still at a->mac_seq; HSMCA_ERR_STATE if it moved meanwhile (not locked). */
static int db_account_write(struct db *db, const struct db_account *a)
{
	uint8_t mac[INTENT_MAC_LEN];
	char id[24], seq[24];
	struct rowmac_account m = { a->id, a->name, db_role_name(a->role), a->pw_hash, a->disabled, a->mac_seq + 1 };
	struct db_params p = {0};
	PGresult *r = NULL;
	int rc;
	if (!db->row_key)
		return db_row_key_missing(db);
	if (rowmac_account(db->row_key, &m, mac))
		return db_fail(db, HSMCA_ERR_CRYPTO, "account %s: its row MAC could not be computed", a->name);
	snprintf(id, sizeof id, "%lld", (long long)a->id);
	snprintf(seq, sizeof seq, "%lld", (long long)a->mac_seq);
	db_params_text(&p, id);
	db_params_text(&p, m.role);
	db_params_text(&p, a->pw_hash);
	db_params_text(&p, a->disabled ? "true" : "false");
	db_params_bin(&p, mac, sizeof mac);
	db_params_text(&p, seq);
	rc = db_exec(db,
		     "UPDATE accounts SET role = $2, pw_hash = $3, disabled = $4::boolean, row_mac = $5 "
		     "WHERE id = $1::bigint AND mac_seq = $6::bigint",
		     &p, DB_FMT_TEXT, &r);
	if (rc == 0 && strcmp(PQcmdTuples(r), "1") != 0)
		rc = db_fail(db, HSMCA_ERR_STATE, "account %s changed meanwhile", a->name);
	PQclear(r);
	return rc;
}

int db_account_create(struct db *db, const char *name, enum db_role role, const char *pw_hash)
{
	struct db_params p = {0};
	PGresult *r = NULL;
	int rc;

	if ((rc = db_account_name_check(db, name)) || (rc = db_check_name(db, "password hash", pw_hash, DB_HASH_MAX)))
		return rc;
	if (db_account_name_reserved(name))
		return db_fail(db, HSMCA_ERR_PARSE, "account name: %s is an actor of the audit log's own", name);
	if (db_role_name(role) == NULL)
		return db_fail(db, HSMCA_ERR_PARSE, "account role: unknown");
	if (!db->row_key)
		return db_row_key_missing(db);
	if (PQtransactionStatus(db->conn) != PQTRANS_INTRANS) /* the row, then its MAC: never one without the other */
		return db_fail(db, HSMCA_ERR_STATE, "account %s: created inside a transaction only", name);
	db_params_text(&p, name);
	db_params_text(&p, db_role_name(role));
	db_params_text(&p, pw_hash);
	rc = db_exec(db, "INSERT INTO accounts (name, role, pw_hash) VALUES ($1, $2, $3) RETURNING id::text, mac_seq::text",
		     &p, DB_FMT_TEXT, &r);
	if (rc == HSMCA_ERR_EXISTS)
		db_fail(db, rc, "account %s exists", name);
	if (rc == 0) { /* its MAC needs its id: a second UPDATE (mac_seq + 1) */
		struct db_account a = { .id = strtoll(PQgetvalue(r, 0, 0), NULL, 10), .role = role,
					.mac_seq = strtoll(PQgetvalue(r, 0, 1), NULL, 10) };
		snprintf(a.name, sizeof a.name, "%s", name);
		snprintf(a.pw_hash, sizeof a.pw_hash, "%s", pw_hash);
		rc = db_account_write(db, &a);
		explicit_bzero(&a, sizeof a);
	}
	PQclear(r);
	return rc;
}

int db_account_admin_first(struct db *db)
{
	PGresult *r = NULL;
	int rc;
	if (PQtransactionStatus(db->conn) != PQTRANS_INTRANS) /* the lock lasts to the first admin's commit */
		return db_fail(db, HSMCA_ERR_STATE, "the first administrator: inside a transaction only");
	/* "hsmcb" as a big-endian integer (the migration's lock is "hsmca", the profiles' "hsmcp"): two bootstraps
	 * at once would each find no administrator */
	if ((rc = db_exec_cmd(db, "SELECT pg_advisory_xact_lock(448613147490)", NULL)) ||
	    (rc = db_exec(db, "SELECT name FROM accounts WHERE role = 'admin' ORDER BY id LIMIT 1", NULL, DB_FMT_TEXT,
			  &r)))
		return rc;
	if (PQntuples(r) > 0)
		rc = db_fail(db, HSMCA_ERR_EXISTS, "an administrator exists (%s): bootstrap-admin makes the first one only; "
			     "create-account --role admin makes others", PQgetvalue(r, 0, 0));
	PQclear(r);
	return rc;
}

int db_account_reset(struct db *db, const char *name, enum db_role role, const char *pw_hash)
{
	struct db_account a;
	int rc;
	if ((rc = db_check_name(db, "password hash", pw_hash, DB_HASH_MAX)) || (rc = db_account_select(db, name, true, false, &a)))
		return rc;
	if (db_role_name(role) == NULL)
		return db_fail(db, HSMCA_ERR_PARSE, "account role: unknown");
	a.role = role;
	a.disabled = false;
	snprintf(a.pw_hash, sizeof a.pw_hash, "%s", pw_hash);
	rc = db_account_write(db, &a);
	explicit_bzero(&a, sizeof a);
	return rc;
}

/* Fills out from row `row` of r (DB_ACCOUNT_SEL's columns and key_profile) and checks its MAC under key or
 * also (key NULL: not checked): HSMCA_ERR_AUTH if it does not check (db_errmsg says why). */
static int db_account_row(struct db *db, const PGresult *r, int row, const uint8_t *key, const uint8_t *also,
			  struct db_account *out)
{
	static const char *const names[] = {"id", "name", "role", "pw_hash", "disabled", "key_profile",
					    "mac_seq", "row_mac", "legacy"};
	char role[DB_NAME_MAX], why[160];
	uint8_t mac[INTENT_MAC_LEN];
	bool has_mac = false;
	int c[9], rc;

	memset(out, 0, sizeof *out);
	if (!db->row_key)
		return db_row_key_missing(db);
	if ((rc = db_columns(db, r, names, c, 9)))
		return rc;
	if ((rc = db_copy_text(db, r, row, c[1], out->name, sizeof out->name)) ||
	    (rc = db_copy_text(db, r, row, c[2], role, sizeof role)) ||
	    (rc = db_copy_text(db, r, row, c[3], out->pw_hash, sizeof out->pw_hash)) ||
	    (rc = db_copy_text(db, r, row, c[5], out->key_profile, sizeof out->key_profile)) ||
	    (rc = db_row_mac(db, r, row, c[7], mac, &has_mac)))
		return rc;
	if (!db_role_parse(role, &out->role)) { /* the CHECK allows none: refused like a row changed outside */
		db_fail(db, HSMCA_ERR_AUTH, "account %s: row-mac: unknown role %s", out->name, role);
		explicit_bzero(out, sizeof *out);
		return HSMCA_ERR_AUTH;
	}
	out->id = strtoll(PQgetvalue(r, row, c[0]), NULL, 10);
	out->disabled = strcmp(PQgetvalue(r, row, c[4]), "t") == 0;
	out->mac_seq = strtoll(PQgetvalue(r, row, c[6]), NULL, 10);
	if (!key)
		return 0;
	struct rowmac_account m = { out->id, out->name, role, out->pw_hash, out->disabled, out->mac_seq };
	rc = rowmac_account_verify(key, also, &m, has_mac ? mac : NULL,
				   strcmp(PQgetvalue(r, row, c[8]), "t") == 0, why, sizeof why);
	if (rc) {
		db_fail(db, rc, "account %s: %s", out->name, why);
		explicit_bzero(out, sizeof *out); /* nothing of a refused row is used */
	}
	return rc;
}

/* Runs sql ($1: the account's name) for name; HSMCA_ERR_NOTFOUND for a name no account can have, or no row. */
static int db_account_query(struct db *db, const char *name, const char *sql, PGresult **out)
{
	struct db_params p = {0};
	int rc = db_account_name_check(db, name);

	*out = NULL;
	if (rc)
		return rc == HSMCA_ERR_PARSE || rc == HSMCA_ERR_LIMIT ? HSMCA_ERR_NOTFOUND : rc;
	db_params_text(&p, name);
	rc = db_exec(db, sql, &p, DB_FMT_TEXT, out);
	if (rc == 0 && PQntuples(*out) != 1)
		rc = db_fail(db, HSMCA_ERR_NOTFOUND, "account %s not found", name);
	return rc;
}

/* The row of account name into out, locked (FOR UPDATE) if lock, and checked (see db_account_row) if verify.
 * HSMCA_ERR_NOTFOUND if there is none. */
static int db_account_select(struct db *db, const char *name, bool lock, bool verify, struct db_account *out)
{
	PGresult *r = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	rc = db_account_query(db, name,
			      lock ? "SELECT " DB_ACCOUNT_SEL("a") ", '' AS key_profile FROM accounts a WHERE a.name = $1 FOR UPDATE"
				   : "SELECT " DB_ACCOUNT_SEL("a") ", '' AS key_profile FROM accounts a WHERE a.name = $1",
			      &r);
	if (rc == 0)
		rc = db_account_row(db, r, 0, verify ? db->row_key : NULL, db->row_key_also, out);
	PQclear(r);
	return rc;
}

/* Fills out from the only row of r. */
static int db_account_fill(struct db *db, const PGresult *r, struct db_account *out)
{
	memset(out, 0, sizeof *out);
	if (PQntuples(r) != 1)
		return db_fail(db, HSMCA_ERR_NOTFOUND, "account not found");
	return db_account_row(db, r, 0, db->row_key, db->row_key_also, out);
}

int db_account_get(struct db *db, const char *name, struct db_account *out)
{
	return db_account_select(db, name, false, true, out);
}

/* Writes k's disabled and the row's MAC over mac_seq + 1 (as db_account_write), if the row is still at k->seq. */
static int db_apikey_write(struct db *db, const struct rowmac_apikey *k)
{
	uint8_t mac[INTENT_MAC_LEN];
	char id[24], seq[24];
	struct rowmac_apikey next = *k;
	struct db_params p = {0};
	PGresult *r = NULL;
	int rc;
	next.seq = k->seq + 1;
	if (rowmac_apikey(db->row_key, &next, mac))
		return db_fail(db, HSMCA_ERR_CRYPTO, "API key %lld: its row MAC could not be computed", (long long)k->id);
	snprintf(id, sizeof id, "%lld", (long long)k->id);
	snprintf(seq, sizeof seq, "%lld", (long long)k->seq);
	db_params_text(&p, id);
	db_params_text(&p, k->disabled ? "true" : "false");
	db_params_bin(&p, mac, sizeof mac);
	db_params_text(&p, seq);
	rc = db_exec(db, "UPDATE api_keys SET disabled = $2::boolean, row_mac = $3 WHERE id = $1::bigint AND mac_seq = $4::bigint",
		     &p, DB_FMT_TEXT, &r);
	if (rc == 0 && strcmp(PQcmdTuples(r), "1") != 0)
		rc = db_fail(db, HSMCA_ERR_STATE, "API key %lld changed meanwhile", (long long)k->id);
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
	if (!db->row_key)
		return db_row_key_missing(db);
	if (PQtransactionStatus(db->conn) != PQTRANS_INTRANS) /* the row, then its MAC: never one without the other */
		return db_fail(db, HSMCA_ERR_STATE, "API key of %s: created inside a transaction only", account);
	db_params_text(&p, hash);
	db_params_text(&p, account);
	db_params_text(&p, profile);
	rc = db_exec(db,
		     "INSERT INTO api_keys (key_hash, account_id, profile) "
		     "SELECT $1, id, $3 FROM accounts WHERE name = $2 RETURNING id::text, account_id::text, mac_seq::text",
		     &p, DB_FMT_TEXT, &r);
	if (rc == 0 && PQntuples(r) != 1)
		rc = db_fail(db, HSMCA_ERR_NOTFOUND, "account %s not found", account);
	else if (rc == 0) { /* its MAC needs its id: a second UPDATE (mac_seq + 1) */
		struct rowmac_apikey k = { strtoll(PQgetvalue(r, 0, 0), NULL, 10), hash,
					   strtoll(PQgetvalue(r, 0, 1), NULL, 10), profile, false,
					   strtoll(PQgetvalue(r, 0, 2), NULL, 10) };
		if ((rc = db_apikey_write(db, &k)) == 0)
			*out_id = k.id;
	} else if (rc == HSMCA_ERR_EXISTS)
		db_fail(db, rc, "API key exists");
	PQclear(r);
	return rc;
}

/* The key row of db_apikey_lookup's result (one row; the key is enabled): HSMCA_ERR_AUTH unless its MAC
 * checks. */
static int db_apikey_verify(struct db *db, const PGresult *r, const char *hash, const struct db_account *a)
{
	static const char *const names[] = {"key_id", "key_any", "key_seq", "key_mac", "key_legacy"};
	uint8_t mac[INTENT_MAC_LEN];
	char why[160];
	bool has_mac = false;
	int c[5], rc;
	if ((rc = db_columns(db, r, names, c, 5)) || (rc = db_row_mac(db, r, 0, c[3], mac, &has_mac)))
		return rc;
	struct rowmac_apikey k = { strtoll(PQgetvalue(r, 0, c[0]), NULL, 10), hash, a->id,
				   strcmp(PQgetvalue(r, 0, c[1]), "t") == 0 ? NULL : a->key_profile, false,
				   strtoll(PQgetvalue(r, 0, c[2]), NULL, 10) };
	rc = rowmac_apikey_verify(db->row_key, db->row_key_also, &k, has_mac ? mac : NULL,
				  strcmp(PQgetvalue(r, 0, c[4]), "t") == 0, why, sizeof why);
	if (rc)
		db_fail(db, rc, "API key %lld of %s: %s", (long long)k.id, a->name, why);
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
	if (!db->row_key)
		return db_row_key_missing(db);
	db_params_text(&p, hash);
	rc = db_exec(db,
		     "SELECT " DB_ACCOUNT_SEL("a") ", coalesce(k.profile, '') AS key_profile, k.id AS key_id, "
		     "k.profile IS NULL AS key_any, k.mac_seq AS key_seq, encode(k.row_mac, 'hex') AS key_mac, "
		     "(k.row_mac IS NULL AND k.mac_seq = 0 AND EXISTS (SELECT 1 FROM legacy_api_keys l WHERE l.id = k.id "
		     "AND l.digest = sha256(convert_to(jsonb_build_array(k.key_hash, k.account_id, k.profile, "
		     "k.disabled)::text, 'UTF8')))) AS key_legacy "
		     "FROM api_keys k JOIN accounts a ON a.id = k.account_id "
		     "WHERE k.key_hash = $1 AND NOT k.disabled",
		     &p, DB_FMT_TEXT, &r);
	if (rc == 0 && (rc = db_account_fill(db, r, out_account)) == 0)
		rc = db_apikey_verify(db, r, hash, out_account);
	PQclear(r);
	if (rc && rc != HSMCA_ERR_NOTFOUND)
		memset(out_account, 0, sizeof *out_account);
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
		     "SELECT " DB_ACCOUNT_SEL("a") ", '' AS key_profile FROM accounts a WHERE a.name = $1 OR a.name = $2 "
		     "ORDER BY a.id FOR UPDATE",
		     &p, DB_FMT_TEXT, &r);
	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		if ((rc = db_account_row(db, r, i, db->row_key, db->row_key_also, &row)))
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

int db_account_set_disabled(struct db *db, const char *name, bool disabled)
{
	struct db_account a;
	int rc = db_account_select(db, name, true, true, &a);
	if (rc == 0) {
		a.disabled = disabled;
		rc = db_account_write(db, &a);
	}
	explicit_bzero(&a, sizeof a);
	return rc;
}

int db_account_set_password(struct db *db, const char *name, const char *pw_hash)
{
	struct db_account a;
	int rc = db_check_name(db, "password hash", pw_hash, DB_HASH_MAX);
	if (rc == 0 && (rc = db_account_select(db, name, true, true, &a)) == 0) {
		snprintf(a.pw_hash, sizeof a.pw_hash, "%s", pw_hash);
		rc = db_account_write(db, &a);
	}
	explicit_bzero(&a, sizeof a);
	return rc;
}

int db_account_set_role(struct db *db, const char *name, enum db_role role)
{
	struct db_account a;
	int rc;
	if (db_role_name(role) == NULL)
		return db_fail(db, HSMCA_ERR_PARSE, "account role: unknown");
	if ((rc = db_account_select(db, name, true, true, &a)) == 0) {
		a.role = role;
		rc = db_account_write(db, &a);
	}
	explicit_bzero(&a, sizeof a);
	return rc;
}

/* Fills an info row (columns id, name, role, disabled, created_at). */
static int db_account_info_row(struct db *db, const PGresult *r, int row, struct db_account_info *out)
{
	static const char *const names[] = {"id", "name", "role", "disabled", "created_at"};
	char role[DB_NAME_MAX];
	struct db_account a;
	int c[5], rc;

	memset(out, 0, sizeof *out);
	if ((rc = db_columns(db, r, names, c, 5)) ||
	    (rc = db_copy_text(db, r, row, c[1], out->name, sizeof out->name)) ||
	    (rc = db_copy_text(db, r, row, c[2], role, sizeof role)) ||
	    (rc = db_copy_text(db, r, row, c[4], out->created_at, sizeof out->created_at)))
		return rc;
	/* listed as it stands even if it does not check (marked refused): an administrator must see it */
	if (!db_role_parse(role, &out->role))
		out->role = 0;
	out->id = strtoll(PQgetvalue(r, row, c[0]), NULL, 10);
	out->disabled = strcmp(PQgetvalue(r, row, c[3]), "t") == 0;
	rc = db_account_row(db, r, row, db->row_key, db->row_key_also, &a);
	explicit_bzero(&a, sizeof a);
	if (rc == HSMCA_ERR_AUTH) {
		out->refused = true;
		rc = 0;
	}
	return rc;
}

#define DB_ACCOUNT_INFO_SQL                                                                                       \
	"SELECT " DB_ACCOUNT_SEL("a") ", '' AS key_profile, " DB_TIME_SQL("a.created_at") " FROM accounts a "

int db_account_each(struct db *db, int (*fn)(void *ctx, const struct db_account_info *a), void *ctx)
{
	struct db_account_info a;
	PGresult *r = NULL;
	int rc = db_exec(db, DB_ACCOUNT_INFO_SQL "ORDER BY a.id LIMIT " DB_ACCOUNT_LIST_MAX_SQL, NULL, DB_FMT_TEXT, &r);

	for (int i = 0; rc == 0 && i < PQntuples(r); i++)
		if (!(rc = db_account_info_row(db, r, i, &a)))
			rc = fn(ctx, &a);
	PQclear(r);
	return rc;
}

int db_account_info_get(struct db *db, const char *name, struct db_account_info *out)
{
	PGresult *r = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	if ((rc = db_account_query(db, name, DB_ACCOUNT_INFO_SQL "WHERE a.name = $1", &r)) == 0)
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
	struct db_params p = {0};
	PGresult *r = NULL;
	int c[5], rc;

	if ((rc = db_account_name_check(db, account)))
		return rc;
	if (!db->row_key)
		return db_row_key_missing(db);
	snprintf(idtext, sizeof idtext, "%lld", (long long)id);
	db_params_text(&p, account);
	db_params_text(&p, idtext);
	/* its old MAC is not checked: a disabled key gives nothing, and no key is ever enabled again */
	rc = db_exec(db,
		     "SELECT " DB_APIKEY_COLS " FROM api_keys k "
		     "WHERE k.id = $2::bigint AND k.account_id = (SELECT id FROM accounts WHERE name = $1) FOR UPDATE",
		     &p, DB_FMT_TEXT, &r);
	if (rc == 0 && (rc = db_columns(db, r, db_apikey_names, c, 5)) == 0) {
		if (PQntuples(r) != 1) {
			rc = db_fail(db, HSMCA_ERR_NOTFOUND, "account %s has no API key %s", account, idtext);
		} else {
			struct rowmac_apikey k = db_apikey_from(r, 0, c, true);
			rc = db_apikey_write(db, &k);
		}
	}
	PQclear(r);
	return rc;
}

/* The audit row of one re-MACed row (same transaction): actor "config" (a reserved account name), object the
 * account's name, details {"id": row id, key: value (null if NULL)}. After a leak of the old key a row forged under it is
 * among these rows, so the record names each one. */
static int db_reseal_audit(struct db *db, const char *action, const char *account, int64_t id, const char *key,
			   const char *value)
{
	struct dbuf d;
	char idtext[24];
	dbuf_init(&d);
	snprintf(idtext, sizeof idtext, "%lld", (long long)id);
	dbuf_add(&d, "{\"id\": ", 7);
	dbuf_add(&d, idtext, strlen(idtext));
	dbuf_add(&d, ", ", 2);
	json_write_string(&d, key);
	dbuf_add(&d, ": ", 2);
	if (value)
		json_write_string(&d, value);
	else
		dbuf_add(&d, "null", 4);
	dbuf_add(&d, "}", 2); /* with the NUL */
	int rc = d.failed ? HSMCA_ERR_NOMEM : db_audit_append(db, DB_RESEAL_ACTOR, action, account, (const char *)d.data);
	dbuf_free(&d);
	return rc;
}

/* Re-MACs under db's key the account rows whose MAC checks under old_key alone (current transaction), each
 * with its audit row; *n counts them, fn is told of each. */
static int db_accounts_reseal(struct db *db, const uint8_t *old_key, unsigned *n, const struct db_reseal_cb *cb)
{
	struct db_account a;
	PGresult *r = NULL;
	int rc = db_exec(db, "SELECT " DB_ACCOUNT_SEL("a") ", '' AS key_profile FROM accounts a "
			     "WHERE a.row_mac IS NOT NULL ORDER BY a.id FOR UPDATE", NULL, DB_FMT_TEXT, &r);
	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		int v = db_account_row(db, r, i, old_key, NULL, &a);
		if (v == 0 && (rc = db_account_write(db, &a)) == 0 &&
		    (rc = db_reseal_audit(db, "account.resealed", a.name, a.id, "role", db_role_name(a.role))) == 0) {
			(*n)++;
			cb->fn(cb->ctx, "account", a.id, a.name, db_role_name(a.role));
		}
		else if (v != HSMCA_ERR_AUTH && v != 0)
			rc = v; /* HSMCA_ERR_AUTH: under the new key already, or refused either way: left as it is */
	}
	explicit_bzero(&a, sizeof a);
	PQclear(r);
	return rc;
}

/* The same for the API key rows that are still enabled. */
static int db_apikeys_reseal(struct db *db, const uint8_t *old_key, unsigned *n, const struct db_reseal_cb *cb)
{
	uint8_t mac[INTENT_MAC_LEN];
	char why[160];
	bool has_mac = false;
	PGresult *r = NULL;
	int c[5], cm = -1, cn = -1;
	int rc = db_exec(db, "SELECT " DB_APIKEY_COLS ", encode(k.row_mac, 'hex') AS row_mac, a.name AS account_name "
			     "FROM api_keys k JOIN accounts a ON a.id = k.account_id "
			     "WHERE k.row_mac IS NOT NULL AND NOT k.disabled ORDER BY k.id FOR UPDATE OF k",
			     NULL, DB_FMT_TEXT, &r);
	if (rc == 0 && (rc = db_columns(db, r, db_apikey_names, c, 5)) == 0 &&
	    ((cm = PQfnumber(r, "row_mac")) < 0 || (cn = PQfnumber(r, "account_name")) < 0))
		rc = db_fail(db, HSMCA_ERR_STATE, "no column row_mac or account_name");
	for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
		struct rowmac_apikey k = db_apikey_from(r, i, c, false);
		if ((rc = db_row_mac(db, r, i, cm, mac, &has_mac)) == HSMCA_ERR_AUTH) {
			rc = 0; /* refused under any key: left as it is */
			continue;
		}
		if (rc)
			break;
		if (rowmac_apikey_verify(old_key, NULL, &k, mac, false, why, sizeof why) == 0 &&
		    (rc = db_apikey_write(db, &k)) == 0 &&
		    (rc = db_reseal_audit(db, "apikey.resealed", PQgetvalue(r, i, cn), k.id, "profile",
					  k.profile)) == 0) {
			char acct[24];
			snprintf(acct, sizeof acct, "%lld", (long long)k.account_id);
			(*n)++;
			cb->fn(cb->ctx, "apikey", k.id, acct, k.profile ? k.profile : "");
		}
	}
	PQclear(r);
	return rc;
}

int db_rows_reseal(struct db *db, const uint8_t *old_key, const struct db_reseal_cb *cb, unsigned *out_n)
{
	int rc;
	*out_n = 0;
	if (!db->row_key)
		return db_row_key_missing(db);
	if ((rc = db_begin(db)) == 0 && (rc = db_accounts_reseal(db, old_key, out_n, cb)) == 0 &&
	    (rc = db_apikeys_reseal(db, old_key, out_n, cb)) == 0)
		rc = db_commit(db);
	if (rc) {
		db_rollback(db);
		*out_n = 0;
	}
	return rc;
}
