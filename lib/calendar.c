/*
 * lib/calendar.c: civil dates, RFC 3339 instants, Europe/London offsets
 * and the start of a school's next school day.
 *
 * Invariants:
 * - Every instant is int64 milliseconds since 1970-01-01T00:00:00Z; every
 *   date is int64 days since 1970-01-01 (proleptic Gregorian). Division is
 *   floored, so instants before the epoch work too.
 * - Nothing here reads the host's TZ, locale or clock: the UK summer-time
 *   rule is computed, so the police agent, the broker and every school agent
 *   agree on a deadline whatever their host is configured to.
 * - Parsers are strict and total: they look at every byte, accept exactly
 *   one spelling, refuse impossible dates (2023-02-29) and trailing bytes,
 *   and never read past the terminating NUL.
 *
 * The deadline search asks one predicate, school_day(), whether a local
 * date is a school day: a weekday, not a bank holiday, not closed (area
 * INSET days, the school's own closures) and, inside the span of the
 * listed terms, in a term. Every list is borrowed, sorted and searched by
 * bisection, so one question costs O(log n) per day looked at and the
 * search looks at no more than SEARCH_DAYS + 1 days. Outside the span of
 * the terms every weekday that is not closed counts: an unknown future
 * must give the earliest deadline, never a later one. The same two
 * predicates answer whether a holiday lies ahead of an instant, which the
 * police agent and the broker must decide alike (holiday duty contacts).
 */
#include "haven/calendar.h"
#include "haven/directory.h"

#include <stdio.h>
#include <string.h>

#define MS_PER_MIN INT64_C(60000)
#define MS_PER_HOUR INT64_C(3600000)
#define MS_PER_DAY INT64_C(86400000)
#define DEFAULT_START_MINUTE 510 /* 08:30 */
#define SEARCH_DAYS 400          /* longer than any school holiday */

/* Instants further out than +/- 9999 years are refused by the search. */
#define MS_LIMIT (INT64_C(253402300800000))

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b) != 0 && ((a < 0) != (b < 0))) {
		q--;
	}
	return (q);
}

static bool
is_leap(int64_t y)
{
	return ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0);
}

static unsigned
month_days(int64_t y, unsigned m)
{
	static const unsigned len[12] = { 31, 28, 31, 30, 31, 30, 31, 31,
		30, 31, 30, 31 };

	if (m == 2 && is_leap(y)) {
		return (29);
	}
	return (len[m - 1]);
}

/*
 * Count in 400-year eras of 146097 days, with years starting on 1 March so
 * that the leap day is the last day of the year.
 */
int64_t
haven_days_from_civil(int y, unsigned m, unsigned d)
{
	int64_t yy = (int64_t) y - (m <= 2 ? 1 : 0);
	int64_t era = floor_div(yy, 400);
	int64_t yoe = yy - era * 400;                      /* 0..399 */
	int64_t mp = (m > 2) ? (int64_t) m - 3 : (int64_t) m + 9; /* Mar=0 */
	int64_t doy = (153 * mp + 2) / 5 + (int64_t) d - 1; /* 0..365 */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (era * 146097 + doe - 719468);
}

void
haven_civil_from_days(int64_t days, int *y, unsigned *m, unsigned *d)
{
	int64_t z = days + 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;                         /* 0..146096 */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);  /* 0..365 */
	int64_t mp = (5 * doy + 2) / 153;                       /* Mar=0 */
	int64_t mm = (mp < 10) ? mp + 3 : mp - 9;

	*d = (unsigned) (doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned) mm;
	*y = (int) (yoe + era * 400 + (mm <= 2 ? 1 : 0));
}

int64_t
haven_date_add_years(int64_t day, int years)
{
	int y;
	unsigned m, d;

	haven_civil_from_days(day, &y, &m, &d);
	y += years;
	if (m == 2 && d == 29 && !is_leap(y)) {
		m = 3;
		d = 1;
	}
	return (haven_days_from_civil(y, m, d));
}

/* 0 = Monday .. 6 = Sunday; 1970-01-01 was a Thursday. */
static int
weekday(int64_t days)
{
	return ((int) (days + 3 - floor_div(days + 3, 7) * 7));
}

/* ------------------------------------------------------------ parsing */

/* `n` ASCII digits at s (stops at NUL: a short string never matches). */
static bool
digits(const char *s, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			return (false);
		}
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return (true);
}

/* "YYYY-MM-DD" at s, not necessarily terminated after it. */
static bool
date_prefix(const char *s, int64_t *days)
{
	int y, m, d;

	if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) ||
	    s[7] != '-' || !digits(s + 8, 2, &d)) {
		return (false);
	}
	if (y < 1 || m < 1 || m > 12 || d < 1 ||
	    (unsigned) d > month_days(y, (unsigned) m)) {
		return (false);
	}
	*days = haven_days_from_civil(y, (unsigned) m, (unsigned) d);
	return (true);
}

haven_err
haven_date_parse(const char *s, int64_t *days)
{
	int64_t v;

	if (s == NULL || days == NULL || !date_prefix(s, &v) || s[10] != '\0') {
		return (HAVEN_EINVAL);
	}
	*days = v;
	return (HAVEN_OK);
}

/* ".f{1,9}" if present: milliseconds from the first three digits. */
static bool
fraction(const char **sp, int64_t *ms)
{
	const char *s = *sp;
	size_t n = 0;
	int64_t v = 0;

	*ms = 0;
	if (*s != '.') {
		return (true);
	}
	s++;
	while (s[n] >= '0' && s[n] <= '9') {
		if (n < 3) {
			v = v * 10 + (s[n] - '0');
		}
		n++;
	}
	if (n == 0 || n > 9) {
		return (false);
	}
	for (size_t i = n; i < 3; i++) {
		v *= 10;
	}
	*ms = v;
	*sp = s + n;
	return (true);
}

/* "Z" or "+HH:MM" / "-HH:MM", then the end of the string. */
static bool
offset(const char *s, int64_t *off_ms)
{
	int h, m;

	if (s[0] == 'Z') {
		*off_ms = 0;
		return (s[1] == '\0');
	}
	if ((s[0] != '+' && s[0] != '-') || !digits(s + 1, 2, &h) ||
	    s[3] != ':' || !digits(s + 4, 2, &m) || s[6] != '\0') {
		return (false);
	}
	if (h > 23 || m > 59) {
		return (false);
	}
	*off_ms = ((int64_t) h * 60 + m) * MS_PER_MIN;
	if (s[0] == '-') {
		*off_ms = -*off_ms;
	}
	return (true);
}

haven_err
haven_time_parse(const char *s, int64_t *ms)
{
	int64_t days, frac, off;
	int hh, mi, ss;
	const char *p;

	if (s == NULL || ms == NULL || !date_prefix(s, &days) || s[10] != 'T') {
		return (HAVEN_EINVAL);
	}
	if (!digits(s + 11, 2, &hh) || s[13] != ':' ||
	    !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &ss)) {
		return (HAVEN_EINVAL);
	}
	if (hh > 23 || mi > 59 || ss > 59) { /* no leap seconds */
		return (HAVEN_EINVAL);
	}
	p = s + 19;
	if (!fraction(&p, &frac) || !offset(p, &off)) {
		return (HAVEN_EINVAL);
	}
	*ms = days * MS_PER_DAY + ((int64_t) hh * 3600 + mi * 60 + ss) * 1000 +
	    frac - off;
	return (HAVEN_OK);
}

void
haven_time_format(int64_t ms, char *buf, size_t len)
{
	int64_t days = floor_div(ms, MS_PER_DAY);
	int64_t sod = (ms - days * MS_PER_DAY) / 1000;
	int y;
	unsigned m, d;
	int n;

	if (buf == NULL || len == 0) {
		return;
	}
	haven_civil_from_days(days, &y, &m, &d);
	n = snprintf(buf, len, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, m, d,
	    (int) (sod / 3600), (int) (sod / 60 % 60), (int) (sod % 60));
	if (n < 0 || (size_t) n >= len) {
		buf[0] = '\0'; /* never a truncated, misleading time */
	}
}

/* ------------------------------------------------------ Europe/London */

/* Days of the last Sunday of month m (31-day months only: March, Oct). */
static int64_t
last_sunday(int y, unsigned m)
{
	int64_t last = haven_days_from_civil(y, m, 31);

	return (last - (weekday(last) + 1) % 7);
}

int64_t
haven_london_offset_ms(int64_t t_ms)
{
	int y;
	unsigned m, d;
	int64_t start, end;

	haven_civil_from_days(floor_div(t_ms, MS_PER_DAY), &y, &m, &d);
	if (m < 3 || m > 10) {
		return (0);
	}
	start = last_sunday(y, 3) * MS_PER_DAY + MS_PER_HOUR;
	end = last_sunday(y, 10) * MS_PER_DAY + MS_PER_HOUR;
	return ((t_ms >= start && t_ms < end) ? MS_PER_HOUR : 0);
}

/*
 * The UTC instant of a London wall-clock time. In the repeated hour of
 * October the earlier (BST) instant is taken; a time in the missing hour
 * of March is read with GMT's offset, i.e. an hour later on the new clock.
 */
static int64_t
london_to_utc(int64_t local_ms)
{
	int64_t bst = local_ms - MS_PER_HOUR;

	if (haven_london_offset_ms(bst) == MS_PER_HOUR) {
		return (bst);
	}
	return (local_ms);
}

/* ---------------------------------------------------------- school day */

/* True if sorted days[0..n) holds `day` (bisection). */
static bool
day_listed(const int64_t *days, size_t n, int64_t day)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (days[mid] == day) {
			return (true);
		}
		if (days[mid] < day) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return (false);
}

/* The term holding `day`, or NULL: the last term starting on or before
 * it (terms are sorted and disjoint), if it has not ended. */
static const haven_term *
term_of(const haven_calendar *cal, int64_t day)
{
	size_t lo = 0, hi = cal->n_terms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cal->terms[mid].first_day <= day) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	if (lo == 0 || cal->terms[lo - 1].last_day < day) {
		return (NULL);
	}
	return (&cal->terms[lo - 1]);
}

static bool
in_span(const haven_calendar *cal, int64_t day)
{
	return (cal->n_terms > 0 && day >= cal->terms[0].first_day &&
	    day <= cal->terms[cal->n_terms - 1].last_day);
}

/* A NULL list with a non-zero count would be read: refuse it. */
static bool
lists_ok(const haven_calendar *cal)
{
	return ((cal->n_bank_holidays == 0 || cal->bank_holidays != NULL) &&
	    (cal->n_terms == 0 || cal->terms != NULL) &&
	    (cal->n_closed == 0 || cal->closed != NULL) &&
	    (cal->n_school_closed == 0 || cal->school_closed != NULL));
}

/* The one place that decides whether a local date is a school day. */
static bool
school_day(const haven_calendar *cal, int64_t days)
{
	if (weekday(days) >= 5 ||
	    day_listed(cal->bank_holidays, cal->n_bank_holidays, days) ||
	    day_listed(cal->closed, cal->n_closed, days) ||
	    day_listed(cal->school_closed, cal->n_school_closed, days)) {
		return (false);
	}
	return (!in_span(cal, days) || term_of(cal, days) != NULL);
}

bool
haven_calendar_is_school_day(const haven_calendar *cal, int64_t day)
{
	return (cal != NULL && lists_ok(cal) && school_day(cal, day));
}

bool
haven_calendar_in_holiday(const haven_calendar *cal, int64_t day)
{
	return (cal != NULL && lists_ok(cal) && in_span(cal, day) &&
	    term_of(cal, day) == NULL);
}

bool
haven_calendar_holiday_ahead(const haven_calendar *cal, int64_t after_ms)
{
	int64_t next = 0, last;

	if (haven_calendar_next_school_day(cal, after_ms, &next) != HAVEN_OK) {
		return (false);
	}
	/* Bounded: the next school day is at most SEARCH_DAYS ahead. */
	last = haven_london_days(next);
	for (int64_t day = haven_london_days(after_ms); day < last; day++) {
		if (in_span(cal, day) && term_of(cal, day) == NULL) {
			return (true);
		}
	}
	return (false);
}

const char *
haven_calendar_area_of(const haven_agency *a)
{
	const char *v;

	if (a == NULL) {
		return (NULL);
	}
	v = haven_agency_attr(a, "calendar");
	return (v != NULL ? v : haven_agency_attr(a, "local_authority"));
}

void
haven_calendar_init(haven_calendar *cal)
{
	if (cal != NULL) {
		memset(cal, 0, sizeof(*cal));
		cal->start_minute = DEFAULT_START_MINUTE;
	}
}

haven_err
haven_calendar_next_school_day(const haven_calendar *cal, int64_t after_ms,
    int64_t *start_ms)
{
	int64_t day;

	if (cal == NULL || start_ms == NULL || !lists_ok(cal) ||
	    cal->start_minute < 0 || cal->start_minute >= 24 * 60 ||
	    after_ms <= -MS_LIMIT || after_ms >= MS_LIMIT) {
		return (HAVEN_EINVAL);
	}
	/* Start from the local date of `after_ms` (it may be a school day
	 * whose start is still to come). */
	day = haven_london_days(after_ms);
	for (int i = 0; i <= SEARCH_DAYS; i++, day++) {
		int64_t local, utc;

		if (!school_day(cal, day)) {
			continue;
		}
		local = day * MS_PER_DAY + cal->start_minute * MS_PER_MIN;
		utc = london_to_utc(local);
		if (utc > after_ms) {
			*start_ms = utc;
			return (HAVEN_OK);
		}
	}
	return (HAVEN_EINVAL); /* a calendar with no school day in sight */
}

int64_t
haven_london_days(int64_t t_ms)
{
	int64_t days = floor_div(t_ms, MS_PER_DAY);
	int64_t rem = t_ms - days * MS_PER_DAY;

	/* Add the offset to the remainder, not to t_ms: no overflow. */
	if (rem + haven_london_offset_ms(t_ms) >= MS_PER_DAY) {
		days++;
	}
	return (days);
}
