/*
 * tests/integration/test_marac_scenarios.c: domain.md §6 scenarios 4, 5
 * and 6 and consent withdrawal, end to end with the real broker and real
 * haven-agent processes of the demo partnership (one partnership, one
 * broker, `sync` per agency instead of long-running agents, so it stays
 * cheap under valgrind).
 *
 * The clock is the controlled test clock: Monday 2026-11-23 08:00 UTC
 * (GMT), so a referral taken by the coordinator then is listed for that
 * day's 10:00 meeting, and one taken at 11:00 for Wednesday's.
 *
 * Every step checks what each agency can and cannot read, through its own
 * `inbox` and `show`: the IDVA never sees the M6 record or a research
 * return, the case list has no DASH or narrative and goes only to ISP
 * signatories (never the refuge, never a school), the school sees only
 * its education actions, panel material reaches that area's panel only.
 *
 * Every refusal of a rule the broker can see in the header (R9 and R10
 * criteria, R14, R15, R16, R17, R8, consent) is made by the broker, not
 * the sending agent: the command exits 2 with the broker's REJECT naming
 * the rule, and the broker's audit (`havenctl audit list --event REJECT`)
 * holds that REJECT for that message id. `--check` runs every rule in the
 * agent and sends nothing.
 *
 * Marker strings ("DASHNARRATIVE", "HOUSINGACTION"...) stand for content
 * that must or must not appear in what an agency can decrypt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "support_agent.h"
#include "support_harness.h"

#define T_MS 30000
#define MCO "marac.cambs"
#define IDVA "idva.cambs"
#define GP "gp.riverside"
#define HOUSING "housing.cambs"
#define SCHOOL "school.urn.110123"
#define REFUGE "refuge.cambs"
#define POLICE "police.cambs"
#define HV_RULE_MAX 32

#define M6_RECORD                                                         \
	"\"m6\":{\"purpose\":\"Safeguarding a high-risk victim\","        \
	"\"lawful_basis\":{\"article6\":\"UKGDPR-6-1-e\","                \
	"\"condition\":\"UKGDPR-9-2-g+DPA2018-S1P18\"},"                  \
	"\"necessity\":\"M6NECESSITY: necessary and proportionate\","    \
	"\"decision_maker\":{\"name\":\"Sam Safeguardinglead\","          \
	"\"role\":\"Safeguarding lead\"},"                                \
	"\"manager\":{\"name\":\"Max Manager\",\"role\":\"Manager\"},"    \
	"\"decided_on\":\"2026-11-22\"}"

/* A referral of (victim, perpetrator) by `agency` with these criteria;
 * `extra` is "" or more members (",\"m6\":{...}"). */
static void
referral(hv_partnership *p, const char *file, const char *case_ref,
    const char *agency, const char *victim, const char *perp,
    const char *criteria, bool consent, const char *extra)
{
	char buf[4096];

	(void) snprintf(buf, sizeof(buf),
	    "{\"case_ref\":\"%s\",\"to\":[\"idva.cambs\",\"marac.cambs\"],"
	    "\"referrer\":{\"agency\":\"%s\",\"officer\":\"Ref Officer\","
	    "\"contact\":\"01223 000001\"},"
	    "\"victim\":{\"name\":\"%s\",\"dob\":\"1990-04-01\","
	    "\"address\":\"2 Test Road, Cambridge\",\"safe_to_call\":true},"
	    "\"perpetrator\":{\"name\":\"%s\",\"dob\":\"1988-02-02\","
	    "\"relationship\":\"partner\",\"address\":\"9 Other Road\"},"
	    "\"children\":[{\"name\":\"Charlie Testchild\","
	    "\"dob\":\"2016-05-10\",\"relationship\":\"son of both\","
	    "\"school\":\"school.urn.110123\"}],"
	    "\"criteria\":%s,"
	    "\"consent\":{\"given\":%s,\"victim_aware\":true%s},"
	    "\"fears\":\"FEARSTEXT: he will find the flat\","
	    "\"incident\":{\"occurred_at\":\"2026-11-21T22:00:00Z\","
	    "\"summary\":\"DASHNARRATIVE: test incident\"}%s}",
	    case_ref, agency, victim, perp, criteria,
	    consent ? "true" : "false", consent ? "" :
	    ",\"reason_if_not\":\"CONSENTREASON: fears him\"", extra);
	assert_int_equal(hv_write(p, file, buf), 0);
}

static int
agent5(hv_partnership *p, const char *agency, json_t **doc, const char *a1,
    const char *a2, const char *a3, const char *a4, const char *a5)
{
	const char *const args[] = { a1, a2, a3, a4, a5, NULL };

	return (hv_agent(p, agency, T_MS, doc, NULL, args));
}

static int
agent(hv_partnership *p, const char *agency, json_t **doc, const char *a1,
    const char *a2, const char *a3, const char *a4)
{
	return (agent5(p, agency, doc, a1, a2, a3, a4, NULL));
}

/* REJECTs the broker sent back, to be found in its audit. */
#define REJ_MAX 16

static struct {
	char msg_id[33];
	char rule[HV_RULE_MAX];
} rejs[REJ_MAX];
static size_t n_rejs;

static void
note_reject(const json_t *m, const char *what, const char *rule)
{
	const json_t *rj = json_object_get(m, "reject");
	const char *id = json_string_value(json_object_get(m, "msg_id"));
	const char *got = json_string_value(json_object_get(rj, "rule"));

	if (!json_is_string(json_object_get(m, "status")) ||
	    strcmp(json_string_value(json_object_get(m, "status")),
	    "rejected") != 0 || got == NULL || strcmp(got, rule) != 0 ||
	    id == NULL || strlen(id) != 32) {
		fail_msg("%s: not a broker REJECT naming %s (got %s)", what,
		    rule, got != NULL ? got : "none");
	}
	assert_true(n_rejs < REJ_MAX);
	(void) snprintf(rejs[n_rejs].msg_id, sizeof(rejs[0].msg_id), "%s", id);
	(void) snprintf(rejs[n_rejs].rule, sizeof(rejs[0].rule), "%s", rule);
	n_rejs++;
}

/* Run `CMD SUB FILE`; expect exit 2 and the broker's REJECT naming
 * `rule` (the agent sent it: the rule is the broker's to apply). */
static void
expect_rejected(hv_partnership *p, const char *agency, const char *cmd,
    const char *sub, const char *file, const char *rule)
{
	json_t *doc = NULL;
	char what[128];
	int rc;

	rc = agent(p, agency, &doc, cmd, sub, hv_path(p, file), NULL);
	(void) snprintf(what, sizeof(what), "%s %s %s (exit %d)", agency, cmd,
	    sub, rc);
	if (rc != 2) {
		json_decref(doc);
		fail_msg("%s: expected exit 2, rule %s", what, rule);
	}
	note_reject(json_array_get(json_object_get(doc, "messages"), 0), what,
	    rule);
	json_decref(doc);
}

/* Run `CMD SUB FILE --check`; expect exit 2 naming `rule` from the
 * agent's own check (nothing sent: no "messages"), or, with rule NULL,
 * exit 0 and "sent": false. */
static void
expect_checked(hv_partnership *p, const char *agency, const char *cmd,
    const char *sub, const char *file, const char *rule)
{
	json_t *doc = NULL;
	const char *r;
	char got[64];
	int rc;

	rc = agent(p, agency, &doc, cmd, sub, hv_path(p, file), "--check");
	r = hv_refused_rule(doc);
	(void) snprintf(got, sizeof(got), "%s", r != NULL ? r : "(none)");
	assert_null(json_object_get(doc, "messages"));
	if (rule == NULL) {
		assert_int_equal(rc, 0);
		assert_true(json_is_true(json_object_get(doc, "checked")));
		assert_true(json_is_false(json_object_get(doc, "sent")));
	} else if (rc != 2 || strcmp(got, rule) != 0) {
		json_decref(doc);
		fail_msg("%s %s %s --check: exit %d, rule %s; expected exit "
		    "2, rule %s", agency, cmd, sub, rc, got, rule);
	}
	json_decref(doc);
}

static const json_t *
audit_entry(const json_t *list, const char *msg_id)
{
	const json_t *e;
	size_t i;

	json_array_foreach(list, i, e) {
		const char *id = json_string_value(json_object_get(e,
		    "msg_id"));

		if (id != NULL && strcasecmp(id, msg_id) == 0) {
			return (e);
		}
	}
	return (NULL);
}

/* Every REJECT noted so far is in the broker's tamper-evident audit:
 * `havenctl audit list --event REJECT --json`, an entry for that
 * message id whose reason ends "rule=<rule>". */
static void
expect_audited(hv_partnership *p)
{
	const char *const args[] = { "audit", "list", "--config",
		hv_path(p, "broker.json"), "--event", "REJECT", "--json",
		NULL };
	char *out = NULL, want[HV_RULE_MAX + 8];
	json_t *doc;
	const json_t *list, *e;
	const char *reason;
	size_t n;
	int rc = hv_run(p, "havenctl", args, T_MS, &out);

	doc = out != NULL ? hv_json(out) : NULL;
	free(out);
	if (rc != 0 || doc == NULL) {
		json_decref(doc);
		fail_msg("havenctl audit list: exit %d", rc);
	}
	list = json_is_array(doc) ? doc : json_object_get(doc, "entries");
	n = n_rejs;
	n_rejs = 0; /* a failure is this test's, not the next one's */
	for (size_t i = 0; i < n; i++) {
		(void) snprintf(want, sizeof(want), "rule=%s", rejs[i].rule);
		e = audit_entry(list, rejs[i].msg_id);
		reason = json_string_value(json_object_get(e, "reason"));
		if (e == NULL || reason == NULL || strlen(reason) <
		    strlen(want) || strcmp(reason + strlen(reason) -
		    strlen(want), want) != 0 || strcmp(json_string_value(
		    json_object_get(e, "event")), "REJECT") != 0) {
			json_decref(doc);
			fail_msg("no audited REJECT of %s naming %s",
			    rejs[i].msg_id, rejs[i].rule);
		}
	}
	json_decref(doc);
}

/* Run `CMD SUB FILE`; expect every envelope receipted; returns the
 * report (caller frees). */
static json_t *
expect_sent(hv_partnership *p, const char *agency, const char *cmd,
    const char *sub, const char *file)
{
	json_t *doc = NULL;
	const json_t *m;
	size_t i;
	int rc = agent(p, agency, &doc, cmd, sub, hv_path(p, file), NULL);

	if (rc != 0) {
		const char *r = hv_refused_rule(doc);
		const char *why = json_string_value(json_object_get(
		    json_object_get(doc, "error"), "reason"));
		char msg[256];

		(void) snprintf(msg, sizeof(msg), "%s %s %s: exit %d rule %s "
		    "(%s)", agency, cmd, sub, rc, r != NULL ? r : "-",
		    why != NULL ? why : "-");
		json_decref(doc);
		fail_msg("%s", msg);
	}
	assert_true(json_array_size(json_object_get(doc, "messages")) >= 1);
	json_array_foreach(json_object_get(doc, "messages"), i, m) {
		assert_string_equal(json_string_value(json_object_get(m,
		    "status")), "receipted");
	}
	return (doc);
}

/* The recipients of the first envelope of a report. */
static const json_t *
recipients(const json_t *doc)
{
	return (json_object_get(json_array_get(json_object_get(doc,
	    "messages"), 0), "recipients"));
}

/* `agency`'s only message of `type`: its decrypted text (caller frees). */
static char *
only_message(hv_partnership *p, const char *agency, const char *type)
{
	char ids[HV_IDS_MAX][33];

	assert_int_equal(hv_inbox_ids(p, agency, type, ids), 1);
	return (hv_show(p, agency, ids[0], NULL));
}

static void
expect_text(const char *text, const char *has, const char *hasnt)
{
	if (has != NULL && strstr(text, has) == NULL) {
		fail_msg("expected \"%s\" in what the agency can read", has);
	}
	if (hasnt != NULL && strstr(text, hasnt) != NULL) {
		fail_msg("\"%s\" must not be readable here", hasnt);
	}
}

/* The coordinator's `marac cases` listing (of one meeting, or all). */
static json_t *
mco_cases(hv_partnership *p, const char *meeting)
{
	json_t *doc = NULL;

	assert_int_equal(agent(p, MCO, &doc, "marac", "cases",
	    meeting != NULL ? "--meeting" : NULL, meeting), 0);
	assert_non_null(doc);
	return (doc);
}

static int
setup(void **state)
{
	*state = hv_partnership_new("2026-11-23T08:00:00Z", true);
	return (0);
}

/* ---- scenario 4: GP, DASH 18, victim refuses consent ---------------- */

static void
s4_refer(hv_partnership *p)
{
	json_t *doc, *c;

	referral(p, "s4-nom6.json", "MARAC-T-0001", GP, "Victoria Testvictim",
	    "Peter Testperp", "{\"dash\":18}", false, "");
	expect_checked(p, GP, "marac", "refer", "s4-nom6.json", "R9");
	expect_rejected(p, GP, "marac", "refer", "s4-nom6.json", "R9");
	referral(p, "s4.json", "MARAC-T-0001", GP, "Victoria Testvictim",
	    "Peter Testperp", "{\"dash\":18}", false, "," M6_RECORD);
	/* checked, not sent: the IDVA ends up with one referral (s4_idva) */
	expect_checked(p, GP, "marac", "refer", "s4.json", NULL);
	doc = expect_sent(p, GP, "marac", "refer", "s4.json");
	assert_int_equal(json_array_size(recipients(doc)), 2);
	assert_true(hv_jarray_has(recipients(doc), IDVA));
	assert_true(hv_jarray_has(recipients(doc), MCO));
	json_decref(doc);
	/* The coordinator lists it for today's 10:00 meeting. */
	assert_true(hv_sync(p, MCO) >= 1);
	doc = mco_cases(p, "2026-11-23");
	assert_int_equal(hv_jint(doc, "count"), 1);
	c = json_array_get(json_object_get(doc, "cases"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "meeting")),
	    "2026-11-23T10:00:00Z");
	assert_false(json_is_true(json_object_get(c, "repeat")));
	assert_string_equal(json_string_value(json_object_get(c, "consent")),
	    "refused");
	assert_true(json_is_true(json_object_get(c, "m6")));
	json_decref(doc);
}

/* The IDVA reads the referral but not the M6 record (MCO only). */
static void
s4_idva(hv_partnership *p)
{
	char *t;

	assert_true(hv_sync(p, IDVA) >= 1);
	t = only_message(p, IDVA, "MARAC_REFERRAL");
	expect_text(t, "Victoria Testvictim", "M6NECESSITY");
	free(t);
}

/* M7 to ISP signatories only, with names and no DASH or narrative. */
static void
s4_caselist(hv_partnership *p)
{
	json_t *doc = NULL, *c;
	const json_t *rc;
	char *t;

	assert_int_equal(agent(p, MCO, &doc, "marac", "caselist",
	    "--meeting", "2026-11-23"), 0);
	assert_int_equal(json_array_size(json_object_get(doc, "cases")), 1);
	c = json_array_get(json_object_get(doc, "cases"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "status")),
	    "sent");
	rc = recipients(json_object_get(c, "result"));
	assert_true(hv_jarray_has(rc, HOUSING) && hv_jarray_has(rc, GP) &&
	    hv_jarray_has(rc, IDVA) && hv_jarray_has(rc, POLICE));
	assert_false(hv_jarray_has(rc, REFUGE) || hv_jarray_has(rc, SCHOOL) ||
	    hv_jarray_has(rc, MCO));
	json_decref(doc);
	/* Sending again sends nothing new. */
	assert_int_equal(agent(p, MCO, &doc, "marac", "caselist",
	    "--meeting", "2026-11-23"), 0);
	c = json_array_get(json_object_get(doc, "cases"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "status")),
	    "already-sent");
	json_decref(doc);
	assert_int_equal(hv_sync(p, HOUSING), 1);
	t = only_message(p, HOUSING, "MARAC_CASE_LIST");
	expect_text(t, "Victoria Testvictim", "DASHNARRATIVE");
	expect_text(t, "Charlie Testchild", "FEARSTEXT");
	expect_text(t, "Peter Testperp", "\"dash\"");
	free(t);
	assert_int_equal(hv_sync(p, REFUGE), 0);
}

static const char research_to_idva[] =
    "{\"case_ref\":\"MARAC-T-0001\",\"to\":[\"idva.cambs\"],"
    "\"consent\":false,\"m6_recorded\":true,"
    "\"facts\":[\"HEALTHFACT: seen with injuries\"],"
    "\"caldicott_attested\":true}";
static const char research_ok[] =
    "{\"case_ref\":\"MARAC-T-0001\",\"to\":[\"marac.cambs\"],"
    "\"consent\":false,\"m6_recorded\":true,"
    "\"facts\":[\"HEALTHFACT: seen with injuries\"],"
    "\"caldicott_attested\":true}";

/* The health research return reaches the coordinator only (R15). */
static void
s4_research(hv_partnership *p)
{
	char ids[HV_IDS_MAX][33];
	json_t *doc;
	char *t;

	assert_int_equal(hv_write(p, "s4-r-idva.json", research_to_idva), 0);
	expect_rejected(p, GP, "marac", "research", "s4-r-idva.json",
	    "R15-research-to-chair");
	assert_int_equal(hv_write(p, "s4-r.json", research_ok), 0);
	doc = expect_sent(p, GP, "marac", "research", "s4-r.json");
	assert_int_equal(json_array_size(recipients(doc)), 1);
	assert_true(hv_jarray_has(recipients(doc), MCO));
	json_decref(doc);
	assert_int_equal(hv_sync(p, MCO), 1);
	t = only_message(p, MCO, "MARAC_RESEARCH_RETURN");
	expect_text(t, "HEALTHFACT", NULL);
	free(t);
	assert_int_equal(hv_sync(p, IDVA), 1); /* the case list only */
	assert_int_equal(hv_inbox_ids(p, IDVA, "MARAC_RESEARCH_RETURN", ids),
	    0);
}

static const char plan[] =
    "{\"case_ref\":\"MARAC-T-0001\",\"meeting_date\":\"2026-11-23\","
    "\"risk_summary\":\"RISKSUMMARY: high risk\",\"repeat\":false,"
    "\"consent\":false,\"m6_recorded\":true,\"actions\":["
    "{\"id\":\"A1\",\"owner\":\"school.urn.110123\","
    "\"category\":\"education\",\"description\":\"EDUACTION: watch\","
    "\"due\":\"2026-12-01\"},"
    "{\"id\":\"A2\",\"owner\":\"housing.cambs\",\"category\":\"housing\","
    "\"description\":\"HOUSINGACTION: locks\",\"due\":\"2026-12-01\"},"
    "{\"id\":\"A3\",\"owner\":\"gp.riverside\",\"category\":\"health\","
    "\"description\":\"HEALTHACTION: flag\",\"due\":\"2026-12-01\"},"
    "{\"id\":\"A4\",\"owner\":\"idva.cambs\",\"category\":\"idva\","
    "\"description\":\"IDVAACTION: safety plan\",\"due\":\"2026-11-30\"}]}";

/* M9: each owner gets its own actions; the school education only; the
 * coordinator keeps the whole plan (marac.plan.full). */
static void
s4_plan(hv_partnership *p)
{
	char ids[HV_IDS_MAX][33];
	json_t *doc;
	char *t;

	assert_int_equal(hv_write(p, "s4-plan.json", plan), 0);
	doc = expect_sent(p, MCO, "marac", "plan", "s4-plan.json");
	assert_int_equal(json_array_size(recipients(doc)), 5);
	assert_true(hv_jarray_has(recipients(doc), MCO));
	json_decref(doc);
	assert_int_equal(hv_sync(p, MCO), 1);
	t = only_message(p, MCO, "MARAC_ACTION_PLAN");
	expect_text(t, "EDUACTION", NULL);
	expect_text(t, "HOUSINGACTION", NULL);
	expect_text(t, "HEALTHACTION", NULL);
	expect_text(t, "IDVAACTION", NULL);
	expect_text(t, "RISKSUMMARY", NULL);
	free(t);
	assert_int_equal(hv_sync(p, SCHOOL), 1);
	assert_int_equal(hv_inbox_ids(p, SCHOOL, NULL, ids), 1);
	t = only_message(p, SCHOOL, "MARAC_ACTION_PLAN");
	expect_text(t, "EDUACTION", "HOUSINGACTION");
	expect_text(t, NULL, "RISKSUMMARY");
	expect_text(t, NULL, "IDVAACTION");
	free(t);
	assert_int_equal(hv_sync(p, HOUSING), 1);
	t = only_message(p, HOUSING, "MARAC_ACTION_PLAN");
	expect_text(t, "HOUSINGACTION", "EDUACTION");
	expect_text(t, "RISKSUMMARY", "HEALTHACTION");
	free(t);
}

static void
test_scenario4(void **state)
{
	hv_partnership *p = *state;

	s4_refer(p);
	s4_idva(p);
	s4_caselist(p);
	s4_research(p);
	s4_plan(p);
	expect_audited(p);
}

/* ---- scenario 5: housing, DASH 15, no consent ----------------------- */

static void
test_scenario5(void **state)
{
	hv_partnership *p = *state;
	json_t *doc;
	const json_t *c;

	referral(p, "s5-bad.json", "MARAC-T-0002", HOUSING, "Wendy Testvictim",
	    "Walter Testperp", "{\"dash\":15}", false, "");
	expect_rejected(p, HOUSING, "marac", "refer", "s5-bad.json", "R10");
	/* After the 10:00 meeting: listed for Wednesday's. */
	assert_int_equal(hv_clock_set(p, "2026-11-23T11:00:00Z"), 0);
	referral(p, "s5.json", "MARAC-T-0002", HOUSING, "Wendy Testvictim",
	    "Walter Testperp", "{\"dash\":15,\"judgement\":{\"rationale\":"
	    "\"Escalating controlling behaviour\"}}", false, "," M6_RECORD);
	json_decref(expect_sent(p, HOUSING, "marac", "refer", "s5.json"));
	assert_int_equal(hv_sync(p, MCO), 1);
	doc = mco_cases(p, "2026-11-25");
	assert_int_equal(hv_jint(doc, "count"), 1);
	c = json_array_get(json_object_get(doc, "cases"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "referrer")),
	    HOUSING);
	assert_false(json_is_true(json_object_get(c, "repeat")));
	json_decref(doc);
	expect_audited(p);
}

/* ---- R12 repeats and M11 flags --------------------------------------- */

static const char flag[] =
    "{\"case_ref\":\"MARAC-T-0002\",\"to\":[\"marac.cambs\"],"
    "\"consent\":false,\"m6_recorded\":true,\"date\":\"2026-11-22\","
    "\"incident_type\":\"unwanted-contact\"}";

static bool
case_repeat(const json_t *doc, const char *referrer, const char *meeting)
{
	const json_t *c;
	size_t i;

	json_array_foreach(json_object_get(doc, "cases"), i, c) {
		if (strcmp(json_string_value(json_object_get(c, "referrer")),
		    referrer) == 0 && strcmp(json_string_value(
		    json_object_get(c, "meeting_date")), meeting) == 0) {
			return (json_is_true(json_object_get(c, "repeat")));
		}
	}
	fail_msg("no case from %s for %s", referrer, meeting);
	return (false);
}

static void
test_repeats(void **state)
{
	hv_partnership *p = *state;
	json_t *doc;

	/* Police refer the same victim and perpetrator under a new case
	 * reference, with consent, not claiming a repeat: R12 finds it. */
	referral(p, "r12.json", "MARAC-T-0003", POLICE, "Victoria Testvictim",
	    "Peter Testperp", "{\"dash\":17}", true, "");
	json_decref(expect_sent(p, POLICE, "marac", "refer", "r12.json"));
	assert_int_equal(hv_write(p, "m11.json", flag), 0);
	json_decref(expect_sent(p, POLICE, "marac", "flag", "m11.json"));
	assert_int_equal(hv_sync(p, MCO), 2);
	doc = mco_cases(p, NULL);
	assert_int_equal(hv_jint(doc, "count"), 3);
	assert_true(case_repeat(doc, POLICE, "2026-11-25"));
	assert_true(case_repeat(doc, HOUSING, "2026-11-25"));
	assert_false(case_repeat(doc, GP, "2026-11-23"));
	json_decref(doc);
}

/* ---- consent withdrawal --------------------------------------------- */

static const char withdraw[] =
    "{\"case_ref\":\"MARAC-T-0003\",\"to\":[\"marac.cambs\","
    "\"idva.cambs\"],\"decision\":\"withdrawn\","
    "\"recorded_by\":\"PC 1234\",\"reason\":\"Victim withdrew\","
    "\"decided_on\":\"2026-11-23\"}";
static const char research_consent[] =
    "{\"case_ref\":\"MARAC-T-0003\",\"to\":[\"marac.cambs\"],"
    "\"consent\":true,\"facts\":[\"HEALTHFACT: seen\"],"
    "\"caldicott_attested\":true}";
static const char research_m6[] =
    "{\"case_ref\":\"MARAC-T-0003\",\"to\":[\"marac.cambs\"],"
    "\"consent\":false,\"m6_recorded\":true,"
    "\"facts\":[\"HEALTHFACT: seen\"],\"caldicott_attested\":true}";

static void
test_consent_withdrawal(void **state)
{
	hv_partnership *p = *state;
	json_t *doc, *c;
	const json_t *e;
	size_t i;

	/* Before the withdrawal, consent-based sharing for the case is fine. */
	assert_int_equal(hv_write(p, "rc.json", research_consent), 0);
	json_decref(expect_sent(p, GP, "marac", "research", "rc.json"));
	assert_int_equal(hv_write(p, "wd.json", withdraw), 0);
	doc = expect_sent(p, POLICE, "marac", "consent", "wd.json");
	assert_true(hv_jarray_has(recipients(doc), MCO) &&
	    hv_jarray_has(recipients(doc), IDVA));
	json_decref(doc);
	expect_rejected(p, GP, "marac", "research", "rc.json", "consent");
	assert_int_equal(hv_write(p, "rm6.json", research_m6), 0);
	json_decref(expect_sent(p, GP, "marac", "research", "rm6.json"));
	assert_int_equal(hv_sync(p, MCO), 3);
	doc = mco_cases(p, "2026-11-25");
	c = NULL;
	json_array_foreach(json_object_get(doc, "cases"), i, e) {
		if (strcmp(json_string_value(json_object_get(e, "referrer")),
		    POLICE) == 0) {
			c = (json_t *) e;
		}
	}
	assert_non_null(c);
	assert_string_equal(json_string_value(json_object_get(c, "consent")),
	    "withdrawn");
	json_decref(doc);
	expect_audited(p);
}

/* ---- scenario 6: the perpetrator panel ------------------------------- */

static const char dapp_x[] =
    "{\"case_ref\":\"DAPP-T-0001\",\"area\":\"north\","
    "\"perpetrator\":{\"name\":\"Peter Testperp\",\"dob\":\"1988-02-02\"},"
    "\"marac_case_refs\":[\"MARAC-T-0001\",\"MARAC-T-0003\"],"
    "\"open_to_mappa\":false,\"offending_summary\":\"OFFENDING: two\"}";
static const char dapp_y[] =
    "{\"case_ref\":\"DAPP-T-0002\",\"area\":\"north\","
    "\"perpetrator\":{\"name\":\"Yan Testperp\",\"dob\":\"1980-01-01\"},"
    "\"marac_case_refs\":[\"MARAC-T-0009\"],\"open_to_mappa\":true,"
    "\"mappa\":{\"category\":2,\"level\":2},"
    "\"offending_summary\":\"OFFENDING: violent\"}";
#define BUNDLE(to)                                                        \
	"{\"case_ref\":\"DAPP-T-0001\",\"area\":\"north\","               \
	"\"panel_date\":\"2026-11-30\"," to                               \
	"\"subject\":{\"name\":\"Peter Testperp\",\"dob\":\"1988-02-02\"}," \
	"\"subject_profile\":\"BUNDLEPROFILE: high harm\","               \
	"\"partner_returns\":[{\"agency\":\"probation.cambs\","           \
	"\"summary\":\"on licence\"}],"                                   \
	"\"victim_safety_notes\":\"SAFETYNOTES: refuge address\"}"
static const char dplan[] =
    "{\"case_ref\":\"DAPP-T-0001\",\"area\":\"north\","
    "\"panel_date\":\"2026-11-30\",\"interventions\":["
    "{\"id\":\"I1\",\"owner\":\"probation.cambs\",\"kind\":\"enforcement\","
    "\"description\":\"PRBACTION: licence conditions\","
    "\"due\":\"2026-12-14\"},"
    "{\"id\":\"I2\",\"owner\":\"das.cambs\",\"kind\":\"support\","
    "\"description\":\"DASACTION: alcohol programme\","
    "\"due\":\"2026-12-14\"}]}";
static const char update[] =
    "{\"case_ref\":\"DAPP-T-0001\",\"to\":[\"dapp.north\"],"
    "\"action_id\":\"I1\",\"status\":\"in-progress\"}";

static void
s6_refer(hv_partnership *p)
{
	json_t *doc;

	assert_int_equal(hv_write(p, "x.json", dapp_x), 0);
	doc = expect_sent(p, POLICE, "dapp", "refer", "x.json");
	assert_int_equal(json_array_size(recipients(doc)), 1);
	assert_true(hv_jarray_has(recipients(doc), "dapp.north"));
	json_decref(doc);
	assert_int_equal(hv_write(p, "y.json", dapp_y), 0);
	expect_checked(p, POLICE, "dapp", "refer", "y.json", "R16");
	expect_rejected(p, POLICE, "dapp", "refer", "y.json", "R16");
}

static void
s6_bundle(hv_partnership *p)
{
	json_t *doc;
	const json_t *rc;

	assert_int_equal(hv_write(p, "b-south.json",
	    BUNDLE("\"to\":[\"housing.peterborough\"],")), 0);
	expect_rejected(p, "dapp.north", "dapp", "bundle", "b-south.json",
	    "R17");
	assert_int_equal(hv_write(p, "b-school.json",
	    BUNDLE("\"to\":[\"school.urn.110123\"],")), 0);
	expect_checked(p, "dapp.north", "dapp", "bundle", "b-school.json",
	    "R8");
	expect_rejected(p, "dapp.north", "dapp", "bundle", "b-school.json",
	    "R8-edu-marac");
	assert_int_equal(hv_write(p, "b.json", BUNDLE("")), 0);
	doc = expect_sent(p, "dapp.north", "dapp", "bundle", "b.json");
	rc = recipients(doc);
	assert_true(hv_jarray_has(rc, "probation.cambs") &&
	    hv_jarray_has(rc, "das.cambs") && hv_jarray_has(rc, HOUSING));
	assert_false(hv_jarray_has(rc, "housing.peterborough") ||
	    hv_jarray_has(rc, "dapp.south") || hv_jarray_has(rc, SCHOOL));
	json_decref(doc);
	assert_int_equal(hv_write(p, "dplan.json", dplan), 0);
	json_decref(expect_sent(p, "dapp.north", "dapp", "plan",
	    "dplan.json"));
}

/* How many panel messages (DAPP_*) `agency` holds. */
static size_t
n_panel(hv_partnership *p, const char *agency)
{
	json_t *doc = NULL;
	const json_t *m;
	size_t i, n = 0;

	assert_int_equal(agent(p, agency, &doc, "inbox", NULL, NULL, NULL), 0);
	json_array_foreach(json_object_get(doc, "messages"), i, m) {
		const char *t = json_string_value(json_object_get(m, "type"));

		n += t != NULL && strncmp(t, "DAPP_", 5) == 0;
	}
	json_decref(doc);
	return (n);
}

static void
test_scenario6(void **state)
{
	hv_partnership *p = *state;
	char ids[HV_IDS_MAX][33];
	char *t;

	s6_refer(p);
	assert_int_equal(hv_sync(p, "dapp.north"), 1);
	s6_bundle(p);
	assert_true(hv_sync(p, "probation.cambs") >= 2); /* and the M7 */
	t = only_message(p, "probation.cambs", "DAPP_BUNDLE");
	expect_text(t, "BUNDLEPROFILE", NULL);
	free(t);
	t = only_message(p, "probation.cambs", "DAPP_ACTION_PLAN");
	expect_text(t, "PRBACTION", NULL);
	free(t);
	assert_true(hv_sync(p, "das.cambs") >= 2);
	assert_int_equal(hv_inbox_ids(p, "das.cambs", "DAPP_ACTION_PLAN", ids),
	    1);
	assert_int_equal(hv_write(p, "upd.json", update), 0);
	json_decref(expect_sent(p, "probation.cambs", "marac", "update",
	    "upd.json"));
	/* the co-chairs' own copy of their plan, and the update */
	assert_int_equal(hv_sync(p, "dapp.north"), 2);
	assert_int_equal(hv_inbox_ids(p, "dapp.north", "ACTION_UPDATE", ids),
	    1);
	t = only_message(p, "dapp.north", "DAPP_ACTION_PLAN");
	expect_text(t, "PRBACTION", NULL);
	expect_text(t, "DASACTION", NULL);
	free(t);
	/* The South panel, its housing member and the school get nothing. */
	assert_int_equal(hv_sync(p, "dapp.south"), 0);
	(void) hv_sync(p, "housing.peterborough"); /* the M7 at most */
	assert_int_equal(n_panel(p, "housing.peterborough"), 0);
	(void) hv_sync(p, SCHOOL);
	assert_int_equal(n_panel(p, SCHOOL), 0);
	expect_audited(p);
}

/* ---- R14: the coordinator's directory is not the broker's ----------- */

/* A directory in which the refuge has signed the information-sharing
 * agreement, signed by the admin and given to the coordinator's agent
 * only: the broker keeps the one in force (it has not loaded this one),
 * where the refuge has not signed. */
static void
mco_directory_says_refuge_signed(hv_partnership *p)
{
	const char *const args[] = { "directory", "sign", "--dir",
		hv_path(p, "mco-directory.json"), "--admin-key",
		hv_path(p, "admin.key"), "--out",
		hv_path(p, "mco-directory.signed"), NULL };
	json_t *d = json_load_file(hv_path(p, "directory.json"), 0, NULL);
	json_t *a, *cfg;
	size_t i;
	char *text;

	assert_non_null(d);
	json_array_foreach(json_object_get(d, "agencies"), i, a) {
		if (strcmp(json_string_value(json_object_get(a, "id")),
		    REFUGE) == 0) {
			assert_int_equal(json_object_set_new(json_object_get(
			    a, "attrs"), "isp", json_string("signed")), 0);
		}
	}
	text = json_dumps(d, JSON_INDENT(2));
	json_decref(d);
	assert_int_equal(hv_write(p, "mco-directory.json", text), 0);
	free(text);
	assert_int_equal(hv_run(p, "havenctl", args, T_MS, NULL), 0);
	cfg = json_load_file(hv_agent_config(p, MCO), 0, NULL);
	assert_non_null(cfg);
	assert_int_equal(json_object_set_new(cfg, "directory",
	    json_string(hv_path(p, "mco-directory.signed"))), 0);
	text = json_dumps(cfg, JSON_INDENT(2));
	json_decref(cfg);
	assert_int_equal(hv_write(p, "agents/" MCO "/agent.json", text), 0);
	free(text);
}

static void
test_caselist_isp_at_broker(void **state)
{
	hv_partnership *p = *state;
	json_t *doc = NULL;
	const json_t *c, *m;
	size_t i, n_valid;

	mco_directory_says_refuge_signed(p);
	/* --check belongs to the sending commands only */
	assert_int_equal(agent(p, MCO, &doc, "inbox", "--check", NULL, NULL),
	    2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    doc, "error"), "field")), "--check");
	json_decref(doc);
	doc = NULL;
	/* The agent's own check believes its directory (R14 passes) and
	 * sends nothing; it does refuse the case whose consent was
	 * withdrawn and that has no M6 record (R9-R11). */
	assert_int_equal(agent5(p, MCO, &doc, "marac", "caselist",
	    "--meeting", "2026-11-25", "--check"), 2);
	assert_int_equal(json_array_size(json_object_get(doc, "cases")), 2);
	n_valid = 0;
	json_array_foreach(json_object_get(doc, "cases"), i, c) {
		const char *st = json_string_value(json_object_get(c,
		    "status"));

		if (strcmp(st, "valid") == 0) {
			n_valid++;
			continue;
		}
		assert_string_equal(st, "refused");
		assert_string_equal(hv_refused_rule(json_object_get(c,
		    "result")), "R9-R11");
	}
	assert_int_equal(n_valid, 1);
	json_decref(doc);
	/* The broker's directory decides: refused (R14), and audited. */
	assert_int_equal(agent(p, MCO, &doc, "marac", "caselist",
	    "--meeting", "2026-11-25"), 2);
	json_array_foreach(json_object_get(doc, "cases"), i, c) {
		assert_string_equal(json_string_value(json_object_get(c,
		    "status")), "refused");
		m = json_array_get(json_object_get(json_object_get(c,
		    "result"), "messages"), 0);
		assert_true(hv_jarray_has(json_object_get(m, "recipients"),
		    REFUGE));
		note_reject(m, "caselist", "R14-case-list-isp");
	}
	json_decref(doc);
	assert_int_equal(hv_sync(p, REFUGE), 0);
	expect_audited(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scenario4),
		cmocka_unit_test(test_scenario5),
		cmocka_unit_test(test_repeats),
		cmocka_unit_test(test_consent_withdrawal),
		cmocka_unit_test(test_scenario6),
		cmocka_unit_test(test_caselist_isp_at_broker),
	};

	return (cmocka_run_group_tests(tests, setup, hv_teardown));
}
