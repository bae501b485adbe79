/* The signer's runtime state: the module, the token, the keys (with their pinned profiles) and one
 * PKCS#11 session per worker. Built at start-up before the sandbox; read-only afterwards except for each
 * worker's own session. */
#ifndef HSMCA_SGN_STATE_H
#define HSMCA_SGN_STATE_H

#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>

#include "config.h"
#include "p11.h"
#include "pinwire.h"
#include "policy.h"

struct sgn_key {
	const struct sgn_key_conf *conf;
	X509 *cert;
	uint8_t *cert_der; /* owned */
	size_t cert_der_len;
	enum p11_keytype type;
	size_t sig_max; /* the longest signature of the key (EVP_PKEY_get_size: RSA modulus, ECDSA DER), <= P11_SIG_MAX */
	struct policy_issuer issuer;
	CK_OBJECT_HANDLE token_handle;
};

struct sgn_state;

#define SGN_MAILBOX 64 /* connections handed to a worker by another, not yet taken */

struct sgn_worker {
	struct sgn_state *st;
	unsigned id;
	CK_SESSION_HANDLE session;
	CK_OBJECT_HANDLE handle[SGN_MAX_KEYS];
	pthread_t thread;
	atomic_uint nconn;     /* connections this worker serves (for balancing) */
	int mailbox_fd;        /* eventfd: a connection was handed to this worker */
	pthread_mutex_t mb_mu;
	unsigned mb_n;
	int mb_fds[SGN_MAILBOX];
};

struct sgn_state {
	const struct sgn_config *conf;
	struct p11_module mod;
	struct p11_token token;
	CK_SESSION_HANDLE login_session; /* kept open: the login lives as long as one session does */
	unsigned n_keys;
	struct sgn_key keys[SGN_MAX_KEYS];
	unsigned n_workers;
	struct sgn_worker workers[SGN_MAX_WORKERS];
	int listen_fd;
	struct pinwire_unsealed unsealed; /* who unsealed this process, set once before the workers start: HELLO */
	pthread_barrier_t started; /* workers have run their thread set-up (rseq, robust list) */
	pthread_barrier_t start;   /* workers wait here until the sandbox is in place */
};

/* Reads every key's certificate (and issuer_cert), derives its facts (key type, issuer facts, DER) and checks
 * that it can do what the key's operations ask (CA and keyCertSign for cert, pathLenConstraint above 0 for ca,
 * cRLSign for crl, id-kp-OCSPSigning and the issuer for a delegated responder). On failure the keys read so
 * far stay in st for sgn_keys_free. */
int sgn_keys_load_certs(struct sgn_state *st, char *err) HSMCA_WUR;
/* The same load into a state of its own, freed before it returns: check-config's verdict is start-up's. */
int sgn_keys_check_certs(const struct sgn_config *conf, char *err) HSMCA_WUR;
/* After login: finds each private key by label, proves it matches its certificate (sign + verify),
 * opens one session per worker and (session_copy) copies the keys into it. */
int sgn_keys_bind(struct sgn_state *st, char *err) HSMCA_WUR;
/* Finds a key by its PKCS#11 label; NULL if none. */
const struct sgn_key *sgn_key_find(const struct sgn_state *st, const struct span *label, unsigned *out_index);
void sgn_keys_free(struct sgn_state *st);

#endif
