/*
 * tests/unit/test_report.c: the Operation Encompass compliance report.
 *
 * A real broker-layout LMDB store (named databases "audit", "audit_head",
 * "checkpoint" in one environment, as the broker keeps them) is written in
 * a mkdtemp directory through haven_audit_open/append/checkpoint with a
 * real broker key. The audit tells the story of one week in March 2026
 * (GMT, so London dates are UTC dates) for three schools:
 *
 *   #1 school A  read on time                     incident->read 11:30
 *   #2 school A  escalated (deadline), read late, closed           12:00
 *   #3 school B  escalated (deadline) and still unread (overdue)
 *   #4 school B  escalated (school offline), then read on time     23:00
 *   #5 school C  unread, not yet due (deadline Monday 9 March)
 *   #6 school C  read late, never escalated                        11:30
 *   #7 school C  sent the day after the period: not counted
 *   #8 school A  sent the day before the period: not counted
 *   plus one police-raised R5 escalation, a second READ of #1 (ignored),
 *   a READ of #5 by a holiday duty contact (not the school: ignored), and
 *   unrelated DELIVER/ACK/START entries.
 *
 * Every count and median is checked through the computation API, then the
 * real havenctl binary is run end to end in every format, and the
 * refusals: a tampered audit (exit 1 naming the entry), bad dates, an
 * inverted period, an unknown format and a missing store (exit 2).
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
#include "haven/directory.h"
#include "haven/keys.h"
#include "report.h"
#include "util.h"

#include "ctl_tu.h"

#define SA "school.urn.100001"
#define SB "school.urn.100002"
#define SC "school.urn.100003"
#define POLICE "police.cambs"
#define SPOC "police.cambs.spoc"
#define DUTY "la.cambs.duty"
#define MIN 60000LL
#define HOUR (60 * MIN)

typedef struct ev {
	uint32_t event;
	uint32_t type;
	const char *actor;
	int msg; /* message number; 0 = no message id */
	const char *rcpt0;
	const char *rcpt1;
	int64_t t;
	int64_t deadline;
	int64_t occurred;
	const char *reason;
} ev;

/* March 2026, London time = UTC (before the clocks change on the 29th). */
static int64_t
T(int day, int h, int m)
{
	return (haven_days_from_civil(2026, 3, (unsigned) day) * 86400000LL +
	    h * HOUR + m * MIN);
}

static void
assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle) != NULL) {
		print_error("did not expect \"%s\" in:\n%s\n", needle, hay);
		fail();
	}
}

/* Case-insensitive strstr != NULL (needle in lower case). */
static bool
ci_has(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay != '\0'; hay++) {
		size_t i = 0;

		while (i < n && hay[i] != '\0' &&
		    (hay[i] | 0x20) == needle[i]) {
			i++;
		}
		if (i == n) {
			return (true);
		}
	}
	return (false);
}

/* ---------------------------------------------------------- the audit */

static void
msg_id(uint8_t id[HAVEN_MSGID_BYTES], int n)
{
	memset(id, 0, HAVEN_MSGID_BYTES);
	id[0] = 0xA5;
	id[15] = (uint8_t) n;
}

static void
to_entry(haven_audit_entry *e, const ev *v)
{
	memset(e, 0, sizeof(*e));
	e->event = v->event;
	e->type = v->type;
	e->time_ms = v->t;
	(void) snprintf(e->actor, sizeof(e->actor), "%s", v->actor);
	if (v->msg != 0) {
		e->has_msg = true;
		msg_id(e->msg_id, v->msg);
	}
	if (v->rcpt0 != NULL) {
		(void) snprintf(e->recipients[e->n_recipients++], HAVEN_ID_MAX,
		    "%s", v->rcpt0);
	}
	if (v->rcpt1 != NULL) {
		(void) snprintf(e->recipients[e->n_recipients++], HAVEN_ID_MAX,
		    "%s", v->rcpt1);
	}
	e->deadline_ms = v->deadline;
	e->occurred_ms = v->occurred;
	(void) snprintf(e->reason, sizeof(e->reason), "%s",
	    v->reason != NULL ? v->reason : "");
}

#define OE HAVEN_MSG_OE_NOTIFICATION
#define SUB(m, s, t, dl, occ) \
	{HAVEN_AUDIT_SUBMIT, OE, POLICE, m, s, NULL, t, dl, occ, "accepted"}
#define READ(m, who, t) \
	{HAVEN_AUDIT_READ, OE, who, m, POLICE, NULL, t, 0, 0, \
	    "receipt=00112233445566778899aabbccddeeff role=DSL"}
#define ESC(m, s, t, why) \
	{HAVEN_AUDIT_ESCALATE, OE, "broker", m, SPOC, s, t, 0, 0, why}

/* The week described at the top of this file, in sequence order. */
static size_t
scenario(ev *out)
{
	const ev list[] = {
		{HAVEN_AUDIT_START, 0, "", 0, NULL, NULL, T(1, 0, 0), 0, 0,
		    "haven-broker 0.1.0"},
		SUB(8, SA, T(1, 23, 30), T(2, 8, 30), T(1, 23, 0)),
		READ(8, SA, T(2, 7, 0)),
		SUB(1, SA, T(2, 21, 0), T(3, 8, 30), T(2, 20, 0)),
		{HAVEN_AUDIT_DELIVER, OE, "broker", 1, SA, NULL, T(2, 21, 1),
		    0, 0, "delivered"},
		SUB(6, SC, T(2, 23, 0), T(3, 8, 30), T(2, 22, 30)),
		READ(1, SA, T(3, 7, 30)),
		READ(6, SC, T(3, 10, 0)),
		READ(1, SA, T(3, 12, 0)),
		SUB(2, SA, T(3, 22, 0), T(4, 8, 30), T(3, 21, 0)),
		ESC(2, SA, T(4, 8, 30), "deadline-missed escalation=0a0b"),
		READ(2, SA, T(4, 9, 0)),
		{HAVEN_AUDIT_ESCALATE_CLOSED, OE, "broker", 2, SPOC, NULL,
		    T(4, 9, 0), 0, 0, "read-after-escalation role=DSL"},
		{HAVEN_AUDIT_SUBMIT, HAVEN_MSG_OE_ESCALATION, POLICE, 20,
		    SPOC, NULL, T(4, 11, 0), 0, 0, "accepted"},
		SUB(3, SB, T(4, 18, 0), T(5, 8, 30), T(4, 17, 0)),
		ESC(3, SB, T(5, 8, 30), "deadline-missed escalation=0c0d"),
		SUB(4, SB, T(5, 10, 0), T(6, 8, 30), T(5, 9, 0)),
		ESC(4, SB, T(5, 16, 0), "school-offline escalation=0e0f"),
		{HAVEN_AUDIT_ACK, OE, SB, 4, NULL, NULL, T(6, 7, 59), 0, 0,
		    "stored"},
		READ(4, SB, T(6, 8, 0)),
		SUB(5, SC, T(6, 20, 0), T(9, 8, 30), T(6, 19, 0)),
		READ(5, DUTY, T(6, 21, 0)),
		SUB(7, SC, T(7, 0, 30), T(9, 8, 30), T(7, 0, 10)),
		READ(7, SC, T(7, 9, 0)),
	};
	size_t n = sizeof(list) / sizeof(list[0]);

	memcpy(out, list, sizeof(list));
	return (n);
}

#define N_EV_MAX 64

/* The broker's key pair in the fixture (broker.key, broker.pub). */
static haven_keys *
broker_keys(fx *f)
{
	haven_keys *k = NULL;
	struct stat st;

	if (stat(P(f, "broker.key"), &st) == 0) {
		assert_int_equal(haven_keys_load(&k, P(f, "broker.key"), NULL,
		    0), HAVEN_OK);
		return (k);
	}
	assert_int_equal(haven_keys_generate(&k, "broker", 1), HAVEN_OK);
	assert_int_equal(haven_keys_save(k, P(f, "broker.key"),
	    P(f, "broker.pub"), false), HAVEN_OK);
	return (k);
}

/* Write the scenario into a fresh broker-layout store, checkpointed. */
static void
build_store(fx *f)
{
	haven_keys *broker = broker_keys(f);
	haven_audit_log *log = NULL;
	ev evs[N_EV_MAX];
	size_t n = scenario(evs);
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;

	ctl_store_begin(f->store, &env, &txn);
	assert_int_equal(haven_audit_open(&log, txn), HAVEN_OK);
	for (size_t i = 0; i < n; i++) {
		haven_audit_entry e;

		to_entry(&e, &evs[i]);
		assert_int_equal(haven_audit_append(log, txn, &e, NULL),
		    HAVEN_OK);
		if (i == n / 2) {
			assert_int_equal(haven_audit_checkpoint(log, txn,
			    broker, evs[i].t), HAVEN_OK);
		}
	}
	assert_int_equal(haven_audit_checkpoint(log, txn, broker, T(7, 9, 1)),
	    HAVEN_OK);
	haven_audit_close(&log);
	ctl_store_end(env, txn);
	haven_keys_destroy(&broker);
}

/* Make a late read look on time, as someone with disk access might. */
static void
later_deadline(haven_audit_entry *e)
{
	e->deadline_ms += 6 * HOUR;
}

/* A signed directory naming schools A and B (C is left out) with names
 * that need escaping in HTML and CSV. */
static void
write_directory(fx *f)
{
	static const char *const ids[] = {SA, SB, POLICE};
	static const char *const roles[] = {"EDU", "EDU", "POL"};
	static const char *const names[] = {"Riverside <Primary> & \"Co\"",
	    "=Brook School, Ely", "Cambridgeshire Constabulary"};
	haven_keys *admin = NULL, *k = NULL;
	haven_directory *d = NULL;
	json_t *list = json_array();
	char *text, err[256] = "";
	uint8_t *doc = NULL;
	size_t len = 0;

	for (size_t i = 0; i < 3; i++) {
		haven_pubkey pk;
		char s[65], b[65], c[65];

		assert_int_equal(haven_keys_generate(&k, ids[i], 1), HAVEN_OK);
		haven_keys_public(k, &pk);
		haven__hex_encode(s, pk.sign_pk, 32);
		haven__hex_encode(b, pk.box_pk, 32);
		haven__hex_encode(c, pk.curve_pk, 32);
		assert_int_equal(json_array_append_new(list, json_pack(
		    "{s:s, s:s, s:s, s:[{s:i, s:s, s:s, s:s}]}", "id", ids[i],
		    "role", roles[i], "name", names[i], "keys", "generation",
		    1, "sign_pk", s, "box_pk", b, "curve_pk", c)), 0);
		haven_keys_destroy(&k);
	}
	list = json_pack("{s:i, s:o}", "version", 1, "agencies", list);
	assert_non_null(list);
	text = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	assert_non_null(text);
	if (haven_directory_from_json(&d, text, strlen(text), err,
	    sizeof(err)) != HAVEN_OK) {
		print_error("directory: %s\n", err);
		fail();
	}
	assert_int_equal(haven_keys_generate(&admin, "admin", 1), HAVEN_OK);
	assert_int_equal(haven_keys_save(admin, P(f, "admin.key"),
	    P(f, "admin.pub"), false), HAVEN_OK);
	assert_int_equal(haven_directory_sign(d, admin, &doc, &len), HAVEN_OK);
	assert_int_equal(haven__write_file(P(f, "directory.signed"), doc, len,
	    0644, false), HAVEN_OK);
	free(doc);
	free(text);
	haven_directory_destroy(&d);
	haven_keys_destroy(&admin);
}

/* ---------------------------------------------------------- the numbers */

static haven__report *
compute(fx *f, int from_day, int to_day)
{
	haven_audit_report rep;
	haven__report *r = NULL;
	haven_pubkey pk;
	char err[256] = "";

	assert_int_equal(haven_pubkey_load(&pk, P(f, "broker.pub"), NULL, 0),
	    HAVEN_OK);
	assert_int_equal(haven_audit_verify(f->store, pk.sign_pk, &rep),
	    HAVEN_OK);
	assert_true(rep.ok);
	assert_int_equal(haven__report_new(&r, haven_london_days(T(from_day,
	    12, 0)), haven_london_days(T(to_day, 12, 0))), HAVEN_OK);
	if (haven__report_read_store(r, f->store, rep.entries, rep.head_hash,
	    err, sizeof(err)) != HAVEN_OK) {
		print_error("read_store: %s\n", err);
		fail();
	}
	assert_int_equal(haven__report_finish(r, NULL), HAVEN_OK);
	return (r);
}

static const haven__report_row *
row_of(const haven__report *r, const char *id)
{
	for (size_t i = 0; i < r->n_rows; i++) {
		if (strcmp(r->rows[i].id, id) == 0) {
			return (&r->rows[i]);
		}
	}
	print_error("no row for %s\n", id);
	fail();
	return (NULL);
}

/* notifications, on time, late, unread, overdue, escalated, deadline,
 * offline, closed, median. */
static void
assert_row(const haven__report_row *w, const uint64_t want[9],
    int64_t median)
{
	const uint64_t got[9] = {w->notifications, w->read_on_time,
	    w->read_late, w->unread, w->unread_overdue, w->escalated,
	    w->esc_deadline, w->esc_offline, w->esc_closed};

	for (size_t i = 0; i < 9; i++) {
		if (got[i] != want[i]) {
			print_error("%s: column %zu is %llu, want %llu\n",
			    w->id, i, (unsigned long long) got[i],
			    (unsigned long long) want[i]);
		}
		assert_int_equal(got[i], want[i]);
	}
	assert_int_equal(w->median_ms, median);
}

static void
test_counts(void **state)
{
	fx *f = *state;
	haven__report *r;
	char b[32];

	build_store(f);
	r = compute(f, 2, 6);
	assert_int_equal(r->n_rows, 3);
	assert_row(row_of(r, SA), (const uint64_t[]){2, 1, 1, 0, 0, 1, 1, 0,
	    1}, (11 * HOUR + 30 * MIN + 12 * HOUR) / 2);
	assert_row(row_of(r, SB), (const uint64_t[]){2, 1, 0, 1, 1, 2, 1, 1,
	    0}, 23 * HOUR);
	assert_row(row_of(r, SC), (const uint64_t[]){2, 0, 1, 1, 0, 0, 0, 0,
	    0}, 11 * HOUR + 30 * MIN);
	assert_row(&r->all, (const uint64_t[]){6, 2, 2, 2, 1, 3, 2, 1, 1},
	    11 * HOUR + 45 * MIN);
	assert_string_equal(r->all.id, "ALL");
	assert_int_equal(r->police_escalations, 1);
	assert_int_equal(r->as_of_ms, T(7, 9, 0));
	/* shares of known outcomes: A 1/2, B 1/2, C 0/1, all 2/5 */
	assert_int_equal(haven__report_permille(row_of(r, SA)), 500);
	assert_int_equal(haven__report_permille(row_of(r, SC)), 0);
	assert_int_equal(haven__report_permille(&r->all), 400);
	haven__report_hm(r->all.median_ms, b, sizeof(b));
	assert_string_equal(b, "11:45");
	haven__report_hm(-1, b, sizeof(b));
	assert_string_equal(b, "-");
	haven__report_hm(49 * HOUR + 5 * MIN, b, sizeof(b));
	assert_string_equal(b, "49:05");
	/* sorted by name (the ids, without a directory) */
	assert_string_equal(r->rows[0].id, SA);
	assert_string_equal(r->rows[2].id, SC);
	assert_int_equal(haven__report_finish(r, NULL), HAVEN_ESTATE);
	haven__report_destroy(&r);
	assert_null(r);

	/* A one-day window (Wednesday 4th): only #3 (B). #2 was sent on the
	 * 3rd, #4 on the 5th. */
	r = compute(f, 4, 4);
	assert_int_equal(r->n_rows, 1);
	assert_row(&r->all, (const uint64_t[]){1, 0, 0, 1, 1, 1, 1, 0, 0},
	    -1);
	assert_int_equal(haven__report_permille(&r->all), 0);
	assert_int_equal(r->police_escalations, 1);
	haven__report_destroy(&r);
}

/* The report reads only the verified chain: a head hash that does not
 * match what the store holds (a store rewritten after verification) is
 * refused, naming the entry. */
static void
test_unverified_head_refused(void **state)
{
	fx *f = *state;
	haven__report *r = NULL;
	uint8_t wrong[HAVEN_HASH_BYTES];
	char err[256] = "";

	build_store(f);
	memset(wrong, 0x5A, sizeof(wrong));
	assert_int_equal(haven__report_new(&r, 0, 1), HAVEN_OK);
	assert_int_equal(haven__report_read_store(r, f->store, 12, wrong, err,
	    sizeof(err)), HAVEN_ECORRUPT);
	assert_contains(err, "entry 12");
	haven__report_destroy(&r);
	assert_int_equal(haven__report_new(&r, 0, 1), HAVEN_OK);
	assert_int_equal(haven__report_read_store(r, f->store, 99, wrong, err,
	    sizeof(err)), HAVEN_ECORRUPT);
	assert_contains(err, "entry 25 missing");
	haven__report_destroy(&r);
	assert_int_equal(haven__report_new(&r, 2, 1), HAVEN_EINVAL);
	assert_null(r);
}

/* ------------------------------------------------------------ end to end */

#define RUN(f, ...) ctl(f, "report", "encompass", "--store", (f)->store, \
	"--broker-pub", P(f, "broker.pub"), __VA_ARGS__, NULL)

static void
test_text_and_csv(void **state)
{
	static const char csv_start[] = "school_id,school_name,"
	    "notifications,read_before_deadline,";
	fx *f = *state;
	const char *last;

	build_store(f);
	assert_int_equal(RUN(f, "--from", "2026-03-02", "--to", "2026-03-06"),
	    0);
	assert_contains(f->out, "Operation Encompass compliance report");
	assert_contains(f->out, "2026-03-02 to 2026-03-06");
	assert_contains(f->out, "As of:     2026-03-07 09:00 GMT (audit "
	    "entry 24)");
	assert_contains(f->out, SA);
	assert_contains(f->out, "Police-raised escalations (R5: school "
	    "unknown or undeliverable): 1");
	/* The overall line is the last row of the table, aligned. */
	last = strstr(f->out, "\nAll schools");
	assert_non_null(last);
	assert_null(strstr(last + 1, "\n" SA));
	assert_contains(last, "11:45");
	assert_contains(last, "40.0%");

	assert_int_equal(RUN(f, "--from", "2026-03-02", "--to", "2026-03-06",
	    "--format", "csv"), 0);
	assert_int_equal(strncmp(f->out, csv_start, strlen(csv_start)), 0);
	assert_contains(f->out, "\r\n" SA "," SA ",2,1,1,0,0,1,1,0,1,11:45,"
	    "705,50.0,\r\n");
	assert_contains(f->out, "\r\n" SC "," SC ",2,0,1,1,0,0,0,0,0,11:30,"
	    "690,0.0,\r\n");
	assert_contains(f->out, "\r\nALL,All schools,6,2,2,2,1,3,2,1,1,11:45,"
	    "705,40.0,1\r\n");
	{
		size_t lines = 0;

		for (const char *p = f->out; (p = strstr(p, "\r\n")) != NULL;
		    p += 2) {
			lines++;
		}
		assert_int_equal(lines, 5); /* header, 3 schools, ALL */
	}
}

static void
test_json_html_and_out(void **state)
{
	fx *f = *state;
	json_t *j, *all;

	build_store(f);
	assert_int_equal(RUN(f, "--from", "2026-03-02", "--to", "2026-03-06",
	    "--format", "json"), 0);
	j = json_loads(f->out, 0, NULL);
	assert_non_null(j);
	all = json_object_get(j, "all");
	assert_int_equal(json_integer_value(json_object_get(all,
	    "notifications")), 6);
	assert_int_equal(json_integer_value(json_object_get(all,
	    "unread_past_deadline")), 1);
	assert_int_equal(json_integer_value(json_object_get(all,
	    "median_incident_to_read_ms")), 11 * HOUR + 45 * MIN);
	assert_string_equal(json_string_value(json_object_get(all,
	    "median_incident_to_read")), "11:45");
	assert_true(json_real_value(json_object_get(all,
	    "pct_read_before_deadline")) > 39.9);
	assert_int_equal(json_array_size(json_object_get(j, "schools")), 3);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "police_escalations")), 1);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "audit_head_seq")), 24);
	json_decref(j);

	assert_int_equal(RUN(f, "--from", "2026-03-02", "--to", "2026-03-06",
	    "--format", "html", "--out", P(f, "r.html")), 0);
	free(f->out);
	f->out = slurp(P(f, "r.html"));
	assert_non_null(f->out);
	assert_int_equal(strncmp(f->out, "<!DOCTYPE html>", 15), 0);
	assert_contains(f->out, "<svg xmlns=\"http://www.w3.org/2000/svg\"");
	assert_contains(f->out, "</svg>");
	assert_contains(f->out, "unread, not yet due");
	assert_contains(f->out, "<style>");
	assert_contains(f->out, "40.0%");
	assert_contains(f->out, "No personal data");
	assert_contains(f->out, "</html>\n");
	assert_false(ci_has(f->out, "<script"));
	assert_false(ci_has(f->out, "<link"));
	assert_false(ci_has(f->out, "src="));
	assert_false(ci_has(f->out, "url("));
	/* --out refuses to replace a file without --force */
	assert_int_equal(RUN(f, "--from", "2026-03-02", "--to", "2026-03-06",
	    "--format", "html", "--out", P(f, "r.html")), 2);
	assert_contains(f->err, "--force");
	assert_int_equal(RUN(f, "--from", "2026-03-02", "--to", "2026-03-06",
	    "--format", "csv", "--out", P(f, "r.html"), "--force", "--json"),
	    0);
	assert_contains(f->out, "\"ok\":true");
}

static void
test_directory_names_escaped(void **state)
{
	fx *f = *state;

	build_store(f);
	write_directory(f);
	assert_int_equal(RUN(f, "--from", "2026-03-02", "--to", "2026-03-06",
	    "--format", "html", "--directory", P(f, "directory.signed"),
	    "--admin-pub", P(f, "admin.pub")), 0);
	assert_contains(f->out, "Riverside &lt;Primary&gt; &amp; &quot;Co"
	    "&quot;");
	assert_lacks(f->out, "<Primary>");
	assert_contains(f->out, SC); /* not in the directory: shown by id */
	assert_int_equal(RUN(f, "--from", "2026-03-02", "--to", "2026-03-06",
	    "--format", "csv", "--directory", P(f, "directory.signed"),
	    "--admin-pub", P(f, "admin.pub")), 0);
	assert_contains(f->out, "\r\n" SB ",\"'=Brook School, Ely\",2,");
	assert_contains(f->out, "\"Riverside <Primary> & \"\"Co\"\"\"");
	/* a directory signed by another key is refused */
	assert_int_equal(RUN(f, "--from", "2026-03-02", "--to", "2026-03-06",
	    "--directory", P(f, "directory.signed"), "--admin-pub",
	    P(f, "broker.pub")), 2);
	assert_contains(f->err, "--directory");
	assert_int_equal(RUN(f, "--from", "2026-03-02", "--to", "2026-03-06",
	    "--directory", P(f, "directory.signed")), 2);
	assert_contains(f->err, "--admin-pub");
}

static void
test_tampered_audit_refused(void **state)
{
	fx *f = *state;

	build_store(f);
	ctl_audit_tamper(f->store, 10, later_deadline); /* #2: 11 unlinked */
	assert_int_equal(RUN(f, "--from", "2026-03-02", "--to", "2026-03-06"),
	    1);
	assert_contains(f->err, "BROKEN at entry 11: entry 11: prev_hash");
	assert_contains(f->err, "no report produced");
	assert_lacks(f->out, "All schools");
	assert_int_equal(RUN(f, "--from", "2026-03-02", "--to", "2026-03-06",
	    "--format", "html", "--out", P(f, "bad.html")), 1);
	assert_int_equal(access(P(f, "bad.html"), F_OK), -1);
}

static void
test_argument_refusals(void **state)
{
	fx *f = *state;

	build_store(f);
	assert_int_equal(RUN(f, "--from", "2026-02-30", "--to", "2026-03-06"),
	    2);
	assert_contains(f->err, "--from");
	assert_int_equal(RUN(f, "--from", "2026-03-02", "--to", "6/3/2026"),
	    2);
	assert_contains(f->err, "--to");
	assert_int_equal(RUN(f, "--from", "2026-03-07", "--to", "2026-03-06"),
	    2);
	assert_contains(f->err, "after");
	assert_int_equal(RUN(f, "--from", "2026-03-02", "--to", "2026-03-06",
	    "--format", "pdf"), 2);
	assert_contains(f->err, "--format");
	assert_int_equal(ctl(f, "report", "encompass", "--broker-pub",
	    P(f, "broker.pub"), "--from", "2026-03-02", "--to", "2026-03-06",
	    NULL), 2);
	assert_contains(f->err, "--store");
	assert_int_equal(ctl(f, "report", "encompass", "--store",
	    P(f, "nowhere"), "--broker-pub", P(f, "broker.pub"), "--from",
	    "2026-03-02", "--to", "2026-03-06", NULL), 2);
	assert_contains(f->err, "no such directory");
	assert_int_equal(ctl(f, "report", "encompass", "--store", f->dir,
	    "--broker-pub", P(f, "broker.pub"), "--from", "2026-03-02", "--to",
	    "2026-03-06", "--json", NULL), 2);
	assert_contains(f->out, "\"ok\":false");
	assert_int_equal(ctl(f, "report", "encompass", "--store", f->store,
	    "--broker-pub", P(f, "missing.pub"), "--from", "2026-03-02",
	    "--to", "2026-03-06", NULL), 1);
	assert_int_equal(ctl(f, "report", "encompass", "--help", NULL), 0);
	assert_contains(f->out, "--format text|csv|html|json");
	assert_int_equal(ctl(f, "report", "bogus", NULL), 2);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		CTL_TEST(test_counts),
		CTL_TEST(test_unverified_head_refused),
		CTL_TEST(test_text_and_csv),
		CTL_TEST(test_json_html_and_out),
		CTL_TEST(test_directory_names_escaped),
		CTL_TEST(test_tampered_audit_refused),
		CTL_TEST(test_argument_refusals),
	};

	(void) argc;
	if (sodium_init() < 0) {
		return (1);
	}
	ctl_find(argv[0]);
	if (access(g_ctl, X_OK) != 0) {
		(void) fprintf(stderr, "test_report: %s not found (build the "
		    "havenctl target)\n", g_ctl);
		return (1);
	}
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
