/* fuzz_hdrscan: hdrscan_feed (frontend/hdrscan.c), the framing check every request's header block passes
 * before evhttp reads it, on raw bytes. The input is fed whole, byte by byte, and in two pieces split where its
 * first byte says: the verdict (state, why) and the bytes taken must be the same however the bytes arrive, as
 * they come off the network in any split. Taken is never more than offered; a refusal says why; once the block
 * ended or was refused nothing more is taken; a block that ended was ended by an empty line (LF LF or
 * CRLF CRLF) right before the bytes left over. */
#include <stdlib.h>

#include "fuzz_common.h"
#include "hdrscan.h"

struct fuzz_hs_result {
	struct hdrscan s;
	size_t taken;
};

static void fuzz_hs_run(const uint8_t *data, size_t size, size_t piece, struct fuzz_hs_result *r)
{
	hdrscan_reset(&r->s);
	r->taken = 0;
	while (r->taken < size) {
		size_t n = piece && size - r->taken > piece ? piece : size - r->taken;
		size_t t = hdrscan_feed(&r->s, data + r->taken, n);
		FUZZ_CHECK(t <= n);
		r->taken += t;
		if (t < n) {
			FUZZ_CHECK(r->s.state == HDRSCAN_DONE || r->s.state == HDRSCAN_BAD);
			break;
		}
	}
	if (r->s.state == HDRSCAN_DONE || r->s.state == HDRSCAN_BAD) {
		uint8_t more = 'x';
		FUZZ_CHECK(hdrscan_feed(&r->s, &more, 1) == 0); /* nothing is taken after the end or a refusal */
	}
	if (r->s.state == HDRSCAN_BAD)
		FUZZ_CHECK(r->s.why != NULL && r->s.why[0] != '\0');
	if (r->s.state == HDRSCAN_DONE)
		FUZZ_CHECK(r->taken >= 2 && data[r->taken - 1] == '\n');
}

static void fuzz_hs_same(const struct fuzz_hs_result *a, const struct fuzz_hs_result *b)
{
	FUZZ_CHECK(a->s.state == b->s.state && a->taken == b->taken);
	if (a->s.state == HDRSCAN_BAD)
		FUZZ_CHECK(b->s.why != NULL && strcmp(a->s.why, b->s.why) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_hs_result whole, bytes, split;
	fuzz_hs_run(data, size, 0, &whole);
	fuzz_hs_run(data, size, 1, &bytes);
	fuzz_hs_same(&whole, &bytes);
	if (size > 1) {
		fuzz_hs_run(data, size, 1 + data[0] % (size - 1), &split);
		fuzz_hs_same(&whole, &split);
	}
	return 0;
}
