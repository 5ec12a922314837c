/*
 * haven/calendar.h: when a school's next school day starts.
 *
 * All instants are milliseconds since the Unix epoch (UTC). School times
 * are Europe/London wall-clock times; the UK rule (BST from 01:00 UTC on
 * the last Sunday of March to 01:00 UTC on the last Sunday of October) is
 * computed, not read from the host's TZ database, so every host agrees.
 *
 * A school day is a Monday-Friday local date that is not a bank holiday,
 * not an INSET day or other closure of the school, and, when the school's
 * calendar lists terms, inside one of them. Dates after the last listed
 * term (or before the first) are treated as term time: an unknown future
 * gives the earliest, strictest deadline, never a later one.
 *
 * The partnership's calendars are part of the signed directory (see
 * haven/directory.h "calendars"): bank holidays (England and Wales, from
 * deploy/calendars/bank-holidays-england-wales.json), per local authority
 * the terms and INSET days, and per school its start of day (agency attr
 * "start_of_day", "HH:MM", default 08:30), the calendar it follows (attr
 * "calendar", default its "local_authority" attr) and its own closures.
 * haven_directory_calendar() resolves one school's calendar from a loaded
 * directory; the broker and the police agent both call it, so both compute
 * the same deadline from the same signed data.
 */
#ifndef HAVEN_CALENDAR_H
#define HAVEN_CALENDAR_H

#include "haven/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct haven_term {
	char name[HAVEN_CODE_MAX]; /* "autumn-2026" */
	int64_t first_day;         /* days since 1970-01-01, inclusive */
	int64_t last_day;          /* inclusive; >= first_day */
} haven_term;

/* One school's calendar. The arrays are borrowed (from a directory, or a
 * test's own arrays) and must be sorted ascending; terms must not overlap.
 * All-zero arrays (haven_calendar_init) mean: weekends only. */
typedef struct haven_calendar {
	int start_minute; /* minutes after local midnight; default 510 (08:30) */
	const int64_t *bank_holidays; /* sorted days */
	size_t n_bank_holidays;
	const haven_term *terms;      /* sorted, disjoint */
	size_t n_terms;
	const int64_t *closed;        /* INSET days and closures, sorted */
	size_t n_closed;
	const int64_t *school_closed; /* the school's own closures, sorted */
	size_t n_school_closed;
} haven_calendar;

/** A calendar with defaults. */
HAVEN_API void haven_calendar_init(haven_calendar *cal);

/** True if local date `day` (days since 1970-01-01) is a school day. */
HAVEN_API bool haven_calendar_is_school_day(const haven_calendar *cal,
    int64_t day);

/** True if local date `day` is in a holiday: outside every listed term
 * but between the first term's start and the last term's end (weekends
 * inside a term are not holidays). False when no terms are listed. */
HAVEN_API bool haven_calendar_in_holiday(const haven_calendar *cal,
    int64_t day);

/**
 * True if a holiday lies between instant `after_ms` and the start of the
 * next school day after it (haven_calendar_next_school_day): some London
 * date from that of `after_ms` up to, not including, the date of that
 * school day is in a holiday (haven_calendar_in_holiday). So an instant
 * on a holiday counts, and so does the evening of the last day of a term
 * (nobody at school reads it before the next term); a weekend, bank
 * holiday or INSET day inside a term does not. False when no next school
 * day can be computed (NULL or invalid calendar, after_ms out of range).
 * The police agent and the broker both decide with it whether a holiday
 * duty contact may receive a notification.
 */
HAVEN_API bool haven_calendar_holiday_ahead(const haven_calendar *cal,
    int64_t after_ms);

/** The calendar area agency `a` (a school) follows: its "calendar" attr,
 * else its "local_authority" attr, else NULL (also for a NULL `a`). The
 * string is borrowed from `a`. */
struct haven_agency;
HAVEN_API const char *haven_calendar_area_of(const struct haven_agency *a);

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

/** The date `years` years after `day` (days since 1970-01-01): the same
 * month and day, except that 29 February becomes 1 March in a common
 * year (so a birthday on 29 February is kept on 1 March). `years` may be
 * negative; the result must stay within years 1-9999 to be meaningful. */
HAVEN_API int64_t haven_date_add_years(int64_t day, int years);

/** Days since epoch of a civil date and back (proleptic Gregorian). */
HAVEN_API int64_t haven_days_from_civil(int y, unsigned m, unsigned d);
HAVEN_API void haven_civil_from_days(int64_t days, int *y, unsigned *m,
    unsigned *d);

#ifdef __cplusplus
}
#endif
#endif /* HAVEN_CALENDAR_H */
