/* db_migrate: applies schema_dir/NNN_name.sql in numeric order, each with its schema_version row (version,
 * file name, SHA-256 of the file), all of a run's in one transaction: a migration that fails leaves the
 * database at the version it had (each in its own transaction, one failing after others left the database at a
 * version no frontend runs: the old one refuses a newer schema, the new one an older). Already-applied files are checked against
 * their recorded SHA-256 (a migration is never edited after it was applied). Concurrent runs serialise on an
 * advisory lock. The scripts are trusted files of the release and run through PQexec (several statements):
 * the one place without parameters. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "db_priv.h"

#define DB_MIG_MAX 999                       /* NNN */
#define DB_MIG_DIGITS 3
#define DB_MIG_NAME_MAX 128
#define DB_MIG_FILE_MAX (1024 * 1024)
#define DB_MIG_LOCK_KEY "448613147489"       /* pg_advisory_lock key: "hsmca" as a big-endian integer */
#define DB_SHA256_HEX_LEN 64

struct db_mig {
	int version;
	char name[DB_MIG_NAME_MAX];
};

/* "NNN_[a-z0-9_]+.sql" */
static int db_mig_name_version(const char *name)
{
	size_t n = strlen(name), i;
	int v = 0;

	if (n < DB_MIG_DIGITS + 6 || n >= DB_MIG_NAME_MAX || strcmp(name + n - 4, ".sql") != 0 ||
	    name[DB_MIG_DIGITS] != '_')
		return -1;
	for (i = 0; i < DB_MIG_DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	for (i = DB_MIG_DIGITS + 1; i < n - 4; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return -1;
	return v >= 1 ? v : -1;
}

static int db_mig_cmp(const void *a, const void *b)
{
	return ((const struct db_mig *)a)->version - ((const struct db_mig *)b)->version;
}

/* The migrations in dir, sorted; versions must be exactly 1..n. */
static int db_mig_list(const char *dir, struct db_mig *out, int *out_n, char *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0, rc = 0;

	if (d == NULL) {
		snprintf(err, DB_ERR_MAX, "schema dir %s: %s", dir, strerror(errno));
		return HSMCA_ERR_CONFIG;
	}
	while ((e = readdir(d)) != NULL) {
		size_t len = strlen(e->d_name);
		int v = db_mig_name_version(e->d_name);

		if (v < 0 && len > 4 && strcmp(e->d_name + len - 4, ".sql") == 0 && e->d_name[0] != '.') {
			snprintf(err, DB_ERR_MAX, "schema dir %s: %s is not named NNN_name.sql", dir, e->d_name);
			rc = HSMCA_ERR_CONFIG;
			goto out;
		}
		if (v < 0)
			continue;
		if (n >= DB_MIG_MAX) {
			snprintf(err, DB_ERR_MAX, "schema dir %s: too many migrations", dir);
			rc = HSMCA_ERR_LIMIT;
			goto out;
		}
		out[n].version = v;
		snprintf(out[n].name, sizeof out[n].name, "%s", e->d_name);
		n++;
	}
	qsort(out, (size_t)n, sizeof *out, db_mig_cmp);
	for (int i = 0; i < n; i++) {
		if (out[i].version != i + 1) {
			snprintf(err, DB_ERR_MAX, "schema dir %s: expected version %d, found %s", dir, i + 1, out[i].name);
			rc = HSMCA_ERR_CONFIG;
			goto out;
		}
	}
	*out_n = n;
out:
	closedir(d);
	return rc;
}

/* Reads dir/name (a regular file of at most DB_MIG_FILE_MAX bytes without NULs) and its SHA-256 hex. */
static int db_mig_read(const char *dir, const char *name, char **out, char *hex, char *err)
{
	char path[PATH_MAX], *buf = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	struct stat st;
	ssize_t got = 0;
	int fd, rc = HSMCA_ERR_IO;

	*out = NULL;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, DB_ERR_MAX, "%s: cannot read a regular file", path);
		goto out;
	}
	if (st.st_size <= 0 || st.st_size > DB_MIG_FILE_MAX || (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, DB_ERR_MAX, "%s: empty or larger than %d bytes", path, DB_MIG_FILE_MAX);
		rc = HSMCA_ERR_LIMIT;
		goto out;
	}
	while (got < st.st_size) {
		ssize_t k = read(fd, buf + got, (size_t)(st.st_size - got));
		if (k <= 0) {
			snprintf(err, DB_ERR_MAX, "%s: short read", path);
			goto out;
		}
		got += k;
	}
	buf[got] = '\0';
	if (memchr(buf, '\0', (size_t)got) != NULL ||
	    !EVP_Digest(buf, (size_t)got, md, &md_len, EVP_sha256(), NULL)) {
		snprintf(err, DB_ERR_MAX, "%s: contains NUL or cannot be hashed", path);
		rc = HSMCA_ERR_PARSE;
		goto out;
	}
	for (unsigned int i = 0; i < md_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

/* An applied migration must still be the file we applied. */
static int db_mig_check_applied(struct db *db, const struct db_mig *m, const char *hex)
{
	static const char *const names[] = {"sha256"};
	struct db_params p = {0};
	PGresult *r = NULL;
	char version[16];
	int col, rc;

	snprintf(version, sizeof version, "%d", m->version);
	db_params_text(&p, version);
	rc = db_exec(db, "SELECT sha256 FROM schema_version WHERE version = $1::integer", &p, DB_FMT_TEXT, &r);
	if (rc || (rc = db_columns(db, r, names, &col, 1)))
		goto out;
	if (PQntuples(r) != 1)
		rc = db_fail(db, HSMCA_ERR_STATE, "schema_version has no row for %s", m->name);
	else if (strcmp(PQgetvalue(r, 0, col), hex) != 0)
		rc = db_fail(db, HSMCA_ERR_STATE, "%s changed after it was applied (sha256 %.16s..., applied %.16s...)",
			     m->name, hex, PQgetvalue(r, 0, col));
out:
	PQclear(r);
	return rc;
}

/* Inside the run's transaction (db_mig_run). */
static int db_mig_apply(struct db *db, const struct db_mig *m, const char *sql, const char *hex)
{
	struct db_params p = {0};
	PGresult *r = NULL;
	char version[16];
	int rc;

	r = PQexec(db->conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		rc = db_error_from(db, r, m->name);
		rc = rc == HSMCA_ERR_IO ? HSMCA_ERR_CONFIG : rc;
		goto out;
	}
	snprintf(version, sizeof version, "%d", m->version);
	db_params_text(&p, version);
	db_params_text(&p, m->name);
	db_params_text(&p, hex);
	rc = db_exec_cmd(db, "INSERT INTO schema_version (version, name, sha256) VALUES ($1::integer, $2, $3)", &p);
out:
	PQclear(r);
	return rc;
}

/* A database migrated by a newer hsmca (or from another schema directory) holds versions that are not among
 * migs[0..n): migrating it would report success for a schema this build does not know. Names the first. */
static int db_mig_check_known(struct db *db, const struct db_mig *migs, int n)
{
	static const char *const names[] = {"version", "name"};
	PGresult *r = NULL;
	int cols[2], rc = db_exec(db, "SELECT version, name FROM schema_version ORDER BY version", NULL, DB_FMT_TEXT, &r);

	if (rc || (rc = db_columns(db, r, names, cols, 2)))
		goto out;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		int v = atoi(PQgetvalue(r, i, cols[0])), k = 0;
		while (k < n && migs[k].version != v)
			k++;
		if (k == n)
			rc = db_fail(db, HSMCA_ERR_STATE,
				     "the database has migration %d (%.64s) which this build does not know (it knows 1..%d): "
				     "migrated by a newer hsmca; refusing",
				     v, PQgetvalue(r, i, cols[1]), n ? migs[n - 1].version : 0);
	}
out:
	PQclear(r);
	return rc;
}

static int db_mig_run(struct db *db, const char *dir, const struct db_mig *migs, int n, int *out_version)
{
	char *sql = NULL, hex[DB_SHA256_HEX_LEN + 1];
	int rc, current;

	if ((rc = db_version_current(db, &current)) || (current > 0 && (rc = db_mig_check_known(db, migs, n))))
		return rc;
	bool open = false; /* the run's transaction, begun at the first migration to apply */
	for (int i = 0; i < n; i++) {
		if ((rc = db_mig_read(dir, migs[i].name, &sql, hex, db->err)))
			goto out;
		if (migs[i].version > current && !open && !(rc = db_begin(db)))
			open = true;
		if (!rc)
			rc = migs[i].version <= current ? db_mig_check_applied(db, &migs[i], hex)
							: db_mig_apply(db, &migs[i], sql, hex);
		free(sql);
		sql = NULL;
		if (rc)
			goto out;
	}
	if (open && (rc = db_commit(db)))
		goto out;
	open = false;
	*out_version = current > n ? current : n;
out:
	if (rc && open) {
		db_rollback(db);
		size_t l = strlen(db->err);
		snprintf(db->err + l, DB_ERR_MAX - l, "; nothing of this run applied: the database is at version %d still",
			 current);
	}
	free(sql);
	return rc;
}

int db_migrate_dir_version(const char *dir)
{
	struct db_mig *migs = calloc(DB_MIG_MAX, sizeof *migs);
	char err[DB_ERR_MAX];
	int n = 0, rc = migs ? db_mig_list(dir, migs, &n, err) : HSMCA_ERR_NOMEM;
	free(migs);
	return rc ? rc : n;
}

int db_migrate(const char *conninfo, const char *schema_dir, int *out_version, char *err)
{
	struct db_mig *migs = calloc(DB_MIG_MAX, sizeof *migs);
	struct db db = {0};
	struct db_params p = {0};
	int n = 0, version = 0, rc;

	if (out_version)
		*out_version = 0;
	if (migs == NULL) {
		db_err_copy(err, "out of memory");
		return HSMCA_ERR_NOMEM;
	}
	if ((rc = db_mig_list(schema_dir ? schema_dir : HSMCA_SCHEMA_DIR, migs, &n, db.err)))
		goto out;
	if (n > DB_SCHEMA_VERSION) { /* a newer hsmca's migrations: the database would be one this build refuses */
		snprintf(db.err, DB_ERR_MAX,
			 "schema dir %s: migrations 1..%d, but this build knows 1..%d (a newer hsmca's schema; migrate "
			 "with --schema naming this build's migrations, or install the newer hsmca); nothing applied",
			 schema_dir ? schema_dir : HSMCA_SCHEMA_DIR, n, DB_SCHEMA_VERSION);
		rc = HSMCA_ERR_STATE;
		goto out;
	}
	if ((rc = db_connect(conninfo, &db.conn, db.err)))
		goto out;
	db_params_text(&p, DB_MIG_LOCK_KEY); /* released when the session ends */
	if ((rc = db_exec_cmd(&db, "SELECT pg_advisory_lock($1::bigint)", &p)))
		goto out;
	rc = db_mig_run(&db, schema_dir ? schema_dir : HSMCA_SCHEMA_DIR, migs, n, &version);
	if (rc == 0 && out_version)
		*out_version = version;
out:
	if (rc)
		db_err_copy(err, db.err);
	PQfinish(db.conn);
	free(migs);
	return rc;
}
