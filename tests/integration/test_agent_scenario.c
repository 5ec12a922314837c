/*
 * tests/integration/test_agent_scenario.c: domain.md §6 scenario 1, end to
 * end, with the real broker and real haven-agent processes, on the
 * controlled clock (lib/clock.c).
 *
 * Friday 27 November 2026, 22:40: child 0 at school A, child 1 at school
 * B, child 2 home educated, child 3 at a school the directory does not
 * know. The police agent sends M1 to A (child 0 only), M1 to B (child 1
 * only), M2 to the LA EHE officer (child 2) and M4 to the SPOC (child 3,
 * R5). Each M1's signed deadline is Monday 08:30 London. Each recipient
 * sees only its own child; nothing goes back to the police until a named
 * person reads (A's DSL, with a staff reference and a role, both
 * required): the M3 carries the role in its header and the reference
 * inside. A header deadline later than the school's calendar allows is
 * refused by the broker (R5-deadline); a header that moves the incident
 * time to push the deadline later gets past the broker (which cannot see
 * the content) and is flagged unverified by the school agent. On Monday at
 * 08:31 B's unread notification has been escalated by the broker to the
 * SPOC and B's deputy DSL; B's deputy reads it at 08:40 and the SPOC's
 * inbox shows the escalation CLOSED by a DDSL. An R2 refusal names its
 * field and rule; the audit chain verifies.
 * Afterwards no child's name, the address or what a child said is to be
 * found in any store on disk (agents' inboxes and outboxes, the broker's
 * LMDB) or in any log: stores are encrypted at rest, logs carry ids only.
 *
 * A second partnership runs at 21:00 on Wednesday 22 July 2026, the last
 * day of the summer term in la.cambs: the deadline is the first day of the
 * autumn term (3 September, 08:30 BST) and the demo policy's holiday duty
 * contact (la.cambs.eds) gets the same notification; its reading sends no
 * receipt, the school's does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haven/calendar.h"
#include "haven/encompass.h"
#include "support_agent.h"
#include "support_harness.h"
#include "test_broker_client.h"
#include "util.h"

#include "../unit/cal_tu.h"

#define T_MS 30000

#define FRIDAY "2026-11-27T22:45:00Z"    /* the clock at the start */
#define OCCURRED "2026-11-27T22:40:00Z"
#define MONDAY_0830 "2026-11-30T08:30:00Z" /* GMT in November */
#define MONDAY_0831 "2026-11-30T08:31:00Z"
#define MONDAY_0840 "2026-11-30T08:40:00Z"
#define SCHOOL_A "school.urn.110123"
#define SCHOOL_B "school.urn.110456"
#define SPOC "police.cambs.spoc"

static const char incident[] =
    "{\"police_ref\":\"CC-2026-000777\","
    "\"occurred_at\":\"" OCCURRED "\","
    "\"location\":\"1 Test Street, Cambridge\","
    "\"circumstances\":\"Test incident text.\","
    "\"welfare_check\":true,\"csc_informed\":false,"
    "\"officer_contact\":\"PC 0000 Test\","
    "\"children\":["
    "{\"name\":\"Alpha Testchild\",\"dob\":\"2015-03-02\","
    "\"school\":\"school.urn.110123\",\"present\":true,\"where\":\"lounge\","
    "\"voice_of_child\":\"spoke briefly\"},"
    "{\"name\":\"Bravo Testchild\",\"dob\":\"2012-07-19\","
    "\"school\":\"school.urn.110456\",\"present\":false,\"where\":\"away\","
    "\"voice_of_child\":\"\"},"
    "{\"name\":\"Charlie Testchild\",\"dob\":\"2016-05-10\",\"ehe\":true,"
    "\"local_authority\":\"la.cambs\",\"present\":true,\"where\":\"kitchen\","
    "\"voice_of_child\":\"not spoken to\"},"
    "{\"name\":\"Delta Testchild\",\"dob\":\"2013-01-15\","
    "\"school\":\"school.urn.999999\",\"present\":true,\"where\":\"hall\","
    "\"voice_of_child\":\"\"}]}";

static const char *names[] = { "Alpha Testchild", "Bravo Testchild",
	"Charlie Testchild", "Delta Testchild" };

/* Run haven-agent for `agency` with --json and the given args. */
static int
agent(hv_partnership *p, const char *agency, json_t **doc, char **text,
    const char *a1, const char *a2, const char *a3, const char *a4,
    const char *a5)
{
	const char *const args[] = { a1, a2, a3, a4, a5, NULL };

	return (hv_agent(p, agency, T_MS, doc, text, args));
}

/* A partnership whose broker and agents run on the controlled clock,
 * set to `when` before the broker starts. */
static hv_partnership *
partnership_at(const char *when)
{
	return (hv_partnership_new(when, true));
}

static int
setup(void **state)
{
	hv_partnership *p = partnership_at(FRIDAY);

	assert_int_equal(hv_write(p, "incident.json", incident), 0);
	*state = p;
	return (0);
}

static const json_t *
message_to(const json_t *submit, const char *recipient)
{
	const json_t *m;
	size_t i;

	json_array_foreach(json_object_get(submit, "messages"), i, m) {
		if (strcmp(json_string_value(json_object_get(m, "recipient")),
		    recipient) == 0) {
			return (m);
		}
	}
	return (NULL);
}

static void
expect_message(const json_t *submit, const char *recipient,
    const char *type, int child)
{
	const json_t *m = message_to(submit, recipient);
	const json_t *kids;

	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "type")),
	    type);
	assert_string_equal(json_string_value(json_object_get(m, "status")),
	    "receipted");
	assert_true(json_integer_value(json_object_get(json_object_get(m,
	    "receipt"), "audit_seq")) > 0);
	kids = json_object_get(m, "children");
	assert_int_equal(json_array_size(kids), 1);
	assert_int_equal(json_integer_value(json_array_get(kids, 0)), child);
}

/* The recipient syncs, has exactly that message, and sees only `child`. */
static void
expect_inbox(hv_partnership *p, const char *agency, const char *msg_id,
    const char *type, int child)
{
	json_t *doc = NULL, *m;
	char *text = NULL;

	assert_int_equal(agent(p, agency, &doc, NULL, "sync", NULL, NULL, NULL,
	    NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "delivered")),
	    1);
	json_decref(doc);
	assert_int_equal(agent(p, agency, &doc, NULL, "inbox", NULL, NULL,
	    NULL, NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "count")), 1);
	m = json_array_get(json_object_get(doc, "messages"), 0);
	assert_string_equal(json_string_value(json_object_get(m, "msg_id")),
	    msg_id);
	assert_string_equal(json_string_value(json_object_get(m, "type")),
	    type);
	assert_true(json_is_true(json_object_get(m, "verified")));
	assert_false(json_is_true(json_object_get(m, "read")));
	json_decref(doc);
	assert_int_equal(agent(p, agency, &doc, &text, "show", msg_id, NULL,
	    NULL, NULL), 0);
	assert_true(json_is_true(json_object_get(json_object_get(doc,
	    "provenance"), "signature_verified")));
	assert_int_equal(json_array_size(json_object_get(json_object_get(doc,
	    "content"), "children")), 1);
	for (int i = 0; i < 4; i++) {
		assert_true((strstr(text, names[i]) != NULL) == (i == child));
	}
	json_decref(doc);
	free(text);
}

/* Personal data of the incident: none of it may be in a file at rest. */
static const char *const personal[] = { "Alpha Testchild", "Bravo Testchild",
	"Charlie Testchild", "Delta Testchild", "1 Test Street",
	"spoke briefly", "2015-03-02", NULL };

static bool
contains(const uint8_t *buf, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; n <= len && i <= len - n; i++) {
		if (buf[i] == (uint8_t) needle[0] &&
		    memcmp(buf + i, needle, n) == 0) {
			return (true);
		}
	}
	return (false);
}

static void
assert_no_personal_data(const hv_partnership *p, const char *rel)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(haven__read_file(hv_path(p, rel), 256u << 20, &buf,
	    &len), HAVEN_OK);
	assert_true(len > 0);
	for (size_t i = 0; personal[i] != NULL; i++) {
		if (contains(buf, len, personal[i])) {
			fail_msg("%s holds \"%s\"", rel, personal[i]);
		}
	}
	free(buf);
}

static void
check_at_rest(const hv_partnership *p)
{
	static const char *const files[] = {
		"agents/police.cambs/data/data.mdb",
		"agents/police.cambs.spoc/data/data.mdb",
		"agents/school.urn.110123/data/data.mdb",
		"agents/school.urn.110456/data/data.mdb",
		"agents/la.cambs.ehe/data/data.mdb",
		"broker-data/data.mdb", "haven-agent.log", "broker.log", NULL };

	for (size_t i = 0; files[i] != NULL; i++) {
		assert_no_personal_data(p, files[i]);
	}
}

static const char *
jstr(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	assert_non_null(v);
	return (v);
}

/* The police report submits; returns the msg id sent to `recipient`. */
static void
msg_id_of(const json_t *submit, const char *recipient, char id[40])
{
	(void) snprintf(id, 40, "%s", jstr(message_to(submit, recipient),
	    "msg_id"));
}

/* ---- the receipt is a person's act, with a role ---------------------- */

static void
expect_read_refused(hv_partnership *p, const char *id, const char *a3,
    const char *a4, const char *a5, const char *field)
{
	json_t *doc = NULL;

	assert_int_equal(agent(p, SCHOOL_A, &doc, NULL, "read", id, a3, a4,
	    a5), 2);
	assert_string_equal(jstr(json_object_get(doc, "error"), "field"),
	    field);
	json_decref(doc);
}

static void
check_read_receipt(hv_partnership *p, const char *id_a)
{
	json_t *doc = NULL, *m;
	char rid[40];

	/* Both schools' machines have the notifications: still nothing for
	 * the police, because nobody has read one. */
	assert_int_equal(agent(p, "police.cambs", &doc, NULL, "sync", NULL,
	    NULL, NULL, NULL), 0);
	assert_int_equal(hv_jint(doc, "delivered"), 0);
	json_decref(doc);
	expect_read_refused(p, id_a, "--role=DSL", NULL, NULL, "reader");
	expect_read_refused(p, id_a, "--reader", "dsl.01", NULL, "role");
	expect_read_refused(p, id_a, "--reader", "dsl.01", "--role=HEAD",
	    "role");
	/* School A's DSL opens it: M3 goes back to the police. */
	assert_int_equal(agent(p, SCHOOL_A, &doc, NULL, "read", id_a,
	    "--reader", "dsl.01", "--role=DSL"), 0);
	assert_string_equal(jstr(doc, "status"), "receipted");
	assert_string_equal(jstr(doc, "reader_role"), "DSL");
	json_decref(doc);
	/* A second read sends nothing more. */
	assert_int_equal(agent(p, SCHOOL_A, NULL, NULL, "read", id_a,
	    "--reader", "dsl.01", "--role=DSL"), 2);
	assert_int_equal(agent(p, "police.cambs", &doc, NULL, "sync", NULL,
	    NULL, NULL, NULL), 0);
	assert_int_equal(hv_jint(doc, "delivered"), 1);
	json_decref(doc);
	assert_int_equal(agent(p, "police.cambs", &doc, NULL, "inbox", NULL,
	    NULL, NULL, NULL), 0);
	m = json_array_get(json_object_get(doc, "messages"), 0);
	assert_string_equal(jstr(m, "type"), "OE_RECEIPT");
	assert_string_equal(jstr(m, "reader_role"), "DSL");
	(void) snprintf(rid, sizeof(rid), "%s", jstr(m, "msg_id"));
	json_decref(doc);
	assert_int_equal(agent(p, "police.cambs", &doc, NULL, "show", rid,
	    NULL, NULL, NULL), 0);
	assert_string_equal(jstr(doc, "in_reply_to"), id_a);
	/* the role in the header (audited), the reference only inside */
	assert_string_equal(jstr(json_object_get(doc, "tags"), "reader_role"),
	    "DSL");
	assert_string_equal(jstr(json_object_get(doc, "content"),
	    "reader_role"), "DSL");
	assert_string_equal(jstr(json_object_get(doc, "content"), "reader"),
	    "dsl.01");
	json_decref(doc);
}

/* ---- headers that lie about time ------------------------------------- */

static const char tamper_incident[] =
    "{\"police_ref\":\"CC-2026-000778\","
    "\"occurred_at\":\"2026-11-26T07:00:00Z\","
    "\"location\":\"2 Test Street, Cambridge\","
    "\"circumstances\":\"Test incident text.\","
    "\"children\":[{\"name\":\"Echo Testchild\",\"dob\":\"2015-03-02\","
    "\"school\":\"" SCHOOL_A "\",\"present\":true}]}";

/* An M1 to school A with the content of tamper_incident (Thursday 07:00)
 * and a header whose times the test chooses; `duty` adds a second
 * recipient tagged holiday=yes. */
static void
seal_m1(bc_client *c, int64_t occurred, int64_t deadline, const char *duty,
    uint8_t **env, size_t *len, uint8_t id[HAVEN_MSGID_BYTES])
{
	haven_incident *inc = calloc(1, sizeof(*inc));
	haven_oe_item item;
	const char *rcpt[2] = { SCHOOL_A, duty };
	uint8_t *payload = NULL;
	size_t plen = 0;
	haven_view_in view = { "oe.setting", rcpt, duty != NULL ? 2 : 1, NULL,
		0 };
	haven_header h;
	char err[256] = "";

	assert_non_null(inc);
	assert_int_equal(haven_incident_from_json(inc, tamper_incident,
	    strlen(tamper_incident), NULL, 0, NULL, 0), HAVEN_OK);
	memset(&item, 0, sizeof(item));
	item.kind = HAVEN_OE_NOTIFY_SETTING;
	item.n_children = 1;
	(void) snprintf(item.recipient, sizeof(item.recipient), SCHOOL_A);
	assert_int_equal(haven_oe_payload_encode(inc, &item, &payload, &plen),
	    HAVEN_OK);
	memset(&h, 0, sizeof(h));
	h.type = HAVEN_MSG_OE_NOTIFICATION;
	h.n_recipients = view.n_recipients;
	for (size_t i = 0; i < h.n_recipients; i++) {
		(void) snprintf(h.recipients[i], HAVEN_ID_MAX, "%s", rcpt[i]);
	}
	if (duty != NULL) {
		h.n_tags = 1;
		(void) snprintf(h.tags[0].key, HAVEN_CODE_MAX, "holiday");
		(void) snprintf(h.tags[0].value, HAVEN_TAGVAL_MAX, "yes");
	}
	h.seq = 1000 + ++c->seq; /* above the police agent's own */
	(void) snprintf(h.legal_basis, HAVEN_CODE_MAX, "DAA2021-S49A");
	(void) snprintf(h.purpose, HAVEN_CODE_MAX, "operation-encompass");
	h.created_ms = haven__now_ms();
	h.occurred_ms = occurred;
	h.deadline_ms = deadline;
	view.payload = payload;
	view.payload_len = plen;
	if (haven_envelope_seal(&h, false, &view, 1, c->keys, c->dir, env,
	    len, err, sizeof(err)) != HAVEN_OK) {
		fail_msg("seal: %s", err);
	}
	memcpy(id, h.msg_id, HAVEN_MSGID_BYTES);
	free(payload);
	free(inc);
}

/* Submit as police.cambs; the broker's answer kind, and its rule. */
static haven_frame_kind
submit_raw(bc_client *c, int64_t occurred, int64_t deadline,
    const char *duty, char rule[HAVEN_CODE_MAX], char hex[33])
{
	uint8_t *env = NULL, id[HAVEN_MSGID_BYTES];
	size_t len = 0;
	haven_frame r;
	haven_frame_kind kind;

	seal_m1(c, occurred, deadline, duty, &env, &len, id);
	assert_int_equal(bc_submit(c, env, len, &r), 0);
	kind = r.kind;
	(void) snprintf(rule, HAVEN_CODE_MAX, "%s", r.reject.rule);
	haven__hex_encode(hex, id, HAVEN_MSGID_BYTES);
	haven_frame_release(&r);
	free(env);
	return (kind);
}

static bool
log_has(const hv_partnership *p, const char *needle)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	bool hit;

	if (haven__read_file(hv_path(p, "haven-agent.log"), 16u << 20, &buf,
	    &len) != HAVEN_OK) {
		return (false);
	}
	hit = contains(buf, len, needle);
	free(buf);
	return (hit);
}

static void
check_tampered(hv_partnership *p)
{
	int64_t fri = T(OCCURRED), mon = T(MONDAY_0830);
	char rule[HAVEN_CODE_MAX], hex[33], needle[96];
	bc_client c;
	json_t *doc = NULL, *m;
	size_t i;

	assert_int_equal(bc_open(&c, p, "police.cambs"), 0);
	/* a deadline a week late, honest incident time: the broker */
	assert_int_equal(submit_raw(&c, fri, mon + 7 * 86400000LL, NULL, rule,
	    hex), HAVEN_FRAME_REJECT);
	assert_string_equal(rule, "R5-deadline");
	/* a holiday duty copy outside a holiday: the broker */
	assert_int_equal(submit_raw(&c, fri, mon, "la.cambs.eds", rule, hex),
	    HAVEN_FRAME_REJECT);
	/* content says Thursday 07:00 (deadline Thursday 08:30), header says
	 * Friday night: the broker cannot tell, the school agent can */
	assert_int_equal(submit_raw(&c, fri, mon, NULL, rule, hex),
	    HAVEN_FRAME_RECEIPT);
	bc_close(&c);
	assert_int_equal(agent(p, SCHOOL_A, &doc, NULL, "sync", NULL, NULL,
	    NULL, NULL), 0);
	assert_int_equal(hv_jint(doc, "unverified"), 1);
	json_decref(doc);
	(void) snprintf(needle, sizeof(needle),
	    "HAVEN-AGT-BADSIG msg=%s reason=deadline", hex);
	assert_true(log_has(p, needle));
	assert_int_equal(agent(p, SCHOOL_A, &doc, NULL, "inbox", NULL, NULL,
	    NULL, NULL), 0);
	json_array_foreach(json_object_get(doc, "messages"), i, m) {
		if (strcmp(jstr(m, "msg_id"), hex) == 0) {
			assert_false(json_is_true(json_object_get(m,
			    "verified")));
			break;
		}
	}
	assert_true(i < json_array_size(json_object_get(doc, "messages")));
	json_decref(doc);
	assert_int_equal(agent(p, SCHOOL_A, NULL, NULL, "read", hex,
	    "--reader", "dsl.01", "--role=DSL"), 2);
}

/* ---- escalations as the SPOC and the deputy see them ----------------- */

typedef struct esc_wait {
	hv_partnership *p;
	const char *agency;
	const char *about;
	bool want_closed;
	json_t *esc; /* a copy of the escalation entry found */
} esc_wait;

/* The broker escalation in `inbox` about `about` (not a closure). */
static json_t *
escalation_about(const json_t *inbox, const char *about)
{
	const json_t *m, *e;
	size_t i;

	json_array_foreach(json_object_get(inbox, "messages"), i, m) {
		e = json_object_get(m, "escalation");
		if (e != NULL && strcmp(jstr(e, "about"), about) == 0 &&
		    strcmp(jstr(e, "reason"), HAVEN_OE_REASON_CLOSED) != 0) {
			return (json_deep_copy(e));
		}
	}
	return (NULL);
}

static bool
escalated(void *arg)
{
	esc_wait *w = arg;
	json_t *doc = NULL;

	(void) agent(w->p, w->agency, NULL, NULL, "sync", NULL, NULL, NULL,
	    NULL);
	if (agent(w->p, w->agency, &doc, NULL, "inbox", NULL, NULL, NULL,
	    NULL) == 0 && doc != NULL) {
		json_decref(w->esc);
		w->esc = escalation_about(doc, w->about);
	}
	json_decref(doc);
	return (w->esc != NULL && (!w->want_closed ||
	    json_is_true(json_object_get(w->esc, "closed"))));
}

static void
check_escalation(hv_partnership *p, const char *id_a, const char *id_b)
{
	esc_wait w = { p, SPOC, id_b, false, NULL };
	esc_wait d = { p, SCHOOL_B ".deputy", id_b, false, NULL };
	json_t *doc = NULL, *none;

	assert_int_equal(hv_clock_set(p, MONDAY_0831), 0);
	assert_true(hv_eventually(escalated, &w, 60000));
	assert_string_equal(jstr(w.esc, "reason"), HAVEN_OE_REASON_DEADLINE);
	assert_string_equal(jstr(w.esc, "school"), SCHOOL_B);
	assert_string_equal(jstr(w.esc, "deadline"), MONDAY_0830);
	assert_false(json_is_true(json_object_get(w.esc, "closed")));
	assert_true(hv_eventually(escalated, &d, 30000));
	/* A read before its deadline: never escalated. */
	assert_int_equal(agent(p, SPOC, &doc, NULL, "inbox", NULL, NULL, NULL,
	    NULL), 0);
	none = escalation_about(doc, id_a);
	assert_null(none);
	json_decref(doc);
	/* B's deputy DSL reads it late: the SPOC is told, it is closed. */
	assert_int_equal(hv_clock_set(p, MONDAY_0840), 0);
	assert_int_equal(agent(p, SCHOOL_B, NULL, NULL, "read", id_b,
	    "--reader", "ddsl.07", "--role=DDSL"), 0);
	w.want_closed = true;
	assert_true(hv_eventually(escalated, &w, 60000));
	assert_string_equal(jstr(w.esc, "read_role"), "DDSL");
	assert_string_equal(jstr(w.esc, "read_at"), MONDAY_0840);
	json_decref(w.esc);
	json_decref(d.esc);
}

static void
test_scenario1(void **state)
{
	hv_partnership *p = *state;
	json_t *sub = NULL;
	char id_a[40], id_b[40], *text = NULL;

	assert_int_equal(agent(p, "police.cambs", &sub, &text, "encompass",
	    "submit", hv_path(p, "incident.json"), NULL, NULL), 0);
	/* The police's own report names no child. */
	for (int i = 0; i < 4; i++) {
		assert_null(strstr(text, names[i]));
	}
	free(text);
	assert_int_equal(json_array_size(json_object_get(sub, "messages")), 4);
	expect_message(sub, SCHOOL_A, "OE_NOTIFICATION", 0);
	expect_message(sub, SCHOOL_B, "OE_NOTIFICATION", 1);
	expect_message(sub, "la.cambs.ehe", "OE_EHE_NOTIFICATION", 2);
	expect_message(sub, SPOC, "OE_ESCALATION", 3);
	assert_string_equal(jstr(message_to(sub, SPOC), "reason"),
	    "school-unknown");
	/* M1 deadline: Monday 08:30 London (GMT in November); term time,
	 * so no holiday duty copy. */
	assert_string_equal(jstr(message_to(sub, SCHOOL_A), "deadline"),
	    MONDAY_0830);
	assert_string_equal(jstr(message_to(sub, SCHOOL_B), "deadline"),
	    MONDAY_0830);
	assert_true(json_is_null(json_object_get(message_to(sub, SCHOOL_A),
	    "holiday_duty")));
	msg_id_of(sub, SCHOOL_A, id_a);
	msg_id_of(sub, SCHOOL_B, id_b);

	expect_inbox(p, SCHOOL_A, id_a, "OE_NOTIFICATION", 0);
	expect_inbox(p, SCHOOL_B, id_b, "OE_NOTIFICATION", 1);
	expect_inbox(p, "la.cambs.ehe", jstr(message_to(sub, "la.cambs.ehe"),
	    "msg_id"), "OE_EHE_NOTIFICATION", 2);
	expect_inbox(p, SPOC, jstr(message_to(sub, SPOC), "msg_id"),
	    "OE_ESCALATION", 3);
	json_decref(sub);

	check_read_receipt(p, id_a);
	check_tampered(p);
	check_escalation(p, id_a, id_b);

	assert_int_equal(hv_broker_stop(p), 0);
	{
		const char *args[] = { "audit", "verify", "--config",
			hv_path(p, "broker.json"), NULL };
		assert_int_equal(hv_run(p, "havenctl", args, T_MS, NULL), 0);
	}
	check_at_rest(p);
}

/* ---- the last day of the summer term ---------------------------------- */

static const char holiday_incident[] =
    "{\"police_ref\":\"CC-2026-000555\","
    "\"occurred_at\":\"2026-07-22T20:00:00Z\","
    "\"location\":\"3 Test Street, Cambridge\","
    "\"circumstances\":\"Test incident text.\","
    "\"children\":[{\"name\":\"Foxtrot Testchild\",\"dob\":\"2015-03-02\","
    "\"school\":\"" SCHOOL_A "\",\"present\":true}]}";

static int
setup_holiday(void **state)
{
	hv_partnership *p = partnership_at("2026-07-22T20:05:00Z");

	assert_int_equal(hv_write(p, "incident.json", holiday_incident), 0);
	*state = p;
	return (0);
}

static void
test_holiday(void **state)
{
	hv_partnership *p = *state;
	json_t *sub = NULL, *doc = NULL, *m;
	char id[40];

	assert_int_equal(agent(p, "police.cambs", &sub, NULL, "encompass",
	    "submit", hv_path(p, "incident.json"), NULL, NULL), 0);
	m = (json_t *) message_to(sub, SCHOOL_A);
	assert_non_null(m);
	assert_string_equal(jstr(m, "status"), "receipted");
	/* 21:00 BST on the last day of term: first day of the autumn term,
	 * 08:30 BST */
	assert_string_equal(jstr(m, "deadline"), "2026-09-03T07:30:00Z");
	assert_string_equal(jstr(m, "holiday_duty"), "la.cambs.eds");
	msg_id_of(sub, SCHOOL_A, id);
	json_decref(sub);
	/* the duty contact has the very same message, verified */
	assert_int_equal(agent(p, "la.cambs.eds", &doc, NULL, "sync", NULL,
	    NULL, NULL, NULL), 0);
	assert_int_equal(hv_jint(doc, "delivered"), 1);
	json_decref(doc);
	assert_int_equal(agent(p, "la.cambs.eds", &doc, NULL, "inbox", NULL,
	    NULL, NULL, NULL), 0);
	m = json_array_get(json_object_get(doc, "messages"), 0);
	assert_string_equal(jstr(m, "msg_id"), id);
	assert_true(json_is_true(json_object_get(m, "verified")));
	assert_true(json_is_true(json_object_get(m, "holiday_duty_copy")));
	json_decref(doc);
	/* its reading is recorded, but is not the school's: no receipt */
	assert_int_equal(agent(p, "la.cambs.eds", &doc, NULL, "read", id,
	    "--reader", "eds.02", "--role=DSL"), 0);
	assert_string_equal(jstr(doc, "status"), "none");
	json_decref(doc);
	/* the school has it too; its DSL's reading sends the receipt */
	assert_int_equal(agent(p, SCHOOL_A, &doc, NULL, "sync", NULL, NULL,
	    NULL, NULL), 0);
	assert_int_equal(hv_jint(doc, "delivered"), 1);
	json_decref(doc);
	assert_int_equal(agent(p, SCHOOL_A, &doc, NULL, "show", id, NULL, NULL,
	    NULL), 0);
	assert_string_equal(jstr(json_object_get(doc, "tags"), "holiday"),
	    "yes");
	assert_string_equal(jstr(doc, "deadline"), "2026-09-03T07:30:00Z");
	json_decref(doc);
	assert_int_equal(agent(p, "police.cambs", &doc, NULL, "sync", NULL,
	    NULL, NULL, NULL), 0);
	assert_int_equal(hv_jint(doc, "delivered"), 0);
	json_decref(doc);
	assert_int_equal(agent(p, SCHOOL_A, &doc, NULL, "read", id,
	    "--reader", "dsl.01", "--role=DSL"), 0);
	assert_string_equal(jstr(doc, "status"), "receipted");
	json_decref(doc);
	assert_int_equal(agent(p, "police.cambs", &doc, NULL, "sync", NULL,
	    NULL, NULL, NULL), 0);
	assert_int_equal(hv_jint(doc, "delivered"), 1);
	json_decref(doc);
}

static void
test_refusals(void **state)
{
	hv_partnership *p = *state;
	json_t *doc = NULL, *err;
	char path[600];

	(void) snprintf(path, sizeof(path), "%s/tests/fixtures/incidents/"
	    "bad-age-3.json", HAVEN_SOURCE_DIR);
	assert_int_equal(agent(p, "police.cambs", &doc, NULL, "encompass",
	    "submit", path, NULL, NULL), 2);
	err = json_object_get(doc, "error");
	assert_string_equal(json_string_value(json_object_get(err, "rule")),
	    "R2");
	assert_non_null(strstr(json_string_value(json_object_get(err,
	    "field")), "dob"));
	json_decref(doc);
	(void) snprintf(path, sizeof(path), "%s/tests/fixtures/incidents/"
	    "bad-unknown-field.json", HAVEN_SOURCE_DIR);
	assert_int_equal(agent(p, "police.cambs", NULL, NULL, "encompass",
	    "submit", path, NULL, NULL), 2);
	/* nothing was queued for anyone */
	assert_int_equal(agent(p, "school.urn.110123", &doc, NULL, "sync",
	    NULL, NULL, NULL, NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "delivered")),
	    0);
	json_decref(doc);
	/* usage errors and bad ids are input refusals */
	assert_int_equal(agent(p, "school.urn.110123", NULL, NULL, "show",
	    "nothex", NULL, NULL, NULL), 2);
	assert_int_equal(agent(p, "school.urn.110123", NULL, NULL, "show",
	    "00000000000000000000000000000000", NULL, NULL, NULL), 2);
	assert_int_equal(agent(p, "school.urn.110123", NULL, NULL, "read",
	    "00000000000000000000000000000000", "--reader", "Jane Smith",
	    "--role=DSL"), 2);
	assert_int_equal(agent(p, "school.urn.110123", NULL, NULL, "frobnicate",
	    NULL, NULL, NULL, NULL), 2);
}

/* Every command's --help works, names --config and --json, and exits 0;
 * "encompass --help" describes the group's only subcommand. */
static void
test_help(void **state)
{
	hv_partnership *p = *state;
	static const char *const cmds[][2] = { { "encompass", NULL },
		{ "encompass", "submit" }, { "sync", NULL }, { "run", NULL },
		{ "inbox", NULL }, { "show", NULL }, { "read", NULL } };

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *args[4] = { cmds[i][0], cmds[i][1] != NULL ?
			cmds[i][1] : "--help", cmds[i][1] != NULL ? "--help" :
			NULL, NULL };
		char *out = NULL;

		assert_int_equal(hv_run(p, "haven-agent", args, T_MS, &out),
		    0);
		assert_non_null(out);
		assert_non_null(strstr(out, "--config FILE"));
		assert_non_null(strstr(out, "--json"));
		free(out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scenario1, setup,
		    hv_teardown),
		cmocka_unit_test_setup_teardown(test_holiday, setup_holiday,
		    hv_teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup,
		    hv_teardown),
		cmocka_unit_test_setup_teardown(test_help, setup, hv_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
