#include "rowmac.h"

#include <stdio.h>
#include <string.h>


static void rowmac_u64(uint8_t b[8], int64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
}

int rowmac_account(const uint8_t key[INTENT_KEY_LEN], const struct rowmac_account *a, uint8_t out[INTENT_MAC_LEN])
{
	uint8_t id[8], seq[8], dis = a->disabled ? 1 : 0;
	rowmac_u64(id, a->id);
	rowmac_u64(seq, a->seq);
	const struct intent_part parts[] = { { id, 8, 0 },
					     { a->name, strlen(a->name), 2 },
					     { a->role, strlen(a->role), 2 },
					     { a->pw_hash, strlen(a->pw_hash), 2 },
					     { &dis, 1, 0 },
					     { seq, 8, 0 } };
	return intent_hmac_parts(key, "hsmca-account-v1", parts, sizeof parts / sizeof parts[0], out);
}

int rowmac_apikey(const uint8_t key[INTENT_KEY_LEN], const struct rowmac_apikey *k, uint8_t out[INTENT_MAC_LEN])
{
	uint8_t id[8], acct[8], seq[8], has = k->profile ? 1 : 0, dis = k->disabled ? 1 : 0;
	rowmac_u64(id, k->id);
	rowmac_u64(acct, k->account_id);
	rowmac_u64(seq, k->seq);
	const struct intent_part parts[] = { { id, 8, 0 },
					     { k->key_hash, strlen(k->key_hash), 2 },
					     { acct, 8, 0 },
					     { &has, 1, 0 },
					     { k->profile ? k->profile : "", k->profile ? strlen(k->profile) : 0, 2 },
					     { &dis, 1, 0 },
					     { seq, 8, 0 } };
	return intent_hmac_parts(key, "hsmca-apikey-v1", parts, sizeof parts / sizeof parts[0], out);
}

/* one of the two below: fn computes the row's MAC under a key */
static int rowmac_verify(const uint8_t *key, const uint8_t *also, const char *what,
			 int (*fn)(const uint8_t *key, const void *row, uint8_t *out), const void *row,
			 const uint8_t *mac, bool legacy, char *why, size_t why_len)
{
	int rc;
	if (!mac) {
		if (legacy)
			return 0;
		snprintf(why, why_len, "row-mac: the %s row has no MAC (written outside this appliance's frontend)", what);
		return HSMCA_ERR_AUTH;
	}
	rc = intent_match(key, also, fn, row, mac);
	if (rc == HSMCA_ERR_CRYPTO)
		snprintf(why, why_len, "row-mac: the %s row's MAC could not be computed", what);
	else if (rc == HSMCA_ERR_AUTH)
		snprintf(why, why_len, "row-mac: the %s row's MAC does not match (changed outside this appliance's "
			 "frontend)", what);
	return rc;
}

static int rowmac_account_fn(const uint8_t *key, const void *row, uint8_t *out)
{
	return rowmac_account(key, row, out);
}

static int rowmac_apikey_fn(const uint8_t *key, const void *row, uint8_t *out)
{
	return rowmac_apikey(key, row, out);
}

int rowmac_account_verify(const uint8_t key[INTENT_KEY_LEN], const uint8_t *also, const struct rowmac_account *a,
			  const uint8_t *mac, bool legacy, char *why, size_t why_len)
{
	return rowmac_verify(key, also, "account", rowmac_account_fn, a, mac, legacy, why, why_len);
}

int rowmac_apikey_verify(const uint8_t key[INTENT_KEY_LEN], const uint8_t *also, const struct rowmac_apikey *k,
			 const uint8_t *mac, bool legacy, char *why, size_t why_len)
{
	return rowmac_verify(key, also, "API key", rowmac_apikey_fn, k, mac, legacy, why, why_len);
}
