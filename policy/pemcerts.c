#include "pemcerts.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"

/* The next block of b: 1 with *x (owned), 0 at the end of the PEM data, or HSMCA_ERR_CONFIG with err naming
 * block n + 1. */
static int pemcerts_next(BIO *b, const char *what, const char *path, size_t n, X509 **x, char *err)
{
	char *name = NULL, *header = NULL, kind[32];
	unsigned char *data = NULL;
	long len = 0;
	*x = NULL;
	if (!PEM_read_bio(b, &name, &header, &data, &len)) {
		unsigned long e = ERR_peek_last_error();
		bool at_end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
		ERR_clear_error();
		if (at_end)
			return 0;
		snprintf(err, CONF_ERR_MAX, "%s %s: block %zu does not decode", what, path, n + 1);
		return HSMCA_ERR_CONFIG;
	}
	snprintf(kind, sizeof kind, "%s", name);
	/* "X509 CERTIFICATE": the label older tools wrote, which OpenSSL's readers still take */
	bool is_cert = !strcmp(name, "CERTIFICATE") || !strcmp(name, "X509 CERTIFICATE"), plain = header[0] == 0;
	const unsigned char *p = data;
	X509 *c = is_cert && plain && len > 0 ? d2i_X509(NULL, &p, len) : NULL;
	if (c && p != data + len) {
		X509_free(c);
		c = NULL;
	}
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_clear_free(data, (size_t)(len > 0 ? len : 0));
	ERR_clear_error();
	if (c) {
		*x = c;
		return 1;
	}
	if (!is_cert)
		snprintf(err, CONF_ERR_MAX, "%s %s: block %zu is a %s, not a CERTIFICATE", what, path, n + 1, kind);
	else if (!plain)
		snprintf(err, CONF_ERR_MAX, "%s %s: certificate %zu has PEM headers (encrypted?)", what, path, n + 1);
	else
		snprintf(err, CONF_ERR_MAX, "%s %s: certificate %zu is not one DER certificate", what, path, n + 1);
	return HSMCA_ERR_CONFIG;
}

int pemcerts_parse(const char *text, size_t len, const char *what, const char *path, size_t max,
		   STACK_OF(X509) **out, char *err)
{
	STACK_OF(X509) *sk = NULL;
	BIO *b = NULL;
	X509 *x = NULL;
	int rc = 0;
	*out = NULL;
	if (len > INT_MAX || memchr(text, 0, len)) {
		snprintf(err, CONF_ERR_MAX, "%s %s: not a PEM text file (a NUL byte)", what, path);
		return HSMCA_ERR_CONFIG;
	}
	if (!(sk = sk_X509_new_null()) || !(b = BIO_new_mem_buf(text, (int)len))) {
		rc = HSMCA_ERR_NOMEM;
		goto out;
	}
	while ((rc = pemcerts_next(b, what, path, (size_t)sk_X509_num(sk), &x, err)) == 1) {
		if ((size_t)sk_X509_num(sk) == max) {
			X509_free(x);
			snprintf(err, CONF_ERR_MAX, "%s %s: more than %zu certificate%s", what, path, max, max == 1 ? "" : "s");
			rc = HSMCA_ERR_CONFIG;
			goto out;
		}
		if (!sk_X509_push(sk, x)) {
			X509_free(x);
			rc = HSMCA_ERR_NOMEM;
			goto out;
		}
	}
	if (!rc && sk_X509_num(sk) == 0) {
		snprintf(err, CONF_ERR_MAX, "%s %s holds no PEM certificate", what, path);
		rc = HSMCA_ERR_CONFIG;
	}
out:
	if (rc == HSMCA_ERR_NOMEM)
		snprintf(err, CONF_ERR_MAX, "%s %s: out of memory", what, path);
	if (!rc)
		*out = sk;
	else
		sk_X509_pop_free(sk, X509_free);
	BIO_free(b);
	ERR_clear_error();
	return rc;
}

int pemcerts_load(const char *path, const char *what, size_t max, STACK_OF(X509) **out, char *err)
{
	char *text = NULL, msg[CONF_ERR_MAX] = "";
	size_t len = 0;
	int rc = conf_read_file(path, &text, &len, msg);
	*out = NULL;
	if (rc)
		snprintf(err, CONF_ERR_MAX, "%s %.200s", what, msg[0] ? msg : "out of memory");
	else
		rc = pemcerts_parse(text, len, what, path, max, out, err);
	conf_file_free(text, len);
	return rc;
}

int pemcerts_load_one(const char *path, const char *what, X509 **out, char *err)
{
	STACK_OF(X509) *sk = NULL;
	int rc = pemcerts_load(path, what, 1, &sk, err);
	*out = rc ? NULL : sk_X509_shift(sk);
	sk_X509_free(sk);
	return rc;
}
