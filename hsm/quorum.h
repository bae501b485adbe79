/* m-of-n quorum: collects sealed shares (each opened with its custodian's passphrase), checks they belong
 * together (same token, same m/n, distinct indices), and reconstructs the PIN in locked memory only for
 * the moment of C_Login. Owns its locked buffers; quorum_free wipes them. */
#ifndef HSMCA_QUORUM_H
#define HSMCA_QUORUM_H

#include <stdbool.h>

#include "p11.h"
#include "seal.h"
#include "shamir.h"

#define SHAMIR_SHARES_MAX_Q 16 /* most custodians one quorum collects */

#define QUORUM_ERR_MAX 256

/* The custodians of a split and their shares' indices, as the ceremony wrote them (custodians.roster; the
 * signer's `custodians`): a share's name is sealed under its custodian's passphrase only, so one who holds a
 * share can seal it again under another's name. With a roster, a share is taken only under the name the
 * roster gives its index. n 0: no roster. */
struct quorum_roster {
	unsigned n;
	char name[SHAMIR_SHARES_MAX_Q][SEAL_NAME_MAX + 1];
	uint8_t index[SHAMIR_SHARES_MAX_Q];
};

/* "NAME:INDEX" (seal_name_ok, 1..255) added to r: 0, or HSMCA_ERR_PARSE (malformed, a name or an index listed
 * already, more than SHAMIR_SHARES_MAX_Q) with why (QUORUM_ERR_MAX). */
int quorum_roster_add(struct quorum_roster *r, const char *item, char *why) HSMCA_WUR;

struct quorum {
	char serial[SEAL_SERIAL_MAX + 1]; /* expected token serial ("" = take from first share) */
	char label[SEAL_LABEL_MAX + 1];
	uint8_t split_id[SEAL_SPLIT_ID_LEN];
	unsigned m, n, count;
	size_t share_len;
	uint8_t xs[SHAMIR_SHARES_MAX_Q];
	uint8_t *ys; /* locked, SHAMIR_SHARES_MAX_Q * SEAL_SHARE_MAX */
	char custodians[SHAMIR_SHARES_MAX_Q][SEAL_NAME_MAX + 1];
	const struct quorum_roster *roster; /* borrowed; NULL or n 0: names are taken as the shares say */
};

/* roster: NULL, or the custodians every share must match (borrowed: it outlives q). */
int quorum_init(struct quorum *q, const char *expect_serial, const struct quorum_roster *roster) HSMCA_WUR;
void quorum_free(struct quorum *q);
/* Opens one share file. On failure err names the share (custodian and index when readable) and why;
 * the quorum is unchanged. Returns HSMCA_ERR_AUTH (wrong passphrase/tampered), HSMCA_ERR_PARSE (not a share
 * file), HSMCA_ERR_QUORUM (other token, other split, duplicate). */
int quorum_add(struct quorum *q, struct span file, const char *pass, size_t pass_len, char *err) HSMCA_WUR;
bool quorum_ready(const struct quorum *q);
#define QUORUM_VERIFIER_LEN 32
/* The PIN's verifier: SHA-256 of a domain string, the split id and the PIN. The ceremony records it
 * (transcript, pin.verifier next to the shares) and the signer's config carries it (pin_verifier), so that
 * shares that rebuild another PIN (made up by a custodian) are refused before the token sees a wrong PIN: a
 * real HSM counts those and may lock, or wipe, itself. The PIN is 256 random bits: the hash reveals nothing. */
void quorum_pin_verifier(const uint8_t split_id[SEAL_SPLIT_ID_LEN], const uint8_t *pin, size_t len,
			 uint8_t out[QUORUM_VERIFIER_LEN]);
/* Reconstructs the PIN (into locked memory), checks it against verifier (QUORUM_VERIFIER_LEN bytes, or NULL:
 * none recorded), logs in on s, wipes the PIN. Fewer than m shares: HSMCA_ERR_QUORUM. Verifier mismatch
 * (no C_Login): HSMCA_ERR_AUTH. C_Login failed: HSMCA_ERR_P11, p11_last_rv() the token's reason (with a
 * verifier, CKR_PIN_INCORRECT means the verifier is stale: the same shares would cost another attempt). */
int quorum_login(struct quorum *q, struct p11_module *m, CK_SESSION_HANDLE s, const uint8_t *verifier,
		 char *err) HSMCA_WUR;
/* Reconstructs the PIN into out (SEAL_SHARE_MAX bytes, caller's locked memory); for re-splitting. */
int quorum_secret(struct quorum *q, uint8_t *out, size_t *out_len) HSMCA_WUR;

#endif
