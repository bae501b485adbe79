/* hsmca-ceremony: key ceremonies under m-of-n custodian control. Shared declarations of its files. */
#ifndef HSMCA_CEREMONY_H
#define HSMCA_CEREMONY_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdio.h>

#include "der.h"
#include "p11.h"
#include "quorum.h"

#define CER_MAX_SHARES SHAMIR_SHARES_MAX_Q
#define CER_MAX_CUSTODIANS 16
#define CER_PATH_MAX 512
#define CER_TEXT_MAX 512
#define CER_PIN_LEN 32
#define CER_SERIAL_LEN 16
#define CER_ROOT_MAX_DAYS (25 * 365 - 1)
#define CER_INT_MAX_DAYS (8 * 365 - 1)
#define CER_OCSP_MAX_DAYS 398
#define CER_CHECKPOINT_MAX_DAYS CER_INT_MAX_DAYS /* the audit checkpoint key's certificate */
#define CER_MAX_PATHLEN 8
#define FRAME_PASS_MAX_CER 1024

/* Everything a ceremony config may say; which keys are allowed depends on the ceremony. */
struct cer_config {
	char token_label[P11_LABEL_MAX + 1];
	unsigned n_custodians;
	char custodians[CER_MAX_CUSTODIANS][SEAL_NAME_MAX + 1];
	unsigned threshold;
	char audit_key_label[P11_LABEL_MAX + 1];
	char key_label[P11_LABEL_MAX + 1];
	enum p11_keytype key_type;
	char subject[CER_TEXT_MAX];
	unsigned validity_days;
	int path_length; /* -1: not set */
	char issuer_cert[CER_PATH_MAX];
	char issuer_key_label[P11_LABEL_MAX + 1];
	char permitted_dns[CER_TEXT_MAX];
	char excluded_dns[CER_TEXT_MAX];
	char policy_oids[CER_TEXT_MAX];
	char crl_url[CER_TEXT_MAX];
	char ocsp_url[CER_TEXT_MAX];
	char ca_issuers_url[CER_TEXT_MAX];
	bool has_pin_verifier; /* pin_verifier (the init's pin.verifier): checked before the ceremony's C_Login */
	bool no_pin_verifier;  /* resplit's "pin_verifier = none": a token from before verifiers, one login tried */
	uint8_t pin_verifier[QUORUM_VERIFIER_LEN];
	uint8_t sha256[32]; /* of the config file bytes */
};

/* CER_CHECKPOINT: the key that signs the audit log's checkpoints (the frontend's checkpoint_key), kept apart
 * from the CA keys; its certificate (CA:FALSE, digitalSignature only) is issued by a CA key of the token. */
/* CER_SIGN_CSR: a subordinate CA certificate (as intermediate) for the key of a PKCS#10 request (--csr), a CA
 * whose key is not on this token */
enum cer_kind { CER_INIT, CER_ROOT, CER_INTERMEDIATE, CER_OCSP, CER_RESPLIT, CER_CHECKPOINT, CER_SIGN_CSR };

/* Command-line state of one ceremony. */
struct cer_args {
	enum cer_kind kind;
	const char *module;
	const char *config;
	const char *out;          /* certificate path, or share directory for init/resplit */
	const char *transcript;   /* transcript path (default: out + ".transcript") */
	const char *passphrase_dir; /* init/resplit: <dir>/<custodian>.pass instead of prompting */
	unsigned n_shares;
	const char *share[CER_MAX_SHARES];
	const char *share_pass[CER_MAX_SHARES];
	unsigned log_n;
	const char *csr; /* sign-csr: the request's file */
};

/* A ceremony's open HSM session and its record. */
struct cer_ctx {
	struct cer_args *args;
	struct cer_config conf;
	struct p11_module mod;
	struct p11_token token;
	CK_SESSION_HANDLE s;
	struct dbuf record; /* transcript body lines */
	time_t started;
};

int cer_config_load(const char *path, enum cer_kind kind, struct cer_config *out) HSMCA_WUR;
/* "/C=US/O=Example/CN=Name" as a Name (*out: the caller frees it); 0, or HSMCA_ERR_CONFIG (nothing printed). */
int cer_subject_parse(const char *text, X509_NAME **out) HSMCA_WUR;
/* The same over len bytes of config text (the file's bytes, or a fuzzer's): 0, or an error with err
 * (CONF_ERR_MAX bytes) saying why. */
int cer_config_parse(const uint8_t *buf, size_t len, enum cer_kind kind, struct cer_config *out, char *err) HSMCA_WUR;
/* Loads the module, finds the token (by the config's token_label or the shares' serial), opens a session
 * and logs in with the presented shares (recording each: custodian_present for a passphrase typed at the
 * terminal, share_presented for one read from a file). */
int cer_login(struct cer_ctx *c, uint8_t *keep_pin, size_t *keep_len) HSMCA_WUR;
/* keep_pin (SEAL_SHARE_MAX bytes of locked memory, may be NULL) receives the reconstructed PIN (resplit). */
/* Appends "key: value\n" to the transcript record. */
void cer_record(struct cer_ctx *c, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cer_record_hex(struct cer_ctx *c, const char *key, const uint8_t *b, size_t len);
/* Writes the transcript and its signature (audit key on the token); never overwrites. */
int cer_transcript_finish(struct cer_ctx *c) HSMCA_WUR;
/* Before anything irreversible (a key generated, a token initialised, a PIN changed): the transcript and its
 * .sig must not exist, and (key_on_token) the audit key must be on the token and usable, so that
 * cer_transcript_finish cannot fail for those reasons after the fact. 0 or the error (printed). */
int cer_transcript_ready(struct cer_ctx *c, bool key_on_token) HSMCA_WUR;
/* A key protected as a CA key (or the audit key) must be (p11_key_prot_refusal): one found by label may not
 * have been made by a ceremony (pkcs11-tool's defaults can decrypt and unwrap, an imported key may be
 * extractable), and the root's is never checked by the signer, which does not load it. 0, or HSMCA_ERR_AUTH
 * said on stderr (certgen.c). */
int cer_key_fit(struct cer_ctx *c, CK_OBJECT_HANDLE key, const char *label) HSMCA_WUR;
int cer_verify_main(int argc, char **argv);
/* Reads a file of at most max bytes into buf, which holds max + 1 (one more is read to see a larger file):
 * HSMCA_ERR_NOTFOUND (cannot open), HSMCA_ERR_IO (cannot read), HSMCA_ERR_LIMIT (larger). */
int cer_read_small(const char *path, uint8_t *buf, size_t max, size_t *out_len) HSMCA_WUR;
/* Before anything irreversible: nothing is at path (not even a dangling symlink, which O_EXCL refuses) and
 * its directory exists and is writable, so that cer_write_new(path) cannot fail for those reasons later.
 * 0, HSMCA_ERR_EXISTS or HSMCA_ERR_IO (printed, naming what). */
int cer_path_free(const char *path, const char *what) HSMCA_WUR;
/* Writes bytes to path with O_EXCL (never overwrites); mode 0600 or 0644. */
int cer_write_new(const char *path, const void *data, size_t len, int mode) HSMCA_WUR;
/* Reads a passphrase from <dir>/<name>.pass or from the terminal (twice when confirm). Locked memory. */
int cer_passphrase(const char *dir, const char *name, const char *file, bool confirm, char *out, size_t max,
		   size_t *out_len) HSMCA_WUR;

int cer_init_run(struct cer_ctx *c) HSMCA_WUR;
int cer_resplit_run(struct cer_ctx *c) HSMCA_WUR;
int cer_cert_run(struct cer_ctx *c) HSMCA_WUR;
int cer_csr_run(struct cer_ctx *c) HSMCA_WUR;

#endif
