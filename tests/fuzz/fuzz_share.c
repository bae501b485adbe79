/* fuzz_share: the sealed share-file parser (hsm/seal.c), a trust boundary: share files come from custodians
 * over the UNSEAL frame and the ceremony CLI. Parsing only: seal_share_open would run scrypt (2^14+ rounds)
 * on every input, which is far too slow for a fuzzer and adds nothing the layout parser does not already
 * decide, so the crypto is not called. */
#include "fuzz_common.h"
#include "seal.h"

static void fuzz_share_str(const char *s, size_t max, bool name_rule)
{
	size_t n = strnlen(s, max + 1);
	FUZZ_CHECK(n >= 1 && n <= max);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(s[i] >= 0x20 && s[i] <= 0x7e);
	if (name_rule)
		FUZZ_CHECK(seal_name_ok(s, n));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seal_file f;
	if (!seal_file_parse(span_make(data, size), &f))
		return 0;
	FUZZ_CHECK(size <= SEAL_FILE_MAX);
	FUZZ_CHECK(f.info.index >= 1 && f.info.m >= 2 && f.info.m <= f.info.n && f.info.index <= f.info.n);
	FUZZ_CHECK(f.info.log_n >= SEAL_LOGN_MIN && f.info.log_n <= SEAL_LOGN_MAX);
	fuzz_share_str(f.info.serial, SEAL_SERIAL_MAX, false);
	fuzz_share_str(f.info.label, SEAL_LABEL_MAX, false);
	fuzz_share_str(f.info.custodian, SEAL_NAME_MAX, true);
	FUZZ_CHECK(f.salt.len == SEAL_SALT_LEN && f.nonce.len == SEAL_NONCE_LEN && f.tag.len == SEAL_TAG_LEN);
	FUZZ_CHECK(f.ct.len >= 1 && f.ct.len <= SEAL_SHARE_MAX);
	FUZZ_CHECK(memcmp(data, SEAL_MAGIC, SEAL_MAGIC_LEN) == 0);
	/* layout: aad (header through the u16 ciphertext length), then ciphertext, then tag, nothing else */
	FUZZ_CHECK(f.aad.data == data && f.aad.len >= SEAL_MAGIC_LEN + SEAL_SALT_LEN + SEAL_NONCE_LEN + 2);
	FUZZ_CHECK(f.ct.data == data + f.aad.len && f.tag.data == f.ct.data + f.ct.len);
	FUZZ_CHECK(f.aad.len + f.ct.len + f.tag.len == size);
	FUZZ_CHECK(f.nonce.data + f.nonce.len + 2 == data + f.aad.len && f.salt.data + f.salt.len == f.nonce.data);
	FUZZ_CHECK((size_t)(data[f.aad.len - 2] << 8 | data[f.aad.len - 1]) == f.ct.len);
	return 0;
}
