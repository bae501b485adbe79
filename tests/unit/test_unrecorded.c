/* frontend/unrecorded: certificates signed whose issued state was not committed, kept for the recovery pass. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "der.h"
#include "unrecorded.h"

/* A Certificate-shaped DER: SEQUENCE { tbs (a SEQUENCE holding one byte b), SEQUENCE {}, BIT STRING } */
static void cert_of(uint8_t b, struct dbuf *cert, struct dbuf *tbs)
{
	dbuf_init(cert);
	dbuf_init(tbs);
	dbuf_add_tlv(tbs, DER_SEQUENCE, &b, 1);
	size_t m = dbuf_open(cert, DER_SEQUENCE);
	dbuf_add(cert, tbs->data, tbs->len);
	dbuf_add_tlv(cert, DER_SEQUENCE, NULL, 0);
	dbuf_add_bitstring(cert, "sig", 3);
	dbuf_close(cert, m);
}

int main(void)
{
	struct dbuf c1, t1, c2, t2, out;
	dbuf_init(&out);
	cert_of(1, &c1, &t1);
	cert_of(2, &c2, &t2);
	/* kept, taken once, then gone */
	unrecorded_put("0a01", c1.data, c1.len);
	CHECK(unrecorded_count() == 1);
	CHECK(unrecorded_take("0A01", t1.data, t1.len, &out) && out.len == c1.len && !memcmp(out.data, c1.data, c1.len));
	CHECK(unrecorded_count() == 0 && !unrecorded_take("0a01", t1.data, t1.len, &out));
	/* another TBS than the row's: not taken, and dropped */
	unrecorded_put("0a02", c2.data, c2.len);
	CHECK(!unrecorded_take("0a02", t1.data, t1.len, &out) && unrecorded_count() == 0);
	/* a second put for one serial replaces the first */
	unrecorded_put("0a03", c1.data, c1.len);
	unrecorded_put("0a03", c2.data, c2.len);
	CHECK(unrecorded_count() == 1 && unrecorded_take("0a03", t2.data, t2.len, &out) && out.len == c2.len);
	/* full: the oldest is forgotten first */
	char s[16];
	for (unsigned i = 0; i <= UNRECORDED_MAX; i++) {
		snprintf(s, sizeof(s), "%x", 0x1000 + i);
		unrecorded_put(s, c1.data, c1.len);
	}
	CHECK(unrecorded_count() == UNRECORDED_MAX);
	CHECK(!unrecorded_take("1000", t1.data, t1.len, &out));
	CHECK(unrecorded_take("1001", t1.data, t1.len, &out));
	snprintf(s, sizeof(s), "%x", 0x1000 + UNRECORDED_MAX);
	CHECK(unrecorded_take(s, t1.data, t1.len, &out));
	/* not a certificate: never taken */
	static const uint8_t junk[] = { 0x30, 0x01, 0x00, 0x00 };
	unrecorded_put("0a04", junk, sizeof(junk));
	CHECK(!unrecorded_take("0a04", junk, sizeof(junk), &out));
	for (unsigned i = 0; i <= UNRECORDED_MAX; i++) { /* empty it, for the leak check */
		snprintf(s, sizeof(s), "%x", 0x1000 + i);
		(void)unrecorded_take(s, t1.data, t1.len, &out);
	}
	CHECK(unrecorded_count() == 0);
	dbuf_free(&c1);
	dbuf_free(&t1);
	dbuf_free(&c2);
	dbuf_free(&t2);
	dbuf_free(&out);
	return check_done("unrecorded");
}
