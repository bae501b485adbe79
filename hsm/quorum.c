#include "quorum.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "secmem.h"

#define QUORUM_YS_LEN ((size_t)SHAMIR_SHARES_MAX_Q * SEAL_SHARE_MAX)

int quorum_roster_add(struct quorum_roster *r, const char *item, char *why)
{
	const char *colon = strrchr(item, ':');
	char *end = NULL;
	size_t nl = colon ? (size_t)(colon - item) : 0;
	long idx = colon && colon[1] >= '1' && colon[1] <= '9' ? strtol(colon + 1, &end, 10) : 0;
	if (!colon || !seal_name_ok(item, nl) || !end || *end || idx < 1 || idx > 255) {
		snprintf(why, QUORUM_ERR_MAX, "custodians: %s is not NAME:INDEX (a custodian's name, a share index 1..255)",
			 item);
		return HSMCA_ERR_PARSE;
	}
	if (r->n == SHAMIR_SHARES_MAX_Q) {
		snprintf(why, QUORUM_ERR_MAX, "custodians: more than %d", SHAMIR_SHARES_MAX_Q);
		return HSMCA_ERR_PARSE;
	}
	for (unsigned i = 0; i < r->n; i++)
		if ((strlen(r->name[i]) == nl && !memcmp(r->name[i], item, nl)) || r->index[i] == idx) {
			snprintf(why, QUORUM_ERR_MAX, "custodians: %s: the name or the index is listed twice", item);
			return HSMCA_ERR_PARSE;
		}
	memcpy(r->name[r->n], item, nl);
	r->name[r->n][nl] = '\0';
	r->index[r->n++] = (uint8_t)idx;
	return 0;
}

int quorum_init(struct quorum *q, const char *expect_serial, const struct quorum_roster *roster)
{
	memset(q, 0, sizeof(*q));
	q->roster = roster;
	if (expect_serial && strlen(expect_serial) > SEAL_SERIAL_MAX)
		return HSMCA_ERR_CONFIG;
	if (expect_serial)
		strcpy(q->serial, expect_serial);
	q->ys = secmem_alloc(QUORUM_YS_LEN);
	return q->ys ? 0 : HSMCA_ERR_NOMEM;
}

void quorum_free(struct quorum *q)
{
	secmem_free(q->ys, QUORUM_YS_LEN);
	memset(q, 0, sizeof(*q));
}

static int quorum_check(struct quorum *q, const struct seal_info *in, size_t len, char *err)
{
	if (in->m > SHAMIR_SHARES_MAX_Q) { /* no ceremony writes one (CER_MAX_CUSTODIANS); no quorum completes it */
		snprintf(err, QUORUM_ERR_MAX, "share of %s (index %u) is from a %u-of-%u split: more than the %d shares "
			 "a quorum takes", in->custodian, in->index, in->m, in->n, SHAMIR_SHARES_MAX_Q);
		return HSMCA_ERR_QUORUM;
	}
	if (q->serial[0] && strcmp(q->serial, in->serial) != 0) {
		snprintf(err, QUORUM_ERR_MAX, "share of %s (index %u) belongs to token serial %s, not %s", in->custodian,
			 in->index, in->serial, q->serial);
		return HSMCA_ERR_QUORUM;
	}
	if (q->count > 0 && memcmp(q->split_id, in->split_id, SEAL_SPLIT_ID_LEN) != 0) {
		snprintf(err, QUORUM_ERR_MAX, "share of %s (index %u) is from another split of this token's PIN "
			 "(an older or newer ceremony)", in->custodian, in->index);
		return HSMCA_ERR_QUORUM;
	}
	if (q->count > 0 && (q->m != in->m || q->n != in->n || q->share_len != len)) {
		snprintf(err, QUORUM_ERR_MAX, "share of %s (index %u) is from a %u-of-%u split, the others from %u-of-%u",
			 in->custodian, in->index, in->m, in->n, q->m, q->n);
		return HSMCA_ERR_QUORUM;
	}
	for (unsigned i = 0; i < q->count; i++)
		if (q->xs[i] == in->index) {
			snprintf(err, QUORUM_ERR_MAX, "share of %s (index %u) was already presented", in->custodian,
				 in->index);
			return HSMCA_ERR_QUORUM;
		}
	/* the roster binds names to indices: a share sealed again under another custodian's name is refused */
	for (unsigned i = 0; q->roster && q->roster->n && i <= q->roster->n; i++) {
		if (i == q->roster->n) {
			snprintf(err, QUORUM_ERR_MAX, "share of %s (index %u): %s is not among the custodians the signer's "
				 "roster names", in->custodian, in->index, in->custodian);
			return HSMCA_ERR_QUORUM;
		}
		if (strcmp(q->roster->name[i], in->custodian) != 0)
			continue;
		if (q->roster->index[i] != in->index) {
			snprintf(err, QUORUM_ERR_MAX, "share of %s (index %u): the roster gives %s index %u (a share sealed "
				 "again under another custodian's name?)", in->custodian, in->index, in->custodian,
				 q->roster->index[i]);
			return HSMCA_ERR_QUORUM;
		}
		break;
	}
	/* a share's name is sealed under its custodian's passphrase only: one who holds a share can seal it again
	 * under another's name. Two shares under one name left the unseal without its record of who took part
	 * (names must be distinct, pinwire.h), so the audit log never got it */
	for (unsigned i = 0; i < q->count; i++)
		if (!strcmp(q->custodians[i], in->custodian)) {
			snprintf(err, QUORUM_ERR_MAX, "share of %s (index %u): %s already presented a share (index %u); "
				 "each custodian presents one", in->custodian, in->index, in->custodian, q->xs[i]);
			return HSMCA_ERR_QUORUM;
		}
	if (q->count >= SHAMIR_SHARES_MAX_Q || (q->count > 0 && q->count >= q->m)) {
		snprintf(err, QUORUM_ERR_MAX, "quorum already complete");
		return HSMCA_ERR_QUORUM;
	}
	return 0;
}

int quorum_add(struct quorum *q, struct span file, const char *pass, size_t pass_len, char *err)
{
	struct seal_file parsed;
	struct seal_info info;
	uint8_t *share = secmem_alloc(SEAL_SHARE_MAX);
	size_t len = 0;
	int rc;
	err[0] = 0;
	if (!share)
		return HSMCA_ERR_NOMEM;
	if (!seal_file_parse(file, &parsed)) {
		snprintf(err, QUORUM_ERR_MAX, "not a valid share file (bad format, truncated or trailing bytes)");
		rc = HSMCA_ERR_PARSE;
		goto out;
	}
	rc = quorum_check(q, &parsed.info, parsed.ct.len, err);
	if (rc)
		goto out;
	rc = seal_share_open(file, pass, pass_len, NULL, &info, share, &len);
	if (rc) {
		snprintf(err, QUORUM_ERR_MAX, "share of %s (index %u): wrong passphrase or tampered file",
			 parsed.info.custodian, parsed.info.index);
		rc = HSMCA_ERR_AUTH;
		goto out;
	}
	if (q->count == 0) {
		q->m = info.m;
		q->n = info.n;
		q->share_len = len;
		strcpy(q->serial, info.serial);
		strcpy(q->label, info.label);
		memcpy(q->split_id, info.split_id, SEAL_SPLIT_ID_LEN);
	}
	q->xs[q->count] = info.index;
	memcpy(q->ys + (size_t)q->count * len, share, len);
	strcpy(q->custodians[q->count], info.custodian);
	q->count++;
out:
	secmem_free(share, SEAL_SHARE_MAX);
	return rc;
}

bool quorum_ready(const struct quorum *q)
{
	return q->count > 0 && q->count >= q->m;
}

int quorum_secret(struct quorum *q, uint8_t *out, size_t *out_len)
{
	if (!quorum_ready(q))
		return HSMCA_ERR_QUORUM;
	int rc = shamir_combine(q->xs, q->ys, q->count, q->share_len, out);
	if (rc == 0)
		*out_len = q->share_len;
	return rc;
}

void quorum_pin_verifier(const uint8_t split_id[SEAL_SPLIT_ID_LEN], const uint8_t *pin, size_t len,
			 uint8_t out[QUORUM_VERIFIER_LEN])
{
	static const char domain[] = "hsmca-pin-verifier-v1"; /* with its NUL: a verifier is nothing else's hash */
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(ctx, domain, sizeof(domain)) != 1 ||
	    EVP_DigestUpdate(ctx, split_id, SEAL_SPLIT_ID_LEN) != 1 || EVP_DigestUpdate(ctx, pin, len) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		memset(out, 0, QUORUM_VERIFIER_LEN); /* matches no PIN's verifier: the login is refused */
	EVP_MD_CTX_free(ctx);
}

int quorum_login(struct quorum *q, struct p11_module *m, CK_SESSION_HANDLE s, const uint8_t *verifier, char *err)
{
	uint8_t *pin = secmem_alloc(SEAL_SHARE_MAX);
	uint8_t got[QUORUM_VERIFIER_LEN];
	size_t len = 0;
	int rc;
	err[0] = 0;
	if (!pin)
		return HSMCA_ERR_NOMEM;
	rc = quorum_secret(q, pin, &len);
	if (rc) {
		snprintf(err, QUORUM_ERR_MAX, "%u of %u shares presented; %u needed", q->count, q->m, q->m);
		rc = HSMCA_ERR_QUORUM;
		goto out;
	}
	/* shares made up by a custodian rebuild some other PIN: known before the token counts a wrong one */
	if (verifier) {
		quorum_pin_verifier(q->split_id, pin, len, got);
		if (CRYPTO_memcmp(got, verifier, QUORUM_VERIFIER_LEN) != 0) {
			snprintf(err, QUORUM_ERR_MAX, "the shares do not rebuild the PIN the ceremony recorded "
				 "(pin_verifier); no login was attempted");
			rc = HSMCA_ERR_AUTH;
			goto out;
		}
	}
	rc = p11_login(m, s, pin, len);
	if (rc) {
		CK_RV rv = p11_last_rv();
		snprintf(err, QUORUM_ERR_MAX, "token refused the reconstructed PIN: %s", p11_rv_name(rv));
		rc = HSMCA_ERR_P11; /* the token's verdict (p11_last_rv): told apart from a verifier mismatch */
	}
out:
	secmem_free(pin, SEAL_SHARE_MAX);
	return rc;
}
