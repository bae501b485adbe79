/* The profiles file and the issuers' certificates as the database and the audit log record them, at start-up:
 * a profile or issuing CA that is new or changed since the last start is written with its audit row, so that
 * widening a profile (or swapping an issuer certificate) is on the record, not only in a file. */
#ifndef HSMCA_PROFREC_H
#define HSMCA_PROFREC_H

#include <stddef.h>

#include "db.h"
#include "profile.h"

#define PROFREC_ACTOR "config" /* the audit rows' actor (a reserved account name) */

/* A profile's definition: its "key = value" lines in file order, a cfssl_key's value replaced by "sha256:"
 * and the hex SHA-256 of its text (the key itself is never written). defs[i] (malloc'd; profrec_free) is
 * ps->p[i]'s, from text, the bytes ps was parsed from. */
int profrec_definitions(const char *text, size_t len, const struct profiles *ps, char *defs[PROF_MAX],
			char *err) HSMCA_WUR;
void profrec_free(char *defs[PROF_MAX]);

struct app;
/* In one transaction: each profile of a (a->profile_def) and each issuer certificate, written where new or
 * changed, with its audit row (actor PROFREC_ACTOR; profile.created, profile.changed, issuer.created,
 * issuer.changed: the definition or certificate's SHA-256 and the previous one's), and profile.removed for a
 * profile the database has and the file no longer. *out_changes: audit rows written. */
int profrec_record(struct db *db, const struct app *a, unsigned *out_changes) HSMCA_WUR;
#define PROFREC_CHANNEL "hsmca_profiles" /* profrec_record NOTIFYs it when it recorded a change */
/* Compares each profile's definition and its issuer's certificate with the newest record (another frontend
 * may have recorded its own since) and sets a->profile_diverged[i] accordingly, logging each change of it
 * (profile_diverged, error; profile_current). Outside a transaction, on db (the account watch's connection). */
int profrec_check(struct db *db, struct app *a) HSMCA_WUR;

#endif
