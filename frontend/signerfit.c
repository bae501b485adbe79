#include "signerfit.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "json.h"
#include "log.h"
#include "pinwire.h"
#include "profcheck.h"
#include "signerup.h"

#define SIGNERFIT_PREFIX "error: "

/* Rechecks run one at a time, and the reply's digest is kept only once its check has run: a reply is checked
 * again after a check that could not run (out of memory), and the gauge and the kept digest are of one reply. */
static pthread_mutex_t signerfit_mu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t signerfit_seen[SHA256_DIGEST_LENGTH]; /* under signerfit_mu: the HELLO reply checked last */
static bool signerfit_have;                           /* under signerfit_mu */
static atomic_int signerfit_bad = -1;
/* The signer's unseal record (pinwire_unsealed) seen in a HELLO reply and not yet on the audit log, and the
 * instance recorded last: under signerfit_unseal_mu */
#define SIGNERFIT_UNSEAL_PENDING 4 /* signer processes met before one could be recorded (restarts in a row) */
static pthread_mutex_t signerfit_unseal_mu = PTHREAD_MUTEX_INITIALIZER;
static struct pinwire_unsealed signerfit_unseal_pending[SIGNERFIT_UNSEAL_PENDING]; /* .has: a slot in use */
static uint8_t signerfit_unseal_done[PINWIRE_INSTANCE_LEN];
static bool signerfit_unseal_have_done;
static atomic_bool signerfit_unseal_any; /* a record may be pending: the committer asks at every batch */

/* Under signerfit_unseal_mu: u's process is pending or was recorded last. */
static bool signerfit_unseal_known(const struct pinwire_unsealed *u)
{
	if (signerfit_unseal_have_done && !memcmp(signerfit_unseal_done, u->instance, sizeof(u->instance)))
		return true;
	for (int i = 0; i < SIGNERFIT_UNSEAL_PENDING; i++)
		if (signerfit_unseal_pending[i].has &&
		    !memcmp(signerfit_unseal_pending[i].instance, u->instance, sizeof(u->instance)))
			return true;
	return false;
}

/* Under signerfit_unseal_mu: u queued (the oldest dropped, and said, should the queue be full). */
static void signerfit_unseal_queue(const struct pinwire_unsealed *u)
{
	int slot = 0;
	for (int i = 0; i < SIGNERFIT_UNSEAL_PENDING; i++)
		if (!signerfit_unseal_pending[i].has) {
			slot = i;
			break;
		} else if (signerfit_unseal_pending[i].at < signerfit_unseal_pending[slot].at) {
			slot = i;
		}
	if (signerfit_unseal_pending[slot].has)
		log_event("warn", "signer_unseal_dropped", "why=\"%d signer processes met without a database connection to "
			  "record them: the oldest is not recorded\"", SIGNERFIT_UNSEAL_PENDING);
	signerfit_unseal_pending[slot] = *u;
	atomic_store(&signerfit_unseal_any, true);
}

int signerfit_unfit(void)
{
	return atomic_load(&signerfit_bad);
}

static void signerfit_digest(const struct dbuf *reply, uint8_t d[SHA256_DIGEST_LENGTH])
{
	static const uint8_t none;
	SHA256(reply->data ? reply->data : &none, reply->len, d);
}

/* Each line of profcheck's report as its own event. */
static void signerfit_log(char *text, const char *level)
{
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (!strncmp(line, SIGNERFIT_PREFIX, strlen(SIGNERFIT_PREFIX)))
			line += strlen(SIGNERFIT_PREFIX);
		log_event(level, "profile_unfit_signer", "why=\"%s\"", line);
	}
}

/* The profiles against the pins of reply, each mismatch logged at level; 0 with *nkeys, *unfit (profiles with
 * a mismatch) and *bad (mismatches), or HSMCA_ERR_PARSE (the reply carries no pins this frontend reads:
 * logged), HSMCA_ERR_NOMEM. */
static int signerfit_eval(const struct app *a, const struct dbuf *reply, const char *level, unsigned *nkeys,
			  unsigned *unfit, unsigned *bad)
{
	struct pinwire_hello *h = malloc(sizeof(*h));
	struct profcheck_key keys[PINWIRE_KEYS_MAX];
	char *text = NULL;
	size_t text_len = 0;
	int rc = 0;
	if (!h) {
		rc = HSMCA_ERR_NOMEM;
		goto out;
	}
	if (reply->failed || !pinwire_hello_parse(span_make(reply->data, reply->len), h)) {
		/* a signer of an earlier release (its reply names keys only) while the frontend is upgraded first, the
		 * signer kept running rather than unsealed again: it still applies its pins to every request */
		log_event("warn", "signer_keys_unchecked",
			  "why=\"the signer's HELLO reply (%zu bytes) carries no key pins this frontend reads (a signer "
			  "of an earlier release?): the profiles were not checked against its keys\"",
			  reply->len);
		rc = HSMCA_ERR_PARSE;
		goto out;
	}
	if (h->unsealed.has) { /* a signer process this frontend has not put on the record yet: pending */
		pthread_mutex_lock(&signerfit_unseal_mu);
		if (!signerfit_unseal_known(&h->unsealed))
			signerfit_unseal_queue(&h->unsealed);
		pthread_mutex_unlock(&signerfit_unseal_mu);
	}
	for (unsigned i = 0; i < h->n; i++)
		keys[i] = (struct profcheck_key){ h->k[i].label, h->k[i].label, &h->k[i].pin };
	FILE *f = open_memstream(&text, &text_len);
	if (!f) {
		rc = HSMCA_ERR_NOMEM;
		goto out;
	}
	*bad = profcheck_run(keys, h->n, &a->profiles, f, unfit);
	*nkeys = h->n;
	if (fclose(f) != 0 || !text) {
		rc = HSMCA_ERR_NOMEM;
		goto out;
	}
	signerfit_log(text, level);
out:
	free(text);
	free(h);
	return rc;
}

/* The check's outcome as one event; changed: a recheck under a running frontend. */
static void signerfit_report(const struct app *a, unsigned nkeys, unsigned unfit, unsigned bad, bool warn,
			     bool changed)
{
	const char *ch = changed ? "changed=yes " : "";
	if (!unfit)
		log_event("info", "signer_keys", "%skeys=%u profiles=%u fit=yes", ch, nkeys, a->profiles.n);
	else if (warn || changed)
		log_event(warn ? "warn" : "error", "signer_keys", "%skeys=%u profiles=%u unfit=%u mismatches=%u why=\"%s\"",
			  ch, nkeys, a->profiles.n, unfit, bad,
			  changed ? "the signer's keys or pins changed while this frontend runs: requests of the unfit "
				    "profiles get the signer's refusal"
				  : "served anyway (signer_profile_check = warn): their requests get the signer's refusal");
}

int signerfit_check(const struct app *a, unsigned timeout_ms, bool warn)
{
	struct sgn_client c;
	struct dbuf reply;
	unsigned nkeys = 0, unfit = 0, bad = 0;
	dbuf_init(&reply);
	int rc = sgn_client_open_hello(&c, a->conf.signer_socket, timeout_ms, &reply);
	signerup_note(rc);
	if (rc) {
		rc = 0;
		log_event("warn", "signer_keys_unchecked",
			  "why=\"the signer did not answer (sealed, down or hung): the profiles were not checked "
			  "against its keys (they will be on the first connection to it)\"");
		goto out;
	}
	sgn_client_close(&c);
	rc = signerfit_eval(a, &reply, warn ? "warn" : "error", &nkeys, &unfit, &bad);
	if (rc == HSMCA_ERR_NOMEM)
		goto out;
	pthread_mutex_lock(&signerfit_mu); /* before any worker runs: for the rule, not for a race */
	signerfit_digest(&reply, signerfit_seen);
	signerfit_have = true;
	pthread_mutex_unlock(&signerfit_mu);
	if (rc == HSMCA_ERR_PARSE) {
		rc = 0;
		goto out;
	}
	atomic_store(&signerfit_bad, (int)unfit);
	signerfit_report(a, nkeys, unfit, bad, warn, false);
	if (unfit && !warn)
		rc = HSMCA_ERR_POLICY;
out:
	dbuf_free(&reply);
	return rc;
}

void signerfit_recheck(const struct app *a, const struct dbuf *reply)
{
	uint8_t d[SHA256_DIGEST_LENGTH];
	unsigned nkeys = 0, unfit = 0, bad = 0;
	bool warn = a->conf.signer_check_warn;
	signerfit_digest(reply, d);
	pthread_mutex_lock(&signerfit_mu);
	if (signerfit_have && !memcmp(d, signerfit_seen, sizeof(d))) {
		pthread_mutex_unlock(&signerfit_mu);
		return;
	}
	int rc = signerfit_eval(a, reply, warn ? "warn" : "error", &nkeys, &unfit, &bad);
	if (rc != HSMCA_ERR_NOMEM) { /* checked (or carrying no pins, which a second look does not change) */
		memcpy(signerfit_seen, d, sizeof(d));
		signerfit_have = true;
	}
	atomic_store(&signerfit_bad, rc ? -1 : (int)unfit);
	if (rc == HSMCA_ERR_NOMEM)
		log_event("warn", "signer_keys_unchecked", "why=\"out of memory: the profiles were not checked against "
			  "the keys of the signer's new HELLO reply (again on the next connection)\"");
	else if (rc == 0)
		signerfit_report(a, nkeys, unfit, bad, warn, true);
	pthread_mutex_unlock(&signerfit_mu);
}

int signerfit_open(struct sgn_client *c, const struct app *a, const char *socket, unsigned timeout_ms)
{
	struct dbuf hello;
	dbuf_init(&hello);
	int rc = sgn_client_open_hello(c, socket, timeout_ms, &hello);
	signerup_note(rc);
	if (rc == 0 && a)
		signerfit_recheck(a, &hello);
	dbuf_free(&hello);
	return rc;
}

bool signerfit_unseal_details(const struct pinwire_unsealed *u, struct dbuf *out)
{
	char when[32], num[16];
	struct tm tm;
	time_t t = (time_t)u->at;
	if (u->at > (uint64_t)INT32_MAX * 64 || !gmtime_r(&t, &tm) || !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return false;
	dbuf_add(out, "{\"token\": ", 10);
	json_write_string(out, u->token);
	dbuf_add(out, ", \"unsealed_at\": ", 17);
	json_write_string(out, when);
	dbuf_add(out, ", \"custodians\": [", 17);
	for (unsigned i = 0; i < u->n; i++) {
		dbuf_add(out, i ? ", {\"name\": " : "{\"name\": ", i ? 11 : 9);
		json_write_string(out, u->custodian[i]);
		snprintf(num, sizeof(num), ", \"share\": %u}", (unsigned)u->share[i]);
		dbuf_add(out, num, strlen(num));
	}
	dbuf_add(out, "]}", 3); /* with its NUL */
	return true;
}

/* Takes u (a pending record) out of the queue: recorded, or never to be. */
static void signerfit_unseal_settled(const struct pinwire_unsealed *u)
{
	bool any = false;
	pthread_mutex_lock(&signerfit_unseal_mu);
	for (int i = 0; i < SIGNERFIT_UNSEAL_PENDING; i++) {
		if (signerfit_unseal_pending[i].has &&
		    !memcmp(signerfit_unseal_pending[i].instance, u->instance, sizeof(u->instance)))
			signerfit_unseal_pending[i].has = false;
		any = any || signerfit_unseal_pending[i].has;
	}
	memcpy(signerfit_unseal_done, u->instance, sizeof(u->instance));
	signerfit_unseal_have_done = true;
	atomic_store(&signerfit_unseal_any, any);
	pthread_mutex_unlock(&signerfit_unseal_mu);
}

int signerfit_record_unsealed(struct db *db)
{
	for (int round = 0; round < SIGNERFIT_UNSEAL_PENDING && atomic_load(&signerfit_unseal_any); round++) {
		struct pinwire_unsealed u = { .has = false };
		char object[2 * PINWIRE_INSTANCE_LEN + 1];
		struct dbuf details;
		bool written = false;
		pthread_mutex_lock(&signerfit_unseal_mu);
		for (int i = 0; i < SIGNERFIT_UNSEAL_PENDING; i++) /* the oldest first */
			if (signerfit_unseal_pending[i].has && (!u.has || signerfit_unseal_pending[i].at < u.at))
				u = signerfit_unseal_pending[i];
		pthread_mutex_unlock(&signerfit_unseal_mu);
		if (!u.has)
			return 0;
		span_hex(u.instance, sizeof(u.instance), object);
		dbuf_init(&details);
		if (!signerfit_unseal_details(&u, &details)) { /* a time no calendar gives: said once, not tried again */
			dbuf_free(&details);
			log_event("warn", "signer_unseal_unrecorded", "instance=%s why=\"the signer's unseal time %llu is "
				  "no date\"", object, (unsigned long long)u.at);
			signerfit_unseal_settled(&u);
			continue;
		}
		/* once per signer process on the log, whichever frontend saw it first (another may have, or this one
		 * before a restart): checked and written under a lock of its own, in a transaction of its own */
		int rc = details.failed ? HSMCA_ERR_NOMEM
					: db_audit_append_once(db, "signer", "signer.unsealed", object,
							       (const char *)details.data, &written);
		dbuf_free(&details);
		if (rc) {
			log_event("warn", "signer_unseal_unrecorded", "instance=%s why=\"%s\" (tried again later)", object,
				  rc == HSMCA_ERR_NOMEM ? "out of memory" : db_errmsg(db));
			return rc;
		}
		signerfit_unseal_settled(&u);
		if (written)
			log_event("info", "signer_unseal_recorded", "instance=%s custodians=%u", object, u.n);
	}
	return 0;
}
