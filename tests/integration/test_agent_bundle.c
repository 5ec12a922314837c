/*
 * tests/integration/test_agent_bundle.c: the chair's case bundle
 * (`haven-agent bundle`) with the real broker and real agents.
 *
 * Agencies submit real MARAC messages for case MARAC-2026-0142, built with
 * haven_marac_from_json from tests/fixtures/marac/ and sealed with the
 * envelope API: the GP's referral and a record of sharing without consent
 * (M6), research
 * returns from housing and the GP, the coordinator's action plan and
 * housing's update of one action, plus a second referral whose signed
 * header says DASH 19 while its payload says 18 (the recipient must refuse
 * it). The coordinator syncs and makes the bundle. Checked:
 *  - bundle.json: every verified item once, in the meeting's order
 *    (referral, M6, research grouped by agency, plan, update), provenance
 *    flags true, audit sequences equal to the broker's receipts, the
 *    plan's action status taken from the update; the bad referral is
 *    under left_out with a reason and nowhere else;
 *  - bundle.html holds every item, no script, OFFICIAL-SENSITIVE, Left out;
 *  - modes: DIR 0700, files 0600;
 *  - refusals (exit 2, nothing written): no --case, no --out, an existing
 *    bundle, an unknown case;
 *  - the IDVA's bundle of the same case holds only its own views (the
 *    referral and its own action of the plan; never the coordinator's M6
 *    record, research returns or other agencies' actions and updates).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "haven/marac.h"
#include "haven/pseudonym.h"
#include "support_agent.h"
#include "test_broker_client.h"

#define T_MS 20000
#define CASE "MARAC-2026-0142"

enum { REFERRAL, M6, RES_HSG, RES_GP, PLAN, UPDATE, BAD, N_MSG };

typedef struct tx {
	hv_partnership p;
	haven_pseudonym_key *pk;
	uint8_t id[N_MSG][HAVEN_MSGID_BYTES];
	uint64_t seq[N_MSG];
	char out[300];
} tx;

/* ------------------------------------------------------ building */

static json_t *
fixture(const char *name)
{
	char path[600];
	json_error_t je;
	json_t *o;

	(void) snprintf(path, sizeof(path), "%s/tests/fixtures/marac/%s",
	    HAVEN_SOURCE_DIR, name);
	o = json_load_file(path, 0, &je);
	if (o == NULL) {
		fail_msg("%s: %s", name, je.text);
	}
	return (o);
}

static haven_marac_msg *
build(bc_client *c, uint32_t type, json_t *in)
{
	char *text = json_dumps(in, 0), field[64] = "", why[256] = "";
	haven_marac_msg *m = NULL;
	haven_err rv;

	assert_non_null(text);
	rv = haven_marac_from_json(type, text, strlen(text), c->agency,
	    c->dir, NULL, haven__now_ms(), &m, field, sizeof(field), why,
	    sizeof(why));
	if (rv != HAVEN_OK) {
		fail_msg("from_json %s: %s: %s", haven_err_name(rv), field,
		    why);
	}
	free(text);
	json_decref(in);
	assert_true(m->n_views <= HAVEN_MAX_VIEWS);
	return (m);
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

static void
fill(const tx *t, bc_client *c, const haven_marac_msg *m, haven_header *h)
{
	memset(h, 0, sizeof(*h));
	h->type = m->type;
	h->seq = ++c->seq;
	for (size_t v = 0; v < m->n_views; v++) {
		for (size_t r = 0; r < m->views[v].n_recipients; r++) {
			add_rcpt(h, m->views[v].recipients[r]);
		}
	}
	h->has_case = true;
	haven_pseudonym_case(h->case_pseud, t->pk, m->case_ref);
	for (size_t i = 0; i < m->n_subjects; i++) {
		haven_pseudonym_person(h->subject_pseuds[h->n_subjects++],
		    t->pk, m->subjects[i].name, m->subjects[i].dob);
	}
	(void) snprintf(h->legal_basis, HAVEN_CODE_MAX, "%s", m->legal_basis);
	(void) snprintf(h->purpose, HAVEN_CODE_MAX, "%s", m->purpose);
	h->n_tags = m->n_tags;
	memcpy(h->tags, m->tags, m->n_tags * sizeof(m->tags[0]));
	h->created_ms = haven__now_ms();
	h->occurred_ms = m->occurred_ms;
	h->has_reply_to = m->has_reply_to;
	memcpy(h->in_reply_to, m->in_reply_to, HAVEN_MSGID_BYTES);
}

/* Make header tag `key` say `val` (a sender lying to the broker). */
static void
retag(haven_header *h, const char *key, const char *val)
{
	for (size_t i = 0; i < h->n_tags; i++) {
		if (strcmp(h->tags[i].key, key) == 0) {
			(void) snprintf(h->tags[i].value,
			    sizeof(h->tags[i].value), "%s", val);
			return;
		}
	}
	fail_msg("no tag %s", key);
}

/* Seal `m` as `c`, submit it, require a receipt; record id and seq. */
static void
send_msg(tx *t, bc_client *c, haven_marac_msg *m, int slot,
    const char *lie_key, const char *lie_val)
{
	const char *rc[HAVEN_MAX_VIEWS][HAVEN_MAX_RECIPIENTS];
	haven_view_in in[HAVEN_MAX_VIEWS];
	uint8_t *env = NULL;
	size_t len = 0;
	char err[256] = "";
	haven_header h;
	haven_frame r;

	fill(t, c, m, &h);
	if (lie_key != NULL) {
		retag(&h, lie_key, lie_val);
	}
	for (size_t v = 0; v < m->n_views; v++) {
		for (size_t k = 0; k < m->views[v].n_recipients; k++) {
			rc[v][k] = m->views[v].recipients[k];
		}
		in[v].profile = m->views[v].profile;
		in[v].recipients = rc[v];
		in[v].n_recipients = m->views[v].n_recipients;
		in[v].payload = m->views[v].payload;
		in[v].payload_len = m->views[v].payload_len;
	}
	if (haven_envelope_seal(&h, false, in, m->n_views, c->keys, c->dir,
	    &env, &len, err, sizeof(err)) != HAVEN_OK) {
		fail_msg("seal: %s", err);
	}
	assert_int_equal(bc_submit(c, env, len, &r), 0);
	if (r.kind != HAVEN_FRAME_RECEIPT) {
		fail_msg("slot %d refused: %s %s %s", slot,
		    haven_err_name((haven_err) r.reject.code), r.reject.rule,
		    r.reject.reason);
	}
	memcpy(t->id[slot], h.msg_id, HAVEN_MSGID_BYTES);
	t->seq[slot] = r.receipt.audit_seq;
	haven_frame_release(&r);
	free(env);
	haven_marac_msg_free(&m);
}

static void
tick(const tx *t, const char *when)
{
	assert_int_equal(hv_clock_set(&t->p, when), 0);
}

static void
hex_in(json_t *o, const char *key, const uint8_t *id)
{
	char hex[33];

	haven__hex_encode(hex, id, HAVEN_MSGID_BYTES);
	assert_int_equal(json_object_set_new(o, key, json_string(hex)), 0);
}

/*
 * The GP's referral, with consent (an envelope holds each recipient in
 * one view only, and the coordinator would be in both the referral and
 * the M6 view of a referral without consent), and a record of sharing
 * without consent sent on its own (type INFO_SHARED_WITHOUT_CONSENT).
 */
static json_t *
referral_json(void)
{
	json_t *in = fixture("scenario4-gp-referral-m6.json");
	json_t *consent = json_object_get(in, "consent");

	assert_int_equal(json_object_set_new(consent, "given", json_true()),
	    0);
	assert_int_equal(json_object_set_new(consent, "reason_if_not",
	    json_string("")), 0);
	assert_int_equal(json_object_del(in, "m6"), 0);
	return (in);
}

static void
send_referrals(tx *t)
{
	bc_client gp;

	assert_int_equal(bc_open(&gp, &t->p, "gp.riverside"), 0);
	tick(t, "2026-11-24T09:00:00Z");
	send_msg(t, &gp, build(&gp, HAVEN_MSG_MARAC_REFERRAL,
	    referral_json()), REFERRAL, NULL, NULL);
	tick(t, "2026-11-24T09:02:00Z");
	send_msg(t, &gp, build(&gp, HAVEN_MSG_INFO_SHARED_WITHOUT_CONSENT,
	    fixture("m6-standalone.json")), M6, NULL, NULL);
	tick(t, "2026-11-24T09:05:00Z");
	/* The same referral, but the header tells the broker DASH 19. */
	send_msg(t, &gp, build(&gp, HAVEN_MSG_MARAC_REFERRAL,
	    referral_json()), BAD, "dash", "19");
	tick(t, "2026-11-24T11:00:00Z");
	send_msg(t, &gp, build(&gp, HAVEN_MSG_MARAC_RESEARCH_RETURN,
	    fixture("research-health.json")), RES_GP, NULL, NULL);
	bc_close(&gp);
}

static void
send_housing_return(tx *t)
{
	json_t *in = fixture("research-health.json");
	bc_client h;

	assert_int_equal(bc_open(&h, &t->p, "housing.cambs"), 0);
	assert_int_equal(json_object_set_new(in, "agency",
	    json_string("housing.cambs")), 0);
	assert_int_equal(json_object_set_new(in, "caldicott_attested",
	    json_false()), 0);
	assert_int_equal(json_object_set_new(in, "facts",
	    json_pack("[s]", "HOUSING-FACT <script>alert(1)</script>")), 0);
	tick(t, "2026-11-24T10:00:00Z"); /* before the GP's: order by agency */
	send_msg(t, &h, build(&h, HAVEN_MSG_MARAC_RESEARCH_RETURN, in),
	    RES_HSG, NULL, NULL);
	bc_close(&h);
}

static void
send_plan_and_update(tx *t)
{
	json_t *plan = fixture("action-plan.json");
	json_t *upd = fixture("action-update.json");
	bc_client mco, hsg;

	/* the coordinator keeps its own copy of the plan ("to") */
	assert_int_equal(json_object_set_new(plan, "to",
	    json_pack("[s]", "marac.cambs")), 0);
	assert_int_equal(bc_open(&mco, &t->p, "marac.cambs"), 0);
	tick(t, "2026-11-25T14:00:00Z");
	send_msg(t, &mco, build(&mco, HAVEN_MSG_MARAC_ACTION_PLAN, plan), PLAN,
	    NULL, NULL);
	bc_close(&mco);
	hex_in(upd, "in_reply_to", t->id[PLAN]);
	assert_int_equal(bc_open(&hsg, &t->p, "housing.cambs"), 0);
	tick(t, "2026-11-26T09:00:00Z");
	send_msg(t, &hsg, build(&hsg, HAVEN_MSG_ACTION_UPDATE, upd), UPDATE,
	    NULL, NULL);
	bc_close(&hsg);
}

/* ------------------------------------------------------ fixture */

static int
setup(void **state)
{
	tx *t = calloc(1, sizeof(*t));
	char err[256];

	assert_non_null(t);
	assert_true(sodium_init() >= 0);
	assert_int_equal(hv_partnership_create(&t->p), 0);
	tick(t, "2026-11-24T08:00:00Z");
	assert_int_equal(hv_broker_start(&t->p), 0);
	assert_int_equal(haven_pseudonym_key_load(&t->pk, hv_path(&t->p,
	    "partnership.pseudonym"), err, sizeof(err)), HAVEN_OK);
	(void) snprintf(t->out, sizeof(t->out), "%s/chair/bundle-1",
	    t->p.dir);
	*state = t;
	return (0);
}

static int
teardown(void **state)
{
	tx *t = *state;

	haven_pseudonym_key_destroy(&t->pk);
	hv_partnership_destroy(&t->p);
	free(t);
	return (0);
}

/* ------------------------------------------------------ checks */

static int
run(tx *t, const char *agency, json_t **doc, const char *a1,
    const char *a2, const char *a3, const char *a4, const char *a5)
{
	const char *const args[] = { a1, a2, a3, a4, a5, NULL };

	return (hv_agent(&t->p, agency, T_MS, doc, NULL, args));
}

static char *
slurp(const char *dir, const char *name, mode_t *mode)
{
	char path[400];
	uint8_t *buf = NULL;
	size_t len = 0;
	struct stat st;

	(void) snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(stat(path, &st), 0);
	*mode = st.st_mode & 07777;
	assert_int_equal(haven__read_file(path, 64u << 20, &buf, &len),
	    HAVEN_OK);
	return ((char *) buf);
}

static void
check_item(const tx *t, const json_t *it, int slot, const char *type,
    const char *profile, const char *section, const char *sender)
{
	const json_t *r = json_object_get(it, "receipt");
	char hex[33];

	haven__hex_encode(hex, t->id[slot], HAVEN_MSGID_BYTES);
	assert_string_equal(json_string_value(json_object_get(it, "msg_id")),
	    hex);
	assert_string_equal(json_string_value(json_object_get(it, "type")),
	    type);
	assert_string_equal(json_string_value(json_object_get(it, "profile")),
	    profile);
	assert_string_equal(json_string_value(json_object_get(it,
	    "section")), section);
	assert_string_equal(json_string_value(json_object_get(it, "sender")),
	    sender);
	assert_true(json_is_true(json_object_get(it, "signature_verified")));
	assert_true(json_is_true(json_object_get(r, "verified")));
	assert_int_equal(hv_jint(r, "audit_seq"), (int64_t) t->seq[slot]);
	assert_true(t->seq[slot] > 0);
	assert_true(json_is_string(json_object_get(r, "accepted_at")));
	assert_true(json_is_string(json_object_get(it, "received_at")));
	assert_true(json_is_object(json_object_get(it, "content")));
}

static void
check_status(const json_t *plan)
{
	const json_t *st = json_object_get(plan, "action_status");
	bool a2 = false;
	size_t i;
	json_t *a;

	assert_true(json_is_array(st));
	json_array_foreach(st, i, a) {
		const char *id = json_string_value(json_object_get(a,
		    "action_id"));
		if (strcmp(id, "A2") == 0) {
			assert_string_equal(json_string_value(
			    json_object_get(a, "status")), "in-progress");
			assert_string_equal(json_string_value(
			    json_object_get(a, "owner")), "housing.cambs");
			a2 = true;
		}
	}
	assert_true(a2);
}

static void
check_json(const tx *t, const json_t *doc)
{
	const json_t *items = json_object_get(doc, "items");
	const json_t *lo = json_object_get(doc, "left_out");
	char bad[33];

	assert_string_equal(json_string_value(json_object_get(doc, "case")),
	    CASE);
	assert_string_equal(json_string_value(json_object_get(doc, "agency")),
	    "marac.cambs");
	assert_true(json_is_string(json_object_get(doc, "generated_at")));
	assert_int_equal(strlen(json_string_value(json_object_get(doc,
	    "case_pseudonym"))), 64);
	assert_int_equal(json_array_size(items), 6);
	check_item(t, json_array_get(items, 0), REFERRAL, "MARAC_REFERRAL",
	    "marac.referral", "referral", "gp.riverside");
	check_item(t, json_array_get(items, 1), M6,
	    "INFO_SHARED_WITHOUT_CONSENT", "marac.m6", "referral",
	    "gp.riverside");
	check_item(t, json_array_get(items, 2), RES_GP,
	    "MARAC_RESEARCH_RETURN", "marac.research", "research",
	    "gp.riverside");
	check_item(t, json_array_get(items, 3), RES_HSG,
	    "MARAC_RESEARCH_RETURN", "marac.research", "research",
	    "housing.cambs");
	check_item(t, json_array_get(items, 4), PLAN, "MARAC_ACTION_PLAN",
	    "marac.plan", "action_plans", "marac.cambs");
	check_item(t, json_array_get(items, 5), UPDATE, "ACTION_UPDATE",
	    "marac.update", "action_updates", "housing.cambs");
	check_status(json_array_get(items, 4));
	/* the lying referral: left out, named, with a reason */
	haven__hex_encode(bad, t->id[BAD], HAVEN_MSGID_BYTES);
	assert_int_equal(json_array_size(lo), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(lo, 0), "msg_id")), bad);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(lo, 0), "type")), "MARAC_REFERRAL");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(lo, 0), "sender")), "gp.riverside");
	assert_true(strlen(json_string_value(json_object_get(
	    json_array_get(lo, 0), "reason"))) > 10);
}

static void
check_html(const tx *t, const char *html)
{
	char hex[33];

	assert_null(strstr(html, "<script"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)"));
	assert_non_null(strstr(html, "OFFICIAL-SENSITIVE"));
	assert_non_null(strstr(html, CASE));
	assert_non_null(strstr(html, "Left out"));
	for (int i = 0; i < N_MSG; i++) {
		haven__hex_encode(hex, t->id[i], HAVEN_MSGID_BYTES);
		assert_non_null(strstr(html, hex));
	}
	/* referral before research before the plan */
	assert_true(strstr(html, "id=\"referral\"") <
	    strstr(html, "id=\"research\""));
	assert_true(strstr(html, "id=\"research\"") <
	    strstr(html, "id=\"action_plans\""));
}

static void
check_files(const tx *t)
{
	json_t *doc;
	struct stat st;
	mode_t mode;
	char *text;

	assert_int_equal(stat(t->out, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	text = slurp(t->out, "bundle.json", &mode);
	assert_int_equal(mode, 0600);
	doc = hv_json(text);
	assert_non_null(doc);
	check_json(t, doc);
	json_decref(doc);
	free(text);
	text = slurp(t->out, "bundle.html", &mode);
	assert_int_equal(mode, 0600);
	check_html(t, text);
	free(text);
}

static void
check_refusals(tx *t)
{
	char other[400];
	json_t *doc = NULL;
	struct stat st;

	(void) snprintf(other, sizeof(other), "%s/chair/other", t->p.dir);
	assert_int_equal(run(t, "marac.cambs", &doc, "bundle", "--out",
	    other, NULL, NULL), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    doc, "error"), "field")), "--case");
	json_decref(doc);
	assert_int_equal(run(t, "marac.cambs", NULL, "bundle", "--case", CASE,
	    NULL, NULL), 2);
	/* an existing bundle is never overwritten */
	assert_int_equal(run(t, "marac.cambs", &doc, "bundle", "--case", CASE,
	    "--out", t->out), 2);
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_object_get(doc, "error"), "reason")), "already exists"));
	json_decref(doc);
	/* --out naming a file */
	assert_int_equal(run(t, "marac.cambs", NULL, "bundle", "--case", CASE,
	    "--out", hv_path(&t->p, "broker.json")), 2);
	/* unknown case: nothing about it, nothing written */
	assert_int_equal(run(t, "marac.cambs", &doc, "bundle", "--case",
	    "MARAC-2026-9999", "--out", other), 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    doc, "error"), "code")), "ENOTFOUND");
	json_decref(doc);
	assert_int_not_equal(stat(other, &st), 0);
}

/* The IDVA holds its own views only: the referral and its part of the
 * plan; never the M6 record, research returns or others' actions. */
static void
check_idva(tx *t)
{
	char dir[400], *text;
	json_t *doc = NULL, *items, *plan, *st;
	mode_t mode;

	assert_int_equal(run(t, "idva.cambs", NULL, "sync", NULL, NULL, NULL,
	    NULL), 0);
	(void) snprintf(dir, sizeof(dir), "%s/idva-bundle", t->p.dir);
	assert_int_equal(run(t, "idva.cambs", &doc, "bundle", "--case",
	    "marac-2026-0142 ", "--out", dir), 0); /* normalised reference */
	json_decref(doc);
	text = slurp(dir, "bundle.json", &mode);
	doc = hv_json(text);
	items = json_object_get(doc, "items");
	assert_int_equal(json_array_size(items), 2);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(items, 0), "profile")), "marac.referral");
	/* its view of the plan: its own action A5 only, no update seen */
	plan = json_array_get(items, 1);
	assert_string_equal(json_string_value(json_object_get(plan,
	    "profile")), "marac.plan");
	st = json_object_get(plan, "action_status");
	assert_int_equal(json_array_size(st), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(st, 0), "action_id")), "A5");
	assert_true(json_is_null(json_object_get(json_array_get(st, 0),
	    "status")) || json_object_get(json_array_get(st, 0), "status") ==
	    NULL);
	assert_int_equal(json_array_size(json_object_get(doc, "left_out")), 1);
	assert_null(strstr(text, "marac.m6"));
	assert_null(strstr(text, "\"A2\""));
	assert_null(strstr(text, "HOUSING-FACT"));
	json_decref(doc);
	free(text);
}

static void
test_bundle(void **state)
{
	tx *t = *state;
	json_t *doc = NULL;

	send_referrals(t);
	send_housing_return(t);
	send_plan_and_update(t);
	assert_int_equal(run(t, "marac.cambs", NULL, "sync", NULL, NULL, NULL,
	    NULL), 0);
	assert_int_equal(run(t, "marac.cambs", &doc, "bundle", "--case", CASE,
	    "--out", t->out), 0);
	assert_non_null(doc);
	assert_true(json_is_true(json_object_get(doc, "ok")));
	assert_int_equal(hv_jint(doc, "items"), 6);
	assert_int_equal(json_array_size(json_object_get(doc, "left_out")), 1);
	json_decref(doc);
	check_files(t);
	check_refusals(t);
	check_idva(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bundle, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
