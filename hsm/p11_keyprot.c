#include "p11_keyprot.h"

#include <stddef.h>

/* A flag's value; P11_PROT_UNKNOWN only for CKR_ATTRIBUTE_TYPE_INVALID (the token does not have it). Any
 * other failure is fatal (*fatal), so a token error cannot pass for an attribute it lacks. Any value but
 * CK_FALSE is true. */
static int8_t p11_prot_flag(struct p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, CK_ATTRIBUTE_TYPE t,
			    CK_RV *fatal)
{
	CK_BBOOL v = CK_FALSE;
	CK_ATTRIBUTE a = { t, &v, sizeof(v) };
	CK_RV rv = m->f->C_GetAttributeValue(s, key, &a, 1);
	if (rv == CKR_ATTRIBUTE_TYPE_INVALID)
		return P11_PROT_UNKNOWN;
	if (rv != CKR_OK || a.ulValueLen != sizeof(v)) {
		if (*fatal == CKR_OK)
			*fatal = rv != CKR_OK ? rv : CKR_ATTRIBUTE_VALUE_INVALID;
		return P11_PROT_UNKNOWN;
	}
	return v != CK_FALSE ? 1 : 0;
}

int p11_key_prot_get(struct p11_module *m, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, struct p11_key_prot *out)
{
	CK_RV fatal = CKR_OK;
	out->sensitive = p11_prot_flag(m, s, key, CKA_SENSITIVE, &fatal);
	out->always_sensitive = p11_prot_flag(m, s, key, CKA_ALWAYS_SENSITIVE, &fatal);
	out->extractable = p11_prot_flag(m, s, key, CKA_EXTRACTABLE, &fatal);
	out->never_extractable = p11_prot_flag(m, s, key, CKA_NEVER_EXTRACTABLE, &fatal);
	out->sign = p11_prot_flag(m, s, key, CKA_SIGN, &fatal);
	out->decrypt = p11_prot_flag(m, s, key, CKA_DECRYPT, &fatal);
	out->unwrap = p11_prot_flag(m, s, key, CKA_UNWRAP, &fatal);
	out->derive = p11_prot_flag(m, s, key, CKA_DERIVE, &fatal);
	out->sign_recover = p11_prot_flag(m, s, key, CKA_SIGN_RECOVER, &fatal);
	out->private_ = p11_prot_flag(m, s, key, CKA_PRIVATE, &fatal);
	return fatal == CKR_OK ? 0 : p11_check_rv(fatal);
}

const char *p11_key_prot_refusal(const struct p11_key_prot *p)
{
	/* every one of these is defined for every private key (PKCS#11 v2.40, 4.9): a token that does not say
	 * counts as not fit, except for the two history flags (p11_key_prot_advice) */
	static const char *const unknown[] = {
		"the token does not say whether the key is sensitive (CKA_SENSITIVE)",
		"the token does not say whether the key is extractable (CKA_EXTRACTABLE)",
		"the token does not say whether the key may sign (CKA_SIGN)",
		"the token does not say whether the key may decrypt (CKA_DECRYPT)",
		"the token does not say whether the key may unwrap (CKA_UNWRAP)",
		"the token does not say whether the key may derive (CKA_DERIVE)",
		"the token does not say whether the key may sign with recovery (CKA_SIGN_RECOVER)",
		"the token does not say whether the key is private (CKA_PRIVATE)",
	};
	const int8_t must[] = { p->sensitive, p->extractable, p->sign, p->decrypt, p->unwrap, p->derive, p->sign_recover,
				p->private_ };
	for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
		if (must[i] != 0 && must[i] != 1)
			return unknown[i];
	if (!p->private_)
		return "the key is not private (CKA_PRIVATE false): the token lets a session that never logged in use it";
	if (!p->sensitive)
		return "the key is not sensitive (CKA_SENSITIVE false): its value can be read out of the token";
	if (p->extractable)
		return "the key is extractable (CKA_EXTRACTABLE true): it can be wrapped out of the token";
	if (p->always_sensitive == 0)
		return "the key was not always sensitive (CKA_ALWAYS_SENSITIVE false): its value may have left the token";
	if (p->never_extractable == 0)
		return "the key was once extractable (CKA_NEVER_EXTRACTABLE false): it may have left the token";
	if (!p->sign)
		return "the key may not sign (CKA_SIGN false)";
	if (p->decrypt)
		return "the key may decrypt (CKA_DECRYPT true): a CA key must only sign";
	if (p->unwrap)
		return "the key may unwrap other keys (CKA_UNWRAP true): a CA key must only sign";
	if (p->derive)
		return "the key may derive (CKA_DERIVE true): a CA key must only sign";
	if (p->sign_recover)
		return "the key may sign with recovery (CKA_SIGN_RECOVER true): a CA key must only sign";
	return NULL;
}

const char *p11_key_prot_advice(const struct p11_key_prot *p)
{
	if (p->always_sensitive == P11_PROT_UNKNOWN || p->never_extractable == P11_PROT_UNKNOWN)
		return "the token does not say whether the key was always sensitive and never extractable";
	return NULL;
}
