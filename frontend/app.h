/* The frontend's process-wide state (read-only after start-up) and the per-worker state. */
#ifndef HSMCA_APP_H
#define HSMCA_APP_H

#include <openssl/x509.h>
#include <stdatomic.h>

#include "db.h"
#include "fconfig.h"
#include "intent.h"
#include "issuerfit.h"
#include "policy.h"
#include "profile.h"
#include "sgn_client.h"

struct ratelimit;
struct committer;

#define APP_FORMER_ISSUERS_MAX 16

struct app_issuer {
	X509 *cert;                 /* the issuing CA's certificate */
	struct policy_issuer facts; /* what the signer will check, computed once */
};

struct app {
	struct fconfig conf;
	struct profiles profiles;
	struct app_issuer issuers[PROF_MAX]; /* parallel to profiles.p */
	char *profile_def[PROF_MAX];         /* owned, parallel to profiles.p: as recorded (profrec.h) */
	X509 *checkpoint_cert;               /* owned: conf.checkpoint_cert read, or NULL */
	X509 *former_issuers[APP_FORMER_ISSUERS_MAX]; /* owned: conf.former_issuers read (n_former of them) */
	size_t n_former;
	char *chain_pem;                     /* owned: conf.chain as read, served by GET /api/v1/ca/chain */
	size_t chain_len;
	/* owned, parallel to profiles.p: the chain of the profile's issuer (its issuer_cert, then each CA of
	 * conf.chain that issued the one before, up to a self-signed one), sent with each certificate issued */
	char *issuer_chain[PROF_MAX];
	/* owned, parallel to former_issuers: the same for each of them (a renewal it signed, collected later) */
	char *former_chain[APP_FORMER_ISSUERS_MAX];
	/* parallel to profiles.p: the same CAs, for checking names and EKUs against them (issuerfit.h) */
	struct issuerfit issuer_fit[PROF_MAX];
	struct ratelimit *rl;
	/* HMAC keys of renewal challenges, derived from the intent key (and from intent_key_accept's, has_intent_key_accept):
	 * every frontend of the database makes and takes the same challenges, also across a restart */
	unsigned char renew_key[INTENT_MAC_LEN], renew_key_accept[INTENT_MAC_LEN];
	uint8_t intent_key[INTENT_KEY_LEN]; /* MACs stored intents (intent.h; from intent_key_file) */
	uint8_t intent_key_accept[INTENT_KEY_LEN]; /* intent_key_accept_file: also accepted (a rotation) */
	bool has_intent_key_accept;
	struct committer *committer; /* group commit of intents and results (NULL: per-worker transactions) */
	atomic_ulong issued, refused, failed, auth_failures, shed; /* shed: 503 past max_inflight, or waited past timeout_seconds (pool.c) */
	atomic_ulong cross_site; /* POSTs refused as another site's page's (http_cross_site) */
	atomic_ulong password_checks; /* scrypt verifications run (a herd of one login counts once: pwflight.c) */
	/* audit checkpoints stored by this process (checkpoint.c): the last row covered, when, and failed tries */
	atomic_llong checkpoint_row, checkpoint_unix;
	atomic_ulong checkpoint_failures;
	atomic_int checkpoint_tampered; /* 1 once the log was found not to extend a signed head */
	atomic_ulong intents_refused;   /* stored intents failed unsigned for their MAC (intent.h) */
	atomic_ulong rows_refused;      /* account and API key rows refused for their MAC (rowmac.h) */
	/* profiles.p[i]'s definition (or its issuer's certificate) is not the newest on the record: another
	 * frontend of the database started with another profiles file since (profrec_check); refused here */
	atomic_bool profile_diverged[PROF_MAX];
	atomic_bool profiles_recorded; /* this process's start-up record is written (profrec_record) */
};

/* profiles.p[i] (p) may be used for issuance here: its definition is the recorded one (profile_diverged) */
static inline bool app_profile_current(const struct app *a, const struct profile *p)
{
	return !atomic_load(&a->profile_diverged[p - a->profiles.p]);
}

/* One per worker thread: its own database connection and signer connection. */
struct pool;
struct worker {
	struct app *app;
	struct pool *pool; /* the pool this worker belongs to (NULL outside one, e.g. in unit tests) */
	unsigned id;
	struct db *db;
	struct sgn_client sgn;
	bool sgn_open;
	/* set by a handler that handed its job on (pool_job_done finishes it later): the worker must not
	 * touch the job again; pool_run clears it */
	bool deferred;
};

/* Loads profiles, issuer certificates, the checkpoint certificate and the chain named in conf. */
int app_load(struct app *a, char *err) HSMCA_WUR;
/* At exit, with the threads that read a still running: wipes the renewal challenge key, the intent keys, the
 * profiles' authsign keys and the credential cache, frees nothing. */
void app_wipe(struct app *a);
/* Gives db the keys its account and API key rows are checked and written with (db_set_row_keys): a's intent
 * key and, during a rotation, its accepted one. */
void app_db_keys(const struct app *a, struct db *db);
/* The chain (PEM, a's) to send with certificate der, which key issuer (a label) signed: that of a profile whose
 * issuer it is, else that of a former issuer that signed it (X509_check_issued and its signature), else
 * conf.chain. */
const char *app_chain_for(const struct app *a, const char *issuer, const uint8_t *der, size_t der_len);

#endif
