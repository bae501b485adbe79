#include "unseal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "frame.h"
#include "log.h"
#include "quorum.h"
#include "secmem.h"

_Static_assert(SGN_PIN_VERIFIER_LEN == QUORUM_VERIFIER_LEN, "one verifier length");

#define SGN_UNSEAL_CONN_SECONDS 60 /* one custodian's connection, at most (the CLI needs one round trip) */

struct sgn_unseal {
	struct sgn_state *st;
	struct quorum q;
	bool done;
	long long last_share; /* monotonic seconds of the last accepted share */
	/* set when the token refused the PIN the quorum rebuilt and pin_verifier matched: any quorum of this
	 * split rebuilds that PIN again, and each C_Login with it is one more failure the token counts (a real
	 * HSM locks after a few). No share is taken after it; a restart with the right pin_verifier ends it. */
	char stopped[QUORUM_ERR_MAX + 256];
};

static long long sgn_unseal_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec;
}

/* Shares presented but no quorum within unseal_timeout_seconds of the last one: discarded (wiped), so a
 * stray or planted share cannot hold the collection (its split, its m of n) for ever. */
static int sgn_unseal_expire(struct sgn_unseal *u)
{
	if (u->q.count == 0 || sgn_unseal_now() - u->last_share < (long long)u->st->conf->unseal_timeout_seconds)
		return 0;
	log_event("warn", "unseal_shares_expired", "presented=%u need=%u seconds=%u", u->q.count, u->q.m,
		  u->st->conf->unseal_timeout_seconds);
	quorum_free(&u->q);
	return quorum_init(&u->q, u->st->token.serial, &u->st->conf->custodians);
}

/* Milliseconds until the shares presented expire (-1: none presented). */
static int sgn_unseal_wait_ms(const struct sgn_unseal *u)
{
	if (u->q.count == 0)
		return -1;
	long long left = u->last_share + (long long)u->st->conf->unseal_timeout_seconds - sgn_unseal_now();
	return left <= 0 ? 0 : (int)(left * 1000 + 1000);
}

static void sgn_unseal_reply(int fd, uint32_t id, int ok, const char *text)
{
	struct dbuf out;
	dbuf_init(&out);
	if (ok)
		frame_build_ok(&out, id, (const uint8_t *)text, strlen(text));
	else
		frame_build_err(&out, id, FRAME_E_SHARE, text);
	if (!out.failed)
		(void)send(fd, out.data, out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
	dbuf_free(&out);
}

static void sgn_unseal_status(struct sgn_unseal *u, char *text, size_t len)
{
	if (u->stopped[0])
		snprintf(text, len, "sealed: %s", u->stopped);
	else if (u->q.count == 0)
		snprintf(text, len, "sealed: no shares presented");
	else
		snprintf(text, len, "sealed: %u of %u shares presented (token %s)", u->q.count, u->q.m, u->q.serial);
}

/* Who unsealed this process, for the HELLO reply (the frontend puts it on its audit log): a random id of
 * this process, the time, the token and each custodian with their share's index. Left out (has false) if
 * the random id cannot be had or a name would not travel (pinwire_unsealed's rules). */
static void sgn_unseal_record(struct sgn_unseal *u)
{
	struct pinwire_unsealed *r = &u->st->unsealed;
	_Static_assert(SEAL_NAME_MAX <= PINWIRE_NAME_MAX && SHAMIR_SHARES_MAX_Q <= 255, "custodians travel whole");
	memset(r, 0, sizeof(*r));
	if (RAND_bytes(r->instance, sizeof(r->instance)) != 1 || u->q.count > PINWIRE_CUSTODIANS_MAX ||
	    strlen(u->q.serial) > PINWIRE_SERIAL_MAX)
		goto skip;
	struct timespec now; /* clock_gettime: in the vDSO and on the allowlist; time() is neither everywhere */
	clock_gettime(CLOCK_REALTIME, &now);
	r->at = (uint64_t)now.tv_sec;
	r->n = u->q.count;
	snprintf(r->token, sizeof(r->token), "%s", u->q.serial);
	for (unsigned i = 0; i < u->q.count; i++) {
		snprintf(r->custodian[i], sizeof(r->custodian[i]), "%s", u->q.custodians[i]);
		r->share[i] = u->q.xs[i];
	}
	r->has = true;
	struct dbuf probe; /* what would not parse is not sent: the HELLO reply would fail whole */
	dbuf_init(&probe);
	pinwire_hello_add_unsealed(&probe, r);
	r->has = !probe.failed;
	dbuf_free(&probe);
	if (r->has)
		return;
skip:
	memset(r, 0, sizeof(*r));
	log_event("warn", "unseal_record_unsent", "why=\"the unseal record cannot be sent to the frontend\"");
}

static int sgn_unseal_share(struct sgn_unseal *u, int fd, const struct frame *f)
{
	struct span share, pass;
	char err[QUORUM_ERR_MAX], text[QUORUM_ERR_MAX + 256];
	char *pw;
	int rc;
	if (!frame_unseal_body_parse(f->body, &share, &pass))
		return HSMCA_ERR_PARSE;
	if (u->stopped[0]) { /* not even opened: nothing of it is needed */
		log_event("warn", "unseal_share_refused", "why=\"no share is taken: an earlier quorum's PIN was refused "
			  "by the token\"");
		sgn_unseal_reply(fd, f->req_id, 0, u->stopped);
		return 0;
	}
	pw = secmem_alloc(FRAME_PASS_MAX + 1);
	if (!pw)
		return HSMCA_ERR_NOMEM;
	memcpy(pw, pass.data, pass.len);
	rc = quorum_add(&u->q, share, pw, pass.len, err);
	secmem_free(pw, FRAME_PASS_MAX + 1);
	if (rc) {
		char q[2 * QUORUM_ERR_MAX + 3]; /* err may quote a share's unauthenticated header: one token */
		log_event("warn", "unseal_share_refused", "why=%s", log_quote(err, q, sizeof(q)));
		sgn_unseal_reply(fd, f->req_id, 0, err);
		return 0;
	}
	char cq[2 * QUORUM_ERR_MAX + 3];
	u->last_share = sgn_unseal_now();
	log_event("info", "unseal_share_accepted", "custodian=%s index=%u have=%u need=%u",
		  log_quote(u->q.custodians[u->q.count - 1], cq, sizeof(cq)), u->q.xs[u->q.count - 1], u->q.count,
		  u->q.m);
	if (!quorum_ready(&u->q)) {
		sgn_unseal_status(u, text, sizeof(text));
		sgn_unseal_reply(fd, f->req_id, 1, text);
		return 0;
	}
	rc = quorum_login(&u->q, &u->st->mod, u->st->login_session,
			  u->st->conf->has_pin_verifier ? u->st->conf->pin_verifier : NULL, err);
	if (rc) {
		char q[2 * QUORUM_ERR_MAX + 3];
		CK_RV rv = rc == HSMCA_ERR_P11 ? p11_last_rv() : CKR_OK;
		log_event("error", "unseal_login_failed", "why=%s", log_quote(err, q, sizeof(q)));
		quorum_free(&u->q);
		if (rc == HSMCA_ERR_P11 && rv != CKR_PIN_INCORRECT && rv != CKR_PIN_LOCKED) {
			/* the token or the connection to it failed, not the PIN: a sealed signer cannot reconnect
			 * inside its sandbox, so every later quorum would fail alike. Exit to be restarted (sealed,
			 * a fresh module and connection), as a lost token does when unsealed */
			snprintf(text, sizeof(text), "%s: the token is unavailable; the signer exits to be started "
				 "again, sealed: present the shares again once it is back", err);
			sgn_unseal_reply(fd, f->req_id, 0, text);
			log_event("error", "hsm_lost", "why=\"C_Login failed with %s while sealed; exiting to be "
				  "restarted\"", p11_rv_name(rv));
			return HSMCA_ERR_P11;
		}
		if (rc == HSMCA_ERR_P11) {
			snprintf(u->stopped, sizeof(u->stopped), "%s, though pin_verifier matches it: pin_verifier is "
				 "stale (a resplit changed the PIN) or the PIN is locked. No share is taken now (each "
				 "quorum would cost another failed login); restart the signer with the current split's "
				 "pin_verifier", err);
			log_event("error", "unseal_stopped", "why=\"the token refused the verified PIN (%s): no "
				  "further share is taken until a restart\"", p11_rv_name(rv));
			sgn_unseal_reply(fd, f->req_id, 0, u->stopped);
			return quorum_init(&u->q, u->st->token.serial, &u->st->conf->custodians);
		}
		snprintf(text, sizeof(text), "%s; all shares discarded, start again", err);
		sgn_unseal_reply(fd, f->req_id, 0, text);
		return quorum_init(&u->q, u->st->token.serial, &u->st->conf->custodians);
	}
	log_event("info", "unsealed", "token=%s custodians=%u", u->q.serial, u->q.count);
	sgn_unseal_record(u);
	sgn_unseal_reply(fd, f->req_id, 1, "unsealed");
	u->done = true;
	return 0;
}

/* Serves one control connection until it closes or the signer is unsealed. */
static int sgn_unseal_conn(struct sgn_unseal *u, int fd, uint8_t *buf)
{
	struct frame f;
	char text[QUORUM_ERR_MAX + 288];
	unsigned cap = u->st->conf->unseal_timeout_seconds < SGN_UNSEAL_CONN_SECONDS ? u->st->conf->unseal_timeout_seconds
										      : SGN_UNSEAL_CONN_SECONDS;
	long long end = sgn_unseal_now() + cap;
	while (!u->done) {
		struct pollfd p = { fd, POLLIN, 0 };
		long long left = end - sgn_unseal_now();
		int rc = sgn_unseal_expire(u);
		if (rc)
			return rc;
		/* idle for 30 s, or open for its whole allowance: dropped, so one client cannot hold the socket */
		if (left <= 0 || poll(&p, 1, left < 30 ? (int)left * 1000 : 30000) <= 0)
			return 0;
		if ((rc = sgn_unseal_expire(u)))
			return rc;
		ssize_t r = recv(fd, buf, FRAME_MAX + 1, MSG_DONTWAIT);
		if (r <= 0)
			return 0;
		if (!frame_parse(span_make(buf, (size_t)r), &f))
			return 0;
		if (f.type == FRAME_STATUS && f.body.len == 0) {
			sgn_unseal_status(u, text, sizeof(text));
			sgn_unseal_reply(fd, f.req_id, 1, text);
		} else if (f.type == FRAME_UNSEAL) {
			rc = sgn_unseal_share(u, fd, &f);
			/* the frame held a sealed share and its passphrase: not kept until the next frame overwrites it */
			explicit_bzero(buf, (size_t)r);
			if (rc == HSMCA_ERR_PARSE)
				return 0;
			if (rc)
				return rc;
		} else {
			return 0;
		}
	}
	return 0;
}

int sgn_unseal_run(struct sgn_state *st, int ctl_fd)
{
	struct sgn_unseal u = { .st = st };
	bool accept_failing = false;
	uint8_t *buf = secmem_alloc(FRAME_MAX + 1);
	int rc;
	if (!buf)
		return HSMCA_ERR_NOMEM;
	rc = quorum_init(&u.q, st->token.serial, &st->conf->custodians);
	log_event("info", "sealed", "token=%s control_socket=%s", st->token.serial, st->conf->control_socket);
	while (!rc && !u.done) {
		struct pollfd p = { ctl_fd, POLLIN, 0 };
		int n = poll(&p, 1, sgn_unseal_wait_ms(&u));
		if (n < 0 && errno != EINTR) {
			rc = HSMCA_ERR_IO;
			break;
		}
		if ((rc = sgn_unseal_expire(&u)) || n <= 0)
			continue;
		int fd = accept4(ctl_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			/* out of descriptors or memory: the connection stays queued and poll says so at once; pause
			 * instead of spinning, and say it once per spell */
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				if (!accept_failing)
					log_event("warn", "accept_failed", "socket=control errno=%d", errno);
				accept_failing = true;
				(void)poll(NULL, 0, 200);
			}
			continue;
		}
		accept_failing = false;
		rc = sgn_unseal_conn(&u, fd, buf);
		explicit_bzero(buf, FRAME_MAX + 1); /* whatever the connection left in it, a malformed frame's too */
		close(fd);
	}
	quorum_free(&u.q);
	secmem_free(buf, FRAME_MAX + 1);
	return rc;
}
