#include "utf8.h"

size_t utf8_next(const uint8_t *s, size_t len, uint32_t *cp)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	if (n == 0 || n > len)
		return 0;
	uint32_t c = n == 1 ? s[0] : (uint32_t)(s[0] & (0x7f >> n));
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

bool utf8_valid(const uint8_t *s, size_t len)
{
	uint32_t cp;
	for (size_t i = 0, n; i < len; i += n)
		if (!(n = utf8_next(s + i, len - i, &cp)))
			return false;
	return true;
}
