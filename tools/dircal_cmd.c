/*
 * tools/dircal_cmd.c: `havenctl directory calendar`, which merges school
 * calendars into the directory source's "calendars" section.
 *
 * Inputs are files the administrator keeps (deploy/calendars/): the
 * England and Wales bank holidays (the gov.uk division object, or the whole
 * gov.uk/bank-holidays.json of which only "england-and-wales" is read), one
 * file per local authority's terms and INSET days, and per-school closures
 * given on the command line. Each input is checked on its own first, so a
 * refusal names the file and the field in it; then the merged source goes
 * through the library's full validation (haven_directory_from_json: term
 * overlaps, school ids, limits) and is written back atomically in canonical
 * form. Nothing is written unless everything passes: a refused run leaves
 * directory.json byte for byte as it was. Signing stays a separate step
 * (`directory sign`), as for every other edit.
 */
#include "dircal_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dircal.h"
#include "haven/calendar.h"
#include "haven/directory.h"
#include "jsonutil.h"
#include "util.h"

#define ERRLEN 256
#define DIVISION "england-and-wales"

const char haven__dircal_usage[] =
    "havenctl directory calendar --dir directory.json [--bank-holidays FILE]\n"
    "    [--area FILE]... [--remove-area ID]...\n"
    "    [--school-closed ID:YYYY-MM-DD[,YYYY-MM-DD...]]...\n"
    "  Check school calendars and merge them into the directory source's\n"
    "  \"calendars\" section (written atomically; sign it to publish):\n"
    "  --bank-holidays FILE  replace the bank holidays with FILE's: the\n"
    "      gov.uk/bank-holidays.json download (its england-and-wales\n"
    "      division) or deploy/calendars/bank-holidays-england-wales.json\n"
    "  --area FILE           add a local authority's terms and INSET days,\n"
    "      or replace the area of the same id; FILE is {\"id\", \"terms\":\n"
    "      [{\"name\",\"first\",\"last\"}], \"closed\": [dates], \"source\"}\n"
    "  --remove-area ID      drop an area (no agency attr may name it)\n"
    "  --school-closed ID:DATES  set one school's own closed days (a comma-\n"
    "      separated list replacing its old one; \"ID:\" clears it)\n"
    "  Dates are YYYY-MM-DD, Europe/London. See docs/calendars.md.\n";

/* -------------------------------------------------------- bank holidays */

static int
cmp_day(const void *a, const void *b)
{
	int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

	return ((x > y) - (x < y));
}

/* One event: {"date", "title"[, "notes", "bunting"]}; its date to *day. */
static int
bank_event(const haven__cli *cli, const char *path, const json_t *ev,
    size_t i, int64_t *day)
{
	static const char *const allowed[] = {"date", "title", "notes",
	    "bunting", NULL};
	char where[48], title[HAVEN_NAME_MAX], date[16];
	char err[ERRLEN] = "";

	(void) snprintf(where, sizeof(where), "events[%zu]", i);
	if (!json_is_object(ev)) {
		return (haven__cli_refuse(cli, path, "%s: must be an object",
		    where));
	}
	if (haven__json_only(ev, allowed, where, err, sizeof(err)) !=
	    HAVEN_OK || haven__json_str(ev, "title", true, title,
	    sizeof(title), where, err, sizeof(err)) != HAVEN_OK ||
	    haven__json_str(ev, "date", true, date, sizeof(date), where, err,
	    sizeof(err)) != HAVEN_OK) {
		return (haven__cli_refuse(cli, path, "%s", err));
	}
	if (strlen(date) != 10 || haven_date_parse(date, day) != HAVEN_OK) {
		return (haven__cli_refuse(cli, path, "%s.date: not a date "
		    "(YYYY-MM-DD)", where));
	}
	return (HAVEN__CLI_OK);
}

/* The division object's events as sorted, unique days. */
static int
bank_days(const haven__cli *cli, const char *path, const json_t *events,
    int64_t *days, size_t *n)
{
	char s[16];
	int rv;

	for (size_t i = 0; i < json_array_size(events); i++) {
		if ((rv = bank_event(cli, path, json_array_get(events, i), i,
		    &days[i])) != HAVEN__CLI_OK) {
			return (rv);
		}
	}
	*n = json_array_size(events);
	qsort(days, *n, sizeof(days[0]), cmp_day);
	for (size_t i = 1; i < *n; i++) {
		if (days[i] == days[i - 1]) {
			int y;
			unsigned m, d;

			haven_civil_from_days(days[i], &y, &m, &d);
			(void) snprintf(s, sizeof(s), "%04d-%02u-%02u", y, m, d);
			return (haven__cli_refuse(cli, path, "events: duplicate "
			    "date %s", s));
		}
	}
	return (HAVEN__CLI_OK);
}

/* {"division": "england-and-wales", "source"?, "events": [...]} */
static int
bank_division(const haven__cli *cli, const char *path, const json_t *div,
    const char *where, const json_t **events)
{
	static const char *const allowed[] = {"division", "source", "events",
	    NULL};
	char name[64], err[ERRLEN] = "";

	if (!json_is_object(div)) {
		return (haven__cli_refuse(cli, path, "%s: must be an object",
		    where[0] != '\0' ? where : "file"));
	}
	if (haven__json_only(div, allowed, where, err, sizeof(err)) !=
	    HAVEN_OK || haven__json_str(div, "division", true, name,
	    sizeof(name), where, err, sizeof(err)) != HAVEN_OK) {
		return (haven__cli_refuse(cli, path, "%s", err));
	}
	if (strcmp(name, DIVISION) != 0) {
		return (haven__cli_refuse(cli, path, "%s%sdivision: must be "
		    "\"" DIVISION "\"", where, where[0] != '\0' ? "." : ""));
	}
	*events = json_object_get(div, "events");
	if (!json_is_array(*events)) {
		return (haven__cli_refuse(cli, path, "%s%sevents: must be an "
		    "array", where, where[0] != '\0' ? "." : ""));
	}
	if (json_array_size(*events) > HAVEN__CAL_MAX_BANK) {
		return (haven__cli_refuse(cli, path, "events: more than %d "
		    "bank holidays", HAVEN__CAL_MAX_BANK));
	}
	return (HAVEN__CLI_OK);
}

/* The bank holidays of `path` as a JSON array of date strings. */
static int
load_bank(const haven__cli *cli, const char *path, json_t **dates)
{
	int64_t days[HAVEN__CAL_MAX_BANK];
	const json_t *div, *events = NULL;
	const char *where = "";
	char err[ERRLEN] = "";
	json_t *root = NULL;
	size_t n = 0;
	int rv;

	if (haven__json_load(path, &root, err, sizeof(err)) != HAVEN_OK) {
		return (haven__cli_refuse(cli, "--bank-holidays", "%s%s%s",
		    strstr(err, path) == err ? "" : path,
		    strstr(err, path) == err ? "" : ": ", err));
	}
	div = root;
	if (json_object_get(root, DIVISION) != NULL) { /* whole gov.uk file */
		div = json_object_get(root, DIVISION);
		where = DIVISION;
	}
	if ((rv = bank_division(cli, path, div, where, &events)) ==
	    HAVEN__CLI_OK &&
	    (rv = bank_days(cli, path, events, days, &n)) == HAVEN__CLI_OK) {
		*dates = json_array();
		for (size_t i = 0; *dates != NULL && i < n; i++) {
			int y;
			unsigned m, d;
			char s[16];

			haven_civil_from_days(days[i], &y, &m, &d);
			(void) snprintf(s, sizeof(s), "%04d-%02u-%02u", y, m, d);
			(void) json_array_append_new(*dates, json_string(s));
		}
		if (*dates == NULL || json_array_size(*dates) != n) {
			json_decref(*dates);
			rv = haven__cli_fail(cli, HAVEN_ENOMEM, "out of memory");
		}
	}
	json_decref(root);
	return (rv);
}

/* ----------------------------------------------------------------- areas */

/* An --area file, checked on its own; "source" (a note) is dropped. */
static int
load_area(const haven__cli *cli, const char *path, json_t **area)
{
	const json_t *src;
	char err[ERRLEN] = "";
	json_t *o = NULL;
	haven_err e;

	if (haven__json_load(path, &o, err, sizeof(err)) != HAVEN_OK) {
		return (haven__cli_refuse(cli, "--area", "%s%s%s",
		    strstr(err, path) == err ? "" : path,
		    strstr(err, path) == err ? "" : ": ", err));
	}
	src = json_object_get(o, "source");
	if (src != NULL && !json_is_string(src)) {
		json_decref(o);
		return (haven__cli_refuse(cli, path, "source: must be a "
		    "string"));
	}
	(void) json_object_del(o, "source");
	if ((e = haven__cal_area_check_json(o, "", err, sizeof(err))) !=
	    HAVEN_OK) {
		json_decref(o);
		return (e == HAVEN_EINVAL ? haven__cli_refuse(cli, path, "%s",
		    err) : haven__cli_fail(cli, e, "%s: %s", path,
		    haven_strerror(e)));
	}
	*area = o;
	return (HAVEN__CLI_OK);
}

/* Index of the entry of `list` whose "id" is `id`, or -1. */
static long
find_id(const json_t *list, const char *id)
{
	for (size_t i = 0; i < json_array_size(list); i++) {
		const char *v = json_string_value(json_object_get(
		    json_array_get(list, i), "id"));

		if (v != NULL && strcmp(v, id) == 0) {
			return ((long) i);
		}
	}
	return (-1);
}

/* Replace the entry with the same id, or append; steals `entry`. */
static bool
put_entry(json_t *list, json_t *entry)
{
	const char *id = json_string_value(json_object_get(entry, "id"));
	long i;

	if (entry == NULL || id == NULL) {
		json_decref(entry);
		return (false);
	}
	if ((i = find_id(list, id)) >= 0) {
		return (json_array_set_new(list, (size_t) i, entry) == 0);
	}
	return (json_array_append_new(list, entry) == 0);
}

static int
merge_areas(const haven__cli *cli, const haven__cli_opt *area,
    const haven__cli_opt *remove, json_t *cal)
{
	json_t *areas = json_object_get(cal, "areas");
	json_t *a = NULL;
	int rv;

	for (size_t i = 0; i < area->n_list; i++) {
		if ((rv = load_area(cli, area->list[i], &a)) != HAVEN__CLI_OK) {
			return (rv);
		}
		if (!put_entry(areas, a)) {
			return (haven__cli_fail(cli, HAVEN_ENOMEM,
			    "out of memory"));
		}
	}
	for (size_t i = 0; i < remove->n_list; i++) {
		long at = find_id(areas, remove->list[i]);

		if (at < 0) {
			return (haven__cli_refuse(cli, "--remove-area", "no "
			    "area '%.63s' in the directory", remove->list[i]));
		}
		(void) json_array_remove(areas, (size_t) at);
	}
	return (HAVEN__CLI_OK);
}

/* --------------------------------------------------------------- schools */

/* "2027-02-12,2027-02-15" into a JSON array of checked dates. */
static int
closed_list(const haven__cli *cli, const char *id, const char *s,
    json_t *out)
{
	while (*s != '\0') {
		size_t len = strcspn(s, ",");
		char date[16] = "";
		int64_t day;

		if (len < sizeof(date)) {
			memcpy(date, s, len);
		}
		if (len != 10 || haven_date_parse(date, &day) != HAVEN_OK) {
			return (haven__cli_refuse(cli, "--school-closed",
			    "%s: '%.*s' is not a date (YYYY-MM-DD)", id,
			    (int) (len < 16 ? len : 16), s));
		}
		if (json_array_size(out) >= HAVEN__CAL_MAX_SCHOOL_CLOSED) {
			return (haven__cli_refuse(cli, "--school-closed", "%s: "
			    "more than %d closed days", id,
			    HAVEN__CAL_MAX_SCHOOL_CLOSED));
		}
		(void) json_array_append_new(out, json_string(date));
		s += len;
		s += (*s == ',' && s[1] != '\0') ? 1 : 0;
	}
	return (HAVEN__CLI_OK);
}

/* One --school-closed ID:DATES; replaces (or with no dates drops) the
 * school's entry. */
static int
school_closed(const haven__cli *cli, const haven_directory *dir,
    const char *spec, json_t *schools)
{
	const char *colon = strchr(spec, ':');
	char id[HAVEN_ID_MAX];
	json_t *closed;
	long at;
	int rv;

	if (colon == NULL || colon == spec ||
	    (size_t) (colon - spec) >= sizeof(id)) {
		return (haven__cli_refuse(cli, "--school-closed", "want "
		    "ID:YYYY-MM-DD[,YYYY-MM-DD...]"));
	}
	memcpy(id, spec, (size_t) (colon - spec));
	id[colon - spec] = '\0';
	if (haven_directory_find(dir, id) == NULL) {
		return (haven__cli_refuse(cli, "--school-closed", "no agency "
		    "'%s' in the directory", id));
	}
	if ((closed = json_array()) == NULL) {
		return (haven__cli_fail(cli, HAVEN_ENOMEM, "out of memory"));
	}
	if ((rv = closed_list(cli, id, colon + 1, closed)) != HAVEN__CLI_OK) {
		json_decref(closed);
		return (rv);
	}
	if (json_array_size(closed) == 0) {
		json_decref(closed);
		if ((at = find_id(schools, id)) >= 0) {
			(void) json_array_remove(schools, (size_t) at);
		}
		return (HAVEN__CLI_OK);
	}
	if (!put_entry(schools, json_pack("{s:s, s:o}", "id", id, "closed",
	    closed))) {
		return (haven__cli_fail(cli, HAVEN_ENOMEM, "out of memory"));
	}
	return (HAVEN__CLI_OK);
}

/* ------------------------------------------------------------- command */

/* The source as JSON, with a "calendars" object holding all three lists
 * (*cal borrowed from *root). */
static int
source_json(const haven__cli *cli, const haven_directory *dir, json_t **root,
    json_t **cal)
{
	char *text = NULL;

	if (haven_directory_to_json(dir, &text) != HAVEN_OK ||
	    (*root = json_loads(text, 0, NULL)) == NULL) {
		free(text);
		return (haven__cli_fail(cli, HAVEN_ENOMEM, "out of memory"));
	}
	free(text);
	if ((*cal = json_object_get(*root, "calendars")) == NULL) {
		*cal = json_pack("{s:[], s:[], s:[]}", "bank_holidays", "areas",
		    "schools");
		if (*cal == NULL ||
		    json_object_set_new(*root, "calendars", *cal) != 0) {
			return (haven__cli_fail(cli, HAVEN_ENOMEM,
			    "out of memory"));
		}
	}
	return (HAVEN__CLI_OK);
}

static int
merge_all(const haven__cli *cli, const haven_directory *dir,
    const haven__cli_opt *o, json_t *cal)
{
	json_t *dates = NULL;
	int rv;

	if (o[1].set) {
		if ((rv = load_bank(cli, o[1].value, &dates)) != HAVEN__CLI_OK) {
			return (rv);
		}
		(void) json_object_set_new(cal, "bank_holidays", dates);
	}
	if ((rv = merge_areas(cli, &o[2], &o[3], cal)) != HAVEN__CLI_OK) {
		return (rv);
	}
	for (size_t i = 0; i < o[4].n_list; i++) {
		if ((rv = school_closed(cli, dir, o[4].list[i],
		    json_object_get(cal, "schools"))) != HAVEN__CLI_OK) {
			return (rv);
		}
	}
	return (HAVEN__CLI_OK);
}

static void
report(const haven__cli *cli, const json_t *cal, const char *path)
{
	const json_t *areas = json_object_get(cal, "areas");
	json_t *ids = json_array();
	size_t nb = json_array_size(json_object_get(cal, "bank_holidays"));
	size_t ns = json_array_size(json_object_get(cal, "schools"));

	if (!cli->json) {
		(void) printf("%s: %zu bank holidays, %zu areas, %zu school "
		    "closure lists. Sign the directory to publish them.\n",
		    path, nb, json_array_size(areas), ns);
	}
	for (size_t i = 0; ids != NULL && i < json_array_size(areas); i++) {
		const json_t *a = json_array_get(areas, i);

		if (!cli->json) {
			(void) printf("  area %s: %zu terms, %zu closed days\n",
			    json_string_value(json_object_get(a, "id")),
			    json_array_size(json_object_get(a, "terms")),
			    json_array_size(json_object_get(a, "closed")));
		}
		(void) json_array_append(ids, json_object_get(a, "id"));
	}
	haven__cli_emit(cli, json_pack("{s:b, s:s, s:I, s:o, s:I}", "ok", 1,
	    "directory", path, "bank_holidays", (json_int_t) nb, "areas",
	    ids, "schools", (json_int_t) ns));
}

/* Validate the merged source in full and write it back (canonical). */
static int
commit(const haven__cli *cli, json_t *root, const char *path)
{
	char *text = json_dumps(root, JSON_COMPACT);
	haven_directory *dir = NULL;
	char err[ERRLEN] = "";
	char *out = NULL;
	haven_err e;

	if (text == NULL) {
		return (haven__cli_fail(cli, HAVEN_ENOMEM, "out of memory"));
	}
	e = haven_directory_from_json(&dir, text, strlen(text), err,
	    sizeof(err));
	free(text);
	if (e != HAVEN_OK) {
		return (haven__cli_report(cli, e, path, err));
	}
	if ((e = haven_directory_to_json(dir, &out)) == HAVEN_OK) {
		e = haven__write_file(path, out, strlen(out), 0644, false);
	}
	free(out);
	haven_directory_destroy(&dir);
	return (haven__cli_written(cli, e, path));
}

static int
load_dir(const haven__cli *cli, const char *path, haven_directory **dir)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[ERRLEN] = "";
	haven_err e;
	int rv;

	if ((rv = haven__cli_read_doc(cli, "--dir", path, &buf, &len)) !=
	    HAVEN__CLI_OK) {
		return (rv);
	}
	e = haven_directory_from_json(dir, (const char *) buf, len, err,
	    sizeof(err));
	free(buf);
	return (e == HAVEN_OK ? HAVEN__CLI_OK :
	    haven__cli_report(cli, e, path, err));
}

int
haven__ctl_directory_calendar(haven__cli *cli, int argc, char **argv)
{
	haven__cli_opt o[] = {
		{.name = "dir", .kind = HAVEN__CLI_VALUE},
		{.name = "bank-holidays", .kind = HAVEN__CLI_VALUE},
		{.name = "area", .kind = HAVEN__CLI_LIST},
		{.name = "remove-area", .kind = HAVEN__CLI_LIST},
		{.name = "school-closed", .kind = HAVEN__CLI_LIST},
	};
	static const char *const req[] = {"dir", NULL};
	haven_directory *dir = NULL;
	json_t *root = NULL, *cal = NULL;
	int rv;

	if ((rv = haven__cli_start(cli, haven__dircal_usage, argc, argv, o, 5,
	    0)) >= 0 || (rv = haven__cli_require(cli, o, 5, req)) != 0) {
		return (rv);
	}
	if (!o[1].set && !o[2].set && !o[3].set && !o[4].set) {
		return (haven__cli_refuse(cli, "--area", "nothing to do: give "
		    "--bank-holidays, --area, --remove-area or --school-closed"));
	}
	if ((rv = load_dir(cli, o[0].value, &dir)) == HAVEN__CLI_OK &&
	    (rv = source_json(cli, dir, &root, &cal)) == HAVEN__CLI_OK &&
	    (rv = merge_all(cli, dir, o, cal)) == HAVEN__CLI_OK &&
	    (rv = commit(cli, root, o[0].value)) == HAVEN__CLI_OK) {
		report(cli, cal, o[0].value);
	}
	json_decref(root);
	haven_directory_destroy(&dir);
	return (rv);
}
