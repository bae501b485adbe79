/* Client side of the signer protocol (signer/PROTOCOL.md): used by the unseal CLI, the tests, the
 * benchmark and the frontend. Not thread-safe (one client per thread). */
#ifndef HSMCA_SGN_CLIENT_H
#define HSMCA_SGN_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "der.h"
#include "err.h"

#define SGN_CLIENT_MSG_MAX 513

struct sgn_client {
	int fd;
	uint32_t next_id;
	uint8_t *buf; /* FRAME_MAX + 1, owned */
	/* after a REPLY_ERR: */
	uint32_t err_code;
	char err_msg[SGN_CLIENT_MSG_MAX];
	/* after HSMCA_ERR_IO: a send or receive timed out (sgn_client_open_timeout); the signer may still
	 * answer, or sign, later: the caller closes the connection */
	bool timed_out;
};

/* Connects to path and (hello = 1) sends HELLO. On failure nothing is left open or allocated (c is as after
 * sgn_client_close, with timed_out and err_code/err_msg telling why); calling sgn_client_close again is harmless. */
int sgn_client_open(struct sgn_client *c, const char *path, int hello) HSMCA_WUR;
/* The same, with timeout_ms (0: none) on the connect and on every send and receive of the connection: a
 * hung signer is HSMCA_ERR_IO with timed_out set, not a thread blocked for ever. */
int sgn_client_open_timeout(struct sgn_client *c, const char *path, int hello, unsigned timeout_ms) HSMCA_WUR;
/* The same with HELLO, its reply's data (the signer's keys: policy/pinwire.h parses it) appended to reply. */
int sgn_client_open_hello(struct sgn_client *c, const char *path, unsigned timeout_ms, struct dbuf *reply) HSMCA_WUR;
void sgn_client_close(struct sgn_client *c);
/* Sends one request of frame type with body (already encoded) and waits for the reply. On REPLY_OK
 * appends the reply data to out and returns 0; on REPLY_ERR returns HSMCA_ERR_POLICY with err_code/err_msg
 * set; a closed connection or a malformed reply returns HSMCA_ERR_IO. */
int sgn_client_call(struct sgn_client *c, uint8_t type, const uint8_t *body, size_t body_len,
		    struct dbuf *out) HSMCA_WUR;
/* After a call returned HSMCA_ERR_POLICY (a REPLY_ERR with err_code): true if the signer refused this very
 * request for good (its TBS failed the signer's parser or policy: asking again gets the same answer); false
 * for errors that say nothing about the request (FRAME_E_HSM: the HSM or p11-kit is down; FRAME_E_SEALED;
 * FRAME_E_UNKNOWN_KEY: a signer without that key, perhaps a misconfigured or half-started one;
 * FRAME_E_INTERNAL; anything unknown), worth asking again later. */
bool sgn_client_refusal_final(uint32_t err_code);
/* The same for a live request (a client waiting): FRAME_E_UNKNOWN_KEY is final too, since a request under a
 * key the signer does not hold is a configuration mismatch that asking again does not mend (the client gets
 * the signer's reason at once). Recovery keeps such rows pending with sgn_client_refusal_final (the key may
 * come back with a restarted signer). */
bool sgn_client_refusal_final_live(uint32_t err_code);
/* SIGN_* request for the key labelled label. */
int sgn_client_sign(struct sgn_client *c, uint8_t type, const char *label, const uint8_t *data, size_t len,
		    struct dbuf *out) HSMCA_WUR;

/* Pipelining: several requests may be in flight on one connection; replies come back in request order. */
int sgn_client_send_sign(struct sgn_client *c, uint8_t type, const char *label, const uint8_t *data, size_t len,
			 uint32_t *out_id) HSMCA_WUR;
int sgn_client_recv_reply(struct sgn_client *c, uint32_t id, struct dbuf *out) HSMCA_WUR;

#endif
