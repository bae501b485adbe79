/* Strict UTF-8 (frontend/utf8.c): what account names and the database take. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "utf8.h"

static bool valid(const char *s)
{
	return utf8_valid((const uint8_t *)s, strlen(s));
}

int main(void)
{
	uint32_t cp = 0;
	static const char *const good[] = { "", "alice", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x94\x91",
					    "\xed\x9f\xbf" /* U+D7FF */, "\xee\x80\x80" /* U+E000 */,
					    "\xf4\x8f\xbf\xbf" /* U+10FFFF */, "\xc2\x80" };
	static const char *const bad[] = {
		"\xff\xfeuser",     /* the bytes of a UTF-16 byte-order mark (a reviewer's login name) */
		"\x80",             /* a continuation byte alone */
		"\xc3",             /* truncated */
		"\xe2\x82",         /* truncated */
		"\xc3\x28",         /* a lead byte without its continuation */
		"\xc0\xaf",         /* overlong '/' */
		"\xe0\x80\xaf",     /* overlong */
		"\xf0\x80\x80\xaf", /* overlong */
		"\xed\xa0\x80",     /* U+D800, a surrogate */
		"\xed\xbf\xbf",     /* U+DFFF */
		"\xf4\x90\x80\x80", /* U+110000 */
		"\xf8\x88\x80\x80\x80", /* five bytes */
		"ok\xfe",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECKF(valid(good[i]), "good %zu", i);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECKF(!valid(bad[i]), "bad %zu", i);
	CHECK(utf8_next((const uint8_t *)"\xe2\x82\xac", 3, &cp) == 3 && cp == 0x20ac);
	CHECK(utf8_next((const uint8_t *)"\xe2\x82\xac", 2, &cp) == 0 && cp == 0x20ac); /* len bounds it */
	CHECK(utf8_next((const uint8_t *)"A", 1, &cp) == 1 && cp == 'A');
	/* a NUL inside the length is a code point (the caller decides about it) */
	CHECK(utf8_valid((const uint8_t *)"a\0b", 3));
	return check_done("unit_utf8");
}
