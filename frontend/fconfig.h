/* The frontend's configuration file (common/conf.c format, [frontend] section), read once at start. */
#ifndef HSMCA_FCONFIG_H
#define HSMCA_FCONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define FCONF_PATH_MAX 512
#define FCONF_TEXT_MAX 512
#define FCONF_ADDR_MAX 64
#define FCONF_USER_MAX 64
#define FCONF_LABEL_MAX 64 /* a signer key label, as a profile's issuer (PROF_NAME_MAX) */
/* sign_wait_seconds: below the recovery lease (600 s, db_priv.h), after which another frontend's recovery pass
 * takes a pending row and signs its TBS too, with room for the intent's commit and the signer's answer (the
 * committer's 30 s per reply) */
#define FCONF_SIGN_WAIT_DEFAULT 300
#define FCONF_SIGN_WAIT_MAX 480

/* Listeners: plain HTTP (listen), HTTPS (tls_listen, needs tls_cert and tls_key), or both; at least one.
 * client_ca (needs tls_listen) makes the HTTPS listener ask for client certificates, optional for the client. */
struct fconfig {
	char listen_addr[FCONF_ADDR_MAX];   /* "" with listen_port 0: no plain HTTP listener */
	unsigned listen_port;
	char tls_addr[FCONF_ADDR_MAX];      /* tls_listen: "" with tls_port 0: no HTTPS listener */
	unsigned tls_port;
	char database[FCONF_TEXT_MAX];      /* libpq conninfo of the hsmca_frontend role */
	char signer_socket[FCONF_PATH_MAX];
	char profiles[FCONF_PATH_MAX];
	char chain[FCONF_PATH_MAX];         /* PEM: issuing CA then root */
	unsigned threads;                   /* workers doing PostgreSQL and signer work */
	size_t max_body;
	unsigned max_headers;
	size_t max_header_size;
	unsigned timeout_seconds;
	unsigned max_inflight;              /* requests in the workers' or the committer's hands; more get 503 */
	unsigned max_conns_per_address;     /* open connections from one IPv4 address or IPv6 /64 (0: no cap) */
	unsigned conn_rate_per_address;     /* new connections a second from one (bursts of twice it; 0: no limit) */
	unsigned max_connections;           /* open client connections in all (0 in the file: from the descriptor
					     * limit, listen_conn_cap) */
	unsigned max_conn_requests;         /* max_requests_per_connection: the reply to the last one closes it */
	unsigned max_conn_seconds;          /* max_connection_seconds: a request after this age closes it too */
	unsigned recover_after_seconds;     /* pending rows older than this are re-signed by the recovery pass */
	unsigned db_timeout_seconds;        /* the service's database sessions: a statement's longest run, and
					     * connect and TCP timeouts (db_set_service_timeout); 0: none */
	unsigned sign_wait_seconds;         /* the longest a committed intent waits to be sent to the signer; then
					     * 503 signer-unavailable, the row left to the recovery pass */
	char tls_cert[FCONF_PATH_MAX];      /* PEM chain served on tls_listen: the leaf, then its issuer(s) */
	char tls_key[FCONF_PATH_MAX];       /* PEM private key of that leaf (unencrypted; read before the drop) */
	char client_ca[FCONF_PATH_MAX];     /* optional: PEM bundle trusted for client certificates (clientAuth) */
	char user[FCONF_USER_MAX];          /* started as root: drop to this user once the sockets are bound */
	/* audit checkpoints (checkpoint.h): the signer key that signs the chain head every checkpoint_seconds
	 * (default 60) while it moves, and the certificate its signatures are checked under: checkpoint_cert (a
	 * dedicated key, hsmca-ceremony checkpoint) or, without it, the issuer_cert of a profile whose issuer
	 * is that key; checkpoint_key "" (the default): no checkpoints */
	char checkpoint_key[FCONF_LABEL_MAX];
	char checkpoint_cert[FCONF_PATH_MAX];
	unsigned checkpoint_seconds;
	/* optional: the newest checkpoint this frontend signed, kept outside the database (ckanchor.h); at start
	 * an older newest stored checkpoint is tampering, not the head to go on from. "" (the default): none */
	char checkpoint_anchor_file[FCONF_PATH_MAX];
	/* required: the file of the key that MACs every stored intent (intent.h), read before the drop */
	char intent_key_file[FCONF_PATH_MAX];
	/* optional: a second key whose MACs are also accepted (never written), for replacing the key */
	char intent_key_accept_file[FCONF_PATH_MAX];
	/* optional: PEM certificates of issuing CAs no profile names any more (an intermediate replaced): the
	 * certificates they issued are still this appliance's (renewal, login certificates: certauth.h) */
	char former_issuers[FCONF_PATH_MAX];
	/* signer_profile_check = refuse (the default) | warn: at start-up a profile the running signer's keys would
	 * refuse certificates of (signerfit.h) stops the frontend, or (warn) is logged and served, its requests
	 * getting the signer's refusal (a profile made ready for a key the signer does not hold yet) */
	bool signer_check_warn;
};

/* Reads and validates path; err (CONF_ERR_MAX) says which line and why. */
int fconfig_load(const char *path, struct fconfig *out, char *err) HSMCA_WUR;
/* The same over text[0..len) (not NUL-terminated), name standing for the path in errors. */
int fconfig_parse(const char *name, const char *text, size_t len, struct fconfig *out, char *err) HSMCA_WUR;

#endif
