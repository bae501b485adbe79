#include "checkpoint.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint_sig.h"
#include "conf.h"
#include "log.h"
#include "span.h"

#define CHECKPOINT_SIGNER_TIMEOUT_MS 10000

struct checkpoint_state {
	struct app *app;
	EVP_PKEY *key; /* borrowed from the issuer certificate, which lives as long as the process */
	struct db *db;
	struct sgn_client sgn;
	bool sgn_open;
	int64_t done; /* the last row covered by a checkpoint; -1 until read from the database */
};

static int checkpoint_db_fail(struct checkpoint_state *st, int rc, char *why)
{
	snprintf(why, DB_ERR_MAX, "database: %s", db_errmsg(st->db));
	db_close(st->db); /* reconnect next time */
	st->db = NULL;
	return rc;
}

/* Has the signer sign digest; the signature into sig. A connection that fails (the signer restarted since
 * the last checkpoint) is replaced once. */
static int checkpoint_sign(struct checkpoint_state *st, const uint8_t *digest, struct dbuf *sig, char *why)
{
	const struct fconfig *c = &st->app->conf;
	int rc = 0;

	for (int attempt = 0; attempt < 2; attempt++) {
		bool fresh = !st->sgn_open;
		if (fresh) {
			if ((rc = sgn_client_open_timeout(&st->sgn, c->signer_socket, 1, CHECKPOINT_SIGNER_TIMEOUT_MS))) {
				snprintf(why, DB_ERR_MAX, "signer: cannot connect to %s", c->signer_socket);
				return rc;
			}
			st->sgn_open = true;
		}
		rc = sgn_client_sign(&st->sgn, FRAME_SIGN_CHECKPOINT, c->checkpoint_key, digest, CHECKPOINT_HASH_LEN,
				     sig);
		if (rc == 0)
			return 0;
		if (rc == HSMCA_ERR_POLICY) {
			snprintf(why, DB_ERR_MAX, "signer refused: %s", st->sgn.err_msg);
			return rc;
		}
		snprintf(why, DB_ERR_MAX, "signer: %s", hsmca_strerror(rc));
		sgn_client_close(&st->sgn);
		st->sgn_open = false;
		if (fresh)
			break;
	}
	return rc;
}

/* One look at the head: 0 if it is covered (already, or by the checkpoint just stored). */
static int checkpoint_once(struct checkpoint_state *st, char *why)
{
	const struct fconfig *c = &st->app->conf;
	uint8_t head[DB_AUDIT_HASH_LEN], digest[CHECKPOINT_HASH_LEN];
	char err[DB_ERR_MAX], head_hex[2 * DB_AUDIT_HASH_LEN + 1];
	struct dbuf sig;
	int64_t id;
	int rc;

	if (!st->db && (rc = db_open(c->database, &st->db, err))) {
		snprintf(why, DB_ERR_MAX, "database: %s", err);
		return rc;
	}
	if (st->done < 0 && (rc = db_checkpoint_last(st->db, &st->done)))
		return checkpoint_db_fail(st, rc, why);
	if ((rc = db_audit_head(st->db, &id, head)))
		return checkpoint_db_fail(st, rc, why);
	if (id == 0 || id == st->done)
		return 0;
	if ((rc = checkpoint_digest(id, head, digest))) {
		snprintf(why, DB_ERR_MAX, "digest: %s", hsmca_strerror(rc));
		return rc;
	}
	dbuf_init(&sig);
	if ((rc = checkpoint_sign(st, digest, &sig, why)))
		goto out;
	if ((rc = checkpoint_verify(st->key, digest, sig.data, sig.len))) {
		snprintf(why, DB_ERR_MAX, "the signature of key %s does not verify under its certificate",
			 c->checkpoint_key);
		goto out;
	}
	if ((rc = db_checkpoint_insert(st->db, id, head, c->checkpoint_key, sig.data, sig.len))) {
		checkpoint_db_fail(st, rc, why);
		goto out;
	}
	st->done = id;
	atomic_store(&st->app->checkpoint_row, (long long)id);
	atomic_store(&st->app->checkpoint_unix, (long long)time(NULL));
	span_hex(head, DB_AUDIT_HASH_LEN, head_hex);
	log_event("info", "audit_checkpoint", "audit_id=%" PRId64 " head=%s key=%s", id, head_hex, c->checkpoint_key);
out:
	dbuf_free(&sig);
	return rc;
}

static void *checkpoint_main(void *arg)
{
	struct checkpoint_state *st = arg;
	char why[DB_ERR_MAX], logged[DB_ERR_MAX] = "";

	for (;;) {
		sleep(st->app->conf.checkpoint_seconds);
		why[0] = '\0';
		if (checkpoint_once(st, why)) {
			atomic_fetch_add(&st->app->checkpoint_failures, 1);
			if (strcmp(why, logged) != 0)
				log_event("warn", "audit_checkpoint_failed", "why=\"%s\" effect=\"retried in %u s\"", why,
					  st->app->conf.checkpoint_seconds);
			snprintf(logged, sizeof logged, "%s", why);
		} else if (logged[0]) {
			log_event("info", "audit_checkpoint_resumed", "after=\"%s\"", logged);
			logged[0] = '\0';
		}
	}
	return NULL;
}

int checkpoint_start(struct app *a, char *err)
{
	static struct checkpoint_state st;
	pthread_t t;

	if (!a->conf.checkpoint_key[0]) {
		log_event("info", "audit_checkpoints_off", "why=\"no checkpoint_key in the configuration\"");
		return 0;
	}
	for (unsigned i = 0; i < a->profiles.n && !st.key; i++)
		if (!strcmp(a->profiles.p[i].issuer, a->conf.checkpoint_key))
			st.key = X509_get0_pubkey(a->issuers[i].cert);
	if (!st.key) {
		snprintf(err, CONF_ERR_MAX,
			 "checkpoint_key %s: no profile has it as issuer (its issuer_cert is needed to check the "
			 "signatures)", a->conf.checkpoint_key);
		return HSMCA_ERR_CONFIG;
	}
	st.app = a;
	st.done = -1;
	st.sgn.fd = -1;
	if (pthread_create(&t, NULL, checkpoint_main, &st) != 0) {
		snprintf(err, CONF_ERR_MAX, "cannot start the checkpoint thread");
		return HSMCA_ERR_NOMEM;
	}
	pthread_detach(t);
	return 0;
}
