#include "dispatch.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "frame.h"
#include "log.h"
#include "certbuild.h"
#include "pinwire.h"
#include "tbs.h"

#define SGN_OP_ONCE 1       /* allowed once, first */
#define SGN_OP_AFTER_HELLO 2

struct sgn_op {
	uint8_t type;
	unsigned flags;
	size_t max_body;
	enum sgn_verdict (*handler)(struct sgn_worker *, struct sgn_conn *, const struct frame *, struct dbuf *);
};

static enum sgn_verdict sgn_hello(struct sgn_worker *w, struct sgn_conn *c, const struct frame *f, struct dbuf *out)
{
	uint16_t version;
	struct dbuf body;
	const struct sgn_state *st = w->st;
	if (!frame_hello_body_parse(f->body, &version) || version != FRAME_VERSION)
		return SGN_CLOSE;
	c->hello_done = true;
	/* reply: version, key count, then per key its label, operations and what it signs (policy/pinwire.h) */
	dbuf_init(&body);
	pinwire_hello_start(&body, st->n_keys);
	for (unsigned i = 0; i < st->n_keys; i++) {
		const struct policy_profile *p = &st->keys[i].conf->profile;
		pinwire_hello_add_key(&body, st->keys[i].conf->label,
				      (uint8_t)(p->allow_cert | p->allow_crl << 1 | p->allow_ocsp << 2 |
						p->allow_checkpoint << 3),
				      p);
	}
	if (st->unsealed.has) /* who unsealed this process: the frontend's audit log records it */
		pinwire_hello_add_unsealed(&body, &st->unsealed);
	if (body.failed) {
		dbuf_free(&body);
		return SGN_CLOSE;
	}
	frame_build_ok(out, f->req_id, body.data, body.len);
	dbuf_free(&body);
	return SGN_REPLY;
}

#define SGN_HSM_FAILURES_MAX 8 /* signatures failing in a row, whatever the reason, before the signer gives up */

static atomic_uint sgn_hsm_failures; /* in a row, all workers */
static atomic_bool sgn_hsm_gone;

/* Return values after which this process cannot sign again: the token, the session or the login is gone (a
 * restarted p11-kit server, a removed device). Only a new process, unsealed again, can. */
static bool sgn_rv_fatal(CK_RV rv)
{
	return rv == CKR_DEVICE_REMOVED || rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_SESSION_HANDLE_INVALID ||
	       rv == CKR_SESSION_CLOSED || rv == CKR_USER_NOT_LOGGED_IN || rv == CKR_CRYPTOKI_NOT_INITIALIZED ||
	       rv == CKR_DEVICE_ERROR;
}

static void sgn_hsm_result(CK_RV rv)
{
	if (rv == CKR_OK) {
		atomic_store(&sgn_hsm_failures, 0);
		return;
	}
	if (sgn_rv_fatal(rv) || atomic_fetch_add(&sgn_hsm_failures, 1) + 1 >= SGN_HSM_FAILURES_MAX)
		atomic_store(&sgn_hsm_gone, true);
}

bool sgn_hsm_lost(void)
{
	return atomic_load(&sgn_hsm_gone);
}

static enum sgn_verdict sgn_refuse(struct dbuf *out, const struct frame *f, uint32_t code, const char *why,
				   const struct span *label, const char *tbs_hash, enum sgn_verdict v)
{
	log_event("warn", "sign_refused", "type=0x%02x key=%.*s tbs_sha256=%s code=%u why=\"%s\"", f->type,
		  (int)label->len, (const char *)label->data, tbs_hash, code, why);
	frame_build_err(out, f->req_id, code, why);
	return v;
}

#define SGN_SERIAL_HEX_MAX 41 /* RFC 5280: at most 20 octets */

/* The certificate's serial in hex for the log ("-" when it does not fit). */
static void sgn_serial_hex(struct span serial, char out[SGN_SERIAL_HEX_MAX])
{
	if (serial.len == 0 || serial.len * 2 >= SGN_SERIAL_HEX_MAX)
		strcpy(out, "-");
	else
		span_hex(serial.data, serial.len, out);
}

/* The signer's clock through clock_gettime (the vDSO; time() may be the time syscall, not on the allowlist). */
static time_t sgn_now(void)
{
	struct timespec ts;
	return clock_gettime(CLOCK_REALTIME, &ts) == 0 ? ts.tv_sec : 0;
}

/* Parses and checks data for frame type against key k's pinned profile. why gets the reason; serial_hex:
 * the certificate's serial once its TBS parsed ("-" for other requests), for the log: the
 * signer's log is the record of what it signed, should the database ever disagree. */
static int sgn_check(const struct frame *f, const struct sgn_key *k, struct span data, char *why, bool *malformed,
		     char serial_hex[SGN_SERIAL_HEX_MAX])
{
	const struct policy_profile *p = &k->conf->profile;
	*malformed = true;
	strcpy(serial_hex, "-");
	if (f->type == FRAME_SIGN_CERT) {
		struct tbs_cert t;
		if (!tbs_cert_parse(data, &t, why))
			return HSMCA_ERR_PARSE;
		*malformed = false;
		sgn_serial_hex(t.serial, serial_hex);
		int rc = policy_check_cert(&t, &k->issuer, p, why);
		return rc ? rc : policy_check_cert_clock(&t, sgn_now(), why);
	}
	if (f->type == FRAME_SIGN_CRL) {
		struct tbs_crl t;
		if (!tbs_crl_parse(data, &t, why))
			return HSMCA_ERR_PARSE;
		*malformed = false;
		int rc = policy_check_crl(&t, &k->issuer, p, why);
		return rc ? rc : policy_check_crl_clock(&t, sgn_now(), why);
	}
	if (f->type == FRAME_SIGN_OCSP) {
		struct tbs_ocsp t;
		if (!tbs_ocsp_parse(data, &t, why))
			return HSMCA_ERR_PARSE;
		*malformed = false;
		int rc = policy_check_ocsp(&t, &k->issuer, p, why);
		return rc ? rc : policy_check_ocsp_clock(&t, p, sgn_now(), why);
	}
	if (data.len != FRAME_CHECKPOINT_LEN) {
		snprintf(why, TBS_WHY_MAX, "checkpoint: digest must be %d bytes", FRAME_CHECKPOINT_LEN);
		return HSMCA_ERR_PARSE;
	}
	*malformed = false;
	if (!p->allow_checkpoint) {
		snprintf(why, TBS_WHY_MAX, "operation: this key may not sign audit checkpoints");
		return HSMCA_ERR_POLICY;
	}
	return 0;
}

/* Whether the signed structure built from a TBS of tbs_len bytes (certbuild_assemble: SEQUENCE { TBS,
 * algorithm, BIT STRING signature [, [0] { SEQUENCE { the key's certificate } }] }) fits in a reply frame, so
 * nothing is signed that could not be sent back (the request frame alone lets a TBS come close to the
 * limit). Each SEQUENCE or BIT STRING header is at most 6 bytes (DER_MAX_LEN_OCTETS); the signature is at
 * most the key's sig_max. */
static bool sgn_reply_fits(size_t tbs_len, const struct sgn_key *k, bool with_cert)
{
	size_t n = 6 + tbs_len + k->issuer.sigalg_len + 6 + 1 + k->sig_max;
	if (with_cert)
		n += 6 + 6 + k->cert_der_len;
	return 4 + n <= FRAME_BODY_MAX; /* the OK reply's body: a 4-byte length, then the structure */
}

static enum sgn_verdict sgn_sign(struct sgn_worker *w, struct sgn_conn *c, const struct frame *f, struct dbuf *out)
{
	struct span label, data;
	char why[TBS_WHY_MAX] = "", hash[65], serial[SGN_SERIAL_HEX_MAX];
	uint8_t sig[P11_SIG_MAX], msg[sizeof(FRAME_CHECKPOINT_DOMAIN) + FRAME_CHECKPOINT_LEN];
	size_t sig_len = 0;
	unsigned idx;
	bool malformed;
	(void)c;
	if (!frame_sign_body_parse(f->body, &label, &data))
		return SGN_CLOSE;
	log_sha256_hex(data.data, data.len, hash);
	const struct sgn_key *k = sgn_key_find(w->st, &label, &idx);
	if (!k)
		return sgn_refuse(out, f, FRAME_E_UNKNOWN_KEY, "no key with this label", &label, hash, SGN_REPLY);
	int checked = sgn_check(f, k, data, why, &malformed, serial);
	if (checked)
		return sgn_refuse(out, f,
				  malformed ? FRAME_E_MALFORMED : checked == HSMCA_ERR_EARLY ? FRAME_E_CLOCK : FRAME_E_POLICY,
				  why, &label, hash, malformed ? SGN_REPLY_CLOSE : SGN_REPLY);
	bool with_cert = f->type == FRAME_SIGN_OCSP && k->conf->profile.ocsp_delegated;
	if (f->type != FRAME_SIGN_CHECKPOINT && !sgn_reply_fits(data.len, k, with_cert))
		return sgn_refuse(out, f, FRAME_E_POLICY, "size: the signed result would not fit in a reply frame",
				  &label, hash, SGN_REPLY);
	if (f->type == FRAME_SIGN_CHECKPOINT) {
		memcpy(msg, FRAME_CHECKPOINT_DOMAIN, sizeof(FRAME_CHECKPOINT_DOMAIN)); /* includes the NUL separator */
		memcpy(msg + sizeof(FRAME_CHECKPOINT_DOMAIN), data.data, FRAME_CHECKPOINT_LEN);
		data = span_make(msg, sizeof(msg));
	}
	if (p11_sign(&w->st->mod, w->session, w->handle[idx], k->type, data.data, data.len, sig, &sig_len)) {
		CK_RV rv = p11_last_rv();
		sgn_hsm_result(rv);
		return sgn_refuse(out, f, FRAME_E_HSM, p11_rv_name(rv), &label, hash, SGN_REPLY);
	}
	sgn_hsm_result(CKR_OK);
	if (f->type == FRAME_SIGN_CHECKPOINT) {
		frame_build_ok(out, f->req_id, sig, sig_len);
	} else {
		struct dbuf signed_der;
		struct span alg = span_make(k->issuer.sigalg, k->issuer.sigalg_len);
		struct span cert = span_make(k->cert_der, k->cert_der_len);
		dbuf_init(&signed_der);
		certbuild_assemble(&signed_der, data, alg, sig, sig_len, with_cert ? &cert : NULL, with_cert ? 1 : 0);
		bool failed = signed_der.failed;
		if (!failed)
			frame_build_ok(out, f->req_id, signed_der.data, signed_der.len);
		dbuf_free(&signed_der);
		if (failed) /* not a refusal of the TBS: the frontend keeps the row pending and asks again */
			return sgn_refuse(out, f, FRAME_E_INTERNAL, "out of memory building the signed result", &label, hash,
					  SGN_REPLY);
	}
	log_event("info", "signed", "type=0x%02x key=%s worker=%u serial=%s tbs_sha256=%s", f->type, k->conf->label,
		  w->id, serial, hash);
	return SGN_REPLY;
}

#ifdef HSMCA_TEST_HOOKS
/* Test-only build (hsmca-signer-testhook): proves that the running, sandboxed signer dies on a forbidden
 * system call. Never compiled into hsmca-signer. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
static enum sgn_verdict sgn_test_forbidden(struct sgn_worker *w, struct sgn_conn *c, const struct frame *f,
					   struct dbuf *out)
{
	static char *const argv[] = { "/bin/true", NULL };
	(void)w;
	(void)c;
	/* open() fails quietly (EACCES: glibc's malloc needs that), execve() is not on the allowlist: the filter
	 * kills the process there */
	int fd = open("/etc/hostname", O_RDONLY);
	log_event("warn", "test_hook", "action=execve open=%s", fd >= 0 ? "succeeded" : errno == EACCES ? "eacces" : "failed");
	execve(argv[0], argv, NULL);
	frame_build_err(out, f->req_id, FRAME_E_INTERNAL, "execve returned");
	return SGN_REPLY;
}
#define SGN_TEST_FORBIDDEN 0x7f
#endif

static const struct sgn_op sgn_ops[] = {
#ifdef HSMCA_TEST_HOOKS
	{ SGN_TEST_FORBIDDEN, SGN_OP_AFTER_HELLO, 0, sgn_test_forbidden },
#endif
	{ FRAME_HELLO, SGN_OP_ONCE, 2, sgn_hello },
	{ FRAME_SIGN_CERT, SGN_OP_AFTER_HELLO, FRAME_BODY_MAX, sgn_sign },
	{ FRAME_SIGN_CRL, SGN_OP_AFTER_HELLO, FRAME_BODY_MAX, sgn_sign },
	{ FRAME_SIGN_OCSP, SGN_OP_AFTER_HELLO, FRAME_BODY_MAX, sgn_sign },
	{ FRAME_SIGN_CHECKPOINT, SGN_OP_AFTER_HELLO, 1 + FRAME_LABEL_MAX + 4 + FRAME_CHECKPOINT_LEN, sgn_sign },
};

enum sgn_verdict sgn_dispatch(struct sgn_worker *w, struct sgn_conn *c, struct span msg, struct dbuf *out)
{
	struct frame f;
	if (!frame_parse(msg, &f)) {
		log_event("warn", "frame_rejected", "fd=%d len=%zu why=malformed", c->fd, msg.len);
		return SGN_CLOSE;
	}
	for (size_t i = 0; i < sizeof(sgn_ops) / sizeof(sgn_ops[0]); i++) {
		const struct sgn_op *op = &sgn_ops[i];
		if (op->type != f.type)
			continue;
		if (f.body.len > op->max_body || ((op->flags & SGN_OP_ONCE) && c->hello_done) ||
		    ((op->flags & SGN_OP_AFTER_HELLO) && !c->hello_done))
			break;
		return op->handler(w, c, &f, out);
	}
	log_event("warn", "frame_rejected", "fd=%d type=0x%02x why=unexpected", c->fd, f.type);
	return SGN_CLOSE;
}
