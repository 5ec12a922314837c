/*
 * tests/unit/test_audit_list.c: `havenctl audit list`, `havenctl
 * pseudonym`, and `report encompass --config` (the DPO's tools).
 *
 * A real broker-layout LMDB store ("audit", "audit_head", "checkpoint" in
 * one environment) is written in a mkdtemp directory through
 * haven_audit_open/append/checkpoint with a real broker key, and a real
 * partnership pseudonym key makes the case and subject pseudonyms the
 * agents would. The story (times UTC):
 *
 *   1 START     broker                          2026-03-02 09:00
 *   2 SUBMIT    police -> A, msg 1, case C1, subjects P1 P2, deadline
 *   3 DELIVER   broker -> A, msg 1
 *   4 READ      A, msg 1                        2026-03-03 07:30
 *   5 REJECT    police, EPOLICY, a reason that looks like a formula
 *   6 SUBMIT    police -> B, msg 2, case C2, subject P2, at 2026-03-29
 *               23:30 UTC = 00:30 BST on the 30th (London date differs)
 *   7 ESCALATE  broker, msg 2, deadline-missed
 *   8 ESCALATE_CLOSED  B, msg 2
 *
 * The real havenctl binary is run for every filter and format, against a
 * tampered chain (exit 1, nothing listed) and with bad options (exit 2).
 */
#define _XOPEN_SOURCE 700 /* nftw FTW_DEPTH | FTW_PHYS */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "haven/audit.h"
#include "haven/calendar.h"
#include "haven/keys.h"
#include "haven/pseudonym.h"
#include "util.h"

#include "ctl_tu.h"

#define SA "school.urn.100001"
#define SB "school.urn.100002"
#define POLICE "police.cambs"
#define SPOC "police.cambs.spoc"
#define CHILD1 "Echo  Testchild"
#define CHILD2 "Foxtrot Testchild"
#define DOB1 "2015-03-02"
#define DOB2 "2017-06-09"
#define REF1 "CC-2026-000101"
#define REF2 "CC-2026-000202"
#define FORMULA "=HYPERLINK(\"x\"),rule=R1"

/* The story's pseudonyms, made by build_store for each test. */
static uint8_t g_c1[HAVEN_HASH_BYTES], g_c2[HAVEN_HASH_BYTES];
static uint8_t g_p1[HAVEN_HASH_BYTES], g_p2[HAVEN_HASH_BYTES];

static void
assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle) != NULL) {
		print_error("did not expect \"%s\" in:\n%s\n", needle, hay);
		fail();
	}
}

/* ---------------------------------------------------------- the audit */

static int64_t
ms(const char *rfc3339)
{
	int64_t v = 0;

	assert_int_equal(haven_time_parse(rfc3339, &v), HAVEN_OK);
	return (v);
}

static void
msg_id(uint8_t id[HAVEN_MSGID_BYTES], int n)
{
	memset(id, 0, HAVEN_MSGID_BYTES);
	id[0] = 0xA5;
	id[15] = (uint8_t) n;
}

static void
base(haven_audit_entry *e, uint32_t event, const char *actor,
    const char *when, int msg, const char *reason)
{
	memset(e, 0, sizeof(*e));
	e->event = event;
	e->time_ms = ms(when);
	(void) snprintf(e->actor, sizeof(e->actor), "%s", actor);
	if (msg != 0) {
		e->has_msg = true;
		e->type = HAVEN_MSG_OE_NOTIFICATION;
		msg_id(e->msg_id, msg);
	}
	(void) snprintf(e->reason, sizeof(e->reason), "%s", reason);
}

static void
rcpt(haven_audit_entry *e, const char *id)
{
	(void) snprintf(e->recipients[e->n_recipients++], HAVEN_ID_MAX, "%s",
	    id);
}

static void
oe(haven_audit_entry *e, const uint8_t c[HAVEN_HASH_BYTES])
{
	e->has_case = true;
	memcpy(e->case_pseud, c, HAVEN_HASH_BYTES);
	(void) snprintf(e->legal_basis, sizeof(e->legal_basis),
	    "DAA2021-S49A");
	(void) snprintf(e->purpose, sizeof(e->purpose), "operation-encompass");
}

static void
subject(haven_audit_entry *e, const uint8_t p[HAVEN_HASH_BYTES])
{
	memcpy(e->subject_pseuds[e->n_subjects++], p, HAVEN_HASH_BYTES);
}

#define N_ENTRIES 8

/* The eight entries at the top of this file. */
static void
story(haven_audit_entry *e)
{
	base(&e[0], HAVEN_AUDIT_START, "broker", "2026-03-02T09:00:00Z", 0,
	    "haven-broker 0.1.0");
	base(&e[1], HAVEN_AUDIT_SUBMIT, POLICE, "2026-03-02T21:00:00Z", 1,
	    "accepted");
	rcpt(&e[1], SA);
	oe(&e[1], g_c1);
	subject(&e[1], g_p1);
	subject(&e[1], g_p2);
	e[1].deadline_ms = ms("2026-03-03T08:30:00Z");
	e[1].occurred_ms = ms("2026-03-02T20:15:00Z");
	base(&e[2], HAVEN_AUDIT_DELIVER, "broker", "2026-03-02T21:00:01Z", 1,
	    "delivered");
	rcpt(&e[2], SA);
	base(&e[3], HAVEN_AUDIT_READ, SA, "2026-03-03T07:30:00Z", 1,
	    "receipt=00112233445566778899aabbccddeeff role=DSL");
	rcpt(&e[3], POLICE);
	base(&e[4], HAVEN_AUDIT_REJECT, POLICE, "2026-03-04T10:00:00Z", 3,
	    FORMULA);
	e[4].outcome = HAVEN_EPOLICY;
	base(&e[5], HAVEN_AUDIT_SUBMIT, POLICE, "2026-03-29T23:30:00Z", 2,
	    "accepted");
	rcpt(&e[5], SB);
	oe(&e[5], g_c2);
	subject(&e[5], g_p2);
	e[5].deadline_ms = ms("2026-03-30T07:30:00Z");
	e[5].occurred_ms = ms("2026-03-29T23:00:00Z");
	base(&e[6], HAVEN_AUDIT_ESCALATE, "broker", "2026-03-30T07:30:00Z", 2,
	    "deadline-missed escalation=0a0b school=" SB);
	rcpt(&e[6], SPOC);
	rcpt(&e[6], SB ".deputy");
	oe(&e[6], g_c2);
	subject(&e[6], g_p2);
	e[6].deadline_ms = e[5].deadline_ms;
	base(&e[7], HAVEN_AUDIT_ESCALATE_CLOSED, SB, "2026-03-30T09:00:00Z", 2,
	    "read-after-escalation escalation=0c0d role=DSL");
	rcpt(&e[7], SPOC);
}

/* The pseudonyms, as the police agent computes them with the key. */
static void
pseudonyms(fx *f)
{
	haven_pseudonym_key *k = NULL;

	assert_int_equal(haven_pseudonym_key_generate(&k), HAVEN_OK);
	assert_int_equal(haven_pseudonym_key_save(k, P(f, "p.pseudonym"),
	    false), HAVEN_OK);
	haven_pseudonym_case(g_c1, k, REF1);
	haven_pseudonym_case(g_c2, k, REF2);
	haven_pseudonym_person(g_p1, k, CHILD1, DOB1);
	haven_pseudonym_person(g_p2, k, CHILD2, DOB2);
	haven_pseudonym_key_destroy(&k);
}

static void
write_config(fx *f)
{
	char text[2 * PATH_MAX + 128];
	int n = snprintf(text, sizeof(text), "{\"listen\":\"tcp://127.0.0.1:1\","
	    "\"data_dir\":\"%s\",\"keys\":\"%s\"}", f->store,
	    P(f, "broker.key"));

	assert_true(n > 0 && (size_t) n < sizeof(text));
	assert_int_equal(haven__write_file(P(f, "broker.json"), text,
	    (size_t) n, 0600, false), HAVEN_OK);
}

static void
build_store(fx *f)
{
	haven_audit_entry e[N_ENTRIES];
	haven_keys *broker = NULL;
	haven_audit_log *log = NULL;
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;

	pseudonyms(f);
	story(e);
	assert_int_equal(haven_keys_generate(&broker, "broker", 1), HAVEN_OK);
	assert_int_equal(haven_keys_save(broker, P(f, "broker.key"),
	    P(f, "broker.pub"), false), HAVEN_OK);
	assert_int_equal(haven__mkdirs(f->store), HAVEN_OK);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
	assert_int_equal(mdb_env_open(env, f->store, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(haven_audit_open(&log, txn), HAVEN_OK);
	for (size_t i = 0; i < N_ENTRIES; i++) {
		assert_int_equal(haven_audit_append(log, txn, &e[i], NULL),
		    HAVEN_OK);
		if (i == 3) {
			assert_int_equal(haven_audit_checkpoint(log, txn,
			    broker, e[i].time_ms), HAVEN_OK);
		}
	}
	assert_int_equal(haven_audit_checkpoint(log, txn, broker,
	    e[N_ENTRIES - 1].time_ms), HAVEN_OK);
	assert_int_equal(mdb_txn_commit(txn), 0);
	haven_audit_close(&log);
	mdb_env_close(env);
	haven_keys_destroy(&broker);
	write_config(f);
}

static void
actor_b(haven_audit_entry *e)
{
	(void) snprintf(e->actor, sizeof(e->actor), "%s", SB);
}

/* Re-put entry `seq` with another actor, as someone with disk access. */
static void
tamper_entry(fx *f, uint64_t seq)
{
	ctl_audit_tamper(f->store, seq, actor_b);
}

static int
setup(void **state)
{
	(void) ctl_setup(state);
	build_store(*state);
	return (0);
}

/* ------------------------------------------------------------ helpers */

#define LIST(f, ...) ctl(f, "audit", "list", "--store", (f)->store, \
	"--broker-pub", P(f, "broker.pub"), __VA_ARGS__, NULL)

/* `audit list ... --json`: the array, and its sequence numbers in
 * `seqs` (a string like "2,6,7"). */
static json_t *
list_json(fx *f, const char *want_seqs, ...)
{
	char *args[CTL_MAX_ARGS];
	char got[128] = "";
	size_t n = 0, i;
	json_t *j, *v;
	va_list ap;

	args[n++] = g_ctl;
	args[n++] = "audit";
	args[n++] = "list";
	args[n++] = "--config";
	args[n++] = (char *) P(f, "broker.json");
	args[n++] = "--json";
	va_start(ap, want_seqs);
	while (n < CTL_MAX_ARGS - 1 &&
	    (args[n] = va_arg(ap, char *)) != NULL) {
		n++;
	}
	va_end(ap);
	args[n] = NULL;
	assert_int_equal(run_prog(f, g_ctl, args), 0);
	j = json_loads(f->out, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_array(j));
	json_array_foreach(j, i, v) {
		size_t l = strlen(got);

		(void) snprintf(got + l, sizeof(got) - l, "%s%lld",
		    i > 0 ? "," : "", (long long) json_integer_value(
		    json_object_get(v, "seq")));
	}
	if (strcmp(got, want_seqs) != 0) {
		print_error("seqs %s, want %s\n", got, want_seqs);
		fail();
	}
	return (j);
}

static const char *
jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	assert_true(json_is_string(v));
	return (json_string_value(v));
}

static void
hex_of(char *out, const uint8_t *p, size_t n)
{
	haven__hex_encode(out, p, n);
}

/* Offset of `needle` in the line starting at `line` (-1 if absent). */
static long
col(const char *line, const char *needle)
{
	const char *end = strchr(line, '\n');
	const char *p = strstr(line, needle);

	if (p == NULL || (end != NULL && p > end)) {
		return (-1);
	}
	return ((long) (p - line));
}

/* The n-th line (0-based) of s. */
static const char *
line_at(const char *s, int n)
{
	for (; n > 0 && s != NULL; n--) {
		s = strchr(s, '\n');
		s = s != NULL ? s + 1 : NULL;
	}
	assert_non_null(s);
	return (s);
}

/* ------------------------------------------------------------- tests */

static void
test_text(void **state)
{
	fx *f = *state;
	char c1[65], p1[65], p2[65], want[512];
	const char *head, *l1, *l2, *l7;
	int lines = 0;

	hex_of(c1, g_c1, 32);
	hex_of(p1, g_p1, 32);
	hex_of(p2, g_p2, 32);
	assert_int_equal(ctl(f, "audit", "list", "--store", f->store,
	    "--broker-pub", P(f, "broker.pub"), NULL), 0);
	for (const char *p = f->out; (p = strchr(p, '\n')) != NULL; p++) {
		lines++;
	}
	assert_int_equal(lines, 1 + N_ENTRIES + 1);
	head = line_at(f->out, 0);
	l1 = line_at(f->out, 1);
	l2 = line_at(f->out, 2);
	l7 = line_at(f->out, 7);
	/* columns line up: time, event, actor, type */
	assert_int_equal(col(head, "TIME"), col(l1, "2026-03-02T09:00:00Z"));
	assert_int_equal(col(head, "EVENT"), col(l7, "ESCALATE"));
	assert_int_equal(col(head, "ACTOR"), col(l1, "broker"));
	assert_int_equal(col(head, "ACTOR"), col(l2, POLICE));
	assert_int_equal(col(head, "TYPE"), col(l2, "OE_NOTIFICATION"));
	assert_int_equal(col(head, "MSG"), col(l2, "a500"));
	assert_int_equal(col(head, "OUTCOME"), col(l2, "OK "));
	assert_int_equal(col(l1, "START"), col(l2, "SUBMIT"));
	assert_true(col(l1, "haven-broker 0.1.0") > 0);
	(void) snprintf(want, sizeof(want), "accepted; to=%s; case=%s; "
	    "subjects=%s,%s; basis=DAA2021-S49A; purpose=operation-encompass; "
	    "deadline=2026-03-03T08:30:00Z; occurred=2026-03-02T20:15:00Z\n",
	    SA, c1, p1, p2);
	assert_contains(l2, want);
	assert_contains(l7, "deadline-missed escalation=0a0b school=" SB
	    "; to=" SPOC "," SB ".deputy;");
	assert_contains(f->out, "\n-- 8 of 8 entries listed; audit chain "
	    "verified up to entry 8\n");
}

static void
test_json_fields(void **state)
{
	fx *f = *state;
	char hex[65];
	json_t *j = list_json(f, "1,2,3,4,5,6,7,8", NULL), *e, *s;

	e = json_array_get(j, 0); /* START */
	assert_string_equal(jstr(e, "event"), "START");
	assert_string_equal(jstr(e, "actor"), "broker");
	assert_true(json_is_null(json_object_get(e, "msg_id")));
	assert_true(json_is_null(json_object_get(e, "type")));
	assert_true(json_is_null(json_object_get(e, "case_pseudonym")));
	assert_true(json_is_null(json_object_get(e, "deadline")));
	assert_true(json_is_null(json_object_get(e, "occurred")));
	assert_int_equal(json_array_size(json_object_get(e, "subjects")), 0);
	assert_int_equal(json_array_size(json_object_get(e, "recipients")), 0);
	e = json_array_get(j, 1); /* the first notification */
	assert_int_equal(json_integer_value(json_object_get(e, "seq")), 2);
	assert_string_equal(jstr(e, "time"), "2026-03-02T21:00:00Z");
	assert_string_equal(jstr(e, "event"), "SUBMIT");
	assert_string_equal(jstr(e, "actor"), POLICE);
	assert_string_equal(jstr(e, "msg_id"),
	    "a5000000000000000000000000000001");
	assert_string_equal(jstr(e, "type"), "OE_NOTIFICATION");
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(e, "recipients"), 0)), SA);
	hex_of(hex, g_c1, 32);
	assert_string_equal(jstr(e, "case_pseudonym"), hex);
	s = json_object_get(e, "subjects");
	assert_int_equal(json_array_size(s), 2);
	hex_of(hex, g_p2, 32);
	assert_string_equal(json_string_value(json_array_get(s, 1)), hex);
	assert_string_equal(jstr(e, "legal_basis"), "DAA2021-S49A");
	assert_string_equal(jstr(e, "purpose"), "operation-encompass");
	assert_string_equal(jstr(e, "outcome"), "OK");
	assert_string_equal(jstr(e, "reason"), "accepted");
	assert_string_equal(jstr(e, "deadline"), "2026-03-03T08:30:00Z");
	assert_string_equal(jstr(e, "occurred"), "2026-03-02T20:15:00Z");
	e = json_array_get(j, 4); /* the refusal */
	assert_string_equal(jstr(e, "outcome"), "EPOLICY");
	assert_string_equal(jstr(e, "reason"), FORMULA);
	json_decref(j);
}

static void
test_filters(void **state)
{
	fx *f = *state;
	char c2[65], p1[65], p2[65];
	json_t *j;

	hex_of(c2, g_c2, 32);
	hex_of(p1, g_p1, 32);
	hex_of(p2, g_p2, 32);
	j = list_json(f, "7", "--event", "ESCALATE", NULL);
	assert_contains(jstr(json_array_get(j, 0), "reason"),
	    "deadline-missed");
	json_decref(j);
	json_decref(list_json(f, "4,7", "--event", "escalate", "--event",
	    "READ", NULL));
	json_decref(list_json(f, "8", "--actor", SB, NULL));
	json_decref(list_json(f, "6,7,8", "--msg",
	    "A5000000000000000000000000000002", NULL));
	json_decref(list_json(f, "6,7", "--case", c2, NULL));
	json_decref(list_json(f, "2", "--subject", p1, NULL));
	json_decref(list_json(f, "2,6,7", "--subject", p2, NULL));
	json_decref(list_json(f, "2,6", "--subject", p2, "--event", "SUBMIT",
	    NULL));
	/* 23:30 UTC on 29 March is 00:30 BST on the 30th: London dates */
	json_decref(list_json(f, "6,7,8", "--from", "2026-03-30", NULL));
	json_decref(list_json(f, "1,2,3,4,5", "--to", "2026-03-29", NULL));
	json_decref(list_json(f, "4,5", "--from", "2026-03-03", "--to",
	    "2026-03-04", NULL));
	/* filters combine: the DELIVER that day was the broker's */
	json_decref(list_json(f, "2,3", "--from", "2026-03-02", "--to",
	    "2026-03-02", "--event", "SUBMIT", "--event", "DELIVER", NULL));
	json_decref(list_json(f, "2", "--from", "2026-03-02", "--to",
	    "2026-03-02", "--actor", POLICE, "--event", "SUBMIT", "--event",
	    "DELIVER", NULL));
	json_decref(list_json(f, "", "--actor", "la.cambs", NULL));
	assert_string_equal(f->out, "[]\n");
	/* text: nothing matched is still a verified answer */
	assert_int_equal(LIST(f, "--actor", "la.cambs"), 0);
	assert_contains(f->out, "-- 0 of 8 entries listed");
}

static void
test_csv(void **state)
{
	fx *f = *state;
	char p1[65], p2[65], want[256];
	int rows = 0;

	hex_of(p1, g_p1, 32);
	hex_of(p2, g_p2, 32);
	assert_int_equal(LIST(f, "--csv"), 0);
	assert_int_equal(strncmp(f->out, "seq,time,event,actor,msg_id,type,"
	    "recipients,case_pseudonym,subjects,legal_basis,purpose,outcome,"
	    "reason,deadline,occurred\r\n", 120), 0);
	for (const char *p = f->out; (p = strstr(p, "\r\n")) != NULL; p += 2) {
		rows++;
	}
	assert_int_equal(rows, 1 + N_ENTRIES);
	assert_contains(f->out, "\r\n1,2026-03-02T09:00:00Z,START,broker,,,,,,"
	    ",,OK,haven-broker 0.1.0,,\r\n");
	/* a reason that looks like a formula is quoted and neutralised */
	assert_contains(f->out, ",EPOLICY,\"'=HYPERLINK(\"\"x\"\"),rule=R1\","
	    ",\r\n");
	(void) snprintf(want, sizeof(want), ",%s %s,DAA2021-S49A,", p1, p2);
	assert_contains(f->out, want);
	assert_contains(f->out, "," SPOC " " SB ".deputy,");
	assert_int_equal(LIST(f, "--csv", "--event", "READ"), 0);
	assert_contains(f->out, "\r\n4,2026-03-03T07:30:00Z,READ," SA
	    ",a5000000000000000000000000000001,OE_NOTIFICATION," POLICE);
	assert_lacks(f->out, "SUBMIT");
}

static void
test_tampered_chain(void **state)
{
	fx *f = *state;

	tamper_entry(f, 6);
	assert_int_equal(LIST(f, "--event", "SUBMIT"), 1);
	assert_contains(f->err, "audit chain BROKEN at entry ");
	assert_contains(f->err, "no listing produced");
	assert_string_equal(f->out, "");
	assert_int_equal(ctl(f, "audit", "list", "--config",
	    P(f, "broker.json"), "--json", NULL), 1);
	assert_contains(f->out, "\"ok\":false");
	assert_lacks(f->out, "[");
	/* the same store, the same verdict from audit verify */
	assert_int_equal(ctl(f, "audit", "verify", "--config",
	    P(f, "broker.json"), NULL), 2);
	assert_contains(f->out, "BROKEN at entry");
}

static void
test_bad_options(void **state)
{
	static const char *const bad[][3] = {
		{"--event", "OPEN", "--event"},
		{"--msg", "a500000000000000000000000000000", "--msg"},
		{"--msg", "zz000000000000000000000000000001", "--msg"},
		{"--case", "00", "--case"},
		{"--subject", "a5000000000000000000000000000001", "--subject"},
		{"--from", "2026-02-30", "--from"},
		{"--to", "30/03/2026", "--to"},
		{"--actor", "Police Cambs", "--actor"},
		{"--bogus", "1", "--bogus"},
	};
	fx *f = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(LIST(f, bad[i][0], bad[i][1]), 2);
		assert_contains(f->err, bad[i][2]);
		assert_string_equal(f->out, "");
	}
	assert_int_equal(LIST(f, "--from", "2026-03-05", "--to",
	    "2026-03-04"), 2);
	assert_contains(f->err, "after");
	assert_int_equal(LIST(f, "--json", "--csv"), 2);
	assert_contains(f->out, "\"ok\":false");
	assert_int_equal(ctl(f, "audit", "list", "--store", f->store, NULL), 2);
	assert_contains(f->err, "--broker-pub");
	assert_int_equal(ctl(f, "audit", "list", "--config",
	    P(f, "broker.json"), "--store", f->store, NULL), 2);
	assert_contains(f->err, "not both");
	assert_int_equal(ctl(f, "audit", "list", "--store", P(f, "nowhere"),
	    "--broker-pub", P(f, "broker.pub"), NULL), 2);
	assert_contains(f->err, "no such directory");
	assert_int_equal(ctl(f, "audit", "list", "--store", f->dir,
	    "--broker-pub", P(f, "broker.pub"), NULL), 2);
	assert_contains(f->err, "not a broker store");
	assert_int_equal(ctl(f, "audit", "list", "--store", f->store,
	    "--broker-pub", P(f, "missing.pub"), NULL), 1);
	assert_int_equal(ctl(f, "audit", "list", "--config",
	    P(f, "missing.json"), NULL), 1);
	assert_int_equal(ctl(f, "audit", "list", "--help", NULL), 0);
	assert_contains(f->out, "[--event NAME]...");
	assert_int_equal(ctl(f, "audit", "--help", NULL), 0);
	assert_contains(f->out, "havenctl audit list");
}

/* An empty store (the broker never wrote an entry) lists nothing. */
static void
test_empty_store(void **state)
{
	fx *f = *state;
	MDB_env *env = NULL;

	assert_int_equal(haven__mkdirs(P(f, "empty")), HAVEN_OK);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_open(env, P(f, "empty"), 0, 0600), 0);
	mdb_env_close(env);
	assert_int_equal(ctl(f, "audit", "list", "--store", P(f, "empty"),
	    "--broker-pub", P(f, "broker.pub"), "--json", NULL), 0);
	assert_string_equal(f->out, "[]\n");
	assert_int_equal(ctl(f, "audit", "list", "--store", P(f, "empty"),
	    "--broker-pub", P(f, "broker.pub"), NULL), 0);
	assert_contains(f->out, "-- 0 of 0 entries listed");
}

/* report encompass --config reads the store and key as audit verify. */
static void
test_report_config(void **state)
{
	fx *f = *state;
	json_t *j;

	assert_int_equal(ctl(f, "report", "encompass", "--config",
	    P(f, "broker.json"), "--from", "2026-03-01", "--to", "2026-03-31",
	    "--json", NULL), 0);
	j = json_loads(f->out, 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
	    "all"), "notifications")), 2);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "audit_head_seq")), N_ENTRIES);
	json_decref(j);
	assert_int_equal(ctl(f, "report", "encompass", "--config",
	    P(f, "broker.json"), "--broker-pub", P(f, "broker.pub"), "--from",
	    "2026-03-01", "--to", "2026-03-31", NULL), 2);
	assert_contains(f->err, "not both");
	tamper_entry(f, 2);
	assert_int_equal(ctl(f, "report", "encompass", "--config",
	    P(f, "broker.json"), "--from", "2026-03-01", "--to", "2026-03-31",
	    NULL), 1);
	assert_contains(f->err, "no report produced");
}

/* A subject access request: the agency holding the key computes the
 * person's pseudonym; the DPO lists the entries about them. */
static void
test_subject_access(void **state)
{
	fx *f = *state;
	char p1[65], p2[65], c1[65], out[80];
	json_t *j;

	hex_of(p1, g_p1, 32);
	hex_of(p2, g_p2, 32);
	hex_of(c1, g_c1, 32);
	/* from stdin, normalised as the agents normalise */
	assert_int_equal(ctl_in(f, "  foxtrot   TESTCHILD \n", "pseudonym",
	    "--key", P(f, "p.pseudonym"), "--person", "-", "--dob", DOB2,
	    NULL), 0);
	(void) snprintf(out, sizeof(out), "%s\n", p2);
	assert_string_equal(f->out, out);
	assert_lacks(f->err, "oxtrot");
	assert_lacks(f->err, "TESTCHILD");
	json_decref(list_json(f, "2,6,7", "--subject", p2, NULL));
	/* from an argument, and with --json */
	assert_int_equal(ctl(f, "pseudonym", "--key", P(f, "p.pseudonym"),
	    "--person", CHILD1, "--dob", DOB1, "--json", NULL), 0);
	j = json_loads(f->out, 0, NULL);
	assert_non_null(j);
	assert_string_equal(jstr(j, "pseudonym"), p1);
	assert_string_equal(jstr(j, "kind"), "person");
	json_decref(j);
	assert_lacks(f->out, "Echo");
	assert_int_equal(ctl(f, "pseudonym", "--key", P(f, "p.pseudonym"),
	    "--case", REF1, NULL), 0);
	(void) snprintf(out, sizeof(out), "%s\n", c1);
	assert_string_equal(f->out, out);
	assert_int_equal(ctl_in(f, REF1 "\r\n", "pseudonym", "--key",
	    P(f, "p.pseudonym"), "--case", "-", NULL), 0);
	assert_string_equal(f->out, out);
	/* another date of birth is another person; so is none */
	assert_int_equal(ctl(f, "pseudonym", "--key", P(f, "p.pseudonym"),
	    "--person", CHILD1, "--dob", DOB2, NULL), 0);
	assert_lacks(f->out, p1);
	{
		haven_pseudonym_key *k = NULL;
		uint8_t none[HAVEN_HASH_BYTES];

		assert_int_equal(haven_pseudonym_key_load(&k,
		    P(f, "p.pseudonym"), NULL, 0), HAVEN_OK);
		haven_pseudonym_person(none, k, CHILD1, "");
		haven_pseudonym_key_destroy(&k);
		hex_of(out, none, 32);
		(void) strcat(out, "\n");
	}
	assert_int_equal(ctl(f, "pseudonym", "--key", P(f, "p.pseudonym"),
	    "--person", CHILD1, "--dob", "unknown", NULL), 0);
	assert_string_equal(f->out, out);
}

static void
test_pseudonym_refusals(void **state)
{
	fx *f = *state;
	const char *key = P(f, "p.pseudonym");

	assert_int_equal(ctl(f, "pseudonym", "--person", CHILD1, "--dob", DOB1,
	    NULL), 2);
	assert_contains(f->err, "--key");
	assert_int_equal(ctl(f, "pseudonym", "--key", key, NULL), 2);
	assert_int_equal(ctl(f, "pseudonym", "--key", key, "--case", REF1,
	    "--person", CHILD1, "--dob", DOB1, NULL), 2);
	assert_int_equal(ctl(f, "pseudonym", "--key", key, "--person", CHILD1,
	    NULL), 2);
	assert_contains(f->err, "--dob");
	assert_int_equal(ctl(f, "pseudonym", "--key", key, "--person", CHILD1,
	    "--dob", "2015-02-30", NULL), 2);
	assert_int_equal(ctl(f, "pseudonym", "--key", key, "--person", CHILD1,
	    "--dob", "2015-3-2", NULL), 2);
	assert_int_equal(ctl(f, "pseudonym", "--key", key, "--case", REF1,
	    "--dob", DOB1, NULL), 2);
	assert_int_equal(ctl_in(f, "", "pseudonym", "--key", key, "--person",
	    "-", "--dob", DOB1, NULL), 2);
	assert_contains(f->err, "stdin");
	assert_int_equal(ctl_in(f, "   \n", "pseudonym", "--key", key,
	    "--person", "-", "--dob", DOB1, NULL), 2);
	assert_contains(f->err, "empty");
	/* a key that cannot be read: the name is in no message */
	assert_int_equal(ctl(f, "pseudonym", "--key", P(f, "none.pseudonym"),
	    "--person", CHILD1, "--dob", DOB1, "--json", NULL), 1);
	assert_lacks(f->err, "Testchild");
	assert_lacks(f->out, "Testchild");
	/* the broker's key is not a pseudonym key */
	assert_int_equal(ctl(f, "pseudonym", "--key", P(f, "broker.key"),
	    "--case", REF1, NULL), 1);
	assert_string_equal(f->out, "");
	assert_int_equal(ctl(f, "pseudonym", "--help", NULL), 0);
	assert_contains(f->out, "--person NAME --dob YYYY-MM-DD");
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_text, setup, ctl_teardown),
		cmocka_unit_test_setup_teardown(test_json_fields, setup,
		    ctl_teardown),
		cmocka_unit_test_setup_teardown(test_filters, setup, ctl_teardown),
		cmocka_unit_test_setup_teardown(test_csv, setup, ctl_teardown),
		cmocka_unit_test_setup_teardown(test_tampered_chain, setup,
		    ctl_teardown),
		cmocka_unit_test_setup_teardown(test_bad_options, setup,
		    ctl_teardown),
		cmocka_unit_test_setup_teardown(test_empty_store, setup,
		    ctl_teardown),
		cmocka_unit_test_setup_teardown(test_report_config, setup,
		    ctl_teardown),
		cmocka_unit_test_setup_teardown(test_subject_access, setup,
		    ctl_teardown),
		cmocka_unit_test_setup_teardown(test_pseudonym_refusals, setup,
		    ctl_teardown),
	};

	(void) argc;
	if (sodium_init() < 0) {
		return (1);
	}
	ctl_find(argv[0]);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
