/* hsm/p11_key: the lengths a PKCS#11 module reports back are bounded before they are used. A module that says
 * it wrote more than the buffer it was given (a signature, an attribute's second call) is refused with
 * HSMCA_ERR_P11, never read past the buffer (an EC signature of 1,100 "bytes" used to be read from a 1,024-byte
 * stack array and its halves DER-encoded). The module here is a lying one of this file's making, complete for
 * what it is for: three functions that answer CKR_OK and report a length past the buffer they were given (no
 * real token misbehaves on demand); the real tokens are in the integration tests. */
#include <string.h>

#include "check.h"
#include "p11.h"

static CK_ULONG liar_sign_len, liar_attr_first, liar_attr_second;
static unsigned liar_attr_calls;

static CK_RV liar_sign_init(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	(void)s, (void)m, (void)k;
	return CKR_OK;
}

/* fills what it was given, and says it wrote liar_sign_len */
static CK_RV liar_sign(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG in_len, CK_BYTE_PTR sig, CK_ULONG_PTR sig_len)
{
	(void)s, (void)in, (void)in_len;
	memset(sig, 0x5a, *sig_len);
	*sig_len = liar_sign_len;
	return CKR_OK;
}

/* CKA_KEY_TYPE: EC; any other attribute: liar_attr_first bytes when asked for the size, then it fills what it
 * was given and says liar_attr_second */
static CK_RV liar_get_attr(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR a, CK_ULONG n)
{
	(void)s, (void)o, (void)n;
	if (a->type == CKA_KEY_TYPE) {
		*(CK_KEY_TYPE *)a->pValue = CKK_EC;
		return CKR_OK;
	}
	liar_attr_calls++;
	if (!a->pValue) {
		a->ulValueLen = liar_attr_first;
		return CKR_OK;
	}
	memset(a->pValue, 0x06, a->ulValueLen);
	a->ulValueLen = liar_attr_second;
	return CKR_OK;
}

int main(void)
{
	CK_FUNCTION_LIST f;
	memset(&f, 0, sizeof(f));
	f.C_SignInit = liar_sign_init;
	f.C_Sign = liar_sign;
	f.C_GetAttributeValue = liar_get_attr;
	struct p11_module m = { .dl = NULL, .f = &f };
	uint8_t out[P11_SIG_MAX];
	size_t out_len = 0;
	static const uint8_t tbs[] = "to be signed";

	/* a well-behaved P-256 answer: 64 bytes r||s */
	liar_sign_len = 64;
	CHECK(p11_sign(&m, 1, 1, P11_KEY_P256, tbs, sizeof(tbs), out, &out_len) == 0 && out_len > 64);
	/* more than it was given room for: EC and RSA alike */
	enum p11_keytype types[] = { P11_KEY_P256, P11_KEY_P384, P11_KEY_RSA2048, P11_KEY_RSA4096 };
	CK_ULONG lens[] = { P11_SIG_MAX + 2, 1100, 4096, (CK_ULONG)-2 };
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
			liar_sign_len = lens[i];
			int rc = p11_sign(&m, 1, 1, types[t], tbs, sizeof(tbs), out, &out_len);
			CHECKF(rc == HSMCA_ERR_P11, "key type %d, length %lu: rc %d", (int)types[t],
			       (unsigned long)lens[i], rc);
		}

	/* an attribute whose second answer is longer than the first (and than the buffer sized by it) */
	EVP_PKEY *pk = NULL;
	liar_attr_first = 10;
	liar_attr_second = 5000;
	liar_attr_calls = 0;
	CHECK(p11_pubkey_get(&m, 1, 1, &pk) == HSMCA_ERR_P11 && pk == NULL && liar_attr_calls == 2);
	liar_attr_second = 0;
	liar_attr_calls = 0;
	CHECK(p11_pubkey_get(&m, 1, 1, &pk) == HSMCA_ERR_P11 && pk == NULL && liar_attr_calls == 2);
	EVP_PKEY_free(pk);
	return check_done("unit_p11sign");
}
