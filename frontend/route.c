#include "route.h"

#include <ctype.h>
#include <string.h>

int route_split(const char *uri, const char *prefix, char segs[ROUTE_SEGS_MAX][ROUTE_SEG_MAX])
{
	size_t plen = strlen(prefix);
	if (strncmp(uri, prefix, plen) != 0)
		return -1;
	const char *s = uri + plen;
	size_t end = strcspn(s, "?#");
	int n = 0;
	if (end == 0)
		return 0;
	if (s[0] != '/')
		return -1;
	size_t i = 1;
	while (i <= end) {
		size_t len = 0;
		while (i + len < end && s[i + len] != '/')
			len++;
		if (len == 0 || len >= ROUTE_SEG_MAX || n == ROUTE_SEGS_MAX)
			return -1;
		for (size_t k = 0; k < len; k++) {
			unsigned char c = (unsigned char)s[i + k];
			if (!isalnum(c) && c != '.' && c != '_' && c != '-')
				return -1;
		}
		memcpy(segs[n], s + i, len);
		segs[n][len] = 0;
		n++;
		i += len + 1;
	}
	return n;
}

bool route_id(const char *s, int64_t *out)
{
	size_t n = strlen(s);
	int64_t v = 0;
	if (n == 0 || n > ROUTE_ID_DIGITS_MAX || s[0] == '0')
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}
