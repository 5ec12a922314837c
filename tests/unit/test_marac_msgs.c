/*
 * tests/unit/test_marac_msgs.c: the MARAC messages after the referral
 * (M7 case list, M8 research return, M9 action plan, M10 update, M11
 * repeat flag, consent decisions), the perpetrator panel (M12-M14), the
 * recipient's payload check (haven_marac_verify_payload) and the strict
 * decoder behind haven_marac_payload_to_json.
 *
 * Every rule in R8 and R14-R17 is refused by name; every type goes through
 * the round trip JSON -> views -> broker header check -> recipient check ->
 * JSON; forged payloads (a school's view with a risk summary, a nested
 * unknown field, a NUL inside a string) are refused by the decoder.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "marac.pb-c.h"
#include "marac_tu.h"

#define MCO "marac.cambs"

/* ------------------------------------------------------ M7 case list */

static void
test_caselist(void **state)
{
	struct tu_res r;
	json_t *j;

	(void) state;
	tu_build(&r, HAVEN_MSG_MARAC_CASE_LIST, "caselist.json", MCO, NULL);
	tu_ok(&r);
	tu_tag_is(r.m, "consent", "no");
	tu_tag_is(r.m, "m6", "yes");
	assert_int_equal(r.m->n_tags, 2);
	assert_int_equal(r.m->n_subjects, 4);
	assert_int_equal(r.m->n_views, 1);
	assert_string_equal(r.m->views[0].profile, "marac.caselist");
	assert_int_equal(r.m->views[0].n_recipients, 5);
	tu_roundtrip(r.m);
	j = tu_view_json(r.m, 0);
	assert_null(json_object_get(j, "dash"));
	assert_int_equal(json_object_size(j), 6);
	assert_string_equal(json_string_value(json_object_get(j,
	    "meeting_date")), "2026-11-25");
	json_decref(j);
	haven_marac_msg_free(&r.m);
}

static void
e_to_school(json_t *j)
{
	json_array_append_new(json_object_get(j, "to"),
	    json_string("school.urn.110123"));
}

static void
e_no_m6_recorded(json_t *j)
{
	json_object_del(j, "m6_recorded");
}

static void
e_no_consent(json_t *j)
{
	json_object_del(j, "consent");
}

static void
e_consent_true(json_t *j)
{
	json_object_set_new(j, "consent", json_true());
	json_object_del(j, "m6_recorded");
}

static void
e_summary(json_t *j)
{
	json_object_set_new(j, "summary", json_string("narrative"));
}

static void
test_caselist_refusals(void **state)
{
	const uint32_t t = HAVEN_MSG_MARAC_CASE_LIST;
	struct tu_res r;

	(void) state;
	tu_build(&r, t, "bad-caselist-with-dash.json", MCO, NULL);
	tu_expect(&r, HAVEN_EVALIDATE, "dash", "M7: a case list carries no "
	    "DASH detail and no narrative");
	tu_build(&r, t, "caselist.json", MCO, e_summary);
	tu_expect(&r, HAVEN_EVALIDATE, "summary", "M7:");
	tu_build(&r, t, "caselist.json", MCO, e_to_school);
	tu_expect(&r, HAVEN_EVALIDATE, "to[5]", "R14: the agency has not "
	    "signed the information-sharing agreement");
	tu_build(&r, t, "caselist.json", MCO, e_no_m6_recorded);
	tu_expect(&r, HAVEN_EVALIDATE, "m6_recorded", "R9-R11: sharing "
	    "without consent needs an M6 record");
	tu_build(&r, t, "caselist.json", MCO, e_no_consent);
	tu_expect(&r, HAVEN_EINVAL, "consent", "missing");
	tu_build(&r, t, "caselist.json", MCO, e_consent_true);
	tu_ok(&r);
	tu_tag_is(r.m, "consent", "yes");
	tu_tag_is(r.m, "m6", "no");
	haven_marac_msg_free(&r.m);
}

/* ------------------------------------------------- M8 research return */

static void
e_reply(json_t *j)
{
	json_object_set_new(j, "in_reply_to",
	    json_string("00112233445566778899aabbccddeeff"));
}

static void
e_reply_bad(json_t *j)
{
	json_object_set_new(j, "in_reply_to", json_string("0011"));
}

static void
e_to_chair(json_t *j)
{
	json_object_set_new(j, "to", json_pack("[s,s,s]", MCO, "police.chair",
	    "dapp.north"));
}

static void
e_agency_other(json_t *j)
{
	json_object_set_new(j, "agency", json_string("police.cambs"));
}

static void
e_housing_return(json_t *j)
{
	json_object_del(j, "agency");
	json_object_set_new(j, "caldicott_attested", json_false());
}

static void
test_research(void **state)
{
	const uint32_t t = HAVEN_MSG_MARAC_RESEARCH_RETURN;
	struct tu_res r;
	json_t *j;

	(void) state;
	tu_build(&r, t, "research-health.json", "gp.riverside", e_reply);
	tu_ok(&r);
	tu_tag_is(r.m, "caldicott", "yes");
	tu_tag_is(r.m, "consent", "no");
	assert_true(r.m->has_reply_to);
	assert_int_equal(r.m->in_reply_to[15], 0xff);
	assert_int_equal(r.m->n_subjects, 0);
	tu_roundtrip(r.m);
	j = tu_view_json(r.m, 0);
	assert_string_equal(json_string_value(json_object_get(j, "agency")),
	    "gp.riverside");
	assert_int_equal(json_array_size(json_object_get(j, "withheld")), 1);
	json_decref(j);
	haven_marac_msg_free(&r.m);
	tu_build(&r, t, "research-health.json", "gp.riverside", e_to_chair);
	tu_ok(&r);
	haven_marac_msg_free(&r.m);
	tu_build(&r, t, "research-health.json", "housing.cambs",
	    e_housing_return);
	tu_ok(&r);
	tu_tag_is(r.m, "caldicott", "no");
	haven_marac_msg_free(&r.m);
	tu_build(&r, t, "bad-research-to-police.json", "gp.riverside", NULL);
	tu_expect(&r, HAVEN_EVALIDATE, "to[1]", "R15: a research return goes "
	    "to the MARAC coordinator or chair only");
	tu_build(&r, t, "bad-research-health-no-caldicott.json",
	    "gp.riverside", NULL);
	tu_expect(&r, HAVEN_EVALIDATE, "caldicott_attested", "R15: a health "
	    "research return needs the Caldicott attestation");
	tu_build(&r, t, "research-health.json", "gp.riverside", e_agency_other);
	tu_expect(&r, HAVEN_EINVAL, "agency", "must be the sending agency");
	tu_build(&r, t, "research-health.json", "gp.riverside", e_reply_bad);
	tu_expect(&r, HAVEN_EINVAL, "in_reply_to", "must be 32 hex digits");
}

/* ---------------------------------------------------- M9 action plan */

static bool
contains(const uint8_t *b, size_t n, const char *s)
{
	size_t k = strlen(s);

	for (size_t i = 0; i + k <= n; i++) {
		if (memcmp(b + i, s, k) == 0) {
			return (true);
		}
	}
	return (false);
}

static const char *
first_action(json_t *plan, const char *field)
{
	return (json_string_value(json_object_get(json_array_get(
	    json_object_get(plan, "actions"), 0), field)));
}

static void
test_plan(void **state)
{
	struct tu_res r;
	json_t *j;

	(void) state;
	tu_build(&r, HAVEN_MSG_MARAC_ACTION_PLAN, "action-plan.json", MCO,
	    NULL);
	tu_ok(&r);
	assert_int_equal(r.m->n_views, 6); /* one per owning agency */
	for (size_t i = 0; i < r.m->n_views; i++) {
		assert_int_equal(r.m->views[i].n_recipients, 1);
	}
	assert_string_equal(r.m->views[0].recipients[0], "school.urn.110123");
	assert_string_equal(r.m->views[0].profile, "marac.plan.edu");
	assert_string_equal(r.m->views[1].recipients[0], "housing.cambs");
	assert_string_equal(r.m->views[1].profile, "marac.plan");
	assert_string_equal(r.m->views[5].profile, "marac.plan.edu");
	tu_roundtrip(r.m);
	j = tu_view_json(r.m, 0); /* R8: education actions only, no summary */
	assert_string_equal(json_string_value(json_object_get(j,
	    "risk_summary")), "");
	assert_false(json_is_true(json_object_get(j, "repeat")));
	assert_int_equal(json_array_size(json_object_get(j, "actions")), 1);
	assert_string_equal(first_action(j, "id"), "A1");
	json_decref(j);
	assert_false(contains(r.m->views[0].payload, r.m->views[0].payload_len,
	    "High risk"));
	j = tu_view_json(r.m, 1); /* housing: its own action, the summary */
	assert_int_equal(json_array_size(json_object_get(j, "actions")), 1);
	assert_string_equal(first_action(j, "id"), "A2");
	assert_true(strlen(json_string_value(json_object_get(j,
	    "risk_summary"))) > 0);
	json_decref(j);
	haven_marac_msg_free(&r.m);
}

static void
e_attendee(json_t *j)
{
	json_object_set_new(j, "to", json_pack("[s]", "refuge.cambs"));
}

static void
e_dup_id(json_t *j)
{
	json_object_set_new(json_array_get(json_object_get(j, "actions"), 1),
	    "id", json_string("A1"));
}

static void
e_due_before(json_t *j)
{
	json_object_set_new(json_array_get(json_object_get(j, "actions"), 1),
	    "due", json_string("2026-11-24"));
}

static void
e_owner_unknown(json_t *j)
{
	json_object_set_new(json_array_get(json_object_get(j, "actions"), 2),
	    "owner", json_string("gp.nowhere"));
}

static void
e_no_actions(json_t *j)
{
	json_object_set_new(j, "actions", json_array());
}

static void
e_bad_category(json_t *j)
{
	json_object_set_new(json_array_get(json_object_get(j, "actions"), 1),
	    "category", json_string("fire"));
}

static void
test_plan_refusals(void **state)
{
	const uint32_t t = HAVEN_MSG_MARAC_ACTION_PLAN;
	struct tu_res r;

	(void) state;
	tu_build(&r, t, "bad-plan-edu-non-education.json", MCO, NULL);
	tu_expect(&r, HAVEN_EVALIDATE, "actions[0].category",
	    "R8: a school gets education actions only");
	tu_build(&r, t, "action-plan.json", MCO, e_attendee);
	tu_ok(&r);
	assert_int_equal(r.m->n_views, 7);
	assert_string_equal(r.m->views[6].recipients[0], "refuge.cambs");
	tu_roundtrip(r.m);
	haven_marac_msg_free(&r.m);
	tu_build(&r, t, "action-plan.json", MCO, e_dup_id);
	tu_expect(&r, HAVEN_EINVAL, "actions[1].id", "duplicate id");
	tu_build(&r, t, "action-plan.json", MCO, e_due_before);
	tu_expect(&r, HAVEN_EINVAL, "actions[1].due", "before the meeting");
	tu_build(&r, t, "action-plan.json", MCO, e_owner_unknown);
	tu_expect(&r, HAVEN_EINVAL, "actions[2].owner", "not an active");
	tu_build(&r, t, "action-plan.json", MCO, e_no_actions);
	tu_expect(&r, HAVEN_EINVAL, "actions", "needs at least one action");
	tu_build(&r, t, "action-plan.json", MCO, e_bad_category);
	tu_expect(&r, HAVEN_EINVAL, "actions[1].category", "must be one of");
}

/* A forged school view: the decoder refuses it whatever the sender did. */
static void
test_plan_edu_forged(void **state)
{
	Haven__MaracPlan p = HAVEN__MARAC_PLAN__INIT;
	Haven__MaracAction a = HAVEN__MARAC_ACTION__INIT;
	Haven__MaracAction *pa[1] = { &a };
	uint8_t buf[1024];
	size_t n;
	char *js = NULL;

	(void) state;
	p.case_ref = "MARAC-2026-0142";
	p.meeting_date = "2026-11-25";
	a.id = "A1";
	a.owner = "school.urn.110123";
	a.category = "education";
	a.description = "Trusted adult";
	a.due = "2026-12-02";
	p.n_actions = 1;
	p.actions = pa;
	n = haven__marac_plan__pack(&p, buf);
	assert_int_equal(haven_marac_payload_to_json(
	    HAVEN_MSG_MARAC_ACTION_PLAN, "marac.plan.edu", buf, n, &js),
	    HAVEN_OK);
	free(js);
	p.risk_summary = "High risk: strangulation";
	n = haven__marac_plan__pack(&p, buf);
	assert_int_equal(haven_marac_payload_to_json(
	    HAVEN_MSG_MARAC_ACTION_PLAN, "marac.plan.edu", buf, n, &js),
	    HAVEN_EINVAL);
	assert_null(js);
	assert_int_equal(haven_marac_payload_to_json(
	    HAVEN_MSG_MARAC_ACTION_PLAN, "marac.plan", buf, n, &js), HAVEN_OK);
	free(js);
	p.risk_summary = "";
	a.category = "housing";
	n = haven__marac_plan__pack(&p, buf);
	assert_int_equal(haven_marac_payload_to_json(
	    HAVEN_MSG_MARAC_ACTION_PLAN, "marac.plan.edu", buf, n, &js),
	    HAVEN_EINVAL);
}

/* ------------------------------------ M10 update, M11 repeat, consent */

static void
e_to_dapp(json_t *j)
{
	json_object_set_new(j, "to", json_pack("[s]", "dapp.north"));
	json_object_del(j, "consent");
	json_object_del(j, "m6_recorded");
}

static void
e_to_both(json_t *j)
{
	json_object_set_new(j, "to", json_pack("[s,s]", MCO, "dapp.north"));
}

static void
e_to_hsg(json_t *j)
{
	json_object_set_new(j, "to", json_pack("[s]", "housing.cambs"));
}

static void
e_status(json_t *j)
{
	json_object_set_new(j, "status", json_string("finished"));
}

static void
test_update(void **state)
{
	const uint32_t t = HAVEN_MSG_ACTION_UPDATE;
	struct tu_res r;

	(void) state;
	tu_build(&r, t, "action-update.json", "housing.cambs", NULL);
	tu_ok(&r);
	assert_string_equal(r.m->purpose, "marac");
	tu_roundtrip(r.m);
	haven_marac_msg_free(&r.m);
	tu_build(&r, t, "action-update.json", "probation.cambs", e_to_dapp);
	tu_ok(&r);
	assert_string_equal(r.m->purpose, "dapp");
	tu_tag_is(r.m, "consent", "no");
	tu_roundtrip(r.m);
	haven_marac_msg_free(&r.m);
	tu_build(&r, t, "action-update.json", "housing.cambs", e_to_both);
	tu_expect(&r, HAVEN_EINVAL, "to", "either the MARAC coordinator");
	tu_build(&r, t, "action-update.json", "housing.cambs", e_to_hsg);
	tu_expect(&r, HAVEN_EVALIDATE, "to[0]", "M10: action updates go to");
	tu_build(&r, t, "action-update.json", "housing.cambs", e_status);
	tu_expect(&r, HAVEN_EINVAL, "status",
	    "must be one of open|in-progress|done|blocked");
}

static void
e_date_future(json_t *j)
{
	json_object_set_new(j, "date", json_string("2026-11-24"));
}

static void
e_to_idva(json_t *j)
{
	json_object_set_new(j, "to", json_pack("[s]", "idva.cambs"));
}

static void
test_repeat_flag(void **state)
{
	const uint32_t t = HAVEN_MSG_REPEAT_INCIDENT_FLAG;
	struct tu_res r;
	int64_t want;

	(void) state;
	tu_build(&r, t, "repeat-flag.json", "police.cambs", NULL);
	tu_ok(&r);
	assert_int_equal(haven_time_parse("2026-11-22T00:00:00Z", &want),
	    HAVEN_OK);
	assert_int_equal(r.m->occurred_ms, want); /* London midnight (GMT) */
	tu_roundtrip(r.m);
	haven_marac_msg_free(&r.m);
	tu_build(&r, t, "repeat-flag.json", "police.cambs", e_date_future);
	tu_expect(&r, HAVEN_EINVAL, "date", "in the future");
	tu_build(&r, t, "repeat-flag.json", "police.cambs", e_to_idva);
	tu_expect(&r, HAVEN_EVALIDATE, "to[0]", "R9-R11: this goes to the "
	    "MARAC coordinator only");
}

static void
e_no_reason(json_t *j)
{
	json_object_del(j, "reason");
}

static void
e_given(json_t *j)
{
	json_object_set_new(j, "decision", json_string("given"));
	json_object_del(j, "reason");
}

static void
test_consent(void **state)
{
	const uint32_t t = HAVEN_MSG_CONSENT_DECISION;
	struct tu_res r;

	(void) state;
	tu_build(&r, t, "consent-withdrawn.json", "idva.cambs", NULL);
	tu_ok(&r);
	tu_tag_is(r.m, "consent", "withdrawn");
	assert_string_equal(r.m->views[0].profile, "marac.consent");
	assert_string_equal(r.m->purpose, "marac");
	tu_roundtrip(r.m);
	haven_marac_msg_free(&r.m);
	tu_build(&r, t, "consent-withdrawn.json", "idva.cambs", e_given);
	tu_ok(&r);
	tu_tag_is(r.m, "consent", "given");
	haven_marac_msg_free(&r.m);
	tu_build(&r, t, "consent-withdrawn.json", "idva.cambs", e_no_reason);
	tu_expect(&r, HAVEN_EINVAL, "reason", "required when consent is "
	    "refused or withdrawn");
	tu_build(&r, t, "consent-withdrawn.json", "idva.cambs", e_to_hsg);
	tu_expect(&r, HAVEN_EVALIDATE, "to[0]", "a consent decision goes to");
}

/* -------------------------------------------- M12-M14 perpetrator panel */

static void
test_dapp_referral(void **state)
{
	const uint32_t t = HAVEN_MSG_DAPP_REFERRAL;
	struct tu_res r;

	(void) state;
	tu_build(&r, t, "dapp-referral-x.json", "police.cambs", NULL);
	tu_ok(&r);
	tu_tag_is(r.m, "mappa", "no");
	tu_tag_is(r.m, "marac_history", "2");
	tu_tag_is(r.m, "area", "north");
	assert_string_equal(r.m->purpose, "dapp");
	assert_int_equal(r.m->n_subjects, 1);
	assert_string_equal(r.m->subjects[0].role, "perpetrator");
	assert_int_equal(r.m->views[0].n_recipients, 1);
	assert_string_equal(r.m->views[0].recipients[0], "dapp.north");
	tu_roundtrip(r.m);
	haven_marac_msg_free(&r.m);
	tu_build(&r, t, "dapp-referral-y-mappa.json", "police.cambs", NULL);
	tu_expect(&r, HAVEN_EVALIDATE, "open_to_mappa", "R16: refer via MAPPA");
}

static void
e_no_history(json_t *j)
{
	json_object_set_new(j, "marac_case_refs", json_array());
}

static void
e_mappa_closed(json_t *j)
{
	json_object_set_new(j, "mappa", json_pack("{s:i,s:i}", "category", 1,
	    "level", 1));
}

static void
e_mappa_level0(json_t *j)
{
	json_object_set_new(j, "mappa", json_pack("{s:i,s:i}", "category", 2,
	    "level", 0));
}

static void
e_to_south(json_t *j)
{
	json_object_set_new(j, "to", json_pack("[s]", "dapp.south"));
}

static void
e_dup_ref(json_t *j)
{
	json_object_set_new(j, "marac_case_refs", json_pack("[s,s]", "M-1",
	    "M-1"));
}

static void
test_dapp_referral_refusals(void **state)
{
	const uint32_t t = HAVEN_MSG_DAPP_REFERRAL;
	const char *x = "dapp-referral-x.json";
	struct tu_res r;

	(void) state;
	tu_build(&r, t, x, "police.cambs", e_no_history);
	tu_expect(&r, HAVEN_EVALIDATE, "marac_case_refs",
	    "R16: ineligible (no MARAC history)");
	tu_build(&r, t, x, "housing.cambs", NULL);
	tu_expect(&r, HAVEN_EVALIDATE, "", "M12: police, probation");
	tu_build(&r, t, x, "police.cambs", e_mappa_closed);
	tu_expect(&r, HAVEN_EINVAL, "mappa", "only when open_to_mappa");
	tu_build(&r, t, "dapp-referral-y-mappa.json", "police.cambs",
	    e_mappa_level0);
	tu_expect(&r, HAVEN_EINVAL, "mappa.level", "must be 1 to 3");
	tu_build(&r, t, x, "police.cambs", e_to_south);
	tu_expect(&r, HAVEN_EVALIDATE, "to[0]", "R17: not the coordinator");
	tu_build(&r, t, x, "police.cambs", e_dup_ref);
	tu_expect(&r, HAVEN_EINVAL, "marac_case_refs[1]", "named twice");
}

static bool
has_recipient(const haven_marac_view *v, const char *id)
{
	for (size_t i = 0; i < v->n_recipients; i++) {
		if (strcmp(v->recipients[i], id) == 0) {
			return (true);
		}
	}
	return (false);
}

static void
test_bundle(void **state)
{
	static const char *const in[] = { "police.cambs", "housing.cambs",
		"idva.cambs", "probation.cambs", "das.cambs", NULL };
	static const char *const out[] = { "dapp.north", "dapp.south",
		"housing.peterborough", "school.urn.110456",
		"school.urn.110123", "gp.riverside", MCO, NULL };
	struct tu_res r;

	(void) state;
	tu_build(&r, HAVEN_MSG_DAPP_BUNDLE, "dapp-bundle-north.json",
	    "dapp.north", NULL);
	tu_ok(&r);
	tu_tag_is(r.m, "area", "north");
	assert_int_equal(r.m->views[0].n_recipients, 5);
	for (size_t i = 0; in[i] != NULL; i++) {
		assert_true(has_recipient(&r.m->views[0], in[i]));
	}
	for (size_t i = 0; out[i] != NULL; i++) {
		assert_false(has_recipient(&r.m->views[0], out[i]));
	}
	tu_roundtrip(r.m);
	haven_marac_msg_free(&r.m);
	tu_build(&r, HAVEN_MSG_DAPP_BUNDLE, "bad-dapp-bundle-to-school.json",
	    "dapp.north", NULL);
	tu_expect(&r, HAVEN_EVALIDATE, "to[1]", "R8: panel material never "
	    "goes to a school");
	tu_build(&r, HAVEN_MSG_DAPP_BUNDLE, "bad-dapp-bundle-to-south.json",
	    "dapp.north", NULL);
	tu_expect(&r, HAVEN_EVALIDATE, "to[0]", "R17: not a member");
	tu_build(&r, HAVEN_MSG_DAPP_BUNDLE, "dapp-bundle-north.json",
	    "dapp.south", NULL);
	tu_expect(&r, HAVEN_EVALIDATE, "area", "R17: the sender does not");
	tu_build(&r, HAVEN_MSG_DAPP_BUNDLE, "dapp-bundle-north.json",
	    "police.cambs", NULL);
	tu_expect(&r, HAVEN_EVALIDATE, "area", "R17:");
}

static void
e_owner_south(json_t *j)
{
	json_object_set_new(json_array_get(json_object_get(j, "interventions"),
	    1), "owner", json_string("housing.peterborough"));
}

static void
e_kind(json_t *j)
{
	json_object_set_new(json_array_get(json_object_get(j, "interventions"),
	    1), "kind", json_string("punishment"));
}

static void
e_no_interventions(json_t *j)
{
	json_object_set_new(j, "interventions", json_array());
}

static void
test_dapp_plan(void **state)
{
	const uint32_t t = HAVEN_MSG_DAPP_ACTION_PLAN;
	struct tu_res r;

	(void) state;
	tu_build(&r, t, "dapp-plan-north.json", "dapp.north", NULL);
	tu_ok(&r);
	tu_tag_is(r.m, "area", "north");
	assert_string_equal(r.m->views[0].profile, "dapp.plan");
	tu_roundtrip(r.m);
	haven_marac_msg_free(&r.m);
	tu_build(&r, t, "dapp-plan-north.json", "dapp.north", e_owner_south);
	tu_expect(&r, HAVEN_EVALIDATE, "interventions[1].owner", "R17:");
	tu_build(&r, t, "dapp-plan-north.json", "dapp.north", e_kind);
	tu_expect(&r, HAVEN_EINVAL, "interventions[1].kind", "must be one of");
	tu_build(&r, t, "dapp-plan-north.json", "dapp.north",
	    e_no_interventions);
	tu_expect(&r, HAVEN_EINVAL, "interventions", "needs at least one");
}


/* ------------------------------------ broker header check, other types */

static void
header_of(uint32_t type, const char *fixture, const char *sender,
    haven_header *h)
{
	struct tu_res r;

	tu_build(&r, type, fixture, sender, NULL);
	tu_ok(&r);
	tu_header(r.m, h);
	haven_marac_msg_free(&r.m);
}

static void
allow_is(const haven_header *h, const char *rule)
{
	haven_policy_decision d;

	if (haven_marac_check_header(NULL, h, tu_now, &d) != HAVEN_OK ||
	    !d.allow || strcmp(d.rule, rule) != 0) {
		fail_msg("refused or wrong rule: %s %s", d.rule, d.reason);
	}
}

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
test_header_dapp(void **state)
{
	haven_header h, x;

	(void) state;
	header_of(HAVEN_MSG_DAPP_REFERRAL, "dapp-referral-x.json",
	    "police.cambs", &x);
	allow_is(&x, "marac");
	h = x;
	tu_set_tag(&h, "mappa", "yes");
	deny_is(&h, "R16", "R16: refer via MAPPA");
	h = x;
	tu_set_tag(&h, "marac_history", "0");
	deny_is(&h, "R16", "R16: ineligible (no MARAC history)");
	h = x;
	tu_set_tag(&h, "marac_history", "01");
	deny_is(&h, "header", "tag marac_history missing or malformed");
	tu_set_tag(&h, "marac_history", "1000");
	deny_is(&h, "header", "tag marac_history");
	h = x;
	tu_set_tag(&h, "area", "east");
	deny_is(&h, "header", "tag area missing or malformed");
	h = x;
	tu_set_tag(&h, "mappa", NULL);
	deny_is(&h, "header", "tag mappa missing");
	h = x;
	(void) snprintf(h.purpose, sizeof(h.purpose), "marac");
	deny_is(&h, "R18", "purpose must be dapp");
	header_of(HAVEN_MSG_DAPP_BUNDLE, "dapp-bundle-north.json",
	    "dapp.north", &x);
	allow_is(&x, "marac"); /* consent=no, m6=no: no R9-R11 for dapp */
	h = x;
	tu_set_tag(&h, "area", NULL);
	deny_is(&h, "header", "tag area missing");
	h = x;
	tu_set_tag(&h, "consent", "maybe");
	deny_is(&h, "header", "tag consent missing or malformed");
	header_of(HAVEN_MSG_DAPP_ACTION_PLAN, "dapp-plan-north.json",
	    "dapp.north", &x);
	h = x;
	tu_set_tag(&h, "area", "South");
	deny_is(&h, "header", "tag area");
}

static void
test_header_marac_types(void **state)
{
	haven_header h, x;

	(void) state;
	header_of(HAVEN_MSG_MARAC_CASE_LIST, "caselist.json", MCO, &x);
	h = x;
	tu_set_tag(&h, "m6", "no");
	deny_is(&h, "R9-R11", "R9-R11: sharing without consent needs an M6");
	tu_set_tag(&h, "consent", "yes");
	allow_is(&h, "marac");
	h = x;
	tu_set_tag(&h, "m6", NULL);
	deny_is(&h, "header", "tag m6 missing");
	header_of(HAVEN_MSG_MARAC_RESEARCH_RETURN, "research-health.json",
	    "gp.riverside", &x);
	h = x;
	tu_set_tag(&h, "caldicott", NULL);
	deny_is(&h, "header", "tag caldicott missing");
	h = x;
	tu_set_tag(&h, "m6", "no");
	deny_is(&h, "R9-R11", "R9-R11");
	header_of(HAVEN_MSG_ACTION_UPDATE, "action-update.json",
	    "housing.cambs", &x);
	h = x;
	(void) snprintf(h.purpose, sizeof(h.purpose), "dapp");
	tu_set_tag(&h, "m6", "no"); /* dapp: no R9-R11 */
	allow_is(&h, "marac");
	(void) snprintf(h.purpose, sizeof(h.purpose), "audit");
	deny_is(&h, "R18", "purpose must be marac");
	header_of(HAVEN_MSG_INFO_SHARED_WITHOUT_CONSENT, "m6-standalone.json",
	    "idva.cambs", &x);
	allow_is(&x, "marac");
	h = x;
	tu_set_tag(&h, "consent", "yes");
	deny_is(&h, "header", "an M6 record needs consent=no, m6=yes");
	h = x;
	(void) snprintf(h.views[0].profile, sizeof(h.views[0].profile),
	    "marac.referral");
	deny_is(&h, "header", "a view's profile does not fit");
	header_of(HAVEN_MSG_CONSENT_DECISION, "consent-withdrawn.json",
	    "idva.cambs", &x);
	allow_is(&x, "marac");
	h = x;
	tu_set_tag(&h, "consent", "yes");
	deny_is(&h, "header", "tag consent missing or malformed");
}

/* ------------------------------------------------ recipient's check */

static void
verify_refuses(const haven_marac_msg *m, size_t view, const char *key,
    const char *value, const char *want)
{
	haven_header h;
	char why[192];

	tu_header(m, &h);
	if (key != NULL) {
		tu_set_tag(&h, key, value);
	}
	assert_int_equal(haven_marac_verify_payload(&h, m->views[view].profile,
	    m->views[view].payload, m->views[view].payload_len, why,
	    sizeof(why)), HAVEN_EVALIDATE);
	if (strncmp(why, want, strlen(want)) != 0) {
		fail_msg("why '%s', want '%s'", why, want);
	}
}

static void
test_verify_referral(void **state)
{
	const uint32_t t = HAVEN_MSG_MARAC_REFERRAL;
	struct tu_res r;
	haven_header h;
	char why[192];

	(void) state;
	tu_build(&r, t, "scenario4-gp-referral-m6.json", "gp.riverside", NULL);
	tu_ok(&r);
	verify_refuses(r.m, 0, "dash", "17", "tag dash does not match");
	verify_refuses(r.m, 0, "consent", "yes", "tag consent does not");
	verify_refuses(r.m, 0, "judgement", "yes", "tag judgement");
	verify_refuses(r.m, 0, "escalation", "yes", "tag escalation");
	verify_refuses(r.m, 0, "repeat", "yes", "tag repeat");
	verify_refuses(r.m, 0, "m6", "no", "tag m6");
	verify_refuses(r.m, 1, "consent", "yes", "tag consent");
	verify_refuses(r.m, 1, "m6", NULL, "tag m6");
	tu_header(r.m, &h);
	h.occurred_ms += 1000;
	assert_int_equal(haven_marac_verify_payload(&h, "marac.referral",
	    r.m->views[0].payload, r.m->views[0].payload_len, why,
	    sizeof(why)), HAVEN_EVALIDATE);
	assert_string_equal(why, "occurred_ms does not match the payload");
	tu_header(r.m, &h);
	assert_int_equal(haven_marac_verify_payload(&h, "marac.caselist",
	    r.m->views[0].payload, r.m->views[0].payload_len, why,
	    sizeof(why)), HAVEN_EVALIDATE);
	assert_string_equal(why, "profile does not fit the message type");
	h.n_views = 1;
	assert_int_equal(haven_marac_verify_payload(&h, "marac.m6",
	    r.m->views[1].payload, r.m->views[1].payload_len, why,
	    sizeof(why)), HAVEN_EVALIDATE);
	assert_string_equal(why, "profile is not a view of the header");
	tu_header(r.m, &h); /* the M6 view's bytes under the referral */
	assert_int_equal(haven_marac_verify_payload(&h, "marac.referral",
	    r.m->views[1].payload, r.m->views[1].payload_len, why,
	    sizeof(why)), HAVEN_EVALIDATE);
	assert_int_equal(strncmp(why, "payload", 7), 0);
	assert_null(strstr(why, "Dana"));
	assert_int_equal(haven_marac_verify_payload(NULL, "marac.referral",
	    NULL, 0, why, sizeof(why)), HAVEN_EVALIDATE);
	haven_marac_msg_free(&r.m);
}

static void
test_verify_others(void **state)
{
	struct tu_res r;

	(void) state;
	tu_build(&r, HAVEN_MSG_DAPP_REFERRAL, "dapp-referral-x.json",
	    "police.cambs", NULL);
	tu_ok(&r);
	verify_refuses(r.m, 0, "marac_history", "3", "tag marac_history");
	verify_refuses(r.m, 0, "area", "south", "tag area");
	verify_refuses(r.m, 0, "mappa", "yes", "tag mappa");
	haven_marac_msg_free(&r.m);
	tu_build(&r, HAVEN_MSG_DAPP_BUNDLE, "dapp-bundle-north.json",
	    "dapp.north", NULL);
	tu_ok(&r);
	verify_refuses(r.m, 0, "area", "south", "tag area");
	haven_marac_msg_free(&r.m);
	tu_build(&r, HAVEN_MSG_DAPP_ACTION_PLAN, "dapp-plan-north.json",
	    "dapp.north", NULL);
	tu_ok(&r);
	verify_refuses(r.m, 0, "area", NULL, "tag area");
	haven_marac_msg_free(&r.m);
	tu_build(&r, HAVEN_MSG_MARAC_RESEARCH_RETURN, "research-health.json",
	    "gp.riverside", NULL);
	tu_ok(&r);
	verify_refuses(r.m, 0, "caldicott", "no", "tag caldicott");
	haven_marac_msg_free(&r.m);
	tu_build(&r, HAVEN_MSG_CONSENT_DECISION, "consent-withdrawn.json",
	    "idva.cambs", NULL);
	tu_ok(&r);
	verify_refuses(r.m, 0, "consent", "given", "tag consent");
	haven_marac_msg_free(&r.m);
	tu_build(&r, HAVEN_MSG_REPEAT_INCIDENT_FLAG, "repeat-flag.json",
	    "police.cambs", NULL);
	tu_ok(&r);
	r.m->occurred_ms += 1;
	verify_refuses(r.m, 0, NULL, NULL, "occurred_ms does not match");
	haven_marac_msg_free(&r.m);
}

/* ------------------------------------------------------ the decoder */

static void
expect_decode(const uint8_t *buf, size_t len, haven_err want)
{
	char *js = NULL;
	haven_err rv = haven_marac_payload_to_json(HAVEN_MSG_MARAC_CASE_LIST,
	    "marac.caselist", buf, len, &js);

	if (rv != want) {
		fail_msg("got %s, want %s", haven_err_name(rv),
		    haven_err_name(want));
	}
	free(js);
}

static void
test_decoder(void **state)
{
	/* case_ref "C1", meeting_date, victim {name "N"}, perpetrator
	 * {name "P"}: the smallest valid case list. */
	static const uint8_t ok[] = { 0x0a, 2, 'C', '1', 0x12, 10, '2', '0',
		'2', '6', '-', '1', '1', '-', '2', '5', 0x1a, 3, 0x0a, 1, 'N',
		0x22, 3, 0x0a, 1, 'P' };
	uint8_t b[64];
	char *js = NULL;

	(void) state;
	expect_decode(ok, sizeof(ok), HAVEN_OK);
	expect_decode(ok, sizeof(ok) - 1, HAVEN_EDECODE); /* truncated */
	memcpy(b, ok, sizeof(ok)); /* unknown field 9 at the top */
	b[sizeof(ok)] = 0x48, b[sizeof(ok) + 1] = 1;
	expect_decode(b, sizeof(ok) + 2, HAVEN_EDECODE);
	memcpy(b, ok, 16); /* unknown field nested in the victim */
	memcpy(b + 16, (const uint8_t[]){ 0x1a, 5, 0x0a, 1, 'N', 0x48, 1,
	    0x22, 3, 0x0a, 1, 'P' }, 12);
	expect_decode(b, 28, HAVEN_EDECODE);
	memcpy(b, ok, sizeof(ok)); /* a NUL inside case_ref */
	b[3] = '\0';
	expect_decode(b, sizeof(ok), HAVEN_EDECODE);
	memcpy(b, ok, sizeof(ok)); /* case_ref given twice */
	memcpy(b + sizeof(ok), ok, 4);
	expect_decode(b, sizeof(ok) + 4, HAVEN_EDECODE);
	memcpy(b, ok, sizeof(ok)); /* invalid UTF-8 in the victim's name */
	b[20] = 0xff;
	expect_decode(b, sizeof(ok), HAVEN_EINVAL);
	memcpy(b, ok, sizeof(ok)); /* a control character */
	b[20] = 0x07;
	expect_decode(b, sizeof(ok), HAVEN_EINVAL);
	memcpy(b, ok, sizeof(ok)); /* an impossible date */
	b[13] = '3';
	expect_decode(b, sizeof(ok), HAVEN_EINVAL);
	expect_decode(ok, 0, HAVEN_EINVAL); /* empty: required fields */
	expect_decode(ok, HAVEN_PAYLOAD_MAX + 1, HAVEN_EMSGSIZE);
	expect_decode(NULL, 4, HAVEN_EINVAL);
	assert_int_equal(haven_marac_payload_to_json(HAVEN_MSG_MARAC_CASE_LIST,
	    "marac.plan", ok, sizeof(ok), &js), HAVEN_EINVAL);
	assert_int_equal(haven_marac_payload_to_json(HAVEN_MSG_OE_NOTIFICATION,
	    "marac.caselist", ok, sizeof(ok), &js), HAVEN_EINVAL);
	assert_int_equal(haven_marac_payload_to_json(HAVEN_MSG_MARAC_CASE_LIST,
	    NULL, ok, sizeof(ok), &js), HAVEN_EINVAL);
	assert_int_equal(haven_marac_payload_to_json(HAVEN_MSG_MARAC_CASE_LIST,
	    "marac.caselist", ok, sizeof(ok), NULL), HAVEN_EINVAL);
	assert_null(js);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_caselist),
		cmocka_unit_test(test_caselist_refusals),
		cmocka_unit_test(test_research),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_plan_refusals),
		cmocka_unit_test(test_plan_edu_forged),
		cmocka_unit_test(test_update),
		cmocka_unit_test(test_repeat_flag),
		cmocka_unit_test(test_consent),
		cmocka_unit_test(test_dapp_referral),
		cmocka_unit_test(test_dapp_referral_refusals),
		cmocka_unit_test(test_bundle),
		cmocka_unit_test(test_dapp_plan),
		cmocka_unit_test(test_header_dapp),
		cmocka_unit_test(test_header_marac_types),
		cmocka_unit_test(test_verify_referral),
		cmocka_unit_test(test_verify_others),
		cmocka_unit_test(test_decoder),
	};

	return (cmocka_run_group_tests(tests, tu_setup, tu_teardown));
}
