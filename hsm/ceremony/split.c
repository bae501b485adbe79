/* Token initialisation and PIN re-splitting: the PIN is random, split m-of-n, and each share is sealed to
 * its custodian. Nobody sees the whole PIN; it lives in locked memory only during the ceremony. */
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ceremony.h"
#include "secmem.h"
#include "shamir.h"

/* Shamir coefficients: the HSM's RNG XOR OpenSSL's, so neither alone decides them. */
static int cer_rng(void *ctx, uint8_t *buf, size_t len)
{
	struct cer_ctx *c = ctx;
	uint8_t mix[SHAMIR_SHARES_MAX];
	int rc = 0;
	if (len > sizeof(mix))
		return HSMCA_ERR_LIMIT;
	if (RAND_priv_bytes(buf, (int)len) != 1)
		return HSMCA_ERR_CRYPTO;
	if (c->s != CK_INVALID_HANDLE) {
		rc = p11_random(&c->mod, c->s, mix, len);
		for (size_t i = 0; !rc && i < len; i++)
			buf[i] ^= mix[i];
	}
	explicit_bzero(mix, sizeof(mix));
	return rc;
}

/* Removes the first count shares this run wrote, and its pin.verifier if it wrote one (a verifier already in
 * the directory, e.g. an older split's, is not this run's to remove). */
static void cer_remove_shares(struct cer_ctx *c, unsigned count, bool verifier)
{
	char path[CER_TEXT_MAX + 16];
	for (unsigned i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/%s.share", c->args->out, c->conf.custodians[i]);
		unlink(path);
	}
	if (verifier) {
		snprintf(path, sizeof(path), "%s/pin.verifier", c->args->out);
		unlink(path);
		snprintf(path, sizeof(path), "%s/custodians.roster", c->args->out);
		unlink(path);
	}
}

/* The custodians and their shares' indices, "NAME:1, NAME:2, ...", next to the shares (custodians.roster) and
 * on the transcript: the signer's `custodians`, which takes a share only under the name its index was
 * written for (a custodian can seal their share again under another's name). */
static int cer_write_roster(struct cer_ctx *c)
{
	char line[CER_MAX_CUSTODIANS * (SEAL_NAME_MAX + 8) + 2], path[CER_TEXT_MAX + 24];
	size_t n = 0;
	for (unsigned i = 0; i < c->conf.n_custodians; i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s:%u", i ? ", " : "", c->conf.custodians[i], i + 1);
	snprintf(path, sizeof(path), "%s/custodians.roster", c->args->out);
	printf("custodians = %s  (for the signer's [signer] section; also in %s)\n", line, path);
	fflush(stdout);
	cer_record(c, "custodians", "%s", line);
	line[n++] = '\n';
	return cer_write_new(path, line, n, 0644);
}

/* The PIN's verifier (quorum_pin_verifier) next to the shares (pin.verifier, hex) and on the transcript: the
 * signer's pin_verifier, which refuses shares that rebuild another PIN before the token sees it. */
static int cer_write_verifier(struct cer_ctx *c, const uint8_t *split_id, const uint8_t *pin, size_t pin_len)
{
	uint8_t v[QUORUM_VERIFIER_LEN];
	char hex[2 * QUORUM_VERIFIER_LEN + 2], path[CER_TEXT_MAX + 16];
	quorum_pin_verifier(split_id, pin, pin_len, v);
	span_hex(v, sizeof(v), hex);
	hex[2 * sizeof(v)] = '\n';
	hex[2 * sizeof(v) + 1] = 0;
	snprintf(path, sizeof(path), "%s/pin.verifier", c->args->out);
	/* said first: should the file not be written, this line is the only copy (every later ceremony needs it) */
	printf("pin_verifier = %.*s  (for the signer's [signer] section and every later ceremony's config; "
	       "also in %s)\n", (int)(2 * sizeof(v)), hex, path);
	fflush(stdout);
	int rc = cer_write_new(path, hex, 2 * sizeof(v) + 1, 0644);
	if (rc)
		return rc;
	cer_record_hex(c, "pin_verifier", v, sizeof(v));
	return 0;
}

/* Reads share i back from path: the file must hold exactly the sealed bytes and open with its passphrase to
 * the share that was split (want); the first m go into q instead, which must then rebuild the PIN. scratch:
 * SEAL_SHARE_MAX bytes of locked memory. */
static int cer_reread_share(struct cer_ctx *c, unsigned i, const char *path, const struct dbuf *sealed, const char *pw,
			    size_t pl, struct quorum *q, const uint8_t *want, size_t want_len, uint8_t *scratch)
{
	uint8_t disk[SEAL_FILE_MAX + 1];
	char err[QUORUM_ERR_MAX] = "";
	struct seal_info info;
	size_t dl = 0, sl = 0;
	int rc = cer_read_small(path, disk, SEAL_FILE_MAX, &dl);
	if (!rc && (dl != sealed->len || memcmp(disk, sealed->data, dl) != 0)) {
		snprintf(err, sizeof(err), "the file does not hold the bytes written");
		rc = HSMCA_ERR_IO;
	} else if (!rc && i < c->conf.threshold) {
		rc = quorum_add(q, span_make(disk, dl), pw, pl, err);
	} else if (!rc) {
		rc = seal_share_open(span_make(disk, dl), pw, pl, c->token.serial, &info, scratch, &sl);
		if (!rc && (sl != want_len || memcmp(scratch, want, want_len) != 0 || info.index != i + 1)) {
			snprintf(err, sizeof(err), "it opens to another share");
			rc = HSMCA_ERR_CRYPTO;
		}
		explicit_bzero(scratch, SEAL_SHARE_MAX);
	}
	if (rc)
		fprintf(stderr, "ceremony: re-reading the share of %s from %s failed: %s\n", c->conf.custodians[i], path,
			err[0] ? err : hsmca_strerror(rc));
	else
		cer_record(c, "share_verified", "%s (share %u) read back from %s and opened", c->conf.custodians[i],
			   i + 1, path);
	return rc;
}

#define CER_PW_SLOT (FRAME_PASS_MAX_CER + 1)

/* the custodians' new passphrases (cer_pws_collect) */
struct cer_pws {
	char *buf; /* n slots of CER_PW_SLOT bytes, locked memory */
	size_t len[CER_MAX_CUSTODIANS];
	unsigned n;
};

/* Every custodian's passphrase for a new share, asked for (and confirmed) before the token is changed: a
 * mistyped or short one ends the ceremony while it can still be run again (after C_InitToken it could not:
 * the SO PIN is discarded). Held in locked memory, CER_PW_SLOT bytes each; cer_pws_free wipes them. */
static int cer_pws_collect(struct cer_ctx *c, struct cer_pws *p)
{
	p->buf = secmem_alloc((size_t)c->conf.n_custodians * CER_PW_SLOT);
	p->n = c->conf.n_custodians;
	if (!p->buf)
		return HSMCA_ERR_NOMEM;
	for (unsigned i = 0; i < p->n; i++) {
		int rc = cer_passphrase(c->args->passphrase_dir, c->conf.custodians[i], NULL, true,
					p->buf + (size_t)i * CER_PW_SLOT, FRAME_PASS_MAX_CER, &p->len[i]);
		if (rc)
			return rc;
	}
	return 0;
}

static void cer_pws_free(struct cer_pws *p)
{
	secmem_free(p->buf, (size_t)p->n * CER_PW_SLOT);
	memset(p, 0, sizeof(*p));
}

/* --out is a directory that holds none of the files this ceremony writes there (each custodian's share,
 * pin.verifier, and for init audit.pem), checked before the token is changed; each path is within bounds
 * (cer_parse_args keeps --out short enough). */
static int cer_outputs_ready(struct cer_ctx *c, bool audit)
{
	struct stat st;
	char path[CER_PATH_MAX];
	unsigned n = c->conf.n_custodians;
	if (stat(c->args->out, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "ceremony: --out %s is not a directory\n", c->args->out);
		return HSMCA_ERR_NOTFOUND;
	}
	for (unsigned i = 0; i < n + (audit ? 2 : 1); i++) {
		int len = snprintf(path, sizeof(path), "%s/%s%s", c->args->out, i < n ? c->conf.custodians[i]
							   : i == n ? "pin" : "audit",
				   i < n ? ".share" : i == n ? ".verifier" : ".pem");
		if (len < 0 || (size_t)len >= sizeof(path)) {
			fprintf(stderr, "ceremony: --out %s: a path under it is too long\n", c->args->out);
			return HSMCA_ERR_LIMIT;
		}
		int rc = cer_path_free(path, i < n ? "share" : i == n ? "verifier" : "audit key");
		if (rc)
			return rc;
	}
	snprintf(path, sizeof(path), "%s/custodians.roster", c->args->out);
	return cer_path_free(path, "roster");
}

/* Splits pin for the config's custodians, seals and writes <dir>/<name>.share, reads every share back from
 * disk and opens it (the first m reconstruct the PIN), and writes its verifier. On failure removes what it
 * wrote, unless keep (init: the token already has this PIN, and the shares written are all that opens it);
 * *written_out: the share files left on disk. */
static int cer_write_shares(struct cer_ctx *c, const uint8_t *pin, size_t pin_len, const struct cer_pws *pws,
			    bool keep, unsigned *written_out)
{
	const struct cer_config *cf = &c->conf;
	size_t shares_len = (size_t)cf->n_custodians * pin_len;
	uint8_t *shares = secmem_alloc(shares_len), *check = secmem_alloc(SEAL_SHARE_MAX);
	char path[CER_TEXT_MAX + 16];
	unsigned written = 0;
	struct quorum q;
	int rc = shares && check ? quorum_init(&q, c->token.serial, NULL) : HSMCA_ERR_NOMEM;
	if (rc)
		goto out_free;
	uint8_t split_id[SEAL_SPLIT_ID_LEN];
	if ((rc = shamir_split(pin, pin_len, cf->threshold, cf->n_custodians, cer_rng, c, shares)) ||
	    (rc = cer_rng(c, split_id, sizeof(split_id))))
		goto out;
	cer_record_hex(c, "split_id", split_id, sizeof(split_id));
	for (unsigned i = 0; i < cf->n_custodians; i++) {
		struct seal_info info = { .index = (uint8_t)(i + 1), .m = (uint8_t)cf->threshold,
					  .n = (uint8_t)cf->n_custodians, .log_n = (uint8_t)c->args->log_n };
		struct dbuf file;
		const char *pw = pws->buf + (size_t)i * CER_PW_SLOT;
		size_t pl = pws->len[i];
		memcpy(info.split_id, split_id, sizeof(split_id));
		strcpy(info.serial, c->token.serial);
		strcpy(info.label, c->token.label);
		strcpy(info.custodian, cf->custodians[i]);
		snprintf(path, sizeof(path), "%s/%s.share", c->args->out, cf->custodians[i]);
		dbuf_init(&file);
		rc = seal_share_write(&info, shares + (size_t)i * pin_len, pin_len, pw, pl, &file);
		if (!rc && (rc = cer_write_new(path, file.data, file.len, 0600)) == 0)
			written++; /* on disk: removed again if anything after this fails, its own re-reading too */
		if (!rc)
			rc = cer_reread_share(c, i, path, &file, pw, pl, &q, shares + (size_t)i * pin_len, pin_len, check);
		dbuf_free(&file);
		if (rc)
			goto out;
		cer_record(c, "share_written", "%s (share %u of %u-of-%u) %s", cf->custodians[i], i + 1, cf->threshold,
			   cf->n_custodians, path);
	}
	size_t cl = 0;
	if ((rc = quorum_secret(&q, check, &cl)) || cl != pin_len || memcmp(check, pin, pin_len) != 0) {
		fprintf(stderr, "ceremony: the written shares do not reconstruct the PIN\n");
		rc = HSMCA_ERR_CRYPTO;
		goto out;
	}
	if ((rc = cer_write_verifier(c, split_id, pin, pin_len)) == 0)
		rc = cer_write_roster(c); /* printed first: should the file not be written, that line is its copy */
out:
	if (rc && !keep) {
		cer_remove_shares(c, written, false); /* a verifier that failed was not written (O_EXCL) */
		written = 0;
	}
	quorum_free(&q);
out_free:
	secmem_free(shares, shares_len);
	secmem_free(check, SEAL_SHARE_MAX);
	*written_out = written;
	return rc;
}

static int cer_audit_key(struct cer_ctx *c)
{
	uint8_t id[P11_KEY_ID_LEN];
	CK_OBJECT_HANDLE priv, pub;
	EVP_PKEY *pk = NULL;
	char path[CER_PATH_MAX + 16];
	unsigned char *der = NULL;
	int rc, len;
	if ((rc = p11_key_generate(&c->mod, c->s, P11_KEY_P256, c->conf.audit_key_label, id, &priv, &pub)) ||
	    (rc = p11_pubkey_get(&c->mod, c->s, pub, &pk)))
		return rc;
	BIO *b = BIO_new(BIO_s_mem());
	char *pem;
	long pem_len;
	snprintf(path, sizeof(path), "%s/audit.pem", c->args->out);
	if (!b || !PEM_write_bio_PUBKEY(b, pk) || (pem_len = BIO_get_mem_data(b, &pem)) <= 0)
		rc = HSMCA_ERR_CRYPTO;
	else
		rc = cer_write_new(path, pem, (size_t)pem_len, 0644);
	len = i2d_PUBKEY(pk, &der);
	if (!rc && len > 0) {
		uint8_t md[32];
		EVP_Digest(der, (size_t)len, md, NULL, EVP_sha256(), NULL);
		cer_record(c, "audit_key_label", "%s", c->conf.audit_key_label);
		cer_record_hex(c, "audit_key_id", id, sizeof(id));
		cer_record_hex(c, "audit_public_key_sha256", md, sizeof(md));
	}
	OPENSSL_free(der);
	BIO_free(b);
	EVP_PKEY_free(pk);
	return rc;
}

int cer_init_run(struct cer_ctx *c)
{
	uint8_t *pin = secmem_alloc(CER_PIN_LEN), *so = secmem_alloc(CER_PIN_LEN);
	struct cer_pws pws = { 0 };
	int rc = pin && so ? 0 : HSMCA_ERR_NOMEM;
	bool initialised = false;
	unsigned written = 0;
	/* everything that can fail for want of a file, a directory or a custodian's passphrase, before the token
	 * is initialised: C_InitToken cannot be undone without the SO PIN, which is discarded */
	if (rc || (rc = cer_outputs_ready(c, true)) ||
	    (rc = cer_transcript_ready(c, false)) || /* the audit key is made below */
	    (rc = cer_pws_collect(c, &pws)))
		goto out;
	if ((rc = p11_module_load(c->args->module, &c->mod))) {
		fprintf(stderr, "ceremony: cannot load module %s\n", c->args->module);
		goto out;
	}
	if (p11_token_find(&c->mod, c->conf.token_label, NULL, &c->token) != HSMCA_ERR_NOTFOUND) {
		fprintf(stderr, "ceremony: a token labelled %s already exists\n", c->conf.token_label);
		rc = HSMCA_ERR_EXISTS;
		goto out;
	}
	if ((rc = p11_token_find_free(&c->mod, &c->token))) {
		fprintf(stderr, "ceremony: no uninitialised token slot\n");
		goto out;
	}
	/* The SO PIN is random and discarded: the token can never be PIN-reset, nor initialised again through
	 * PKCS#11 (that needs the SO PIN); only the token's own reset (softhsm2-util --delete-token, an HSM's
	 * factory reset) takes it back. So from C_InitToken on, a failure keeps what it wrote and says so. */
	if (RAND_priv_bytes(pin, CER_PIN_LEN) != 1 || RAND_priv_bytes(so, CER_PIN_LEN) != 1) {
		rc = HSMCA_ERR_CRYPTO;
		goto out;
	}
	if ((rc = p11_token_init(&c->mod, &c->token, so, CER_PIN_LEN, pin, CER_PIN_LEN, c->conf.token_label))) {
		fprintf(stderr, "ceremony: token initialisation failed: %s\n", p11_rv_name(p11_last_rv()));
		/* C_InitToken itself may have succeeded (C_InitPIN failed): the label says */
		initialised = p11_token_find(&c->mod, c->conf.token_label, NULL, &c->token) == 0;
		goto out;
	}
	initialised = true;
	if ((rc = p11_session_open(&c->mod, c->token.slot, true, &c->s)) ||
	    (rc = p11_login(&c->mod, c->s, pin, CER_PIN_LEN)))
		goto out;
	cer_record(c, "token_label", "%s", c->token.label);
	cer_record(c, "token_serial", "%s", c->token.serial);
	/* present: a passphrase typed at the terminal; one read from --passphrase-dir proves no one's presence */
	for (unsigned i = 0; i < c->conf.n_custodians; i++)
		cer_record(c, c->args->passphrase_dir ? "share_sealed_for" : "custodian_present", "%s (passphrase %s)",
			   c->conf.custodians[i], c->args->passphrase_dir ? "from a file" : "typed");
	if ((rc = cer_audit_key(c)) || (rc = cer_write_shares(c, pin, CER_PIN_LEN, &pws, true, &written)))
		goto out;
	initialised = false; /* done: said below */
	rc = cer_transcript_finish(c);
	if (!rc)
		printf("token %s (serial %s) initialised; %u-of-%u shares in %s\n", c->token.label, c->token.serial,
		       c->conf.threshold, c->conf.n_custodians, c->args->out);
	else /* what "failed" alone would hide: the token is in use now, by these shares only */
		fprintf(stderr, "ceremony: token %s is initialised and its shares are in %s, but the transcript was not "
				"written: keep the shares, they are the only way into the token\n",
			c->token.label, c->args->out);
out:
	if (rc && initialised) /* "failed" alone would hide that the token is in use now, by these shares only */
		fprintf(stderr, "ceremony: token %s is initialised all the same, and its PIN is gone but for the %u share "
				"file(s) written to %s (%u of them open it; nothing was removed). %s\n",
			c->conf.token_label, written, c->args->out, c->conf.threshold,
			written >= c->conf.threshold
				? "If they open it (hsmca-ceremony root with them), keep them; else reset the token"
				: "The token cannot be opened: reset it (softhsm2-util --delete-token --token LABEL, or the "
				  "HSM's own reset) and run init again into an empty --out");
	cer_pws_free(&pws);
	secmem_free(pin, CER_PIN_LEN);
	secmem_free(so, CER_PIN_LEN);
	return rc;
}

int cer_resplit_run(struct cer_ctx *c)
{
	uint8_t *old = secmem_alloc(SEAL_SHARE_MAX), *pin = secmem_alloc(CER_PIN_LEN);
	size_t old_len = 0;
	unsigned written = 0; /* removed again on failure: the old PIN is still the token's */
	struct cer_pws pws = { 0 };
	int rc = old && pin ? cer_login(c, old, &old_len) : HSMCA_ERR_NOMEM;
	if (rc || (rc = cer_outputs_ready(c, false)) || (rc = cer_transcript_ready(c, true)) ||
	    (rc = cer_pws_collect(c, &pws)))
		goto out;
	if ((rc = cer_rng(c, pin, CER_PIN_LEN)) || (rc = cer_write_shares(c, pin, CER_PIN_LEN, &pws, false, &written)))
		goto out;
	/* The new shares are on disk and proven; only now does the token's PIN change. */
	if ((rc = p11_set_pin(&c->mod, c->s, old, old_len, pin, CER_PIN_LEN))) {
		fprintf(stderr, "ceremony: C_SetPIN failed (%s); the old shares stay valid, the new ones are removed\n",
			p11_rv_name(p11_last_rv()));
		cer_remove_shares(c, c->conf.n_custodians, true);
		goto out;
	}
	cer_record(c, "new_split", "%u-of-%u", c->conf.threshold, c->conf.n_custodians);
	rc = cer_transcript_finish(c);
	if (!rc)
		printf("PIN re-split %u-of-%u; new shares in %s; the old shares no longer open the token\n",
		       c->conf.threshold, c->conf.n_custodians, c->args->out);
	else
		fprintf(stderr, "ceremony: the PIN has changed, but the transcript was not written: the new shares in %s "
				"are the only ones that open the token (the old ones no longer do)\n", c->args->out);
out:
	cer_pws_free(&pws);
	secmem_free(old, SEAL_SHARE_MAX);
	secmem_free(pin, CER_PIN_LEN);
	return rc;
}
