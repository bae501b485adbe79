/* sgntool: the tests' and the benchmark's client of the signer (and of the token directly).
 * Arguments are key=value. Exit codes: 0 ok, 3 refused by the signer (REPLY_ERR), 4 connection closed
 * by the signer, 1 other failure, 2 usage. */
#include <openssl/pem.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "frame.h"
#include "quorum.h"
#include "sgn_client.h"
#include "tbsgen.h"

#define ARG_MAX 24

static const char *argk[ARG_MAX], *argv_[ARG_MAX];
static int argn;

static const char *arg(const char *k, const char *def)
{
	for (int i = 0; i < argn; i++)
		if (!strcmp(argk[i], k))
			return argv_[i];
	return def;
}

static const char *need(const char *k)
{
	const char *v = arg(k, NULL);
	if (!v) {
		fprintf(stderr, "sgntool: %s= is required\n", k);
		exit(2);
	}
	return v;
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	X509 *x = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	if (f)
		fclose(f);
	if (!x) {
		fprintf(stderr, "sgntool: cannot read %s\n", path);
		exit(1);
	}
	return x;
}

static EVP_PKEY *gen_key(const char *type)
{
	if (!strcmp(type, "p256"))
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!strcmp(type, "p384"))
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (!strncmp(type, "rsa", 3))
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)atoi(type + 3));
	return NULL;
}

static void write_file(const char *path, const void *d, size_t n)
{
	FILE *f = fopen(path, "w");
	if (!f || fwrite(d, 1, n, f) != n) {
		fprintf(stderr, "sgntool: cannot write %s\n", path);
		exit(1);
	}
	fclose(f);
}

static void write_cert_pem(const char *path, const struct dbuf *der)
{
	const unsigned char *p = der->data;
	X509 *x = d2i_X509(NULL, &p, (long)der->len);
	FILE *f = fopen(path, "w");
	if (!x || !f || !PEM_write_X509(f, x)) {
		fprintf(stderr, "sgntool: the signer's reply is not a certificate\n");
		exit(1);
	}
	fclose(f);
	X509_free(x);
}

/* Sends one signing request; exits with the protocol outcome on failure. */
static void call_sign(uint8_t type, const struct dbuf *tbs, struct dbuf *out)
{
	struct sgn_client c;
	if (sgn_client_open(&c, need("socket"), 1) != 0) {
		fprintf(stderr, "sgntool: cannot connect/HELLO\n");
		exit(4);
	}
	int rc = sgn_client_sign(&c, type, need("label"), tbs->data, tbs->len, out);
	if (rc == HSMCA_ERR_POLICY) {
		printf("refused: code=%u %s\n", c.err_code, c.err_msg);
		exit(3);
	}
	if (rc) {
		printf("closed\n");
		exit(4);
	}
	sgn_client_close(&c);
}

static int cmd_leaf(void)
{
	struct dbuf tbs, cert;
	X509 *issuer = read_cert(need("issuer"));
	EVP_PKEY *k = gen_key(arg("keytype", "p256"));
	tbsgen_crl_url = arg("crl", NULL); /* a key that pins its URLs signs its own only */
	tbsgen_ocsp_url = arg("ocsp", NULL);
	dbuf_init(&tbs);
	dbuf_init(&cert);
	if (!k || tbsgen_leaf(issuer, k, arg("break", NULL), &tbs)) {
		fprintf(stderr, "sgntool: cannot build the TBS\n");
		return 1;
	}
	call_sign(FRAME_SIGN_CERT, &tbs, &cert);
	write_cert_pem(need("out"), &cert);
	return 0;
}

static int cmd_crl(void)
{
	struct dbuf tbs, crl;
	X509 *issuer = read_cert(need("issuer"));
	dbuf_init(&tbs);
	dbuf_init(&crl);
	if (tbsgen_crl(issuer, arg("break", NULL), &tbs))
		return 1;
	call_sign(FRAME_SIGN_CRL, &tbs, &crl);
	write_file(need("out"), crl.data, crl.len);
	return 0;
}

static int cmd_ocsp(void)
{
	struct dbuf tbs, basic, resp;
	X509 *responder = read_cert(need("responder")), *issuer = read_cert(need("issuer")),
	     *cert = read_cert(need("cert"));
	dbuf_init(&tbs);
	dbuf_init(&basic);
	dbuf_init(&resp);
	if (tbsgen_ocsp(responder, issuer, cert, arg("break", NULL), &tbs))
		return 1;
	call_sign(FRAME_SIGN_OCSP, &tbs, &basic);
	tbsgen_ocsp_wrap(basic.data, basic.len, &resp);
	write_file(need("out"), resp.data, resp.len);
	return 0;
}

static int cmd_checkpoint(void)
{
	struct dbuf d, sig;
	const char *hex = need("digest");
	dbuf_init(&d);
	dbuf_init(&sig);
	for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
		unsigned v;
		sscanf(hex + i, "%2x", &v);
		dbuf_add_u8(&d, (uint8_t)v);
	}
	call_sign(FRAME_SIGN_CHECKPOINT, &d, &sig);
	write_file(need("out"), sig.data, sig.len);
	return 0;
}

/* raw: sends hex bytes as one message after an optional HELLO; prints "closed" or "reply type=0x.." */
static int cmd_raw(void)
{
	struct sgn_client c;
	const char *hex = need("hex");
	uint8_t buf[FRAME_MAX + 16];
	size_t n = 0;
	if (sgn_client_open(&c, need("socket"), atoi(arg("hello", "1"))) != 0)
		return 4;
	if (!strncmp(hex, "zeros:", 6)) {
		n = (size_t)atol(hex + 6);
		if (n > sizeof(buf))
			n = sizeof(buf);
		memset(buf, 0, n);
	} else {
		for (; hex[2 * n] && hex[2 * n + 1] && n < sizeof(buf); n++) {
			unsigned v;
			sscanf(hex + 2 * n, "%2x", &v);
			buf[n] = (uint8_t)v;
		}
	}
	if (send(c.fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n) {
		printf("closed\n");
		return 4;
	}
	ssize_t r = recv(c.fd, buf, sizeof(buf), 0);
	if (r <= 0) {
		printf("closed\n");
		return 4;
	}
	printf("reply type=0x%02x\n", r > 1 ? buf[1] : 0);
	return 0;
}

int sgntool_bench(const char *mode);
int sgntool_keyprops(void);
int sgntool_weakkey(void);
int sgntool_args_count(void) { return argn; }

int main(int argc, char **argv)
{
	if (argc < 2)
		goto usage;
	for (int i = 2; i < argc && argn < ARG_MAX; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq)
			goto usage;
		*eq = 0;
		argk[argn] = argv[i];
		argv_[argn++] = eq + 1;
	}
	if (!strcmp(argv[1], "leaf"))
		return cmd_leaf();
	if (!strcmp(argv[1], "crl"))
		return cmd_crl();
	if (!strcmp(argv[1], "ocsp"))
		return cmd_ocsp();
	if (!strcmp(argv[1], "checkpoint"))
		return cmd_checkpoint();
	if (!strcmp(argv[1], "raw"))
		return cmd_raw();
	if (!strcmp(argv[1], "bench") || !strcmp(argv[1], "bench-direct"))
		return sgntool_bench(argv[1]);
	if (!strcmp(argv[1], "keyprops"))
		return sgntool_keyprops();
	if (!strcmp(argv[1], "weakkey"))
		return sgntool_weakkey();
usage:
	fprintf(stderr, "usage: sgntool leaf|crl|ocsp|checkpoint|raw|bench|bench-direct|keyprops|weakkey key=value...\n");
	return 2;
}

const char *sgntool_arg(const char *k, const char *def) { return arg(k, def); }
const char *sgntool_need(const char *k) { return need(k); }
X509 *sgntool_read_cert(const char *path) { return read_cert(path); }
EVP_PKEY *sgntool_gen_key(const char *type) { return gen_key(type); }
