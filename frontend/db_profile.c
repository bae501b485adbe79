/* The profiles and issuers tables: what the frontend serves under, as recorded at start-up (profrec.c). */
#include <stdlib.h>
#include <string.h>

#include "db_priv.h"

int db_profile_record_lock(struct db *db)
{
	/* "hsmcp" as a big-endian integer (the migration's lock is "hsmca") */
	return db_exec_cmd(db, "SELECT pg_advisory_xact_lock(448613147504)", NULL);
}

int db_profile_record(struct db *db, const char *name, const char *issuer, const char *definition,
		      bool needs_approval, char **out_previous, bool *out_written)
{
	static const char *const names[] = {"previous", "written"};
	struct db_params p = {0};
	PGresult *r = NULL;
	int cols[2], rc;

	*out_previous = NULL;
	*out_written = false;
	if ((rc = db_check_name(db, "profile", name, DB_NAME_MAX)) || (rc = db_check_name(db, "issuer", issuer, DB_NAME_MAX)))
		return rc;
	if (strlen(definition) >= DB_TEXT_MAX)
		return db_fail(db, HSMCA_ERR_LIMIT, "profile %s: definition over %d bytes", name, DB_TEXT_MAX);
	db_params_text(&p, name);
	db_params_text(&p, issuer);
	db_params_text(&p, definition);
	db_params_text(&p, needs_approval ? "true" : "false");
	/* the previous row from the statement's snapshot; the upsert writes only a difference */
	rc = db_exec(db, "WITH prev AS (SELECT definition FROM profiles WHERE name = $1), "
			 "w AS (INSERT INTO profiles (name, issuer, definition, requires_approval) "
			 "VALUES ($1, $2, $3, $4::boolean) ON CONFLICT (name) DO UPDATE SET issuer = EXCLUDED.issuer, "
			 "definition = EXCLUDED.definition, requires_approval = EXCLUDED.requires_approval "
			 "WHERE (profiles.issuer, profiles.definition, profiles.requires_approval) IS DISTINCT FROM "
			 "(EXCLUDED.issuer, EXCLUDED.definition, EXCLUDED.requires_approval) RETURNING 1) "
			 "SELECT (SELECT definition FROM prev) AS previous, (SELECT count(*) FROM w) AS written",
		     &p, DB_FMT_TEXT, &r);
	if (rc || (rc = db_columns(db, r, names, cols, 2)))
		goto out;
	if (PQntuples(r) != 1) {
		rc = db_fail(db, HSMCA_ERR_STATE, "profile %s: no answer", name);
		goto out;
	}
	*out_written = strcmp(PQgetvalue(r, 0, cols[1]), "0") != 0;
	if (!PQgetisnull(r, 0, cols[0]) && !(*out_previous = strdup(PQgetvalue(r, 0, cols[0]))))
		rc = db_fail(db, HSMCA_ERR_NOMEM, "out of memory");
out:
	PQclear(r);
	return rc;
}

int db_issuer_record(struct db *db, const char *key_label, const uint8_t *cert_der, size_t der_len,
		     char out_previous_sha256[65], bool *out_written)
{
	static const char *const names[] = {"previous", "written"};
	struct db_params p = {0};
	PGresult *r = NULL;
	int cols[2], rc;

	out_previous_sha256[0] = '\0';
	*out_written = false;
	if ((rc = db_check_name(db, "issuer", key_label, DB_NAME_MAX)))
		return rc;
	if (!cert_der || der_len == 0 || der_len > DB_BLOB_MAX)
		return db_fail(db, HSMCA_ERR_PARSE, "issuer %s: no certificate, or over %d bytes", key_label, DB_BLOB_MAX);
	db_params_text(&p, key_label);
	db_params_bin(&p, cert_der, der_len);
	rc = db_exec(db, "WITH prev AS (SELECT encode(sha256(cert_der), 'hex') AS h FROM issuers WHERE key_label = $1), "
			 "w AS (INSERT INTO issuers (key_label, cert_der) VALUES ($1, $2::bytea) "
			 "ON CONFLICT (key_label) DO UPDATE SET cert_der = EXCLUDED.cert_der "
			 "WHERE issuers.cert_der IS DISTINCT FROM EXCLUDED.cert_der RETURNING 1) "
			 "SELECT (SELECT h FROM prev) AS previous, (SELECT count(*) FROM w) AS written",
		     &p, DB_FMT_TEXT, &r);
	if (rc || (rc = db_columns(db, r, names, cols, 2)))
		goto out;
	if (PQntuples(r) != 1) {
		rc = db_fail(db, HSMCA_ERR_STATE, "issuer %s: no answer", key_label);
		goto out;
	}
	*out_written = strcmp(PQgetvalue(r, 0, cols[1]), "0") != 0;
	if (!PQgetisnull(r, 0, cols[0]))
		rc = db_copy_text(db, r, 0, cols[0], out_previous_sha256, 65);
out:
	PQclear(r);
	return rc;
}

int db_profiles_retire(struct db *db, const char *keep_names, int (*fn)(void *ctx, const char *name, const char *previous),
		       void *ctx)
{
	static const char *const names[] = {"name", "previous"};
	struct db_params p = {0};
	PGresult *r = NULL;
	int cols[2], rc;

	db_params_text(&p, keep_names);
	/* a profile the file no longer has keeps its row (the frontend role cannot delete), with no definition */
	rc = db_exec(db, "WITH old AS (SELECT name, definition FROM profiles WHERE definition <> '' AND "
			 "NOT (name = ANY (string_to_array($1, E'\\n'))) FOR UPDATE) "
			 "UPDATE profiles p SET definition = '' FROM old WHERE p.name = old.name "
			 "RETURNING p.name, old.definition AS previous",
		     &p, DB_FMT_TEXT, &r);
	if (rc || (rc = db_columns(db, r, names, cols, 2)))
		goto out;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++)
		rc = fn(ctx, PQgetvalue(r, i, cols[0]), PQgetvalue(r, i, cols[1]));
out:
	PQclear(r);
	return rc;
}
