/* Ceremony transcripts: a plain-text record signed (ECDSA/RSA over SHA-256 of the bytes) by the token's
 * audit key, verifiable offline with `hsmca-ceremony verify` or `openssl dgst -verify`. */
#include <getopt.h>
#include <stdlib.h>
#include <openssl/pem.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ceremony.h"

#define CER_TRANSCRIPT_MAX (1024 * 1024)

static const char *const cer_kind_names[] = { "init", "root", "intermediate", "ocsp", "resplit", "checkpoint",
					      "sign-csr" };

static void cer_time(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The audit key on the token: its private handle, public key (caller frees) and type (not P-384: transcripts
 * are signed over SHA-256). */
static int cer_audit_key_get(struct cer_ctx *c, CK_OBJECT_HANDLE *key, EVP_PKEY **pub, enum p11_keytype *type)
{
	CK_OBJECT_HANDLE pubh;
	int rc;
	*pub = NULL;
	if ((rc = p11_object_find(&c->mod, c->s, CKO_PRIVATE_KEY, c->conf.audit_key_label, key)) ||
	    (rc = p11_object_find(&c->mod, c->s, CKO_PUBLIC_KEY, c->conf.audit_key_label, &pubh)) ||
	    (rc = p11_pubkey_get(&c->mod, c->s, pubh, pub))) {
		fprintf(stderr, "ceremony: audit key %s not usable on the token\n", c->conf.audit_key_label);
		return rc;
	}
	if ((rc = cer_key_fit(c, *key, c->conf.audit_key_label))) { /* an extractable one's signatures prove nothing */
		EVP_PKEY_free(*pub);
		*pub = NULL;
		return rc;
	}
	if (!p11_keytype_of_pkey(*pub, type) || *type == P11_KEY_P384) {
		fprintf(stderr, "ceremony: audit key %s is not P-256 or RSA (transcripts are signed over SHA-256)\n",
			c->conf.audit_key_label);
		EVP_PKEY_free(*pub);
		*pub = NULL;
		return HSMCA_ERR_CONFIG;
	}
	return 0;
}

int cer_transcript_ready(struct cer_ctx *c, bool key_on_token)
{
	char sigpath[CER_PATH_MAX + 8];
	CK_OBJECT_HANDLE key;
	EVP_PKEY *pub = NULL;
	enum p11_keytype type;
	const char *tp = c->args->transcript;
	snprintf(sigpath, sizeof(sigpath), "%s.sig", tp);
	int rc;
	if ((rc = cer_path_free(tp, "transcript")) || (rc = cer_path_free(sigpath, "transcript")))
		return rc;
	if (!key_on_token)
		return 0;
	rc = cer_audit_key_get(c, &key, &pub, &type);
	EVP_PKEY_free(pub);
	return rc;
}

int cer_transcript_finish(struct cer_ctx *c)
{
	struct dbuf t, path;
	char when[32], sigpath[CER_PATH_MAX + 8];
	uint8_t sig[P11_SIG_MAX];
	size_t sig_len = 0;
	CK_OBJECT_HANDLE key;
	EVP_PKEY *pub = NULL;
	enum p11_keytype type;
	int rc;
	dbuf_init(&t);
	dbuf_init(&path);
	dbuf_add(&t, "hsmca-transcript-v1\n", 20);
	dbuf_add(&t, "ceremony: ", 10);
	dbuf_add(&t, cer_kind_names[c->args->kind], strlen(cer_kind_names[c->args->kind]));
	dbuf_add_u8(&t, '\n');
	cer_time(c->started, when);
	dbuf_add(&t, "started: ", 9);
	dbuf_add(&t, when, strlen(when));
	cer_time(time(NULL), when);
	dbuf_add(&t, "\nfinished: ", 11);
	dbuf_add(&t, when, strlen(when));
	dbuf_add_u8(&t, '\n');
	dbuf_add(&t, c->record.data, c->record.len);
	if ((rc = cer_audit_key_get(c, &key, &pub, &type)))
		goto out;
	if (t.failed || c->record.failed) { /* a line lost to memory: never sign a transcript with lines missing */
		rc = HSMCA_ERR_NOMEM;
		goto out;
	}
	if ((rc = p11_sign(&c->mod, c->s, key, type, t.data, t.len, sig, &sig_len)))
		goto out;
	const char *tp = c->args->transcript;
	snprintf(sigpath, sizeof(sigpath), "%s.sig", tp);
	if ((rc = cer_write_new(tp, t.data, t.len, 0644)))
		goto out;
	if ((rc = cer_write_new(sigpath, sig, sig_len, 0644))) {
		unlink(tp); /* no transcript without its signature */
		goto out;
	}
	printf("transcript: %s\nsignature:  %s\n", tp, sigpath);
out:
	EVP_PKEY_free(pub);
	dbuf_free(&t);
	dbuf_free(&path);
	return rc;
}

static uint8_t *cer_slurp(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "re");
	uint8_t *b = f ? malloc(max + 1) : NULL;
	if (b) {
		*len = fread(b, 1, max + 1, f);
		if (*len > max) {
			free(b);
			b = NULL;
		}
	}
	if (f)
		fclose(f);
	return b;
}

int cer_verify_main(int argc, char **argv)
{
	static const struct option opts[] = { { "transcript", required_argument, NULL, 't' },
					      { "signature", required_argument, NULL, 's' },
					      { "pubkey", required_argument, NULL, 'k' },
					      { NULL, 0, NULL, 0 } };
	const char *tp = NULL, *sp = NULL, *kp = NULL;
	char sigpath[CER_PATH_MAX + 8];
	uint8_t *t = NULL, *sig = NULL;
	size_t tl = 0, sl = 0;
	EVP_PKEY *pk = NULL;
	EVP_MD_CTX *md = NULL;
	FILE *f;
	int o, ok = 0;
	while ((o = getopt_long(argc, argv, "t:s:k:", opts, NULL)) != -1) {
		if (o == 't')
			tp = optarg;
		else if (o == 's')
			sp = optarg;
		else if (o == 'k')
			kp = optarg;
		else
			return 2;
	}
	if (!tp || !kp) {
		fprintf(stderr, "usage: hsmca-ceremony verify --transcript FILE --pubkey AUDIT.pem [--signature FILE.sig]\n");
		return 2;
	}
	if (!sp) {
		snprintf(sigpath, sizeof(sigpath), "%s.sig", tp);
		sp = sigpath;
	}
	if ((f = fopen(kp, "re"))) {
		pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
		fclose(f);
	}
	t = cer_slurp(tp, CER_TRANSCRIPT_MAX, &tl);
	sig = cer_slurp(sp, P11_SIG_MAX, &sl);
	md = EVP_MD_CTX_new();
	if (pk && t && sig && md && tl >= 20 && !memcmp(t, "hsmca-transcript-v1\n", 20) &&
	    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) == 1 && EVP_DigestVerify(md, sig, sl, t, tl) == 1)
		ok = 1;
	printf("%s: %s\n", tp, ok ? "signature OK" : "signature INVALID (or unreadable transcript, signature or key)");
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	free(t);
	free(sig);
	return ok ? 0 : 1;
}
