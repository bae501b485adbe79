/* rowmac: the frontend's MAC over each account and API key row it writes (schema 015), so that a row changed
 * by anyone else who can write the database (the hsmca_frontend role's password, a DBA) gives no authority:
 * an administrator's role, a password hash of a known password, a re-enabled account or an API key written
 * in SQL is refused, and the login fails as for an unknown account.
 *
 *   account: HMAC-SHA-256(intent key, "hsmca-account-v1" 0x00 || u64 id || u16 len || name || u16 len || role ||
 *            u16 len || pw_hash || u8 disabled || u64 mac_seq)
 *   API key: HMAC-SHA-256(intent key, "hsmca-apikey-v1" 0x00 || u64 id || u16 len || key_hash || u64 account_id ||
 *            u8 has_profile || u16 len || profile || u8 disabled || u64 mac_seq)
 * (integers big-endian; disabled and has_profile 0 or 1; a NULL profile is has_profile 0 and length 0.)
 * mac_seq is the row's counter, which the database sets (0 on INSERT, +1 on every UPDATE), so fields and MAC
 * written back from an older version of the row do not check. The key is intent.h's (intent_key_file);
 * nothing here logs key bytes, and the caller owns every buffer. */
#ifndef HSMCA_ROWMAC_H
#define HSMCA_ROWMAC_H

#include <stdbool.h>
#include <stdint.h>

#include "intent.h"

struct rowmac_account {
	int64_t id;
	const char *name, *role, *pw_hash;
	bool disabled;
	int64_t seq;
};

struct rowmac_apikey {
	int64_t id;
	const char *key_hash;
	int64_t account_id;
	const char *profile; /* NULL: any profile of the account */
	bool disabled;
	int64_t seq;
};

/* The MAC of a row as it will stand (seq: the value the database will give it). 0; HSMCA_ERR_LIMIT (a field
 * over 65,535 bytes); HSMCA_ERR_CRYPTO. */
int rowmac_account(const uint8_t key[INTENT_KEY_LEN], const struct rowmac_account *a,
		   uint8_t out[INTENT_MAC_LEN]) HSMCA_WUR;
int rowmac_apikey(const uint8_t key[INTENT_KEY_LEN], const struct rowmac_apikey *k,
		  uint8_t out[INTENT_MAC_LEN]) HSMCA_WUR;

/* Whether a stored row counts: 0 if mac (NULL: none) is its MAC under key or also (NULL: no second key),
 * compared in constant time, or if mac is NULL and legacy (listed by schema 015 with these fields, never
 * updated since); HSMCA_ERR_AUTH if not (why, at least 96 bytes, says which); HSMCA_ERR_CRYPTO. */
int rowmac_account_verify(const uint8_t key[INTENT_KEY_LEN], const uint8_t *also, const struct rowmac_account *a,
			  const uint8_t *mac, bool legacy, char *why, size_t why_len) HSMCA_WUR;
int rowmac_apikey_verify(const uint8_t key[INTENT_KEY_LEN], const uint8_t *also, const struct rowmac_apikey *k,
			 const uint8_t *mac, bool legacy, char *why, size_t why_len) HSMCA_WUR;

#endif
