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

static void
test_s4_refused_without_m6(void **state)
{
	struct tu_res r;

	(void) state;
	tu_build(&r, REF, "scenario4-gp-referral.json", GP, NULL);
	tu_expect(&r, HAVEN_EVALIDATE, "m6", "R9: DASH 17 or more without "
	    "consent needs the M6 record");
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
test_s5_dash15_refused_r10(void **state)
{
	struct tu_res r;

	(void) state;
	tu_build(&r, REF, "scenario5-housing-dash15.json", HSG, NULL);
	tu_expect(&r, HAVEN_EVALIDATE, "consent.given", "R10: DASH 14-16 "
	    "needs consent or professional judgement");
}

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

/* ------------------------------------------------- criteria edits */

static json_t *
crit(json_t *j)
{
	return (json_object_get(j, "criteria"));
}

static void
e_consent_yes(json_t *j)
{
	json_t *c = json_object_get(j, "consent");

	json_object_set_new(c, "given", json_true());
	json_object_del(c, "reason_if_not");
	json_object_del(j, "m6");
}

static void
e_judgement_empty(json_t *j)
{
	json_object_set_new(crit(j), "judgement",
	    json_pack("{s:s}", "rationale", ""));
}

static void
e_judgement_no_m6(json_t *j)
{
	json_object_del(j, "m6");
}

static void
e_escalation3(json_t *j)
{
	e_consent_yes(j);
	json_object_set_new(crit(j), "dash", json_integer(10));
	json_object_set_new(crit(j), "escalation",
	    json_pack("{s:i}", "incidents_12m", 3));
}

static void
e_escalation2(json_t *j)
{
	e_escalation3(j);
	json_object_set_new(crit(j), "escalation",
	    json_pack("{s:i}", "incidents_12m", 2));
}

static void
e_repeat(json_t *j)
{
	e_consent_yes(j);
	json_object_set_new(crit(j), "dash", json_integer(5));
	json_object_set_new(crit(j), "repeat",
	    json_pack("{s:s}", "previous_marac_date", "2026-06-01"));
}

static void
e_repeat_no_consent(json_t *j)
{
	json_object_set_new(crit(j), "dash", json_integer(5));
	json_object_set_new(crit(j), "repeat",
	    json_pack("{s:s}", "previous_marac_date", "2026-06-01"));
	json_object_del(j, "m6");
}

static void
e_repeat_old(json_t *j)
{
	e_repeat(j);
	json_object_set_new(crit(j), "repeat",
	    json_pack("{s:s}", "previous_marac_date", "2025-11-01"));
}

static void
e_dash10(json_t *j)
{
	e_consent_yes(j);
	json_object_set_new(crit(j), "dash", json_integer(10));
}

static void
e_dash_null_judgement(json_t *j)
{
	json_object_set_new(crit(j), "dash", json_null());
}

static void
e_dash_null(json_t *j)
{
	e_consent_yes(j);
	json_object_set_new(crit(j), "dash", json_null());
	json_object_del(crit(j), "escalation");
}

static void
test_criteria(void **state)
{
	const char *s5 = "scenario5-housing-judgement-m6.json";
	const char *s4 = "scenario4-gp-referral-m6.json";
	struct tu_res r;

	(void) state;
	tu_build(&r, REF, s5, HSG, e_judgement_empty);
	tu_expect(&r, HAVEN_EVALIDATE, "criteria.judgement.rationale",
	    "R11: professional judgement needs a written rationale");
	tu_build(&r, REF, s5, HSG, e_judgement_no_m6);
	tu_expect(&r, HAVEN_EVALIDATE, "m6", "R11: professional judgement "
	    "without consent needs the M6 record");
	tu_build(&r, REF, s4, GP, e_escalation3); /* escalation ~ judgement */
	tu_ok(&r);
	tu_tag_is(r.m, "escalation", "yes");
	tu_tag_is(r.m, "consent", "yes");
	tu_tag_is(r.m, "m6", "no");
	assert_int_equal(r.m->n_views, 1);
	tu_roundtrip(r.m);
	haven_marac_msg_free(&r.m);
	tu_build(&r, REF, s4, GP, e_escalation2);
	tu_expect(&r, HAVEN_EVALIDATE, "criteria",
	    "R9-R11: does not meet the MARAC criteria");
	tu_build(&r, REF, s4, GP, e_repeat); /* R12 at any score */
	tu_ok(&r);
	tu_tag_is(r.m, "repeat", "yes");
	tu_roundtrip(r.m);
	haven_marac_msg_free(&r.m);
	tu_build(&r, REF, s4, GP, e_repeat_no_consent);
	tu_expect(&r, HAVEN_EVALIDATE, "m6", "R12: a repeat referral without "
	    "consent needs the M6 record");
	tu_build(&r, REF, s4, GP, e_repeat_old);
	tu_expect(&r, HAVEN_EVALIDATE, "criteria.repeat.previous_marac_date",
	    "R12: more than 365 days ago");
	tu_build(&r, REF, s4, GP, e_dash10);
	tu_expect(&r, HAVEN_EVALIDATE, "criteria", "R9-R11");
	tu_build(&r, REF, s5, HSG, e_dash_null_judgement);
	tu_ok(&r);
	tu_tag_is(r.m, "dash", "none");
	tu_roundtrip(r.m);
	haven_marac_msg_free(&r.m);
	tu_build(&r, REF, s4, GP, e_dash_null);
	tu_expect(&r, HAVEN_EVALIDATE, "criteria", "R9-R11");
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

static void
e_future(json_t *j)
{
	json_object_set_new(json_object_get(j, "incident"), "occurred_at",
	    json_string("2026-11-23T09:30:00Z"));
}

static void
e_victim15(json_t *j)
{
	json_object_set_new(json_object_get(j, "victim"), "dob",
	    json_string("2010-12-01"));
}

static void
e_consent_given_with_m6(json_t *j)
{
	json_object_set_new(json_object_get(j, "consent"), "given",
	    json_true());
}

static void
e_to_no_idva(json_t *j)
{
	json_object_set_new(j, "to", json_pack("[s]", "marac.cambs"));
}

static void
e_to_housing(json_t *j)
{
	json_object_set_new(j, "to", json_pack("[s,s,s]", "idva.cambs",
	    "marac.cambs", "housing.cambs"));
}

static void
e_to_revoked(json_t *j)
{
	json_object_set_new(j, "to", json_pack("[s,s]", "idva.old",
	    "marac.cambs"));
}

static void
e_to_twice(json_t *j)
{
	json_object_set_new(j, "to", json_pack("[s,s,s]", "idva.cambs",
	    "marac.cambs", "idva.cambs"));
}

static void
e_referrer_other(json_t *j)
{
	json_object_set_new(json_object_get(j, "referrer"), "agency",
	    json_string("police.cambs"));
}

static void
e_part3_mismatch(json_t *j)
{
	json_object_set_new(json_object_get(json_object_get(j, "m6"),
	    "lawful_basis"), "article6", json_string("DPA2018-PART3"));
}

static void
e_part3_ok(json_t *j)
{
	json_t *b = json_object_get(json_object_get(j, "m6"), "lawful_basis");

	json_object_set_new(b, "article6", json_string("DPA2018-PART3"));
	json_object_set_new(b, "condition", json_string("DPA2018-S8P4"));
}

static void
test_refusals(void **state)
{
	const char *s4 = "scenario4-gp-referral-m6.json";
	struct tu_res r;

	(void) state;
	tu_build(&r, REF, "bad-referral-old-incident.json", GP, NULL);
	tu_expect(&r, HAVEN_EVALIDATE, "incident.occurred_at",
	    "M5-age: the incident is more than 92 days old");
	tu_build(&r, REF, s4, GP, e_future);
	tu_expect(&r, HAVEN_EINVAL, "incident.occurred_at", "in the future");
	tu_build(&r, REF, s4, GP, e_victim15);
	tu_expect(&r, HAVEN_EVALIDATE, "victim.dob", "M5: a MARAC victim is "
	    "16 or over");
	tu_build(&r, REF, s4, GP, e_consent_given_with_m6);
	tu_expect(&r, HAVEN_EINVAL, "m6", "only when consent is not given");
	tu_build(&r, REF, s4, GP, e_to_no_idva);
	tu_expect(&r, HAVEN_EVALIDATE, "to", "R9: a referral goes to the IDVA");
	tu_build(&r, REF, s4, GP, e_to_housing);
	tu_expect(&r, HAVEN_EVALIDATE, "to[2]", "R9: a referral goes to");
	tu_build(&r, REF, s4, GP, e_to_revoked);
	tu_expect(&r, HAVEN_EINVAL, "to[0]", "not an active agency");
	tu_build(&r, REF, s4, GP, e_to_twice);
	tu_expect(&r, HAVEN_EINVAL, "to[2]", "named twice");
	tu_build(&r, REF, s4, GP, e_referrer_other);
	tu_expect(&r, HAVEN_EINVAL, "referrer.agency", "must be the sending");
	tu_build(&r, REF, s4, "refuge.nowhere", NULL);
	tu_expect(&r, HAVEN_EINVAL, "", "the sender is not an active agency");
	tu_build(&r, REF, s4, GP, e_part3_mismatch);
	tu_expect(&r, HAVEN_EINVAL, "m6.lawful_basis.condition",
	    "DPA2018-PART3 goes with DPA2018-S8P4");
	tu_build(&r, REF, s4, GP, e_part3_ok);
	tu_ok(&r);
	haven_marac_msg_free(&r.m);
}

/* ---------------------------------------------------------- limits */

static char long_name[200];

static void
e_long_name(json_t *j)
{
	memset(long_name, 'Z', 128);
	long_name[128] = '\0';
	json_object_set_new(json_object_get(j, "victim"), "name",
	    json_string(long_name));
}

static void
e_name_127(json_t *j)
{
	memset(long_name, 'Z', 127);
	long_name[127] = '\0';
	json_object_set_new(json_object_get(j, "victim"), "name",
	    json_string(long_name));
}

static void
e_five_aliases(json_t *j)
{
	json_object_set_new(json_object_get(j, "victim"), "aliases",
	    json_pack("[s,s,s,s,s]", "a", "b", "c", "d", "e"));
}

static void
e_seven_children(json_t *j)
{
	json_t *kids = json_object_get(j, "children");
	json_t *c = json_object_get(json_array_get(kids, 0), "name");

	(void) c;
	while (json_array_size(kids) < 7) {
		json_array_append(kids, json_array_get(kids, 0));
	}
}

static void
e_unknown(json_t *j)
{
	json_object_set_new(json_object_get(j, "victim"), "nickname",
	    json_string("Secret Name"));
}

static void
e_control(json_t *j)
{
	json_object_set_new(json_object_get(j, "victim"), "name",
	    json_string("Dana\x1b[2JExample"));
}

static void
e_dash25(json_t *j)
{
	json_object_set_new(crit(j), "dash", json_integer(25));
}

static void
e_dash_string(json_t *j)
{
	json_object_set_new(crit(j), "dash", json_string("18"));
}

static void
e_answers(json_t *j)
{
	json_t *a = json_array();

	for (int i = 0; i < 24; i++) {
		json_array_append_new(a, json_string(i < 17 ? "yes" : "no"));
	}
	json_object_set_new(crit(j), "dash_answers", a);
}

static void
e_answers_bad_value(json_t *j)
{
	e_answers(j);
	json_array_set_new(json_object_get(crit(j), "dash_answers"), 3,
	    json_string("maybe"));
}

static void
e_answers_short(json_t *j)
{
	e_answers(j);
	json_array_remove(json_object_get(crit(j), "dash_answers"), 0);
}

static void
e_no_victim(json_t *j)
{
	json_object_del(j, "victim");
}

static void
e_case_ref_space(json_t *j)
{
	json_object_set_new(j, "case_ref", json_string("MARAC 2026"));
}

static void
e_bad_dob(json_t *j)
{
	json_object_set_new(json_object_get(j, "victim"), "dob",
	    json_string("1990-02-30"));
}

static void
e_school_not_id(json_t *j)
{
	json_object_set_new(json_array_get(json_object_get(j, "children"), 0),
	    "school", json_string("Riverside Primary"));
}

static void
test_limits(void **state)
{
	const char *s4 = "scenario4-gp-referral-m6.json";
	struct tu_res r;

	(void) state;
	tu_build(&r, REF, s4, GP, e_long_name);
	tu_expect(&r, HAVEN_EINVAL, "victim.name", "longer than 127 bytes");
	assert_null(strstr(r.why, "ZZZ"));
	tu_build(&r, REF, s4, GP, e_name_127);
	tu_ok(&r);
	haven_marac_msg_free(&r.m);
	tu_build(&r, REF, s4, GP, e_five_aliases);
	tu_expect(&r, HAVEN_EINVAL, "victim.aliases", "more than 4 entries");
	tu_build(&r, REF, s4, GP, e_seven_children);
	tu_expect(&r, HAVEN_EINVAL, "children", "more than 6 entries");
	tu_build(&r, REF, s4, GP, e_unknown);
	tu_expect(&r, HAVEN_EINVAL, "victim.nickname", "unknown field");
	tu_build(&r, REF, s4, GP, e_control);
	tu_expect(&r, HAVEN_EINVAL, "victim.name", "contains control");
	assert_null(strstr(r.why, "Dana"));
	tu_build(&r, REF, s4, GP, e_dash25);
	tu_expect(&r, HAVEN_EINVAL, "criteria.dash", "out of range [0, 24]");
	tu_build(&r, REF, s4, GP, e_dash_string);
	tu_expect(&r, HAVEN_EINVAL, "criteria.dash", "must be an integer");
	tu_build(&r, REF, s4, GP, e_answers);
	tu_expect(&r, HAVEN_EINVAL, "criteria.dash_answers",
	    "the number of yes answers differs from dash");
	tu_build(&r, REF, s4, GP, e_answers_bad_value);
	tu_expect(&r, HAVEN_EINVAL, "criteria.dash_answers[3]",
	    "must be one of yes|no|not-known");
	tu_build(&r, REF, s4, GP, e_answers_short);
	tu_expect(&r, HAVEN_EINVAL, "criteria.dash_answers",
	    "must hold all 24 answers or none");
	tu_build(&r, REF, s4, GP, e_no_victim);
	tu_expect(&r, HAVEN_EINVAL, "victim", "missing");
	tu_build(&r, REF, s4, GP, e_case_ref_space);
	tu_expect(&r, HAVEN_EINVAL, "case_ref", "must be printable ASCII");
	tu_build(&r, REF, s4, GP, e_bad_dob);
	tu_expect(&r, HAVEN_EINVAL, "victim.dob", "not a valid YYYY-MM-DD");
	tu_build(&r, REF, s4, GP, e_school_not_id);
	tu_expect(&r, HAVEN_EINVAL, "children[0].school", "not a valid agency");
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
	tu_build(&r, HAVEN_MSG_INFO_SHARED_WITHOUT_CONSENT, "m6-standalone.json",
	    "idva.cambs", NULL);
	tu_ok(&r);
	assert_string_equal(r.m->case_ref, "MARAC-2026-0142");
	tu_tag_is(r.m, "consent", "no");
	tu_tag_is(r.m, "m6", "yes");
	assert_int_equal(r.m->n_views, 1);
	assert_string_equal(r.m->views[0].profile, "marac.m6");
	tu_roundtrip(r.m);
	haven_marac_msg_free(&r.m);
}

static void
e_m6_to_idva(json_t *j)
{
	json_object_set_new(j, "to", json_pack("[s]", "idva.cambs"));
}

static void
e_m6_extra(json_t *j)
{
	json_object_set_new(j, "dash", json_integer(3));
}

static void
e_m6_missing(json_t *j)
{
	json_object_del(j, "m6");
}

static void
e_m6_no_necessity(json_t *j)
{
	json_object_del(json_object_get(j, "m6"), "necessity");
}

static void
test_m6_refusals(void **state)
{
	const uint32_t t = HAVEN_MSG_INFO_SHARED_WITHOUT_CONSENT;
	struct tu_res r;

	(void) state;
	tu_build(&r, t, "m6-standalone.json", "idva.cambs", e_m6_to_idva);
	tu_expect(&r, HAVEN_EVALIDATE, "to[0]", "R9-R11");
	tu_build(&r, t, "m6-standalone.json", "idva.cambs", e_m6_extra);
	tu_expect(&r, HAVEN_EINVAL, "dash", "unknown field");
	tu_build(&r, t, "m6-standalone.json", "idva.cambs", e_m6_missing);
	tu_expect(&r, HAVEN_EINVAL, "m6", "missing");
	tu_build(&r, t, "m6-standalone.json", "idva.cambs", e_m6_no_necessity);
	tu_expect(&r, HAVEN_EINVAL, "m6.necessity", "missing");
}

/* ------------------------------------------ broker header checks */

static haven_marac_msg *ref_msg; /* scenario 4 with M6 */

static void
deny_is(const haven_header *h, const char *rule, const char *reason)
{
	haven_policy_decision d;

	if (haven_marac_check_header(NULL, h, tu_now, &d) != HAVEN_EPOLICY ||
	    d.allow || strcmp(d.rule, rule) != 0 ||
	    strncmp(d.reason, reason, strlen(reason)) != 0) {
		fail_msg("got %d %s '%s'; want %s '%s'", d.allow, d.rule,
		    d.reason, rule, reason);
	}
}

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
	deny_is(&h, "M5-age", "the incident time is missing");
	h.occurred_ms = tu_now + 3600000;
	deny_is(&h, "M5-age", "the incident time is in the future");
	h.occurred_ms = tu_now - 93LL * 86400000;
	deny_is(&h, "M5-age", "the incident is more than 92 days old");
	h.occurred_ms = tu_now - 92LL * 86400000;
	assert_int_equal(haven_marac_check_header(NULL, &h, tu_now, &d),
	    HAVEN_OK);
	ref_header(&h);
	tu_set_tag(&h, "m6", "no");
	deny_is(&h, "R9", "R9: DASH 17 or more without consent");
	tu_set_tag(&h, "consent", "yes");
	deny_is(&h, "header", "a marac.m6 view needs tag m6=yes");
	ref_header(&h);
	h.n_views = 1; /* m6=yes but the M6 view is gone */
	deny_is(&h, "R9", "R9: the M6 record (view marac.m6) is missing");
	ref_header(&h);
	(void) snprintf(h.views[0].profile, sizeof(h.views[0].profile),
	    "marac.m6");
	deny_is(&h, "header", "no marac.referral view");
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
		deny_is(&h, "header", "tag dash missing or malformed");
	}
	for (size_t i = 0; keys[i] != NULL; i++) {
		char want[64];

		(void) snprintf(want, sizeof(want), "tag %s missing", keys[i]);
		ref_header(&h);
		tu_set_tag(&h, keys[i], NULL);
		deny_is(&h, "header", want);
		if (i > 0) {
			tu_set_tag(&h, keys[i], "YES");
			deny_is(&h, "header", want);
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
	deny_is(&h, "header", "duplicate tag");
	ref_header(&h);
	h.has_case = false;
	deny_is(&h, "header", "a MARAC or panel message needs a case");
	ref_header(&h);
	(void) snprintf(h.purpose, sizeof(h.purpose), "dapp");
	deny_is(&h, "R18", "purpose must be marac");
	ref_header(&h);
	(void) snprintf(h.views[1].profile, sizeof(h.views[1].profile),
	    "dapp.bundle");
	deny_is(&h, "header", "a view's profile does not fit");
	ref_header(&h);
	h.n_tags = HAVEN_MAX_TAGS + 1;
	deny_is(&h, "header", "counts over the limits");
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
		cmocka_unit_test(test_s4_refused_without_m6),
		cmocka_unit_test(test_s4_accepted_with_m6),
		cmocka_unit_test(test_s4_mco_view_forged),
		cmocka_unit_test(test_s5_dash15_refused_r10),
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
