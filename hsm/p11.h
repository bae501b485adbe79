/* Raw PKCS#11 access: any module by path. Only this file (and p11_*.c) includes the PKCS#11 header.
 * We use raw PKCS#11 rather than libp11: key templates (sign-only, sensitive, allowed mechanisms), binary
 * PINs, session-object copies and CKM_ECDSA-after-hashing all need the raw interface (see docs/architecture.md). */
#ifndef HSMCA_P11_H
#define HSMCA_P11_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <p11-kit/pkcs11.h>

#include "der.h"
#include "err.h"

#define P11_SERIAL_MAX 16
#define P11_LABEL_MAX 32
#define P11_KEY_ID_LEN 16
#define P11_SIG_MAX 1024

struct p11_module {
	void *dl;
	CK_FUNCTION_LIST *f;
};

enum p11_keytype {
	P11_KEY_P256 = 1,
	P11_KEY_P384,
	P11_KEY_RSA2048,
	P11_KEY_RSA3072,
	P11_KEY_RSA4096,
};

struct p11_token {
	CK_SLOT_ID slot;
	char serial[P11_SERIAL_MAX + 1];
	char label[P11_LABEL_MAX + 1];
	bool initialized;
};

/* Loads and initialises (OS locking) the module at path. */
int p11_module_load(const char *path, struct p11_module *out) HSMCA_WUR;
void p11_module_unload(struct p11_module *m);
const char *p11_rv_name(CK_RV rv);
/* Last CK_RV seen by a failing call in this thread (for messages and tests). */
CK_RV p11_last_rv(void);
/* Records rv as the last CK_RV; 0 if CKR_OK, else HSMCA_ERR_P11. */
int p11_check_rv(CK_RV rv);

/* Finds an initialised token by label and/or serial (either may be NULL, not both). */
int p11_token_find(struct p11_module *m, const char *label, const char *serial, struct p11_token *out) HSMCA_WUR;
/* First slot whose token is not initialised. */
int p11_token_find_free(struct p11_module *m, struct p11_token *out) HSMCA_WUR;
/* C_InitToken + C_InitPIN with the given PINs (binary allowed); refreshes out's serial. */
int p11_token_init(struct p11_module *m, struct p11_token *tok, const uint8_t *so_pin, size_t so_len,
		   const uint8_t *pin, size_t pin_len, const char *label) HSMCA_WUR;

int p11_session_open(struct p11_module *m, CK_SLOT_ID slot, bool rw, CK_SESSION_HANDLE *out) HSMCA_WUR;
void p11_session_close(struct p11_module *m, CK_SESSION_HANDLE s);
/* C_Login as CKU_USER; CKR_USER_ALREADY_LOGGED_IN counts as success. */
int p11_login(struct p11_module *m, CK_SESSION_HANDLE s, const uint8_t *pin, size_t pin_len) HSMCA_WUR;
int p11_set_pin(struct p11_module *m, CK_SESSION_HANDLE s, const uint8_t *old_pin, size_t old_len,
		const uint8_t *new_pin, size_t new_len) HSMCA_WUR;
int p11_random(struct p11_module *m, CK_SESSION_HANDLE s, uint8_t *buf, size_t len) HSMCA_WUR;

bool p11_keytype_parse(const char *s, enum p11_keytype *out);
const char *p11_keytype_name(enum p11_keytype t);
/* Keytype of an OpenSSL public key, or false if not one we support. */
bool p11_keytype_of_pkey(EVP_PKEY *pk, enum p11_keytype *out);

/* Generates a token key pair: private key sensitive, not extractable, sign only, allowed mechanisms set;
 * CKA_ID is P11_KEY_ID_LEN random bytes from the HSM (written to out_id). Fails if label exists. */
int p11_key_generate(struct p11_module *m, CK_SESSION_HANDLE s, enum p11_keytype t, const char *label,
		     uint8_t out_id[P11_KEY_ID_LEN], CK_OBJECT_HANDLE *out_priv, CK_OBJECT_HANDLE *out_pub) HSMCA_WUR;
/* Finds exactly one object of class with label; HSMCA_ERR_NOTFOUND / HSMCA_ERR_EXISTS (ambiguous). */
int p11_object_find(struct p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, const char *label,
		    CK_OBJECT_HANDLE *out) HSMCA_WUR;
/* Builds an EVP_PKEY from a public-key object (caller frees). */
int p11_pubkey_get(struct p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub, EVP_PKEY **out) HSMCA_WUR;
/* Copies a private key to a session object of session s (no token file access when signing). */
int p11_key_copy_session(struct p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key,
			 CK_OBJECT_HANDLE *out) HSMCA_WUR;
/* Signs data with the key's algorithm (ECDSA: hash then CKM_ECDSA, DER-encoded; RSA: CKM_SHAxxx_RSA_PKCS).
 * out gets at most P11_SIG_MAX bytes; *out_len is set. */
int p11_sign(struct p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, enum p11_keytype t,
	     const uint8_t *data, size_t len, uint8_t *out, size_t *out_len) HSMCA_WUR;

#endif
