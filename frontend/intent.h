/* intent: the frontend's MAC over each certificate intent it stores, so that only this appliance's frontend can
 * put a TBS in the database that the recovery pass or an approval will later send to the signer.
 *
 * Why: the recovery pass signs the stored TBS of every pending row, and an approval signs a held row's. A row
 * written by anyone else who can write the database (a leaked hsmca_frontend password, a DBA) would otherwise
 * be signed as it stands: any subject and names the signer's pinned profile allows, past the frontend's policy
 * (name rules, the accounts allowed on a profile, approvals). Each intent carries
 *   HMAC-SHA-256(intent key, "hsmca-intent-v1" 0x00 || u16 len || serial || u16 len || issuer label ||
 *                u32 len || TBS)   (lengths big-endian, the serial in lowercase hex)
 * in certificates.intent_mac (schema 013). The key lives in a file only the frontend reads (intent_key_file),
 * never in the database. A row without a MAC is signed only if schema 013 found it pending or held (listed in
 * legacy_intents with its TBS's SHA-256). A request that needs an approval is stored (held) with the same MAC
 * under another domain, "hsmca-intent-held-v1", so that it stays a held request's whatever the database says.
 * An approval adds a second MAC (schema 014):
 *   HMAC-SHA-256(intent key, "hsmca-release-v1" 0x00 || u16 len || serial)
 * in certificates.release_mac, written with held -> pending by the frontend after its own checks of the
 * approver; a row stored held, or that has an approval (certificate.issue; for rows stored before the held
 * domain), is signed only with it, so a held row released
 * in SQL (the database role can write approval rows too) is failed. Rows schema 014 found pending with an
 * approval are listed in legacy_releases and need none. Account and API key rows carry MACs under the same
 * key as well (rowmac.h, schema 015).
 *
 * The key file: 64 hex digits (32 bytes, e.g. `openssl rand -hex 32`), then nothing or one line end; it must be
 * a regular file owned by root or by the reading process's user, that neither group nor others may read or
 * write (chmod 600). All frontends of one database share the key; a lost key makes stored pending and held
 * rows unsignable (they are failed, never signed unchecked). To replace it, give the new key with the old one as intent_key_accept_file until no pending or
 * held row of the old one is left (README: "intent_key_file"). Nothing here logs key bytes; the caller owns
 * every buffer and wipes the key. */
#ifndef HSMCA_INTENT_H
#define HSMCA_INTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define INTENT_KEY_LEN 32
#define INTENT_MAC_LEN 32
#define INTENT_KEY_READ_MAX 67 /* 64 digits, "\r\n", and one byte to see what follows */

/* Parses a key file's n bytes into key. 0; HSMCA_ERR_PARSE if they are not exactly 64 hex digits and at most
 * one line end (or n > INTENT_KEY_READ_MAX); HSMCA_ERR_AUTH for an all-zero key. On an error key is all zero. */
int intent_key_parse(const uint8_t *buf, size_t n, uint8_t key[INTENT_KEY_LEN]) HSMCA_WUR;

/* Reads path (a regular file owned by root or the effective user, mode without group or other bits) and
 * parses it; err (CONF_ERR_MAX) says why not ("WHAT PATH: why"), without key bytes. HSMCA_ERR_IO (cannot
 * read), HSMCA_ERR_CONFIG (not a regular file, another owner, or group/other access), or intent_key_parse's
 * errors. The raw bytes are wiped before it returns. */
int intent_key_read(const char *what, const char *path, uint8_t key[INTENT_KEY_LEN], char *err) HSMCA_WUR;

/* The MAC of an intent (serial: hex, either case; issuer: the signer key label). 0, or HSMCA_ERR_CRYPTO. */
int intent_mac(const uint8_t key[INTENT_KEY_LEN], const char *serial_hex, const char *issuer, const uint8_t *tbs,
	       size_t tbs_len, uint8_t out[INTENT_MAC_LEN]) HSMCA_WUR;

/* The MAC of an intent stored held (waiting for an approval): as intent_mac, under the held domain. */
int intent_mac_held(const uint8_t key[INTENT_KEY_LEN], const char *serial_hex, const char *issuer,
		    const uint8_t *tbs, size_t tbs_len, uint8_t out[INTENT_MAC_LEN]) HSMCA_WUR;

/* Whether a stored intent may be signed: 0 if mac (INTENT_MAC_LEN bytes) is the intent's MAC under key or
 * under also (NULL: none; a second key accepted during a rotation, intent_key_accept_file), compared in
 * constant time, or if mac is NULL and legacy is true (listed by schema 013); HSMCA_ERR_AUTH otherwise
 * (why, at least 96 bytes, says which); HSMCA_ERR_CRYPTO if the MAC could not be computed (nothing is then
 * said of the row: it stays as it is). */
int intent_verify(const uint8_t key[INTENT_KEY_LEN], const uint8_t *also, const char *serial_hex, const char *issuer,
		  const uint8_t *tbs, size_t tbs_len, const uint8_t *mac, bool legacy, char *why,
		  size_t why_len) HSMCA_WUR;

/* One field of a MAC's input: len bytes at p, after a big-endian length of width bytes (2 or 4; 0: none). */
struct intent_part {
	const void *p;
	size_t len;
	int width;
};
/* HMAC-SHA-256(key, domain with its NUL || each part in order): the MACs of this file and of rowmac.h.
 * 0; HSMCA_ERR_LIMIT if a length does not fit its width; HSMCA_ERR_CRYPTO. */
/* An all-zero key (INTENT_KEY_LEN bytes; also a key derived from one, app.h renew_key) is no key:
 * intent_key_parse refuses one, and app_wipe zeroes the keys as the frontend stops while its threads may still
 * run. Read through volatile, so a wipe in another thread is seen. */
bool intent_key_wiped(const uint8_t key[INTENT_KEY_LEN]);
int intent_hmac_parts(const uint8_t key[INTENT_KEY_LEN], const char *domain, const struct intent_part *parts,
		      size_t n, uint8_t out[INTENT_MAC_LEN]) HSMCA_WUR;

/* 0 if mac (INTENT_MAC_LEN bytes) is fn's MAC of ctx under key or under also (NULL: none), compared in
 * constant time; HSMCA_ERR_AUTH if under neither; HSMCA_ERR_CRYPTO if fn failed. */
int intent_match(const uint8_t key[INTENT_KEY_LEN], const uint8_t *also,
		 int (*fn)(const uint8_t *key, const void *ctx, uint8_t *out), const void *ctx,
		 const uint8_t *mac) HSMCA_WUR;

/* 0 if mac (NULL: none) is the intent's held-domain MAC under key or also; HSMCA_ERR_AUTH if not;
 * HSMCA_ERR_CRYPTO (why says so). Such an intent is INTENT_GATED whatever its approval rows. */
int intent_verify_held(const uint8_t key[INTENT_KEY_LEN], const uint8_t *also, const char *serial_hex,
		       const char *issuer, const uint8_t *tbs, size_t tbs_len, const uint8_t *mac, char *why,
		       size_t why_len) HSMCA_WUR;

/* Whether a stored intent needs an approval's release MAC (db.h's struct db_intent says which). */
enum intent_gate {
	INTENT_UNGATED = 0, /* no approval row: an ordinary request */
	INTENT_GATED,       /* it has an approval: signed only with a release MAC */
	INTENT_GATE_LEGACY, /* it has one and schema 014 found it pending (legacy_releases): no MAC needed */
};

/* The MAC that releases a held intent after its approval (above). 0, or HSMCA_ERR_CRYPTO. */
int intent_release_mac(const uint8_t key[INTENT_KEY_LEN], const char *serial_hex,
		       uint8_t out[INTENT_MAC_LEN]) HSMCA_WUR;

/* Whether an intent's release lets it be signed: 0 unless gate is INTENT_GATED; then 0 if mac (NULL: none) is
 * its release MAC under key or also, compared in constant time, HSMCA_ERR_AUTH otherwise (why, at least 96
 * bytes, says which), HSMCA_ERR_CRYPTO if it could not be computed. */
int intent_release_verify(const uint8_t key[INTENT_KEY_LEN], const uint8_t *also, const char *serial_hex,
			  enum intent_gate gate, const uint8_t *mac, char *why, size_t why_len) HSMCA_WUR;

#endif
