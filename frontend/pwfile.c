#include "pwfile.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "err.h"
#include "passline.h"
#include "readall.h"

int pwfile_parse(const uint8_t *buf, size_t n, char *out, size_t *len)
{
	size_t k = 0;
	int rc = HSMCA_ERR_PARSE;

	*len = 0;
	if (n > PWFILE_READ_MAX || passline_len(buf, n, &k) || k > AUTH_PW_MAX) /* one line, as a passphrase file */
		goto fail;
	if (k < PWFILE_MIN) {
		rc = HSMCA_ERR_AUTH;
		goto fail;
	}
	memcpy(out, buf, k);
	out[k] = 0;
	*len = k;
	return 0;
fail:
	OPENSSL_cleanse(out, PWFILE_OUT);
	return rc;
}

int pwfile_read(const char *path, char *out, size_t *len)
{
	uint8_t raw[PWFILE_READ_MAX];
	size_t n = 0;
	int rc = HSMCA_ERR_IO, fd = path ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY) : -1;

	*len = 0;
	if (fd < 0) {
		OPENSSL_cleanse(out, PWFILE_OUT);
		return HSMCA_ERR_IO;
	}
	/* up to PWFILE_READ_MAX bytes: enough to see a line that is too long (readall stops one past its max, and
	 * the bytes it holds then are refused as such) */
	rc = readall_fd(fd, raw, sizeof raw - 1, false, &n);
	if (rc == HSMCA_ERR_LIMIT)
		n = sizeof raw;
	if (rc == 0 || rc == HSMCA_ERR_LIMIT)
		rc = pwfile_parse(raw, n, out, len);
	if (rc == HSMCA_ERR_IO)
		OPENSSL_cleanse(out, PWFILE_OUT);
	OPENSSL_cleanse(raw, sizeof raw);
	close(fd);
	return rc;
}
