/* Strict DER reading over spans, and a small growable DER writer.
 * Reading accepts only DER: single-byte tags, definite minimal lengths, BOOLEAN as 00/FF,
 * minimal INTEGERs. Writing never fails silently: errors are sticky in struct dbuf. */
#ifndef HSMCA_DER_H
#define HSMCA_DER_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "span.h"

enum {
	DER_BOOLEAN = 0x01,
	DER_INTEGER = 0x02,
	DER_BIT_STRING = 0x03,
	DER_OCTET_STRING = 0x04,
	DER_NULL = 0x05,
	DER_OID = 0x06,
	DER_ENUMERATED = 0x0a,
	DER_UTF8STRING = 0x0c,
	DER_PRINTABLESTRING = 0x13,
	DER_IA5STRING = 0x16,
	DER_UTCTIME = 0x17,
	DER_GENERALIZEDTIME = 0x18,
	DER_SEQUENCE = 0x30,
	DER_SET = 0x31,
	DER_CONTEXT = 0x80,     /* | n, primitive */
	DER_CONSTRUCTED = 0x20, /* | DER_CONTEXT | n for [n] EXPLICIT / constructed */
};

#define DER_MAX_LEN_OCTETS 4 /* no element of ours exceeds 4 GiB */

/* Reads one element with tag `tag`; out gets its contents. */
bool der_get(struct span *in, struct span *out, uint8_t tag);
/* Reads one element of any tag; out_tag gets the tag, out the contents, out_whole the full TLV (may be NULL). */
bool der_get_any(struct span *in, uint8_t *out_tag, struct span *out, struct span *out_whole);
/* An OBJECT IDENTIFIER's contents in DER: not empty, each subidentifier minimal (no leading 0x80 octet) and
 * complete (the last octet has bit 8 clear). OIDs are compared byte for byte, so a padded encoding of a
 * known OID would otherwise pass as an unknown one. */
bool der_get_oid(struct span *in, struct span *out);
/* Like der_get, but out gets the whole TLV including header. */
bool der_get_element(struct span *in, struct span *out, uint8_t tag);
/* True if the next element has this tag (does not advance). */
bool der_peek(const struct span *in, uint8_t tag);
/* Optional element: if next tag matches, reads it and sets *present. */
bool der_get_optional(struct span *in, struct span *out, bool *present, uint8_t tag);
/* INTEGER contents as a minimal two's complement; out borrows the content octets. */
bool der_get_integer(struct span *in, struct span *out);
/* Small non-negative INTEGER into *out. */
bool der_get_uint(struct span *in, uint64_t *out);
bool der_get_bool(struct span *in, bool *out);
/* UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) as RFC 5280 mandates. */
bool der_get_time(struct span *in, time_t *out);
/* GeneralizedTime only (OCSP), YYYYMMDDHHMMSSZ. */
bool der_get_gentime(struct span *in, time_t *out);
/* BIT STRING with 0 unused bits. */
bool der_get_bitstring_bytes(struct span *in, struct span *out);
/* True if the INTEGER content is minimal DER. */
bool der_integer_is_minimal(const struct span *content);
#define DER_STRICT_DEPTH 16 /* nesting der_strict_one walks (certificatePolicies needs about 6) */
/* v is one element and nothing after it, strict DER all the way down: every nested element's length definite
 * and minimal, no bytes belonging to no element, and each universal type in the form and with the contents DER
 * allows (only SEQUENCE and SET constructed, so no string in BER's constructed form; BOOLEAN 00/FF, NULL empty,
 * INTEGER and ENUMERATED minimal, BIT STRING's unused bits zero); at most DER_STRICT_DEPTH levels. Context- and
 * application-class contents are walked as elements too. (The signer's check of extension values and of
 * Names, policy/check.c and dn.c.) */
bool der_strict_one(struct span v);

/* Growable writer. Ownership: data is owned by the dbuf; dbuf_free wipes and frees it. */
struct dbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
	bool failed;
};

void dbuf_init(struct dbuf *b);
void dbuf_free(struct dbuf *b);
void dbuf_add(struct dbuf *b, const void *data, size_t len);
void dbuf_add_u8(struct dbuf *b, uint8_t v);
void dbuf_add_u16(struct dbuf *b, uint16_t v);
void dbuf_add_u32(struct dbuf *b, uint32_t v);
/* Emits tag, DER length, then contents. */
void dbuf_add_tlv(struct dbuf *b, uint8_t tag, const void *contents, size_t len);
/* Opens a constructed element; returns a mark for dbuf_close. Contents follow; dbuf_close writes the length. */
size_t dbuf_open(struct dbuf *b, uint8_t tag);
void dbuf_close(struct dbuf *b, size_t mark);
/* BIT STRING with zero unused bits. */
void dbuf_add_bitstring(struct dbuf *b, const void *bytes, size_t len);
/* Non-negative INTEGER from a big-endian magnitude (adds a 00 pad if needed, strips leading zeros). */
void dbuf_add_uint_bytes(struct dbuf *b, const uint8_t *mag, size_t len);

#endif
