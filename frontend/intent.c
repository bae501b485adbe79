#include "intent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "conf.h"

static const char intent_domain[] = "hsmca-intent-v1"; /* and its NUL, in the MAC */
static const char held_domain[] = "hsmca-intent-held-v1";
static const char release_domain[] = "hsmca-release-v1";

int intent_key_parse(const uint8_t *buf, size_t n, uint8_t key[INTENT_KEY_LEN])
{
	char digits[2 * INTENT_KEY_LEN + 1];
	size_t k = n;
	uint8_t any = 0;
	int rc = HSMCA_ERR_PARSE;

	if (n > INTENT_KEY_READ_MAX)
		goto fail;
	if (k && buf[k - 1] == '\n') { /* one line end: "\n" or "\r\n" */
		k--;
		if (k && buf[k - 1] == '\r')
			k--;
	}
	if (k != 2 * INTENT_KEY_LEN)
		goto fail;
	memcpy(digits, buf, k);
	digits[k] = 0; /* an embedded NUL shortens the string, and conf_value_hex refuses it */
	if (!conf_value_hex(digits, key, INTENT_KEY_LEN))
		goto fail;
	for (size_t i = 0; i < INTENT_KEY_LEN; i++)
		any |= key[i];
	if (!any) {
		rc = HSMCA_ERR_AUTH;
		goto fail;
	}
	OPENSSL_cleanse(digits, sizeof digits);
	return 0;
fail:
	OPENSSL_cleanse(digits, sizeof digits);
	OPENSSL_cleanse(key, INTENT_KEY_LEN);
	return rc;
}

int intent_key_read(const char *what, const char *path, uint8_t key[INTENT_KEY_LEN], char *err)
{
	uint8_t raw[INTENT_KEY_READ_MAX + 1];
	struct stat st;
	size_t n = 0;
	int rc = HSMCA_ERR_IO, fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK); /* a FIFO must not block */

	OPENSSL_cleanse(key, INTENT_KEY_LEN);
	if (fd < 0) {
		snprintf(err, CONF_ERR_MAX, "%s %s: %s", what, path, strerror(errno));
		return HSMCA_ERR_IO;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, CONF_ERR_MAX, "%s %s: not a regular file", what, path);
		rc = HSMCA_ERR_CONFIG;
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) { /* its owner could read or replace it */
		snprintf(err, CONF_ERR_MAX, "%s %s: owned by uid %u, neither root nor this process's user", what,
			 path, (unsigned)st.st_uid);
		rc = HSMCA_ERR_CONFIG;
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, CONF_ERR_MAX, "%s %s: group or others may access it (mode %03o; chmod 600)", what,
			 path, (unsigned)(st.st_mode & 0777));
		rc = HSMCA_ERR_CONFIG;
		goto out;
	}
	while (n < sizeof raw) { /* one byte past the longest key file: enough to see a longer one */
		ssize_t r = read(fd, raw + n, sizeof raw - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, CONF_ERR_MAX, "%s %s: %s", what, path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if ((rc = intent_key_parse(raw, n, key)))
		snprintf(err, CONF_ERR_MAX, "%s %s: %s", what, path,
			 rc == HSMCA_ERR_AUTH ? "the key is all zero"
					      : "not 64 hex digits and at most one line end (openssl rand -hex 32)");
out:
	OPENSSL_cleanse(raw, sizeof raw);
	close(fd);
	return rc;
}

/* u16 or u32 big-endian length, then the bytes */
static int intent_mac_field(EVP_MAC_CTX *m, const void *p, size_t len, int width)
{
	uint8_t h[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };
	return EVP_MAC_update(m, h + 4 - width, (size_t)width) && EVP_MAC_update(m, p, len);
}

bool intent_key_wiped(const uint8_t key[INTENT_KEY_LEN])
{
	uint8_t any = 0;
	for (size_t i = 0; i < INTENT_KEY_LEN; i++)
		any |= ((const volatile uint8_t *)key)[i];
	return any == 0;
}

int intent_hmac_parts(const uint8_t key[INTENT_KEY_LEN], const char *domain, const struct intent_part *parts,
		      size_t n, uint8_t out[INTENT_MAC_LEN])
{
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
				OSSL_PARAM_construct_end() };
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *m = NULL;
	size_t outl = 0;
	int rc = HSMCA_ERR_CRYPTO;

	for (size_t i = 0; i < n; i++)
		if ((parts[i].width == 2 && parts[i].len > 0xffff) || (parts[i].width == 4 && parts[i].len > 0xffffffffu) ||
		    (parts[i].width != 0 && parts[i].width != 2 && parts[i].width != 4))
			return HSMCA_ERR_LIMIT;
	/* a MAC under a wiped key would be stored with an intent (and failed as forged by the next start's
	 * recovery), or would call a stored intent forged: neither, it is an error (the row stays as it is) */
	if (intent_key_wiped(key))
		return HSMCA_ERR_CRYPTO;
	if (!(mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) || !(m = EVP_MAC_CTX_new(mac)) ||
	    !EVP_MAC_init(m, key, INTENT_KEY_LEN, params) ||
	    !EVP_MAC_update(m, (const uint8_t *)domain, strlen(domain) + 1))
		goto out;
	for (size_t i = 0; i < n; i++)
		if (parts[i].width ? !intent_mac_field(m, parts[i].p, parts[i].len, parts[i].width)
				   : !EVP_MAC_update(m, parts[i].p, parts[i].len))
			goto out;
	if (!EVP_MAC_final(m, out, &outl, INTENT_MAC_LEN) || outl != INTENT_MAC_LEN || intent_key_wiped(key))
		goto out; /* wiped meanwhile: the MAC may be under part of it */
	rc = 0;
out:
	EVP_MAC_CTX_free(m);
	EVP_MAC_free(mac);
	return rc;
}

/* HMAC-SHA-256(key, domain with its NUL || u16 serial (lowercase) [|| u16 issuer || u32 TBS, unless issuer is
 * NULL]) */
static int intent_hmac(const uint8_t key[INTENT_KEY_LEN], const char *domain, const char *serial_hex,
		       const char *issuer, const uint8_t *tbs, size_t tbs_len, uint8_t out[INTENT_MAC_LEN])
{
	char serial[64];
	size_t sl = strlen(serial_hex);

	if (sl >= sizeof serial)
		return HSMCA_ERR_LIMIT;
	for (size_t i = 0; i <= sl; i++) /* with its NUL */
		serial[i] = (char)(serial_hex[i] >= 'A' && serial_hex[i] <= 'F' ? serial_hex[i] + 32 : serial_hex[i]);
	const struct intent_part parts[] = { { serial, sl, 2 },
					     { issuer, issuer ? strlen(issuer) : 0, 2 },
					     { tbs, tbs_len, 4 } };
	return intent_hmac_parts(key, domain, parts, issuer ? 3 : 1, out);
}

int intent_mac(const uint8_t key[INTENT_KEY_LEN], const char *serial_hex, const char *issuer, const uint8_t *tbs,
	       size_t tbs_len, uint8_t out[INTENT_MAC_LEN])
{
	return intent_hmac(key, intent_domain, serial_hex, issuer, tbs, tbs_len, out);
}

int intent_mac_held(const uint8_t key[INTENT_KEY_LEN], const char *serial_hex, const char *issuer, const uint8_t *tbs,
		    size_t tbs_len, uint8_t out[INTENT_MAC_LEN])
{
	return intent_hmac(key, held_domain, serial_hex, issuer, tbs, tbs_len, out);
}

int intent_release_mac(const uint8_t key[INTENT_KEY_LEN], const char *serial_hex, uint8_t out[INTENT_MAC_LEN])
{
	return intent_hmac(key, release_domain, serial_hex, NULL, NULL, 0, out);
}

int intent_match(const uint8_t key[INTENT_KEY_LEN], const uint8_t *also,
		 int (*fn)(const uint8_t *key, const void *ctx, uint8_t *out), const void *ctx, const uint8_t *mac)
{
	uint8_t want[INTENT_MAC_LEN];
	int rc = HSMCA_ERR_AUTH;
	for (int k = 0; k < 2 && rc == HSMCA_ERR_AUTH; k++) {
		const uint8_t *kk = k ? also : key;
		if (!kk)
			continue;
		if (fn(kk, ctx, want)) {
			rc = HSMCA_ERR_CRYPTO;
			break;
		}
		if (!CRYPTO_memcmp(want, mac, INTENT_MAC_LEN))
			rc = 0;
	}
	OPENSSL_cleanse(want, sizeof want);
	return rc;
}

struct intent_check_ctx {
	const char *domain, *serial_hex, *issuer;
	const uint8_t *tbs;
	size_t tbs_len;
};

static int intent_check_fn(const uint8_t *key, const void *vctx, uint8_t *out)
{
	const struct intent_check_ctx *c = vctx;
	return intent_hmac(key, c->domain, c->serial_hex, c->issuer, c->tbs, c->tbs_len, out);
}

/* 0 if mac is the MAC (intent: issuer non-NULL; release: NULL) under key or also; HSMCA_ERR_AUTH if under
 * neither; HSMCA_ERR_CRYPTO (why says so) if it could not be computed */
static int intent_check(const uint8_t key[INTENT_KEY_LEN], const uint8_t *also, const char *domain,
			const char *serial_hex, const char *issuer, const uint8_t *tbs, size_t tbs_len,
			const uint8_t *mac, char *why, size_t why_len)
{
	const struct intent_check_ctx c = { domain, serial_hex, issuer, tbs, tbs_len };
	int rc = intent_match(key, also, intent_check_fn, &c, mac);
	if (rc == HSMCA_ERR_CRYPTO)
		snprintf(why, why_len, "intent-mac: the MAC could not be computed");
	return rc;
}

int intent_verify(const uint8_t key[INTENT_KEY_LEN], const uint8_t *also, const char *serial_hex, const char *issuer,
		  const uint8_t *tbs, size_t tbs_len, const uint8_t *mac, bool legacy, char *why, size_t why_len)
{
	int rc;
	if (!mac) {
		if (legacy)
			return 0;
		snprintf(why, why_len, "intent-mac: the stored intent has no MAC (not written by this appliance's frontend)");
		return HSMCA_ERR_AUTH;
	}
	rc = intent_check(key, also, intent_domain, serial_hex, issuer, tbs, tbs_len, mac, why, why_len);
	if (rc == HSMCA_ERR_AUTH)
		snprintf(why, why_len, "intent-mac: the stored intent's MAC does not match (changed, or written without "
			 "this appliance's intent key)");
	return rc;
}

int intent_verify_held(const uint8_t key[INTENT_KEY_LEN], const uint8_t *also, const char *serial_hex,
		       const char *issuer, const uint8_t *tbs, size_t tbs_len, const uint8_t *mac, char *why, size_t why_len)
{
	return mac ? intent_check(key, also, held_domain, serial_hex, issuer, tbs, tbs_len, mac, why, why_len)
		   : HSMCA_ERR_AUTH;
}

int intent_release_verify(const uint8_t key[INTENT_KEY_LEN], const uint8_t *also, const char *serial_hex,
			  enum intent_gate gate, const uint8_t *mac, char *why, size_t why_len)
{
	int rc;
	if (gate != INTENT_GATED)
		return 0;
	if (!mac) {
		snprintf(why, why_len, "release-mac: the request needed an approval, and its release has no MAC (not "
			 "approved through this appliance's frontend)");
		return HSMCA_ERR_AUTH;
	}
	rc = intent_check(key, also, release_domain, serial_hex, NULL, NULL, 0, mac, why, why_len);
	if (rc == HSMCA_ERR_AUTH)
		snprintf(why, why_len, "release-mac: the request needed an approval, and its release's MAC does not "
			 "match (not approved through this appliance's frontend)");
	return rc;
}
