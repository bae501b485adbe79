#include "readall.h"

#include <errno.h>
#include <unistd.h>

int readall_fd(int fd, uint8_t *buf, size_t max, bool line, size_t *out_len)
{
	size_t len = 0;
	while (len <= max && !(line && len > 0 && buf[len - 1] == '\n')) {
		ssize_t r = read(fd, buf + len, line ? 1 : max + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return HSMCA_ERR_IO;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > max && !(line && len == max + 1 && buf[max] == '\n'))
		return HSMCA_ERR_LIMIT;
	*out_len = len;
	return 0;
}
