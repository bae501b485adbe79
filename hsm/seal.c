#include "seal.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#include "frame.h"

/* scrypt needs 128 * r * N bytes (plus a little): 256 MiB at the largest N we accept */
#define SEAL_SCRYPT_MAXMEM ((uint64_t)(128u * SEAL_SCRYPT_R + 1024u) << SEAL_LOGN_MAX)

bool seal_name_ok(const char *name, size_t len)
{
	_Static_assert(SEAL_NAME_MAX == FRAME_NAME_MAX, "one rule for a custodian's name");
	return frame_name_ok(span_make(name, len));
}

bool seal_printable(const struct span *s, size_t max)
{
	if (s->len == 0 || s->len > max)
		return false;
	for (size_t i = 0; i < s->len; i++)
		if (s->data[i] < 0x20 || s->data[i] > 0x7e)
			return false;
	return true;
}

static void seal_copy_str(char *dst, const struct span *s)
{
	memcpy(dst, s->data, s->len);
	dst[s->len] = 0;
}

bool seal_file_parse(struct span in, struct seal_file *out)
{
	struct span start = in, magic, serial, label, name, split, ctlen_hdr;
	uint8_t format, r, p;
	uint16_t ct_len;
	memset(out, 0, sizeof(*out));
	if (in.len > SEAL_FILE_MAX)
		return false;
	if (!span_get_bytes(&in, &magic, SEAL_MAGIC_LEN) || memcmp(magic.data, SEAL_MAGIC, SEAL_MAGIC_LEN) != 0 ||
	    !span_get_u8(&in, &format) || format != SEAL_FORMAT || !span_get_u8(&in, &out->info.index) ||
	    !span_get_u8(&in, &out->info.m) || !span_get_u8(&in, &out->info.n) ||
	    !span_get_u8_prefixed(&in, &serial) || !span_get_u8_prefixed(&in, &label) ||
	    !span_get_u8_prefixed(&in, &name) || !span_get_u8(&in, &out->info.log_n) || !span_get_u8(&in, &r) ||
	    !span_get_u8(&in, &p) || !span_get_bytes(&in, &split, SEAL_SPLIT_ID_LEN) ||
	    !span_get_bytes(&in, &out->salt, SEAL_SALT_LEN) ||
	    !span_get_bytes(&in, &out->nonce, SEAL_NONCE_LEN))
		return false;
	ctlen_hdr = in;
	if (!span_get_u16(&in, &ct_len) || !span_get_bytes(&in, &out->ct, ct_len) ||
	    !span_get_bytes(&in, &out->tag, SEAL_TAG_LEN) || span_len(&in) != 0)
		return false;
	if (out->info.index == 0 || out->info.m < 2 || out->info.m > out->info.n || out->info.index > out->info.n)
		return false;
	if (!seal_printable(&serial, SEAL_SERIAL_MAX) || !seal_printable(&label, SEAL_LABEL_MAX) ||
	    !seal_name_ok((const char *)name.data, name.len))
		return false;
	if (out->info.log_n < SEAL_LOGN_MIN || out->info.log_n > SEAL_LOGN_MAX || r != SEAL_SCRYPT_R ||
	    p != SEAL_SCRYPT_P || ct_len == 0 || ct_len > SEAL_SHARE_MAX)
		return false;
	seal_copy_str(out->info.serial, &serial);
	seal_copy_str(out->info.label, &label);
	seal_copy_str(out->info.custodian, &name);
	memcpy(out->info.split_id, split.data, SEAL_SPLIT_ID_LEN);
	out->aad.data = start.data;
	out->aad.len = (size_t)(ctlen_hdr.data - start.data) + 2;
	return true;
}

static int seal_kdf(const char *pass, size_t pass_len, const uint8_t *salt, uint8_t log_n, uint8_t key[SEAL_KEY_LEN])
{
	if (EVP_PBE_scrypt(pass, pass_len, salt, SEAL_SALT_LEN, (uint64_t)1 << log_n, SEAL_SCRYPT_R, SEAL_SCRYPT_P,
			   SEAL_SCRYPT_MAXMEM, key, SEAL_KEY_LEN) != 1)
		return HSMCA_ERR_CRYPTO;
	return 0;
}

/* AES-256-GCM one-shot; enc=1 encrypts (writes tag), enc=0 decrypts (checks tag). */
static int seal_gcm(int enc, const uint8_t key[SEAL_KEY_LEN], const struct span *nonce, const struct span *aad,
		    const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[SEAL_TAG_LEN])
{
	int rc = HSMCA_ERR_CRYPTO, n = 0, f = 0;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	if (!c)
		return HSMCA_ERR_NOMEM;
	if (EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, (int)nonce->len, NULL) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, key, nonce->data, enc) != 1 ||
	    EVP_CipherUpdate(c, NULL, &n, aad->data, (int)aad->len) != 1 ||
	    EVP_CipherUpdate(c, out, &n, in, (int)len) != 1)
		goto out;
	if (!enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + n, &f) != 1) {
		rc = enc ? HSMCA_ERR_CRYPTO : HSMCA_ERR_AUTH;
		goto out;
	}
	if (enc && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, tag) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

int seal_share_write(const struct seal_info *info, const uint8_t *share, size_t len, const char *pass,
		     size_t pass_len, struct dbuf *out)
{
	uint8_t salt[SEAL_SALT_LEN], nonce[SEAL_NONCE_LEN], key[SEAL_KEY_LEN], ct[SEAL_SHARE_MAX], tag[SEAL_TAG_LEN];
	size_t sl = strlen(info->serial), ll = strlen(info->label), nl = strlen(info->custodian), start = out->len;
	int rc = HSMCA_ERR_LIMIT;
	struct span serial = span_make(info->serial, sl), label = span_make(info->label, ll);
	/* nothing seal_file_parse would refuse to read back */
	if (len == 0 || len > SEAL_SHARE_MAX || !seal_printable(&serial, SEAL_SERIAL_MAX) ||
	    !seal_printable(&label, SEAL_LABEL_MAX) || !seal_name_ok(info->custodian, nl) || info->log_n < SEAL_LOGN_MIN ||
	    info->log_n > SEAL_LOGN_MAX)
		return HSMCA_ERR_LIMIT;
	if (RAND_priv_bytes(salt, sizeof(salt)) != 1 || RAND_bytes(nonce, sizeof(nonce)) != 1)
		return HSMCA_ERR_CRYPTO;
	dbuf_add(out, SEAL_MAGIC, SEAL_MAGIC_LEN);
	dbuf_add_u8(out, SEAL_FORMAT);
	dbuf_add_u8(out, info->index);
	dbuf_add_u8(out, info->m);
	dbuf_add_u8(out, info->n);
	dbuf_add_u8(out, (uint8_t)sl);
	dbuf_add(out, info->serial, sl);
	dbuf_add_u8(out, (uint8_t)ll);
	dbuf_add(out, info->label, ll);
	dbuf_add_u8(out, (uint8_t)nl);
	dbuf_add(out, info->custodian, nl);
	dbuf_add_u8(out, info->log_n);
	dbuf_add_u8(out, SEAL_SCRYPT_R);
	dbuf_add_u8(out, SEAL_SCRYPT_P);
	dbuf_add(out, info->split_id, SEAL_SPLIT_ID_LEN);
	dbuf_add(out, salt, sizeof(salt));
	dbuf_add(out, nonce, sizeof(nonce));
	dbuf_add_u16(out, (uint16_t)len);
	if (out->failed)
		return HSMCA_ERR_NOMEM;
	rc = seal_kdf(pass, pass_len, salt, info->log_n, key);
	if (rc)
		goto out;
	struct span ns = span_make(nonce, sizeof(nonce)), aad = span_make(out->data + start, out->len - start);
	rc = seal_gcm(1, key, &ns, &aad, share, len, ct, tag);
	if (rc)
		goto out;
	dbuf_add(out, ct, len);
	dbuf_add(out, tag, sizeof(tag));
	rc = out->failed ? HSMCA_ERR_NOMEM : 0;
out:
	explicit_bzero(key, sizeof(key));
	explicit_bzero(ct, sizeof(ct));
	return rc;
}

int seal_share_open(struct span file, const char *pass, size_t pass_len, const char *expect_serial,
		    struct seal_info *out_info, uint8_t *out_share, size_t *out_len)
{
	struct seal_file f;
	uint8_t key[SEAL_KEY_LEN], tag[SEAL_TAG_LEN];
	int rc;
	if (!seal_file_parse(file, &f))
		return HSMCA_ERR_PARSE;
	*out_info = f.info;
	if (expect_serial && strcmp(expect_serial, f.info.serial) != 0)
		return HSMCA_ERR_AUTH;
	rc = seal_kdf(pass, pass_len, f.salt.data, f.info.log_n, key);
	if (rc)
		goto out;
	memcpy(tag, f.tag.data, SEAL_TAG_LEN);
	rc = seal_gcm(0, key, &f.nonce, &f.aad, f.ct.data, f.ct.len, out_share, tag);
	if (rc) {
		explicit_bzero(out_share, f.ct.len);
		goto out;
	}
	*out_len = f.ct.len;
out:
	explicit_bzero(key, sizeof(key));
	return rc;
}
