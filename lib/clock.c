/*
 * lib/clock.c: the wall clock, and the controlled clock tests drive.
 *
 * Deadlines (Encompass: the start of a school's next school day) are
 * about wall-clock time, and a test of "an incident on Friday night,
 * unread on Monday at 08:30" cannot wait a weekend. A build configured
 * with HAVEN_TEST_CLOCK=ON (the dev, asan and fuzz presets; never the
 * release preset) lets a test name a file in the environment variable
 * HAVEN_TEST_CLOCK_FILE; every haven__now_ms then reads the time from it:
 * either milliseconds since the epoch or an RFC 3339 time. Time stands
 * still until the test writes the file again (atomically, by rename).
 *
 * Threat model: the clock file is set by whoever starts the process, like
 * its configuration; a peer can never move any process's clock. A file
 * that cannot be read or parsed is a broken test, so the process aborts
 * rather than fall back silently to real time. The release build compiles
 * none of this. Monotonic time (timeouts, backoff) is always real.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haven/calendar.h"
#include "util.h"

#ifdef HAVEN_TEST_CLOCK
static const char *
clock_file(void)
{
	const char *f = getenv("HAVEN_TEST_CLOCK_FILE");

	return (f != NULL && f[0] != '\0' ? f : NULL);
}

static bool
all_digits(const char *s)
{
	if (*s == '\0') {
		return (false);
	}
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9') {
			return (false);
		}
	}
	return (true);
}

static int64_t
read_clock(const char *path)
{
	char buf[64];
	size_t n;
	int64_t ms = 0;
	FILE *f = fopen(path, "r");

	if (f == NULL) {
		goto fail;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	(void) fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (all_digits(buf) && strlen(buf) <= 15) {
		return (strtoll(buf, NULL, 10));
	}
	if (haven_time_parse(buf, &ms) == HAVEN_OK) {
		return (ms);
	}
fail:
	(void) fprintf(stderr, "haven: test clock file %s is unreadable or "
	    "not a time; aborting\n", path);
	abort();
}
#endif

bool
haven__test_clock_active(void)
{
#ifdef HAVEN_TEST_CLOCK
	return (clock_file() != NULL);
#else
	return (false);
#endif
}

int64_t
haven__now_ms(void)
{
#ifdef HAVEN_TEST_CLOCK
	const char *f = clock_file();

	if (f != NULL) {
		return (read_clock(f));
	}
#endif
	return (haven__clock_ms(CLOCK_REALTIME));
}
