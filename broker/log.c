/*
 * broker/log.c: the broker's event log on stderr.
 *
 * A line is formatted into a bounded buffer and written with a single
 * write(2), so lines from the broker never interleave mid-line in the log
 * file even when stderr is shared. Over-long lines are truncated (the id
 * always survives). Nothing here sees payload bytes.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

#define LINE_MAX_BYTES 1024

void
haven__blog(const char *id, const char *fmt, ...)
{
	char line[LINE_MAX_BYTES];
	va_list ap;
	int n;
	size_t len;

	n = snprintf(line, sizeof(line), "%s ", id);
	if (n < 0 || (size_t) n >= sizeof(line)) {
		return;
	}
	va_start(ap, fmt);
	(void) vsnprintf(line + n, sizeof(line) - (size_t) n, fmt, ap);
	va_end(ap);
	len = strlen(line);
	if (len >= sizeof(line) - 1) {
		len = sizeof(line) - 2;
	}
	line[len++] = '\n';
	/* Best effort: a failed log write must not stop the broker. */
	if (write(STDERR_FILENO, line, len) < 0) {
		return;
	}
}

void
haven__msgid_hex(char out[2 * HAVEN_MSGID_BYTES + 1],
    const uint8_t id[HAVEN_MSGID_BYTES])
{
	haven__hex_encode(out, id, HAVEN_MSGID_BYTES);
}

void
haven__bcopy(char *dst, size_t cap, const char *src)
{
	size_t n;

	if (cap == 0) {
		return;
	}
	n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}
