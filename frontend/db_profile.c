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
		      bool needs_approval, bool *out_written)
{
	struct db_params p = {0};
	PGresult *r = NULL;
	int rc;

	*out_written = false;
	if ((rc = db_check_name(db, "profile", name, DB_NAME_MAX)) || (rc = db_check_name(db, "issuer", issuer, DB_NAME_MAX)))
		return rc;
	if (strlen(definition) >= DB_TEXT_MAX)
		return db_fail(db, HSMCA_ERR_LIMIT, "profile %s: definition over %d bytes", name, DB_TEXT_MAX);
	db_params_text(&p, name);
	db_params_text(&p, issuer);
	db_params_text(&p, definition);
	db_params_text(&p, needs_approval ? "true" : "false");
	/* the upsert writes only a difference */
	rc = db_exec(db, "INSERT INTO profiles (name, issuer, definition, requires_approval) "
			 "VALUES ($1, $2, $3, $4::boolean) ON CONFLICT (name) DO UPDATE SET issuer = EXCLUDED.issuer, "
			 "definition = EXCLUDED.definition, requires_approval = EXCLUDED.requires_approval "
			 "WHERE (profiles.issuer, profiles.definition, profiles.requires_approval) IS DISTINCT FROM "
			 "(EXCLUDED.issuer, EXCLUDED.definition, EXCLUDED.requires_approval)",
		     &p, DB_FMT_TEXT, &r);
	if (rc == 0)
		*out_written = strcmp(PQcmdTuples(r), "0") != 0;
	PQclear(r);
	return rc;
}

int db_issuer_record(struct db *db, const char *key_label, const uint8_t *cert_der, size_t der_len, bool *out_written)
{
	struct db_params p = {0};
	PGresult *r = NULL;
	int rc;

	*out_written = false;
	if ((rc = db_check_name(db, "issuer", key_label, DB_NAME_MAX)))
		return rc;
	if (!cert_der || der_len == 0 || der_len > DB_BLOB_MAX)
		return db_fail(db, HSMCA_ERR_PARSE, "issuer %s: no certificate, or over %d bytes", key_label, DB_BLOB_MAX);
	db_params_text(&p, key_label);
	db_params_bin(&p, cert_der, der_len);
	rc = db_exec(db, "INSERT INTO issuers (key_label, cert_der) VALUES ($1, $2::bytea) "
			 "ON CONFLICT (key_label) DO UPDATE SET cert_der = EXCLUDED.cert_der "
			 "WHERE issuers.cert_der IS DISTINCT FROM EXCLUDED.cert_der",
		     &p, DB_FMT_TEXT, &r);
	if (rc == 0)
		*out_written = strcmp(PQcmdTuples(r), "0") != 0;
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
