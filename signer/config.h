/* The signer's configuration: read once at start (common/conf.c format), unknown keys are errors with the
 * line number. The per-key profile pinned here is the only policy the signer applies. */
#ifndef HSMCA_SGN_CONFIG_H
#define HSMCA_SGN_CONFIG_H

#include <limits.h>
#include <stdbool.h>

#include "err.h"
#include "landlock.h"
#include "policy.h"
#include "quorum.h"

#define SGN_PIN_VERIFIER_LEN 32 /* QUORUM_VERIFIER_LEN (asserted in unseal.c) */

#define SGN_MAX_KEYS 16
#define SGN_MAX_WORKERS 16
#define SGN_PATH_MAX 512
#define SGN_NAME_MAX 64

struct sgn_key_conf {
	char name[SGN_NAME_MAX];
	char label[SGN_NAME_MAX];
	char cert[SGN_PATH_MAX];
	char issuer_cert[SGN_PATH_MAX]; /* "" for a root */
	struct policy_profile profile;
	bool have_ops;
};

struct sgn_config {
	char module[SGN_PATH_MAX];
	char token_label[SGN_NAME_MAX];
	char token_serial[SGN_NAME_MAX];
	char p11kit_server_address[SGN_PATH_MAX];
	char socket[SGN_PATH_MAX];
	char control_socket[SGN_PATH_MAX];
	char user[SGN_NAME_MAX];
	char socket_group[SGN_NAME_MAX];
	unsigned workers;
	/* sealed: shares presented are discarded after this long without a new one (a quorum is collected within
	 * it, or starts again), and no control connection stays open longer */
	unsigned unseal_timeout_seconds;
	/* the ceremony's PIN verifier (pin.verifier, hex): shares that rebuild another PIN are refused before
	 * C_Login (quorum_login) */
	bool has_pin_verifier;
	uint8_t pin_verifier[SGN_PIN_VERIFIER_LEN];
	/* optional: the ceremony's custodians.roster ("NAME:INDEX, ..."): a share is taken only under the name
	 * the roster gives its index, so the unseal's record names who took part (quorum.h) */
	struct quorum_roster custodians;
	bool session_copy;
	/* an in-process module (no p11kit_server_address): the directories it reads and writes once running
	 * (SoftHSM: its directories.tokendir), absolute; Landlock confines every file access to them */
	unsigned n_module_dirs;
	char module_dirs[SGN_LANDLOCK_DIRS_MAX][SGN_PATH_MAX];
	unsigned n_keys;
	struct sgn_key_conf keys[SGN_MAX_KEYS];
};

/* Advice on a key the signer runs with but a careful deployment would not: a CA key without ca_permitted (or
 * with it but without ca_permitted_dn: a choice for Go clients, said once at start-up), a key that signs audit
 * checkpoints as well as certificates, CRLs or OCSP responses. */
struct sgn_advice {
	const char *event; /* the log event's name */
	const char *why;   /* static: "key NAME " + why reads as a sentence */
};
#define SGN_ADVICE_MAX 3
/* Fills out[] (static strings) for key k; returns how many. */
unsigned sgn_key_advice(const struct sgn_key_conf *k, struct sgn_advice out[SGN_ADVICE_MAX]);

/* The directory of an absolute socket path sock ("/run/hsmca/signer.sock" -> "/run/hsmca") into out. */
void sgn_config_socket_dir(const char *sock, char out[SGN_PATH_MAX]);

/* Reads and validates path; on error err (CONF_ERR_MAX) says which line and why. */
int sgn_config_load(const char *path, struct sgn_config *out, char *err) HSMCA_WUR;
/* The same over text[0..len) (not NUL-terminated), name standing for the path in errors. */
int sgn_config_parse(const char *name, const char *text, size_t len, struct sgn_config *out, char *err) HSMCA_WUR;

#endif
