/*
 * tests/unit/test_calendar.c: civil dates, RFC 3339, Europe/London and the
 * next-school-day deadline.
 *
 * Expected instants are written as RFC 3339 strings and parsed, and every
 * deadline is checked as an exact UTC instant, so a wrong offset on either
 * side of a clock change fails here. Known day numbers were computed
 * independently (Python's datetime), not by the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "haven/calendar.h"

#define HOUR INT64_C(3600000)

static int64_t
T(const char *s)
{
	int64_t ms = 0;

	assert_int_equal(haven_time_parse(s, &ms), HAVEN_OK);
	return (ms);
}

static int64_t
D(const char *s)
{
	int64_t days = 0;

	assert_int_equal(haven_date_parse(s, &days), HAVEN_OK);
	return (days);
}

/* Deadline for `after` with the default 08:30 start. */
static int64_t
next_day(const char *after)
{
	haven_calendar cal;
	int64_t start = 0;

	haven_calendar_init(&cal);
	assert_int_equal(haven_calendar_next_school_day(&cal, T(after), &start),
	    HAVEN_OK);
	return (start);
}

static void
test_civil_known_days(void **state)
{
	(void) state;
	assert_int_equal(haven_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(haven_days_from_civil(1969, 12, 31), -1);
	assert_int_equal(haven_days_from_civil(2000, 3, 1), 11017);
	assert_int_equal(haven_days_from_civil(2024, 2, 29), 19782);
	assert_int_equal(haven_days_from_civil(1600, 2, 29), -135081);
	assert_int_equal(haven_days_from_civil(1900, 3, 1), -25508);
	assert_int_equal(haven_days_from_civil(1, 1, 1), -719162);
	assert_int_equal(haven_days_from_civil(9999, 12, 31), 2932896);
}

static void
test_civil_round_trip(void **state)
{
	int64_t prev = haven_days_from_civil(1, 1, 1) - 1;

	(void) state;
	/* Every valid date from year 1 to 2400: consecutive, and back. */
	for (int y = 1; y <= 2400; y++) {
		for (unsigned m = 1; m <= 12; m++) {
			for (unsigned d = 1; d <= 31; d++) {
				int64_t days;
				int yy;
				unsigned mm, dd;
				char s[16];

				(void) snprintf(s, sizeof(s), "%04d-%02u-%02u", y, m, d);
				if (haven_date_parse(s, &days) != HAVEN_OK) {
					assert_true(d > 28);
					continue;
				}
				assert_int_equal(days, haven_days_from_civil(y, m, d));
				assert_int_equal(days, prev + 1);
				prev = days;
				haven_civil_from_days(days, &yy, &mm, &dd);
				assert_int_equal(yy, y);
				assert_int_equal(mm, m);
				assert_int_equal(dd, d);
			}
		}
	}
	/* Before year 1 (floored arithmetic): days -> civil -> days. */
	for (int64_t days = haven_days_from_civil(-800, 1, 1);
	     days < haven_days_from_civil(1, 1, 1); days++) {
		int y;
		unsigned m, d;

		haven_civil_from_days(days, &y, &m, &d);
		assert_int_equal(haven_days_from_civil(y, m, d), days);
	}
}

static void
test_leap_years(void **state)
{
	int64_t days;

	(void) state;
	assert_int_equal(haven_date_parse("2024-02-29", &days), HAVEN_OK);
	assert_int_equal(days, 19782);
	assert_int_equal(haven_date_parse("2000-02-29", &days), HAVEN_OK);
	assert_int_equal(haven_date_parse("2023-02-29", &days), HAVEN_EINVAL);
	assert_int_equal(haven_date_parse("1900-02-29", &days), HAVEN_EINVAL);
	assert_int_equal(haven_date_parse("2100-02-29", &days), HAVEN_EINVAL);
	assert_int_equal(D("2024-03-01") - D("2024-02-28"), 2);
	assert_int_equal(D("2023-03-01") - D("2023-02-28"), 1);
	assert_int_equal(D("2025-01-01") - D("2024-01-01"), 366);
}

static void
test_date_refusals(void **state)
{
	static const char *bad[] = { "2024-13-01", "2024-1-01", "2024-01-1",
		"2024-01-01x", "2024-01-01 ", " 2024-01-01", "2024-00-10",
		"2024-01-00", "2024-04-31", "2024-01-32", "20240101",
		"2024/01/01", "+2024-01-01", "0000-01-01", "", "2024-01-",
		"2024-0a-01", "2024-01-01T00:00:00Z", "２024-01-01" };
	int64_t days = 42;

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (haven_date_parse(bad[i], &days) != HAVEN_EINVAL) {
			fail_msg("accepted date #%zu", i);
		}
	}
	assert_int_equal(days, 42); /* untouched on refusal */
	assert_int_equal(haven_date_parse(NULL, &days), HAVEN_EINVAL);
	assert_int_equal(haven_date_parse("2024-01-01", NULL), HAVEN_EINVAL);
}

static void
test_time_parse(void **state)
{
	(void) state;
	assert_int_equal(T("1970-01-01T00:00:00Z"), 0);
	assert_int_equal(T("2026-11-20T22:40:00Z"), INT64_C(1795214400000));
	assert_int_equal(T("2026-11-20T22:40:00.5Z"),
	    INT64_C(1795214400500));
	assert_int_equal(T("2026-11-20T22:40:00.123Z"),
	    INT64_C(1795214400123));
	assert_int_equal(T("2026-11-20T22:40:00.123999999Z"),
	    INT64_C(1795214400123));
	assert_int_equal(T("2026-11-20T23:40:00+01:00"),
	    INT64_C(1795214400000));
	assert_int_equal(T("2026-11-20T17:10:00-05:30"),
	    INT64_C(1795214400000));
	assert_int_equal(T("2026-11-20T22:40:00-00:00"),
	    INT64_C(1795214400000));
	assert_int_equal(T("1969-12-31T23:59:59.999Z"), -1);
	assert_int_equal(T("2026-11-21T00:10:00+01:30"),
	    T("2026-11-20T22:40:00Z"));
}

static void
test_time_refusals(void **state)
{
	static const char *bad[] = { "2026-11-20T22:40:00",
		"2026-11-20 22:40:00Z", "2026-11-20t22:40:00Z",
		"2026-11-20T22:40:00z", "2026-11-20T24:00:00Z",
		"2026-11-20T22:60:00Z", "2026-11-20T22:40:60Z",
		"2026-11-20T22:40Z", "2026-11-20T22:40:00.Z",
		"2026-11-20T22:40:00.1234567890Z", "2026-11-20T22:40:00+0100",
		"2026-11-20T22:40:00+01", "2026-11-20T22:40:00+24:00",
		"2026-11-20T22:40:00+01:60", "2026-11-20T22:40:00Zjunk",
		"2026-11-20T22:40:00Z ", "2026-11-20T22:40:00+01:00x",
		"2026-02-29T22:40:00Z", "2026-11-20T2:40:00Z", "",
		"2026-11-20", "2026-11-20T22:40:00,5Z" };
	int64_t ms = 42;

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (haven_time_parse(bad[i], &ms) != HAVEN_EINVAL) {
			fail_msg("accepted time #%zu", i);
		}
	}
	assert_int_equal(ms, 42);
	assert_int_equal(haven_time_parse(NULL, &ms), HAVEN_EINVAL);
}

static void
test_time_format(void **state)
{
	char buf[32];
	char small[20];

	(void) state;
	haven_time_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	haven_time_format(-1, buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31T23:59:59Z");
	haven_time_format(T("2026-11-20T22:40:00.999Z"), buf, sizeof(buf));
	assert_string_equal(buf, "2026-11-20T22:40:00Z");
	haven_time_format(T("2024-02-29T12:00:00+01:00"), buf, sizeof(buf));
	assert_string_equal(buf, "2024-02-29T11:00:00Z");
	/* Too small: empty, never a truncated time. */
	memset(small, 'x', sizeof(small));
	haven_time_format(0, small, sizeof(small));
	assert_string_equal(small, "");
	haven_time_format(0, buf, 21);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
}

static void
test_london_offset(void **state)
{
	(void) state;
	assert_int_equal(haven_london_offset_ms(T("2026-01-15T12:00:00Z")), 0);
	assert_int_equal(haven_london_offset_ms(T("2026-07-15T12:00:00Z")),
	    HOUR);
	/* Spring forward: Sunday 29 March 2026, 01:00 UTC. */
	assert_int_equal(
	    haven_london_offset_ms(T("2026-03-29T00:59:59.999Z")), 0);
	assert_int_equal(haven_london_offset_ms(T("2026-03-29T01:00:00Z")),
	    HOUR);
	assert_int_equal(haven_london_offset_ms(T("2026-03-22T12:00:00Z")), 0);
	/* Fall back: Sunday 25 October 2026, 01:00 UTC. */
	assert_int_equal(
	    haven_london_offset_ms(T("2026-10-25T00:59:59.999Z")), HOUR);
	assert_int_equal(haven_london_offset_ms(T("2026-10-25T01:00:00Z")), 0);
	assert_int_equal(haven_london_offset_ms(T("2026-10-31T12:00:00Z")), 0);
	/* Another year, where the last Sunday is the 31st (March 2024). */
	assert_int_equal(
	    haven_london_offset_ms(T("2024-03-31T00:59:59Z")), 0);
	assert_int_equal(haven_london_offset_ms(T("2024-03-31T01:00:00Z")),
	    HOUR);
	assert_int_equal(haven_london_offset_ms(T("2024-10-27T00:30:00Z")),
	    HOUR);
	assert_int_equal(haven_london_offset_ms(T("2024-10-27T01:30:00Z")), 0);
}

static void
test_london_days(void **state)
{
	(void) state;
	/* 23:30 UTC in summer is already tomorrow in London. */
	assert_int_equal(haven_london_days(T("2026-06-19T23:30:00Z")),
	    D("2026-06-20"));
	assert_int_equal(haven_london_days(T("2026-06-19T22:59:59Z")),
	    D("2026-06-19"));
	assert_int_equal(haven_london_days(T("2026-12-19T23:30:00Z")),
	    D("2026-12-19"));
	assert_int_equal(haven_london_days(-1), -1);
}

static void
test_friday_night(void **state)
{
	(void) state;
	/* domain.md scenario 1: Friday 22:40 -> Monday 08:30 local. */
	assert_int_equal(next_day("2026-11-20T22:40:00Z"),
	    T("2026-11-23T08:30:00Z"));
	assert_int_equal(next_day("2026-06-19T22:40:00+01:00"),
	    T("2026-06-22T07:30:00Z"));
	/* Saturday; Sunday 23:30 BST (22:30 UTC). */
	assert_int_equal(next_day("2026-11-21T10:00:00Z"),
	    T("2026-11-23T08:30:00Z"));
	assert_int_equal(next_day("2026-06-21T23:30:00+01:00"),
	    T("2026-06-22T07:30:00Z"));
	/* Monday 00:30 BST is Sunday 23:30 UTC: still Monday's start. */
	assert_int_equal(next_day("2026-06-21T23:30:00Z"),
	    T("2026-06-22T07:30:00Z"));
}

static void
test_school_day_edges(void **state)
{
	(void) state;
	/* Wednesday 18 November 2026 (GMT). */
	assert_int_equal(next_day("2026-11-18T08:29:00Z"),
	    T("2026-11-18T08:30:00Z"));
	assert_int_equal(next_day("2026-11-18T08:29:59.999Z"),
	    T("2026-11-18T08:30:00Z"));
	assert_int_equal(next_day("2026-11-18T08:30:00Z"),
	    T("2026-11-19T08:30:00Z")); /* strictly after */
	assert_int_equal(next_day("2026-11-18T08:31:00Z"),
	    T("2026-11-19T08:30:00Z"));
	/* Wednesday 17 June 2026 (BST): 08:29 local is 07:29 UTC. */
	assert_int_equal(next_day("2026-06-17T08:29:00+01:00"),
	    T("2026-06-17T07:30:00Z"));
	assert_int_equal(next_day("2026-06-17T08:31:00+01:00"),
	    T("2026-06-18T07:30:00Z"));
	/* 07:45 UTC in summer is 08:45 local: after today's start. */
	assert_int_equal(next_day("2026-06-17T07:45:00Z"),
	    T("2026-06-18T07:30:00Z"));
	/* Friday after the start: Monday. */
	assert_int_equal(next_day("2026-11-20T08:31:00Z"),
	    T("2026-11-23T08:30:00Z"));
}

static void
test_clock_change_weekends(void **state)
{
	(void) state;
	/* 2026-03-29: Friday evening in GMT, Monday start in BST. */
	assert_int_equal(next_day("2026-03-27T22:40:00Z"),
	    T("2026-03-30T07:30:00Z"));
	assert_int_equal(next_day("2026-03-29T00:30:00Z"),
	    T("2026-03-30T07:30:00Z"));
	assert_int_equal(next_day("2026-03-29T23:30:00Z"), /* Mon 00:30 */
	    T("2026-03-30T07:30:00Z"));
	/* 2026-10-25: Friday evening in BST, Monday start in GMT. */
	assert_int_equal(next_day("2026-10-23T22:40:00+01:00"),
	    T("2026-10-26T08:30:00Z"));
	assert_int_equal(next_day("2026-10-25T00:30:00Z"), /* 01:30 BST */
	    T("2026-10-26T08:30:00Z"));
	assert_int_equal(next_day("2026-10-25T01:30:00Z"), /* 01:30 GMT */
	    T("2026-10-26T08:30:00Z"));
	/* The school days either side keep their own offsets. */
	assert_int_equal(next_day("2026-03-26T09:00:00Z"),
	    T("2026-03-27T08:30:00Z"));
	assert_int_equal(next_day("2026-10-22T09:00:00+01:00"),
	    T("2026-10-23T07:30:00Z"));
}

static void
test_start_minute(void **state)
{
	haven_calendar cal;
	int64_t start = 7;

	(void) state;
	haven_calendar_init(&cal);
	assert_int_equal(cal.start_minute, 510);
	cal.start_minute = 0; /* local midnight: Sunday 23:00 UTC in summer */
	assert_int_equal(haven_calendar_next_school_day(&cal,
	    T("2026-06-19T22:40:00Z"), &start), HAVEN_OK);
	assert_int_equal(start, T("2026-06-21T23:00:00Z"));
	cal.start_minute = 9 * 60 + 15;
	assert_int_equal(haven_calendar_next_school_day(&cal,
	    T("2026-11-18T09:00:00Z"), &start), HAVEN_OK);
	assert_int_equal(start, T("2026-11-18T09:15:00Z"));
	start = 7;
	cal.start_minute = -1;
	assert_int_equal(haven_calendar_next_school_day(&cal, 0, &start),
	    HAVEN_EINVAL);
	cal.start_minute = 24 * 60;
	assert_int_equal(haven_calendar_next_school_day(&cal, 0, &start),
	    HAVEN_EINVAL);
	assert_int_equal(start, 7);
	haven_calendar_init(&cal);
	assert_int_equal(haven_calendar_next_school_day(NULL, 0, &start),
	    HAVEN_EINVAL);
	assert_int_equal(haven_calendar_next_school_day(&cal, INT64_MAX,
	    &start), HAVEN_EINVAL);
	assert_int_equal(haven_calendar_next_school_day(&cal, INT64_MIN,
	    &start), HAVEN_EINVAL);
}

/* A week of hours across both 2026 clock changes: every deadline is a
 * weekday at 08:30 London time and strictly after the input. */
static void
test_deadline_sweep(void **state)
{
	static const char *weeks[] = { "2026-03-23T00:00:00Z",
		"2026-10-19T00:00:00Z", "2024-02-26T00:00:00Z" };

	(void) state;
	for (size_t w = 0; w < 3; w++) {
		int64_t t0 = T(weeks[w]);

		for (int64_t t = t0; t < t0 + 14 * 24 * HOUR; t += HOUR / 4) {
			haven_calendar cal;
			int64_t s, day;
			int y;
			unsigned m, d;

			haven_calendar_init(&cal);
			assert_int_equal(haven_calendar_next_school_day(&cal, t, &s),
			    HAVEN_OK);
			assert_true(s > t);
			assert_true(s - t <= 4 * 24 * HOUR);
			day = haven_london_days(s);
			haven_civil_from_days(day, &y, &m, &d);
			assert_true((day + 3) % 7 < 5); /* Mon..Fri */
			assert_int_equal(s + haven_london_offset_ms(s) -
			    day * 24 * HOUR, 510 * INT64_C(60000));
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_civil_known_days),
		cmocka_unit_test(test_civil_round_trip),
		cmocka_unit_test(test_leap_years),
		cmocka_unit_test(test_date_refusals),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_time_refusals),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_london_offset),
		cmocka_unit_test(test_london_days),
		cmocka_unit_test(test_friday_night),
		cmocka_unit_test(test_school_day_edges),
		cmocka_unit_test(test_clock_change_weekends),
		cmocka_unit_test(test_start_minute),
		cmocka_unit_test(test_deadline_sweep),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
