#include "signerfit.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pinwire.h"
#include "profcheck.h"

#define SIGNERFIT_PREFIX "error: "

static pthread_mutex_t signerfit_mu = PTHREAD_MUTEX_INITIALIZER;
static uint8_t signerfit_seen[SHA256_DIGEST_LENGTH]; /* under signerfit_mu: the HELLO reply checked last */
static bool signerfit_have;                           /* under signerfit_mu */
static atomic_int signerfit_bad = -1;

int signerfit_unfit(void)
{
	return atomic_load(&signerfit_bad);
}

/* true: reply is the one checked last (nothing to do); false: it is now (the caller checks it) */
static bool signerfit_same(const struct dbuf *reply)
{
	static const uint8_t none;
	uint8_t d[SHA256_DIGEST_LENGTH];
	SHA256(reply->data ? reply->data : &none, reply->len, d);
	pthread_mutex_lock(&signerfit_mu);
	bool same = signerfit_have && !memcmp(d, signerfit_seen, sizeof(d));
	memcpy(signerfit_seen, d, sizeof(d));
	signerfit_have = true;
	pthread_mutex_unlock(&signerfit_mu);
	return same;
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

/* The profiles against the pins of reply, each mismatch logged at level; 0 with *bad their count, or
 * HSMCA_ERR_PARSE (the reply carries no pins this frontend reads: logged), HSMCA_ERR_NOMEM. */
static int signerfit_eval(const struct app *a, const struct dbuf *reply, const char *level, unsigned *nkeys,
			  unsigned *bad)
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
	for (unsigned i = 0; i < h->n; i++)
		keys[i] = (struct profcheck_key){ h->k[i].label, h->k[i].label, &h->k[i].pin };
	FILE *f = open_memstream(&text, &text_len);
	if (!f) {
		rc = HSMCA_ERR_NOMEM;
		goto out;
	}
	*bad = profcheck_run(keys, h->n, &a->profiles, f);
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

int signerfit_check(const struct app *a, unsigned timeout_ms, bool warn)
{
	struct sgn_client c;
	struct dbuf reply;
	unsigned nkeys = 0, bad = 0;
	int rc = 0;
	dbuf_init(&reply);
	if (sgn_client_open_hello(&c, a->conf.signer_socket, timeout_ms, &reply)) {
		log_event("warn", "signer_keys_unchecked",
			  "why=\"the signer did not answer (sealed, down or hung): the profiles were not checked "
			  "against its keys (they will be on the first connection to it)\"");
		goto out;
	}
	sgn_client_close(&c);
	(void)signerfit_same(&reply);
	rc = signerfit_eval(a, &reply, warn ? "warn" : "error", &nkeys, &bad);
	if (rc == HSMCA_ERR_PARSE) {
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	atomic_store(&signerfit_bad, (int)bad);
	if (bad && !warn)
		rc = HSMCA_ERR_POLICY;
	else if (bad)
		log_event("warn", "signer_keys", "keys=%u profiles=%u unfit=%u why=\"served anyway (signer_profile_check = "
			  "warn): their requests get the signer's refusal\"", nkeys, a->profiles.n, bad);
	else
		log_event("info", "signer_keys", "keys=%u profiles=%u fit=yes", nkeys, a->profiles.n);
out:
	dbuf_free(&reply);
	return rc;
}

void signerfit_recheck(const struct app *a, const struct dbuf *reply)
{
	unsigned nkeys = 0, bad = 0;
	if (signerfit_same(reply))
		return;
	int rc = signerfit_eval(a, reply, a->conf.signer_check_warn ? "warn" : "error", &nkeys, &bad);
	atomic_store(&signerfit_bad, rc ? -1 : (int)bad);
	if (rc == HSMCA_ERR_NOMEM)
		log_event("warn", "signer_keys_unchecked", "why=\"out of memory: the profiles were not checked against "
			  "the keys of the signer's new HELLO reply\"");
	else if (rc == 0 && bad)
		log_event(a->conf.signer_check_warn ? "warn" : "error", "signer_keys",
			  "changed=yes keys=%u profiles=%u unfit=%u why=\"the signer's keys or pins changed while this "
			  "frontend runs: requests of the unfit profiles get the signer's refusal\"", nkeys,
			  a->profiles.n, bad);
	else if (rc == 0)
		log_event("info", "signer_keys", "changed=yes keys=%u profiles=%u fit=yes", nkeys, a->profiles.n);
}
