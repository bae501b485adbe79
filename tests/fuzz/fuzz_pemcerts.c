/* fuzz_pemcerts: pemcerts_parse (policy/pemcerts.c), the PEM certificate files of the frontend (chain,
 * former_issuers, issuer_cert, checkpoint_cert), the signer (a key's cert and issuer_cert) and the ceremony
 * (issuer_cert). The first byte is the most certificates taken (1..16); the rest is the file.
 *
 * A refusal is CONFIG (or NOMEM) with a message naming the file, and nothing returned; an acceptance holds
 * 1..max certificates, no more than the file has BEGIN lines, and exactly the same certificates again when they
 * are written back as PEM and parsed; an input without "-----BEGIN" or with a NUL byte is refused. OpenSSL's
 * error queue is empty either way. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdlib.h>

#include "conf.h"
#include "fuzz_common.h"
#include "pemcerts.h"

static size_t fuzz_pem_count(const char *s, size_t len, const char *needle)
{
	size_t n = 0, k = strlen(needle);
	for (size_t i = 0; i + k <= len; i++)
		n += memcmp(s + i, needle, k) == 0;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t max = (size_t)(data[0] % 16) + 1, len = size - 1;
	const char *text = (const char *)data + 1;
	char err[CONF_ERR_MAX] = "", err2[CONF_ERR_MAX] = "";
	STACK_OF(X509) *certs = (STACK_OF(X509) *)1, *again = NULL;
	int rc = pemcerts_parse(text, len, "chain", "/f", max, &certs, err);
	FUZZ_CHECK(ERR_peek_error() == 0);
	if (rc) {
		FUZZ_CHECK(rc == HSMCA_ERR_CONFIG || rc == HSMCA_ERR_NOMEM);
		FUZZ_CHECK(certs == NULL);
		FUZZ_CHECK(fuzz_why_ok(err, sizeof err) && !strncmp(err, "chain /f", 8));
		return 0;
	}
	size_t n = (size_t)sk_X509_num(certs);
	FUZZ_CHECK(n >= 1 && n <= max);
	FUZZ_CHECK(!memchr(text, 0, len));
	FUZZ_CHECK(n <= fuzz_pem_count(text, len, "-----BEGIN"));
	BIO *b = BIO_new(BIO_s_mem());
	char *pem = NULL;
	long pem_len = 0;
	for (size_t i = 0; b && i < n; i++)
		FUZZ_CHECK(PEM_write_bio_X509(b, sk_X509_value(certs, (int)i)) == 1);
	if (b && (pem_len = BIO_get_mem_data(b, &pem)) > 0) {
		FUZZ_CHECK(pemcerts_parse(pem, (size_t)pem_len, "chain", "/f", max, &again, err2) == 0);
		FUZZ_CHECK((size_t)sk_X509_num(again) == n);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(X509_cmp(sk_X509_value(certs, (int)i), sk_X509_value(again, (int)i)) == 0);
	}
	sk_X509_pop_free(again, X509_free);
	sk_X509_pop_free(certs, X509_free);
	BIO_free(b);
	ERR_clear_error();
	return 0;
}
