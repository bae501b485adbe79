#include "passline.h"

#include <string.h>

int passline_len(const uint8_t *buf, size_t n, size_t *len)
{
	size_t k = n;
	*len = 0;
	if (k && buf[k - 1] == '\n') { /* one line end: "\n" or "\r\n" */
		k--;
		if (k && buf[k - 1] == '\r')
			k--;
	}
	if (memchr(buf, '\n', k) || memchr(buf, '\r', k) || memchr(buf, 0, k))
		return HSMCA_ERR_PARSE;
	*len = k;
	return 0;
}

size_t passline_len_legacy(const uint8_t *buf, size_t n)
{
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	return n;
}
