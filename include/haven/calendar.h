/*
 * haven/calendar.h: when a school's next school day starts.
 *
 * All instants are milliseconds since the Unix epoch (UTC). School times
 * are Europe/London wall-clock times; the UK rule (BST from 01:00 UTC on
 * the last Sunday of March to 01:00 UTC on the last Sunday of October) is
 * computed, not read from the host's TZ database, so every host agrees.
 *
 * This first version knows weekends and the start-of-day time only; term
 * dates, INSET days and bank holidays come with the calendar issue.
 */
#ifndef HAVEN_CALENDAR_H
#define HAVEN_CALENDAR_H

#include "haven/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct haven_calendar {
	int start_minute; /* minutes after local midnight; default 510 (08:30) */
} haven_calendar;

/** A calendar with defaults. */
HAVEN_API void haven_calendar_init(haven_calendar *cal);

/** Offset of Europe/London from UTC at instant `t_ms`: 0 or 3,600,000. */
HAVEN_API int64_t haven_london_offset_ms(int64_t t_ms);

/**
 * Start of the first school day whose start is strictly after `after_ms`:
 * the local (Europe/London) date of `after_ms` or a later one, at
 * cal->start_minute local time, converted to UTC with that day's offset.
 * A start time in October's repeated hour means its first (BST) instant;
 * one in March's missing hour is read with GMT's offset.
 * @return HAVEN_OK or HAVEN_EINVAL (start_minute not in [0, 1440), NULL
 *   argument, after_ms beyond +/- year 9999, no school day within 400 days).
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_calendar_next_school_day(
    const haven_calendar *cal, int64_t after_ms, int64_t *start_ms);

/** Parse "YYYY-MM-DD" (years 0001-9999) to days since 1970-01-01 with
 * full validation. HAVEN_EINVAL on any malformed or impossible date or
 * trailing byte; *days is untouched then. */
HAVEN_NODISCARD HAVEN_API haven_err haven_date_parse(const char *s,
    int64_t *days);

/** Parse RFC 3339 "YYYY-MM-DDTHH:MM:SS[.f](Z|+HH:MM|-HH:MM)" to ms: upper
 * case 'T' and 'Z' only, 1-9 fraction digits (milliseconds kept, the rest
 * truncated), no leap second. HAVEN_EINVAL otherwise (*ms untouched). */
HAVEN_NODISCARD HAVEN_API haven_err haven_time_parse(const char *s,
    int64_t *ms);

/** The Europe/London local date of instant `t_ms`, as days since
 * 1970-01-01 (what a school or a police officer calls "the date"). */
HAVEN_API int64_t haven_london_days(int64_t t_ms);

/** Format ms as "YYYY-MM-DDTHH:MM:SSZ" into buf (>= 21 bytes; the
 * milliseconds are dropped). A buffer too small gets "". */
HAVEN_API void haven_time_format(int64_t ms, char *buf, size_t len);

/** Days since epoch of a civil date and back (proleptic Gregorian). */
HAVEN_API int64_t haven_days_from_civil(int y, unsigned m, unsigned d);
HAVEN_API void haven_civil_from_days(int64_t days, int *y, unsigned *m,
    unsigned *d);

#ifdef __cplusplus
}
#endif
#endif /* HAVEN_CALENDAR_H */
