/*
 * tests/integration/test_encompass_deadlines.c: issue 3's acceptance cases,
 * end to end, on the controlled clock.
 *
 * One throw-away partnership (with the la.cambs calendar and the England
 * and Wales bank holidays), one real haven-broker and real haven-agent
 * processes, all reading the time from the partnership's clock file
 * (hv_clock_set, set before the broker starts). The clock only moves
 * forward, through the tests in order:
 *   1. Wed 2026-07-22 21:00 BST, the last day of the summer term: the
 *      deadline in the header and the audit is the first day of the autumn
 *      term, Thu 2026-09-03 08:30 BST; a forged later one is refused
 *      (R5-deadline).
 *   2. Sat 2026-10-24, half term: school A does not connect for two days
 *      with a notification waiting: a school-offline escalation to the
 *      SPOC and the deputy DSL; a later read closes it.
 *   3. Fri 2026-11-27 22:40: two notifications to school A, collected at
 *      22:50. The DSL reads one at Mon 08:10 (no escalation); the other is
 *      unread at 08:30: escalated to the SPOC and the deputy DSL, both get
 *      it; the DSL reads it at 09:00: ESCALATE_CLOSED, and the SPOC gets a
 *      read-after-escalation M4.
 *   4. Refusals: the police forging a deadline-missed escalation; a school
 *      sending a receipt for another school's notification.
 * Finally the audit chain verifies, and with the broker stopped the real
 * havenctl reports on its audit: `report encompass --config` counts, per
 * school, what the scenarios did, and `audit list --event ESCALATE` lists
 * the two escalations with their reasons.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haven.pb-c.h"
#include "haven/calendar.h"
#include "haven/encompass.h"
#include "support_agent.h"
#include "test_broker_client.h"

#include "../unit/cal_tu.h"

#define T_MS 30000
#define WAIT_MS 5000
#define SCHOOL_A "school.urn.110123"
#define SCHOOL_B "school.urn.110456"
#define DEPUTY_A "school.urn.110123.deputy"
#define SPOC "police.cambs.spoc"
#define POLICE "police.cambs"

static hv_partnership part;
static char id_off[33]; /* the half-term notification (test 2) */
static char id_s2[33]; /* the Friday notification escalated (test 3) */

/* ------------------------------------------------------------ helpers */

static void
clock_at(const char *when)
{
	assert_int_equal(hv_clock_set(&part, when), 0);
}

static int
agent(const char *agency, json_t **doc, const char *a1, const char *a2,
    const char *a3, const char *a4, const char *a5)
{
	const char *const args[] = { a1, a2, a3, a4, a5, NULL };

	return (hv_agent(&part, agency, T_MS, doc, NULL, args));
}

static void
write_incident(const char *file, const char *ref, const char *occurred,
    const char *school)
{
	char text[1024];

	(void) snprintf(text, sizeof(text),
	    "{\"police_ref\":\"%s\",\"occurred_at\":\"%s\","
	    "\"location\":\"1 Test Street, Cambridge\","
	    "\"circumstances\":\"Test incident.\",\"welfare_check\":true,"
	    "\"csc_informed\":false,\"officer_contact\":\"PC 0000 Test\","
	    "\"children\":[{\"name\":\"Echo Testchild\",\"dob\":"
	    "\"2015-03-02\",\"school\":\"%s\",\"present\":true,"
	    "\"where\":\"lounge\",\"voice_of_child\":\"\"}]}",
	    ref, occurred, school);
	assert_int_equal(hv_write(&part, file, text), 0);
}

/* The police submit an incident; the school's message id and deadline. */
static void
police_submit(const char *file, const char *school, char id[33],
    const char *want_deadline)
{
	json_t *doc = NULL, *m;
	size_t i;
	bool found = false;

	assert_int_equal(agent(POLICE, &doc, "encompass", "submit",
	    hv_path(&part, file), NULL, NULL), 0);
	json_array_foreach(json_object_get(doc, "messages"), i, m) {
		if (strcmp(json_string_value(json_object_get(m, "type")),
		    "OE_NOTIFICATION") != 0) {
			continue;
		}
		assert_string_equal(json_string_value(json_object_get(m,
		    "recipient")), school);
		assert_string_equal(json_string_value(json_object_get(m,
		    "status")), "receipted");
		assert_string_equal(json_string_value(json_object_get(m,
		    "deadline")), want_deadline);
		(void) snprintf(id, 33, "%s",
		    json_string_value(json_object_get(m, "msg_id")));
		found = true;
	}
	json_decref(doc);
	assert_true(found);
}

static void
sync_agent(const char *agency)
{
	json_t *doc = NULL;

	assert_int_equal(agent(agency, &doc, "sync", NULL, NULL, NULL, NULL),
	    0);
	json_decref(doc);
}

static void
dsl_reads(const char *school, const char *id, const char *role)
{
	json_t *doc = NULL;
	char r[32];

	(void) snprintf(r, sizeof(r), "--role=%s", role);
	assert_int_equal(agent(school, &doc, "read", id, "--reader", "dsl.01",
	    r), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "status")),
	    "receipted");
	json_decref(doc);
}

/* `agency` syncs and has the broker's escalation `reason` about `about`. */
static void
expect_escalation(const char *agency, const char *about, const char *reason,
    const char *role)
{
	json_t *doc = NULL, *m, *esc;
	size_t i;
	bool found = false;

	sync_agent(agency);
	assert_int_equal(agent(agency, &doc, "inbox", NULL, NULL, NULL, NULL),
	    0);
	json_array_foreach(json_object_get(doc, "messages"), i, m) {
		esc = json_object_get(m, "escalation");
		if (esc == NULL || strcmp(json_string_value(json_object_get(m,
		    "sender")), "broker") != 0 ||
		    strcmp(json_string_value(json_object_get(esc, "about")),
		    about) != 0 ||
		    strcmp(json_string_value(json_object_get(esc, "reason")),
		    reason) != 0) {
			continue;
		}
		assert_string_equal(json_string_value(json_object_get(m,
		    "type")), "OE_ESCALATION");
		assert_true(json_is_true(json_object_get(m, "verified")));
		if (role != NULL) {
			assert_string_equal(json_string_value(json_object_get(
			    esc, "reader_role")), role);
		}
		found = true;
	}
	json_decref(doc);
	if (!found) {
		fail_msg("%s has no %s escalation about %s", agency, reason,
		    about);
	}
}

/* ------------------------------------------------------------- audit */

typedef struct aq {
	uint32_t event;
	uint8_t id[HAVEN_MSGID_BYTES];
	const char *reason_has; /* NULL: any */
	int n;
	haven_audit_entry last;
} aq;

static void
aq_init(aq *q, uint32_t event, const char *hex, const char *reason_has)
{
	memset(q, 0, sizeof(*q));
	q->event = event;
	assert_int_equal(haven__hex_decode(q->id, HAVEN_MSGID_BYTES, hex),
	    HAVEN_OK);
	q->reason_has = reason_has;
}

/* Count matching entries of the broker's audit (read-only). */
static int
audit_scan(aq *q)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_dbi dbi;
	MDB_val k, d;
	haven_audit_entry e;

	q->n = -1;
	if (mdb_env_create(&env) != 0) {
		return (-1);
	}
	(void) mdb_env_set_maxdbs(env, 32);
	if (mdb_env_open(env, hv_path(&part, "broker-data"), MDB_RDONLY,
	    0600) != 0 || mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0 ||
	    mdb_dbi_open(txn, "audit", 0, &dbi) != 0 ||
	    mdb_cursor_open(txn, dbi, &cur) != 0) {
		goto out;
	}
	q->n = 0;
	for (int rc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
		if (haven_audit_decode(&e, d.mv_data, d.mv_size) == HAVEN_OK &&
		    e.event == q->event && e.has_msg &&
		    memcmp(e.msg_id, q->id, HAVEN_MSGID_BYTES) == 0 &&
		    (q->reason_has == NULL ||
		    strstr(e.reason, q->reason_has) != NULL)) {
			q->n++;
			q->last = e;
		}
	}
out:
	if (cur != NULL) {
		mdb_cursor_close(cur);
	}
	if (txn != NULL) {
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return (q->n);
}

static bool
audit_pred(void *arg)
{
	return (audit_scan(arg) > 0);
}

/* Wait for one matching entry; *q->last is it. */
static void
audit_expect(aq *q)
{
	if (!hv_eventually(audit_pred, q, WAIT_MS)) {
		fail_msg("no %s audit entry (%s)", haven_audit_event_name(
		    q->event), q->reason_has != NULL ? q->reason_has : "-");
	}
}

static bool
has_recipient(const haven_audit_entry *e, const char *id)
{
	for (size_t i = 0; i < e->n_recipients; i++) {
		if (strcmp(e->recipients[i], id) == 0) {
			return (true);
		}
	}
	return (false);
}

/* ------------------------------------------------------- raw clients */

typedef struct raw {
	uint32_t type;
	const char *rcpt;
	const char *profile;
	int64_t occurred_ms;
	int64_t deadline_ms;
	const char *reply_to; /* hex or NULL */
	const char *tag_key;
	const char *tag_val;
} raw;

/* Seal `r` as the client's agency and submit it: the broker's answer. */
static void
raw_submit(bc_client *c, const raw *r, haven_frame *reply)
{
	const char *rc[1] = { r->rcpt };
	haven_view_in v = { r->profile, rc, 1, (const uint8_t *) "x", 1 };
	haven_header h;
	uint8_t *env = NULL;
	size_t len = 0;
	char err[256];

	memset(&h, 0, sizeof(h));
	h.type = r->type;
	h.n_recipients = 1;
	(void) snprintf(h.recipients[0], HAVEN_ID_MAX, "%s", r->rcpt);
	h.seq = 1000 + ++c->seq;
	(void) snprintf(h.legal_basis, HAVEN_CODE_MAX, "DAA2021-S49A");
	(void) snprintf(h.purpose, HAVEN_CODE_MAX, "operation-encompass");
	h.created_ms = haven__now_ms();
	h.occurred_ms = r->occurred_ms;
	h.deadline_ms = r->deadline_ms;
	if (r->reply_to != NULL) {
		h.has_reply_to = true;
		assert_int_equal(haven__hex_decode(h.in_reply_to,
		    HAVEN_MSGID_BYTES, r->reply_to), HAVEN_OK);
	}
	if (r->tag_key != NULL) {
		h.n_tags = 1;
		(void) snprintf(h.tags[0].key, HAVEN_CODE_MAX, "%s",
		    r->tag_key);
		(void) snprintf(h.tags[0].value, HAVEN_TAGVAL_MAX, "%s",
		    r->tag_val);
	}
	assert_int_equal(haven_envelope_seal(&h, false, &v, 1, c->keys, c->dir,
	    &env, &len, err, sizeof(err)), HAVEN_OK);
	assert_int_equal(bc_submit(c, env, len, reply), 0);
	free(env);
}

static void
raw_refused(const char *agency, const raw *r, const char *rule_prefix)
{
	bc_client c;
	haven_frame reply;
	bc_audit_q q = { HAVEN_AUDIT_REJECT, NULL, HAVEN_EPOLICY, agency,
		rule_prefix };

	assert_int_equal(bc_open(&c, &part, agency), 0);
	raw_submit(&c, r, &reply);
	assert_int_equal(reply.kind, HAVEN_FRAME_REJECT);
	assert_int_equal(reply.reject.code, HAVEN_EPOLICY);
	if (strncmp(reply.reject.rule, rule_prefix, strlen(rule_prefix)) !=
	    0) {
		fail_msg("rule %s, want %s...", reply.reject.rule,
		    rule_prefix);
	}
	q.msg_id = reply.reject.msg_id;
	assert_true(bc_audit_wait(&part, &q, WAIT_MS) >= 1);
	haven_frame_release(&reply);
	bc_close(&c);
}

/* ------------------------------------------------------------- tests */

static int
group_setup(void **state)
{
	(void) state;
	if (sodium_init() < 0 || hv_partnership_create(&part) != 0 ||
	    hv_clock_set(&part, "2026-07-22T20:05:00Z") != 0 ||
	    hv_broker_start(&part) != 0) {
		return (-1);
	}
	return (0);
}

static int
group_teardown(void **state)
{
	(void) state;
	hv_partnership_destroy(&part);
	return (0);
}

/* 21:00 BST on the last day of the summer term. */
static void
test_summer_term(void **state)
{
	char id[33];
	aq q;
	raw forged = { HAVEN_MSG_OE_NOTIFICATION, SCHOOL_B, "oe.setting",
		T("2026-07-22T20:00:00Z"), T("2026-09-04T07:30:00Z"), NULL,
		NULL, NULL };
	bc_audit_q start = { HAVEN_AUDIT_START, NULL, -1, "broker",
		"test-clock" };

	(void) state;
	/* the broker says it runs on the test clock, in its log and audit */
	assert_true(bc_log_wait(&part, "HAVEN-BRK-TESTCLOCK", WAIT_MS));
	assert_int_equal(bc_audit_count(&part, &start), 1);
	write_incident("s3.json", "CC-2026-000301", "2026-07-22T20:00:00Z",
	    SCHOOL_B);
	police_submit("s3.json", SCHOOL_B, id, "2026-09-03T07:30:00Z");
	aq_init(&q, HAVEN_AUDIT_SUBMIT, id, NULL);
	audit_expect(&q);
	assert_int_equal(q.last.deadline_ms, T("2026-09-03T07:30:00Z"));
	assert_int_equal(q.last.occurred_ms, T("2026-07-22T20:00:00Z"));
	/* a deadline a day later than the school's real one is refused */
	raw_refused(POLICE, &forged, "R5-deadline");
	/* the school collects and reads it the next morning */
	clock_at("2026-07-23T07:00:00Z");
	sync_agent(SCHOOL_B);
	dsl_reads(SCHOOL_B, id, "DSL");
	aq_init(&q, HAVEN_AUDIT_READ, id, "role=DSL");
	audit_expect(&q);
	assert_string_equal(q.last.actor, SCHOOL_B);
}

/* Half term: a school offline for two days with a notification waiting. */
static void
test_school_offline(void **state)
{
	char id[33];
	aq q;

	(void) state;
	clock_at("2026-10-24T09:05:00Z");
	write_incident("s4.json", "CC-2026-000401", "2026-10-24T09:00:00Z",
	    SCHOOL_A);
	police_submit("s4.json", SCHOOL_A, id, "2026-11-02T08:30:00Z");
	(void) snprintf(id_off, sizeof(id_off), "%s", id);
	clock_at("2026-10-26T10:00:00Z");
	aq_init(&q, HAVEN_AUDIT_ESCALATE, id, "school-offline escalation=");
	audit_expect(&q);
	assert_string_equal(q.last.actor, "broker");
	assert_int_equal(q.last.type, HAVEN_MSG_OE_NOTIFICATION);
	assert_true(has_recipient(&q.last, SPOC));
	assert_true(has_recipient(&q.last, DEPUTY_A));
	expect_escalation(SPOC, id, "school-offline", NULL);
	expect_escalation(DEPUTY_A, id, "school-offline", NULL);
	/* the school comes back; its DSL reads it: the escalation closes */
	clock_at("2026-10-26T10:30:00Z");
	sync_agent(SCHOOL_A);
	dsl_reads(SCHOOL_A, id, "DSL");
	aq_init(&q, HAVEN_AUDIT_ESCALATE_CLOSED, id, "read-after-escalation");
	audit_expect(&q);
	assert_string_equal(q.last.actor, SCHOOL_A);
	expect_escalation(SPOC, id, "read-after-escalation", "DSL");
	/* no deadline escalation on 2 November: it was read */
	clock_at("2026-11-02T08:31:00Z");
	aq_init(&q, HAVEN_AUDIT_ESCALATE, id, "deadline-missed");
	(void) usleep(1500 * 1000); /* the monitor looks every 0.1 s */
	assert_int_equal(audit_scan(&q), 0);
}

/* Friday night: one read on Monday at 08:10, one not by 08:30. */
static void
test_weekend(void **state)
{
	char id1[33];
	aq q;

	(void) state;
	clock_at("2026-11-27T22:45:00Z");
	write_incident("s1.json", "CC-2026-000101", "2026-11-27T22:40:00Z",
	    SCHOOL_A);
	write_incident("s2.json", "CC-2026-000102", "2026-11-27T22:40:00Z",
	    SCHOOL_A);
	police_submit("s1.json", SCHOOL_A, id1, "2026-11-30T08:30:00Z");
	police_submit("s2.json", SCHOOL_A, id_s2, "2026-11-30T08:30:00Z");
	clock_at("2026-11-27T22:50:00Z");
	sync_agent(SCHOOL_A);
	clock_at("2026-11-30T08:10:00Z");
	dsl_reads(SCHOOL_A, id1, "DSL");
	aq_init(&q, HAVEN_AUDIT_READ, id1, "role=DSL");
	audit_expect(&q);
	assert_true(q.last.time_ms < T("2026-11-30T08:30:00Z"));
	/* 08:31: the unread one is escalated, the read one is not */
	clock_at("2026-11-30T08:31:00Z");
	aq_init(&q, HAVEN_AUDIT_ESCALATE, id_s2, "deadline-missed escalation=");
	audit_expect(&q);
	assert_string_equal(q.last.actor, "broker");
	assert_int_equal(q.last.deadline_ms, T("2026-11-30T08:30:00Z"));
	assert_true(has_recipient(&q.last, SPOC));
	assert_true(has_recipient(&q.last, DEPUTY_A));
	expect_escalation(SPOC, id_s2, "deadline-missed", NULL);
	expect_escalation(DEPUTY_A, id_s2, "deadline-missed", NULL);
	aq_init(&q, HAVEN_AUDIT_ESCALATE, id1, NULL);
	assert_int_equal(audit_scan(&q), 0);
	/* 09:00: the DSL reads it; the SPOC is told */
	clock_at("2026-11-30T09:00:00Z");
	dsl_reads(SCHOOL_A, id_s2, "DSL");
	aq_init(&q, HAVEN_AUDIT_ESCALATE_CLOSED, id_s2,
	    "read-after-escalation escalation=");
	audit_expect(&q);
	assert_string_equal(q.last.actor, SCHOOL_A);
	assert_true(has_recipient(&q.last, SPOC));
	expect_escalation(SPOC, id_s2, "read-after-escalation", "DSL");
}

static void
test_refusals(void **state)
{
	raw forged_esc = { HAVEN_MSG_OE_ESCALATION, SPOC, "oe.escalation", 0,
		0, NULL, "escalation", "deadline-missed" };
	raw foreign_receipt = { HAVEN_MSG_OE_RECEIPT, POLICE, "oe.receipt", 0,
		0, id_s2, "reader_role", "DSL" };

	(void) state;
	assert_true(id_s2[0] != '\0');
	raw_refused(POLICE, &forged_esc, "R5-broker-only");
	raw_refused(SCHOOL_B, &foreign_receipt, "receipt");
	assert_int_equal(hv_broker_stop(&part), 0);
	assert_true(bc_audit_verifies(&part));
}

/* ------------------------------------------------- havenctl on the audit */

/* havenctl's JSON output; the exit code must be 0. */
static json_t *
ctl_json(const char *const *args)
{
	char *out = NULL;
	json_t *j;

	assert_int_equal(hv_run(&part, "havenctl", args, T_MS, &out), 0);
	j = hv_json(out);
	if (j == NULL) {
		fail_msg("havenctl printed no JSON: %s", out != NULL ? out :
		    "(nothing)");
	}
	free(out);
	return (j);
}

static const json_t *
school_row(const json_t *report, const char *id)
{
	const json_t *row;
	size_t i;

	json_array_foreach(json_object_get(report, "schools"), i, row) {
		if (strcmp(json_string_value(json_object_get(row, "id")), id) ==
		    0) {
			return (row);
		}
	}
	fail_msg("no report row for %s", id);
	return (NULL);
}

/* notifications, read on time, read late, escalated, unread */
static void
assert_counts(const json_t *row, const int want[5])
{
	static const char *const keys[5] = {"notifications",
	    "read_before_deadline", "read_late", "escalated", "unread"};

	for (size_t i = 0; i < 5; i++) {
		json_int_t got = json_integer_value(json_object_get(row,
		    keys[i]));

		if (got != want[i]) {
			fail_msg("%s: %s is %lld, want %d",
			    json_string_value(json_object_get(row, "id")),
			    keys[i], (long long) got, want[i]);
		}
	}
}

/* The compliance report and the DPO's listing, from the broker's own
 * audit (the broker was stopped by test_refusals). */
static void
test_report_from_audit(void **state)
{
	const char *const report[] = { "report", "encompass", "--config",
		hv_path(&part, "broker.json"), "--from", "2026-07-01", "--to",
		"2026-12-31", "--json", NULL };
	const char *const escalations[] = { "audit", "list", "--config",
		hv_path(&part, "broker.json"), "--event", "ESCALATE", "--json",
		NULL };
	json_t *j, *e;

	(void) state;
	assert_int_equal(part.broker, 0);
	j = ctl_json(report);
	/* B: the summer-term one, read the next morning. A: the half-term
	 * one (escalated offline, read before its deadline) and the two
	 * Friday ones (one read at 08:10, one escalated and read late). */
	assert_counts(school_row(j, SCHOOL_B), (const int[]){1, 1, 0, 0, 0});
	assert_counts(school_row(j, SCHOOL_A), (const int[]){3, 2, 1, 2, 0});
	assert_counts(json_object_get(j, "all"), (const int[]){4, 3, 1, 2, 0});
	e = json_object_get(j, "all");
	assert_int_equal(json_integer_value(json_object_get(e,
	    "escalated_deadline_missed")), 1);
	assert_int_equal(json_integer_value(json_object_get(e,
	    "escalated_school_offline")), 1);
	assert_int_equal(json_integer_value(json_object_get(e,
	    "escalations_closed")), 2);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "police_escalations")), 0); /* the forged one was refused */
	assert_int_equal(json_array_size(json_object_get(j, "schools")), 2);
	json_decref(j);

	j = ctl_json(escalations);
	assert_int_equal(json_array_size(j), 2);
	e = json_array_get(j, 0);
	assert_string_equal(json_string_value(json_object_get(e, "msg_id")),
	    id_off);
	assert_string_equal(json_string_value(json_object_get(e, "actor")),
	    "broker");
	assert_int_equal(strncmp(json_string_value(json_object_get(e,
	    "reason")), "school-offline escalation=", 26), 0);
	e = json_array_get(j, 1);
	assert_string_equal(json_string_value(json_object_get(e, "msg_id")),
	    id_s2);
	assert_int_equal(strncmp(json_string_value(json_object_get(e,
	    "reason")), "deadline-missed escalation=", 27), 0);
	assert_string_equal(json_string_value(json_object_get(e, "deadline")),
	    "2026-11-30T08:30:00Z");
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_summer_term),
		cmocka_unit_test(test_school_offline),
		cmocka_unit_test(test_weekend),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_report_from_audit),
	};

	return (cmocka_run_group_tests(tests, group_setup, group_teardown));
}
