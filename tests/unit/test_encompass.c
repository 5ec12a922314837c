/*
 * tests/unit/test_encompass.c: incident validation (R2), planning (R3-R6)
 * and the Encompass payload codec (M1, M2, M4).
 *
 * The directory is a real one: real libsodium keys per agency, parsed by
 * haven_directory_from_json. Incidents come from the fixtures in
 * tests/fixtures/incidents (scenario1.json is also the demo's) or from the
 * scenario-1 fixture mutated one field at a time, so every refusal is
 * checked for its code, the field it names, and that neither the field
 * nor the reason repeats the refused value.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "haven.pb-c.h"
#include "haven/calendar.h"
#include "haven/directory.h"
#include "haven/encompass.h"
#include "haven/keys.h"

#include "dir_tu.h"

#define FIXTURES HAVEN_SOURCE_DIR "/tests/fixtures/incidents/"
#define SPOC "police.cambs.spoc"
#define SCHOOL_A "school.urn.110123"
#define SCHOOL_B "school.urn.110456"

static haven_directory *dir; /* built once in group setup */

/* ------------------------------------------------------------ helpers */

struct ag {
	const char *id;
	const char *role;
	bool revoked;
};

static const struct ag agencies[] = {
	{ "police.cambs", "POL", false },
	{ SPOC, "POL", false },
	{ "police.revoked", "POL", true },
	{ SCHOOL_A, "EDU", false },
	{ SCHOOL_B, "EDU", false },
	{ "school.urn.110789", "EDU", true },
	{ "idva.cambs", "IDVA", false },
	{ "la.cambs", "LA", false },
	{ "la.cambs.ehe", "CSC", false },
	{ "la.pboro", "LA", false },         /* no EHE officer entry */
	{ "la.norfolk", "LA", true },        /* revoked */
	{ "la.suffolk.ehe", "EDU", false },  /* wrong role, no la.suffolk */
	{ "la.herts", "CSC", false },
	{ "la.herts.ehe", "CSC", true },     /* revoked officer: use la.herts */
};

static int
group_setup(void **state)
{
	json_t *list = json_array();

	(void) state;
	for (size_t i = 0; i < sizeof(agencies) / sizeof(agencies[0]); i++) {
		assert_int_equal(json_array_append_new(list, dir_tu_agency(
		    agencies[i].id, agencies[i].role, agencies[i].revoked,
		    NULL, NULL)), 0);
	}
	dir = dir_tu_build(list);
	return (0);
}

static int
group_teardown(void **state)
{
	(void) state;
	haven_directory_destroy(&dir);
	return (0);
}

static json_t *
fixture(const char *name)
{
	return (dir_tu_fixture(FIXTURES, name));
}

static haven_err
from_json(json_t *root, haven_incident *inc, char *field, char *why)
{
	char *text = json_dumps(root, JSON_COMPACT);
	haven_err rv;

	assert_non_null(text);
	rv = haven_incident_from_json(inc, text, strlen(text), field, 64, why,
	    128);
	free(text);
	return (rv);
}

static void
load(const char *name, haven_incident *inc)
{
	json_t *j = fixture(name);
	char field[64], why[128];

	if (from_json(j, inc, field, why) != HAVEN_OK) {
		fail_msg("%s refused: %s: %s", name, field, why);
	}
	json_decref(j);
}

static void
plan(const haven_incident *inc, haven_oe_item *items, size_t *n)
{
	assert_int_equal(haven_oe_plan(inc, dir, SPOC, items, n), HAVEN_OK);
}

static void
assert_item(const haven_oe_item *it, haven_oe_kind kind, const char *to,
    const char *reason, size_t n, const uint8_t *idx)
{
	assert_int_equal(it->kind, kind);
	assert_string_equal(it->recipient, to);
	assert_string_equal(it->reason, reason);
	assert_int_equal(it->n_children, n);
	assert_memory_equal(it->child_idx, idx, n);
}

/* memmem is a GNU extension; the build is strict C11 + POSIX. */
static const uint8_t *
find_bytes(const uint8_t *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle);

	for (size_t i = 0; m <= n && i <= n - m; i++) {
		if (memcmp(hay + i, needle, m) == 0) {
			return (hay + i);
		}
	}
	return (NULL);
}

static const char *
child_name(json_t *root, size_t i)
{
	return (json_string_value(json_object_get(
	    json_array_get(json_object_get(root, "children"), i), "name")));
}

/* --------------------------------------------------------- from_json */

static void
test_scenario1_parse(void **state)
{
	haven_incident inc;

	(void) state;
	load("scenario1.json", &inc);
	assert_string_equal(inc.police_ref, "CC-2026-114233");
	assert_string_equal(inc.occurred_at, "2026-11-20T22:40:00Z");
	assert_int_equal(inc.occurred_ms, INT64_C(1795214400000));
	assert_true(inc.welfare_check);
	assert_false(inc.csc_informed);
	assert_false(inc.ehe);
	assert_int_equal(inc.n_children, 3);
	assert_string_equal(inc.children[0].school, SCHOOL_A);
	assert_string_equal(inc.children[0].dob, "2015-03-02");
	assert_true(inc.children[0].present);
	assert_string_equal(inc.children[1].school, SCHOOL_B);
	assert_false(inc.children[1].present);
	assert_true(inc.children[2].ehe);
	assert_string_equal(inc.children[2].school, "");
	assert_string_equal(inc.children[2].local_authority, "la.cambs");
}

struct bad_fixture {
	const char *file;
	haven_err rv;
	const char *field;
	const char *why; /* prefix */
};

static void
test_bad_fixtures(void **state)
{
	static const struct bad_fixture cases[] = {
		{ "bad-unknown-field.json", HAVEN_EINVAL, "priority",
		    "unknown field" },
		{ "bad-child-unknown-field.json", HAVEN_EINVAL,
		    "children[1].nickname", "unknown field" },
		{ "bad-both-school-and-ehe.json", HAVEN_EINVAL, "children[0]",
		    "give a school" },
		{ "bad-no-setting.json", HAVEN_EINVAL, "children[1].school",
		    "missing" },
		{ "bad-ehe-no-la.json", HAVEN_EINVAL,
		    "children[2].local_authority", "missing" },
		{ "bad-age-18.json", HAVEN_EVALIDATE, "children[1].dob",
		    "R2: child is 18 or over" },
		{ "bad-age-3.json", HAVEN_EVALIDATE, "children[0].dob",
		    "R2: child is below reception age" },
		{ "bad-dob-feb-29.json", HAVEN_EINVAL, "children[0].dob",
		    "not a valid" },
		{ "bad-no-children.json", HAVEN_EINVAL, "children", "must hold" },
		{ "bad-present-missing.json", HAVEN_EINVAL,
		    "children[2].present", "missing" },
		{ "bad-occurred-at-no-zone.json", HAVEN_EINVAL, "occurred_at",
		    "not an RFC 3339" },
		{ "bad-police-ref-missing.json", HAVEN_EINVAL, "police_ref",
		    "missing" },
		{ "bad-school-not-an-id.json", HAVEN_EINVAL, "children[0].school",
		    "not a valid agency id" },
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *j = fixture(cases[i].file);
		haven_incident inc;
		char field[64], why[128];
		haven_err rv = from_json(j, &inc, field, why);

		if (rv != cases[i].rv || strcmp(field, cases[i].field) != 0 ||
		    strncmp(why, cases[i].why, strlen(cases[i].why)) != 0) {
			fail_msg("%s: got %d '%s' '%s'", cases[i].file, rv, field,
			    why);
		}
		assert_int_equal(inc.n_children, 0); /* nothing half-filled */
		json_decref(j);
	}
}

static void
test_truncated_fixture(void **state)
{
	char path[512];
	char buf[512];
	char field[64] = "x", why[128] = "";
	haven_incident inc;
	FILE *f;
	size_t n;

	(void) state;
	(void) snprintf(path, sizeof(path), "%sbad-truncated.json", FIXTURES);
	assert_non_null(f = fopen(path, "r"));
	n = fread(buf, 1, sizeof(buf), f);
	(void) fclose(f);
	assert_int_equal(haven_incident_from_json(&inc, buf, n, field,
	    sizeof(field), why, sizeof(why)), HAVEN_EINVAL);
	assert_string_equal(field, "");
	assert_non_null(strstr(why, "malformed JSON"));
	assert_null(strchr(why, ':')); /* jansson's quoting detail dropped */
	assert_null(strstr(why, "CC-2026"));
}

/* One mutation of scenario 1: set (or, with val NULL, delete) `key` at the
 * top (child < 0) or in children[child]. */
struct mut {
	int child;
	const char *key;
	const char *val; /* JSON text; "@N" = a string of N 'Q's */
	haven_err rv;
	const char *field;
};

static json_t *
mut_value(const char *val)
{
	if (strcmp(val, "@NUL") == 0) {
		return (json_stringn("a\0b", 3)); /* jansson refuses to read it */
	}
	if (val[0] == '@') {
		size_t n = (size_t) atoi(val + 1);
		char *s = malloc(n + 1);
		json_t *j;

		assert_non_null(s);
		memset(s, 'Q', n);
		s[n] = '\0';
		j = json_string(s);
		free(s);
		return (j);
	}
	return (json_loads(val, JSON_DECODE_ANY, NULL));
}

static void
apply(json_t *root, const struct mut *m)
{
	json_t *o = root;

	if (m->child >= 0) {
		o = json_array_get(json_object_get(root, "children"),
		    (size_t) m->child);
	}
	assert_non_null(o);
	if (m->val == NULL) {
		assert_int_equal(json_object_del(o, m->key), 0);
	} else {
		json_t *v = mut_value(m->val);

		assert_non_null(v);
		assert_int_equal(json_object_set_new(o, m->key, v), 0);
	}
}

static void
run_mut(const struct mut *m)
{
	json_t *root = fixture("scenario1.json");
	haven_incident inc;
	char field[64], why[128];
	haven_err rv;

	apply(root, m);
	rv = from_json(root, &inc, field, why);
	json_decref(root);
	if (rv != m->rv || strcmp(field, m->field) != 0) {
		fail_msg("%s[%d] = %s: got %d '%s' (%s)", m->key, m->child,
		    m->val ? m->val : "(deleted)", rv, field, why);
	}
	/* Neither message repeats a refused string value. */
	if (m->val != NULL && m->val[0] == '"' && strlen(m->val) > 7) {
		char inner[64];

		(void) snprintf(inner, sizeof(inner), "%.*s",
		    (int) strlen(m->val) - 2, m->val + 1);
		assert_null(strstr(field, inner));
		assert_null(strstr(why, inner));
	}
	assert_null(strstr(why, "QQQQ"));
}

static void
test_refusals_top(void **state)
{
	static const struct mut cases[] = {
		{ -1, "ehe", "true", HAVEN_EINVAL, "ehe" },
		{ -1, "police_ref", NULL, HAVEN_EINVAL, "police_ref" },
		{ -1, "police_ref", "5", HAVEN_EINVAL, "police_ref" },
		{ -1, "police_ref", "\"\"", HAVEN_EINVAL, "police_ref" },
		{ -1, "police_ref", "\"CC 2026 XYZZY\"", HAVEN_EINVAL,
		    "police_ref" },
		{ -1, "police_ref", "@48", HAVEN_EINVAL, "police_ref" },
		{ -1, "police_ref", "@47", HAVEN_OK, "" },
		{ -1, "occurred_at", NULL, HAVEN_EINVAL, "occurred_at" },
		{ -1, "occurred_at", "\"2026-11-20 22:40:00Z\"", HAVEN_EINVAL,
		    "occurred_at" },
		{ -1, "occurred_at", "\"2026-11-31T22:40:00Z\"", HAVEN_EINVAL,
		    "occurred_at" },
		{ -1, "occurred_at", "\"2026-11-20T23:40:00+01:00\"", HAVEN_OK,
		    "" },
		{ -1, "occurred_at", "1795214400", HAVEN_EINVAL, "occurred_at" },
		{ -1, "occurred_at", "@32", HAVEN_EINVAL, "occurred_at" },
		{ -1, "location", NULL, HAVEN_EINVAL, "location" },
		{ -1, "location", "@256", HAVEN_EINVAL, "location" },
		{ -1, "location", "@255", HAVEN_OK, "" },
		{ -1, "circumstances", NULL, HAVEN_EINVAL, "circumstances" },
		{ -1, "circumstances", "\"\"", HAVEN_EINVAL, "circumstances" },
		{ -1, "circumstances", "@2048", HAVEN_EINVAL, "circumstances" },
		{ -1, "circumstances", "@2047", HAVEN_OK, "" },
		{ -1, "welfare_check", "\"yes\"", HAVEN_EINVAL, "welfare_check" },
		{ -1, "welfare_check", NULL, HAVEN_OK, "" },
		{ -1, "csc_informed", "1", HAVEN_EINVAL, "csc_informed" },
		{ -1, "officer_contact", "@256", HAVEN_EINVAL,
		    "officer_contact" },
		{ -1, "officer_contact", "[]", HAVEN_EINVAL, "officer_contact" },
		{ -1, "officer_contact", NULL, HAVEN_OK, "" },
		{ -1, "children", NULL, HAVEN_EINVAL, "children" },
		{ -1, "children", "{}", HAVEN_EINVAL, "children" },
		{ -1, "children", "[]", HAVEN_EINVAL, "children" },
		{ -1, "children", "[\"Zebedee Example\"]", HAVEN_EINVAL,
		    "children[0]" },
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_mut(&cases[i]);
	}
}

static void
test_refusals_child(void **state)
{
	static const struct mut cases[] = {
		{ 1, "nickname", "\"Benjamin\"", HAVEN_EINVAL,
		    "children[1].nickname" },
		{ 0, "name", NULL, HAVEN_EINVAL, "children[0].name" },
		{ 0, "name", "\"\"", HAVEN_EINVAL, "children[0].name" },
		{ 0, "name", "@128", HAVEN_EINVAL, "children[0].name" },
		{ 0, "name", "@127", HAVEN_OK, "" },
		{ 0, "name", "42", HAVEN_EINVAL, "children[0].name" },
		{ 2, "dob", NULL, HAVEN_EINVAL, "children[2].dob" },
		{ 2, "dob", "\"2016-5-10\"", HAVEN_EINVAL, "children[2].dob" },
		{ 2, "dob", "\"2016-05-10T00:00:00Z\"", HAVEN_EINVAL,
		    "children[2].dob" },
		{ 0, "dob", "\"2019-02-29\"", HAVEN_EINVAL, "children[0].dob" },
		{ 0, "dob", "\"2020-02-29\"", HAVEN_OK, "" },
		{ 0, "dob", "\"2999-01-01\"", HAVEN_EINVAL, "children[0].dob" },
		{ 1, "present", NULL, HAVEN_EINVAL, "children[1].present" },
		{ 1, "present", "\"false\"", HAVEN_EINVAL, "children[1].present" },
		{ 1, "present", "null", HAVEN_EINVAL, "children[1].present" },
		{ 0, "ehe", "true", HAVEN_EINVAL, "children[0]" },
		{ 0, "ehe", "false", HAVEN_OK, "" },
		{ 0, "ehe", "\"no\"", HAVEN_EINVAL, "children[0].ehe" },
		{ 0, "local_authority", "\"la.cambs\"", HAVEN_EINVAL,
		    "children[0].local_authority" },
		{ 0, "school", NULL, HAVEN_EINVAL, "children[0].school" },
		{ 0, "school", "\"\"", HAVEN_EINVAL, "children[0].school" },
		{ 0, "school", "\"Riverside Primary\"", HAVEN_EINVAL,
		    "children[0].school" },
		{ 0, "school", "@64", HAVEN_EINVAL, "children[0].school" },
		{ 2, "school", "\"" SCHOOL_A "\"", HAVEN_EINVAL, "children[2]" },
		{ 2, "ehe", "false", HAVEN_EINVAL, "children[2].school" },
		{ 2, "ehe", NULL, HAVEN_EINVAL, "children[2].school" },
		{ 2, "local_authority", NULL, HAVEN_EINVAL,
		    "children[2].local_authority" },
		{ 2, "local_authority", "\"Cambs County\"", HAVEN_EINVAL,
		    "children[2].local_authority" },
		{ 0, "where", "@256", HAVEN_EINVAL, "children[0].where" },
		{ 0, "where", "@255", HAVEN_OK, "" },
		{ 0, "where", NULL, HAVEN_OK, "" },
		{ 0, "voice_of_child", "@2048", HAVEN_EINVAL,
		    "children[0].voice_of_child" },
		{ 0, "voice_of_child", "@2047", HAVEN_OK, "" },
		{ 0, "voice_of_child", "@NUL", HAVEN_EINVAL, "" },
		{ 1, "dob", "\"2008-11-20\"", HAVEN_EVALIDATE, "children[1].dob" },
		{ 1, "dob", "\"2008-11-21\"", HAVEN_OK, "" },
		{ 0, "dob", "\"2023-01-10\"", HAVEN_EVALIDATE, "children[0].dob" },
	};

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		run_mut(&cases[i]);
	}
}

/* Malformed before a rule: a later child's bad field wins over R2. */
static void
test_structure_before_rules(void **state)
{
	json_t *root = fixture("scenario1.json");
	json_t *kids = json_object_get(root, "children");
	haven_incident inc;
	char field[64], why[128];

	(void) state;
	json_object_set_new(json_array_get(kids, 0), "dob",
	    json_string("2023-01-10"));
	json_object_del(json_array_get(kids, 2), "present");
	assert_int_equal(from_json(root, &inc, field, why), HAVEN_EINVAL);
	assert_string_equal(field, "children[2].present");
	json_decref(root);
}

static void
test_children_count(void **state)
{
	json_t *root = fixture("scenario1.json");
	json_t *kids = json_object_get(root, "children");
	json_t *first = json_array_get(kids, 0);
	haven_incident inc;
	char field[64], why[128];

	(void) state;
	while (json_array_size(kids) < HAVEN_OE_MAX_CHILDREN) {
		json_array_append_new(kids, json_deep_copy(first));
	}
	assert_int_equal(from_json(root, &inc, field, why), HAVEN_OK);
	assert_int_equal(inc.n_children, 16);
	json_array_append_new(kids, json_deep_copy(first));
	assert_int_equal(from_json(root, &inc, field, why), HAVEN_EINVAL);
	assert_string_equal(field, "children");
	json_decref(root);
}

static void
test_future_occurred_at(void **state)
{
	json_t *root = fixture("scenario1.json");
	haven_incident inc;
	char field[64], why[128];
	char t[32];
	struct timespec ts;
	int64_t now;

	(void) state;
	(void) clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t) ts.tv_sec * 1000;
	haven_time_format(now + 4 * 60 * 1000, t, sizeof(t));
	json_object_set_new(root, "occurred_at", json_string(t));
	assert_int_equal(from_json(root, &inc, field, why), HAVEN_OK);
	haven_time_format(now + 6 * 60 * 1000, t, sizeof(t));
	json_object_set_new(root, "occurred_at", json_string(t));
	assert_int_equal(from_json(root, &inc, field, why), HAVEN_EINVAL);
	assert_string_equal(field, "occurred_at");
	assert_string_equal(why, "in the future");
	json_decref(root);
}

static void
test_json_input_refusals(void **state)
{
	haven_incident inc;
	char field[64], why[128];
	size_t big = 1024 * 1024 + 1;
	char *text = malloc(big + 1);

	(void) state;
	assert_int_equal(haven_incident_from_json(&inc, "[1]", 3, field,
	    sizeof(field), why, sizeof(why)), HAVEN_EINVAL);
	assert_int_equal(haven_incident_from_json(&inc, "", 0, field,
	    sizeof(field), why, sizeof(why)), HAVEN_EINVAL);
	assert_int_equal(haven_incident_from_json(&inc,
	    "{\"a\":1,\"a\":2}", 13, field, sizeof(field), why, sizeof(why)),
	    HAVEN_EINVAL);
	assert_int_equal(haven_incident_from_json(NULL, "{}", 2, field,
	    sizeof(field), why, sizeof(why)), HAVEN_EINVAL);
	assert_non_null(text);
	memset(text, ' ', big);
	text[0] = '{';
	text[big - 1] = '}';
	text[big] = '\0';
	assert_int_equal(haven_incident_from_json(&inc, text, big, field,
	    sizeof(field), why, sizeof(why)), HAVEN_EMSGSIZE);
	free(text);
	/* NULL report buffers are fine. */
	assert_int_equal(haven_incident_from_json(&inc, "{}", 2, NULL, 0,
	    NULL, 0), HAVEN_EINVAL);
}

/* ------------------------------------------------------------- R2 ages */

static haven_err
age(const char *dob, const char *when, char *why)
{
	haven_oe_child c;
	int64_t ms = 0;

	memset(&c, 0, sizeof(c));
	(void) snprintf(c.dob, sizeof(c.dob), "%s", dob);
	assert_int_equal(haven_time_parse(when, &ms), HAVEN_OK);
	why[0] = '\0';
	return (haven_oe_child_age_ok(&c, ms, why, 64));
}

static void
test_ages_scenario2(void **state)
{
	char why[64];
	const char *t = "2026-11-20T22:40:00Z";

	(void) state;
	assert_int_equal(age("2009-06-01", t, why), HAVEN_OK); /* 17 */
	assert_int_equal(age("2008-11-21", t, why), HAVEN_OK); /* 18 tomorrow */
	assert_int_equal(age("2008-11-20", t, why), HAVEN_EVALIDATE);
	assert_string_equal(why, "R2: child is 18 or over");
	assert_int_equal(age("2001-01-01", t, why), HAVEN_EVALIDATE);
	assert_string_equal(why, "R2: child is 18 or over");
	assert_int_equal(age("2023-01-10", t, why), HAVEN_EVALIDATE); /* 3 */
	assert_string_equal(why, "R2: child is below reception age");
	assert_int_equal(age("2026-11-01", t, why), HAVEN_EVALIDATE);
	assert_string_equal(why, "R2: child is below reception age");
	assert_int_equal(age("2015-02-30", t, why), HAVEN_EINVAL);
}

static void
test_ages_reception_boundary(void **state)
{
	char why[64];

	(void) state;
	/* School year 2026/27: 4 by 31 August 2026. */
	assert_int_equal(age("2022-08-31", "2026-11-20T22:40:00Z", why),
	    HAVEN_OK);
	assert_int_equal(age("2022-09-01", "2026-11-20T22:40:00Z", why),
	    HAVEN_EVALIDATE);
	assert_string_equal(why, "R2: child is below reception age");
	/* Still 2026/27 on 31 August 2027; 2027/28 from 1 September. */
	assert_int_equal(age("2022-09-01", "2027-08-31T12:00:00Z", why),
	    HAVEN_EVALIDATE);
	assert_int_equal(age("2022-09-01", "2027-09-01T12:00:00Z", why),
	    HAVEN_OK);
	assert_int_equal(age("2023-09-01", "2027-09-01T12:00:00Z", why),
	    HAVEN_EVALIDATE);
	/* 00:30 BST on 1 September is 31 August in UTC: London decides. */
	assert_int_equal(age("2023-08-31", "2027-08-31T23:30:00Z", why),
	    HAVEN_OK);
	assert_int_equal(age("2023-08-31", "2027-08-31T22:30:00Z", why),
	    HAVEN_EVALIDATE);
	/* 18th birthday in London time too. */
	assert_int_equal(age("2009-07-01", "2027-06-30T23:30:00Z", why),
	    HAVEN_EVALIDATE);
	assert_int_equal(age("2009-07-01", "2027-06-30T22:30:00Z", why),
	    HAVEN_OK);
}

static void
test_ages_leap_day(void **state)
{
	char why[64];

	(void) state;
	/* Born 29 February 2008: 18 on 1 March 2026 (a common year). */
	assert_int_equal(age("2008-02-29", "2026-02-28T12:00:00Z", why),
	    HAVEN_OK);
	assert_int_equal(age("2008-02-29", "2026-03-01T12:00:00Z", why),
	    HAVEN_EVALIDATE);
	/* Born 29 February 2020: 4 on 29 February 2024, reception 2024/25. */
	assert_int_equal(age("2020-02-29", "2024-09-02T09:00:00Z", why),
	    HAVEN_OK);
	assert_int_equal(age("2020-02-29", "2024-08-30T09:00:00Z", why),
	    HAVEN_EVALIDATE);
}

/* ---------------------------------------------------------------- plan */

static void
test_scenario1_plan(void **state)
{
	haven_incident inc;
	haven_oe_item items[HAVEN_OE_MAX_CHILDREN];
	size_t n = 99;

	(void) state;
	load("scenario1.json", &inc);
	plan(&inc, items, &n);
	assert_int_equal(n, 3);
	assert_item(&items[0], HAVEN_OE_NOTIFY_SETTING, SCHOOL_A, "", 1,
	    (const uint8_t[]) { 0 });
	assert_item(&items[1], HAVEN_OE_NOTIFY_SETTING, SCHOOL_B, "", 1,
	    (const uint8_t[]) { 1 });
	assert_item(&items[2], HAVEN_OE_NOTIFY_EHE, "la.cambs.ehe", "", 1,
	    (const uint8_t[]) { 2 });
}

static void
set_child(haven_oe_child *c, const char *school, const char *la)
{
	memset(c, 0, sizeof(*c));
	(void) snprintf(c->name, sizeof(c->name), "Child");
	(void) snprintf(c->dob, sizeof(c->dob), "2015-03-02");
	(void) snprintf(c->school, sizeof(c->school), "%s", school);
	(void) snprintf(c->local_authority, sizeof(c->local_authority), "%s",
	    la);
	c->ehe = la[0] != '\0';
}

static void
test_plan_grouping(void **state)
{
	haven_incident inc;
	haven_oe_item items[HAVEN_OE_MAX_CHILDREN];
	size_t n = 0;

	(void) state;
	load("scenario1.json", &inc);
	inc.n_children = 6;
	set_child(&inc.children[0], SCHOOL_B, "");
	set_child(&inc.children[1], "", "la.cambs");
	set_child(&inc.children[2], SCHOOL_A, "");
	set_child(&inc.children[3], SCHOOL_B, "");
	set_child(&inc.children[4], "", "la.cambs");
	set_child(&inc.children[5], SCHOOL_B, "");
	plan(&inc, items, &n);
	assert_int_equal(n, 3);
	assert_item(&items[0], HAVEN_OE_NOTIFY_SETTING, SCHOOL_B, "", 3,
	    (const uint8_t[]) { 0, 3, 5 });
	assert_item(&items[1], HAVEN_OE_NOTIFY_EHE, "la.cambs.ehe", "", 2,
	    (const uint8_t[]) { 1, 4 });
	assert_item(&items[2], HAVEN_OE_NOTIFY_SETTING, SCHOOL_A, "", 1,
	    (const uint8_t[]) { 2 });
}

static void
test_plan_escalations(void **state)
{
	haven_incident inc;
	haven_oe_item items[HAVEN_OE_MAX_CHILDREN];
	size_t n = 0;

	(void) state;
	load("scenario1.json", &inc);
	inc.n_children = 10;
	set_child(&inc.children[0], "school.urn.424242", "");
	set_child(&inc.children[1], "idva.cambs", "");
	set_child(&inc.children[2], "school.urn.110789", "");
	set_child(&inc.children[3], "", "la.pboro");
	set_child(&inc.children[4], "", "la.norfolk");
	set_child(&inc.children[5], "", "la.suffolk");
	set_child(&inc.children[6], "school.urn.424242", "");
	set_child(&inc.children[7], "", "la.herts");
	set_child(&inc.children[8], "", "la.unknown");
	set_child(&inc.children[9], "", "la.unknown");
	plan(&inc, items, &n);
	assert_int_equal(n, 8);
	assert_item(&items[0], HAVEN_OE_ESCALATE, SPOC, "school-unknown", 2,
	    (const uint8_t[]) { 0, 6 });
	assert_item(&items[1], HAVEN_OE_ESCALATE, SPOC, "not-a-setting", 1,
	    (const uint8_t[]) { 1 });
	assert_item(&items[2], HAVEN_OE_ESCALATE, SPOC, "revoked", 1,
	    (const uint8_t[]) { 2 });
	assert_item(&items[3], HAVEN_OE_NOTIFY_EHE, "la.pboro", "", 1,
	    (const uint8_t[]) { 3 });
	assert_item(&items[4], HAVEN_OE_ESCALATE, SPOC, "la-unknown", 1,
	    (const uint8_t[]) { 4 });
	assert_item(&items[5], HAVEN_OE_ESCALATE, SPOC, "la-unknown", 1,
	    (const uint8_t[]) { 5 });
	assert_item(&items[6], HAVEN_OE_NOTIFY_EHE, "la.herts", "", 1,
	    (const uint8_t[]) { 7 });
	assert_item(&items[7], HAVEN_OE_ESCALATE, SPOC, "la-unknown", 2,
	    (const uint8_t[]) { 8, 9 });
}

/* Every child is in exactly one item, whatever the directory says. */
static void
test_plan_never_drops(void **state)
{
	static const char *settings[] = { SCHOOL_A, SCHOOL_B,
		"school.urn.110789", "school.urn.1", "idva.cambs", SPOC };
	haven_incident inc;
	haven_oe_item items[HAVEN_OE_MAX_CHILDREN];
	size_t n = 0;
	unsigned seen[HAVEN_OE_MAX_CHILDREN] = { 0 };

	(void) state;
	load("scenario1.json", &inc);
	inc.n_children = HAVEN_OE_MAX_CHILDREN;
	for (size_t i = 0; i < HAVEN_OE_MAX_CHILDREN; i++) {
		if (i % 3 == 2) {
			set_child(&inc.children[i], "", i % 2 ? "la.cambs" : "la.x");
		} else {
			set_child(&inc.children[i], settings[i % 6], "");
		}
	}
	plan(&inc, items, &n);
	for (size_t j = 0; j < n; j++) {
		for (size_t k = 0; k < items[j].n_children; k++) {
			seen[items[j].child_idx[k]]++;
		}
	}
	for (size_t i = 0; i < HAVEN_OE_MAX_CHILDREN; i++) {
		assert_int_equal(seen[i], 1);
	}
}

static void
test_plan_spoc(void **state)
{
	haven_incident inc;
	haven_oe_item items[HAVEN_OE_MAX_CHILDREN];
	size_t n = 0;

	(void) state;
	load("scenario1.json", &inc);
	assert_int_equal(haven_oe_plan(&inc, dir, "police.nowhere", items, &n),
	    HAVEN_EINVAL);
	assert_int_equal(haven_oe_plan(&inc, dir, "la.cambs", items, &n),
	    HAVEN_EINVAL);
	assert_int_equal(haven_oe_plan(&inc, dir, "police.revoked", items, &n),
	    HAVEN_EINVAL);
	assert_int_equal(haven_oe_plan(&inc, dir, "", items, &n), HAVEN_EINVAL);
	assert_int_equal(haven_oe_plan(&inc, NULL, SPOC, items, &n),
	    HAVEN_EINVAL);
	assert_int_equal(haven_oe_plan(&inc, dir, NULL, items, &n),
	    HAVEN_EINVAL);
	inc.n_children = 0;
	assert_int_equal(haven_oe_plan(&inc, dir, SPOC, items, &n),
	    HAVEN_EINVAL);
	inc.n_children = HAVEN_OE_MAX_CHILDREN + 1;
	assert_int_equal(haven_oe_plan(&inc, dir, SPOC, items, &n),
	    HAVEN_EINVAL);
}

/* Scenario 3: not present, nothing said: still planned and sent. */
static void
test_scenario3_not_present(void **state)
{
	haven_incident inc, back;
	haven_oe_item items[HAVEN_OE_MAX_CHILDREN];
	size_t n = 0, len = 0;
	uint8_t *buf = NULL;

	(void) state;
	load("scenario3-not-present.json", &inc);
	assert_false(inc.children[0].present);
	assert_string_equal(inc.children[0].voice_of_child, "");
	plan(&inc, items, &n);
	assert_int_equal(n, 1);
	assert_item(&items[0], HAVEN_OE_NOTIFY_SETTING, SCHOOL_A, "", 1,
	    (const uint8_t[]) { 0 });
	assert_int_equal(haven_oe_payload_encode(&inc, &items[0], &buf, &len),
	    HAVEN_OK);
	assert_int_equal(haven_oe_payload_decode(HAVEN_MSG_OE_NOTIFICATION,
	    buf, len, &back, NULL, 0), HAVEN_OK);
	assert_false(back.children[0].present);
	assert_string_equal(back.children[0].where, "at grandparents'");
	assert_string_equal(back.children[0].voice_of_child, "");
	free(buf);
}

/* ------------------------------------------------------------- payload */

static uint32_t
type_of(const haven_oe_item *it)
{
	return (it->kind == HAVEN_OE_NOTIFY_SETTING ? HAVEN_MSG_OE_NOTIFICATION :
	    it->kind == HAVEN_OE_NOTIFY_EHE ? HAVEN_MSG_OE_EHE_NOTIFICATION :
	    HAVEN_MSG_OE_ESCALATION);
}

static void
assert_same_child(const haven_oe_child *a, const haven_oe_child *b)
{
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->dob, b->dob);
	assert_string_equal(a->school, b->school);
	assert_int_equal(a->ehe, b->ehe);
	assert_string_equal(a->local_authority, b->local_authority);
	assert_int_equal(a->present, b->present);
	assert_string_equal(a->where, b->where);
	assert_string_equal(a->voice_of_child, b->voice_of_child);
}

static void
check_round_trip(const haven_incident *inc, const haven_oe_item *it)
{
	haven_incident back;
	char reason[32] = "x";
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(haven_oe_payload_encode(inc, it, &buf, &len),
	    HAVEN_OK);
	assert_int_equal(haven_oe_payload_decode(type_of(it), buf, len, &back,
	    reason, sizeof(reason)), HAVEN_OK);
	assert_string_equal(back.police_ref, inc->police_ref);
	assert_string_equal(back.occurred_at, inc->occurred_at);
	assert_int_equal(back.occurred_ms, inc->occurred_ms);
	assert_string_equal(back.location, inc->location);
	assert_string_equal(back.circumstances, inc->circumstances);
	assert_int_equal(back.welfare_check, inc->welfare_check);
	assert_int_equal(back.csc_informed, inc->csc_informed);
	assert_string_equal(back.officer_contact, inc->officer_contact);
	assert_int_equal(back.ehe, it->kind == HAVEN_OE_NOTIFY_EHE ||
	    inc->children[it->child_idx[0]].ehe);
	assert_string_equal(reason, it->reason);
	assert_int_equal(back.n_children, it->n_children);
	for (size_t i = 0; i < it->n_children; i++) {
		assert_same_child(&back.children[i],
		    &inc->children[it->child_idx[i]]);
	}
	/* The other kinds refuse these bytes. */
	for (uint32_t t = 1; t <= 4; t++) {
		if (t != type_of(it) && t != 3) {
			assert_int_not_equal(haven_oe_payload_decode(t, buf, len,
			    &back, NULL, 0), HAVEN_OK);
		}
	}
	free(buf);
}

static void
test_payload_round_trip(void **state)
{
	haven_incident inc;
	haven_oe_item items[HAVEN_OE_MAX_CHILDREN];
	size_t n = 0;

	(void) state;
	load("scenario1.json", &inc);
	plan(&inc, items, &n);
	for (size_t i = 0; i < n; i++) {
		check_round_trip(&inc, &items[i]);
	}
	/* Escalations, for a school group and an EHE group. */
	set_child(&inc.children[1], "school.urn.424242", "");
	set_child(&inc.children[2], "", "la.unknown");
	plan(&inc, items, &n);
	assert_int_equal(n, 3);
	assert_int_equal(items[1].kind, HAVEN_OE_ESCALATE);
	assert_int_equal(items[2].kind, HAVEN_OE_ESCALATE);
	for (size_t i = 0; i < n; i++) {
		check_round_trip(&inc, &items[i]);
	}
}

/* R3/R8: a school's payload carries no other setting's child. */
static void
test_payload_isolation(void **state)
{
	json_t *root = fixture("scenario1.json");
	haven_incident inc, back;
	haven_oe_item items[HAVEN_OE_MAX_CHILDREN];
	size_t n = 0;

	(void) state;
	load("scenario1.json", &inc);
	plan(&inc, items, &n);
	for (size_t i = 0; i < n; i++) {
		uint8_t *buf = NULL;
		size_t len = 0;
		char *js = NULL;

		assert_int_equal(haven_oe_payload_encode(&inc, &items[i], &buf,
		    &len), HAVEN_OK);
		assert_int_equal(haven_oe_payload_decode(type_of(&items[i]), buf,
		    len, &back, NULL, 0), HAVEN_OK);
		assert_int_equal(haven_oe_to_json(&back, NULL, &js), HAVEN_OK);
		for (size_t c = 0; c < inc.n_children; c++) {
			const char *name = child_name(root, c);
			bool mine = c == items[i].child_idx[0];

			assert_int_equal(find_bytes(buf, len, name) != NULL,
			    mine);
			assert_int_equal(strstr(js, name) != NULL, mine);
		}
		free(js);
		free(buf);
	}
	json_decref(root);
}

static void
test_encode_refusals(void **state)
{
	haven_incident inc;
	haven_oe_item items[HAVEN_OE_MAX_CHILDREN], it;
	size_t n = 0, len = 0;
	uint8_t *buf = NULL;

	(void) state;
	load("scenario1.json", &inc);
	plan(&inc, items, &n);
	it = items[0];
	it.child_idx[0] = 3; /* only 3 children */
	assert_int_equal(haven_oe_payload_encode(&inc, &it, &buf, &len),
	    HAVEN_EINVAL);
	it = items[0];
	it.n_children = 0;
	assert_int_equal(haven_oe_payload_encode(&inc, &it, &buf, &len),
	    HAVEN_EINVAL);
	it = items[0];
	it.kind = (haven_oe_kind) 9;
	assert_int_equal(haven_oe_payload_encode(&inc, &it, &buf, &len),
	    HAVEN_EINVAL);
	it = items[0];
	it.kind = HAVEN_OE_ESCALATE; /* with no reason */
	assert_int_equal(haven_oe_payload_encode(&inc, &it, &buf, &len),
	    HAVEN_EINVAL);
	assert_int_equal(haven_oe_payload_encode(NULL, &items[0], &buf, &len),
	    HAVEN_EINVAL);
	assert_null(buf);
}

/* Every strict prefix of a one-child payload is refused. */
static void
test_decode_truncated(void **state)
{
	haven_incident inc, back;
	haven_oe_item items[HAVEN_OE_MAX_CHILDREN];
	size_t n = 0;

	(void) state;
	load("scenario3-not-present.json", &inc);
	plan(&inc, items, &n);
	for (int k = 0; k < 3; k++) {
		uint8_t *buf = NULL;
		size_t len = 0;
		haven_oe_item it = items[0];

		if (k == 1) {
			set_child(&inc.children[0], "", "la.cambs");
			plan(&inc, items, &n);
			it = items[0];
		} else if (k == 2) {
			it.kind = HAVEN_OE_ESCALATE;
			(void) snprintf(it.reason, sizeof(it.reason), "revoked");
		}
		assert_int_equal(haven_oe_payload_encode(&inc, &it, &buf, &len),
		    HAVEN_OK);
		for (size_t cut = 0; cut < len; cut++) {
			if (haven_oe_payload_decode(type_of(&it), buf, cut, &back,
			    NULL, 0) == HAVEN_OK) {
				fail_msg("kind %d: prefix %zu of %zu accepted", k, cut,
				    len);
			}
			assert_int_equal(back.n_children, 0);
		}
		free(buf);
	}
}

/* Build a payload by hand with protobuf-c, to hit decode's checks. */
static size_t
pack_notification(Haven__EncompassNotification *n, uint8_t *buf)
{
	size_t len = haven__encompass_notification__get_packed_size(n);

	assert_true(len <= 65536);
	return (haven__encompass_notification__pack(n, buf));
}

struct crafted {
	const char *what;
	void (*edit)(Haven__EncompassNotification *, Haven__EncompassChild *);
};

static char long_name[HAVEN_NAME_MAX + 1];

static void
e_long(Haven__EncompassNotification *n, Haven__EncompassChild *c)
{
	(void) n;
	c->name = long_name;
}
static void
e_dob(Haven__EncompassNotification *n, Haven__EncompassChild *c)
{
	(void) n;
	c->dob = "2023-02-29";
}
static void
e_both(Haven__EncompassNotification *n, Haven__EncompassChild *c)
{
	(void) n;
	c->ehe = true;
	c->local_authority = "la.cambs";
}
static void
e_none(Haven__EncompassNotification *n, Haven__EncompassChild *c)
{
	(void) n;
	c->school = "";
}
static void
e_school(Haven__EncompassNotification *n, Haven__EncompassChild *c)
{
	(void) n;
	c->school = "Not An Id";
}
static void
e_utf8(Haven__EncompassNotification *n, Haven__EncompassChild *c)
{
	(void) c;
	n->location = "\xc3\x28 street";
}
static void
e_overlong(Haven__EncompassNotification *n, Haven__EncompassChild *c)
{
	(void) c;
	n->location = "\xc0\xaf";
}
static void
e_ref(Haven__EncompassNotification *n, Haven__EncompassChild *c)
{
	(void) c;
	n->police_ref = "";
}
static void
e_time(Haven__EncompassNotification *n, Haven__EncompassChild *c)
{
	(void) c;
	n->occurred_at = "yesterday";
}
static void
e_ehe(Haven__EncompassNotification *n, Haven__EncompassChild *c)
{
	(void) c;
	n->ehe = true;
}
static void
e_none_kids(Haven__EncompassNotification *n, Haven__EncompassChild *c)
{
	(void) c;
	n->n_children = 0;
}
static void
e_name(Haven__EncompassNotification *n, Haven__EncompassChild *c)
{
	(void) n;
	c->name = "";
}

static void
test_decode_crafted(void **state)
{
	static const struct crafted cases[] = {
		{ "long name", e_long }, { "bad dob", e_dob },
		{ "school and ehe", e_both }, { "no setting", e_none },
		{ "bad school id", e_school }, { "bad utf-8", e_utf8 },
		{ "overlong utf-8", e_overlong }, { "empty ref", e_ref },
		{ "bad time", e_time }, { "ehe flag on M1", e_ehe },
		{ "no children", e_none_kids }, { "empty name", e_name },
	};
	static uint8_t buf[65536];
	haven_incident back;

	(void) state;
	memset(long_name, 'N', HAVEN_NAME_MAX);
	for (size_t i = 0; i <= sizeof(cases) / sizeof(cases[0]); i++) {
		Haven__EncompassNotification n = HAVEN__ENCOMPASS_NOTIFICATION__INIT;
		Haven__EncompassChild c = HAVEN__ENCOMPASS_CHILD__INIT;
		Haven__EncompassChild *cp = &c;
		size_t len;
		haven_err rv;

		n.police_ref = "CC-1";
		n.occurred_at = "2026-11-20T22:40:00Z";
		n.location = "somewhere";
		n.circumstances = "something";
		n.n_children = 1;
		n.children = &cp;
		c.name = "Child";
		c.dob = "2015-03-02";
		c.school = SCHOOL_A;
		if (i < sizeof(cases) / sizeof(cases[0])) {
			cases[i].edit(&n, &c);
		}
		len = pack_notification(&n, buf);
		rv = haven_oe_payload_decode(HAVEN_MSG_OE_NOTIFICATION, buf, len,
		    &back, NULL, 0);
		if (i == sizeof(cases) / sizeof(cases[0])) {
			assert_int_equal(rv, HAVEN_OK); /* the unedited control */
		} else if (rv == HAVEN_OK) {
			fail_msg("accepted: %s", cases[i].what);
		}
	}
}

static void
test_decode_counts_and_bytes(void **state)
{
	static uint8_t buf[65536];
	Haven__EncompassNotification n = HAVEN__ENCOMPASS_NOTIFICATION__INIT;
	Haven__EncompassChild c = HAVEN__ENCOMPASS_CHILD__INIT;
	Haven__EncompassChild *many[HAVEN_OE_MAX_CHILDREN + 1];
	haven_incident back;
	size_t len;
	uint8_t *p;

	(void) state;
	n.police_ref = "CC-1";
	n.occurred_at = "2026-11-20T22:40:00Z";
	n.location = "somewhere";
	n.circumstances = "something";
	c.name = "Child";
	c.dob = "2015-03-02";
	c.school = SCHOOL_A;
	for (size_t i = 0; i <= HAVEN_OE_MAX_CHILDREN; i++) {
		many[i] = &c;
	}
	n.children = many;
	n.n_children = HAVEN_OE_MAX_CHILDREN;
	len = pack_notification(&n, buf);
	assert_int_equal(haven_oe_payload_decode(HAVEN_MSG_OE_NOTIFICATION, buf,
	    len, &back, NULL, 0), HAVEN_OK);
	n.n_children = HAVEN_OE_MAX_CHILDREN + 1;
	len = pack_notification(&n, buf);
	assert_int_equal(haven_oe_payload_decode(HAVEN_MSG_OE_NOTIFICATION, buf,
	    len, &back, NULL, 0), HAVEN_EINVAL);
	/* A NUL hidden inside a string: "Child" -> "Ch\0ld". */
	n.n_children = 1;
	len = pack_notification(&n, buf);
	assert_non_null(p = (uint8_t *) find_bytes(buf, len, "Child"));
	p[2] = '\0';
	assert_int_equal(haven_oe_payload_decode(HAVEN_MSG_OE_NOTIFICATION, buf,
	    len, &back, NULL, 0), HAVEN_EDECODE);
	/* Garbage, wrong types, oversize. */
	memset(buf, 0xff, 64);
	assert_int_equal(haven_oe_payload_decode(HAVEN_MSG_OE_NOTIFICATION, buf,
	    64, &back, NULL, 0), HAVEN_EDECODE);
	assert_int_equal(haven_oe_payload_decode(HAVEN_MSG_OE_ESCALATION, buf,
	    64, &back, NULL, 0), HAVEN_EDECODE);
	assert_int_equal(haven_oe_payload_decode(HAVEN_MSG_OE_RECEIPT, buf, 0,
	    &back, NULL, 0), HAVEN_EINVAL);
	assert_int_equal(haven_oe_payload_decode(99, buf, 0, &back, NULL, 0),
	    HAVEN_EINVAL);
	assert_int_equal(haven_oe_payload_decode(HAVEN_MSG_OE_NOTIFICATION, buf,
	    256 * 1024 + 1, &back, NULL, 0), HAVEN_EMSGSIZE);
	assert_int_equal(haven_oe_payload_decode(HAVEN_MSG_OE_NOTIFICATION, NULL,
	    4, &back, NULL, 0), HAVEN_EINVAL);
	assert_int_equal(haven_oe_payload_decode(HAVEN_MSG_OE_NOTIFICATION, buf,
	    0, &back, NULL, 0), HAVEN_EINVAL); /* empty: no children */
}

static void
test_decode_escalation_refusals(void **state)
{
	static uint8_t buf[65536];
	static const char *reasons[] = { "school-unknown", "", "School Unknown",
		"a-reason-that-is-far-too-long-to-fit", "revoked" };
	Haven__EncompassNotification n = HAVEN__ENCOMPASS_NOTIFICATION__INIT;
	Haven__EncompassChild c = HAVEN__ENCOMPASS_CHILD__INIT;
	Haven__EncompassChild *cp = &c;
	Haven__Escalation e = HAVEN__ESCALATION__INIT;
	haven_incident back;
	char reason[32];
	uint8_t id[16] = { 1 };
	size_t len;

	(void) state;
	n.police_ref = "CC-1";
	n.occurred_at = "2026-11-20T22:40:00Z";
	n.location = "somewhere";
	n.circumstances = "something";
	n.n_children = 1;
	n.children = &cp;
	c.name = "Child";
	c.dob = "2015-03-02";
	c.school = "school.urn.424242";
	e.notification = &n;
	for (size_t i = 0; i < 5; i++) {
		e.reason = (char *) reasons[i];
		len = haven__escalation__pack(&e, buf);
		assert_int_equal(haven_oe_payload_decode(HAVEN_MSG_OE_ESCALATION,
		    buf, len, &back, reason, sizeof(reason)),
		    (i == 0 || i == 4) ? HAVEN_OK : HAVEN_EINVAL);
	}
	assert_string_equal(reason, "revoked");
	/* The reason must fit the caller's buffer. */
	assert_int_equal(haven_oe_payload_decode(HAVEN_MSG_OE_ESCALATION, buf,
	    len, &back, reason, 4), HAVEN_EMSGSIZE);
	e.about_msg_id.data = id;
	e.about_msg_id.len = 16;
	len = haven__escalation__pack(&e, buf);
	assert_int_equal(haven_oe_payload_decode(HAVEN_MSG_OE_ESCALATION, buf,
	    len, &back, reason, sizeof(reason)), HAVEN_OK);
	e.about_msg_id.len = 5;
	len = haven__escalation__pack(&e, buf);
	assert_int_equal(haven_oe_payload_decode(HAVEN_MSG_OE_ESCALATION, buf,
	    len, &back, reason, sizeof(reason)), HAVEN_EINVAL);
	assert_string_equal(reason, "");
	e.about_msg_id.len = 0;
	e.notification = NULL;
	len = haven__escalation__pack(&e, buf);
	assert_int_equal(haven_oe_payload_decode(HAVEN_MSG_OE_ESCALATION, buf,
	    len, &back, reason, sizeof(reason)), HAVEN_EINVAL);
}

/* ---------------------------------------------------------------- JSON */

static json_t *
render(const haven_incident *inc, const char *reason)
{
	char *s = NULL;
	json_t *j;

	assert_int_equal(haven_oe_to_json(inc, reason, &s), HAVEN_OK);
	j = json_loads(s, 0, NULL);
	free(s);
	assert_non_null(j);
	return (j);
}

static void
test_to_json(void **state)
{
	static const char *keys[] = { "police_ref", "occurred_at", "location",
		"circumstances", "welfare_check", "csc_informed",
		"officer_contact", "ehe", "children" };
	haven_incident inc;
	json_t *j, *c;
	char *s = NULL;

	(void) state;
	load("scenario1.json", &inc);
	j = render(&inc, NULL);
	assert_int_equal(json_object_size(j), 9);
	for (size_t i = 0; i < 9; i++) {
		assert_non_null(json_object_get(j, keys[i]));
	}
	assert_string_equal(json_string_value(json_object_get(j, "police_ref")),
	    "CC-2026-114233");
	assert_true(json_is_true(json_object_get(j, "welfare_check")));
	assert_true(json_is_false(json_object_get(j, "ehe")));
	assert_int_equal(json_array_size(json_object_get(j, "children")), 3);
	c = json_array_get(json_object_get(j, "children"), 1);
	assert_string_equal(json_string_value(json_object_get(c, "school")),
	    SCHOOL_B);
	assert_true(json_is_false(json_object_get(c, "present")));
	assert_null(json_object_get(c, "local_authority"));
	c = json_array_get(json_object_get(j, "children"), 2);
	assert_true(json_is_true(json_object_get(c, "ehe")));
	assert_null(json_object_get(c, "school"));
	json_decref(j);
	j = render(&inc, "school-unknown");
	assert_string_equal(json_string_value(json_object_get(j,
	    "escalation_reason")), "school-unknown");
	json_decref(j);
	j = render(&inc, "");
	assert_null(json_object_get(j, "escalation_reason"));
	json_decref(j);
	/* Refusals: bad UTF-8, an unterminated buffer, too many children. */
	(void) snprintf(inc.location, sizeof(inc.location), "\xff");
	assert_int_equal(haven_oe_to_json(&inc, NULL, &s), HAVEN_EINVAL);
	load("scenario1.json", &inc);
	memset(inc.children[0].dob, '1', sizeof(inc.children[0].dob));
	assert_int_equal(haven_oe_to_json(&inc, NULL, &s), HAVEN_EINVAL);
	load("scenario1.json", &inc);
	inc.n_children = HAVEN_OE_MAX_CHILDREN + 1;
	assert_int_equal(haven_oe_to_json(&inc, NULL, &s), HAVEN_EINVAL);
	assert_null(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenario1_parse),
		cmocka_unit_test(test_bad_fixtures),
		cmocka_unit_test(test_truncated_fixture),
		cmocka_unit_test(test_refusals_top),
		cmocka_unit_test(test_refusals_child),
		cmocka_unit_test(test_structure_before_rules),
		cmocka_unit_test(test_children_count),
		cmocka_unit_test(test_future_occurred_at),
		cmocka_unit_test(test_json_input_refusals),
		cmocka_unit_test(test_ages_scenario2),
		cmocka_unit_test(test_ages_reception_boundary),
		cmocka_unit_test(test_ages_leap_day),
		cmocka_unit_test(test_scenario1_plan),
		cmocka_unit_test(test_plan_grouping),
		cmocka_unit_test(test_plan_escalations),
		cmocka_unit_test(test_plan_never_drops),
		cmocka_unit_test(test_plan_spoc),
		cmocka_unit_test(test_scenario3_not_present),
		cmocka_unit_test(test_payload_round_trip),
		cmocka_unit_test(test_payload_isolation),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_decode_truncated),
		cmocka_unit_test(test_decode_crafted),
		cmocka_unit_test(test_decode_counts_and_bytes),
		cmocka_unit_test(test_decode_escalation_refusals),
		cmocka_unit_test(test_to_json),
	};

	return (cmocka_run_group_tests(tests, group_setup, group_teardown));
}
