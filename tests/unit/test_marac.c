/*
 * tests/unit/test_marac.c: MARAC referrals (M5), the record of sharing
 * without consent (M6), the criteria R9-R12, incident age, input limits,
 * and the broker's header check (haven_marac_check_header), every branch.
 *
 * Inputs are the fixtures in tests/fixtures/marac (scenarios 4 and 5 of
 * domain.md section 6), mutated one field at a time. Every refusal is
 * checked for its code, the field it names and the rule its reason starts
 * with, and that neither field nor reason repeats a personal value.
 * Messages in tests/unit/test_marac_msgs.c cover M7-M14 and decoding.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "marac.pb-c.h"
#include "marac_tu.h"

#define REF HAVEN_MSG_MARAC_REFERRAL
#define GP "gp.riverside"
#define HSG "housing.cambs"

bool haven__marac_schemas_ok(void); /* lib/marac_schema.c (internal) */

static void
test_schemas(void **state)
{
	(void) state;
	assert_true(haven__marac_schemas_ok());
}

/* ---------------------------------------------------- scenario 4 */

/* The consent edit: consent given, so no reason and no M6 record. */
#define CONSENT_YES { "consent.given", "true" }, \
	{ "consent.reason_if_not", NULL }, { "m6", NULL }

/* Scenarios 4 (GP, DASH 18, no consent) and 5 (housing, DASH 15) as
 * first written: refused, naming R9 and R10. */
static const struct tu_case scenario_refusals[] = {
	{ "scenario4-gp-referral.json", GP, NULL, { { NULL } },
	  HAVEN_EVALIDATE, "m6", "R9: DASH 17 or more without consent needs "
	  "the M6 record", NULL, 0, "Dana" },
	{ "scenario5-housing-dash15.json", HSG, NULL, { { NULL } },
	  HAVEN_EVALIDATE, "consent.given", "R10: DASH 14-16 needs consent "
	  "or professional judgement", NULL, 0, NULL },
};

static void
test_scenario_refusals(void **state)
{
	(void) state;
	TU_RUN(REF, scenario_refusals);
}

static void
test_s4_accepted_with_m6(void **state)
{
	struct tu_res r;
	haven_marac_msg *m;
	json_t *j;

	(void) state;
	tu_build(&r, REF, "scenario4-gp-referral-m6.json", GP, NULL);
	tu_ok(&r);
	m = r.m;
	assert_int_equal(m->type, REF);
	assert_string_equal(m->case_ref, "MARAC-2026-0142");
	assert_string_equal(m->legal_basis, "UKGDPR-6-1-e+DPA2018-S1P18");
	assert_string_equal(m->purpose, "marac");
	tu_tag_is(m, "dash", "18");
	tu_tag_is(m, "consent", "no");
	tu_tag_is(m, "judgement", "no");
	tu_tag_is(m, "escalation", "no"); /* 2 incidents < 3 */
	tu_tag_is(m, "repeat", "no");
	tu_tag_is(m, "m6", "yes");
	assert_int_equal(m->n_tags, 6);
	assert_int_equal(m->n_subjects, 4);
	assert_string_equal(m->subjects[0].role, "victim");
	assert_string_equal(m->subjects[0].dob, "1990-04-11");
	assert_string_equal(m->subjects[1].role, "perpetrator");
	assert_string_equal(m->subjects[3].role, "child");
	assert_int_equal(m->occurred_ms, 1795214400000LL);
	assert_int_equal(m->n_views, 2);
	assert_string_equal(m->views[0].profile, "marac.referral");
	/* An envelope gives each recipient one view: the IDVA gets the
	 * referral, the coordinator the referral with its M6 record. */
	assert_int_equal(m->views[0].n_recipients, 1);
	assert_string_equal(m->views[0].recipients[0], "idva.cambs");
	assert_string_equal(m->views[1].profile, "marac.m6");
	assert_int_equal(m->views[1].n_recipients, 1);
	assert_string_equal(m->views[1].recipients[0], "marac.cambs");
	tu_roundtrip(m);
	j = tu_view_json(m, 0);
	assert_true(json_is_true(json_object_get(j, "m6_attached")));
	assert_null(json_object_get(j, "m6")); /* only in the MCO's view */
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "victim"), "name")), "Dana Example");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
	    "criteria"), "dash")), 18);
	json_decref(j);
	j = tu_view_json(m, 1); /* the referral, with the "m6" object */
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "victim"), "name")), "Dana Example");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "m6"), "case_ref")), "MARAC-2026-0142");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    json_object_get(j, "m6"), "lawful_basis"), "condition")),
	    "UKGDPR-9-2-g+DPA2018-S1P18");
	json_decref(j);
	haven_marac_msg_free(&r.m);
	assert_null(r.m);
	haven_marac_msg_free(&r.m); /* NULL-tolerant */
	haven_marac_msg_free(NULL);
}

/* The coordinator's view must hold its referral's own M6 record. */
static void
test_s4_mco_view_forged(void **state)
{
	struct tu_res r;
	Haven__MaracReferralM6 *b;
	uint8_t *buf;
	size_t n;
	char *js = NULL;

	(void) state;
	tu_build(&r, REF, "scenario4-gp-referral-m6.json", GP, NULL);
	tu_ok(&r);
	b = haven__marac_referral_m6__unpack(NULL, r.m->views[1].payload_len,
	    r.m->views[1].payload);
	assert_non_null(b);
	buf = malloc(r.m->views[1].payload_len + 64);
	assert_non_null(buf);
	b->m6->case_ref[0] = 'X'; /* another case's record */
	n = haven__marac_referral_m6__pack(b, buf);
	assert_int_equal(haven_marac_payload_to_json(REF, "marac.m6", buf, n,
	    &js), HAVEN_EINVAL);
	b->m6->case_ref[0] = 'M';
	b->referral->m6_attached = false;
	n = haven__marac_referral_m6__pack(b, buf);
	assert_int_equal(haven_marac_payload_to_json(REF, "marac.m6", buf, n,
	    &js), HAVEN_EINVAL);
	b->referral->m6_attached = true;
	n = haven__marac_referral_m6__pack(b, buf);
	assert_int_equal(haven_marac_payload_to_json(REF, "marac.m6", buf, n,
	    &js), HAVEN_OK);
	free(js);
	js = NULL;
	b->referral->consent->given = true; /* and an M6 record: no */
	n = haven__marac_referral_m6__pack(b, buf);
	assert_int_equal(haven_marac_payload_to_json(REF, "marac.m6", buf, n,
	    &js), HAVEN_EINVAL);
	assert_null(js);
	free(buf);
	haven__marac_referral_m6__free_unpacked(b, NULL);
	haven_marac_msg_free(&r.m);
}

/* ---------------------------------------------------- scenario 5 */

static void
test_s5_judgement_m6_accepted(void **state)
{
	struct tu_res r;
	haven_header h;
	haven_policy_decision d;

	(void) state;
	tu_build(&r, REF, "scenario5-housing-judgement-m6.json", HSG, NULL);
	tu_ok(&r);
	tu_tag_is(r.m, "dash", "15");
	tu_tag_is(r.m, "judgement", "yes");
	tu_tag_is(r.m, "m6", "yes");
	assert_int_equal(r.m->n_subjects, 2);
	tu_roundtrip(r.m);
	tu_header(r.m, &h);
	assert_int_equal(haven_marac_check_header(NULL, &h, tu_now, &d),
	    HAVEN_OK);
	assert_true(d.allow);
	assert_string_equal(d.rule, "R11");
	haven_marac_msg_free(&r.m);
}

/* ------------------------------------------------------- criteria */

#define S4 "scenario4-gp-referral-m6.json"
#define S5 "scenario5-housing-judgement-m6.json"

static const struct tu_case criteria[] = {
	{ S5, HSG, NULL, { { "criteria.judgement", "{\"rationale\": \"\"}" } },
	  HAVEN_EVALIDATE, "criteria.judgement.rationale", "R11: professional "
	  "judgement needs a written rationale", NULL, 0, NULL },
	{ S5, HSG, NULL, { { "m6", NULL } }, HAVEN_EVALIDATE, "m6",
	  "R11: professional judgement without consent needs the M6 record",
	  NULL, 0, NULL },
	/* potential escalation counts as judgement */
	{ S4, GP, NULL, { CONSENT_YES, { "criteria.dash", "10" },
	  { "criteria.escalation", "{\"incidents_12m\": 3}" } }, HAVEN_OK,
	  NULL, NULL, "escalation=yes consent=yes m6=no", 1, NULL },
	{ S4, GP, NULL, { CONSENT_YES, { "criteria.dash", "10" },
	  { "criteria.escalation", "{\"incidents_12m\": 2}" } },
	  HAVEN_EVALIDATE, "criteria", "R9-R11: does not meet the MARAC "
	  "criteria", NULL, 0, NULL },
	/* R12: a repeat at any score */
	{ S4, GP, NULL, { CONSENT_YES, { "criteria.dash", "5" },
	  { "criteria.repeat", "{\"previous_marac_date\": \"2026-06-01\"}" } },
	  HAVEN_OK, NULL, NULL, "repeat=yes", 0, NULL },
	{ S4, GP, NULL, { { "criteria.dash", "5" }, { "m6", NULL },
	  { "criteria.repeat", "{\"previous_marac_date\": \"2026-06-01\"}" } },
	  HAVEN_EVALIDATE, "m6", "R12: a repeat referral without consent "
	  "needs the M6 record", NULL, 0, NULL },
	{ S4, GP, NULL, { CONSENT_YES, { "criteria.dash", "5" },
	  { "criteria.repeat", "{\"previous_marac_date\": \"2025-11-01\"}" } },
	  HAVEN_EVALIDATE, "criteria.repeat.previous_marac_date",
	  "R12: more than 365 days ago", NULL, 0, NULL },
	{ S4, GP, NULL, { CONSENT_YES, { "criteria.dash", "10" } },
	  HAVEN_EVALIDATE, "criteria", "R9-R11", NULL, 0, NULL },
	{ S5, HSG, NULL, { { "criteria.dash", "null" } }, HAVEN_OK, NULL,
	  NULL, "dash=none", 0, NULL },
	{ S4, GP, NULL, { CONSENT_YES, { "criteria.dash", "null" },
	  { "criteria.escalation", NULL } }, HAVEN_EVALIDATE, "criteria",
	  "R9-R11", NULL, 0, NULL },
};

static void
test_criteria(void **state)
{
	(void) state;
	TU_RUN(REF, criteria);
}

/* Thresholds come from the policy: DASH 16 is automatic at 16. */
static void
test_thresholds_configurable(void **state)
{
	haven_policy_marac cfg = { 16, 12, 365, 92, 5, 0x15, 600 };
	json_t *j = tu_fixture("scenario5-housing-dash15.json");
	struct tu_res r;

	(void) state;
	tu_build_json(&r, REF, j, HSG, &cfg); /* 15 in [12,16): R10 */
	tu_expect(&r, HAVEN_EVALIDATE, "consent.given", "R10: DASH 12-15");
	json_object_set_new(json_object_get(j, "criteria"), "dash",
	    json_integer(16));
	tu_build_json(&r, REF, j, HSG, &cfg);
	tu_expect(&r, HAVEN_EVALIDATE, "m6", "R9: DASH 16 or more");
	json_decref(j);
}

/* ------------------------------------------- age, time, recipients */

static const struct tu_case refusals[] = {
	{ "bad-referral-old-incident.json", GP, NULL, { { NULL } },
	  HAVEN_EVALIDATE, "incident.occurred_at", "M5-age: the incident is "
	  "more than 92 days old", NULL, 0, NULL },
	{ S4, GP, NULL, { { "incident.occurred_at",
	  "\"2026-11-23T09:30:00Z\"" } }, HAVEN_EINVAL, "incident.occurred_at",
	  "in the future", NULL, 0, NULL },
	{ S4, GP, NULL, { { "victim.dob", "\"2010-12-01\"" } },
	  HAVEN_EVALIDATE, "victim.dob", "M5: a MARAC victim is 16 or over",
	  NULL, 0, "2010" },
	{ S4, GP, NULL, { { "consent.given", "true" } }, HAVEN_EINVAL, "m6",
	  "only when consent is not given", NULL, 0, NULL },
	{ S4, GP, NULL, { { "to", "[\"marac.cambs\"]" } }, HAVEN_EVALIDATE,
	  "to", "R9: a referral goes to the IDVA", NULL, 0, NULL },
	{ S4, GP, NULL, { { "to[]", "\"housing.cambs\"" } }, HAVEN_EVALIDATE,
	  "to[2]", "R9: a referral goes to", NULL, 0, NULL },
	{ S4, GP, NULL, { { "to[0]", "\"idva.old\"" } }, HAVEN_EINVAL,
	  "to[0]", "not an active agency", NULL, 0, NULL },
	{ S4, GP, NULL, { { "to[]", "\"idva.cambs\"" } }, HAVEN_EINVAL,
	  "to[2]", "named twice", NULL, 0, NULL },
	{ S4, GP, NULL, { { "referrer.agency", "\"police.cambs\"" } },
	  HAVEN_EINVAL, "referrer.agency", "must be the sending", NULL, 0,
	  NULL },
	{ S4, "refuge.nowhere", NULL, { { NULL } }, HAVEN_EINVAL, "",
	  "the sender is not an active agency", NULL, 0, NULL },
	{ S4, GP, NULL, { { "m6.lawful_basis.article6",
	  "\"DPA2018-PART3\"" } }, HAVEN_EINVAL, "m6.lawful_basis.condition",
	  "DPA2018-PART3 goes with DPA2018-S8P4", NULL, 0, NULL },
	{ S4, GP, NULL, { { "m6.lawful_basis.article6", "\"DPA2018-PART3\"" },
	  { "m6.lawful_basis.condition", "\"DPA2018-S8P4\"" } }, HAVEN_OK,
	  NULL, NULL, NULL, 0, NULL },
};

static void
test_refusals(void **state)
{
	(void) state;
	TU_RUN(REF, refusals);
}

/* ---------------------------------------------------------- limits */

static void
victim_name_of(json_t *j, size_t len)
{
	char name[200];

	memset(name, 'Z', len);
	name[len] = '\0';
	json_object_set_new(json_object_get(j, "victim"), "name",
	    json_string(name));
}

static void
e_long_name(json_t *j)
{
	victim_name_of(j, 128);
}

static void
e_name_127(json_t *j)
{
	victim_name_of(j, 127);
}

static void
e_seven_children(json_t *j)
{
	json_t *kids = json_object_get(j, "children");

	while (json_array_size(kids) < 7) {
		json_array_append(kids, json_array_get(kids, 0));
	}
}

/* 24 DASH answers, 17 of them yes (the fixture's dash is 18). */
static void
e_answers(json_t *j)
{
	json_t *a = json_array();

	for (int i = 0; i < 24; i++) {
		json_array_append_new(a, json_string(i < 17 ? "yes" : "no"));
	}
	json_object_set_new(json_object_get(j, "criteria"), "dash_answers", a);
}

static const struct tu_case limits[] = {
	{ S4, GP, e_long_name, { { NULL } }, HAVEN_EINVAL, "victim.name",
	  "longer than 127 bytes", NULL, 0, "ZZZ" },
	{ S4, GP, e_name_127, { { NULL } }, HAVEN_OK, NULL, NULL, NULL, 0,
	  NULL },
	{ S4, GP, NULL, { { "victim.aliases",
	  "[\"a\", \"b\", \"c\", \"d\", \"e\"]" } }, HAVEN_EINVAL,
	  "victim.aliases", "more than 4 entries", NULL, 0, NULL },
	{ S4, GP, e_seven_children, { { NULL } }, HAVEN_EINVAL, "children",
	  "more than 6 entries", NULL, 0, NULL },
	{ S4, GP, NULL, { { "victim.nickname", "\"Secret Name\"" } },
	  HAVEN_EINVAL, "victim.nickname", "unknown field", NULL, 0,
	  "Secret" },
	{ S4, GP, NULL, { { "victim.name", "\"Dana\\u001b[2JExample\"" } },
	  HAVEN_EINVAL, "victim.name", "contains control", NULL, 0, "Dana" },
	{ S4, GP, NULL, { { "criteria.dash", "25" } }, HAVEN_EINVAL,
	  "criteria.dash", "out of range [0, 24]", NULL, 0, NULL },
	{ S4, GP, NULL, { { "criteria.dash", "\"18\"" } }, HAVEN_EINVAL,
	  "criteria.dash", "must be an integer", NULL, 0, NULL },
	{ S4, GP, e_answers, { { NULL } }, HAVEN_EINVAL,
	  "criteria.dash_answers", "the number of yes answers differs from "
	  "dash", NULL, 0, NULL },
	{ S4, GP, e_answers, { { "criteria.dash_answers[3]", "\"maybe\"" } },
	  HAVEN_EINVAL, "criteria.dash_answers[3]", "must be one of "
	  "yes|no|not-known", NULL, 0, "maybe" },
	{ S4, GP, e_answers, { { "criteria.dash_answers[0]", NULL } },
	  HAVEN_EINVAL, "criteria.dash_answers", "must hold all 24 answers "
	  "or none", NULL, 0, NULL },
	{ S4, GP, NULL, { { "victim", NULL } }, HAVEN_EINVAL, "victim",
	  "missing", NULL, 0, NULL },
	{ S4, GP, NULL, { { "case_ref", "\"MARAC 2026\"" } }, HAVEN_EINVAL,
	  "case_ref", "must be printable ASCII", NULL, 0, NULL },
	{ S4, GP, NULL, { { "victim.dob", "\"1990-02-30\"" } }, HAVEN_EINVAL,
	  "victim.dob", "not a valid YYYY-MM-DD", NULL, 0, "1990" },
	{ S4, GP, NULL, { { "children[0].school", "\"Riverside Primary\"" } },
	  HAVEN_EINVAL, "children[0].school", "not a valid agency", NULL, 0,
	  "Riverside" },
};

static void
test_limits(void **state)
{
	(void) state;
	TU_RUN(REF, limits);
}

static void
test_bad_arguments(void **state)
{
	haven_marac_msg *m = NULL;
	char f[64], w[128];
	const char *big;
	char *huge;

	(void) state;
	assert_int_equal(haven_marac_from_json(REF, "{}", 2, GP, NULL, NULL,
	    tu_now, &m, f, sizeof(f), w, sizeof(w)), HAVEN_EINVAL);
	assert_int_equal(haven_marac_from_json(REF, "{}", 2, GP, tu_dir, NULL,
	    tu_now, NULL, f, sizeof(f), w, sizeof(w)), HAVEN_EINVAL);
	assert_int_equal(haven_marac_from_json(HAVEN_MSG_OE_NOTIFICATION, "{}",
	    2, GP, tu_dir, NULL, tu_now, &m, f, sizeof(f), w, sizeof(w)),
	    HAVEN_EINVAL);
	assert_int_equal(haven_marac_from_json(REF, "[1]", 3, GP, tu_dir, NULL,
	    tu_now, &m, f, sizeof(f), w, sizeof(w)), HAVEN_EINVAL);
	big = "{\"case_ref\": \"Dana";
	assert_int_equal(haven_marac_from_json(REF, big, strlen(big), GP,
	    tu_dir, NULL, tu_now, &m, f, sizeof(f), w, sizeof(w)),
	    HAVEN_EINVAL);
	assert_null(strstr(w, "Dana"));
	huge = calloc(1, HAVEN_JSON_MAX + 2);
	assert_non_null(huge);
	memset(huge, ' ', HAVEN_JSON_MAX + 1);
	assert_int_equal(haven_marac_from_json(REF, huge, HAVEN_JSON_MAX + 1,
	    GP, tu_dir, NULL, tu_now, &m, f, sizeof(f), w, sizeof(w)),
	    HAVEN_EMSGSIZE);
	free(huge);
	assert_null(m);
}

/* ------------------------------------------------ M6 on its own */

static void
test_m6_standalone(void **state)
{
	struct tu_res r;

	(void) state;
	tu_build(&r, HAVEN_MSG_INFO_SHARED_WITHOUT_CONSENT,
	    "m6-standalone.json", "idva.cambs", NULL);
	tu_ok(&r);
	assert_string_equal(r.m->case_ref, "MARAC-2026-0142");
	tu_tag_is(r.m, "consent", "no");
	tu_tag_is(r.m, "m6", "yes");
	assert_int_equal(r.m->n_views, 1);
	assert_string_equal(r.m->views[0].profile, "marac.m6");
	tu_roundtrip(r.m);
	haven_marac_msg_free(&r.m);
}

static const struct tu_case m6_refusals[] = {
	{ "m6-standalone.json", "idva.cambs", NULL,
	  { { "to", "[\"idva.cambs\"]" } }, HAVEN_EVALIDATE, "to[0]", "R9-R11",
	  NULL, 0, NULL },
	{ "m6-standalone.json", "idva.cambs", NULL, { { "dash", "3" } },
	  HAVEN_EINVAL, "dash", "unknown field", NULL, 0, NULL },
	{ "m6-standalone.json", "idva.cambs", NULL, { { "m6", NULL } },
	  HAVEN_EINVAL, "m6", "missing", NULL, 0, NULL },
	{ "m6-standalone.json", "idva.cambs", NULL,
	  { { "m6.necessity", NULL } }, HAVEN_EINVAL, "m6.necessity",
	  "missing", NULL, 0, NULL },
};

static void
test_m6_refusals(void **state)
{
	(void) state;
	TU_RUN(HAVEN_MSG_INFO_SHARED_WITHOUT_CONSENT, m6_refusals);
}

/* ------------------------------------------ broker header checks */

static haven_marac_msg *ref_msg; /* scenario 4 with M6 */

static void
ref_header(haven_header *h)
{
	if (ref_msg == NULL) {
		struct tu_res r;

		tu_build(&r, REF, "scenario4-gp-referral-m6.json", GP, NULL);
		tu_ok(&r);
		ref_msg = r.m;
	}
	tu_header(ref_msg, h);
}

static void
test_header_referral(void **state)
{
	haven_header h;
	haven_policy_decision d;
	haven_policy_marac cfg;

	(void) state;
	ref_header(&h);
	assert_int_equal(haven_marac_check_header(NULL, &h, tu_now, &d),
	    HAVEN_OK);
	assert_true(d.allow);
	assert_string_equal(d.rule, "R9");
	memset(&cfg, 0, sizeof(cfg));
	cfg.dash_auto = 19, cfg.dash_consent = 14;
	cfg.max_incident_age_days = 92, cfg.repeat_days = 365;
	cfg.escalation_incidents = 3;
	/* 18 < 19: R10 needs consent (m6 does not help) */
	assert_int_equal(haven_marac_check_header(&cfg, &h, tu_now, &d),
	    HAVEN_EPOLICY);
	assert_string_equal(d.rule, "R10");
	h.occurred_ms = 0;
	tu_deny_is(&h, "M5-age", "the incident time is missing");
	h.occurred_ms = tu_now + 3600000;
	tu_deny_is(&h, "M5-age", "the incident time is in the future");
	h.occurred_ms = tu_now - 93LL * 86400000;
	tu_deny_is(&h, "M5-age", "the incident is more than 92 days old");
	h.occurred_ms = tu_now - 92LL * 86400000;
	assert_int_equal(haven_marac_check_header(NULL, &h, tu_now, &d),
	    HAVEN_OK);
	ref_header(&h);
	tu_set_tag(&h, "m6", "no");
	tu_deny_is(&h, "R9", "R9: DASH 17 or more without consent");
	tu_set_tag(&h, "consent", "yes");
	tu_deny_is(&h, "header", "a marac.m6 view needs tag m6=yes");
	ref_header(&h);
	h.n_views = 1; /* m6=yes but the M6 view is gone */
	tu_deny_is(&h, "R9", "R9: the M6 record (view marac.m6) is missing");
	ref_header(&h);
	(void) snprintf(h.views[0].profile, sizeof(h.views[0].profile),
	    "marac.m6");
	tu_deny_is(&h, "header", "no marac.referral view");
}

static void
test_header_tags(void **state)
{
	static const char *const bad_dash[] = { "018", "25", "-1", "x", "",
		"1 8", "none1", NULL };
	static const char *const keys[] = { "dash", "consent", "judgement",
		"escalation", "repeat", "m6", NULL };
	haven_header h;
	haven_policy_decision d;

	(void) state;
	for (size_t i = 0; bad_dash[i] != NULL; i++) {
		ref_header(&h);
		tu_set_tag(&h, "dash", bad_dash[i]);
		tu_deny_is(&h, "header", "tag dash missing or malformed");
	}
	for (size_t i = 0; keys[i] != NULL; i++) {
		char want[64];

		(void) snprintf(want, sizeof(want), "tag %s missing", keys[i]);
		ref_header(&h);
		tu_set_tag(&h, keys[i], NULL);
		tu_deny_is(&h, "header", want);
		if (i > 0) {
			tu_set_tag(&h, keys[i], "YES");
			tu_deny_is(&h, "header", want);
		}
	}
	ref_header(&h);
	tu_set_tag(&h, "dash", "none");
	tu_set_tag(&h, "judgement", "yes");
	assert_int_equal(haven_marac_check_header(NULL, &h, tu_now, &d),
	    HAVEN_OK);
	assert_string_equal(d.rule, "R11");
	h.tags[h.n_tags] = h.tags[0];
	h.n_tags++;
	tu_deny_is(&h, "header", "duplicate tag");
	ref_header(&h);
	h.has_case = false;
	tu_deny_is(&h, "header", "a MARAC or panel message needs a case");
	ref_header(&h);
	(void) snprintf(h.purpose, sizeof(h.purpose), "dapp");
	tu_deny_is(&h, "R18", "purpose must be marac");
	ref_header(&h);
	(void) snprintf(h.views[1].profile, sizeof(h.views[1].profile),
	    "dapp.bundle");
	tu_deny_is(&h, "header", "a view's profile does not fit");
	ref_header(&h);
	h.n_tags = HAVEN_MAX_TAGS + 1;
	tu_deny_is(&h, "header", "counts over the limits");
}

static void
test_header_args(void **state)
{
	haven_header h;
	haven_policy_decision d;

	(void) state;
	memset(&h, 0, sizeof(h));
	h.type = HAVEN_MSG_OE_NOTIFICATION; /* not ours: allowed here */
	assert_int_equal(haven_marac_check_header(NULL, &h, tu_now, &d),
	    HAVEN_OK);
	assert_true(d.allow);
	h.type = 15; /* the audit event is not routed: not ours either */
	assert_int_equal(haven_marac_check_header(NULL, &h, tu_now, &d),
	    HAVEN_OK);
	assert_int_equal(haven_marac_check_header(NULL, NULL, tu_now, &d),
	    HAVEN_EINVAL);
	assert_int_equal(haven_marac_check_header(NULL, &h, tu_now, NULL),
	    HAVEN_EINVAL);
	h.type = HAVEN_MSG_MARAC_CASE_LIST; /* nothing at all */
	assert_int_equal(haven_marac_check_header(NULL, &h, tu_now, &d),
	    HAVEN_EPOLICY);
	assert_false(d.allow);
}

static int
teardown(void **state)
{
	haven_marac_msg_free(&ref_msg);
	return (tu_teardown(state));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schemas),
		cmocka_unit_test(test_scenario_refusals),
		cmocka_unit_test(test_s4_accepted_with_m6),
		cmocka_unit_test(test_s4_mco_view_forged),
		cmocka_unit_test(test_s5_judgement_m6_accepted),
		cmocka_unit_test(test_criteria),
		cmocka_unit_test(test_thresholds_configurable),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_m6_standalone),
		cmocka_unit_test(test_m6_refusals),
		cmocka_unit_test(test_header_referral),
		cmocka_unit_test(test_header_tags),
		cmocka_unit_test(test_header_args),
	};

	return (cmocka_run_group_tests(tests, tu_setup, teardown));
}
