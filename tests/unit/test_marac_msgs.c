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

#define CL "caselist.json"

static const struct tu_case caselist_refusals[] = {
	{ "bad-caselist-with-dash.json", MCO, NULL, { { NULL } },
	  HAVEN_EVALIDATE, "dash", "M7: a case list carries no DASH detail "
	  "and no narrative", NULL, 0, NULL },
	{ CL, MCO, NULL, { { "summary", "\"Dana was hurt\"" } },
	  HAVEN_EVALIDATE, "summary", "M7:", NULL, 0, "Dana" },
	{ CL, MCO, NULL, { { "to[]", "\"school.urn.110123\"" } },
	  HAVEN_EVALIDATE, "to[5]", "R14: the agency has not signed the "
	  "information-sharing agreement", NULL, 0, NULL },
	{ CL, MCO, NULL, { { "m6_recorded", NULL } }, HAVEN_EVALIDATE,
	  "m6_recorded", "R9-R11: sharing without consent needs an M6 "
	  "record", NULL, 0, NULL },
	{ CL, MCO, NULL, { { "consent", NULL } }, HAVEN_EINVAL, "consent",
	  "missing", NULL, 0, NULL },
	{ CL, MCO, NULL, { { "consent", "true" }, { "m6_recorded", NULL } },
	  HAVEN_OK, NULL, NULL, "consent=yes m6=no", 1, NULL },
};

static void
test_caselist_refusals(void **state)
{
	(void) state;
	TU_RUN(HAVEN_MSG_MARAC_CASE_LIST, caselist_refusals);
}

/* ------------------------------------------------- M8 research return */

#define RH "research-health.json"

static void
test_research(void **state)
{
	struct tu_res r;
	json_t *j;

	(void) state;
	j = tu_fixture(RH);
	tu_set(j, "in_reply_to", "\"00112233445566778899aabbccddeeff\"");
	tu_build_json(&r, HAVEN_MSG_MARAC_RESEARCH_RETURN, j, "gp.riverside",
	    NULL);
	json_decref(j);
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
}

static const struct tu_case research[] = {
	{ RH, "gp.riverside", NULL, { { "to", "[\"" MCO "\", "
	  "\"police.chair\", \"dapp.north\"]" } }, HAVEN_OK, NULL, NULL,
	  NULL, 0, NULL },
	{ RH, "housing.cambs", NULL, { { "agency", NULL },
	  { "caldicott_attested", "false" } }, HAVEN_OK, NULL, NULL,
	  "caldicott=no", 0, NULL },
	{ "bad-research-to-police.json", "gp.riverside", NULL, { { NULL } },
	  HAVEN_EVALIDATE, "to[1]", "R15: a research return goes to the "
	  "MARAC coordinator or chair only", NULL, 0, NULL },
	{ "bad-research-health-no-caldicott.json", "gp.riverside", NULL,
	  { { NULL } }, HAVEN_EVALIDATE, "caldicott_attested", "R15: a health "
	  "research return needs the Caldicott attestation", NULL, 0, NULL },
	{ RH, "gp.riverside", NULL, { { "agency", "\"police.cambs\"" } },
	  HAVEN_EINVAL, "agency", "must be the sending agency", NULL, 0, NULL },
	{ RH, "gp.riverside", NULL, { { "in_reply_to", "\"0011\"" } },
	  HAVEN_EINVAL, "in_reply_to", "must be 32 hex digits", NULL, 0,
	  NULL },
};

static void
test_research_table(void **state)
{
	(void) state;
	TU_RUN(HAVEN_MSG_MARAC_RESEARCH_RETURN, research);
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
	assert_int_equal(r.m->n_views, 7); /* each owner; the MCO's full */
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

#define AP "action-plan.json"

static const struct tu_case plan_refusals[] = {
	{ "bad-plan-edu-non-education.json", MCO, NULL, { { NULL } },
	  HAVEN_EVALIDATE, "actions[0].category", "R8: a school gets "
	  "education actions only", NULL, 0, NULL },
	{ AP, MCO, NULL, { { "actions[1].id", "\"A1\"" } }, HAVEN_EINVAL,
	  "actions[1].id", "duplicate id", NULL, 0, NULL },
	{ AP, MCO, NULL, { { "actions[1].due", "\"2026-11-24\"" } },
	  HAVEN_EINVAL, "actions[1].due", "before the meeting", NULL, 0,
	  NULL },
	{ AP, MCO, NULL, { { "actions[2].owner", "\"gp.nowhere\"" } },
	  HAVEN_EINVAL, "actions[2].owner", "not an active", NULL, 0, NULL },
	{ AP, MCO, NULL, { { "actions", "[]" } }, HAVEN_EINVAL, "actions",
	  "needs at least one action", NULL, 0, NULL },
	{ AP, MCO, NULL, { { "actions[1].category", "\"fire\"" } },
	  HAVEN_EINVAL, "actions[1].category", "must be one of", NULL, 0,
	  NULL },
};

static void
test_plan_refusals(void **state)
{
	struct tu_res r;
	json_t *j = tu_fixture(AP);

	(void) state;
	TU_RUN(HAVEN_MSG_MARAC_ACTION_PLAN, plan_refusals);
	tu_set(j, "to", "[\"refuge.cambs\"]"); /* an attendee gets a view */
	tu_build_json(&r, HAVEN_MSG_MARAC_ACTION_PLAN, j, MCO, NULL);
	json_decref(j);
	tu_ok(&r);
	assert_int_equal(r.m->n_views, 8);
	assert_string_equal(r.m->views[6].recipients[0], "refuge.cambs");
	tu_roundtrip(r.m);
	haven_marac_msg_free(&r.m);
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

#define AU "action-update.json"

static const struct tu_case update[] = {
	{ AU, "housing.cambs", NULL, { { NULL } }, HAVEN_OK, NULL, NULL, NULL,
	  1, NULL },
	{ AU, "probation.cambs", NULL, { { "to", "[\"dapp.north\"]" },
	  { "consent", NULL }, { "m6_recorded", NULL } }, HAVEN_OK, NULL, NULL,
	  "consent=no", 1, NULL },
	{ AU, "housing.cambs", NULL, { { "to[]", "\"dapp.north\"" } },
	  HAVEN_EINVAL, "to", "either the MARAC coordinator", NULL, 0, NULL },
	{ AU, "housing.cambs", NULL, { { "to", "[\"housing.cambs\"]" } },
	  HAVEN_EVALIDATE, "to[0]", "M10: action updates go to", NULL, 0,
	  NULL },
	{ AU, "housing.cambs", NULL, { { "status", "\"finished\"" } },
	  HAVEN_EINVAL, "status", "must be one of open|in-progress|done|"
	  "blocked", NULL, 0, NULL },
};

/* The purpose follows the recipient: MARAC or the perpetrator panel. */
static void
test_update(void **state)
{
	struct tu_res r;
	json_t *j = tu_fixture(AU);

	(void) state;
	TU_RUN(HAVEN_MSG_ACTION_UPDATE, update);
	tu_build_json(&r, HAVEN_MSG_ACTION_UPDATE, j, "housing.cambs", NULL);
	tu_ok(&r);
	assert_string_equal(r.m->purpose, "marac");
	haven_marac_msg_free(&r.m);
	tu_set(j, "to", "[\"dapp.north\"]");
	tu_set(j, "consent", NULL);
	tu_set(j, "m6_recorded", NULL);
	tu_build_json(&r, HAVEN_MSG_ACTION_UPDATE, j, "probation.cambs", NULL);
	json_decref(j);
	tu_ok(&r);
	assert_string_equal(r.m->purpose, "dapp");
	haven_marac_msg_free(&r.m);
}

static const struct tu_case repeat_flag[] = {
	{ "repeat-flag.json", "police.cambs", NULL,
	  { { "date", "\"2026-11-24\"" } }, HAVEN_EINVAL, "date",
	  "in the future", NULL, 0, NULL },
	{ "repeat-flag.json", "police.cambs", NULL,
	  { { "to", "[\"idva.cambs\"]" } }, HAVEN_EVALIDATE, "to[0]",
	  "R9-R11: this goes to the MARAC coordinator only", NULL, 0, NULL },
};

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
	TU_RUN(t, repeat_flag);
}

#define CW "consent-withdrawn.json"

static const struct tu_case consent[] = {
	{ CW, "idva.cambs", NULL, { { "decision", "\"given\"" },
	  { "reason", NULL } }, HAVEN_OK, NULL, NULL, "consent=given", 1,
	  NULL },
	{ CW, "idva.cambs", NULL, { { "reason", NULL } }, HAVEN_EINVAL,
	  "reason", "required when consent is refused or withdrawn", NULL, 0,
	  NULL },
	{ CW, "idva.cambs", NULL, { { "to", "[\"housing.cambs\"]" } },
	  HAVEN_EVALIDATE, "to[0]", "a consent decision goes to", NULL, 0,
	  NULL },
};

static void
test_consent(void **state)
{
	struct tu_res r;

	(void) state;
	tu_build(&r, HAVEN_MSG_CONSENT_DECISION, CW, "idva.cambs", NULL);
	tu_ok(&r);
	tu_tag_is(r.m, "consent", "withdrawn");
	assert_string_equal(r.m->views[0].profile, "marac.consent");
	assert_string_equal(r.m->purpose, "marac");
	tu_roundtrip(r.m);
	haven_marac_msg_free(&r.m);
	TU_RUN(HAVEN_MSG_CONSENT_DECISION, consent);
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
}

#define DX "dapp-referral-x.json"
#define DY "dapp-referral-y-mappa.json"

static const struct tu_case dapp_referral[] = {
	{ DY, "police.cambs", NULL, { { NULL } }, HAVEN_EVALIDATE,
	  "open_to_mappa", "R16: refer via MAPPA", NULL, 0, NULL },
	{ DX, "police.cambs", NULL, { { "marac_case_refs", "[]" } },
	  HAVEN_EVALIDATE, "marac_case_refs", "R16: ineligible (no MARAC "
	  "history)", NULL, 0, NULL },
	{ DX, "housing.cambs", NULL, { { NULL } }, HAVEN_EVALIDATE, "",
	  "M12: police, probation", NULL, 0, NULL },
	{ DX, "police.cambs", NULL, { { "mappa",
	  "{\"category\": 1, \"level\": 1}" } }, HAVEN_EINVAL, "mappa",
	  "only when open_to_mappa", NULL, 0, NULL },
	{ DY, "police.cambs", NULL, { { "mappa",
	  "{\"category\": 2, \"level\": 0}" } }, HAVEN_EINVAL, "mappa.level",
	  "must be 1 to 3", NULL, 0, NULL },
	{ DX, "police.cambs", NULL, { { "to", "[\"dapp.south\"]" } },
	  HAVEN_EVALIDATE, "to[0]", "R17: not the coordinator", NULL, 0,
	  NULL },
	{ DX, "police.cambs", NULL, { { "marac_case_refs",
	  "[\"M-1\", \"M-1\"]" } }, HAVEN_EINVAL, "marac_case_refs[1]",
	  "named twice", NULL, 0, NULL },
};

static void
test_dapp_referral_refusals(void **state)
{
	(void) state;
	TU_RUN(HAVEN_MSG_DAPP_REFERRAL, dapp_referral);
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
}

#define DB "dapp-bundle-north.json"

static const struct tu_case bundle[] = {
	{ "bad-dapp-bundle-to-school.json", "dapp.north", NULL, { { NULL } },
	  HAVEN_EVALIDATE, "to[1]", "R8: panel material never goes to a "
	  "school", NULL, 0, NULL },
	{ "bad-dapp-bundle-to-south.json", "dapp.north", NULL, { { NULL } },
	  HAVEN_EVALIDATE, "to[0]", "R17: not a member", NULL, 0, NULL },
	{ DB, "dapp.south", NULL, { { NULL } }, HAVEN_EVALIDATE, "area",
	  "R17: the sender does not", NULL, 0, NULL },
	{ DB, "police.cambs", NULL, { { NULL } }, HAVEN_EVALIDATE, "area",
	  "R17:", NULL, 0, NULL },
};

#define DP "dapp-plan-north.json"

static const struct tu_case dapp_plan[] = {
	{ DP, "dapp.north", NULL, { { NULL } }, HAVEN_OK, NULL, NULL,
	  "area=north", 1, NULL },
	{ DP, "dapp.north", NULL, { { "interventions[1].owner",
	  "\"housing.peterborough\"" } }, HAVEN_EVALIDATE,
	  "interventions[1].owner", "R17:", NULL, 0, NULL },
	{ DP, "dapp.north", NULL, { { "interventions[1].kind",
	  "\"punishment\"" } }, HAVEN_EINVAL, "interventions[1].kind",
	  "must be one of", NULL, 0, NULL },
	{ DP, "dapp.north", NULL, { { "interventions", "[]" } }, HAVEN_EINVAL,
	  "interventions", "needs at least one", NULL, 0, NULL },
};

static void
test_bundle_refusals(void **state)
{
	(void) state;
	TU_RUN(HAVEN_MSG_DAPP_BUNDLE, bundle);
}

static void
test_dapp_plan(void **state)
{
	struct tu_res r;

	(void) state;
	TU_RUN(HAVEN_MSG_DAPP_ACTION_PLAN, dapp_plan);
	tu_build(&r, HAVEN_MSG_DAPP_ACTION_PLAN, DP, "dapp.north", NULL);
	tu_ok(&r);
	assert_string_equal(r.m->views[0].profile, "dapp.plan");
	haven_marac_msg_free(&r.m);
}


/* ------------------------------------ broker header check, other types */

/*
 * One header check: the header of an accepted build of `fixture`, with
 * `tags` edited ("k=v" sets, a bare "k" deletes), the purpose and the
 * first view's profile replaced when not NULL; allowed under `rule` when
 * `reason` is NULL, else refused under `rule` with that reason.
 */
struct hdr_case {
	uint32_t type;
	const char *fixture;
	const char *sender;
	const char *tags;
	const char *purpose;
	const char *profile;
	const char *rule;
	const char *reason;
};

static void
hdr_tag(void *h, const char *key, const char *value)
{
	tu_set_tag(h, key, value);
}

static void
hdr_run_one(const struct hdr_case *c, size_t row)
{
	haven_header h;

	tu_header_of(c->type, c->fixture, c->sender, &h);
	(void) snprintf(tu_where, sizeof(tu_where), "header row %zu (%s): ",
	    row, c->fixture);
	tu_kv_each(c->tags, hdr_tag, &h);
	if (c->purpose != NULL) {
		(void) snprintf(h.purpose, sizeof(h.purpose), "%s",
		    c->purpose);
	}
	if (c->profile != NULL) {
		(void) snprintf(h.views[0].profile,
		    sizeof(h.views[0].profile), "%s", c->profile);
	}
	if (c->reason == NULL) {
		tu_allow_is(&h, c->rule);
	} else {
		tu_deny_is(&h, c->rule, c->reason);
	}
}

static void
hdr_run(const struct hdr_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		hdr_run_one(&cases[i], i);
	}
	tu_where[0] = '\0';
}

#define DREF HAVEN_MSG_DAPP_REFERRAL
#define DBUN HAVEN_MSG_DAPP_BUNDLE
#define POL "police.cambs"

static const struct hdr_case header_dapp[] = {
	{ DREF, DX, POL, "", NULL, NULL, "marac", NULL },
	{ DREF, DX, POL, "mappa=yes", NULL, NULL, "R16",
	  "R16: refer via MAPPA" },
	{ DREF, DX, POL, "marac_history=0", NULL, NULL, "R16",
	  "R16: ineligible (no MARAC history)" },
	{ DREF, DX, POL, "marac_history=01", NULL, NULL, "header",
	  "tag marac_history missing or malformed" },
	{ DREF, DX, POL, "marac_history=1000", NULL, NULL, "header",
	  "tag marac_history" },
	{ DREF, DX, POL, "area=east", NULL, NULL, "header",
	  "tag area missing or malformed" },
	{ DREF, DX, POL, "mappa", NULL, NULL, "header", "tag mappa missing" },
	{ DREF, DX, POL, "", "marac", NULL, "R18", "purpose must be dapp" },
	/* consent=no, m6=no: no R9-R11 for the panel */
	{ DBUN, DB, "dapp.north", "", NULL, NULL, "marac", NULL },
	{ DBUN, DB, "dapp.north", "area", NULL, NULL, "header",
	  "tag area missing" },
	{ DBUN, DB, "dapp.north", "consent=maybe", NULL, NULL, "header",
	  "tag consent missing or malformed" },
	{ HAVEN_MSG_DAPP_ACTION_PLAN, DP, "dapp.north", "area=South", NULL,
	  NULL, "header", "tag area" },
};

static void
test_header_dapp(void **state)
{
	(void) state;
	hdr_run(header_dapp, sizeof(header_dapp) / sizeof(header_dapp[0]));
}

#define M7 HAVEN_MSG_MARAC_CASE_LIST
#define M8 HAVEN_MSG_MARAC_RESEARCH_RETURN
#define M10 HAVEN_MSG_ACTION_UPDATE
#define M6 HAVEN_MSG_INFO_SHARED_WITHOUT_CONSENT
#define CD HAVEN_MSG_CONSENT_DECISION

static const struct hdr_case header_marac[] = {
	{ M7, CL, MCO, "m6=no", NULL, NULL, "R9-R11",
	  "R9-R11: sharing without consent needs an M6" },
	{ M7, CL, MCO, "m6=no consent=yes", NULL, NULL, "marac", NULL },
	{ M7, CL, MCO, "m6", NULL, NULL, "header", "tag m6 missing" },
	{ M8, RH, "gp.riverside", "caldicott", NULL, NULL, "header",
	  "tag caldicott missing" },
	{ M8, RH, "gp.riverside", "m6=no", NULL, NULL, "R9-R11", "R9-R11" },
	/* the panel's purpose: no R9-R11 */
	{ M10, AU, "housing.cambs", "m6=no", "dapp", NULL, "marac", NULL },
	{ M10, AU, "housing.cambs", "m6=no", "audit", NULL, "R18",
	  "purpose must be marac" },
	{ M6, "m6-standalone.json", "idva.cambs", "", NULL, NULL, "marac",
	  NULL },
	{ M6, "m6-standalone.json", "idva.cambs", "consent=yes", NULL, NULL,
	  "header", "an M6 record needs consent=no, m6=yes" },
	{ M6, "m6-standalone.json", "idva.cambs", "", NULL, "marac.referral",
	  "header", "a view's profile does not fit" },
	{ CD, CW, "idva.cambs", "", NULL, NULL, "marac", NULL },
	{ CD, CW, "idva.cambs", "consent=yes", NULL, NULL, "header",
	  "tag consent missing or malformed" },
};

static void
test_header_marac_types(void **state)
{
	(void) state;
	hdr_run(header_marac, sizeof(header_marac) / sizeof(header_marac[0]));
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
		cmocka_unit_test(test_research_table),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_plan_refusals),
		cmocka_unit_test(test_plan_edu_forged),
		cmocka_unit_test(test_update),
		cmocka_unit_test(test_repeat_flag),
		cmocka_unit_test(test_consent),
		cmocka_unit_test(test_dapp_referral),
		cmocka_unit_test(test_dapp_referral_refusals),
		cmocka_unit_test(test_bundle),
		cmocka_unit_test(test_bundle_refusals),
		cmocka_unit_test(test_dapp_plan),
		cmocka_unit_test(test_header_dapp),
		cmocka_unit_test(test_header_marac_types),
		cmocka_unit_test(test_verify_referral),
		cmocka_unit_test(test_verify_others),
		cmocka_unit_test(test_decoder),
	};

	return (cmocka_run_group_tests(tests, tu_setup, tu_teardown));
}
