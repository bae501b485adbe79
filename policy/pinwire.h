/* The signer's keys and what each may sign, as its HELLO reply carries them (signer/PROTOCOL.md): the signer
 * writes them from its pinned profiles, the frontend reads them at start-up to hold its own profiles against
 * them (policy/profcheck.c) instead of learning of a mismatch from a refusal per request. Only the part of a
 * pinned profile that decides which certificates a key signs travels (pinwire_pin_encode lists it); CRL, OCSP
 * and checkpoint rules stay in the signer. The encoding is canonical: what pinwire_hello_parse accepts,
 * pinwire_hello_start and pinwire_hello_add_key write again byte for byte. */
#ifndef HSMCA_PINWIRE_H
#define HSMCA_PINWIRE_H

#include <stdbool.h>
#include <stdint.h>

#include "der.h"
#include "frame.h"
#include "policy.h"

#define PINWIRE_KEYS_MAX 16 /* SGN_MAX_KEYS */
#define PINWIRE_OPS_ALL 0x0f /* bit 0 certificates, 1 CRLs, 2 OCSP, 3 checkpoints */

struct pinwire_key {
	char label[FRAME_LABEL_MAX + 1];
	uint8_t ops;
	struct policy_profile pin; /* the certificate fields only; the others zero */
};

#define PINWIRE_CUSTODIANS_MAX 16 /* CER_MAX_CUSTODIANS */
#define PINWIRE_NAME_MAX FRAME_NAME_MAX /* a custodian's name: frame_name_ok */
#define PINWIRE_SERIAL_MAX 16     /* P11_SERIAL_MAX */
#define PINWIRE_INSTANCE_LEN 16

/* Who unsealed the signer that answers, for the frontend's audit log ("signer.unsealed"): a random id of this
 * signer process, when (seconds since the epoch), the token's serial and each custodian present with the index
 * of their share. Names as the ceremony gives them (1..PINWIRE_NAME_MAX of A-Z a-z 0-9 . _ -), distinct; share
 * indexes 1..255, distinct; the serial 1..PINWIRE_SERIAL_MAX printable bytes without space. */
struct pinwire_unsealed {
	bool has;
	uint8_t instance[PINWIRE_INSTANCE_LEN];
	uint64_t at;
	unsigned n;
	char custodian[PINWIRE_CUSTODIANS_MAX][PINWIRE_NAME_MAX + 1];
	uint8_t share[PINWIRE_CUSTODIANS_MAX];
	char token[PINWIRE_SERIAL_MAX + 1];
};

/* A parsed HELLO reply. Large (about 64 KiB): allocate it, do not put it on a stack. */
struct pinwire_hello {
	uint16_t version;
	unsigned n;
	struct pinwire_key k[PINWIRE_KEYS_MAX];
	struct pinwire_unsealed unsealed; /* after the keys, if the reply carries it */
};

/* A pinned name (ca_permitted, leaf_permitted DNS:NAME) as the signer's config accepts it: s[0..len) non-empty,
 * shorter than POLICY_NC_NAME_MAX, lowercase letters, digits, '-' and '.', not "." nor ending in '.', no "..". */
bool pinwire_dns_ok(const char *s, size_t len);

/* Appends the certificate part of pin to out (a count or length past its bound fails out: dbuf.failed): flags (allow_cert, allow_ca, ca_pinned, leaf_pinned,
 * leaf_wildcard), max_pathlen,
 * max_validity_days, ku_allowed, the EKU OIDs, ca_dn, then the ca and leaf names and ranges (PROTOCOL.md). */
void pinwire_pin_encode(struct dbuf *out, const struct policy_profile *pin);
/* A HELLO reply body: pinwire_hello_start (version FRAME_VERSION, n_keys), then pinwire_hello_add_key for each
 * key (its label, frame_label_ok, operations and u16-prefixed pin); a label, operation bits or pin the parser
 * would refuse fails out (dbuf.failed). */
void pinwire_hello_start(struct dbuf *out, unsigned n_keys);
void pinwire_hello_add_key(struct dbuf *out, const char *label, uint8_t ops, const struct policy_profile *pin);
/* After the keys, the unseal record (u->has): instance, u64 at, u8 n, then per custodian a u8-prefixed name
 * and u8 share index, then the u8-prefixed token serial. What the parser would refuse fails out. */
void pinwire_hello_add_unsealed(struct dbuf *out, const struct pinwire_unsealed *u);

/* Parses exactly body (nothing may follow) into out, zeroed first: version FRAME_VERSION, at most
 * PINWIRE_KEYS_MAX keys with distinct labels of 1..FRAME_LABEL_MAX printable ASCII bytes, known operation bits,
 * and pins within the bounds the signer's config holds its own to (counts, lengths, names as pinwire_dns_ok,
 * ranges with no bits past their prefix, a well-formed ca_dn, lists only under their pinned flag); then, if
 * bytes are left, exactly one unseal record (struct pinwire_unsealed's rules). False, with out zeroed, if
 * anything is off. */
bool pinwire_hello_parse(struct span body, struct pinwire_hello *out);

#endif
