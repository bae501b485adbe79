/* fuzz_csr: csr_parse (policy/csr.c). A failure is one of the documented classes with a reason and leaves
 * nothing to free; a success has its parts set, at most CSR_MAX_SANS SANs of the four types with printable
 * values, a signature that verifies, (for DER) re-encodes to exactly the bytes parsed, and key bytes that are
 * OpenSSL's own encoding of the key. The fast path
 * (policy/csr_fast.c) must agree with the full path (csr_parse_full) on every input: the same rc and
 * reason, and on success the same names, key bytes and key.
 *
 * Two modes, chosen by the first byte:
 *   - anything but 0x00: the bytes go to csr_parse as they are (PEM or DER from a client);
 *   - 0x00: the rest is a CertificationRequestInfo; it is signed with the fixed test key (fuzz_csrsign.h)
 *     (ecdsa-with-SHA256) and the request goes to csr_parse. A mutated request almost never carries a valid
 *     signature, so without this mode the checks after the signature (extensionRequest, SANs) would only ever
 *     see the seeds. Seeds for this mode embed the fixed key's public key (seed-tbs-*).
 * Raw inputs starting with 0x00 are neither PEM nor DER, so the first mode loses nothing. */
#include <stdlib.h>

#include "csr.h"
#include "csr_priv.h"
#include "fuzz_common.h"
#include "fuzz_csrsign.h"

#define FUZZ_CSR_MODE_TBS 0x00
static void fuzz_csr_ok(const uint8_t *data, size_t size, const struct csr *c)
{
	unsigned char *der = NULL;
	FUZZ_CHECK(c->req && c->pubkey == X509_REQ_get0_pubkey(c->req));
	FUZZ_CHECK(c->n_sans <= CSR_MAX_SANS && X509_REQ_verify(c->req, c->pubkey) == 1);
	for (size_t i = 0; i < c->n_sans; i++) {
		const struct csr_san *s = &c->sans[i];
		size_t n = strnlen(s->value, CSR_SAN_MAX);
		FUZZ_CHECK(s->type >= CSR_SAN_DNS && s->type <= CSR_SAN_URI && n > 0 && n < CSR_SAN_MAX);
		for (size_t k = 0; k < n; k++)
			FUZZ_CHECK(s->value[k] > 0x20 && s->value[k] < 0x7f);
	}
	if (size > 0 && data[0] == DER_SEQUENCE) {
		int n = i2d_X509_REQ(c->req, &der);
		FUZZ_CHECK(n > 0 && (size_t)n == size && memcmp(der, data, size) == 0);
		OPENSSL_free(der);
		der = NULL;
	}
	/* the key bytes the certificate will carry are the key's one DER form (policy_spki_form): OpenSSL's own
	 * encoding of the key it read from them */
	int k = i2d_PUBKEY(c->pubkey, &der);
	FUZZ_CHECK(k > 0 && (size_t)k == c->spki_len && memcmp(der, c->spki, c->spki_len) == 0);
	OPENSSL_free(der);
}

/* The fast path's success equals the full path's (f); the full path's request is then checked. */
static void fuzz_csr_same(const uint8_t *data, size_t size, const struct csr *c, const struct csr *f)
{
	FUZZ_CHECK(c->pubkey && (c->req ? !c->own_key : c->pubkey == c->own_key));
	FUZZ_CHECK(c->n_sans == f->n_sans && c->spki_len == f->spki_len && memcmp(c->spki, f->spki, f->spki_len) == 0 &&
		   EVP_PKEY_eq(c->pubkey, f->pubkey) == 1);
	for (size_t i = 0; i < f->n_sans; i++)
		FUZZ_CHECK(c->sans[i].type == f->sans[i].type && strcmp(c->sans[i].value, f->sans[i].value) == 0);
	fuzz_csr_ok(data, size, f);
}

static void fuzz_csr_one(const uint8_t *data, size_t size)
{
	struct csr c, f;
	char err[CSR_ERR_MAX], ferr[CSR_ERR_MAX];
	memset(err, 'x', sizeof(err));
	memset(ferr, 'x', sizeof(ferr));
	bool cheap = csr_cheap_key(data, size); /* the event loop's pre-check: any bytes, no crash */
	int rc = csr_parse(data, size, &c, err);
	int frc = csr_parse_full(data, size, &f, ferr);
	FUZZ_CHECK(rc == frc && (rc == 0 || strcmp(err, ferr) == 0));
	if (rc == 0) {
		fuzz_csr_same(data, size, &c, &f);
		/* an accepted key called cheap is EC, or RSA of at most CSR_CHEAP_RSA_BITS */
		FUZZ_CHECK(!cheap || EVP_PKEY_is_a(c.pubkey, "EC") ||
			   (EVP_PKEY_is_a(c.pubkey, "RSA") && EVP_PKEY_get_bits(c.pubkey) <= CSR_CHEAP_RSA_BITS));
	} else {
		FUZZ_CHECK(rc == HSMCA_ERR_PARSE || rc == HSMCA_ERR_AUTH || rc == HSMCA_ERR_LIMIT ||
			   rc == HSMCA_ERR_POLICY || rc == HSMCA_ERR_NOMEM);
		FUZZ_CHECK(c.req == NULL && c.pubkey == NULL && c.own_key == NULL && c.n_sans == 0 &&
			   fuzz_why_ok(err, CSR_ERR_MAX));
	}
	csr_free(&c);
	csr_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dbuf b;
	if (size == 0 || data[0] != FUZZ_CSR_MODE_TBS) {
		fuzz_csr_one(data, size);
		return 0;
	}
	dbuf_init(&b);
	if (fuzz_csr_sign(data + 1, size - 1, &b))
		fuzz_csr_one(b.data, b.len);
	dbuf_free(&b);
	return 0;
}
