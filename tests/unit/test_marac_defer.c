/*
 * tests/unit/test_marac_defer.c: the rules an agent leaves to the broker
 * (haven_marac_from_json_ex with HAVEN_MARAC_DEFER_BROKER), rule by rule.
 *
 * For each rule the full check (haven_marac_from_json, an agent's
 * --check) refuses, the deferred build must succeed with honest tags and
 * the broker's three checks, run in the broker's order on the header an
 * agent would sign (the shipped deploy/policy.json, then
 * haven_marac_check_parties, then haven_marac_check_header), must refuse
 * it naming the rule. So nothing an agent no longer checks escapes the
 * broker. Content rules (which the broker cannot see) must still be
 * refused by the deferred build. Also: the coordinator's full copy of an
 * M9 (marac.plan.full) and the co-chairs' own copy of an M14.
 *
 * The directory is marac_tu.h's (the demo partnership's attributes, a
 * revoked IDVA and a police MARAC chair, marac_chair=yes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "haven/policy.h"
#include "marac_tu.h"
#include "util.h"

#define MCO "marac.cambs"
#define GP "gp.riverside"
#define HSG "housing.cambs"
#define POL "police.cambs"

static haven_policy *pol;

static int
setup(void **state)
{
	uint8_t *text = NULL;
	size_t len = 0;
	char err[256] = "";

	(void) tu_setup(state);
	assert_int_equal(haven__read_file(HAVEN_SOURCE_DIR
	    "/deploy/policy.json", HAVEN_JSON_MAX, &text, &len), HAVEN_OK);
	if (haven_policy_from_json(&pol, (const char *) text, len, err,
	    sizeof(err)) != HAVEN_OK) {
		fail_msg("deploy/policy.json: %s", err);
	}
	free(text);
	return (0);
}

static int
teardown(void **state)
{
	haven_policy_destroy(&pol);
	return (tu_teardown(state));
}

/* ------------------------------------------------------------ helpers */

static void
build_ex(struct tu_res *r, uint32_t type, const json_t *j,
    const char *sender, unsigned flags)
{
	char *text = json_dumps(j, JSON_COMPACT);

	assert_non_null(text);
	memset(r, 0, sizeof(*r));
	r->rv = haven_marac_from_json_ex(type, text, strlen(text), sender,
	    tu_dir, NULL, tu_now, flags, &r->m, r->field, sizeof(r->field),
	    r->why, sizeof(r->why));
	if (r->rv != HAVEN_OK) {
		assert_null(r->m);
	}
	free(text);
}

static size_t
rcpt_index(haven_header *h, const char *id)
{
	for (size_t i = 0; i < h->n_recipients; i++) {
		if (strcmp(h->recipients[i], id) == 0) {
			return (i);
		}
	}
	assert_true(h->n_recipients < HAVEN_MAX_RECIPIENTS);
	(void) snprintf(h->recipients[h->n_recipients], HAVEN_ID_MAX, "%s",
	    id);
	return (h->n_recipients++);
}

/* The header an agent signs for the first envelope (sender, recipients
 * and views as well as tu_header's fields). */
static void
signed_header(const haven_marac_msg *m, const char *sender, haven_header *h)
{
	tu_header(m, h);
	(void) snprintf(h->sender, sizeof(h->sender), "%s", sender);
	for (size_t v = 0; v < h->n_views; v++) {
		h->views[v].n_recipients = m->views[v].n_recipients;
		for (size_t k = 0; k < m->views[v].n_recipients; k++) {
			h->views[v].recipients[k] = (uint8_t) rcpt_index(h,
			    m->views[v].recipients[k]);
		}
	}
}

/* What the broker decides, in its order; "" if it admits the header. */
static void
broker_rule(const haven_header *h, char *rule, size_t len)
{
	haven_policy_decision d;

	if (haven_policy_check_header(pol, tu_dir, h, &d) != HAVEN_OK ||
	    haven_marac_check_parties(tu_dir, h, &d) != HAVEN_OK ||
	    haven_marac_check_header(NULL, h, tu_now, &d) != HAVEN_OK) {
		assert_false(d.allow);
		assert_true(strlen(d.reason) > 0);
		(void) snprintf(rule, len, "%s", d.rule);
		return;
	}
	(void) snprintf(rule, len, "%s", "");
}

/*
 * One deferred rule: the full check refuses (HAVEN_EVALIDATE, reason
 * starting with `local`), the deferred build succeeds, and the broker
 * refuses the header naming `rule` ("" = admits: the rule is the full
 * check's only in appearance).
 */
static void
deferred(uint32_t type, const json_t *j, const char *sender,
    const char *local, const char *rule)
{
	struct tu_res r;
	haven_header h;
	char got[HAVEN_RULE_ID_MAX];

	build_ex(&r, type, j, sender, HAVEN_MARAC_CHECK_ALL);
	if (r.rv != HAVEN_EVALIDATE ||
	    strncmp(r.why, local, strlen(local)) != 0) {
		fail_msg("full check: %s [%s] %s; want EVALIDATE %s...",
		    haven_err_name(r.rv), r.field, r.why, local);
	}
	build_ex(&r, type, j, sender, HAVEN_MARAC_DEFER_BROKER);
	tu_ok(&r);
	signed_header(r.m, sender, &h);
	broker_rule(&h, got, sizeof(got));
	if (strcmp(got, rule) != 0) {
		fail_msg("broker: '%s'; want '%s' (%s)", got, rule, local);
	}
	haven_marac_msg_free(&r.m);
}

static void
deferred_fx(uint32_t type, const char *fixture, void (*edit)(json_t *),
    const char *sender, const char *local, const char *rule)
{
	json_t *j = tu_fixture(fixture);

	if (edit != NULL) {
		edit(j);
	}
	deferred(type, j, sender, local, rule);
	json_decref(j);
}

/* A content rule: refused by the deferred build as by the full one. */
static void
content(uint32_t type, const char *fixture, void (*edit)(json_t *),
    const char *sender, haven_err rv, const char *field, const char *why)
{
	json_t *j = tu_fixture(fixture);
	struct tu_res r;

	if (edit != NULL) {
		edit(j);
	}
	build_ex(&r, type, j, sender, HAVEN_MARAC_DEFER_BROKER);
	tu_expect(&r, rv, field, why);
	tu_build_json(&r, type, j, sender, NULL);
	tu_expect(&r, rv, field, why);
	json_decref(j);
}

static void
set_to(json_t *j, const char *a, const char *b)
{
	assert_int_equal(json_object_set_new(j, "to", b != NULL ?
	    json_pack("[s, s]", a, b) : json_pack("[s]", a)), 0);
}

/* ------------------------------------------------------- fixture edits */

static void
e_dash15(json_t *j)
{
	json_t *c = json_object_get(j, "criteria");

	assert_int_equal(json_object_set_new(c, "dash", json_integer(15)), 0);
	assert_int_equal(json_object_del(c, "escalation"), 0);
}

static void
e_dash9(json_t *j)
{
	e_dash15(j);
	assert_int_equal(json_object_set_new(json_object_get(j, "criteria"),
	    "dash", json_integer(9)), 0);
}

static void e_to_idva(json_t *j) { set_to(j, "idva.cambs", NULL); }
static void e_to_mco(json_t *j) { set_to(j, MCO, NULL); }
static void e_to_police(json_t *j) { set_to(j, "idva.cambs", POL); }
static void e_to_chair(json_t *j) { set_to(j, "police.chair", NULL); }
static void e_to_refuge(json_t *j) { set_to(j, "refuge.cambs", HSG); }
static void e_to_hsg(json_t *j) { set_to(j, HSG, NULL); }
static void e_to_south(json_t *j) { set_to(j, "dapp.south", NULL); }
static void e_to_school(json_t *j) { set_to(j, "school.urn.110123", NULL); }

static void
e_no_m6(json_t *j)
{
	assert_int_equal(json_object_set_new(j, "m6_recorded", json_false()),
	    0);
}

static void
e_no_history(json_t *j)
{
	assert_int_equal(json_object_set_new(j, "marac_case_refs",
	    json_array()), 0);
}

static void
e_m6_to_idva(json_t *j)
{
	set_to(j, "idva.cambs", NULL);
}

/* --------------------------------------------------------- M5 and M6 */

static void
test_referral_rules(void **state)
{
	const uint32_t t = HAVEN_MSG_MARAC_REFERRAL;
	const char *ref = "scenario4-gp-referral.json";

	(void) state;
	/* R9: DASH 18 without consent and without the M6 record */
	deferred_fx(t, ref, NULL, GP, "R9:", "R9");
	/* R10: DASH 15 without consent */
	deferred_fx(t, "scenario5-housing-dash15.json", NULL, HSG, "R10:",
	    "R10");
	/* R9-R11: no criterion met */
	deferred_fx(t, ref, e_dash9, GP, "R9-R11:", "R9-R11");
	/* M5-age: an incident over three months old */
	deferred_fx(t, "bad-referral-old-incident.json", NULL, GP, "M5-age:",
	    "M5-age");
	/* R13: to both the IDVA and the coordinator, and no one else */
	deferred_fx(t, "scenario4-gp-referral-m6.json", e_to_idva, GP, "R9:",
	    "R13");
	deferred_fx(t, "scenario4-gp-referral-m6.json", e_to_mco, GP, "R9:",
	    "R13");
	deferred_fx(t, "scenario4-gp-referral-m6.json", e_to_police, GP, "R9:",
	    "R13-referral-recipients");
	/* M6 on its own goes to the coordinator only */
	deferred_fx(HAVEN_MSG_INFO_SHARED_WITHOUT_CONSENT, "m6-standalone.json",
	    e_m6_to_idva, GP, "R9-R11:", "R13-m6-mco-only");
}

/* The deferred referral's tags are the truth, so the broker decides on
 * it; and what it admits passes the recipients' check. */
static void
test_referral_tags(void **state)
{
	json_t *j = tu_fixture("scenario5-housing-dash15.json");
	struct tu_res r;

	(void) state;
	build_ex(&r, HAVEN_MSG_MARAC_REFERRAL, j, HSG,
	    HAVEN_MARAC_DEFER_BROKER);
	tu_ok(&r);
	tu_tag_is(r.m, "dash", "15");
	tu_tag_is(r.m, "consent", "no");
	tu_tag_is(r.m, "judgement", "no");
	tu_tag_is(r.m, "m6", "no");
	assert_int_equal(r.m->n_views, 1);
	for (size_t i = 0; i < r.m->n_views; i++) {
		haven_header h;
		char why[192];

		tu_header(r.m, &h);
		assert_int_equal(haven_marac_verify_payload(&h,
		    r.m->views[i].profile, r.m->views[i].payload,
		    r.m->views[i].payload_len, why, sizeof(why)), HAVEN_OK);
	}
	haven_marac_msg_free(&r.m);
	json_decref(j);
	/* unknown flags */
	assert_int_equal(haven_marac_from_json_ex(HAVEN_MSG_MARAC_REFERRAL,
	    "{}", 2, GP, tu_dir, NULL, tu_now, 0x80u, &r.m, NULL, 0, NULL, 0),
	    HAVEN_EINVAL);
	assert_null(r.m);
}

/* -------------------------------------------------------- M7-M11 */

static void
test_sharing_rules(void **state)
{
	(void) state;
	/* R14: the case list to an agency that has not signed the ISP */
	deferred_fx(HAVEN_MSG_MARAC_CASE_LIST, "caselist.json", e_to_refuge,
	    MCO, "R14:", "R14-case-list-isp");
	/* R9-R11: no consent, no M6 record */
	deferred_fx(HAVEN_MSG_MARAC_CASE_LIST, "caselist.json", e_no_m6, MCO,
	    "R9-R11:", "R9-R11");
	/* R15: research to anyone but the coordinator or chair */
	deferred_fx(HAVEN_MSG_MARAC_RESEARCH_RETURN,
	    "bad-research-to-police.json", NULL, GP, "R15:",
	    "R15-research-to-chair");
	/* R15: a health return without the Caldicott attestation */
	deferred_fx(HAVEN_MSG_MARAC_RESEARCH_RETURN,
	    "bad-research-health-no-caldicott.json", NULL, GP, "R15:",
	    "R15-caldicott");
	deferred_fx(HAVEN_MSG_MARAC_RESEARCH_RETURN,
	    "bad-research-health-no-caldicott.json", e_to_chair, GP, "R15:",
	    "R15-caldicott-chair");
	deferred_fx(HAVEN_MSG_MARAC_RESEARCH_RETURN, "research-health.json",
	    e_no_m6, GP, "R9-R11:", "R9-R11");
	/* M9 without consent or M6; M10 and M11 to the wrong agency */
	deferred_fx(HAVEN_MSG_MARAC_ACTION_PLAN, "action-plan.json", e_no_m6,
	    MCO, "R9-R11:", "R9-R11");
	deferred_fx(HAVEN_MSG_ACTION_UPDATE, "action-update.json", e_to_hsg,
	    POL, "M10:", "M10-to-mco-dapc");
	deferred_fx(HAVEN_MSG_REPEAT_INCIDENT_FLAG, "repeat-flag.json",
	    e_to_hsg, POL, "R9-R11:", "R12-repeat-to-mco");
	deferred_fx(HAVEN_MSG_CONSENT_DECISION, "consent-withdrawn.json",
	    e_to_hsg, "idva.cambs", "a consent decision",
	    "R9-consent-to-mco-idva");
}

/* The chair (marac_chair=yes) receives research, as the sender allows. */
static void
test_research_to_chair(void **state)
{
	json_t *j = tu_fixture("research-health.json");
	struct tu_res r;
	haven_header h;
	char got[HAVEN_RULE_ID_MAX];

	(void) state;
	e_to_chair(j);
	tu_build_json(&r, HAVEN_MSG_MARAC_RESEARCH_RETURN, j, GP, NULL);
	tu_ok(&r);
	signed_header(r.m, GP, &h);
	broker_rule(&h, got, sizeof(got));
	assert_string_equal(got, "");
	haven_marac_msg_free(&r.m);
	tu_build_json(&r, HAVEN_MSG_MARAC_RESEARCH_RETURN, j, HSG, NULL);
	assert_int_equal(r.rv, HAVEN_EINVAL); /* agency is the GP's */
	json_decref(j);
}

/* ---------------------------------------------------------- M12-M14 */

static void
test_panel_rules(void **state)
{
	(void) state;
	/* R16: open to MAPPA; no MARAC history; not a referrer */
	deferred_fx(HAVEN_MSG_DAPP_REFERRAL, "dapp-referral-y-mappa.json", NULL,
	    POL, "R16:", "R16");
	deferred_fx(HAVEN_MSG_DAPP_REFERRAL, "dapp-referral-x.json",
	    e_no_history, POL, "R16:", "R16");
	deferred_fx(HAVEN_MSG_DAPP_REFERRAL, "dapp-referral-x.json", NULL, HSG,
	    "M12:", "R16-referrer");
	/* R17: a North referral to the South panel */
	deferred_fx(HAVEN_MSG_DAPP_REFERRAL, "dapp-referral-x.json",
	    e_to_south, POL, "R17:", "R17-panel-referral-north");
	/* R17/R8: a bundle to the other panel, to a school, from others */
	deferred_fx(HAVEN_MSG_DAPP_BUNDLE, "bad-dapp-bundle-to-south.json",
	    NULL, "dapp.north", "R17:", "R17");
	deferred_fx(HAVEN_MSG_DAPP_BUNDLE, "dapp-bundle-north.json",
	    e_to_school, "dapp.north", "R8:", "R8-edu-marac");
	deferred_fx(HAVEN_MSG_DAPP_BUNDLE, "dapp-bundle-north.json", e_to_hsg,
	    "dapp.south", "R17:", "R17");
	deferred_fx(HAVEN_MSG_DAPP_BUNDLE, "dapp-bundle-north.json", e_to_hsg,
	    POL, "R17:", "R17-from-chairs");
	deferred_fx(HAVEN_MSG_DAPP_ACTION_PLAN, "dapp-plan-north.json", NULL,
	    "dapp.south", "R17:", "R17");
}

/* ------------------------------------------------- content rules stay */

static void
e_judgement_no_rationale(json_t *j)
{
	e_dash15(j);
	assert_int_equal(json_object_set_new(json_object_get(j, "criteria"),
	    "judgement", json_pack("{s:s}", "rationale", "")), 0);
}

static void
e_caselist_dash(json_t *j)
{
	assert_int_equal(json_object_set_new(j, "dash", json_integer(18)), 0);
}

static void
e_victim_child(json_t *j)
{
	assert_int_equal(json_object_set_new(json_object_get(j, "victim"),
	    "dob", json_string("2012-01-01")), 0);
}

static void
e_m6_no_necessity(json_t *j)
{
	assert_int_equal(json_object_del(json_object_get(j, "m6"),
	    "necessity"), 0);
}

static void
e_owner_south(json_t *j)
{
	assert_int_equal(json_object_set_new(json_array_get(json_object_get(j,
	    "interventions"), 1), "owner",
	    json_string("housing.peterborough")), 0);
}

static void
test_content_stays(void **state)
{
	(void) state;
	content(HAVEN_MSG_MARAC_REFERRAL, "scenario4-gp-referral.json",
	    e_judgement_no_rationale, GP, HAVEN_EVALIDATE,
	    "criteria.judgement.rationale", "R11: professional judgement");
	content(HAVEN_MSG_MARAC_REFERRAL, "scenario4-gp-referral.json",
	    e_victim_child, GP, HAVEN_EVALIDATE, "victim.dob",
	    "M5: a MARAC victim is 16 or over");
	content(HAVEN_MSG_MARAC_REFERRAL, "scenario4-gp-referral-m6.json",
	    e_m6_no_necessity, GP, HAVEN_EINVAL, "m6.necessity", "");
	content(HAVEN_MSG_MARAC_ACTION_PLAN, "bad-plan-edu-non-education.json",
	    NULL, MCO, HAVEN_EVALIDATE, "actions[0].category",
	    "R8: a school gets education actions only");
	content(HAVEN_MSG_MARAC_CASE_LIST, "caselist.json", e_caselist_dash,
	    MCO, HAVEN_EVALIDATE, "dash", "M7: a case list carries no DASH");
	content(HAVEN_MSG_DAPP_ACTION_PLAN, "dapp-plan-north.json",
	    e_owner_south, "dapp.north", HAVEN_EVALIDATE,
	    "interventions[1].owner", "R17:");
}

/* ------------------------------------------- the parties' own check */

static void
parties_is(const haven_header *h, haven_err rv, const char *rule)
{
	haven_policy_decision d;

	assert_int_equal(haven_marac_check_parties(tu_dir, h, &d), rv);
	assert_int_equal(d.allow, rv == HAVEN_OK);
	assert_string_equal(d.rule, rule);
}

static void
test_check_parties(void **state)
{
	haven_header h;

	(void) state;
	memset(&h, 0, sizeof(h));
	h.type = HAVEN_MSG_MARAC_REFERRAL;
	(void) snprintf(h.sender, sizeof(h.sender), "%s", GP);
	h.n_recipients = 2;
	(void) snprintf(h.recipients[0], HAVEN_ID_MAX, "idva.cambs");
	(void) snprintf(h.recipients[1], HAVEN_ID_MAX, MCO);
	parties_is(&h, HAVEN_OK, "");
	/* a revoked IDVA */
	(void) snprintf(h.recipients[0], HAVEN_ID_MAX, "idva.old");
	parties_is(&h, HAVEN_EPOLICY, "R13");
	(void) snprintf(h.recipients[0], HAVEN_ID_MAX, "idva.nowhere");
	parties_is(&h, HAVEN_EPOLICY, "R13");
	h.n_recipients = 1;
	(void) snprintf(h.recipients[0], HAVEN_ID_MAX, MCO);
	parties_is(&h, HAVEN_EPOLICY, "R13");
	h.type = HAVEN_MSG_MARAC_CASE_LIST; /* not a parties rule */
	parties_is(&h, HAVEN_OK, "");
	h.type = HAVEN_MSG_DAPP_BUNDLE;
	(void) snprintf(h.sender, sizeof(h.sender), "dapp.north");
	parties_is(&h, HAVEN_OK, ""); /* no area: check_header's to name */
	tu_set_tag(&h, "area", "north");
	parties_is(&h, HAVEN_OK, "");
	tu_set_tag(&h, "area", "south");
	parties_is(&h, HAVEN_EPOLICY, "R17");
	h.type = HAVEN_MSG_DAPP_ACTION_PLAN;
	parties_is(&h, HAVEN_EPOLICY, "R17");
	(void) snprintf(h.sender, sizeof(h.sender), POL); /* a member */
	tu_set_tag(&h, "area", "north");
	parties_is(&h, HAVEN_EPOLICY, "R17"); /* but not a co-chair */
	(void) snprintf(h.sender, sizeof(h.sender), "nobody.here");
	parties_is(&h, HAVEN_EPOLICY, "R17");
	assert_int_equal(haven_marac_check_parties(NULL, &h, NULL),
	    HAVEN_EINVAL);
}

/* -------------------------------------------- the chair's full copies */

static size_t
view_of(const haven_marac_msg *m, const char *id)
{
	for (size_t v = 0; v < m->n_views; v++) {
		for (size_t k = 0; k < m->views[v].n_recipients; k++) {
			if (strcmp(m->views[v].recipients[k], id) == 0) {
				return (v);
			}
		}
	}
	fail_msg("%s is in no view", id);
	return (0);
}

/* The header of the one-view envelope holding view `v` only. */
static void
view_header(const haven_marac_msg *m, size_t v, const char *sender,
    haven_header *h)
{
	haven_marac_msg one = *m;

	one.n_views = 1;
	one.views[0] = m->views[v];
	signed_header(&one, sender, h);
}

static void
test_plan_full(void **state)
{
	struct tu_res r;
	haven_header h;
	json_t *j;
	size_t v;
	char got[HAVEN_RULE_ID_MAX], why[192];

	(void) state;
	tu_build(&r, HAVEN_MSG_MARAC_ACTION_PLAN, "action-plan.json", MCO,
	    NULL);
	tu_ok(&r);
	assert_int_equal(r.m->n_views, 7); /* six owners and the sender */
	v = view_of(r.m, MCO);
	assert_int_equal(v, 6);
	assert_string_equal(r.m->views[v].profile, "marac.plan.full");
	assert_int_equal(r.m->views[v].n_recipients, 1);
	tu_roundtrip(r.m);
	j = tu_view_json(r.m, v);
	assert_int_equal(json_array_size(json_object_get(j, "actions")), 6);
	assert_true(strlen(json_string_value(json_object_get(j,
	    "risk_summary"))) > 0);
	json_decref(j);
	/* the broker admits it to the coordinator, and the payload agrees */
	view_header(r.m, v, MCO, &h);
	broker_rule(&h, got, sizeof(got));
	assert_string_equal(got, "");
	assert_int_equal(haven_marac_verify_payload(&h, "marac.plan.full",
	    r.m->views[v].payload, r.m->views[v].payload_len, why,
	    sizeof(why)), HAVEN_OK);
	/* never to anyone but a coordinator or chair, never to a school */
	(void) snprintf(h.recipients[0], HAVEN_ID_MAX, HSG);
	broker_rule(&h, got, sizeof(got));
	assert_string_equal(got, "R8-plan-full-mco-only");
	(void) snprintf(h.recipients[0], HAVEN_ID_MAX, "school.urn.110123");
	broker_rule(&h, got, sizeof(got));
	assert_string_equal(got, "R8-edu-plan-view");
	(void) snprintf(h.recipients[0], HAVEN_ID_MAX, "dapp.north");
	broker_rule(&h, got, sizeof(got));
	assert_string_equal(got, "");
	/* only the coordinator sends it */
	view_header(r.m, v, HSG, &h);
	broker_rule(&h, got, sizeof(got));
	assert_string_equal(got, "default-deny");
	haven_marac_msg_free(&r.m);
}

static void
e_mco_owns(json_t *j)
{
	assert_int_equal(json_object_set_new(json_array_get(json_object_get(j,
	    "actions"), 4), "owner", json_string(MCO)), 0);
}

/* The coordinator owning an action still has one view: the full one. */
static void
test_plan_full_owner(void **state)
{
	struct tu_res r;

	(void) state;
	tu_build(&r, HAVEN_MSG_MARAC_ACTION_PLAN, "action-plan.json", MCO,
	    e_mco_owns);
	tu_ok(&r);
	assert_int_equal(r.m->n_views, 6);
	assert_string_equal(r.m->views[view_of(r.m, MCO)].profile,
	    "marac.plan.full");
	tu_roundtrip(r.m);
	haven_marac_msg_free(&r.m);
}

/* An M14's co-chairs are among its recipients, and the policy agrees. */
static void
test_dapp_plan_copy(void **state)
{
	struct tu_res r;
	haven_header h;
	char got[HAVEN_RULE_ID_MAX];

	(void) state;
	tu_build(&r, HAVEN_MSG_DAPP_ACTION_PLAN, "dapp-plan-north.json",
	    "dapp.north", NULL);
	tu_ok(&r);
	assert_int_equal(r.m->n_views, 1);
	(void) view_of(r.m, "dapp.north");
	signed_header(r.m, "dapp.north", &h);
	broker_rule(&h, got, sizeof(got));
	assert_string_equal(got, "");
	haven_marac_msg_free(&r.m);
}

/* Security review: a referral may not claim consent and carry an M6
 * record at once (it would re-open consent the victim withdrew), and
 * nothing is ever addressed to the broker. */
static void
test_contradictions(void **state)
{
	json_t *j = tu_fixture("scenario4-gp-referral-m6.json");
	haven_policy_query q;
	haven_policy_decision d;
	struct tu_res r;
	haven_header h;

	(void) state;
	build_ex(&r, HAVEN_MSG_MARAC_REFERRAL, j, GP,
	    HAVEN_MARAC_DEFER_BROKER);
	tu_ok(&r);
	signed_header(r.m, GP, &h);
	assert_int_equal(haven_marac_check_header(NULL, &h, tu_now, &d),
	    HAVEN_OK);
	tu_set_tag(&h, "consent", "yes");
	assert_int_equal(haven_marac_check_header(NULL, &h, tu_now, &d),
	    HAVEN_EPOLICY);
	assert_string_equal(d.rule, "R9");
	haven_marac_msg_free(&r.m);
	json_decref(j);
	memset(&q, 0, sizeof(q));
	q.sender_role = "MCO";
	q.recipient_role = "BRK";
	q.type = HAVEN_MSG_MARAC_ACTION_PLAN;
	q.legal_basis = HAVEN_MARAC_LEGAL_BASIS;
	q.profile = "marac.plan";
	haven_policy_evaluate(pol, &q, &d);
	assert_false(d.allow);
	assert_string_equal(d.rule, "no-broker-recipient");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_referral_rules),
		cmocka_unit_test(test_referral_tags),
		cmocka_unit_test(test_sharing_rules),
		cmocka_unit_test(test_research_to_chair),
		cmocka_unit_test(test_panel_rules),
		cmocka_unit_test(test_content_stays),
		cmocka_unit_test(test_check_parties),
		cmocka_unit_test(test_plan_full),
		cmocka_unit_test(test_plan_full_owner),
		cmocka_unit_test(test_dapp_plan_copy),
		cmocka_unit_test(test_contradictions),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
