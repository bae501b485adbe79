/* The audit checkpoints' anchor outside the database (checkpoint_anchor_file): the newest checkpoint this
 * frontend signed, as one line "ROW:HEX LABEL\n" (the audit row, the chain's hash at it in 64 lowercase hex
 * digits, the checkpoint key's label). A database owner can switch the triggers off, delete the newest
 * checkpoints with the rows after an older one and put the chain head back: every stored checkpoint still
 * holds. A frontend that starts from its anchor refuses to take an older checkpoint for the head (the
 * checkpoint thread's audit_log_tampered), and `audit-verify --expect` takes the file's ROW:HEX. */
#ifndef HSMCA_CKANCHOR_H
#define HSMCA_CKANCHOR_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "err.h"
#include "fconfig.h"

#define CKANCHOR_MAX 160 /* the longest line: 19 digits, ':', 64 hex digits, ' ', a label, '\n' */

struct ckanchor {
	int64_t audit_id; /* > 0 */
	uint8_t hash[DB_AUDIT_HASH_LEN];
	char label[FCONF_LABEL_MAX]; /* a signer key label (frame_label_ok) */
};

/* Parses the file's bytes buf[0..len): exactly one line as above (no leading zeros, lowercase hex, the final
 * '\n' required), nothing else. 0, or HSMCA_ERR_PARSE with why (CONF_ERR_MAX). */
int ckanchor_parse(const uint8_t *buf, size_t len, struct ckanchor *out, char *why) HSMCA_WUR;
/* Reads and parses path: 0; HSMCA_ERR_NOTFOUND if it does not exist (no checkpoint signed yet); else an error
 * with why (CONF_ERR_MAX). */
int ckanchor_read(const char *path, struct ckanchor *out, char *why) HSMCA_WUR;
/* Replaces path with a's line, durably: written to "path.PID.tmp" (mode 0600, not following a link; the pid
 * so that two processes given one path never write one temporary file), synced, renamed over path, the
 * directory synced. 0, or HSMCA_ERR_IO with why (CONF_ERR_MAX), the file then old or new. */
int ckanchor_write(const char *path, const struct ckanchor *a, char *why) HSMCA_WUR;

#endif
