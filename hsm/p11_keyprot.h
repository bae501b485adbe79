/* How a CA's private key is protected, as its token reports it, and whether that is fit for a CA key.
 * The ceremony makes every key sensitive, never extractable and sign-only (p11_key_generate); the signer
 * checks the key a label finds before it signs anything with it. (Not CKA_MODIFIABLE false: SoftHSM then
 * refuses the signer's session copy, C_CopyObject with CKA_TOKEN false, with CKR_ATTRIBUTE_READ_ONLY.) */
#ifndef HSMCA_P11_KEYPROT_H
#define HSMCA_P11_KEYPROT_H

#include <stdint.h>

#include "p11.h"

#define P11_PROT_UNKNOWN (-1) /* the token does not have the attribute (CKR_ATTRIBUTE_TYPE_INVALID) */

/* Each flag: 1 true (any value but CK_FALSE), 0 CK_FALSE, P11_PROT_UNKNOWN. */
struct p11_key_prot {
	int8_t sensitive, always_sensitive, extractable, never_extractable;
	int8_t sign, decrypt, unwrap, derive, sign_recover;
	int8_t private_; /* CKA_PRIVATE: false lets a session without C_Login use the key */
};

/* Reads the flags of private key object key. Any failure but CKR_ATTRIBUTE_TYPE_INVALID (which leaves that
 * flag P11_PROT_UNKNOWN) fails the call. */
int p11_key_prot_get(struct p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key,
		     struct p11_key_prot *out) HSMCA_WUR;

/* NULL if p is fit for a CA key: private, sensitive and not extractable now, never not sensitive or extractable
 * before (as far as the token says: see p11_key_prot_advice), able to sign, and unable to decrypt, unwrap,
 * derive or sign with recovery; a token that does not report one of those usage and protection flags
 * counts as not fit. Else a static sentence saying which rule it breaks. */
const char *p11_key_prot_refusal(const struct p11_key_prot *p);

/* A static warning, or NULL: the token does not say whether the key was always sensitive and never
 * extractable (CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE), so it may once have left the token. */
const char *p11_key_prot_advice(const struct p11_key_prot *p);

#endif
