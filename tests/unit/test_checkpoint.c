/* Audit checkpoints' digest and signature check (frontend/checkpoint_sig.c): the digest is the formula of
 * schema/007_audit_checkpoints.sql, and a signature made as the signer makes it (hsm/p11_key.c: P-256 and RSA
 * with SHA-256, P-384 with SHA-384, over the domain, a NUL and the digest) verifies under P-256, P-384 and
 * RSA keys; another digest, another key, a changed byte, the wrong hash or no domain do not. */
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdint.h>
#include <string.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "checkpoint_sig.h"
#include "ckanchor.h"
#include "conf.h"

static EVP_PKEY *key_new(const char *alg, const char *curve, unsigned bits)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	EVP_PKEY *k = NULL;

	if (c && EVP_PKEY_keygen_init(c) == 1 &&
	    (curve ? EVP_PKEY_CTX_set_group_name(c, curve) == 1 : EVP_PKEY_CTX_set_rsa_keygen_bits(c, (int)bits) == 1))
		EVP_PKEY_keygen(c, &k);
	EVP_PKEY_CTX_free(c);
	return k;
}

/* Signs domain-with-NUL || digest (domain NULL: the digest alone) with md; the signature into sig. */
static size_t sign_as_signer(EVP_PKEY *k, const EVP_MD *md, const char *domain, const uint8_t *digest,
			     uint8_t *sig, size_t cap)
{
	uint8_t msg[64 + CHECKPOINT_HASH_LEN];
	size_t n = 0, len = cap;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (domain) {
		memcpy(msg, domain, strlen(domain) + 1);
		n = strlen(domain) + 1;
	}
	memcpy(msg + n, digest, CHECKPOINT_HASH_LEN);
	n += CHECKPOINT_HASH_LEN;
	if (!c || EVP_DigestSignInit(c, NULL, md, NULL, k) != 1 || EVP_DigestSign(c, sig, &len, msg, n) != 1)
		len = 0;
	EVP_MD_CTX_free(c);
	return len;
}

static void test_digest(void)
{
	uint8_t head[CHECKPOINT_HASH_LEN], d[CHECKPOINT_HASH_LEN], want[CHECKPOINT_HASH_LEN], d2[CHECKPOINT_HASH_LEN];
	char text[256] = "hsmca-audit-head-v1\n1234567\n";
	unsigned int len = 0;

	for (int i = 0; i < CHECKPOINT_HASH_LEN; i++)
		head[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < CHECKPOINT_HASH_LEN; i++)
		sprintf(text + strlen(text), "%02x", head[i]);
	strcat(text, "\n");
	CHECK(EVP_Digest(text, strlen(text), want, &len, EVP_sha256(), NULL) == 1);
	CHECK(checkpoint_digest(1234567, head, d) == 0);
	CHECK(memcmp(d, want, sizeof d) == 0);
	CHECK(checkpoint_digest(1234568, head, d2) == 0);
	CHECK(memcmp(d, d2, sizeof d) != 0);
	CHECK(checkpoint_digest(INT64_MAX, head, d2) == 0);
}

static void test_key(const char *name, EVP_PKEY *k, EVP_PKEY *other, const EVP_MD *md, const EVP_MD *wrong_md)
{
	uint8_t head[CHECKPOINT_HASH_LEN] = {1, 2, 3}, d[CHECKPOINT_HASH_LEN], d2[CHECKPOINT_HASH_LEN], sig[1024];
	size_t n;

	CHECKF(k && other, "%s: keys", name);
	if (!k || !other)
		return;
	CHECK(checkpoint_digest(42, head, d) == 0 && checkpoint_digest(43, head, d2) == 0);
	n = sign_as_signer(k, md, FRAME_CHECKPOINT_DOMAIN, d, sig, sizeof sig);
	CHECKF(n > 0, "%s: sign", name);
	CHECKF(checkpoint_verify(k, d, sig, n) == 0, "%s: the signer's signature", name);
	CHECKF(checkpoint_verify(k, d2, sig, n) == HSMCA_ERR_AUTH, "%s: another row", name);
	CHECKF(checkpoint_verify(other, d, sig, n) == HSMCA_ERR_AUTH, "%s: another key", name);
	sig[n / 2] ^= 0x01;
	CHECKF(checkpoint_verify(k, d, sig, n) == HSMCA_ERR_AUTH, "%s: a changed byte", name);
	CHECKF(checkpoint_verify(k, d, sig, 0) == HSMCA_ERR_AUTH, "%s: empty", name);
	n = sign_as_signer(k, wrong_md, FRAME_CHECKPOINT_DOMAIN, d, sig, sizeof sig);
	CHECKF(n > 0 && checkpoint_verify(k, d, sig, n) == HSMCA_ERR_AUTH, "%s: another hash", name);
	n = sign_as_signer(k, md, NULL, d, sig, sizeof sig);
	CHECKF(n > 0 && checkpoint_verify(k, d, sig, n) == HSMCA_ERR_AUTH, "%s: without the domain", name);
	EVP_PKEY_free(k);
	EVP_PKEY_free(other);
}

/* The anchor file (ckanchor.c): one canonical line, parsed strictly; written durably and read back. */
static void test_anchor(void)
{
	static const char h[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	struct ckanchor a;
	char why[CONF_ERR_MAX], line[256];
	snprintf(line, sizeof line, "1660:%s checkpoint\n", h);
	CHECK(ckanchor_parse((const uint8_t *)line, strlen(line), &a, why) == 0 && a.audit_id == 1660 &&
	      a.hash[0] == 0x00 && a.hash[31] == 0xff && !strcmp(a.label, "checkpoint"));
	snprintf(line, sizeof line, "9223372036854775807:%s k\n", h);
	CHECK(ckanchor_parse((const uint8_t *)line, strlen(line), &a, why) == 0 && a.audit_id == INT64_MAX);
	static const char *const bad[] = { "0:%s k\n", "01:%s k\n", "-1:%s k\n", "9223372036854775808:%s k\n",
					   "1:%s k", "1:%s k\r\n", "1:%s  k\n", "1:%s\n", "1:%s k\n\n", " 1:%s k\n",
					   "1:%s k x\n", "1;%s k\n", "1:%s\tk\n", "12345678901234567890:%s k\n" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(line, sizeof line, bad[i], h);
		CHECKF(ckanchor_parse((const uint8_t *)line, strlen(line), &a, why) == HSMCA_ERR_PARSE && a.audit_id == 0,
		       "refused: %s", bad[i]);
	}
	snprintf(line, sizeof line, "1:%.62s k\n", h);
	CHECK(ckanchor_parse((const uint8_t *)line, strlen(line), &a, why) == HSMCA_ERR_PARSE);
	snprintf(line, sizeof line, "1:%sAB k\n", h); /* 66 digits */
	CHECK(ckanchor_parse((const uint8_t *)line, strlen(line), &a, why) == HSMCA_ERR_PARSE);
	snprintf(line, sizeof line, "1:00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff k\n");
	CHECK(ckanchor_parse((const uint8_t *)line, strlen(line), &a, why) == HSMCA_ERR_PARSE);
	CHECK(ckanchor_parse((const uint8_t *)"1:0\0", 4, &a, why) == HSMCA_ERR_PARSE);

	/* written, replaced, read back; a missing file is NOTFOUND, a bad one PARSE */
	char dir[] = "/tmp/unit-anchor-XXXXXX", path[64];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/anchor", dir);
	CHECK(ckanchor_read(path, &a, why) == HSMCA_ERR_NOTFOUND);
	struct ckanchor w = { .audit_id = 42 }, r;
	memset(w.hash, 0xab, sizeof w.hash);
	snprintf(w.label, sizeof w.label, "ck");
	CHECK(ckanchor_write(path, &w, why) == 0 && ckanchor_read(path, &r, why) == 0 && r.audit_id == 42 &&
	      !memcmp(r.hash, w.hash, sizeof w.hash) && !strcmp(r.label, "ck"));
	w.audit_id = 43;
	struct stat st;
	CHECK(ckanchor_write(path, &w, why) == 0 && ckanchor_read(path, &r, why) == 0 && r.audit_id == 43 &&
	      stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	char tmp[80];
	snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
	CHECK(access(tmp, F_OK) != 0); /* renamed away */
	FILE *f = fopen(path, "w");
	CHECK(f && fputs("43:ab k\n", f) >= 0 && fclose(f) == 0);
	CHECK(ckanchor_read(path, &r, why) == HSMCA_ERR_PARSE && strstr(why, path) != NULL);
	snprintf(tmp, sizeof tmp, "%s/nodir/anchor", dir);
	CHECK(ckanchor_write(tmp, &w, why) == HSMCA_ERR_IO && strstr(why, "open") != NULL);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_anchor();
	test_digest();
	test_key("P-256", key_new("EC", "P-256", 0), key_new("EC", "P-256", 0), EVP_sha256(), EVP_sha384());
	test_key("P-384", key_new("EC", "P-384", 0), key_new("EC", "P-384", 0), EVP_sha384(), EVP_sha256());
	test_key("RSA", key_new("RSA", NULL, 2048), key_new("RSA", NULL, 2048), EVP_sha256(), EVP_sha384());
	return check_done("unit_checkpoint");
}
