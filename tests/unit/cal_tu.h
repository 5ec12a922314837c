/*
 * tests/unit/cal_tu.h: instants and dates for the tests of deadlines
 * (header-only; the integration tests include it as "../unit/cal_tu.h").
 *
 * Expected times are written as RFC 3339 strings or "YYYY-MM-DD" dates and
 * parsed by libhaven's strict parsers, so a test reads like the calendar it
 * checks. Include after <cmocka.h>: a string that does not parse fails the
 * test at once.
 */
#ifndef HAVEN_TESTS_UNIT_CAL_TU_H
#define HAVEN_TESTS_UNIT_CAL_TU_H

#include "haven/calendar.h"

/* Milliseconds since the epoch of an RFC 3339 instant. */
static inline int64_t
T(const char *rfc3339)
{
	int64_t ms = 0;

	assert_int_equal(haven_time_parse(rfc3339, &ms), HAVEN_OK);
	return (ms);
}

/* Days since 1970-01-01 of a "YYYY-MM-DD" date. */
static inline int64_t
D(const char *date)
{
	int64_t days = 0;

	assert_int_equal(haven_date_parse(date, &days), HAVEN_OK);
	return (days);
}

#endif /* HAVEN_TESTS_UNIT_CAL_TU_H */
