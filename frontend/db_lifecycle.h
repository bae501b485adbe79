/* Reading certificates back, held certificates and their approvals (renewal, second-person approval).
 * Same rules as db.h: parameterised SQL only, one struct db per thread. */
#ifndef HSMCA_DB_LIFECYCLE_H
#define HSMCA_DB_LIFECYCLE_H

#include "db.h"

#define DB_APPROVAL_TTL_DEFAULT (7 * 24 * 3600) /* seconds a held request waits for an administrator */

/* One certificate row as stored. Owns sans, subject, tbs and der (db_cert_row_free). */
struct db_cert_row {
	char serial_hex[DB_SERIAL_HEX_MAX];
	char issuer[DB_NAME_MAX];
	char profile[DB_NAME_MAX];
	char requester[DB_NAME_MAX];
	char status[DB_STATUS_MAX];
	char renews[DB_SERIAL_HEX_MAX];     /* "" unless this renews another */
	char renewed_by[DB_SERIAL_HEX_MAX]; /* "" unless a (not failed) renewal of this one exists */
	char *subject, *sans, *failure_reason; /* failure_reason may be NULL */
	int64_t approval_id;                /* 0 unless an approval row names this certificate */
	time_t not_before, not_after;
	uint8_t *tbs, *der;                 /* der NULL until issued */
	size_t tbs_len, der_len;
	struct db_intent_macs macs;         /* what intent.h checks before its TBS is signed */
	bool by_authsign;                   /* requested through CFSSL authsign (a machine's key, not a person) */
	char revoked_reason[DB_NAME_MAX];   /* its revocations row's reason ("" unless revoked) */
	time_t revoked_at;                  /* and its time (0 unless revoked) */
};

/* Reads the row of serial_hex (either case). HSMCA_ERR_NOTFOUND if none. */
int db_cert_get(struct db *db, const char *serial_hex, struct db_cert_row *out) HSMCA_WUR;
void db_cert_row_free(struct db_cert_row *r);
/* *machine: serial_hex's certificate, or one it renews (its renewal chain; one longer than 1000 counts as a
 * machine's), was requested by a machine credential: through CFSSL authsign (its token on the row), or with an
 * API key (the audit row of its request says "credential": "api-key"); or with a login certificate alone
 * ("login-certificate": its key may be a stolen one); or a certificate it renews has been revoked for any
 * reason but superseded (whoever stole that key could have renewed it into this one; superseded is the
 * rotation's own: renew, then revoke the old one). Such a certificate is no login,
 * whatever its profile has become (a renewal proves the holder of the old key, not a person). */
int db_cert_by_machine(struct db *db, const char *serial_hex, bool *machine) HSMCA_WUR;
/* The renewal chains db_cert_chain_revoked and schema 027 walk: longer ones are refused (DB_CHAIN_TOO_LONG). */
#define DB_CHAIN_MAX_TEXT "100000"
#define DB_CHAIN_TOO_LONG "chain-too-long"
/* A certificate serial_hex renews, down its renewal chain (not itself), revoked for any reason but superseded:
 * its serial and reason, or both "" if none; a chain longer than DB_CHAIN_MAX_TEXT: the serial at that depth and
 * reason DB_CHAIN_TOO_LONG. Whoever held that key may have renewed it into this one, so a
 * renewal of it proves nothing of its owner (renew.c refuses it). */
int db_cert_chain_revoked(struct db *db, const char *serial_hex, char out_serial[DB_SERIAL_HEX_MAX],
			  char out_reason[DB_NAME_MAX]) HSMCA_WUR;

/* db_cert_insert_pending with another initial status ("held"); the same checks. */
int db_cert_insert_as(struct db *db, const struct db_cert *c, const char *status) HSMCA_WUR;
/* Inside the current transaction: inserts c as 'held' (not to be signed) and its approval row (action
 * certificate.issue, object the serial, details a JSON object text, requested_by c->requester, expiring in
 * ttl_seconds). out_id: the approval's id. */
int db_cert_insert_held(struct db *db, const struct db_cert *c, const char *details_json, unsigned ttl_seconds,
			int64_t *out_id) HSMCA_WUR;

struct db_approval {
	int64_t id;
	char action[DB_NAME_MAX];
	char object[DB_SERIAL_HEX_MAX + 24];
	char requested_by[DB_NAME_MAX];
	char status[DB_STATUS_MAX];
	char decided_by[DB_NAME_MAX];       /* "" while undecided */
	time_t created_at, expires_at, decided_at;
	bool expired;                       /* pending but past expires_at */
};

int db_approval_get(struct db *db, int64_t id, struct db_approval *out) HSMCA_WUR;
/* Calls fn for each approval (pending ones only if pending_only; with profile not "", only those of a certificate
 * of that profile), newest first, at most limit rows; *more: there were more than limit. */
int db_approval_each(struct db *db, bool pending_only, const char *profile, unsigned limit, bool *more,
		     int (*fn)(void *ctx, const struct db_approval *a), void *ctx) HSMCA_WUR;
/* Inside the current transaction: decides a pending, unexpired approval of a held certificate.
 * approve: approvals -> approved and the certificate held -> pending (to be signed) with its release MAC under
 * release_key (INTENT_KEY_LEN bytes, intent.h; the caller keeps it); else -> rejected and the certificate
 * held -> failed with reason. by must differ from the requester (HSMCA_ERR_AUTH).
 * HSMCA_ERR_NOTFOUND (no such approval), HSMCA_ERR_STATE (already decided or expired: why in db_errmsg),
 * HSMCA_ERR_POLICY (a renewal whose certificate is no longer issued).
 * out_serial gets the certificate's serial. */
int db_approval_decide(struct db *db, int64_t id, bool approve, const char *by, const char *reason,
		       const uint8_t *release_key, char out_serial[DB_SERIAL_HEX_MAX]) HSMCA_WUR;
/* Whether profile was changed or removed (a profile.changed or profile.removed audit row, written at a start
 * that found its definition different: profrec.c) after the certificate.held audit row of serial: then
 * HSMCA_ERR_POLICY (db_errmsg says so), else 0. The held TBS was checked against the profile as it was. */
int db_approval_profile_changed(struct db *db, const char *serial, const char *profile) HSMCA_WUR;
/* Inside the current transaction: pending approvals past their expiry -> expired, their certificates
 * held -> failed; fn is called for each approval (to audit it in the same transaction), also for one whose
 * object was no held certificate (failed false; serial "" if the object cannot be a serial). */
int db_approval_expire(struct db *db, int (*fn)(void *ctx, int64_t id, const char *serial, bool failed),
		       void *ctx) HSMCA_WUR;

#endif
