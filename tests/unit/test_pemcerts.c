/* pemcerts (policy/pemcerts.c): the PEM certificate files of the frontend, the signer and the ceremony. */
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "check.h"
#include "conf.h"
#include "pemcerts.h"

/* A self-signed P-256 certificate named cn, as PEM (malloc'd), and its key as PEM in *key (malloc'd). */
static char *make_cert(const char *cn, char **key)
{
	EVP_PKEY *pk = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	BIO *b = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
	char *p = NULL, *out = NULL;
	long n;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, pk);
	X509_sign(x, pk, EVP_sha256());
	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &p);
	out = strndup(p, (size_t)n);
	PEM_write_bio_PrivateKey(kb, pk, NULL, NULL, 0, NULL, NULL);
	n = BIO_get_mem_data(kb, &p);
	*key = strndup(p, (size_t)n);
	BIO_free(b);
	BIO_free(kb);
	X509_free(x);
	EVP_PKEY_free(pk);
	return out;
}

/* pemcerts_parse of s with max: its result, the count in *n, the message in err. */
static int parse(const char *s, size_t len, size_t max, int *n, char *err)
{
	STACK_OF(X509) *sk = NULL;
	err[0] = 0;
	int rc = pemcerts_parse(s, len, "chain", "/x.pem", max, &sk, err);
	*n = sk ? sk_X509_num(sk) : -1;
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

int main(void)
{
	char *k1, *k2, err[CONF_ERR_MAX], buf[16384];
	char *a = make_cert("a", &k1), *b = make_cert("b", &k2);
	int n;

	CHECK(parse(a, strlen(a), 1, &n, err) == 0 && n == 1);
	snprintf(buf, sizeof buf, "subject=CN = a\n%s\nsome text\n%strailing words\n", a, b);
	CHECK(parse(buf, strlen(buf), 2, &n, err) == 0 && n == 2);
	CHECKF(parse(buf, strlen(buf), 1, &n, err) == HSMCA_ERR_CONFIG && n == -1 &&
	       !strcmp(err, "chain /x.pem: more than 1 certificate"), "%s", err);
	/* CRLF lines, as a file written on Windows */
	size_t j = 0;
	for (const char *p = a; *p && j + 2 < sizeof buf; p++) {
		if (*p == '\n')
			buf[j++] = '\r';
		buf[j++] = *p;
	}
	CHECK(parse(buf, j, 1, &n, err) == 0 && n == 1);
	/* the old label "X509 CERTIFICATE" (OpenSSL's readers take it) */
	snprintf(buf, sizeof buf, "-----BEGIN X509 CERTIFICATE-----\n%.*s-----END X509 CERTIFICATE-----\n",
		 (int)(strstr(a, "-----END") - strchr(a, '\n') - 1), strchr(a, '\n') + 1);
	CHECKF(parse(buf, strlen(buf), 1, &n, err) == 0 && n == 1, "%s", err);
	/* nothing, or text only */
	CHECKF(parse("", 0, 4, &n, err) == HSMCA_ERR_CONFIG && !strcmp(err, "chain /x.pem holds no PEM certificate"),
	       "%s", err);
	CHECK(parse("hello\n", 6, 4, &n, err) == HSMCA_ERR_CONFIG && n == -1);
	/* a key after the certificate: refused, naming the block */
	snprintf(buf, sizeof buf, "%s%s", a, k1);
	CHECKF(parse(buf, strlen(buf), 4, &n, err) == HSMCA_ERR_CONFIG &&
	       !strcmp(err, "chain /x.pem: block 2 is a PRIVATE KEY, not a CERTIFICATE"), "%s", err);
	/* a key before it (PEM_read_X509 skipped it) */
	snprintf(buf, sizeof buf, "%s%s", k1, a);
	CHECKF(parse(buf, strlen(buf), 4, &n, err) == HSMCA_ERR_CONFIG && strstr(err, "block 1 is a PRIVATE KEY"), "%s", err);
	/* a NUL byte: the text after it was never seen by a C-string reader */
	size_t la = strlen(a);
	memcpy(buf, a, la);
	buf[la] = 0;
	memcpy(buf + la + 1, b, strlen(b));
	CHECKF(parse(buf, la + 1 + strlen(b), 4, &n, err) == HSMCA_ERR_CONFIG && strstr(err, "NUL byte"), "%s", err);
	/* cut short: the END line missing */
	CHECKF(parse(a, la - 30, 4, &n, err) == HSMCA_ERR_CONFIG && !strcmp(err, "chain /x.pem: block 1 does not decode"),
	       "%s", err);
	/* PEM headers (an encrypted block) */
	const char *body = strchr(a, '\n') + 1;
	snprintf(buf, sizeof buf, "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,"
		 "00112233445566778899AABBCCDDEEFF\n\n%s", body);
	CHECKF(parse(buf, strlen(buf), 4, &n, err) == HSMCA_ERR_CONFIG && strstr(err, "PEM headers"), "%s", err);

	/* pemcerts_load and pemcerts_load_one read the file */
	char path[] = "/tmp/pemcerts-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, a, la) == (ssize_t)la && close(fd) == 0);
	X509 *one = NULL;
	CHECK(pemcerts_load_one(path, "issuer_cert", &one, err) == 0 && one != NULL);
	X509_free(one);
	fd = open(path, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, b, strlen(b)) == (ssize_t)strlen(b) && close(fd) == 0);
	CHECK(pemcerts_load_one(path, "issuer_cert", &one, err) == HSMCA_ERR_CONFIG && one == NULL &&
	      strstr(err, "issuer_cert /tmp/pemcerts-") && strstr(err, ": more than 1 certificate"));
	unlink(path);
	CHECKF(pemcerts_load_one(path, "issuer_cert", &one, err) == HSMCA_ERR_IO && one == NULL &&
	       strstr(err, "No such file or directory"), "%s", err);

	free(a);
	free(b);
	free(k1);
	free(k2);
	return check_done("unit_pemcerts");
}
