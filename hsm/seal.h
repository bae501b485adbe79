/* Sealed share files: one Shamir share of the token PIN, encrypted to its custodian under a passphrase
 * (scrypt -> AES-256-GCM). Everything in the header (format, index, m, n, token serial and label, custodian,
 * KDF parameters, split id, salt, nonce, ciphertext length) is authenticated data. Layout in docs/share-file.md. */
#ifndef HSMCA_SEAL_H
#define HSMCA_SEAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "der.h"
#include "err.h"
#include "span.h"

#define SEAL_MAGIC "HSMCASH1"
#define SEAL_MAGIC_LEN 8
#define SEAL_FORMAT 1
#define SEAL_SPLIT_ID_LEN 16 /* random, the same in every share of one split */
#define SEAL_SALT_LEN 16
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16
#define SEAL_KEY_LEN 32
#define SEAL_SHARE_MAX 64
#define SEAL_SERIAL_MAX 16
#define SEAL_LABEL_MAX 32
#define SEAL_NAME_MAX 64
#define SEAL_LOGN_MIN 14
#define SEAL_LOGN_MAX 18 /* 256 MiB of scrypt memory */
#define SEAL_LOGN_DEFAULT 15
#define SEAL_SCRYPT_R 8
#define SEAL_SCRYPT_P 1
#define SEAL_FILE_MAX 512

struct seal_info {
	uint8_t index; /* Shamir x coordinate, 1..255 */
	uint8_t m;
	uint8_t n;
	char serial[SEAL_SERIAL_MAX + 1];
	char label[SEAL_LABEL_MAX + 1];
	char custodian[SEAL_NAME_MAX + 1];
	uint8_t log_n;
	uint8_t split_id[SEAL_SPLIT_ID_LEN]; /* shares of different splits never combine */
};

/* A parsed (not yet opened) share file; spans borrow the file bytes. */
struct seal_file {
	struct seal_info info;
	struct span aad; /* header bytes through the ciphertext length */
	struct span salt, nonce, ct, tag;
};

/* Bounded parser: rejects bad magic/format, out-of-range fields, bad names, trailing bytes. */
bool seal_file_parse(struct span in, struct seal_file *out);

/* Seals share (len <= SEAL_SHARE_MAX) for info's custodian; appends the file to out. */
int seal_share_write(const struct seal_info *info, const uint8_t *share, size_t len, const char *pass,
		     size_t pass_len, struct dbuf *out) HSMCA_WUR;

/* Parses and decrypts a share file. If expect_serial is non-NULL the file must name that token.
 * out_share must hold SEAL_SHARE_MAX bytes (locked memory). HSMCA_ERR_AUTH: wrong passphrase or tampered. */
int seal_share_open(struct span file, const char *pass, size_t pass_len, const char *expect_serial,
		    struct seal_info *out_info, uint8_t *out_share, size_t *out_len) HSMCA_WUR;

/* Name rule shared with the ceremony: 1..SEAL_NAME_MAX of [A-Za-z0-9._-]. */
bool seal_name_ok(const char *name, size_t len);
/* A share file's serial or token label: 1..max bytes of printable ASCII (0x20..0x7e); shared with the
 * ceremony's config, so that no token gets a label its shares could not carry. */
bool seal_printable(const struct span *s, size_t max);

#endif
