#include "ttyline.h"

#include <stdbool.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

int ttyline_read(int fd, int prompt_fd, const char *prompt, char *out, size_t max, size_t *out_len)
{
	struct termios old, quiet;
	ssize_t r;
	*out_len = 0;
	if (tcgetattr(fd, &old) != 0)
		return HSMCA_ERR_STATE;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0 || tcgetattr(fd, &quiet) != 0 || (quiet.c_lflag & ECHO)) {
		(void)tcsetattr(fd, TCSAFLUSH, &old);
		return HSMCA_ERR_STATE;
	}
	(void)!write(prompt_fd, prompt, strlen(prompt));
	r = read(fd, out, max + 1);
	bool cut = r > 0 && (size_t)r == max + 1 && out[max] != '\n';
	while (cut) { /* the rest of the line: read and dropped */
		char rest[256];
		ssize_t n = read(fd, rest, sizeof rest);
		/* a canonical read returns one line at most: a short one ended it (Enter, or ctrl-D) */
		bool end = n <= 0 || (size_t)n < sizeof rest || rest[n - 1] == '\n';
		explicit_bzero(rest, sizeof rest);
		if (end)
			break;
	}
	(void)tcsetattr(fd, TCSAFLUSH, &old);
	(void)!write(prompt_fd, "\n", 1);
	if (r < 0)
		return HSMCA_ERR_IO;
	if (cut) {
		explicit_bzero(out, max + 1);
		return HSMCA_ERR_LIMIT;
	}
	*out_len = (size_t)r;
	return 0;
}
