/* The fixed test key and the signing of a CertificationRequestInfo, shared by the targets that need a request
 * with a valid signature (fuzz_csr, fuzz_csrpolicy): a mutated request almost never carries one, so without
 * this the checks after the signature would only ever see the seeds. Seeds for it embed the fixed key's public
 * key (corpus/csr/seed-tbs-*; make_corpus.py FUZZ_CSR_PUB for corpus/csrpolicy). */
#ifndef HSMCA_FUZZ_CSRSIGN_H
#define HSMCA_FUZZ_CSRSIGN_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>

#include "der.h"
#include "fuzz_common.h"

#define FUZZ_CSR_SIG_MAX 80 /* DER ECDSA P-256 signature */

/* The fixed test key (P-256, SEC1 DER): public test material, made for this fuzzer only. */
static const char fuzz_csr_key_hex[] =
	"3077020101042075054bf18a6dcddc4873f971bcdbc5b4e6523fe0ca90d8a55d55b51bae97ec4ea00a06082a8648ce3d"
	"030107a1440342000473fb596b3dc5f49759d502a2c9c840b4de2e1e932250f0f63dd0bea6fcc8d756021b4399ed5ea4"
	"e74b7d143e7853e2266336135abf1d1778a83094b788e963e0";
static const uint8_t fuzz_csr_ecdsa_sha256[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48,
						 0xce, 0x3d, 0x04, 0x03, 0x02 };

static EVP_PKEY *fuzz_csr_key(void)
{
	static EVP_PKEY *key;
	if (!key) {
		uint8_t der[sizeof(fuzz_csr_key_hex) / 2];
		for (size_t i = 0; i < sizeof(der); i++) {
			unsigned v = 0;
			FUZZ_CHECK(sscanf(fuzz_csr_key_hex + 2 * i, "%2x", &v) == 1);
			der[i] = (uint8_t)v;
		}
		const unsigned char *p = der;
		key = d2i_AutoPrivateKey(NULL, &p, (long)sizeof(der));
		FUZZ_CHECK(key != NULL);
	}
	return key;
}

/* SEQUENCE { tbs, ecdsa-with-SHA256, BIT STRING signature } into b; false if signing fails. */
static bool fuzz_csr_sign(const uint8_t *tbs, size_t len, struct dbuf *b)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char sig[FUZZ_CSR_SIG_MAX];
	size_t sig_len = sizeof(sig);
	bool ok = md && EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, fuzz_csr_key()) == 1 &&
		  EVP_DigestSign(md, sig, &sig_len, tbs, len) == 1;
	EVP_MD_CTX_free(md);
	if (!ok)
		return false;
	size_t m = dbuf_open(b, DER_SEQUENCE);
	dbuf_add(b, tbs, len);
	dbuf_add(b, fuzz_csr_ecdsa_sha256, sizeof(fuzz_csr_ecdsa_sha256));
	dbuf_add_bitstring(b, sig, sig_len);
	dbuf_close(b, m);
	return !b->failed;
}

#endif
