#include "checkpoint.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint_sig.h"
#include "ckanchor.h"
#include "conf.h"
#include "log.h"
#include "span.h"

#define CHECKPOINT_SIGNER_TIMEOUT_MS 10000
#define CHECKPOINT_CANDIDATES 32 /* stored rows looked at per page, the newest first */
#define CHECKPOINT_FORGED_LOG_MAX 16 /* forged checkpoints named one by one per pass; the rest are counted */

struct checkpoint_state {
	struct app *app;
	EVP_PKEY *key; /* borrowed from checkpoint_cert or the issuer certificate (both live as long as the process) */
	struct db *db;
	struct sgn_client sgn;
	bool sgn_open;
	/* the last head signed by this process, or taken from a stored checkpoint whose signature verified; a new
	 * head is signed only if the rows since it extend it (have_done: read once at start) */
	bool have_done;
	int64_t done;
	uint8_t done_hash[DB_AUDIT_HASH_LEN];
	int64_t seen_id;      /* the highest audit_checkpoints.id looked at (checkpoint_adopt) */
	unsigned long forged; /* stored checkpoints of this key whose signature did not verify */
	int64_t forged_named;  /* the highest such row id logged: each is named once */
	bool anchor_failed;    /* the last write of checkpoint_anchor_file failed (logged once until it works) */
	struct db_checkpoint cand[CHECKPOINT_CANDIDATES];
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

/* checkpoint_once's verdict that the log does not extend a signed head: positive, apart from every HSMCA_ERR_*
 * (a database refusing its login is HSMCA_ERR_AUTH too, and is no tampering) */
#define CKPT_TAMPERED_RC 1
#define CKPT_TAMPERED(...) (snprintf(why, DB_ERR_MAX, __VA_ARGS__), CKPT_TAMPERED_RC)

/* Takes the newest stored checkpoint of this checkpoint_key whose signature verifies, if it is newer than the
 * last head known here (another frontend's, or at start the last one): the rows from ours to it must extend
 * ours. A stored checkpoint whose signature does not verify was not made with this key (the frontend's
 * database role can insert one for any existing row and its hash: 010 checks no more): it is logged once as
 * forged and passed over, so it cannot stop the checkpoints for good; audit-verify names it. Each stored row
 * is looked at once (seen_id), the newest first. Checkpoints of another key (a checkpoint_key that was
 * changed) are audit-verify's to check: with none of its own yet, the first checkpoint of a new key walks the
 * chain from its start. CKPT_TAMPERED_RC (why says what) if the stored checkpoints contradict what this
 * process signed. */
static int checkpoint_adopt(struct checkpoint_state *st, char *why)
{
	uint8_t digest[CHECKPOINT_HASH_LEN];
	size_t n = 0;
	int64_t id, bad, max_id;
	char err[DB_ERR_MAX];
	int rc;

	/* the newest stored row, verified or not, must not lie below what this process knows: the table refuses
	 * UPDATE and DELETE, so a lower one means rows were removed with the triggers off */
	if ((rc = db_checkpoint_newer(st->db, st->app->conf.checkpoint_key, 0, st->cand, 1, &n, &max_id)))
		return checkpoint_db_fail(st, rc, why);
	id = n ? st->cand[0].audit_id : 0;
	if (id == 0) {
		if (st->have_done && st->done > 0)
			return CKPT_TAMPERED("no checkpoint of this key is stored, row %" PRId64 " was signed (by this "
					     "process, or as checkpoint_anchor_file records): checkpoints were deleted", st->done);
		st->have_done = true; /* none yet: the chain starts from row 0 and zeros */
		return 0;
	}
	if (st->have_done && id < st->done)
		return CKPT_TAMPERED("the newest stored checkpoint of this key covers row %" PRId64
				     ", row %" PRId64 " was signed (by this process, or as checkpoint_anchor_file records)"
				     ": checkpoints were deleted", id, st->done);
	if ((rc = db_checkpoint_newer(st->db, st->app->conf.checkpoint_key, st->seen_id, st->cand, CHECKPOINT_CANDIDATES,
				      &n, &max_id)))
		return checkpoint_db_fail(st, rc, why);
	const int64_t named_before = st->forged_named;
	const bool start = !st->have_done;
	unsigned long forged_now = 0;
	bool decided = false; /* a checkpoint that verifies settled the pass */
	for (;;) {
		for (size_t i = 0; i < n && !decided; i++) {
			const struct db_checkpoint *c = &st->cand[i];
			if ((rc = checkpoint_digest(c->audit_id, c->hash, digest)))
				return CKPT_TAMPERED("digest: %s", hsmca_strerror(rc));
			if ((rc = checkpoint_verify(st->key, digest, c->sig, c->sig_len)) == HSMCA_ERR_AUTH) {
				if (c->id <= named_before)
					continue; /* named at an earlier pass that then stopped at tampering */
				if (c->id > st->forged_named)
					st->forged_named = c->id;
				st->forged++;
				if (forged_now++ < CHECKPOINT_FORGED_LOG_MAX)
					log_event("error", "audit_checkpoint_forged",
						  "checkpoint=%" PRId64 " audit_id=%" PRId64 " why=\"its signature does not "
						  "verify under the key's certificate: passed over\"", c->id, c->audit_id);
				continue;
			}
			if (rc)
				return CKPT_TAMPERED("checking the stored checkpoint: %s", hsmca_strerror(rc));
			decided = true;
			if (st->have_done && c->audit_id < st->done)
				break; /* older than what this process knows: nothing to take */
			if (st->have_done && c->audit_id == st->done) {
				if (memcmp(c->hash, st->done_hash, sizeof st->done_hash) != 0)
					return CKPT_TAMPERED("the checkpoint of row %" PRId64 " holds another hash than was "
							     "signed", c->audit_id);
				break;
			}
			if (st->have_done &&
			    (rc = db_audit_verify_range(st->db, st->done, st->done_hash, c->audit_id, c->hash, &bad, err)))
				return rc == HSMCA_ERR_AUTH ? CKPT_TAMPERED("the rows up to the checkpoint of row %" PRId64
									    " do not extend row %" PRId64 ": %s",
									    c->audit_id, st->done, err)
							    : checkpoint_db_fail(st, rc, why);
			st->done = c->audit_id;
			memcpy(st->done_hash, c->hash, sizeof st->done_hash);
		}
		/* At start (nothing known yet) a page of which none verifies is not the end: the next one down may hold
		 * the newest genuine checkpoint, under which the rows may since have been rewritten; taking "none" would
		 * walk the chain from row 0 and sign the rewritten head. (Later passes know their head: what they do
		 * not read of a flood is what they have already checked.) */
		if (decided || !start || n < CHECKPOINT_CANDIDATES)
			break;
		const int64_t last_audit_id = st->cand[n - 1].audit_id, last_id = st->cand[n - 1].id;
		if ((rc = db_checkpoint_older(st->db, st->app->conf.checkpoint_key, last_audit_id, last_id, st->cand,
					      CHECKPOINT_CANDIDATES, &n)))
			return checkpoint_db_fail(st, rc, why);
	}
	if (forged_now > CHECKPOINT_FORGED_LOG_MAX)
		log_event("error", "audit_checkpoint_forged", "count=%lu why=\"%lu more stored checkpoints whose "
			  "signature does not verify were passed over\"", forged_now - CHECKPOINT_FORGED_LOG_MAX,
			  forged_now - CHECKPOINT_FORGED_LOG_MAX);
	st->seen_id = max_id;
	st->have_done = true; /* none verified at start: the chain from row 0, as for a key's first checkpoint */
	return 0;
}

/* Writes the head just signed to checkpoint_anchor_file, if set. A failure is logged (once until a write works
 * again) and does not stop the checkpoints: the journal's audit_checkpoint lines are the other outside copy. */
static void checkpoint_anchor_save(struct checkpoint_state *st)
{
	const struct fconfig *c = &st->app->conf;
	struct ckanchor a = { .audit_id = st->done };
	char why[CONF_ERR_MAX];
	if (!c->checkpoint_anchor_file[0])
		return;
	memcpy(a.hash, st->done_hash, sizeof a.hash);
	snprintf(a.label, sizeof a.label, "%s", c->checkpoint_key);
	if (ckanchor_write(c->checkpoint_anchor_file, &a, why)) {
		if (!st->anchor_failed)
			log_event("error", "audit_anchor_write_failed", "why=\"%s\" effect=\"the anchor may hold an older "
				  "checkpoint; written again at the next one\"", why);
		st->anchor_failed = true;
	} else if (st->anchor_failed) {
		log_event("info", "audit_anchor_written", "audit_id=%" PRId64, a.audit_id);
		st->anchor_failed = false;
	}
}

/* One look at the head: 0 if it is covered (already, or by the checkpoint just stored); CKPT_TAMPERED_RC if
 * the log no longer extends what was signed (nothing is signed then); else a negative HSMCA_ERR_*. */
static int checkpoint_once(struct checkpoint_state *st, char *why)
{
	const struct fconfig *c = &st->app->conf;
	uint8_t head[DB_AUDIT_HASH_LEN], digest[CHECKPOINT_HASH_LEN];
	char err[DB_ERR_MAX], head_hex[2 * DB_AUDIT_HASH_LEN + 1];
	struct dbuf sig;
	int64_t id, bad;
	int rc;

	if (!st->db && (rc = db_open(c->database, &st->db, err))) {
		snprintf(why, DB_ERR_MAX, "database: %s", err);
		return rc;
	}
	if ((rc = checkpoint_adopt(st, why)))
		return rc;
	if ((rc = db_audit_head(st->db, &id, head)))
		return checkpoint_db_fail(st, rc, why);
	if (id < st->done)
		return CKPT_TAMPERED("the chain head is row %" PRId64 ", behind the last checkpoint (row %" PRId64
				     "): rows were cut off", id, st->done);
	if (id == st->done)
		return memcmp(head, st->done_hash, sizeof head) == 0 || id == 0
			       ? 0
			       : CKPT_TAMPERED("row %" PRId64 " no longer has the hash that was signed", id);
	/* the rows since the last signed head must extend it, or the database was rewritten under it */
	if ((rc = db_audit_verify_range(st->db, st->done, st->done_hash, id, head, &bad, err)))
		return rc == HSMCA_ERR_AUTH ? CKPT_TAMPERED("the rows since the checkpoint of row %" PRId64
							    " do not extend it: %s", st->done, err)
					    : checkpoint_db_fail(st, rc, why);
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
		rc = HSMCA_ERR_CRYPTO;
		goto out;
	}
	if ((rc = db_checkpoint_insert(st->db, id, head, c->checkpoint_key, sig.data, sig.len))) {
		checkpoint_db_fail(st, rc, why);
		goto out;
	}
	st->done = id;
	memcpy(st->done_hash, head, sizeof head);
	atomic_store(&st->app->checkpoint_row, (long long)id);
	atomic_store(&st->app->checkpoint_unix, (long long)time(NULL));
	span_hex(head, DB_AUDIT_HASH_LEN, head_hex);
	log_event("info", "audit_checkpoint", "audit_id=%" PRId64 " head=%s key=%s", id, head_hex, c->checkpoint_key);
	checkpoint_anchor_save(st);
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
		int rc = checkpoint_once(st, why);
		if (rc == CKPT_TAMPERED_RC) {
			/* the log does not extend what the HSM signed: sign nothing, say so loudly, keep looking */
			atomic_store(&st->app->checkpoint_tampered, 1);
			atomic_fetch_add(&st->app->checkpoint_failures, 1);
			if (strcmp(why, logged) != 0)
				log_event("error", "audit_log_tampered", "why=\"%s\" effect=\"no checkpoint is signed until "
					  "an operator looks: run hsmca-frontend audit-verify --checkpoint-cert\"", why);
			snprintf(logged, sizeof logged, "%s", why);
		} else if (rc) {
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
	if (a->checkpoint_cert && !(st.key = X509_get0_pubkey(a->checkpoint_cert))) {
		snprintf(err, CONF_ERR_MAX, "checkpoint_cert %s: its public key cannot be used", a->conf.checkpoint_cert);
		return HSMCA_ERR_CONFIG;
	}
	for (unsigned i = 0; i < a->profiles.n && !st.key; i++)
		if (!strcmp(a->profiles.p[i].issuer, a->conf.checkpoint_key))
			st.key = X509_get0_pubkey(a->issuers[i].cert);
	if (!st.key) {
		snprintf(err, CONF_ERR_MAX,
			 "checkpoint_key %s: no checkpoint_cert, and no profile has it as issuer (a certificate of the "
			 "key is needed to check the signatures)", a->conf.checkpoint_key);
		return HSMCA_ERR_CONFIG;
	}
	log_event("info", "audit_checkpoints_on", "key=%s certificate=%s every=%u", a->conf.checkpoint_key,
		  a->checkpoint_cert ? a->conf.checkpoint_cert : "(the profile's issuer_cert)",
		  a->conf.checkpoint_seconds);
	st.app = a;
	st.sgn.fd = -1;
	if (a->conf.checkpoint_anchor_file[0]) {
		/* the newest checkpoint signed here before: the stored ones must reach it (checkpoint_adopt) */
		struct ckanchor an;
		char why[CONF_ERR_MAX], hex[2 * DB_AUDIT_HASH_LEN + 1];
		int rc = ckanchor_read(a->conf.checkpoint_anchor_file, &an, why);
		if (rc == HSMCA_ERR_NOTFOUND) {
			log_event("info", "audit_anchor_none", "file=%s why=\"no checkpoint signed yet with this file: "
				  "written at the first\"", a->conf.checkpoint_anchor_file);
		} else if (rc) {
			snprintf(err, CONF_ERR_MAX, "checkpoint_anchor_file %s", why);
			return HSMCA_ERR_CONFIG;
		} else if (strcmp(an.label, a->conf.checkpoint_key) != 0) {
			log_event("warn", "audit_anchor_other_key", "file=%s key=%s why=\"the anchor is of another "
				  "checkpoint_key: not used; replaced at this key's first checkpoint\"",
				  a->conf.checkpoint_anchor_file, an.label);
		} else {
			st.have_done = true;
			st.done = an.audit_id;
			memcpy(st.done_hash, an.hash, sizeof st.done_hash);
			span_hex(an.hash, DB_AUDIT_HASH_LEN, hex);
			log_event("info", "audit_anchor", "audit_id=%" PRId64 " head=%s why=\"the stored checkpoints and "
				  "the chain must reach this row with this hash\"", an.audit_id, hex);
		}
	}
	if (pthread_create(&t, NULL, checkpoint_main, &st) != 0) {
		snprintf(err, CONF_ERR_MAX, "cannot start the checkpoint thread");
		return HSMCA_ERR_NOMEM;
	}
	pthread_detach(t);
	return 0;
}
