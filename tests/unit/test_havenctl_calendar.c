/*
 * tests/unit/test_havenctl_calendar.c: `havenctl directory calendar`, end
 * to end with the real binary.
 *
 * Each test runs the built <build>/havenctl (next to this executable) in a
 * fresh mkdtemp directory with real keys, imports the shipped data files
 * (deploy/calendars/), signs, and then loads the signed directory through
 * libhaven to check the deadline a school really gets. Every refusal must
 * exit 2, name the file (or option) and the field, and leave
 * directory.json byte for byte unchanged. The demo partnership script is
 * run too, to check that it imports the calendars.
 */
#define _XOPEN_SOURCE 700 /* nftw */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "haven/calendar.h"
#include "haven/directory.h"
#include "haven/keys.h"
#include "util.h"

#include "cal_tu.h"
#include "ctl_tu.h"

#define BANK HAVEN_SOURCE_DIR "/deploy/calendars/bank-holidays-england-wales.json"
#define CAMBS HAVEN_SOURCE_DIR "/deploy/calendars/la.cambs.json"

/* admin key; a directory with police.cambs and a school in la.cambs. */
static void
make_directory(fx *f)
{
	assert_int_equal(ctl(f, "keygen", "--agency", "admin", "--out",
	    f->dir, NULL), 0);
	assert_int_equal(ctl(f, "keygen", "--agency", "school.urn.110123",
	    "--out", P(f, "k"), NULL), 0);
	assert_int_equal(ctl(f, "keygen", "--agency", "police.cambs", "--out",
	    P(f, "k"), NULL), 0);
	assert_int_equal(ctl(f, "directory", "init", "--out",
	    P(f, "directory.json"), NULL), 0);
	assert_int_equal(ctl(f, "directory", "add", "--dir",
	    P(f, "directory.json"), "--pub", P(f, "k/police.cambs.pub"),
	    "--role", "POL", "--name", "Cambridgeshire Constabulary", NULL), 0);
	assert_int_equal(ctl(f, "directory", "add", "--dir",
	    P(f, "directory.json"), "--pub", P(f, "k/school.urn.110123.pub"),
	    "--role", "EDU", "--name", "Riverside Primary School", "--attr",
	    "local_authority=la.cambs", NULL), 0);
}

static haven_directory *
sign_and_load(fx *f, const char *dir_json, const char *admin_dir)
{
	char key[PATH_MAX], pub[PATH_MAX], out[PATH_MAX];
	haven_directory *d = NULL;
	haven_pubkey admin;
	char err[256] = "";

	(void) snprintf(key, sizeof(key), "%s/admin.key", admin_dir);
	(void) snprintf(pub, sizeof(pub), "%s/admin.pub", admin_dir);
	(void) snprintf(out, sizeof(out), "%s.signed", dir_json);
	assert_int_equal(ctl(f, "directory", "sign", "--dir", dir_json,
	    "--admin-key", key, "--out", out, NULL), 0);
	assert_int_equal(haven_pubkey_load(&admin, pub, err, sizeof(err)),
	    HAVEN_OK);
	if (haven_directory_load(&d, out, admin.sign_pk, err, sizeof(err)) !=
	    HAVEN_OK) {
		fail_msg("%s", err);
	}
	return (d);
}

static json_t *
calendars(const fx *f)
{
	json_t *j = json_load_file(P(f, "directory.json"), 0, NULL);
	json_t *c;

	assert_non_null(j);
	c = json_incref(json_object_get(j, "calendars"));
	json_decref(j);
	return (c);
}

/* ------------------------------------------------------------- tests */

static void
test_import_and_sign(void **state)
{
	fx *f = *state;
	haven_directory *d;
	haven_calendar cal;
	int64_t start = 0;
	json_t *j;

	make_directory(f);
	assert_int_equal(ctl(f, "directory", "calendar", "--dir",
	    P(f, "directory.json"), "--bank-holidays", BANK, "--area", CAMBS,
	    "--json", NULL), 0);
	j = json_loads(f->out, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "bank_holidays")), 32);
	assert_string_equal(json_string_value(json_array_get(json_object_get(j,
	    "areas"), 0)), "la.cambs");
	json_decref(j);

	d = sign_and_load(f, P(f, "directory.json"), f->dir);
	assert_int_equal(haven_directory_calendar(d, "school.urn.110123",
	    &cal), HAVEN_OK);
	assert_int_equal(cal.start_minute, 510);
	assert_int_equal(cal.n_bank_holidays, 32);
	assert_int_equal(cal.n_terms, 18);
	assert_int_equal(cal.n_closed, 5);
	/* 21:00 on the last day of the summer term 2026 -> 3 September. */
	assert_int_equal(haven_calendar_next_school_day(&cal,
	    T("2026-07-22T21:00:00+01:00"), &start), HAVEN_OK);
	assert_int_equal(start, T("2026-09-03T07:30:00Z"));
	/* Christmas 2026 -> the INSET day -> Wednesday 6 January 2027. */
	assert_int_equal(haven_calendar_next_school_day(&cal,
	    T("2026-12-18T21:00:00Z"), &start), HAVEN_OK);
	assert_int_equal(start, T("2027-01-06T08:30:00Z"));
	haven_directory_destroy(&d);

	/* The source prints a text summary without --json. */
	assert_int_equal(ctl(f, "directory", "calendar", "--dir",
	    P(f, "directory.json"), "--school-closed",
	    "school.urn.110123:2027-02-12,2027-02-11", NULL), 0);
	assert_contains(f->out, "32 bank holidays, 1 areas, 1 school");
	d = sign_and_load(f, P(f, "directory.json"), f->dir);
	assert_int_equal(haven_directory_calendar(d, "school.urn.110123",
	    &cal), HAVEN_OK);
	assert_int_equal(cal.n_school_closed, 2);
	/* Thursday 11 and Friday 12 Feb 2027 closed, then half-term. */
	assert_int_equal(haven_calendar_next_school_day(&cal,
	    T("2027-02-10T12:00:00Z"), &start), HAVEN_OK);
	assert_int_equal(start, T("2027-02-22T08:30:00Z"));
	haven_directory_destroy(&d);
}

static void
test_replace_and_remove(void **state)
{
	fx *f = *state;
	json_t *c;

	make_directory(f);
	assert_int_equal(ctl(f, "directory", "calendar", "--dir",
	    P(f, "directory.json"), "--bank-holidays", BANK, "--area", CAMBS,
	    NULL), 0);
	/* The same area id again: replaced, not added. */
	put(f, "cambs2.json", "{\"source\":\"test\",\"id\":\"la.cambs\","
	    "\"terms\":[{\"name\":\"autumn-1-2029\",\"first\":\"2029-09-04\","
	    "\"last\":\"2029-10-19\"}]}");
	/* The whole gov.uk file: only england-and-wales is read. */
	put(f, "govuk.json", "{\"england-and-wales\":{\"division\":"
	    "\"england-and-wales\",\"events\":[{\"title\":\"Boxing Day\","
	    "\"date\":\"2029-12-26\",\"notes\":\"\",\"bunting\":true},"
	    "{\"title\":\"Christmas Day\",\"date\":\"2029-12-25\",\"notes\":"
	    "\"\",\"bunting\":true}]},\"scotland\":{\"division\":\"scotland\","
	    "\"events\":[{\"title\":\"St Andrew's Day\",\"date\":"
	    "\"2029-11-30\"}]}}");
	assert_int_equal(ctl(f, "directory", "calendar", "--dir",
	    P(f, "directory.json"), "--area", P(f, "cambs2.json"),
	    "--bank-holidays", P(f, "govuk.json"), NULL), 0);
	c = calendars(f);
	assert_int_equal(json_array_size(json_object_get(c, "areas")), 1);
	assert_int_equal(json_array_size(json_object_get(json_array_get(
	    json_object_get(c, "areas"), 0), "terms")), 1);
	assert_null(json_object_get(json_array_get(json_object_get(c,
	    "areas"), 0), "source"));
	assert_int_equal(json_array_size(json_object_get(c, "bank_holidays")),
	    2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(c,
	    "bank_holidays"), 0)), "2029-12-25");
	json_decref(c);
	/* A school's list replaced, then cleared with "ID:". */
	assert_int_equal(ctl(f, "directory", "calendar", "--dir",
	    P(f, "directory.json"), "--school-closed",
	    "school.urn.110123:2029-09-10", NULL), 0);
	assert_int_equal(ctl(f, "directory", "calendar", "--dir",
	    P(f, "directory.json"), "--school-closed", "school.urn.110123:",
	    "--remove-area", "la.cambs", NULL), 0);
	c = calendars(f);
	assert_int_equal(json_array_size(json_object_get(c, "areas")), 0);
	assert_int_equal(json_array_size(json_object_get(c, "schools")), 0);
	json_decref(c);
}

static const struct {
	const char *opt;
	const char *file;   /* written to in.json; NULL: none */
	const char *arg;    /* the option's value ("@" = in.json) */
	const char *want;   /* in stderr */
} refusals[] = {
	{"--area", "{\"id\":\"la.cambs\",\"terms\":[{\"name\":\"a\",\"first\":"
	    "\"2026-01-05\",\"last\":\"2026-02-13\"},{\"name\":\"b\",\"first\":"
	    "\"2026-02-13\",\"last\":\"2026-03-27\"}]}", "@",
	    "in.json: area 'la.cambs': term 'b' overlaps 'a'"},
	{"--area", "{\"id\":\"la.cambs\",\"terms\":[{\"name\":\"a\",\"first\":"
	    "\"2026-02-13\",\"last\":\"2026-01-05\"}]}", "@",
	    "in.json: area 'la.cambs': term 'a' ends before it starts"},
	{"--area", "{\"id\":\"la.cambs\",\"terms\":[{\"name\":\"a\",\"first\":"
	    "\"2026-02-30\",\"last\":\"2026-03-05\"}]}", "@",
	    "in.json: terms[0].first: not a date (YYYY-MM-DD)"},
	{"--area", "{\"id\":\"la.cambs\",\"colour\":\"blue\"}", "@",
	    "in.json: colour: unknown field"},
	{"--area", "{\"id\":\"LA Cambs\"}", "@",
	    "in.json: id: not a valid agency id"},
	{"--area", "{\"id\":\"la.cambs\",\"closed\":[\"2026-01-05\","
	    "\"2026-01-05\"]}", "@", "in.json: closed: duplicate date 2026-01-05"},
	{"--area", "{\"id\":\"la.cambs\",\"source\":7}", "@",
	    "in.json: source: must be a string"},
	{"--area", "{\"id\":", "@", "in.json: malformed JSON"},
	{"--area", NULL, "/nonexistent/area.json",
	    "/nonexistent/area.json: cannot read"},
	{"--bank-holidays", "{\"division\":\"scotland\",\"events\":[]}", "@",
	    "in.json: division: must be \"england-and-wales\""},
	{"--bank-holidays", "{\"division\":\"england-and-wales\",\"events\":"
	    "[{\"title\":\"x\",\"date\":\"2026-12-25\"},{\"title\":\"y\","
	    "\"date\":\"25/12/2026\"}]}", "@",
	    "in.json: events[1].date: not a date (YYYY-MM-DD)"},
	{"--bank-holidays", "{\"division\":\"england-and-wales\",\"events\":"
	    "[{\"title\":\"x\",\"date\":\"2026-12-25\"},{\"title\":\"y\","
	    "\"date\":\"2026-12-25\"}]}", "@",
	    "in.json: events: duplicate date 2026-12-25"},
	{"--bank-holidays", "{\"division\":\"england-and-wales\",\"events\":"
	    "[{\"date\":\"2026-12-25\"}]}", "@",
	    "in.json: events[0].title: missing"},
	{"--bank-holidays", "{\"division\":\"england-and-wales\",\"events\":"
	    "{}}", "@", "in.json: events: must be an array"},
	{"--bank-holidays", "{\"england-and-wales\":{\"division\":"
	    "\"england-and-wales\",\"events\":[],\"extra\":1}}", "@",
	    "in.json: england-and-wales.extra: unknown field"},
	{"--school-closed", NULL, "school.urn.999999:2027-01-04",
	    "--school-closed: no agency 'school.urn.999999' in the directory"},
	{"--school-closed", NULL, "school.urn.110123:2027-02-30",
	    "--school-closed: school.urn.110123: '2027-02-30' is not a date"},
	{"--school-closed", NULL, "school.urn.110123:2027-02-01,",
	    "--school-closed: school.urn.110123: '' is not a date"},
	{"--school-closed", NULL, "school.urn.110123",
	    "--school-closed: want ID:YYYY-MM-DD"},
	{"--remove-area", NULL, "la.herts",
	    "--remove-area: no area 'la.herts' in the directory"},
};

static void
test_refusals(void **state)
{
	fx *f = *state;
	char *before;

	make_directory(f);
	before = slurp(P(f, "directory.json"));
	assert_non_null(before);
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		const char *arg = refusals[i].arg;
		char *after;

		if (refusals[i].file != NULL) {
			put(f, "in.json", refusals[i].file);
		}
		if (strcmp(arg, "@") == 0) {
			arg = P(f, "in.json");
		}
		if (ctl(f, "directory", "calendar", "--dir",
		    P(f, "directory.json"), refusals[i].opt, arg, NULL) != 2) {
			fail_msg("case %zu: not refused: %s", i, f->err);
		}
		assert_contains(f->err, refusals[i].want);
		after = slurp(P(f, "directory.json"));
		assert_non_null(after);
		assert_string_equal(before, after);
		free(after);
	}
	free(before);
	/* Nothing to do; no --dir; --help. */
	assert_int_equal(ctl(f, "directory", "calendar", "--dir",
	    P(f, "directory.json"), NULL), 2);
	assert_contains(f->err, "nothing to do");
	assert_int_equal(ctl(f, "directory", "calendar", "--area", CAMBS,
	    NULL), 2);
	assert_contains(f->err, "--dir is required");
	assert_int_equal(ctl(f, "directory", "calendar", "--help", NULL), 0);
	assert_contains(f->out, "--bank-holidays FILE");
	assert_int_equal(ctl(f, "directory", "--help", NULL), 0);
	assert_contains(f->out, "calendar");
}

/* An area still named by an agency's "calendar" attr cannot be removed:
 * the full validation refuses, naming the directory file and the attr. */
static void
test_area_in_use(void **state)
{
	fx *f = *state;
	char *before;

	make_directory(f);
	assert_int_equal(ctl(f, "keygen", "--agency", "school.urn.110456",
	    "--out", P(f, "k"), NULL), 0);
	/* Naming an area that does not exist yet is refused... */
	assert_int_equal(ctl(f, "directory", "add", "--dir",
	    P(f, "directory.json"), "--pub", P(f, "k/school.urn.110456.pub"),
	    "--role", "EDU", "--name", "Fenland Academy", "--attr",
	    "calendar=la.cambs", NULL), 2);
	assert_contains(f->err, "attrs.calendar: names no area");
	/* ...and accepted once it is imported. */
	assert_int_equal(ctl(f, "directory", "calendar", "--dir",
	    P(f, "directory.json"), "--area", CAMBS, NULL), 0);
	assert_int_equal(ctl(f, "directory", "add", "--dir",
	    P(f, "directory.json"), "--pub", P(f, "k/school.urn.110456.pub"),
	    "--role", "EDU", "--name", "Fenland Academy", "--attr",
	    "calendar=la.cambs", NULL), 0);
	before = slurp(P(f, "directory.json"));
	assert_int_equal(ctl(f, "directory", "calendar", "--dir",
	    P(f, "directory.json"), "--remove-area", "la.cambs", NULL), 2);
	assert_contains(f->err, "directory.json: agencies[2].attrs.calendar: "
	    "names no area of calendars.areas");
	{
		char *after = slurp(P(f, "directory.json"));

		assert_string_equal(before, after);
		free(after);
	}
	free(before);
}

/* The demo partnership imports the calendars; both schools keep 08:30. */
static void
test_partnership_calendars(void **state)
{
	static const char *const schools[] = {"school.urn.110123",
	    "school.urn.110456"};
	fx *f = *state;
	char script[] = HAVEN_SOURCE_DIR "/deploy/demo/partnership.sh";
	char sh[] = "/bin/sh", port[] = "7463";
	char d[PATH_MAX];
	char *argv[] = {sh, script, d, port, NULL};
	haven_directory *dir;

	(void) snprintf(d, sizeof(d), "%s", P(f, "demo"));
	assert_int_equal(run_prog(f, sh, argv), 0);
	dir = sign_and_load(f, P(f, "demo/directory.json"), P(f, "demo"));
	for (size_t i = 0; i < 2; i++) {
		haven_calendar cal;
		int64_t start = 0;

		assert_int_equal(haven_directory_calendar(dir, schools[i], &cal),
		    HAVEN_OK);
		assert_int_equal(cal.start_minute, 510);
		assert_int_equal(cal.n_terms, 18);
		assert_int_equal(cal.n_bank_holidays, 32);
		assert_int_equal(haven_calendar_next_school_day(&cal,
		    T("2026-11-20T22:40:00Z"), &start), HAVEN_OK);
		assert_int_equal(start, T("2026-11-23T08:30:00Z"));
	}
	haven_directory_destroy(&dir);
}

/* ---------------------------------------------------------------- main */

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		CTL_TEST(test_import_and_sign),
		CTL_TEST(test_replace_and_remove),
		CTL_TEST(test_refusals),
		CTL_TEST(test_area_in_use),
		CTL_TEST(test_partnership_calendars),
	};

	(void) argc;
	if (sodium_init() < 0) {
		return (1);
	}
	ctl_find(argv[0]);
	if (access(g_ctl, X_OK) != 0) {
		(void) fprintf(stderr, "test_havenctl_calendar: %s not found "
		    "(build the havenctl target)\n", g_ctl);
		return (1);
	}
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
