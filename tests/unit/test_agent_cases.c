/*
 * tests/unit/test_agent_cases.c: the MARAC coordinator's case index
 * (agents/cases.c over the sealed agent store, agents/store.c).
 *
 * Every test opens a real sealed agent store in a mkdtemp directory and
 * a minimal coordinator agent over it (store, keys, default policy: no
 * config, no broker). Messages reach the index as they would in a run:
 * a real MARAC referral (M5) or consent decision is built from the
 * fixtures by haven_marac_from_json_ex, sealed by haven_envelope_seal
 * with the sender's real keys to the real directory, and stored as a
 * verified inbox record received at a chosen time; then
 * haven__agt_cases_refresh folds the inbox into the index. Checked:
 * R12 repeat detection, the meeting a case is listed for (Mon/Wed/Fri
 * 10:00 Europe/London, across both clock changes), consent state, that
 * a refresh is idempotent, and that no plaintext name, case reference
 * or person pseudonym is in the LMDB file (case pseudonyms are the
 * index's keys, by design).
 */
#define _GNU_SOURCE /* memmem */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "cases.h"
#include "haven/calendar.h"
#include "haven/envelope.h"
#include "haven/marac.h"
#include "haven/policy.h"
#include "util.h"

#include "dir_tu.h"

#define MFIX HAVEN_SOURCE_DIR "/tests/fixtures/marac/"
#define GP "gp.riverside"
#define IDVA "idva.cambs"
#define MCO "marac.cambs"
#define V1 "Victoria Casetest"
#define V1_ALT "Valerie Casetest"
#define P1 "Peregrine Casetest"
#define P2 "Percival Casetest"
#define MS_DAY 86400000LL

static haven_directory *g_dir;
static haven_keys *g_gp, *g_idva, *g_mco;
static haven_pseudonym_key *g_pk;

typedef struct fx {
	char dir[64];
	uint8_t key[HAVEN_KEY_BYTES];
	haven__agent a;
} fx;

/* ------------------------------------------------------------ fixture */

static json_t *
isp(void)
{
	return (json_pack("{s:s}", "isp", "signed"));
}

static int
group_setup(void **state)
{
	json_t *l = json_array();

	(void) state;
	assert_true(sodium_init() >= 0);
	assert_int_equal(json_array_append_new(l, dir_tu_agency(GP, "HLT",
	    false, isp(), &g_gp)), 0);
	assert_int_equal(json_array_append_new(l, dir_tu_agency(IDVA, "IDVA",
	    false, isp(), &g_idva)), 0);
	assert_int_equal(json_array_append_new(l, dir_tu_agency(MCO, "MCO",
	    false, isp(), &g_mco)), 0);
	assert_int_equal(json_array_append_new(l, dir_tu_agency(
	    "school.urn.110123", "EDU", false, NULL, NULL)), 0);
	assert_int_equal(json_array_append_new(l, dir_tu_agency(
	    "school.urn.110456", "EDU", false, NULL, NULL)), 0);
	g_dir = dir_tu_build(l);
	assert_int_equal(haven_pseudonym_key_generate(&g_pk), HAVEN_OK);
	return (0);
}

static int
group_teardown(void **state)
{
	(void) state;
	haven_directory_destroy(&g_dir);
	haven_keys_destroy(&g_gp);
	haven_keys_destroy(&g_idva);
	haven_keys_destroy(&g_mco);
	haven_pseudonym_key_destroy(&g_pk);
	return (0);
}

static const char *
db_path(const fx *f, const char *name)
{
	static char path[128];

	(void) snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	return (path);
}

static int
setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	(void) snprintf(f->dir, sizeof(f->dir), "/tmp/haven-cases-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	randombytes_buf(f->key, sizeof(f->key));
	assert_int_equal(haven__agt_store_open(&f->a.store, f->dir, f->key),
	    HAVEN_OK);
	f->a.keys = g_mco;
	f->a.dir = g_dir;
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	fx *f = *state;

	haven__agt_store_close(&f->a.store);
	(void) unlink(db_path(f, "data.mdb"));
	(void) unlink(db_path(f, "lock.mdb"));
	(void) rmdir(f->dir);
	sodium_memzero(f->key, sizeof(f->key));
	free(f);
	return (0);
}

/* ------------------------------------------------------------ helpers */

static int64_t
at(const char *rfc3339)
{
	int64_t v = 0;

	assert_int_equal(haven_time_parse(rfc3339, &v), HAVEN_OK);
	return (v);
}

static void
add_rcpt(haven_header *h, const char *id)
{
	for (size_t i = 0; i < h->n_recipients; i++) {
		if (strcmp(h->recipients[i], id) == 0) {
			return;
		}
	}
	assert_true(h->n_recipients < HAVEN_MAX_RECIPIENTS);
	(void) snprintf(h->recipients[h->n_recipients++], HAVEN_ID_MAX, "%s",
	    id);
}

/* The signed header the agent's `marac` command makes for `m`. */
static void
header_of(const haven_marac_msg *m, haven_header *h)
{
	memset(h, 0, sizeof(*h));
	h->type = m->type;
	h->seq = 1;
	for (size_t v = 0; v < m->n_views; v++) {
		for (size_t r = 0; r < m->views[v].n_recipients; r++) {
			add_rcpt(h, m->views[v].recipients[r]);
		}
	}
	haven__agt_marac_header(h, m, g_pk);
}

/* Seal `m` from `sender` into one envelope and store it as a verified
 * inbox record received at `received_ms`. */
static void
deliver(fx *f, const haven_marac_msg *m, const haven_keys *sender,
    int64_t received_ms)
{
	haven_view_in in[HAVEN_MAX_VIEWS];
	const char *rc[HAVEN_MAX_VIEWS][HAVEN_MAX_RECIPIENTS];
	haven__inbox_rec rec;
	haven_header h;
	uint8_t *env = NULL;
	size_t len = 0;
	char err[256] = "";

	assert_true(m->n_views <= HAVEN_MAX_VIEWS);
	header_of(m, &h);
	h.created_ms = received_ms - 1000;
	for (size_t v = 0; v < m->n_views; v++) {
		for (size_t r = 0; r < m->views[v].n_recipients; r++) {
			rc[v][r] = m->views[v].recipients[r];
		}
		in[v] = (haven_view_in) { m->views[v].profile, rc[v],
		    m->views[v].n_recipients, m->views[v].payload,
		    m->views[v].payload_len };
	}
	if (haven_envelope_seal(&h, false, in, m->n_views, sender, g_dir,
	    &env, &len, err, sizeof(err)) != HAVEN_OK) {
		fail_msg("seal: %s", err);
	}
	memset(&rec, 0, sizeof(rec));
	rec.verified = true;
	rec.envelope = env;
	rec.envelope_len = len;
	rec.received_ms = received_ms;
	assert_int_equal(haven__agt_store_inbox_put(f->a.store, h.msg_id, &rec),
	    HAVEN_OK);
	free(env);
}

/* Build message `type` from `j` (taken over) as `sender` at `now_ms`. */
static void
send_json(fx *f, uint32_t type, json_t *j, const char *sender,
    const haven_keys *keys, int64_t now_ms)
{
	haven_marac_msg *m = NULL;
	char field[96] = "", why[192] = "";
	char *text = json_dumps(j, JSON_COMPACT);

	json_decref(j);
	assert_non_null(text);
	if (haven_marac_from_json_ex(type, text, strlen(text), sender, g_dir,
	    NULL, now_ms, HAVEN_MARAC_DEFER_BROKER, &m, field, sizeof(field),
	    why, sizeof(why)) != HAVEN_OK) {
		fail_msg("from_json: %s: %s", field, why);
	}
	free(text);
	deliver(f, m, keys, now_ms);
	haven_marac_msg_free(&m);
}

/* The GP's referral of case `ref` (victim, perpetrator), received at
 * `when`; the incident was the day before. */
static void
referral(fx *f, const char *ref, const char *victim, const char *perp,
    const char *when)
{
	json_t *j = dir_tu_fixture(MFIX, "scenario4-gp-referral.json");
	int64_t t = at(when);
	char occ[32];

	haven_time_format(t - MS_DAY, occ, sizeof(occ));
	assert_int_equal(json_object_set_new(j, "case_ref", json_string(ref)),
	    0);
	assert_int_equal(json_object_set_new(json_object_get(j, "victim"),
	    "name", json_string(victim)), 0);
	assert_int_equal(json_object_set_new(json_object_get(j,
	    "perpetrator"), "name", json_string(perp)), 0);
	assert_int_equal(json_object_set_new(json_object_get(j, "incident"),
	    "occurred_at", json_string(occ)), 0);
	send_json(f, HAVEN_MSG_MARAC_REFERRAL, j, GP, g_gp, t);
}

/* The IDVA's consent decision for case `ref`, received at `when`. */
static void
consent(fx *f, const char *ref, const char *decision, const char *when)
{
	json_t *j = dir_tu_fixture(MFIX, "consent-withdrawn.json");
	char day[11];

	(void) snprintf(day, sizeof(day), "%s", when);
	assert_int_equal(json_object_set_new(j, "case_ref", json_string(ref)),
	    0);
	assert_int_equal(json_object_set_new(j, "decision",
	    json_string(decision)), 0);
	assert_int_equal(json_object_set_new(j, "decided_on",
	    json_string(day)), 0);
	send_json(f, HAVEN_MSG_CONSENT_DECISION, j, IDVA, g_idva, at(when));
}

static size_t
refresh(fx *f)
{
	size_t n = 0;

	assert_int_equal(haven__agt_cases_refresh(&f->a, g_pk, &n), HAVEN_OK);
	return (n);
}

static void
case_of(fx *f, const char *ref, haven__case *c)
{
	uint8_t key[HAVEN_HASH_BYTES];

	haven_pseudonym_case(key, g_pk, ref);
	assert_int_equal(haven__agt_case_get(&f->a, key, c), HAVEN_OK);
	assert_memory_equal(c->case_pseud, key, HAVEN_HASH_BYTES);
}

/* ------------------------------------------------------------- tests */

/* R12: same victim AND perpetrator within repeat_days (365) is a repeat,
 * whatever the referrer said; another perpetrator, or a year and a day
 * later, is not. */
static void
test_repeat(void **state)
{
	fx *f = *state;
	haven__case c;

	referral(f, "MARAC-2026-0001", V1, P1, "2026-01-05T09:00:00Z");
	referral(f, "MARAC-2026-0002", V1, P1, "2026-02-04T09:00:00Z");
	referral(f, "MARAC-2026-0003", V1, P2, "2026-02-14T09:00:00Z");
	referral(f, "MARAC-2026-0004", V1_ALT, P1, "2026-02-15T09:00:00Z");
	/* 366 days after the second referral of the pair */
	referral(f, "MARAC-2027-0005", V1, P1, "2027-02-05T09:00:00Z");
	assert_int_equal(refresh(f), 5);
	case_of(f, "MARAC-2026-0001", &c);
	assert_true(c.has_pair && c.has_referral);
	assert_false(c.repeat);
	assert_int_equal(c.referrals, 1);
	assert_string_equal(c.referrer, GP);
	case_of(f, "MARAC-2026-0002", &c);
	assert_true(c.repeat);
	case_of(f, "MARAC-2026-0003", &c);
	assert_false(c.repeat);
	case_of(f, "MARAC-2026-0004", &c);
	assert_false(c.repeat);
	case_of(f, "MARAC-2027-0005", &c);
	assert_false(c.repeat);
	/* exactly 365 days after: still within */
	referral(f, "MARAC-2027-0006", V1, P2, "2027-02-14T09:00:00Z");
	assert_int_equal(refresh(f), 1);
	case_of(f, "MARAC-2027-0006", &c);
	assert_true(c.repeat);
	/* idempotent: nothing new, nothing indexed twice */
	assert_int_equal(refresh(f), 0);
	case_of(f, "MARAC-2026-0001", &c);
	assert_int_equal(c.referrals, 1);
}

/* The same case referred again: one record, two referrals. */
static void
test_rereferral(void **state)
{
	fx *f = *state;
	haven__case c;

	referral(f, "MARAC-2026-0010", V1, P1, "2026-11-02T09:00:00Z");
	assert_int_equal(refresh(f), 1);
	referral(f, "MARAC-2026-0010", V1, P1, "2026-11-16T09:00:00Z");
	assert_int_equal(refresh(f), 1);
	case_of(f, "MARAC-2026-0010", &c);
	assert_int_equal(c.referrals, 2);
	assert_int_equal(c.first_ms, at("2026-11-02T09:00:00Z"));
	assert_int_equal(c.received_ms, at("2026-11-16T09:00:00Z"));
	assert_true(c.repeat); /* its own earlier referral, same pair */
}

static void
meeting_is(const char *after, const char *want)
{
	const haven_policy_marac *cfg = haven_policy_marac_settings(NULL);
	int64_t m = 0;

	assert_int_equal(haven__agt_next_meeting(cfg, at(after), &m),
	    HAVEN_OK);
	if (m != at(want)) {
		char got[32] = "";

		haven_time_format(m, got, sizeof(got));
		fail_msg("after %s: meeting %s, want %s", after, got, want);
	}
}

/* Next Mon/Wed/Fri 10:00 London strictly after arrival. */
static void
test_next_meeting(void **state)
{
	haven_policy_marac cfg = *haven_policy_marac_settings(NULL);
	int64_t m = 0;

	(void) state;
	meeting_is("2026-11-23T09:00:00Z", "2026-11-23T10:00:00Z"); /* Mon */
	meeting_is("2026-11-23T10:00:00Z", "2026-11-25T10:00:00Z"); /* =10 */
	meeting_is("2026-11-25T10:30:00Z", "2026-11-27T10:00:00Z"); /* Wed */
	meeting_is("2026-11-27T12:00:00Z", "2026-11-30T10:00:00Z"); /* Fri */
	meeting_is("2026-11-28T12:00:00Z", "2026-11-30T10:00:00Z"); /* Sat */
	/* spring forward (Sun 29 Mar 2026): Monday 10:00 BST = 09:00 UTC */
	meeting_is("2026-03-27T11:00:00Z", "2026-03-30T09:00:00Z");
	/* 09:30 UTC on that Monday is 10:30 BST: Wednesday */
	meeting_is("2026-03-30T09:30:00Z", "2026-04-01T09:00:00Z");
	/* fall back (Sun 25 Oct 2026): Friday in BST, Monday in GMT */
	meeting_is("2026-10-23T08:30:00Z", "2026-10-23T09:00:00Z");
	meeting_is("2026-10-23T09:00:00Z", "2026-10-26T10:00:00Z");
	/* no meeting days, or a time of day outside the day: refused */
	cfg.meeting_days = 0;
	assert_int_equal(haven__agt_next_meeting(&cfg, at(
	    "2026-11-23T09:00:00Z"), &m), HAVEN_EINVAL);
	cfg = *haven_policy_marac_settings(NULL);
	cfg.meeting_minute = 1440;
	assert_int_equal(haven__agt_next_meeting(&cfg, at(
	    "2026-11-23T09:00:00Z"), &m), HAVEN_EINVAL);
	assert_int_equal(haven__agt_next_meeting(NULL, 0, &m), HAVEN_EINVAL);
}

/* A referral is listed for the next meeting after it arrived. */
static void
test_listed(void **state)
{
	fx *f = *state;
	haven__case c;
	char day[16];

	referral(f, "MARAC-2026-0020", V1, P1, "2026-03-27T11:00:00Z");
	referral(f, "MARAC-2026-0021", V1, P2, "2026-10-23T09:30:00Z");
	assert_int_equal(refresh(f), 2);
	case_of(f, "MARAC-2026-0020", &c);
	assert_int_equal(c.meeting_ms, at("2026-03-30T09:00:00Z"));
	haven__agt_case_meeting_date(&c, day, sizeof(day));
	assert_string_equal(day, "2026-03-30");
	case_of(f, "MARAC-2026-0021", &c);
	assert_int_equal(c.meeting_ms, at("2026-10-26T10:00:00Z"));
	haven__agt_case_meeting_date(&c, day, sizeof(day));
	assert_string_equal(day, "2026-10-26");
	c.meeting_ms = 0;
	haven__agt_case_meeting_date(&c, day, sizeof(day));
	assert_string_equal(day, "-");
}

/* Consent: the referral's tag, then each decision in arrival order. */
static void
test_consent(void **state)
{
	fx *f = *state;
	haven__case c;

	referral(f, "MARAC-2026-0030", V1, P1, "2026-11-20T09:00:00Z");
	assert_int_equal(refresh(f), 1);
	case_of(f, "MARAC-2026-0030", &c);
	assert_int_equal(c.consent, HAVEN__CONSENT_REFUSED);
	assert_string_equal(haven__agt_consent_name(c.consent), "refused");
	consent(f, "MARAC-2026-0030", "given", "2026-11-21T09:00:00Z");
	assert_int_equal(refresh(f), 1);
	case_of(f, "MARAC-2026-0030", &c);
	assert_int_equal(c.consent, HAVEN__CONSENT_GIVEN);
	assert_int_equal(c.consent_ms, at("2026-11-21T09:00:00Z"));
	consent(f, "MARAC-2026-0030", "withdrawn", "2026-11-23T09:00:00Z");
	assert_int_equal(refresh(f), 1);
	case_of(f, "MARAC-2026-0030", &c);
	assert_int_equal(c.consent, HAVEN__CONSENT_WITHDRAWN);
	assert_string_equal(haven__agt_consent_name(c.consent), "withdrawn");
	assert_int_equal(c.referrals, 1);
	assert_string_equal(haven__agt_consent_name(HAVEN__CONSENT_UNKNOWN),
	    "unknown");
	assert_string_equal(haven__agt_consent_name(HAVEN__CONSENT_GIVEN),
	    "given");
}

typedef struct count_ctx {
	size_t n;
	uint8_t last[HAVEN_HASH_BYTES];
	bool ordered;
} count_ctx;

static bool
count_one(void *vctx, const haven__case *c)
{
	count_ctx *x = vctx;

	if (x->n > 0 && memcmp(x->last, c->case_pseud, HAVEN_HASH_BYTES) >= 0) {
		x->ordered = false;
	}
	memcpy(x->last, c->case_pseud, HAVEN_HASH_BYTES);
	x->n++;
	return (true);
}

/* Put/get/each at the store level; an unknown case is ENOTFOUND. */
static void
test_put_get_each(void **state)
{
	fx *f = *state;
	haven__case c, got;
	count_ctx x = { 0, {0}, true };
	uint8_t id[HAVEN_MSGID_BYTES];
	bool seen = true;

	for (int i = 0; i < 5; i++) {
		memset(&c, 0, sizeof(c));
		randombytes_buf(c.case_pseud, sizeof(c.case_pseud));
		randombytes_buf(id, sizeof(id));
		c.has_referral = true;
		c.referrals = (uint32_t) i + 1;
		c.meeting_ms = at("2026-11-23T10:00:00Z") + i;
		c.consent = HAVEN__CONSENT_GIVEN;
		(void) snprintf(c.referrer, sizeof(c.referrer), "%s", GP);
		assert_int_equal(haven__agt_case_put(&f->a, id, &c), HAVEN_OK);
		assert_int_equal(haven__agt_store_case_seen(f->a.store, id,
		    &seen), HAVEN_OK);
		assert_true(seen);
		assert_int_equal(haven__agt_case_get(&f->a, c.case_pseud, &got),
		    HAVEN_OK);
		assert_memory_equal(&got.case_pseud, &c.case_pseud,
		    HAVEN_HASH_BYTES);
		assert_int_equal(got.referrals, c.referrals);
		assert_int_equal(got.meeting_ms, c.meeting_ms);
		assert_string_equal(got.referrer, GP);
	}
	randombytes_buf(id, sizeof(id));
	assert_int_equal(haven__agt_store_case_seen(f->a.store, id, &seen),
	    HAVEN_OK);
	assert_false(seen);
	assert_int_equal(haven__agt_cases_each(&f->a, count_one, &x),
	    HAVEN_OK);
	assert_int_equal(x.n, 5);
	assert_true(x.ordered);
	randombytes_buf(c.case_pseud, sizeof(c.case_pseud));
	assert_int_equal(haven__agt_case_get(&f->a, c.case_pseud, &got),
	    HAVEN_ENOTFOUND);
}

static bool
file_has(const char *path, const void *needle, size_t len)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	bool found;

	assert_int_equal(haven__read_file(path, 64u << 20, &buf, &n),
	    HAVEN_OK);
	found = memmem(buf, n, needle, len) != NULL;
	free(buf);
	return (found);
}

/* The index (and the inbox under it) holds no plaintext name, case
 * reference or person pseudonym: the LMDB file's bytes are scanned. */
static void
test_no_plaintext(void **state)
{
	fx *f = *state;
	const char *db = db_path(f, "data.mdb");
	uint8_t vp[HAVEN_HASH_BYTES];
	haven__case c;

	referral(f, "MARAC-2026-0040", V1, P1, "2026-11-20T09:00:00Z");
	consent(f, "MARAC-2026-0040", "given", "2026-11-21T09:00:00Z");
	assert_int_equal(refresh(f), 2);
	case_of(f, "MARAC-2026-0040", &c);
	haven_pseudonym_person(vp, g_pk, V1, "1990-04-11");
	assert_memory_equal(c.victim, vp, HAVEN_HASH_BYTES);
	/* the scan finds what is written in clear (LMDB's own names) */
	assert_true(file_has(db, "caseseen", 8));
	assert_false(file_has(db, V1, strlen(V1)));
	assert_false(file_has(db, P1, strlen(P1)));
	assert_false(file_has(db, "Casetest", 8));
	assert_false(file_has(db, "MARAC-2026-0040", 15));
	assert_false(file_has(db, c.victim, HAVEN_HASH_BYTES));
	assert_false(file_has(db, c.perp, HAVEN_HASH_BYTES));
	/* by design (agent_store.h) the LMDB key is the case pseudonym */
	assert_true(file_has(db, c.case_pseud, HAVEN_HASH_BYTES));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_repeat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rereferral, setup,
		    teardown),
		cmocka_unit_test(test_next_meeting),
		cmocka_unit_test_setup_teardown(test_listed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_consent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_get_each, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_plaintext, setup,
		    teardown),
	};

	return (cmocka_run_group_tests(tests, group_setup, group_teardown));
}
