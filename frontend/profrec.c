#include "profrec.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "conf.h"
#include "der.h"
#include "json.h"
#include "log.h"

#define PROFREC_DETAILS_DEF_MAX 16384 /* a definition longer than this is recorded by its SHA-256 only */

struct profrec_ctx {
	const struct profiles *ps;
	char **defs;
	int cur; /* index into ps->p of the section being read, or -1 */
	struct dbuf b;
};

/* Ends the section being read: its text becomes defs[cur]. */
static int profrec_end(struct profrec_ctx *c, char *err)
{
	if (c->cur < 0)
		return 0;
	dbuf_add(&c->b, "", 1);
	if (c->b.failed || !(c->defs[c->cur] = strdup((const char *)c->b.data))) {
		snprintf(err, CONF_ERR_MAX, "out of memory");
		return HSMCA_ERR_NOMEM;
	}
	dbuf_free(&c->b);
	dbuf_init(&c->b);
	c->cur = -1;
	return 0;
}

static int profrec_cb(void *vctx, const char *section, const char *key, const char *v, unsigned line, char *err)
{
	struct profrec_ctx *c = vctx;
	int rc;
	if (!key) {
		if ((rc = profrec_end(c, err)))
			return rc;
		const struct profile *p = strncmp(section, "profile ", 8) ? NULL : profiles_find(c->ps, section + 8);
		if (!p) { /* the text is the one the profiles were parsed from: every section is one of them */
			snprintf(err, CONF_ERR_MAX, "line %u: section [%s] is not a loaded profile", line, section);
			return HSMCA_ERR_STATE;
		}
		c->cur = (int)(p - c->ps->p);
		return 0;
	}
	if (c->cur < 0)
		return 0;
	dbuf_add(&c->b, key, strlen(key));
	dbuf_add(&c->b, " = ", 3);
	if (!strcmp(key, "cfssl_key")) {
		char h[2 * SHA256_DIGEST_LENGTH + 1];
		log_sha256_hex(v, strlen(v), h);
		dbuf_add(&c->b, "sha256:", 7);
		dbuf_add(&c->b, h, strlen(h));
	} else {
		dbuf_add(&c->b, v, strlen(v));
	}
	dbuf_add(&c->b, "\n", 1);
	return 0;
}

void profrec_free(char *defs[PROF_MAX])
{
	for (unsigned i = 0; i < PROF_MAX; i++) {
		free(defs[i]);
		defs[i] = NULL;
	}
}

int profrec_definitions(const char *text, size_t len, const struct profiles *ps, char *defs[PROF_MAX], char *err)
{
	struct profrec_ctx c = { ps, defs, -1, {0} };
	int rc;
	memset(defs, 0, PROF_MAX * sizeof(*defs));
	dbuf_init(&c.b);
	rc = conf_parse(text, len, profrec_cb, &c, err);
	if (rc == 0)
		rc = profrec_end(&c, err);
	for (unsigned i = 0; rc == 0 && i < ps->n; i++)
		if (!defs[i]) {
			snprintf(err, CONF_ERR_MAX, "profile %s: no definition", ps->p[i].name);
			rc = HSMCA_ERR_STATE;
		}
	dbuf_free(&c.b);
	if (rc)
		profrec_free(defs);
	return rc;
}

/* One audit row: {"<what>_sha256": new, "previous_sha256": old or null[, "definition": text]}. */
static int profrec_audit(struct db *db, const char *action, const char *object, const char *sha, const char *prev_sha,
			 const char *definition)
{
	struct dbuf d;
	int rc;
	dbuf_init(&d);
	dbuf_add(&d, "{\"sha256\": ", 11);
	if (sha)
		json_write_string(&d, sha);
	else
		dbuf_add(&d, "null", 4);
	dbuf_add(&d, ", \"previous_sha256\": ", 21);
	if (prev_sha && *prev_sha)
		json_write_string(&d, prev_sha);
	else
		dbuf_add(&d, "null", 4);
	if (definition && strlen(definition) <= PROFREC_DETAILS_DEF_MAX) {
		dbuf_add(&d, ", \"definition\": ", 16);
		json_write_string(&d, definition);
	}
	dbuf_add(&d, "}", 2); /* with the NUL */
	rc = d.failed ? HSMCA_ERR_NOMEM : db_audit_append(db, PROFREC_ACTOR, action, object, (const char *)d.data);
	dbuf_free(&d);
	return rc;
}

struct profrec_retired {
	struct db *db;
	unsigned *changes;
};

static int profrec_removed(void *vctx, const char *name, const char *previous)
{
	struct profrec_retired *r = vctx;
	char prev[2 * SHA256_DIGEST_LENGTH + 1];
	log_sha256_hex(previous, strlen(previous), prev);
	int rc = profrec_audit(r->db, "profile.removed", name, NULL, prev, NULL);
	if (rc == 0) {
		(*r->changes)++;
		log_event("warn", "profile_removed", "profile=%s previous_sha256=%s", name, prev);
	}
	return rc;
}

/* What the record says of object now: 0 if its newest row (of actions) carries sha; else *out_prev is the
 * recorded SHA-256 it replaces ("" for none, or after a removal). The audit log is compared with, not the
 * table: the frontend's role may UPDATE profiles.definition and issuers.cert_der, and a table written ahead of
 * a restart would leave the change off the record. */
static int profrec_recorded(struct db *db, const char *object, const char *const *actions, size_t n,
			    const char *sha, bool *out_same, char out_prev[65])
{
	char last_action[DB_NAME_MAX];
	int rc = db_audit_last_sha256(db, object, actions, n, last_action, out_prev);
	if (rc)
		return rc;
	bool removed = strstr(last_action, ".removed") != NULL;
	*out_same = !removed && last_action[0] && !strcmp(out_prev, sha);
	if (removed)
		out_prev[0] = '\0';
	return 0;
}

static int profrec_profile(struct db *db, const struct profile *p, const char *def, unsigned *changes)
{
	static const char *const acts[] = { "profile.created", "profile.changed", "profile.removed" };
	char sha[2 * SHA256_DIGEST_LENGTH + 1], prev[65];
	bool written = false, same = false;
	int rc = db_profile_record(db, p->name, p->issuer, def, p->needs_approval, &written);
	log_sha256_hex(def, strlen(def), sha);
	if (rc || (rc = profrec_recorded(db, p->name, acts, 3, sha, &same, prev)))
		return rc;
	if (same) { /* on the record; a row written meanwhile (outside the frontend) was put back */
		if (written)
			log_event("warn", "profile_table_restored", "profile=%s sha256=%s why=\"the table held another "
				  "definition than the recorded one (written outside the frontend)\"", p->name, sha);
		return 0;
	}
	if (!written) /* the table had it already, the record not: the table was written outside the frontend */
		log_event("warn", "profile_table_ahead", "profile=%s sha256=%s", p->name, sha);
	const char *action = prev[0] ? "profile.changed" : "profile.created";
	if ((rc = profrec_audit(db, action, p->name, sha, prev, def)) == 0) {
		(*changes)++;
		log_event("info", "profile_recorded", "profile=%s action=%s sha256=%s", p->name, action, sha);
	}
	return rc;
}

static int profrec_issuer(struct db *db, const char *label, X509 *cert, unsigned *changes)
{
	static const char *const acts[] = { "issuer.created", "issuer.changed" };
	unsigned char *der = NULL;
	char prev[65], sha[2 * SHA256_DIGEST_LENGTH + 1];
	bool written = false, same = false;
	int n = i2d_X509(cert, &der), rc;
	if (n <= 0)
		return HSMCA_ERR_CRYPTO;
	log_sha256_hex(der, (size_t)n, sha);
	rc = db_issuer_record(db, label, der, (size_t)n, &written);
	if (rc == 0 && (rc = profrec_recorded(db, label, acts, 2, sha, &same, prev)) == 0 && same && written)
		log_event("warn", "issuer_table_restored", "issuer=%s sha256=%s why=\"the table held another certificate "
			  "than the recorded one (written outside the frontend)\"", label, sha);
	if (rc == 0 && !same) {
		const char *action = prev[0] ? "issuer.changed" : "issuer.created";
		if (!written)
			log_event("warn", "issuer_table_ahead", "issuer=%s sha256=%s", label, sha);
		if ((rc = profrec_audit(db, action, label, sha, prev, NULL)) == 0) {
			(*changes)++;
			log_event("info", "issuer_recorded", "issuer=%s action=%s sha256=%s", label, action, sha);
		}
	}
	OPENSSL_free(der);
	return rc;
}

/* The SHA-256 (hex) of cert's DER. */
static int profrec_cert_sha(X509 *cert, char sha[2 * SHA256_DIGEST_LENGTH + 1])
{
	unsigned char *der = NULL;
	int n = i2d_X509(cert, &der);
	if (n <= 0)
		return HSMCA_ERR_CRYPTO;
	log_sha256_hex(der, (size_t)n, sha);
	OPENSSL_free(der);
	return 0;
}

/* A former issuer (former_issuers) not on the record yet gets an issuer.former row, object its certificate's
 * SHA-256: it widens which certificates count as this appliance's (certauth_genuine). */
static int profrec_former(struct db *db, X509 *cert, unsigned *changes)
{
	char sha[2 * SHA256_DIGEST_LENGTH + 1];
	static const char *const acts[] = { "issuer.former" };
	char last_action[DB_NAME_MAX], last_sha[65];
	int rc = profrec_cert_sha(cert, sha);
	if (rc || (rc = db_audit_last_sha256(db, sha, acts, 1, last_action, last_sha)) || last_action[0])
		return rc;
	if ((rc = profrec_audit(db, "issuer.former", sha, sha, NULL, NULL)) == 0) {
		(*changes)++;
		log_event("info", "issuer_recorded", "action=issuer.former sha256=%s", sha);
	}
	return rc;
}

int profrec_record(struct db *db, const struct app *a, unsigned *out_changes)
{
	struct dbuf keep;
	unsigned changes = 0;
	int rc;
	*out_changes = 0;
	dbuf_init(&keep);
	if ((rc = db_begin(db)))
		goto out;
	rc = db_profile_record_lock(db); /* on failure the rest is skipped and the transaction rolled back */
	for (unsigned i = 0; rc == 0 && i < a->profiles.n; i++) {
		const struct profile *p = &a->profiles.p[i];
		bool seen = false; /* an issuer several profiles share is recorded once */
		for (unsigned k = 0; k < i && !seen; k++)
			seen = !strcmp(a->profiles.p[k].issuer, p->issuer);
		rc = profrec_profile(db, p, a->profile_def[i], &changes);
		if (rc == 0 && !seen)
			rc = profrec_issuer(db, p->issuer, a->issuers[i].cert, &changes);
		dbuf_add(&keep, p->name, strlen(p->name));
		dbuf_add(&keep, i + 1 < a->profiles.n ? "\n" : "", i + 1 < a->profiles.n ? 1 : 0);
	}
	dbuf_add(&keep, "", 1);
	for (size_t i = 0; rc == 0 && i < a->n_former; i++)
		rc = profrec_former(db, a->former_issuers[i], &changes);
	if (rc == 0 && keep.failed)
		rc = HSMCA_ERR_NOMEM;
	struct profrec_retired retired = { db, &changes };
	if (rc == 0)
		rc = db_profiles_retire(db, (const char *)keep.data, profrec_removed, &retired);
	if (rc == 0 && changes > 0) /* delivered at the commit: the other frontends compare theirs (profrec_check) */
		rc = db_notify(db, PROFREC_CHANNEL);
	if (rc == 0)
		rc = db_commit(db);
	else
		db_rollback(db);
out:
	dbuf_free(&keep);
	if (rc == 0)
		*out_changes = changes;
	return rc;
}

int profrec_check(struct db *db, struct app *a)
{
	static const char *const pacts[] = { "profile.created", "profile.changed", "profile.removed" };
	static const char *const iacts[] = { "issuer.created", "issuer.changed" };
	int rc = 0;
	for (unsigned i = 0; rc == 0 && i < a->profiles.n; i++) {
		const struct profile *p = &a->profiles.p[i];
		char sha[2 * SHA256_DIGEST_LENGTH + 1], isha[2 * SHA256_DIGEST_LENGTH + 1], prev[65], iprev[65];
		bool same = false, isame = false;
		log_sha256_hex(a->profile_def[i], strlen(a->profile_def[i]), sha);
		if ((rc = profrec_recorded(db, p->name, pacts, 3, sha, &same, prev)) ||
		    (rc = profrec_cert_sha(a->issuers[i].cert, isha)) ||
		    (rc = profrec_recorded(db, p->issuer, iacts, 2, isha, &isame, iprev)))
			break;
		bool diverged = !same || !isame, was = atomic_exchange(&a->profile_diverged[i], diverged);
		if (diverged && !was)
			log_event("error", "profile_diverged",
				  "profile=%s sha256=%s recorded_sha256=%s issuer=%s issuer_sha256=%s recorded_issuer_sha256=%s "
				  "effect=\"refused here (503 profile-diverged) until this frontend runs the recorded "
				  "definition\"", p->name, sha, prev[0] ? prev : "none", p->issuer, isha,
				  iprev[0] ? iprev : "none");
		else if (!diverged && was)
			log_event("info", "profile_current", "profile=%s sha256=%s", p->name, sha);
	}
	return rc;
}
