/*
 * lib/dircal.c: the directory's "calendars" section (see lib/dircal.h and
 * haven/directory.h).
 *
 * Invariants of a haven__calendars after a successful read:
 *  - counts are within the HAVEN__CAL_MAX_* limits (checked before any
 *    allocation, so a hostile document cannot make us allocate more);
 *  - every date is a real date of years 0001-9999 (haven_date_parse);
 *  - bank holidays, each area's closed days and each school's closed days
 *    are strictly ascending (duplicates are refused, not merged);
 *  - each area's terms have first <= last, are sorted by first day and do
 *    not overlap, which is what haven_calendar's bisection relies on;
 *  - areas and schools are sorted by id and ids are unique agency ids.
 * The JSON and protobuf readers only copy and bound-check; check() is the
 * one validation and the one sort, so both forms refuse the same things
 * with the same message, and the canonical order makes sign -> decode ->
 * to_json reproduce the source exactly.
 *
 * Messages name the place and echo only ids, term names and dates (no
 * personal data lives in this section).
 */
#include "dircal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "util.h"

#define AT_MAX 128

static haven_err bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static haven_err
bad(char *err, size_t errlen, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	(void) vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	haven__errf(err, errlen, "%s", msg);
	return (HAVEN_EINVAL);
}

/* "where.leaf" or just "leaf" when `where` is empty. Paths are short
 * (under 64 bytes); a longer one would only be cut in a message. */
static void
at(char *buf, const char *where, const char *leaf)
{
	int n;

	if (where == NULL || where[0] == '\0') {
		n = snprintf(buf, AT_MAX, "%s", leaf);
	} else {
		n = snprintf(buf, AT_MAX, "%s.%s", where, leaf);
	}
	if (n < 0) {
		buf[0] = '\0';
	}
}

/* "list[i]" */
static void
idx_path(char *buf, const char *list, size_t i)
{
	if (snprintf(buf, AT_MAX, "%s[%zu]", list, i) < 0) {
		buf[0] = '\0';
	}
}

static void
fmt_day(int64_t day, char out[11])
{
	int y;
	unsigned m, d;

	haven_civil_from_days(day, &y, &m, &d);
	(void) snprintf(out, 11, "%04d-%02u-%02u", y, m, d);
}

/* A date string of exactly ten bytes (no embedded NUL) that parses. */
static bool
date_ok(const char *s, size_t len, int64_t *day)
{
	return (s != NULL && len == 10 && haven_date_parse(s, day) == HAVEN_OK);
}

/* ------------------------------------------------------ allocation */

static void
area_release(haven__cal_area *a)
{
	free(a->terms);
	free(a->closed);
	memset(a, 0, sizeof(*a));
}

void
haven__cal_release(haven__calendars *c)
{
	if (c == NULL) {
		return;
	}
	for (size_t i = 0; c->areas != NULL && i < c->n_areas; i++) {
		area_release(&c->areas[i]);
	}
	for (size_t i = 0; c->schools != NULL && i < c->n_schools; i++) {
		free(c->schools[i].closed);
	}
	free(c->bank);
	free(c->areas);
	free(c->schools);
	memset(c, 0, sizeof(*c));
}

bool
haven__cal_empty(const haven__calendars *c)
{
	return (c->n_bank == 0 && c->n_areas == 0 && c->n_schools == 0);
}

/* calloc of n (>= 1) elements; n has been capped by the caller. */
static void *
alloc_n(size_t n, size_t size)
{
	return (calloc(n > 0 ? n : 1, size));
}

/* ------------------------------------------------------ validation */

static int
cmp_day(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

	return ((x > y) - (x < y));
}

static int
cmp_term(const void *a, const void *b)
{
	const haven_term *x = a, *y = b;

	if (x->first_day != y->first_day) {
		return ((x->first_day > y->first_day) -
		    (x->first_day < y->first_day));
	}
	return ((x->last_day > y->last_day) - (x->last_day < y->last_day));
}

static int
cmp_area(const void *a, const void *b)
{
	return (strcmp(((const haven__cal_area *) a)->id,
	    ((const haven__cal_area *) b)->id));
}

static int
cmp_school(const void *a, const void *b)
{
	return (strcmp(((const haven__cal_school *) a)->id,
	    ((const haven__cal_school *) b)->id));
}

/* Sort a date list; a repeated date is refused naming it. */
static haven_err
check_days(int64_t *d, size_t n, const char *where, char *err,
    size_t errlen)
{
	char s[11];

	if (n > 1) {
		qsort(d, n, sizeof(d[0]), cmp_day);
	}
	for (size_t i = 1; i < n; i++) {
		if (d[i] == d[i - 1]) {
			fmt_day(d[i], s);
			return (bad(err, errlen, "%s: duplicate date %s", where, s));
		}
	}
	return (HAVEN_OK);
}

static haven_err
check_term_name(const haven_term *t, const char *where, size_t j,
    char *err, size_t errlen)
{
	const char *why = NULL;

	if (memchr(t->name, '\0', sizeof(t->name)) == NULL) {
		why = "longer than 47 bytes";
	} else if (t->name[0] == '\0') {
		why = "must not be empty";
	} else if (!haven__utf8_valid(t->name)) {
		why = "not valid UTF-8";
	} else if (!haven__text_ok(t->name, sizeof(t->name))) {
		why = "contains a control character";
	}
	if (why != NULL) {
		return (bad(err, errlen, "%s%sterms[%zu].name: %s", where,
		    where[0] != '\0' ? "." : "", j, why));
	}
	return (HAVEN_OK);
}

/* Names, inversion (input order), then sort and overlap. */
static haven_err
check_terms(haven__cal_area *a, const char *where, const char *label,
    char *err, size_t errlen)
{
	haven_err rv;

	for (size_t j = 0; j < a->n_terms; j++) {
		if ((rv = check_term_name(&a->terms[j], where, j, err,
		    errlen)) != HAVEN_OK) {
			return (rv);
		}
		if (a->terms[j].last_day < a->terms[j].first_day) {
			return (bad(err, errlen, "%s '%s': term '%s' ends before "
			    "it starts", label, a->id, a->terms[j].name));
		}
	}
	if (a->n_terms > 1) {
		qsort(a->terms, a->n_terms, sizeof(a->terms[0]), cmp_term);
	}
	for (size_t j = 1; j < a->n_terms; j++) {
		if (a->terms[j].first_day <= a->terms[j - 1].last_day) {
			return (bad(err, errlen, "%s '%s': term '%s' overlaps "
			    "'%s'", label, a->id, a->terms[j].name,
			    a->terms[j - 1].name));
		}
	}
	return (HAVEN_OK);
}

/* One area; `where` is its path ("calendars.areas[0]" or ""). */
static haven_err
check_area(haven__cal_area *a, const char *where, char *err, size_t errlen)
{
	char p[AT_MAX];
	haven_err rv;

	at(p, where, "id");
	if (memchr(a->id, '\0', sizeof(a->id)) == NULL ||
	    !haven_agency_id_valid(a->id)) {
		return (bad(err, errlen, "%s: not a valid agency id", p));
	}
	if ((rv = check_terms(a, where, where[0] != '\0' ? where : "area",
	    err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	at(p, where, "closed");
	return (check_days(a->closed, a->n_closed, p, err, errlen));
}

static haven_err
check_areas(haven__calendars *c, char *err, size_t errlen)
{
	char where[AT_MAX];
	haven_err rv;

	for (size_t i = 0; i < c->n_areas; i++) {
		c->areas[i].idx = i;
		(void) snprintf(where, sizeof(where), "calendars.areas[%zu]", i);
		if ((rv = check_area(&c->areas[i], where, err, errlen)) !=
		    HAVEN_OK) {
			return (rv);
		}
	}
	if (c->n_areas > 1) {
		qsort(c->areas, c->n_areas, sizeof(c->areas[0]), cmp_area);
	}
	for (size_t i = 1; i < c->n_areas; i++) {
		const haven__cal_area *x = &c->areas[i - 1], *y = &c->areas[i];

		if (strcmp(x->id, y->id) == 0) {
			return (bad(err, errlen, "calendars.areas[%zu].id: "
			    "duplicate of calendars.areas[%zu]",
			    x->idx > y->idx ? x->idx : y->idx,
			    x->idx > y->idx ? y->idx : x->idx));
		}
	}
	return (HAVEN_OK);
}

static haven_err
check_schools(haven__calendars *c, char *err, size_t errlen)
{
	char where[AT_MAX];
	haven_err rv;

	for (size_t i = 0; i < c->n_schools; i++) {
		haven__cal_school *s = &c->schools[i];

		s->idx = i;
		if (memchr(s->id, '\0', sizeof(s->id)) == NULL ||
		    !haven_agency_id_valid(s->id)) {
			return (bad(err, errlen, "calendars.schools[%zu].id: not "
			    "a valid agency id", i));
		}
		(void) snprintf(where, sizeof(where),
		    "calendars.schools[%zu].closed", i);
		if ((rv = check_days(s->closed, s->n_closed, where, err,
		    errlen)) != HAVEN_OK) {
			return (rv);
		}
	}
	if (c->n_schools > 1) {
		qsort(c->schools, c->n_schools, sizeof(c->schools[0]),
		    cmp_school);
	}
	for (size_t i = 1; i < c->n_schools; i++) {
		const haven__cal_school *x = &c->schools[i - 1];
		const haven__cal_school *y = &c->schools[i];

		if (strcmp(x->id, y->id) == 0) {
			return (bad(err, errlen, "calendars.schools[%zu].id: "
			    "duplicate of calendars.schools[%zu]",
			    x->idx > y->idx ? x->idx : y->idx,
			    x->idx > y->idx ? y->idx : x->idx));
		}
	}
	return (HAVEN_OK);
}

/* The one validation (and canonical sort) for both readers. */
static haven_err
check(haven__calendars *c, char *err, size_t errlen)
{
	haven_err rv;

	if ((rv = check_days(c->bank, c->n_bank, "calendars.bank_holidays",
	    err, errlen)) != HAVEN_OK ||
	    (rv = check_areas(c, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	return (check_schools(c, err, errlen));
}

/* ------------------------------------------------------- from JSON */

/* Optional array member `key` of at most `max` entries (*arr NULL when
 * absent). */
static haven_err
json_list(const json_t *o, const char *key, size_t max, const json_t **arr,
    const char *where, char *err, size_t errlen)
{
	char p[AT_MAX];

	at(p, where, key);
	*arr = json_object_get(o, key);
	if (*arr == NULL) {
		return (HAVEN_OK);
	}
	if (!json_is_array(*arr)) {
		return (bad(err, errlen, "%s: must be an array", p));
	}
	if (json_array_size(*arr) > max) {
		return (bad(err, errlen, "%s: more than %zu entries", p, max));
	}
	return (HAVEN_OK);
}

static haven_err
json_days(const json_t *o, const char *key, size_t max, int64_t **out,
    size_t *n, const char *where, char *err, size_t errlen)
{
	const json_t *arr;
	char p[AT_MAX];
	haven_err rv;

	if ((rv = json_list(o, key, max, &arr, where, err, errlen)) !=
	    HAVEN_OK || arr == NULL) {
		return (rv);
	}
	if ((*out = alloc_n(json_array_size(arr), sizeof(**out))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	at(p, where, key);
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *v = json_array_get(arr, i);

		if (!json_is_string(v) || !date_ok(json_string_value(v),
		    json_string_length(v), &(*out)[i])) {
			return (bad(err, errlen, "%s[%zu]: not a date "
			    "(YYYY-MM-DD)", p, i));
		}
		*n = i + 1;
	}
	return (HAVEN_OK);
}

static haven_err
json_date(const json_t *o, const char *key, int64_t *day, const char *where,
    char *err, size_t errlen)
{
	const json_t *v = json_object_get(o, key);
	char p[AT_MAX];

	at(p, where, key);
	if (v == NULL) {
		return (bad(err, errlen, "%s: missing", p));
	}
	if (!json_is_string(v) || !date_ok(json_string_value(v),
	    json_string_length(v), day)) {
		return (bad(err, errlen, "%s: not a date (YYYY-MM-DD)", p));
	}
	return (HAVEN_OK);
}

static haven_err
term_from_json(const json_t *o, haven_term *t, const char *where, char *err,
    size_t errlen)
{
	static const char *const allowed[] = {"name", "first", "last", NULL};
	haven_err rv;

	if (!json_is_object(o)) {
		return (bad(err, errlen, "%s: must be an object", where));
	}
	if ((rv = haven__json_only(o, allowed, where, err, errlen)) !=
	    HAVEN_OK ||
	    (rv = haven__json_str(o, "name", true, t->name, sizeof(t->name),
	    where, err, errlen)) != HAVEN_OK ||
	    (rv = json_date(o, "first", &t->first_day, where, err, errlen)) !=
	    HAVEN_OK) {
		return (rv);
	}
	return (json_date(o, "last", &t->last_day, where, err, errlen));
}

static haven_err
terms_from_json(const json_t *o, haven__cal_area *a, const char *where,
    char *err, size_t errlen)
{
	const json_t *arr;
	char p[AT_MAX], q[AT_MAX];
	haven_err rv;

	if ((rv = json_list(o, "terms", HAVEN__CAL_MAX_TERMS, &arr, where,
	    err, errlen)) != HAVEN_OK || arr == NULL) {
		return (rv);
	}
	if ((a->terms = alloc_n(json_array_size(arr), sizeof(*a->terms))) ==
	    NULL) {
		return (HAVEN_ENOMEM);
	}
	at(p, where, "terms");
	for (size_t j = 0; j < json_array_size(arr); j++) {
		idx_path(q, p, j);
		if ((rv = term_from_json(json_array_get(arr, j), &a->terms[j], q,
		    err, errlen)) != HAVEN_OK) {
			return (rv);
		}
		a->n_terms = j + 1;
	}
	return (HAVEN_OK);
}

static haven_err
area_from_json(const json_t *o, haven__cal_area *a, const char *where,
    char *err, size_t errlen)
{
	static const char *const allowed[] = {"id", "terms", "closed", NULL};
	haven_err rv;

	if (!json_is_object(o)) {
		return (bad(err, errlen, "%s: must be an object",
		    where[0] != '\0' ? where : "area"));
	}
	if ((rv = haven__json_only(o, allowed, where, err, errlen)) !=
	    HAVEN_OK ||
	    (rv = haven__json_str(o, "id", true, a->id, sizeof(a->id), where,
	    err, errlen)) != HAVEN_OK ||
	    (rv = terms_from_json(o, a, where, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	return (json_days(o, "closed", HAVEN__CAL_MAX_AREA_CLOSED, &a->closed,
	    &a->n_closed, where, err, errlen));
}

static haven_err
school_from_json(const json_t *o, haven__cal_school *s, const char *where,
    char *err, size_t errlen)
{
	static const char *const allowed[] = {"id", "closed", NULL};
	haven_err rv;

	if (!json_is_object(o)) {
		return (bad(err, errlen, "%s: must be an object", where));
	}
	if ((rv = haven__json_only(o, allowed, where, err, errlen)) !=
	    HAVEN_OK ||
	    (rv = haven__json_str(o, "id", true, s->id, sizeof(s->id), where,
	    err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	return (json_days(o, "closed", HAVEN__CAL_MAX_SCHOOL_CLOSED,
	    &s->closed, &s->n_closed, where, err, errlen));
}

static haven_err
areas_from_json(const json_t *o, haven__calendars *c, char *err,
    size_t errlen)
{
	const json_t *arr;
	char where[AT_MAX];
	haven_err rv;

	if ((rv = json_list(o, "areas", HAVEN__CAL_MAX_AREAS, &arr,
	    "calendars", err, errlen)) != HAVEN_OK || arr == NULL) {
		return (rv);
	}
	if ((c->areas = alloc_n(json_array_size(arr), sizeof(*c->areas))) ==
	    NULL) {
		return (HAVEN_ENOMEM);
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		(void) snprintf(where, sizeof(where), "calendars.areas[%zu]", i);
		c->n_areas = i + 1; /* counted first: released on error */
		if ((rv = area_from_json(json_array_get(arr, i), &c->areas[i],
		    where, err, errlen)) != HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}

static haven_err
schools_from_json(const json_t *o, haven__calendars *c, char *err,
    size_t errlen)
{
	const json_t *arr;
	char where[AT_MAX];
	haven_err rv;

	if ((rv = json_list(o, "schools", HAVEN__CAL_MAX_SCHOOLS, &arr,
	    "calendars", err, errlen)) != HAVEN_OK || arr == NULL) {
		return (rv);
	}
	if ((c->schools = alloc_n(json_array_size(arr),
	    sizeof(*c->schools))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		(void) snprintf(where, sizeof(where), "calendars.schools[%zu]",
		    i);
		c->n_schools = i + 1;
		if ((rv = school_from_json(json_array_get(arr, i),
		    &c->schools[i], where, err, errlen)) != HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}

haven_err
haven__cal_from_json(const json_t *o, haven__calendars *c, char *err,
    size_t errlen)
{
	static const char *const allowed[] = {"bank_holidays", "areas",
	    "schools", NULL};
	haven_err rv;

	memset(c, 0, sizeof(*c));
	if (o == NULL) {
		return (HAVEN_OK);
	}
	if (!json_is_object(o)) {
		return (bad(err, errlen, "calendars: must be an object"));
	}
	if ((rv = haven__json_only(o, allowed, "calendars", err, errlen)) !=
	    HAVEN_OK ||
	    (rv = json_days(o, "bank_holidays", HAVEN__CAL_MAX_BANK, &c->bank,
	    &c->n_bank, "calendars", err, errlen)) != HAVEN_OK ||
	    (rv = areas_from_json(o, c, err, errlen)) != HAVEN_OK ||
	    (rv = schools_from_json(o, c, err, errlen)) != HAVEN_OK ||
	    (rv = check(c, err, errlen)) != HAVEN_OK) {
		haven__cal_release(c);
	}
	return (rv);
}

haven_err
haven__cal_area_check_json(const json_t *o, const char *where, char *err,
    size_t errlen)
{
	haven__cal_area a;
	haven_err rv;

	memset(&a, 0, sizeof(a));
	if (where == NULL) {
		where = "";
	}
	if ((rv = area_from_json(o, &a, where, err, errlen)) == HAVEN_OK) {
		rv = check_area(&a, where, err, errlen);
	}
	area_release(&a);
	return (rv);
}

/* --------------------------------------------------------- to JSON */

static json_t *
days_json(const int64_t *d, size_t n)
{
	json_t *arr = json_array();
	char s[11];

	for (size_t i = 0; arr != NULL && i < n; i++) {
		fmt_day(d[i], s);
		if (json_array_append_new(arr, json_string(s)) != 0) {
			json_decref(arr);
			return (NULL);
		}
	}
	return (arr);
}

static json_t *
term_json(const haven_term *t)
{
	char f[11], l[11];

	fmt_day(t->first_day, f);
	fmt_day(t->last_day, l);
	return (json_pack("{s:s, s:s, s:s}", "name", t->name, "first", f,
	    "last", l));
}

static json_t *
area_json(const haven__cal_area *a)
{
	json_t *terms = json_array();

	for (size_t j = 0; terms != NULL && j < a->n_terms; j++) {
		if (json_array_append_new(terms, term_json(&a->terms[j])) != 0) {
			json_decref(terms);
			return (NULL);
		}
	}
	return (json_pack("{s:s, s:o, s:o}", "id", a->id, "terms", terms,
	    "closed", days_json(a->closed, a->n_closed)));
}

haven_err
haven__cal_to_json(const haven__calendars *c, json_t **out)
{
	json_t *areas = json_array(), *schools = json_array(), *o;
	bool ok = areas != NULL && schools != NULL;

	for (size_t i = 0; ok && i < c->n_areas; i++) {
		ok = json_array_append_new(areas, area_json(&c->areas[i])) == 0;
	}
	for (size_t i = 0; ok && i < c->n_schools; i++) {
		const haven__cal_school *s = &c->schools[i];

		ok = json_array_append_new(schools, json_pack("{s:s, s:o}", "id",
		    s->id, "closed", days_json(s->closed, s->n_closed))) == 0;
	}
	if (!ok) {
		json_decref(areas);
		json_decref(schools);
		return (HAVEN_ENOMEM);
	}
	o = json_pack("{s:o, s:o, s:o}", "bank_holidays",
	    days_json(c->bank, c->n_bank), "areas", areas, "schools", schools);
	if (o == NULL) {
		return (HAVEN_ENOMEM);
	}
	*out = o;
	return (HAVEN_OK);
}

/* ----------------------------------------------------- from protobuf */

static haven_err
pb_days(char *const *src, size_t n, size_t max, int64_t **out, size_t *nout,
    const char *where, char *err, size_t errlen)
{
	if (n > max) {
		return (bad(err, errlen, "%s: more than %zu entries", where, max));
	}
	if ((*out = alloc_n(n, sizeof(**out))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = src[i];

		if (s == NULL || !date_ok(s, strnlen(s, 11), &(*out)[i])) {
			return (bad(err, errlen, "%s[%zu]: not a date "
			    "(YYYY-MM-DD)", where, i));
		}
		*nout = i + 1;
	}
	return (HAVEN_OK);
}

static haven_err
pb_id(char *dst, const char *src, const char *where, char *err,
    size_t errlen)
{
	if (haven__strlcpy(dst, src != NULL ? src : "", HAVEN_ID_MAX) !=
	    HAVEN_OK) {
		return (bad(err, errlen, "%s.id: longer than %d bytes", where,
		    HAVEN_ID_MAX - 1));
	}
	return (HAVEN_OK);
}

static haven_err
term_from_pb(const Haven__Term *pt, haven_term *t, const char *where,
    char *err, size_t errlen)
{
	const char *s;

	if (pt == NULL) {
		return (bad(err, errlen, "%s: missing", where));
	}
	if (haven__strlcpy(t->name, pt->name != NULL ? pt->name : "",
	    sizeof(t->name)) != HAVEN_OK) {
		return (bad(err, errlen, "%s.name: longer than %zu bytes", where,
		    sizeof(t->name) - 1));
	}
	s = pt->first;
	if (s == NULL || !date_ok(s, strnlen(s, 11), &t->first_day)) {
		return (bad(err, errlen, "%s.first: not a date (YYYY-MM-DD)",
		    where));
	}
	s = pt->last;
	if (s == NULL || !date_ok(s, strnlen(s, 11), &t->last_day)) {
		return (bad(err, errlen, "%s.last: not a date (YYYY-MM-DD)",
		    where));
	}
	return (HAVEN_OK);
}

static haven_err
area_from_pb(const Haven__CalendarArea *pa, haven__cal_area *a,
    const char *where, char *err, size_t errlen)
{
	char p[AT_MAX];
	haven_err rv;

	if (pa == NULL) {
		return (bad(err, errlen, "%s: missing", where));
	}
	if ((rv = pb_id(a->id, pa->id, where, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	at(p, where, "terms");
	if (pa->n_terms > HAVEN__CAL_MAX_TERMS) {
		return (bad(err, errlen, "%s: more than %d entries", p,
		    HAVEN__CAL_MAX_TERMS));
	}
	if ((a->terms = alloc_n(pa->n_terms, sizeof(*a->terms))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	for (size_t j = 0; j < pa->n_terms; j++) {
		char q[AT_MAX];

		idx_path(q, p, j);
		if ((rv = term_from_pb(pa->terms[j], &a->terms[j], q, err,
		    errlen)) != HAVEN_OK) {
			return (rv);
		}
		a->n_terms = j + 1;
	}
	at(p, where, "closed");
	return (pb_days(pa->closed, pa->n_closed, HAVEN__CAL_MAX_AREA_CLOSED,
	    &a->closed, &a->n_closed, p, err, errlen));
}

static haven_err
areas_from_pb(const Haven__Calendars *pc, haven__calendars *c, char *err,
    size_t errlen)
{
	char where[AT_MAX];
	haven_err rv;

	if (pc->n_areas > HAVEN__CAL_MAX_AREAS) {
		return (bad(err, errlen, "calendars.areas: more than %d entries",
		    HAVEN__CAL_MAX_AREAS));
	}
	if ((c->areas = alloc_n(pc->n_areas, sizeof(*c->areas))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	for (size_t i = 0; i < pc->n_areas; i++) {
		(void) snprintf(where, sizeof(where), "calendars.areas[%zu]", i);
		c->n_areas = i + 1;
		if ((rv = area_from_pb(pc->areas[i], &c->areas[i], where, err,
		    errlen)) != HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}

static haven_err
schools_from_pb(const Haven__Calendars *pc, haven__calendars *c, char *err,
    size_t errlen)
{
	char where[AT_MAX], p[AT_MAX];
	haven_err rv;

	if (pc->n_schools > HAVEN__CAL_MAX_SCHOOLS) {
		return (bad(err, errlen, "calendars.schools: more than %d "
		    "entries", HAVEN__CAL_MAX_SCHOOLS));
	}
	if ((c->schools = alloc_n(pc->n_schools, sizeof(*c->schools))) ==
	    NULL) {
		return (HAVEN_ENOMEM);
	}
	for (size_t i = 0; i < pc->n_schools; i++) {
		const Haven__SchoolClosures *ps = pc->schools[i];
		haven__cal_school *s = &c->schools[i];

		(void) snprintf(where, sizeof(where), "calendars.schools[%zu]",
		    i);
		c->n_schools = i + 1;
		if (ps == NULL) {
			return (bad(err, errlen, "%s: missing", where));
		}
		at(p, where, "closed");
		if ((rv = pb_id(s->id, ps->id, where, err, errlen)) != HAVEN_OK ||
		    (rv = pb_days(ps->closed, ps->n_closed,
		    HAVEN__CAL_MAX_SCHOOL_CLOSED, &s->closed, &s->n_closed, p,
		    err, errlen)) != HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}

haven_err
haven__cal_from_pb(const Haven__Calendars *pc, haven__calendars *c,
    char *err, size_t errlen)
{
	haven_err rv;

	memset(c, 0, sizeof(*c));
	if (pc == NULL) {
		return (HAVEN_OK);
	}
	if ((rv = pb_days(pc->bank_holidays, pc->n_bank_holidays,
	    HAVEN__CAL_MAX_BANK, &c->bank, &c->n_bank,
	    "calendars.bank_holidays", err, errlen)) != HAVEN_OK ||
	    (rv = areas_from_pb(pc, c, err, errlen)) != HAVEN_OK ||
	    (rv = schools_from_pb(pc, c, err, errlen)) != HAVEN_OK ||
	    (rv = check(c, err, errlen)) != HAVEN_OK) {
		haven__cal_release(c);
	}
	return (rv);
}

/* ------------------------------------------------------- to protobuf */

void
haven__cal_pb_free(haven__cal_pb *p)
{
	if (p == NULL) {
		return;
	}
	free(p->dates);
	free(p->datep);
	free(p->areas);
	free(p->areap);
	free(p->terms);
	free(p->termp);
	free(p->schools);
	free(p->schoolp);
	memset(p, 0, sizeof(*p));
}

/* Date strings: every list, plus two per term. Bounded by the limits:
 * 512 + 64 * (256 + 2 * 64) + 4096 * 64, about 290,000. */
static size_t
count_dates(const haven__calendars *c, size_t *n_terms)
{
	size_t n = c->n_bank;

	*n_terms = 0;
	for (size_t i = 0; i < c->n_areas; i++) {
		n += c->areas[i].n_closed + 2 * c->areas[i].n_terms;
		*n_terms += c->areas[i].n_terms;
	}
	for (size_t i = 0; i < c->n_schools; i++) {
		n += c->schools[i].n_closed;
	}
	return (n);
}

/* Next `n` date strings of `p`, written from days[0..n). */
static char **
put_days(haven__cal_pb *p, size_t *used, const int64_t *days, size_t n)
{
	char **first = &p->datep[*used];

	for (size_t i = 0; i < n; i++) {
		fmt_day(days[i], p->dates[*used]);
		p->datep[*used] = p->dates[*used];
		(*used)++;
	}
	return (first);
}

static void
fill_area(haven__cal_pb *p, const haven__cal_area *a, Haven__CalendarArea *pa,
    size_t *used, size_t *tused)
{
	haven__calendar_area__init(pa);
	pa->id = (char *) a->id;
	pa->n_terms = a->n_terms;
	pa->terms = &p->termp[*tused];
	for (size_t j = 0; j < a->n_terms; j++) {
		Haven__Term *t = &p->terms[*tused];

		haven__term__init(t);
		t->name = (char *) a->terms[j].name;
		t->first = *put_days(p, used, &a->terms[j].first_day, 1);
		t->last = *put_days(p, used, &a->terms[j].last_day, 1);
		p->termp[(*tused)++] = t;
	}
	pa->n_closed = a->n_closed;
	pa->closed = put_days(p, used, a->closed, a->n_closed);
}

static void
fill(haven__cal_pb *p, const haven__calendars *c)
{
	size_t used = 0, tused = 0;

	haven__calendars__init(&p->msg);
	p->msg.n_bank_holidays = c->n_bank;
	p->msg.bank_holidays = put_days(p, &used, c->bank, c->n_bank);
	p->msg.n_areas = c->n_areas;
	p->msg.areas = p->areap;
	for (size_t i = 0; i < c->n_areas; i++) {
		fill_area(p, &c->areas[i], &p->areas[i], &used, &tused);
		p->areap[i] = &p->areas[i];
	}
	p->msg.n_schools = c->n_schools;
	p->msg.schools = p->schoolp;
	for (size_t i = 0; i < c->n_schools; i++) {
		Haven__SchoolClosures *ps = &p->schools[i];

		haven__school_closures__init(ps);
		ps->id = (char *) c->schools[i].id;
		ps->n_closed = c->schools[i].n_closed;
		ps->closed = put_days(p, &used, c->schools[i].closed,
		    c->schools[i].n_closed);
		p->schoolp[i] = ps;
	}
}

haven_err
haven__cal_pb_fill(haven__cal_pb *p, const haven__calendars *c)
{
	size_t n_terms;
	size_t n_dates = count_dates(c, &n_terms);

	memset(p, 0, sizeof(*p));
	p->dates = alloc_n(n_dates, sizeof(*p->dates));
	p->datep = alloc_n(n_dates, sizeof(*p->datep));
	p->areas = alloc_n(c->n_areas, sizeof(*p->areas));
	p->areap = alloc_n(c->n_areas, sizeof(*p->areap));
	p->terms = alloc_n(n_terms, sizeof(*p->terms));
	p->termp = alloc_n(n_terms, sizeof(*p->termp));
	p->schools = alloc_n(c->n_schools, sizeof(*p->schools));
	p->schoolp = alloc_n(c->n_schools, sizeof(*p->schoolp));
	if (p->dates == NULL || p->datep == NULL || p->areas == NULL ||
	    p->areap == NULL || p->terms == NULL || p->termp == NULL ||
	    p->schools == NULL || p->schoolp == NULL) {
		haven__cal_pb_free(p);
		return (HAVEN_ENOMEM);
	}
	fill(p, c);
	return (HAVEN_OK);
}

/* --------------------------------------------------------- lookups */

static int
cmp_area_key(const void *key, const void *elem)
{
	return (strcmp(key, ((const haven__cal_area *) elem)->id));
}

static int
cmp_school_key(const void *key, const void *elem)
{
	return (strcmp(key, ((const haven__cal_school *) elem)->id));
}

const haven__cal_area *
haven__cal_area_find(const haven__calendars *c, const char *id)
{
	if (c == NULL || id == NULL || c->n_areas == 0) {
		return (NULL);
	}
	return (bsearch(id, c->areas, c->n_areas, sizeof(c->areas[0]),
	    cmp_area_key));
}

const haven__cal_school *
haven__cal_school_find(const haven__calendars *c, const char *id)
{
	if (c == NULL || id == NULL || c->n_schools == 0) {
		return (NULL);
	}
	return (bsearch(id, c->schools, c->n_schools, sizeof(c->schools[0]),
	    cmp_school_key));
}

bool
haven__cal_hhmm(const char *s, int *minute)
{
	int h, m;

	if (s == NULL || strlen(s) != 5 || s[2] != ':') {
		return (false);
	}
	for (size_t i = 0; i < 5; i++) {
		if (i != 2 && (s[i] < '0' || s[i] > '9')) {
			return (false);
		}
	}
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59) {
		return (false);
	}
	if (minute != NULL) {
		*minute = h * 60 + m;
	}
	return (true);
}
