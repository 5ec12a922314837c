/*
 * tests/unit/test_calendar.c: civil dates, RFC 3339, Europe/London and the
 * next-school-day deadline.
 *
 * Expected instants are written as RFC 3339 strings and parsed, and every
 * deadline is checked as an exact UTC instant, so a wrong offset on either
 * side of a clock change fails here. Known day numbers and the expected
 * deadlines were computed independently (Python's datetime and zoneinfo
 * Europe/London), not by the code under test.
 *
 * The term-time tests use the demo local authority's real calendar
 * (deploy/calendars/la.cambs.json: half-terms as separate terms, INSET
 * days) and the England and Wales bank holidays 2025-2028, typed in here
 * again so that a change to the data files cannot hide a bug; a sweep
 * compares every answer with a brute-force linear reading of the rules.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "haven/calendar.h"
#include "haven/directory.h"

#include "cal_tu.h"

#define HOUR INT64_C(3600000)

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

/* ------------------------------------------------------ term calendars */

static const char *const bank_src[] = {
	"2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26",
	"2025-08-25", "2025-12-25", "2025-12-26", "2026-01-01", "2026-04-03",
	"2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-25",
	"2026-12-28", "2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03",
	"2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28", "2028-01-03",
	"2028-04-14", "2028-04-17", "2028-05-01", "2028-05-29", "2028-08-28",
	"2028-12-25", "2028-12-26" };

static const char *const term_src[][3] = {
	{ "autumn-1-2025", "2025-09-03", "2025-10-24" },
	{ "autumn-2-2025", "2025-11-03", "2025-12-19" },
	{ "spring-1-2026", "2026-01-05", "2026-02-13" },
	{ "spring-2-2026", "2026-02-23", "2026-03-27" },
	{ "summer-1-2026", "2026-04-13", "2026-05-22" },
	{ "summer-2-2026", "2026-06-01", "2026-07-22" },
	{ "autumn-1-2026", "2026-09-03", "2026-10-23" },
	{ "autumn-2-2026", "2026-11-02", "2026-12-18" },
	{ "spring-1-2027", "2027-01-05", "2027-02-12" },
	{ "spring-2-2027", "2027-02-22", "2027-03-25" },
	{ "summer-1-2027", "2027-04-12", "2027-05-28" },
	{ "summer-2-2027", "2027-06-07", "2027-07-21" },
	{ "autumn-1-2027", "2027-09-02", "2027-10-22" },
	{ "autumn-2-2027", "2027-11-01", "2027-12-17" },
	{ "spring-1-2028", "2028-01-04", "2028-02-11" },
	{ "spring-2-2028", "2028-02-21", "2028-03-31" },
	{ "summer-1-2028", "2028-04-18", "2028-05-26" },
	{ "summer-2-2028", "2028-06-05", "2028-07-21" } };

static const char *const inset_src[] = { "2026-01-05", "2026-06-01",
	"2027-01-05", "2027-06-07", "2028-01-04" };

#define N_BANK (sizeof(bank_src) / sizeof(bank_src[0]))
#define N_TERM (sizeof(term_src) / sizeof(term_src[0]))
#define N_INSET (sizeof(inset_src) / sizeof(inset_src[0]))

static int64_t g_bank[N_BANK];
static haven_term g_terms[N_TERM];
static int64_t g_inset[N_INSET];

/* The demo LA calendar with bank holidays; start 08:30. */
static void
cambs(haven_calendar *cal)
{
	for (size_t i = 0; i < N_BANK; i++) {
		g_bank[i] = D(bank_src[i]);
	}
	for (size_t i = 0; i < N_TERM; i++) {
		(void) snprintf(g_terms[i].name, sizeof(g_terms[i].name), "%s",
		    term_src[i][0]);
		g_terms[i].first_day = D(term_src[i][1]);
		g_terms[i].last_day = D(term_src[i][2]);
	}
	for (size_t i = 0; i < N_INSET; i++) {
		g_inset[i] = D(inset_src[i]);
	}
	haven_calendar_init(cal);
	cal->bank_holidays = g_bank;
	cal->n_bank_holidays = N_BANK;
	cal->terms = g_terms;
	cal->n_terms = N_TERM;
	cal->closed = g_inset;
	cal->n_closed = N_INSET;
}

static int64_t
next_in(const haven_calendar *cal, const char *after)
{
	int64_t start = 0;

	assert_int_equal(haven_calendar_next_school_day(cal, T(after), &start),
	    HAVEN_OK);
	return (start);
}

static void
test_term_weekends(void **state)
{
	haven_calendar cal;

	(void) state;
	cambs(&cal);
	/* Friday night in autumn-2 2026 -> Monday. */
	assert_int_equal(next_in(&cal, "2026-11-20T22:40:00Z"),
	    T("2026-11-23T08:30:00Z"));
	/* Saturday in summer-2 2026 (BST) -> Monday 08:30 BST. */
	assert_int_equal(next_in(&cal, "2026-06-20T11:00:00+01:00"),
	    T("2026-06-22T07:30:00Z"));
	/* A weekend inside a term is not a holiday; a weekday of it is a
	 * school day. */
	assert_false(haven_calendar_in_holiday(&cal, D("2026-11-21")));
	assert_false(haven_calendar_is_school_day(&cal, D("2026-11-21")));
	assert_true(haven_calendar_is_school_day(&cal, D("2026-11-20")));
}

static void
test_term_half_terms(void **state)
{
	haven_calendar cal;

	(void) state;
	cambs(&cal);
	/* Last day of autumn-1 2026 (Friday 23 Oct) after school: the
	 * half-term week (and the clock change) pass; Monday 2 Nov, GMT. */
	assert_int_equal(next_in(&cal, "2026-10-23T16:00:00+01:00"),
	    T("2026-11-02T08:30:00Z"));
	/* During half-term: the holiday is a holiday. */
	assert_true(haven_calendar_in_holiday(&cal, D("2026-10-28")));
	assert_false(haven_calendar_is_school_day(&cal, D("2026-10-28")));
	assert_int_equal(next_in(&cal, "2026-10-28T10:00:00Z"),
	    T("2026-11-02T08:30:00Z"));
	/* February half-term 2027. */
	assert_int_equal(next_in(&cal, "2027-02-12T19:00:00Z"),
	    T("2027-02-22T08:30:00Z"));
	/* Before 08:30 on the last day of a term: that day still counts. */
	assert_int_equal(next_in(&cal, "2026-10-23T06:00:00+01:00"),
	    T("2026-10-23T07:30:00Z"));
	/* Easter 2026: spring-2 ends Fri 27 Mar, summer-1 starts 13 Apr. */
	assert_int_equal(next_in(&cal, "2026-03-27T09:00:00Z"),
	    T("2026-04-13T07:30:00Z"));
}

static void
test_term_summer_holiday(void **state)
{
	haven_calendar cal;

	(void) state;
	cambs(&cal);
	/* 21:00 on the last day of the summer term -> first day of the
	 * autumn term (Thursday 3 September 2026, BST). */
	assert_int_equal(next_in(&cal, "2026-07-22T21:00:00+01:00"),
	    T("2026-09-03T07:30:00Z"));
	assert_true(haven_calendar_in_holiday(&cal, D("2026-08-12")));
	assert_true(haven_calendar_in_holiday(&cal, D("2026-07-23")));
	assert_false(haven_calendar_in_holiday(&cal, D("2026-07-22")));
	assert_false(haven_calendar_in_holiday(&cal, D("2026-09-03")));
	/* The August bank holiday is in the holiday anyway. */
	assert_int_equal(next_in(&cal, "2026-08-31T12:00:00+01:00"),
	    T("2026-09-03T07:30:00Z"));
	/* Summer 2027: ends Wednesday 21 July, autumn starts Thursday 2
	 * September 2027. */
	assert_int_equal(next_in(&cal, "2027-07-21T08:31:00+01:00"),
	    T("2027-09-02T07:30:00Z"));
}

static void
test_term_inset_days(void **state)
{
	haven_calendar cal;

	(void) state;
	cambs(&cal);
	/* Spring-1 2026 opens with an INSET day (Monday 5 January). */
	assert_false(haven_calendar_is_school_day(&cal, D("2026-01-05")));
	assert_false(haven_calendar_in_holiday(&cal, D("2026-01-05")));
	assert_int_equal(next_in(&cal, "2026-01-02T20:00:00Z"),
	    T("2026-01-06T08:30:00Z"));
	/* Summer-2 2026 opens with one (Monday 1 June), in BST. */
	assert_int_equal(next_in(&cal, "2026-05-29T20:00:00+01:00"),
	    T("2026-06-02T07:30:00Z"));
	assert_int_equal(next_in(&cal, "2026-06-01T08:00:00+01:00"),
	    T("2026-06-02T07:30:00Z"));
	/* Without the INSET list the same incident is due on the Monday. */
	cal.n_closed = 0;
	assert_int_equal(next_in(&cal, "2026-05-29T20:00:00+01:00"),
	    T("2026-06-01T07:30:00Z"));
	/* A school's own closure counts the same way. */
	{
		int64_t own[1];

		own[0] = D("2026-11-23");
		cal.school_closed = own;
		cal.n_school_closed = 1;
		assert_int_equal(next_in(&cal, "2026-11-20T22:40:00Z"),
		    T("2026-11-24T08:30:00Z"));
	}
}

static void
test_term_bank_holidays(void **state)
{
	haven_calendar cal;

	(void) state;
	cambs(&cal);
	/* Early May bank holiday 2026 (Monday 4 May) inside summer-1. */
	assert_false(haven_calendar_is_school_day(&cal, D("2026-05-04")));
	assert_false(haven_calendar_in_holiday(&cal, D("2026-05-04")));
	assert_int_equal(next_in(&cal, "2026-05-01T20:00:00+01:00"),
	    T("2026-05-05T07:30:00Z"));
	/* Spring bank holiday 2027 (Monday 31 May) inside summer-1 2027...
	 * no: summer-1 2027 ends 28 May; the half-term covers it. */
	assert_int_equal(next_in(&cal, "2027-05-28T20:00:00+01:00"),
	    T("2027-06-08T07:30:00Z")); /* 7 June is an INSET day */
	/* Early May 2028 (Monday 1 May) inside summer-1 2028. */
	assert_int_equal(next_in(&cal, "2028-04-28T20:00:00+01:00"),
	    T("2028-05-02T07:30:00Z"));
}

/* Bank holidays alone (no terms): Christmas with the substitute days. */
static void
test_christmas_substitutes(void **state)
{
	haven_calendar cal;

	(void) state;
	cambs(&cal);
	cal.n_terms = 0;
	cal.n_closed = 0;
	/* 2026: Fri 25 Dec, Mon 28 Dec (Boxing Day substitute) -> Tue 29. */
	assert_int_equal(next_in(&cal, "2026-12-24T09:00:00Z"),
	    T("2026-12-29T08:30:00Z"));
	assert_false(haven_calendar_is_school_day(&cal, D("2026-12-28")));
	/* 2027: Sat 25, Sun 26, Mon 27 and Tue 28 substitutes -> Wed 29. */
	assert_int_equal(next_in(&cal, "2027-12-24T10:00:00Z"),
	    T("2027-12-29T08:30:00Z"));
	/* New Year 2028 (Saturday): Monday 3 January substitute. */
	assert_int_equal(next_in(&cal, "2027-12-31T10:00:00Z"),
	    T("2028-01-04T08:30:00Z"));
	/* With the LA's terms: autumn-2 2026 ends Fri 18 Dec; spring-1 2027
	 * opens with an INSET day on Tue 5 Jan -> Wed 6 Jan. */
	cambs(&cal);
	assert_int_equal(next_in(&cal, "2026-12-18T15:00:00Z"),
	    T("2027-01-06T08:30:00Z"));
	assert_int_equal(next_in(&cal, "2027-12-17T15:00:00Z"),
	    T("2028-01-05T08:30:00Z"));
}

/* The night of each clock change, at 00:30, 01:30 and 02:30 local. */
static void
test_term_clock_change_nights(void **state)
{
	haven_calendar cal;

	(void) state;
	cambs(&cal);
	/* Sunday 26 March 2028, spring-2 runs to 31 March: Monday 08:30 BST.
	 * 00:30 GMT, then 01:30 GMT is already 02:30 BST, then 02:30 BST. */
	assert_int_equal(next_in(&cal, "2028-03-26T00:30:00Z"),
	    T("2028-03-27T07:30:00Z"));
	assert_int_equal(next_in(&cal, "2028-03-26T00:59:59Z"),
	    T("2028-03-27T07:30:00Z"));
	assert_int_equal(next_in(&cal, "2028-03-26T02:30:00+01:00"),
	    T("2028-03-27T07:30:00Z"));
	assert_int_equal(next_in(&cal, "2028-03-26T03:30:00+01:00"),
	    T("2028-03-27T07:30:00Z"));
	/* Sunday 31 October 2027, autumn-2 starts Monday 1 November: 08:30
	 * GMT. 00:30 BST, 01:30 BST, 01:30 GMT (the repeated hour), 02:30. */
	assert_int_equal(next_in(&cal, "2027-10-31T00:30:00+01:00"),
	    T("2027-11-01T08:30:00Z"));
	assert_int_equal(next_in(&cal, "2027-10-31T01:30:00+01:00"),
	    T("2027-11-01T08:30:00Z"));
	assert_int_equal(next_in(&cal, "2027-10-31T01:30:00Z"),
	    T("2027-11-01T08:30:00Z"));
	assert_int_equal(next_in(&cal, "2027-10-31T02:30:00Z"),
	    T("2027-11-01T08:30:00Z"));
	/* 2026: both nights fall in holidays (Easter, October half-term). */
	assert_int_equal(next_in(&cal, "2026-03-29T00:30:00Z"),
	    T("2026-04-13T07:30:00Z"));
	assert_int_equal(next_in(&cal, "2026-03-29T01:30:00Z"),
	    T("2026-04-13T07:30:00Z"));
	assert_int_equal(next_in(&cal, "2026-10-25T00:30:00+01:00"),
	    T("2026-11-02T08:30:00Z"));
	assert_int_equal(next_in(&cal, "2026-10-25T01:30:00Z"),
	    T("2026-11-02T08:30:00Z"));
	assert_int_equal(next_in(&cal, "2026-10-25T02:30:00Z"),
	    T("2026-11-02T08:30:00Z"));
}

static void
test_term_start_of_day(void **state)
{
	haven_calendar cal;

	(void) state;
	cambs(&cal);
	/* 08:29 versus 08:31 on a school day (Wednesday 18 Nov 2026). */
	assert_int_equal(next_in(&cal, "2026-11-18T08:29:00Z"),
	    T("2026-11-18T08:30:00Z"));
	assert_int_equal(next_in(&cal, "2026-11-18T08:31:00Z"),
	    T("2026-11-19T08:30:00Z"));
	/* ... and in summer time (Wednesday 17 June 2026). */
	assert_int_equal(next_in(&cal, "2026-06-17T08:29:00+01:00"),
	    T("2026-06-17T07:30:00Z"));
	assert_int_equal(next_in(&cal, "2026-06-17T08:31:00+01:00"),
	    T("2026-06-18T07:30:00Z"));
	/* A school that starts at 08:45. */
	cal.start_minute = 8 * 60 + 45;
	assert_int_equal(next_in(&cal, "2026-11-18T08:31:00Z"),
	    T("2026-11-18T08:45:00Z"));
	assert_int_equal(next_in(&cal, "2026-11-18T08:44:59Z"),
	    T("2026-11-18T08:45:00Z"));
	assert_int_equal(next_in(&cal, "2026-11-18T08:45:00Z"),
	    T("2026-11-19T08:45:00Z"));
	assert_int_equal(next_in(&cal, "2026-06-17T08:40:00+01:00"),
	    T("2026-06-17T07:45:00Z"));
	/* Friday 08:46 -> Monday 08:45. */
	assert_int_equal(next_in(&cal, "2026-11-20T08:46:00Z"),
	    T("2026-11-23T08:45:00Z"));
}

static void
test_term_beyond_listed(void **state)
{
	haven_calendar cal;

	(void) state;
	cambs(&cal);
	/* After the last listed term (summer-2 2028 ends Fri 21 July):
	 * term time, the earliest deadline. */
	assert_int_equal(next_in(&cal, "2028-07-21T21:00:00+01:00"),
	    T("2028-07-24T07:30:00Z"));
	assert_false(haven_calendar_in_holiday(&cal, D("2028-08-01")));
	assert_true(haven_calendar_is_school_day(&cal, D("2028-08-01")));
	/* Bank holidays still count there (Monday 28 August 2028). */
	assert_int_equal(next_in(&cal, "2028-08-25T20:00:00+01:00"),
	    T("2028-08-29T07:30:00Z"));
	/* Clock change of October 2028 beyond the terms: Monday 30 Oct. */
	assert_int_equal(next_in(&cal, "2028-10-29T01:30:00Z"),
	    T("2028-10-30T08:30:00Z"));
	/* Before the first listed term (autumn-1 2025 starts 3 Sept). */
	assert_int_equal(next_in(&cal, "2025-08-01T20:00:00+01:00"),
	    T("2025-08-04T07:30:00Z"));
	assert_false(haven_calendar_in_holiday(&cal, D("2025-08-01")));
	/* No terms at all: never a holiday. */
	cal.n_terms = 0;
	assert_false(haven_calendar_in_holiday(&cal, D("2026-08-12")));
}

static void
test_term_refusals(void **state)
{
	haven_calendar cal;
	haven_term far[2];
	int64_t start = 7;

	(void) state;
	/* A count with no list would be read: refused. */
	haven_calendar_init(&cal);
	cal.n_bank_holidays = 1;
	assert_int_equal(haven_calendar_next_school_day(&cal, 0, &start),
	    HAVEN_EINVAL);
	assert_false(haven_calendar_is_school_day(&cal, D("2026-11-18")));
	haven_calendar_init(&cal);
	cal.n_terms = 2;
	assert_int_equal(haven_calendar_next_school_day(&cal, 0, &start),
	    HAVEN_EINVAL);
	assert_false(haven_calendar_in_holiday(&cal, 0));
	haven_calendar_init(&cal);
	cal.n_closed = 1;
	assert_int_equal(haven_calendar_next_school_day(&cal, 0, &start),
	    HAVEN_EINVAL);
	haven_calendar_init(&cal);
	cal.n_school_closed = 1;
	assert_int_equal(haven_calendar_next_school_day(&cal, 0, &start),
	    HAVEN_EINVAL);
	/* A holiday longer than the search window: no school day. */
	memset(far, 0, sizeof(far));
	far[0].first_day = D("2026-01-05");
	far[0].last_day = D("2026-01-09");
	far[1].first_day = D("2028-01-03");
	far[1].last_day = D("2028-01-07");
	haven_calendar_init(&cal);
	cal.terms = far;
	cal.n_terms = 2;
	assert_int_equal(haven_calendar_next_school_day(&cal,
	    T("2026-01-09T12:00:00Z"), &start), HAVEN_EINVAL);
	assert_int_equal(start, 7);
	assert_int_equal(haven_calendar_next_school_day(&cal,
	    T("2027-12-01T12:00:00Z"), &start), HAVEN_OK);
	assert_int_equal(start, T("2028-01-03T08:30:00Z"));
	assert_false(haven_calendar_is_school_day(NULL, 0));
	assert_false(haven_calendar_in_holiday(NULL, 0));
}

static bool
ahead(const haven_calendar *cal, const char *when)
{
	return (haven_calendar_holiday_ahead(cal, T(when)));
}

static void
test_holiday_ahead(void **state)
{
	haven_calendar cal;

	(void) state;
	cambs(&cal);
	/* The evening of the last day of the summer term, and a day inside
	 * the holiday: yes. Before school on that last day: no. */
	assert_true(ahead(&cal, "2026-07-22T21:00:00+01:00"));
	assert_true(ahead(&cal, "2026-08-12T12:00:00+01:00"));
	assert_false(ahead(&cal, "2026-07-22T08:29:00+01:00"));
	/* The last day of autumn-1 after school: half-term lies ahead. */
	assert_true(ahead(&cal, "2026-10-23T16:00:00+01:00"));
	/* In term: a weekend, a bank holiday Monday (4 May 2026), an INSET
	 * day (5 January 2026) are not holidays. */
	assert_false(ahead(&cal, "2026-11-20T22:40:00Z"));
	assert_false(ahead(&cal, "2026-05-01T20:00:00+01:00"));
	assert_false(ahead(&cal, "2026-01-05T10:00:00Z"));
	/* Beyond the listed terms, without terms, without a calendar, with
	 * an invalid one: no. */
	assert_false(ahead(&cal, "2028-08-01T12:00:00+01:00"));
	cal.n_terms = 0;
	assert_false(ahead(&cal, "2026-08-12T12:00:00+01:00"));
	cal.terms = NULL;
	cal.n_terms = 2;
	assert_false(ahead(&cal, "2026-08-12T12:00:00+01:00"));
	assert_false(haven_calendar_holiday_ahead(NULL, 0));
}

static void
test_date_add_years(void **state)
{
	(void) state;
	assert_int_equal(haven_date_add_years(D("2015-03-02"), 4),
	    D("2019-03-02"));
	assert_int_equal(haven_date_add_years(D("2019-03-02"), -4),
	    D("2015-03-02"));
	/* 29 February: kept in a leap year, 1 March otherwise (2100 is not
	 * a leap year, 2000 was). */
	assert_int_equal(haven_date_add_years(D("2008-02-29"), 4),
	    D("2012-02-29"));
	assert_int_equal(haven_date_add_years(D("2008-02-29"), 18),
	    D("2026-03-01"));
	assert_int_equal(haven_date_add_years(D("2096-02-29"), 4),
	    D("2100-03-01"));
	assert_int_equal(haven_date_add_years(D("1996-02-29"), 4),
	    D("2000-02-29"));
	assert_int_equal(haven_date_add_years(D("2024-02-28"), 1),
	    D("2025-02-28"));
}

static void
test_area_of(void **state)
{
	haven_agency a;

	(void) state;
	memset(&a, 0, sizeof(a));
	assert_null(haven_calendar_area_of(NULL));
	assert_null(haven_calendar_area_of(&a));
	a.n_attrs = 1;
	(void) snprintf(a.attrs[0].key, HAVEN_CODE_MAX, "local_authority");
	(void) snprintf(a.attrs[0].value, HAVEN_TAGVAL_MAX, "la.cambs");
	assert_string_equal(haven_calendar_area_of(&a), "la.cambs");
	a.n_attrs = 2;
	(void) snprintf(a.attrs[1].key, HAVEN_CODE_MAX, "calendar");
	(void) snprintf(a.attrs[1].value, HAVEN_TAGVAL_MAX, "trust.north");
	assert_string_equal(haven_calendar_area_of(&a), "trust.north");
}

/* The rules read the slow way: a linear scan of every list. */
static bool
slow_school_day(int64_t day)
{
	bool in_term = false;

	if ((day + 3) % 7 >= 5) {
		return (false);
	}
	for (size_t i = 0; i < N_BANK; i++) {
		if (g_bank[i] == day) {
			return (false);
		}
	}
	for (size_t i = 0; i < N_INSET; i++) {
		if (g_inset[i] == day) {
			return (false);
		}
	}
	for (size_t i = 0; i < N_TERM; i++) {
		in_term = in_term || (day >= g_terms[i].first_day &&
		    day <= g_terms[i].last_day);
	}
	return (in_term || day < g_terms[0].first_day ||
	    day > g_terms[N_TERM - 1].last_day);
}

/* Every 5 hours from 2025-06 to 2028-10: the deadline is a school day at
 * 08:30 London, after the input, and no school day starts in between. */
static void
test_term_sweep(void **state)
{
	haven_calendar cal;
	int64_t t0 = T("2025-06-01T00:00:00Z");
	int64_t t1 = T("2028-10-01T00:00:00Z");

	(void) state;
	cambs(&cal);
	for (int64_t t = t0; t < t1; t += 5 * HOUR + 7 * 60000) {
		int64_t s, day;
		bool hol = false;

		assert_int_equal(haven_calendar_next_school_day(&cal, t, &s),
		    HAVEN_OK);
		assert_true(s > t);
		day = haven_london_days(s);
		assert_true(slow_school_day(day));
		assert_int_equal(haven_calendar_is_school_day(&cal, day), true);
		assert_int_equal(s + haven_london_offset_ms(s) - day * 24 * HOUR,
		    510 * INT64_C(60000));
		for (int64_t d = haven_london_days(t); d < day; d++) {
			int64_t st = d * 24 * HOUR + 510 * INT64_C(60000);

			st -= haven_london_offset_ms(st - HOUR);
			if (st > t && slow_school_day(d)) {
				fail_msg("skipped school day %lld",
				    (long long) d);
			}
			hol = hol || haven_calendar_in_holiday(&cal, d);
		}
		assert_int_equal(haven_calendar_holiday_ahead(&cal, t), hol);
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
		cmocka_unit_test(test_term_weekends),
		cmocka_unit_test(test_term_half_terms),
		cmocka_unit_test(test_term_summer_holiday),
		cmocka_unit_test(test_term_inset_days),
		cmocka_unit_test(test_term_bank_holidays),
		cmocka_unit_test(test_christmas_substitutes),
		cmocka_unit_test(test_term_clock_change_nights),
		cmocka_unit_test(test_term_start_of_day),
		cmocka_unit_test(test_term_beyond_listed),
		cmocka_unit_test(test_term_refusals),
		cmocka_unit_test(test_holiday_ahead),
		cmocka_unit_test(test_area_of),
		cmocka_unit_test(test_date_add_years),
		cmocka_unit_test(test_term_sweep),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
