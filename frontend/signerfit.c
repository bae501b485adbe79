#include "signerfit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pinwire.h"
#include "profcheck.h"

#define SIGNERFIT_PREFIX "error: "

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

int signerfit_check(const struct app *a, unsigned timeout_ms, bool warn)
{
	struct sgn_client c;
	struct dbuf reply;
	struct pinwire_hello *h = NULL;
	struct profcheck_key keys[PINWIRE_KEYS_MAX];
	char *text = NULL;
	size_t text_len = 0;
	unsigned bad;
	int rc = 0;
	dbuf_init(&reply);
	if (sgn_client_open_hello(&c, a->conf.signer_socket, timeout_ms, &reply)) {
		log_event("warn", "signer_keys_unchecked",
			  "why=\"the signer did not answer (sealed, down or hung): the profiles were not checked "
			  "against its keys\"");
		goto out;
	}
	sgn_client_close(&c);
	h = malloc(sizeof(*h));
	if (!h) {
		rc = HSMCA_ERR_NOMEM;
		goto out;
	}
	if (reply.failed || !pinwire_hello_parse(span_make(reply.data, reply.len), h)) {
		/* a signer of an earlier release (its reply names keys only) while the frontend is upgraded first, the
		 * signer kept running rather than unsealed again: it still applies its pins to every request */
		log_event("warn", "signer_keys_unchecked",
			  "why=\"the signer's HELLO reply (%zu bytes) carries no key pins this frontend reads (a signer "
			  "of an earlier release?): the profiles were not checked against its keys\"",
			  reply.len);
		goto out;
	}
	for (unsigned i = 0; i < h->n; i++)
		keys[i] = (struct profcheck_key){ h->k[i].label, h->k[i].label, &h->k[i].pin };
	FILE *f = open_memstream(&text, &text_len);
	if (!f) {
		rc = HSMCA_ERR_NOMEM;
		goto out;
	}
	bad = profcheck_run(keys, h->n, &a->profiles, f);
	if (fclose(f) != 0 || !text) {
		rc = HSMCA_ERR_NOMEM;
		goto out;
	}
	signerfit_log(text, warn ? "warn" : "error");
	if (bad && !warn)
		rc = HSMCA_ERR_POLICY;
	else if (bad)
		log_event("warn", "signer_keys", "keys=%u profiles=%u unfit=%u why=\"served anyway (signer_profile_check = "
			  "warn): their requests get the signer's refusal\"", h->n, a->profiles.n, bad);
	else
		log_event("info", "signer_keys", "keys=%u profiles=%u fit=yes", h->n, a->profiles.n);
out:
	free(text);
	free(h);
	dbuf_free(&reply);
	return rc;
}
