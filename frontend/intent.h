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
 * legacy_intents with its TBS's SHA-256). The MAC protects what is signed, not whether a held request was
 * approved: the database role can write approval rows (and accounts) as well.
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

/* Whether a stored intent may be signed: 0 if mac (INTENT_MAC_LEN bytes) is the intent's MAC under key or
 * under also (NULL: none; a second key accepted during a rotation, intent_key_accept_file), compared in
 * constant time, or if mac is NULL and legacy is true (listed by schema 013); HSMCA_ERR_AUTH otherwise
 * (why, at least 96 bytes, says which); HSMCA_ERR_CRYPTO if the MAC could not be computed (nothing is then
 * said of the row: it stays as it is). */
int intent_verify(const uint8_t key[INTENT_KEY_LEN], const uint8_t *also, const char *serial_hex, const char *issuer,
		  const uint8_t *tbs, size_t tbs_len, const uint8_t *mac, bool legacy, char *why,
		  size_t why_len) HSMCA_WUR;

#endif
