/*
 * tests/unit/test_broker_deadline.c: the broker's Encompass deadlines
 * (broker/deadline.c) and its own escalations (broker/escalate.c).
 *
 * A real broker object without sockets: real libsodium keys for every
 * agency, a directory with the la.cambs calendar parsed from JSON, the
 * partnership policy of deploy/policy.json, and the real LMDB store in a
 * mkdtemp directory. Envelopes are sealed with the agencies' keys and go
 * through haven__admit; the monitor runs as the loop runs it. Escalations
 * are opened with the recipients' keys and their payload decoded.
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
#include <unistd.h>

#include "admit.h"
#include "haven/calendar.h"
#include "haven/encompass.h"
#include "loop.h"
#include "util.h"

#include "cal_tu.h"

#define SCHOOL "school.urn.110123"
#define DEPUTY "school.urn.110123.deputy"
#define SCHOOL_B "school.urn.110456"
#define SPOC "police.cambs.spoc"
#define POLICE "police.cambs"
#define EDS "la.cambs.eds"
#define DAY_MS (24LL * 3600 * 1000)

enum { A_BROKER, A_POLICE, A_SPOC, A_SCHOOL, A_DEPUTY, A_SCHOOL_B, A_LA,
	A_EDS, A_COUNT };

static const struct {
	const char *id;
	const char *role;
	const char *attrs; /* JSON object text */
} ags[A_COUNT] = {
	{ "broker", "BRK", "{}" },
	{ POLICE, "POL", "{\"spoc\":\"" SPOC "\"}" },
	{ SPOC, "POL", "{}" },
	{ SCHOOL, "EDU", "{\"local_authority\":\"la.cambs\","
	    "\"deputy\":\"" DEPUTY "\"}" },
	{ DEPUTY, "EDU", "{\"local_authority\":\"la.cambs\"}" },
	{ SCHOOL_B, "EDU", "{\"local_authority\":\"la.cambs\"}" },
	{ "la.cambs", "LA", "{\"education_safeguarding\":\"" EDS "\"}" },
	{ EDS, "LA", "{}" },
};

static const char calendars[] =
    "{\"bank_holidays\":[\"2026-08-31\",\"2026-12-25\",\"2026-12-28\"],"
    "\"areas\":[{\"id\":\"la.cambs\",\"terms\":["
    "{\"name\":\"summer-2-2026\",\"first\":\"2026-06-01\","
    "\"last\":\"2026-07-22\"},"
    "{\"name\":\"autumn-1-2026\",\"first\":\"2026-09-03\","
    "\"last\":\"2026-10-23\"},"
    "{\"name\":\"autumn-2-2026\",\"first\":\"2026-11-02\","
    "\"last\":\"2026-12-18\"}],\"closed\":[\"2026-06-01\"]}]}";

struct fx {
	char dir[64];
	haven_broker b;
	haven_keys *k[A_COUNT];
	uint64_t seq;
};

static json_t *
agency_json(struct fx *f, size_t i)
{
	haven_pubkey pk;
	char s[65], b[65], c[65];

	assert_int_equal(haven_keys_generate(&f->k[i], ags[i].id, 1),
	    HAVEN_OK);
	haven_keys_public(f->k[i], &pk);
	haven__hex_encode(s, pk.sign_pk, HAVEN_KEY_BYTES);
	haven__hex_encode(b, pk.box_pk, HAVEN_KEY_BYTES);
	haven__hex_encode(c, pk.curve_pk, HAVEN_KEY_BYTES);
	return (json_pack("{s:s, s:s, s:s, s:[{s:i, s:s, s:s, s:s}], s:o}",
	    "id", ags[i].id, "role", ags[i].role, "name", "Test agency",
	    "keys", "generation", 1, "sign_pk", s, "box_pk", b, "curve_pk", c,
	    "attrs", json_loads(ags[i].attrs, 0, NULL)));
}

static void
load_dir(struct fx *f)
{
	json_t *list = json_array(), *root;
	char err[256] = "", *text;

	for (size_t i = 0; i < A_COUNT; i++) {
		assert_int_equal(json_array_append_new(list,
		    agency_json(f, i)), 0);
	}
	root = json_pack("{s:i, s:o, s:o}", "version", 1, "agencies", list,
	    "calendars", json_loads(calendars, 0, NULL));
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	assert_non_null(text);
	if (haven_directory_from_json(&f->b.dir, text, strlen(text), err,
	    sizeof(err)) != HAVEN_OK) {
		fail_msg("directory: %s", err);
	}
	free(text);
}

static void
load_policy(struct fx *f)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256] = "";

	assert_int_equal(haven__read_file(HAVEN_SOURCE_DIR
	    "/deploy/policy.json", HAVEN_JSON_MAX, &buf, &len), HAVEN_OK);
	if (haven_policy_from_json(&f->b.policy, (const char *) buf, len, err,
	    sizeof(err)) != HAVEN_OK) {
		fail_msg("policy: %s", err);
	}
	free(buf);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	(void) snprintf(f->dir, sizeof(f->dir), "/tmp/haven-bdl-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	load_dir(f);
	load_policy(f);
	f->b.keys = f->k[A_BROKER];
	f->b.cfg.checkpoint_every = 1000;
	assert_int_equal(haven__store_open(&f->b.store, f->dir, 16u << 20, err,
	    sizeof(err)), HAVEN_OK);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fx *f = *state;
	char p[128];

	haven__store_close(&f->b.store);
	haven__sessions_fini(&f->b.sessions);
	haven__outbox_fini(&f->b.out);
	haven_directory_destroy(&f->b.dir);
	haven_policy_destroy(&f->b.policy);
	for (size_t i = 0; i < A_COUNT; i++) {
		haven_keys_destroy(&f->k[i]);
	}
	(void) snprintf(p, sizeof(p), "%s/data.mdb", f->dir);
	(void) unlink(p);
	(void) snprintf(p, sizeof(p), "%s/lock.mdb", f->dir);
	(void) unlink(p);
	assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return (0);
}

/* ----------------------------------------------------------- envelopes */

typedef struct spec {
	int from;
	uint32_t type;
	const char *rcpt[3];
	size_t n;
	const char *profile;
	int64_t created_ms;
	int64_t occurred_ms;
	int64_t deadline_ms;
	const uint8_t *reply_to;
	const char *tag_key;
	const char *tag_val;
} spec;

static void
header_of(struct fx *f, const spec *s, haven_header *h)
{
	memset(h, 0, sizeof(*h));
	h->type = s->type;
	h->n_recipients = s->n;
	for (size_t i = 0; i < s->n; i++) {
		(void) snprintf(h->recipients[i], HAVEN_ID_MAX, "%s",
		    s->rcpt[i]);
	}
	h->seq = ++f->seq;
	(void) snprintf(h->legal_basis, HAVEN_CODE_MAX, "DAA2021-S49A");
	(void) snprintf(h->purpose, HAVEN_CODE_MAX, "operation-encompass");
	h->created_ms = s->created_ms;
	h->occurred_ms = s->occurred_ms;
	h->deadline_ms = s->deadline_ms;
	h->has_case = true;
	memset(h->case_pseud, 0xca, HAVEN_HASH_BYTES);
	if (s->reply_to != NULL) {
		h->has_reply_to = true;
		memcpy(h->in_reply_to, s->reply_to, HAVEN_MSGID_BYTES);
	}
	if (s->tag_key != NULL) {
		h->n_tags = 1;
		(void) snprintf(h->tags[0].key, HAVEN_CODE_MAX, "%s",
		    s->tag_key);
		(void) snprintf(h->tags[0].value, HAVEN_TAGVAL_MAX, "%s",
		    s->tag_val);
	}
}

/* Seal and admit at s->created_ms; the result kind, and the reject. */
static haven_admit_kind
submit(struct fx *f, const spec *s, uint8_t id[HAVEN_MSGID_BYTES],
    haven_reject *rj)
{
	haven_header h;
	haven_view_in v = { s->profile, s->rcpt, s->n,
		(const uint8_t *) "payload", 7 };
	haven_admit_result res;
	uint8_t *env = NULL;
	size_t len = 0;
	char err[128];
	MDB_txn *txn = NULL;

	header_of(f, s, &h);
	assert_int_equal(haven_envelope_seal(&h, false, &v, 1, f->k[s->from],
	    f->b.dir, &env, &len, err, sizeof(err)), HAVEN_OK);
	memcpy(id, h.msg_id, HAVEN_MSGID_BYTES);
	assert_int_equal(haven__store_begin(f->b.store, false, &txn),
	    HAVEN_OK);
	assert_int_equal(haven__admit(&f->b, txn, ags[s->from].id, env, len,
	    s->created_ms, &res), HAVEN_OK);
	assert_int_equal(haven__store_commit(&txn), HAVEN_OK);
	free(env);
	if (rj != NULL) {
		*rj = res.reject;
	}
	return (res.kind);
}

static void
notify(struct fx *f, const char *occurred, const char *deadline,
    int64_t at, uint8_t id[HAVEN_MSGID_BYTES])
{
	spec s = { A_POLICE, HAVEN_MSG_OE_NOTIFICATION, { SCHOOL }, 1,
		"oe.setting", at, T(occurred), T(deadline), NULL, NULL, NULL };
	haven_reject rj;

	if (submit(f, &s, id, &rj) != HAVEN_ADMIT_ACCEPTED) {
		fail_msg("refused: %s %s", rj.rule, rj.reason);
	}
}

static void
receipt(struct fx *f, int from, const uint8_t about[HAVEN_MSGID_BYTES],
    const char *role, int64_t at, haven_admit_kind want)
{
	spec s = { from, HAVEN_MSG_OE_RECEIPT, { POLICE }, 1, "oe.receipt",
		at, 0, 0, about, role != NULL ? "reader_role" : NULL, role };
	uint8_t id[HAVEN_MSGID_BYTES];
	haven_reject rj;

	assert_int_equal(submit(f, &s, id, &rj), want);
}

/* One monitor look and, if due, one full pass, as the loop does. */
static bool
monitor(struct fx *f, int64_t now, int64_t mono)
{
	haven_pass_ctx p = { &f->b, NULL, HAVEN_PASS_FULL, HAVEN_OK, now,
		mono };

	if (!haven__deadline_due(&f->b, now, mono)) {
		return (false);
	}
	assert_int_equal(haven__store_begin(f->b.store, false, &p.txn),
	    HAVEN_OK);
	assert_int_equal(haven__deadline_run(&p), HAVEN_OK);
	assert_int_equal(haven__store_commit(&p.txn), HAVEN_OK);
	return (true);
}

/* `agency` was connected at `when`. */
static void
seen(struct fx *f, const char *agency, int64_t when)
{
	MDB_txn *txn = NULL;

	assert_int_equal(haven__store_begin(f->b.store, false, &txn),
	    HAVEN_OK);
	assert_int_equal(haven__deadline_seen(&f->b, txn, agency, when),
	    HAVEN_OK);
	assert_int_equal(haven__store_commit(&txn), HAVEN_OK);
}

/* -------------------------------------------------------- inspection */

typedef struct ids {
	size_t n;
	uint8_t id[8][HAVEN_MSGID_BYTES];
} ids;

static haven_err
collect(void *arg, const uint8_t id[HAVEN_MSGID_BYTES], bool *stop)
{
	ids *v = arg;

	*stop = false;
	if (v->n < 8) {
		memcpy(v->id[v->n++], id, HAVEN_MSGID_BYTES);
	}
	return (HAVEN_OK);
}

static void
queued(struct fx *f, const char *agency, ids *v)
{
	MDB_txn *txn = NULL;

	memset(v, 0, sizeof(*v));
	assert_int_equal(haven__store_begin(f->b.store, true, &txn), HAVEN_OK);
	assert_int_equal(haven__store_queue_walk(f->b.store, txn, agency,
	    collect, v), HAVEN_OK);
	haven__store_abort(&txn);
}

/* Open a queued escalation as `who` and decode it. */
static void
open_escalation(struct fx *f, int who, const uint8_t id[HAVEN_MSGID_BYTES],
    haven_oe_escalation *e, haven_header *h)
{
	MDB_txn *txn = NULL;
	haven_envelope *env = NULL;
	const uint8_t *bytes;
	char profile[HAVEN_CODE_MAX];
	uint8_t *pl = NULL;
	size_t len, pl_len = 0;

	assert_int_equal(haven__store_begin(f->b.store, true, &txn), HAVEN_OK);
	assert_int_equal(haven__store_msg_get(f->b.store, txn, id, &bytes,
	    &len), HAVEN_OK);
	assert_int_equal(haven_envelope_decode(&env, bytes, len), HAVEN_OK);
	haven__store_abort(&txn);
	assert_int_equal(haven_envelope_verify(env, f->b.dir), HAVEN_OK);
	assert_string_equal(env->hdr.sender, "broker");
	assert_int_equal(haven_envelope_open(env, f->k[who], profile, &pl,
	    &pl_len), HAVEN_OK);
	assert_string_equal(profile, "oe.escalation");
	assert_int_equal(haven_oe_escalation_decode(pl, pl_len, e), HAVEN_OK);
	*h = env->hdr;
	free(pl);
	haven_envelope_destroy(&env);
}

/* Audit entries of `event` whose reason contains `has` (NULL: any). */
static int
audit_count(struct fx *f, uint32_t event, const char *has,
    haven_audit_entry *last)
{
	haven_audit_log *log = haven__store_audit(f->b.store);
	uint8_t hash[HAVEN_HASH_BYTES];
	MDB_txn *txn = NULL;
	uint64_t head = 0;
	int n = 0;

	assert_int_equal(haven__store_begin(f->b.store, true, &txn), HAVEN_OK);
	assert_int_equal(haven_audit_head(log, txn, &head, hash), HAVEN_OK);
	for (uint64_t s = 1; s <= head; s++) {
		haven_audit_entry e;

		assert_int_equal(haven_audit_get(log, txn, s, &e, NULL),
		    HAVEN_OK);
		if (e.event == event && (has == NULL ||
		    strstr(e.reason, has) != NULL)) {
			n++;
			if (last != NULL) {
				*last = e;
			}
		}
	}
	haven__store_abort(&txn);
	return (n);
}

/* ------------------------------------------------------------- tests */

static void
expect_refused(struct fx *f, spec *s, const char *rule)
{
	uint8_t id[HAVEN_MSGID_BYTES];
	haven_reject rj;

	assert_int_equal(submit(f, s, id, &rj), HAVEN_ADMIT_REJECTED);
	assert_int_equal(rj.code, HAVEN_EPOLICY);
	assert_string_equal(rj.rule, rule);
}

static void
test_admission(void **state)
{
	struct fx *f = *state;
	int64_t fri = T("2026-11-27T22:40:00Z"), mon = T("2026-11-30T08:30:00Z");
	spec s = { A_POLICE, HAVEN_MSG_OE_NOTIFICATION, { SCHOOL }, 1,
		"oe.setting", fri + 60000, fri, mon, NULL, NULL, NULL };
	uint8_t id[HAVEN_MSGID_BYTES];

	assert_int_equal(submit(f, &s, id, NULL), HAVEN_ADMIT_ACCEPTED);
	s.deadline_ms = mon - 3600000; /* earlier: stricter, accepted */
	assert_int_equal(submit(f, &s, id, NULL), HAVEN_ADMIT_ACCEPTED);
	s.deadline_ms = mon + 1;
	expect_refused(f, &s, "R5-deadline");
	s.deadline_ms = 0;
	expect_refused(f, &s, "R5-deadline");
	s.deadline_ms = mon;
	s.occurred_ms = 0;
	expect_refused(f, &s, "R5-deadline");
	s.occurred_ms = s.created_ms + 3600000; /* in the future */
	expect_refused(f, &s, "R5-deadline");
	/* the last day of the summer term, 21:00 BST: first day of autumn */
	s.occurred_ms = T("2026-07-22T20:00:00Z");
	s.created_ms = s.occurred_ms + 60000;
	s.deadline_ms = T("2026-09-03T07:30:00Z");
	assert_int_equal(submit(f, &s, id, NULL), HAVEN_ADMIT_ACCEPTED);
	s.deadline_ms += 1;
	expect_refused(f, &s, "R5-deadline");
	/* the holiday duty contact, tagged holiday=yes, when a holiday lies
	 * before the next school day: the evening of the last day of term,
	 * and a day inside the holiday */
	s.deadline_ms -= 1;
	s.rcpt[1] = EDS;
	s.n = 2;
	s.tag_key = "holiday";
	s.tag_val = "yes";
	assert_int_equal(submit(f, &s, id, NULL), HAVEN_ADMIT_ACCEPTED);
	s.occurred_ms = T("2026-07-25T10:00:00Z");
	s.created_ms = s.occurred_ms + 60000;
	assert_int_equal(submit(f, &s, id, NULL), HAVEN_ADMIT_ACCEPTED);
	/* ... but not over a weekend in term time */
	s.occurred_ms = fri;
	s.created_ms = fri + 60000;
	s.deadline_ms = mon;
	expect_refused(f, &s, "R3-holiday-duty");
	/* and no LA but the duty one, even in a holiday */
	s.rcpt[1] = "la.cambs";
	s.occurred_ms = T("2026-07-25T10:00:00Z");
	s.created_ms = s.occurred_ms + 60000;
	s.deadline_ms = T("2026-09-03T07:30:00Z");
	expect_refused(f, &s, "R3-holiday-duty");
}

static void
test_forged_escalation(void **state)
{
	struct fx *f = *state;
	int64_t now = T("2026-11-30T09:00:00Z");
	spec s = { A_POLICE, HAVEN_MSG_OE_ESCALATION, { SPOC }, 1,
		"oe.escalation", now, 0, 0, NULL, "escalation",
		HAVEN_OE_REASON_DEADLINE };
	uint8_t id[HAVEN_MSGID_BYTES];
	haven_reject rj;

	assert_int_equal(submit(f, &s, id, &rj), HAVEN_ADMIT_REJECTED);
	assert_int_equal(rj.code, HAVEN_EPOLICY);
	assert_non_null(strstr(rj.rule, "R5-broker-only"));
	s.tag_val = "school-unknown"; /* the police's own R5 escalation */
	assert_int_equal(submit(f, &s, id, NULL), HAVEN_ADMIT_ACCEPTED);
	assert_true(audit_count(f, HAVEN_AUDIT_REJECT, "R5-broker-only",
	    NULL) >= 1);
}

static void
test_deadline_missed_then_read(void **state)
{
	struct fx *f = *state;
	int64_t mon = T("2026-11-30T08:30:00Z");
	uint8_t id[HAVEN_MSGID_BYTES];
	haven_oe_escalation e;
	haven_audit_entry a;
	haven_header h;
	ids v;

	notify(f, "2026-11-27T22:40:00Z", "2026-11-30T08:30:00Z",
	    T("2026-11-27T22:45:00Z"), id);
	seen(f, SCHOOL, mon - 3600000); /* connected, but nobody read it */
	assert_false(monitor(f, mon - 1, 1000));
	assert_true(monitor(f, mon + 60000, 1000));
	queued(f, SPOC, &v);
	assert_int_equal(v.n, 1);
	open_escalation(f, A_SPOC, v.id[0], &e, &h);
	assert_string_equal(e.reason, HAVEN_OE_REASON_DEADLINE);
	assert_memory_equal(e.about_msg_id, id, HAVEN_MSGID_BYTES);
	assert_string_equal(e.school, SCHOOL);
	assert_int_equal(e.deadline_ms, mon);
	assert_int_equal(e.event_ms, mon + 60000);
	assert_memory_equal(h.in_reply_to, id, HAVEN_MSGID_BYTES);
	assert_true(h.has_case);
	assert_string_equal(haven_header_tag(&h, "escalation"),
	    HAVEN_OE_REASON_DEADLINE);
	queued(f, DEPUTY, &v);
	assert_int_equal(v.n, 1);
	open_escalation(f, A_DEPUTY, v.id[0], &e, &h);
	assert_int_equal(audit_count(f, HAVEN_AUDIT_ESCALATE,
	    "deadline-missed escalation=", &a), 1);
	assert_string_equal(a.actor, "broker");
	assert_memory_equal(a.msg_id, id, HAVEN_MSGID_BYTES);
	assert_int_equal(a.type, HAVEN_MSG_OE_NOTIFICATION);
	assert_int_equal(a.n_recipients, 2);
	assert_string_equal(a.recipients[0], SPOC);
	assert_string_equal(a.recipients[1], DEPUTY);
	/* nothing more is due */
	assert_false(monitor(f, mon + 120000, 1000));
	/* read at 09:00 by the DSL: closed, the SPOC told */
	receipt(f, A_SCHOOL, id, "DSL", T("2026-11-30T09:00:00Z"),
	    HAVEN_ADMIT_ACCEPTED);
	assert_int_equal(audit_count(f, HAVEN_AUDIT_READ, "role=DSL", NULL),
	    1);
	assert_int_equal(audit_count(f, HAVEN_AUDIT_ESCALATE_CLOSED,
	    "read-after-escalation escalation=", &a), 1);
	assert_string_equal(a.actor, SCHOOL);
	assert_memory_equal(a.msg_id, id, HAVEN_MSGID_BYTES);
	assert_non_null(strstr(a.reason, "role=DSL"));
	queued(f, SPOC, &v);
	assert_int_equal(v.n, 2);
	open_escalation(f, A_SPOC, v.id[1], &e, &h);
	assert_string_equal(e.reason, HAVEN_OE_REASON_CLOSED);
	assert_string_equal(e.reader_role, "DSL");
	assert_int_equal(h.n_recipients, 1);
	queued(f, DEPUTY, &v);
	assert_int_equal(v.n, 1);
	/* a second receipt changes nothing */
	receipt(f, A_SCHOOL, id, "DDSL", T("2026-11-30T09:10:00Z"),
	    HAVEN_ADMIT_ACCEPTED);
	assert_int_equal(audit_count(f, HAVEN_AUDIT_ESCALATE_CLOSED, NULL,
	    NULL), 1);
}

static void
test_read_in_time(void **state)
{
	struct fx *f = *state;
	int64_t mon = T("2026-11-30T08:30:00Z");
	uint8_t id[HAVEN_MSGID_BYTES];
	ids v;

	notify(f, "2026-11-27T22:40:00Z", "2026-11-30T08:30:00Z",
	    T("2026-11-27T22:45:00Z"), id);
	receipt(f, A_SCHOOL, id, "DSL", T("2026-11-30T08:10:00Z"),
	    HAVEN_ADMIT_ACCEPTED);
	assert_false(monitor(f, mon + DAY_MS, 1000));
	queued(f, SPOC, &v);
	assert_int_equal(v.n, 0);
	assert_int_equal(audit_count(f, HAVEN_AUDIT_ESCALATE, NULL, NULL), 0);
}

static void
test_receipt_refusals(void **state)
{
	struct fx *f = *state;
	uint8_t id[HAVEN_MSGID_BYTES];

	notify(f, "2026-11-27T22:40:00Z", "2026-11-30T08:30:00Z",
	    T("2026-11-27T22:45:00Z"), id);
	/* an unknown role */
	receipt(f, A_SCHOOL, id, "HEAD", T("2026-11-30T08:10:00Z"),
	    HAVEN_ADMIT_REJECTED);
	/* another school */
	receipt(f, A_SCHOOL_B, id, "DSL", T("2026-11-30T08:10:00Z"),
	    HAVEN_ADMIT_REJECTED);
	assert_int_equal(audit_count(f, HAVEN_AUDIT_READ, NULL, NULL), 0);
	assert_int_equal(audit_count(f, HAVEN_AUDIT_REJECT, "rule=receipt",
	    NULL), 2);
}

/* A notification to school B, accepted at `at`, B last seen a week ago. */
static void
notify_offline_b(struct fx *f, int64_t at, uint8_t id[HAVEN_MSGID_BYTES])
{
	spec s = { A_POLICE, HAVEN_MSG_OE_NOTIFICATION, { SCHOOL_B }, 1,
		"oe.setting", at, at - 300000, T("2026-11-30T08:30:00Z"), NULL,
		NULL, NULL };

	seen(f, SCHOOL_B, at - 7 * DAY_MS);
	assert_int_equal(submit(f, &s, id, NULL), HAVEN_ADMIT_ACCEPTED);
}

static void
test_offline(void **state)
{
	struct fx *f = *state;
	int64_t at = T("2026-11-27T22:45:00Z");
	uint8_t id[HAVEN_MSGID_BYTES];
	haven_oe_escalation e;
	haven_header h;
	ids v;

	/* school B (no deputy: la-education) was last seen a week ago */
	notify_offline_b(f, at, id);
	/* offline measured from acceptance: not yet after 23 h */
	assert_false(monitor(f, at + 23 * 3600000LL, 1000));
	/* at most one look a second */
	assert_false(monitor(f, at + DAY_MS + 60000, 1500));
	assert_true(monitor(f, at + DAY_MS + 60000, 2000));
	queued(f, EDS, &v);
	assert_int_equal(v.n, 1);
	open_escalation(f, A_EDS, v.id[0], &e, &h);
	assert_string_equal(e.reason, HAVEN_OE_REASON_OFFLINE);
	assert_int_equal(audit_count(f, HAVEN_AUDIT_ESCALATE,
	    "school-offline", NULL), 1);
	assert_false(monitor(f, at + DAY_MS + 120000, 3000));
	/* the deadline escalation still comes at the deadline */
	assert_true(monitor(f, T("2026-11-30T08:31:00Z"), 4000));
	assert_int_equal(audit_count(f, HAVEN_AUDIT_ESCALATE,
	    "deadline-missed", NULL), 1);
	queued(f, SPOC, &v);
	assert_int_equal(v.n, 2);
}

static void
test_offline_not_when_seen_or_acked(void **state)
{
	struct fx *f = *state;
	int64_t at = T("2026-11-27T22:45:00Z");
	uint8_t id[HAVEN_MSGID_BYTES];
	MDB_txn *txn = NULL;

	notify(f, "2026-11-27T22:40:00Z", "2026-11-30T08:30:00Z", at, id);
	/* the school connects after 20 h: offline counts from then */
	seen(f, SCHOOL, at + 20 * 3600000LL);
	assert_false(monitor(f, at + DAY_MS + 60000, 1000));
	/* it collects (acks) the notification: never offline-escalated */
	assert_int_equal(haven__store_begin(f->b.store, false, &txn),
	    HAVEN_OK);
	assert_int_equal(haven__store_ack(f->b.store, txn, SCHOOL, id),
	    HAVEN_OK);
	assert_int_equal(haven__store_commit(&txn), HAVEN_OK);
	assert_false(monitor(f, at + 2 * DAY_MS, 3000));
	assert_int_equal(audit_count(f, HAVEN_AUDIT_ESCALATE, NULL, NULL), 0);
}

/* With nothing due the look is one peek: after one walk has found when
 * the next offline escalation can come, later looks do not walk (the
 * walk's time, offline_mono, stays put) until then. */
static void
test_idle_look_does_not_walk(void **state)
{
	struct fx *f = *state;
	int64_t at = T("2026-11-27T22:45:00Z");
	int64_t bound = at + DAY_MS + 1; /* policy: 24 h from acceptance */
	uint8_t id[HAVEN_MSGID_BYTES];

	/* nothing pending: a walk finds nothing, ever */
	assert_false(monitor(f, at - 60000, 1000));
	assert_int_equal(f->b.dl.offline_mono, 1000);
	assert_true(f->b.dl.offline_next_ms == INT64_MAX);
	/* a recorded notification lowers the bound to its own */
	notify_offline_b(f, at, id);
	assert_int_equal(f->b.dl.offline_next_ms, bound);
	for (int64_t mono = 2000; mono <= 10000; mono += 1000) {
		assert_false(monitor(f, at + 3600000, mono));
	}
	assert_int_equal(f->b.dl.offline_mono, 1000); /* no walk */
	assert_false(monitor(f, bound - 1, 11000));
	assert_int_equal(f->b.dl.offline_mono, 1000);
	/* at the bound it walks, and escalates */
	assert_true(monitor(f, bound, 12000));
	assert_int_equal(f->b.dl.offline_mono, 12000);
	assert_int_equal(audit_count(f, HAVEN_AUDIT_ESCALATE,
	    "school-offline", NULL), 1);
	/* a failed pass voids the bound: the next look walks again */
	assert_false(monitor(f, bound + 1, 13000));
	haven__deadline_hold(&f->b, 13000);
	assert_int_equal(f->b.dl.offline_next_ms, 0);
	assert_false(monitor(f, bound + 2, 14000));
	assert_int_equal(f->b.dl.offline_mono, 14000);
}

/* The monitor's state is memory only: a broker restarted from the same
 * store escalates what was pending before it stopped. */
static void
test_restart_resumes(void **state)
{
	struct fx *f = *state;
	int64_t at = T("2026-11-27T22:45:00Z"), mon = T("2026-11-30T08:30:00Z");
	uint8_t id_a[HAVEN_MSGID_BYTES], id_b[HAVEN_MSGID_BYTES];
	char err[256];
	ids v;

	notify(f, "2026-11-27T22:40:00Z", "2026-11-30T08:30:00Z", at, id_a);
	notify_offline_b(f, at, id_b);
	seen(f, SCHOOL, at + 20 * 3600000LL); /* A: not offline by Sat */
	assert_false(monitor(f, at + 60000, 1000));
	/* stop; start again with a fresh monitor and a fresh clock */
	haven__store_close(&f->b.store);
	memset(&f->b.dl, 0, sizeof(f->b.dl));
	assert_int_equal(haven__store_open(&f->b.store, f->dir, 16u << 20, err,
	    sizeof(err)), HAVEN_OK);
	assert_true(monitor(f, at + DAY_MS + 60000, 50000));
	assert_int_equal(audit_count(f, HAVEN_AUDIT_ESCALATE,
	    "school-offline", NULL), 1);
	queued(f, EDS, &v);
	assert_int_equal(v.n, 1);
	assert_true(monitor(f, mon, 51000));
	assert_int_equal(audit_count(f, HAVEN_AUDIT_ESCALATE,
	    "deadline-missed", NULL), 2);
	queued(f, DEPUTY, &v);
	assert_int_equal(v.n, 1);
	assert_false(monitor(f, mon + 60000, 52000));
}

/* A corrupt due key (here: too short, sorting first) cannot block the
 * index or keep the loop busy: the look asks for one pass, whose walk
 * drops it; the notification behind it is still escalated on time. */
static void
test_corrupt_due_key_dropped(void **state)
{
	struct fx *f = *state;
	int64_t at = T("2026-11-27T22:45:00Z"), mon = T("2026-11-30T08:30:00Z");
	uint8_t id[HAVEN_MSGID_BYTES], junk[11] = { 0 };
	MDB_val k = { sizeof(junk), junk }, d = { 0, "" };
	MDB_txn *txn = NULL;
	MDB_dbi due = haven__store_dbi(f->b.store, HAVEN_STORE_DEADLINE_DUE);

	notify(f, "2026-11-27T22:40:00Z", "2026-11-30T08:30:00Z", at, id);
	seen(f, SCHOOL, mon - 3600000);
	assert_int_equal(haven__store_begin(f->b.store, false, &txn),
	    HAVEN_OK);
	assert_int_equal(mdb_put(txn, due, &k, &d, 0), 0);
	assert_int_equal(haven__store_commit(&txn), HAVEN_OK);
	assert_true(monitor(f, at + 60000, 1000));
	assert_int_equal(haven__store_begin(f->b.store, true, &txn), HAVEN_OK);
	assert_int_equal(mdb_get(txn, due, &k, &d), MDB_NOTFOUND);
	haven__store_abort(&txn);
	assert_false(monitor(f, at + 120000, 1000));
	assert_int_equal(audit_count(f, HAVEN_AUDIT_ESCALATE, NULL, NULL), 0);
	assert_true(monitor(f, mon, 2000));
	assert_int_equal(audit_count(f, HAVEN_AUDIT_ESCALATE,
	    "deadline-missed", NULL), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_admission, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_forged_escalation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_deadline_missed_then_read,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_in_time, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_receipt_refusals, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_offline, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_offline_not_when_seen_or_acked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idle_look_does_not_walk,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_resumes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_due_key_dropped,
		    setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
