/*
 * tests/unit/test_policy_settings.c: the policy's "encompass" and "marac"
 * settings sections (lib/policy_settings.c through haven/policy.h).
 *
 * Defaults when a section (or a key) is absent, every value carried
 * through sign -> decode, every JSON refusal with its exact message, and
 * admin-signed bodies whose settings break a range: the decoder must
 * refuse them with the same message the JSON loader gives. Signatures are
 * real (haven_keys_generate); nothing is mocked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "policy_tu.h"

struct fx {
	haven_keys *admin;
	haven_pubkey admin_pk;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(haven_keys_generate(&f->admin, "admin", 1), HAVEN_OK);
	haven_keys_public(f->admin, &f->admin_pk);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	haven_keys_destroy(&f->admin);
	free(f);
	return (0);
}

static haven_policy *
load(const char *src)
{
	haven_policy *p = NULL;
	char err[256] = "";
	haven_err rv = haven_policy_from_json(&p, src, strlen(src), err,
	    sizeof(err));

	if (rv != HAVEN_OK) {
		print_error("load: %s\n", err);
	}
	assert_int_equal(rv, HAVEN_OK);
	return (p);
}

/* Sign with the admin key and decode again. */
static haven_policy *
resign(const struct fx *f, const haven_policy *p)
{
	return (pu_resign(p, f->admin, f->admin_pk.sign_pk));
}

static void
expect_defaults(const haven_policy *p)
{
	const haven_policy_encompass *e = haven_policy_encompass_settings(p);
	const haven_policy_marac *m = haven_policy_marac_settings(p);

	assert_int_equal(e->n_secondary, 2);
	assert_string_equal(e->secondary[0], "deputy");
	assert_string_equal(e->secondary[1], "la-education");
	assert_int_equal(e->n_holiday_duty, 0);
	assert_int_equal(e->offline_escalation_ms, 24 * 3600 * 1000LL);
	assert_int_equal(m->dash_auto, 17);
	assert_int_equal(m->dash_consent, 14);
	assert_int_equal(m->repeat_days, 365);
	assert_int_equal(m->max_incident_age_days, 92);
	assert_int_equal(m->escalation_incidents, 3);
	assert_int_equal(m->meeting_days, 0x15); /* MON WED FRI */
	assert_int_equal(m->meeting_minute, 600);
}

static void
test_defaults(void **state)
{
	struct fx *f = *state;
	haven_policy *p = load("{\"version\":1,\"rules\":[]}");
	haven_policy *q = resign(f, p);

	expect_defaults(p);
	expect_defaults(q);
	expect_defaults(NULL); /* an agent without a policy */
	haven_policy_destroy(&q);
	haven_policy_destroy(&p);

	/* empty sections, and sections with some keys, keep the rest */
	p = load("{\"version\":1,\"rules\":[],\"encompass\":{},\"marac\":{}}");
	expect_defaults(p);
	haven_policy_destroy(&p);
	p = load("{\"version\":1,\"rules\":[],"
	         "\"encompass\":{\"secondary_contacts\":[\"la-education\"]},"
	         "\"marac\":{\"repeat_days\":366}}");
	assert_int_equal(haven_policy_encompass_settings(p)->n_secondary, 1);
	assert_string_equal(haven_policy_encompass_settings(p)->secondary[0],
	    "la-education");
	assert_int_equal(
	    haven_policy_encompass_settings(p)->offline_escalation_ms,
	    86400000);
	assert_int_equal(haven_policy_marac_settings(p)->repeat_days, 366);
	assert_int_equal(haven_policy_marac_settings(p)->dash_auto, 17);
	haven_policy_destroy(&p);
}

static const char *const FULL =
    "{\"version\":3,\"rules\":[],"
    "\"encompass\":{\"secondary_contacts\":[\"la-education\",\"deputy\"],"
    " \"holiday_duty\":[{\"calendar\":\"la.cambs\",\"agency\":\"la.cambs.eds\"},"
    "  {\"calendar\":\"la.peterborough\",\"agency\":\"la.pboro.eds\"}],"
    " \"offline_escalation_minutes\":90},"
    "\"marac\":{\"dash_auto\":18,\"dash_consent\":18,\"repeat_days\":730,"
    " \"max_incident_age_days\":31,\"escalation_incidents\":5,"
    " \"meeting_days\":[\"SUN\",\"TUE\"],\"meeting_time\":\"23:59\"}}";

static void
expect_full(const haven_policy *p)
{
	const haven_policy_encompass *e = haven_policy_encompass_settings(p);
	const haven_policy_marac *m = haven_policy_marac_settings(p);

	assert_int_equal(e->n_secondary, 2);
	assert_string_equal(e->secondary[0], "la-education");
	assert_string_equal(e->secondary[1], "deputy");
	assert_int_equal(e->n_holiday_duty, 2);
	assert_string_equal(e->holiday_duty[0].calendar, "la.cambs");
	assert_string_equal(e->holiday_duty[0].agency, "la.cambs.eds");
	assert_string_equal(e->holiday_duty[1].calendar, "la.peterborough");
	assert_string_equal(e->holiday_duty[1].agency, "la.pboro.eds");
	assert_int_equal(e->offline_escalation_ms, 90 * 60000);
	assert_int_equal(m->dash_auto, 18);
	assert_int_equal(m->dash_consent, 18);
	assert_int_equal(m->repeat_days, 730);
	assert_int_equal(m->max_incident_age_days, 31);
	assert_int_equal(m->escalation_incidents, 5);
	assert_int_equal(m->meeting_days, 0x42); /* TUE SUN */
	assert_int_equal(m->meeting_minute, 23 * 60 + 59);
}

static void
test_values_round_trip(void **state)
{
	struct fx *f = *state;
	haven_policy *p = load(FULL);
	haven_policy *q = resign(f, p);

	expect_full(p);
	expect_full(q);
	assert_int_equal(haven_policy_version(q), 3);
	haven_policy_destroy(&q);
	haven_policy_destroy(&p);

	/* the edges of every range load */
	p = load("{\"version\":1,\"rules\":[],"
	         "\"encompass\":{\"offline_escalation_minutes\":10080,"
	         " \"holiday_duty\":[]},"
	         "\"marac\":{\"dash_auto\":0,\"dash_consent\":0,"
	         " \"repeat_days\":3660,\"max_incident_age_days\":1,"
	         " \"escalation_incidents\":100,\"meeting_time\":\"00:00\","
	         " \"meeting_days\":[\"MON\",\"TUE\",\"WED\",\"THU\",\"FRI\","
	         "  \"SAT\",\"SUN\"]}}");
	q = resign(f, p);
	assert_int_equal(haven_policy_marac_settings(q)->dash_auto, 0);
	assert_int_equal(haven_policy_marac_settings(q)->meeting_days, 0x7f);
	assert_int_equal(haven_policy_marac_settings(q)->meeting_minute, 0);
	assert_int_equal(haven_policy_marac_settings(q)->repeat_days, 3660);
	assert_int_equal(
	    haven_policy_encompass_settings(q)->offline_escalation_ms,
	    10080LL * 60000);
	haven_policy_destroy(&q);
	haven_policy_destroy(&p);
}

/* ------------------------------------------------- JSON refusal table */

#define OE(x) "{\"version\":1,\"rules\":[],\"encompass\":" x "}"
#define MC(x) "{\"version\":1,\"rules\":[],\"marac\":" x "}"
#define DUTY(x) OE("{\"holiday_duty\":[" x "]}")

static const struct {
	const char *src;
	const char *msg;
} refusals[] = {
	{OE("[]"), "encompass: must be an object"},
	{OE("{\"deputy\":true}"), "encompass.deputy: unknown field"},
	{OE("{\"secondary_contacts\":\"deputy\"}"),
	    "encompass.secondary_contacts: must be an array"},
	{OE("{\"secondary_contacts\":[]}"),
	    "encompass.secondary_contacts: must have 1 or 2 entries"},
	{OE("{\"secondary_contacts\":[\"deputy\",\"la-education\","
	    "\"deputy\"]}"),
	    "encompass.secondary_contacts: must have 1 or 2 entries"},
	{OE("{\"secondary_contacts\":[\"head\"]}"),
	    "encompass.secondary_contacts[0]: must be \"deputy\" or "
	    "\"la-education\""},
	{OE("{\"secondary_contacts\":[\"deputy\",7]}"),
	    "encompass.secondary_contacts[1]: must be \"deputy\" or "
	    "\"la-education\""},
	{OE("{\"secondary_contacts\":[\"la-education-team-of-the-county\"]}"),
	    "encompass.secondary_contacts[0]: must be \"deputy\" or "
	    "\"la-education\""},
	{OE("{\"secondary_contacts\":[\"deputy\",\"deputy\"]}"),
	    "encompass.secondary_contacts[1]: duplicate entry"},
	{OE("{\"holiday_duty\":{}}"),
	    "encompass.holiday_duty: must be an array"},
	{DUTY("1"), "encompass.holiday_duty[0]: must be an object"},
	{DUTY("{\"calendar\":\"la.cambs\"}"),
	    "encompass.holiday_duty[0].agency: missing"},
	{DUTY("{\"agency\":\"la.cambs.eds\"}"),
	    "encompass.holiday_duty[0].calendar: missing"},
	{DUTY("{\"calendar\":\"la.cambs\",\"agency\":\"x\",\"phone\":\"1\"}"),
	    "encompass.holiday_duty[0].phone: unknown field"},
	{DUTY("{\"calendar\":\"LA Cambs\",\"agency\":\"la.cambs.eds\"}"),
	    "encompass.holiday_duty[0].calendar: not a valid area id"},
	{DUTY("{\"calendar\":\"la.cambs\",\"agency\":\"la..eds\"}"),
	    "encompass.holiday_duty[0].agency: not a valid agency id"},
	{DUTY("{\"calendar\":\"la.cambs\",\"agency\":7}"),
	    "encompass.holiday_duty[0].agency: must be a string"},
	{DUTY("{\"calendar\":\"la.cambs\",\"agency\":\"la.a\"},"
	      "{\"calendar\":\"la.pboro\",\"agency\":\"la.b\"},"
	      "{\"calendar\":\"la.cambs\",\"agency\":\"la.c\"}"),
	    "encompass.holiday_duty[2].calendar: duplicate of "
	    "holiday_duty[0]"},
	{DUTY("{\"calendar\":\"a1\",\"agency\":\"b\"},"
	      "{\"calendar\":\"a2\",\"agency\":\"b\"},"
	      "{\"calendar\":\"a3\",\"agency\":\"b\"},"
	      "{\"calendar\":\"a4\",\"agency\":\"b\"},"
	      "{\"calendar\":\"a5\",\"agency\":\"b\"},"
	      "{\"calendar\":\"a6\",\"agency\":\"b\"},"
	      "{\"calendar\":\"a7\",\"agency\":\"b\"},"
	      "{\"calendar\":\"a8\",\"agency\":\"b\"},"
	      "{\"calendar\":\"a9\",\"agency\":\"b\"},"
	      "{\"calendar\":\"b1\",\"agency\":\"b\"},"
	      "{\"calendar\":\"b2\",\"agency\":\"b\"},"
	      "{\"calendar\":\"b3\",\"agency\":\"b\"},"
	      "{\"calendar\":\"b4\",\"agency\":\"b\"},"
	      "{\"calendar\":\"b5\",\"agency\":\"b\"},"
	      "{\"calendar\":\"b6\",\"agency\":\"b\"},"
	      "{\"calendar\":\"b7\",\"agency\":\"b\"},"
	      "{\"calendar\":\"b8\",\"agency\":\"b\"}"),
	    "encompass.holiday_duty: more than 16 entries"},
	{OE("{\"offline_escalation_minutes\":0}"),
	    "encompass.offline_escalation_minutes: out of range [1, 10080]"},
	{OE("{\"offline_escalation_minutes\":10081}"),
	    "encompass.offline_escalation_minutes: out of range [1, 10080]"},
	{OE("{\"offline_escalation_minutes\":\"1440\"}"),
	    "encompass.offline_escalation_minutes: must be an integer"},
	{MC("7"), "marac: must be an object"},
	{MC("{\"dash\":17}"), "marac.dash: unknown field"},
	{MC("{\"dash_auto\":25}"), "marac.dash_auto: out of range [0, 24]"},
	{MC("{\"dash_auto\":-1}"), "marac.dash_auto: out of range [0, 24]"},
	{MC("{\"dash_auto\":17.5}"), "marac.dash_auto: must be an integer"},
	{MC("{\"dash_consent\":25,\"dash_auto\":24}"),
	    "marac.dash_consent: out of range [0, 24]"},
	{MC("{\"dash_consent\":18}"),
	    "marac.dash_consent: must be <= dash_auto"},
	{MC("{\"dash_auto\":13}"),
	    "marac.dash_consent: must be <= dash_auto"},
	{MC("{\"repeat_days\":0}"),
	    "marac.repeat_days: out of range [1, 3660]"},
	{MC("{\"repeat_days\":3661}"),
	    "marac.repeat_days: out of range [1, 3660]"},
	{MC("{\"max_incident_age_days\":0}"),
	    "marac.max_incident_age_days: out of range [1, 3660]"},
	{MC("{\"escalation_incidents\":0}"),
	    "marac.escalation_incidents: out of range [1, 100]"},
	{MC("{\"escalation_incidents\":101}"),
	    "marac.escalation_incidents: out of range [1, 100]"},
	{MC("{\"meeting_days\":[]}"),
	    "marac.meeting_days: must name 1..7 distinct days MON..SUN"},
	{MC("{\"meeting_days\":\"MON\"}"),
	    "marac.meeting_days: must name 1..7 distinct days MON..SUN"},
	{MC("{\"meeting_days\":[\"MON\",\"TUE\",\"WED\",\"THU\",\"FRI\","
	    "\"SAT\",\"SUN\",\"MON\"]}"),
	    "marac.meeting_days: must name 1..7 distinct days MON..SUN"},
	{MC("{\"meeting_days\":[\"MON\",\"Mon\"]}"),
	    "marac.meeting_days[1]: must be MON, TUE, WED, THU, FRI, SAT or "
	    "SUN"},
	{MC("{\"meeting_days\":[1]}"),
	    "marac.meeting_days[0]: must be MON, TUE, WED, THU, FRI, SAT or "
	    "SUN"},
	{MC("{\"meeting_days\":[\"FRI\",\"WED\",\"FRI\"]}"),
	    "marac.meeting_days[2]: duplicate day"},
	{MC("{\"meeting_time\":\"24:00\"}"),
	    "marac.meeting_time: must be \"HH:MM\" (00:00-23:59)"},
	{MC("{\"meeting_time\":\"10:60\"}"),
	    "marac.meeting_time: must be \"HH:MM\" (00:00-23:59)"},
	{MC("{\"meeting_time\":\"9:30\"}"),
	    "marac.meeting_time: must be \"HH:MM\" (00:00-23:59)"},
	{MC("{\"meeting_time\":\"10:00:00\"}"),
	    "marac.meeting_time: must be \"HH:MM\" (00:00-23:59)"},
	{MC("{\"meeting_time\":\"1a:00\"}"),
	    "marac.meeting_time: must be \"HH:MM\" (00:00-23:59)"},
	{MC("{\"meeting_time\":600}"),
	    "marac.meeting_time: must be \"HH:MM\" (00:00-23:59)"},
	{"{\"version\":1,\"rules\":[],\"panel\":{}}", "panel: unknown field"},
};

static void
test_json_refusals(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		pu_json_refused(i, refusals[i].src, HAVEN_EINVAL,
		    refusals[i].msg);
	}
}

/* ------------------------------------------ admin-signed bad settings */

struct body {
	Haven__Policy pp;
	Haven__EncompassSettings oe;
	Haven__MaracSettings mc;
	char *sec[3];
	Haven__HolidayDuty duty[HAVEN_POLICY_DUTY_MAX + 1];
	Haven__HolidayDuty *dutyp[HAVEN_POLICY_DUTY_MAX + 1];
};

/* A valid body holding both sections with the default values. */
static void
body_init(struct body *b)
{
	memset(b, 0, sizeof(*b));
	haven__policy__init(&b->pp);
	haven__encompass_settings__init(&b->oe);
	haven__marac_settings__init(&b->mc);
	b->pp.version = 1;
	b->pp.skew_ms = 300000;
	b->sec[0] = "deputy";
	b->sec[1] = "la-education";
	b->sec[2] = "deputy";
	b->oe.secondary_contacts = b->sec;
	b->oe.n_secondary_contacts = 2;
	for (size_t i = 0; i <= HAVEN_POLICY_DUTY_MAX; i++) {
		haven__holiday_duty__init(&b->duty[i]);
		b->duty[i].calendar = "la.cambs";
		b->duty[i].agency = "la.cambs.eds";
		b->dutyp[i] = &b->duty[i];
	}
	b->oe.holiday_duty = b->dutyp;
	b->oe.offline_escalation_ms = 86400000;
	b->mc.dash_auto = 17;
	b->mc.dash_consent = 14;
	b->mc.repeat_days = 365;
	b->mc.max_incident_age_days = 92;
	b->mc.escalation_incidents = 3;
	b->mc.meeting_days = 0x15;
	b->mc.meeting_minute = 600;
	b->pp.encompass = &b->oe;
	b->pp.marac = &b->mc;
}

/* The body signed by the admin: accepted (msg NULL) or refused with
 * HAVEN_EINVAL and exactly `msg`. */
static void
expect_body(const struct fx *f, const struct body *b, const char *msg)
{
	pu_expect_body(&b->pp, f->admin, f->admin_pk.sign_pk,
	    msg == NULL ? HAVEN_OK : HAVEN_EINVAL, msg);
}

static void
test_signed_encompass_refusals(void **state)
{
	struct fx *f = *state;
	struct body b;

	body_init(&b);
	expect_body(f, &b, NULL);
	b.oe.n_secondary_contacts = 0;
	expect_body(f, &b, "encompass.secondary_contacts: must have 1 or 2 "
	                   "entries");
	b.oe.n_secondary_contacts = 3;
	expect_body(f, &b, "encompass.secondary_contacts: must have 1 or 2 "
	                   "entries");
	body_init(&b);
	b.sec[1] = "deputy";
	expect_body(f, &b, "encompass.secondary_contacts[1]: duplicate entry");
	b.sec[1] = "la-education-and-more";
	expect_body(f, &b, "encompass.secondary_contacts[1]: must be "
	                   "\"deputy\" or \"la-education\"");

	body_init(&b);
	b.oe.n_holiday_duty = 1;
	expect_body(f, &b, NULL);
	b.duty[0].agency = "";
	expect_body(f, &b,
	    "encompass.holiday_duty[0].agency: not a valid agency id");
	body_init(&b);
	b.oe.n_holiday_duty = 2;
	expect_body(f, &b, "encompass.holiday_duty[1].calendar: duplicate of "
	                   "holiday_duty[0]");
	b.duty[1].calendar = "1abc";
	expect_body(f, &b,
	    "encompass.holiday_duty[1].calendar: not a valid area id");
	body_init(&b);
	b.oe.n_holiday_duty = HAVEN_POLICY_DUTY_MAX + 1;
	expect_body(f, &b, "encompass.holiday_duty: more than 16 entries");

	body_init(&b);
	b.oe.offline_escalation_ms = 0;
	expect_body(f, &b, "encompass.offline_escalation_minutes: out of "
	                   "range [1, 10080]");
	b.oe.offline_escalation_ms = 10081LL * 60000;
	expect_body(f, &b, "encompass.offline_escalation_minutes: out of "
	                   "range [1, 10080]");
	b.oe.offline_escalation_ms = -60000;
	expect_body(f, &b, "encompass.offline_escalation_minutes: out of "
	                   "range [1, 10080]");
	b.oe.offline_escalation_ms = 90001;
	expect_body(f, &b, "encompass.offline_escalation_minutes: "
	                   "offline_escalation_ms is not whole minutes");

	/* an absent section means the defaults */
	body_init(&b);
	b.pp.encompass = NULL;
	b.pp.marac = NULL;
	expect_body(f, &b, NULL);
}

static void
test_signed_marac_refusals(void **state)
{
	struct fx *f = *state;
	struct body b;

	body_init(&b);
	b.mc.dash_auto = 25;
	expect_body(f, &b, "marac.dash_auto: out of range [0, 24]");
	b.mc.dash_auto = 0xffffffffu;
	expect_body(f, &b, "marac.dash_auto: out of range [0, 24]");
	body_init(&b);
	b.mc.dash_consent = 18;
	expect_body(f, &b, "marac.dash_consent: must be <= dash_auto");
	body_init(&b);
	b.mc.repeat_days = 0;
	expect_body(f, &b, "marac.repeat_days: out of range [1, 3660]");
	body_init(&b);
	b.mc.max_incident_age_days = 3661;
	expect_body(f, &b,
	    "marac.max_incident_age_days: out of range [1, 3660]");
	body_init(&b);
	b.mc.escalation_incidents = 0;
	expect_body(f, &b, "marac.escalation_incidents: out of range [1, 100]");
	body_init(&b);
	b.mc.meeting_days = 0;
	expect_body(f, &b,
	    "marac.meeting_days: must name 1..7 distinct days MON..SUN");
	b.mc.meeting_days = 0x80;
	expect_body(f, &b,
	    "marac.meeting_days: must name 1..7 distinct days MON..SUN");
	b.mc.meeting_days = 0x100 | 0x01;
	expect_body(f, &b,
	    "marac.meeting_days: must name 1..7 distinct days MON..SUN");
	body_init(&b);
	b.mc.meeting_minute = 1440;
	expect_body(f, &b,
	    "marac.meeting_time: must be \"HH:MM\" (00:00-23:59)");
	b.mc.meeting_minute = 1439;
	expect_body(f, &b, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values_round_trip),
		cmocka_unit_test(test_json_refusals),
		cmocka_unit_test(test_signed_encompass_refusals),
		cmocka_unit_test(test_signed_marac_refusals),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
