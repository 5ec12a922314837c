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
 * it). The plan has eight owning agencies, so with the coordinator's own
 * full copy (marac.plan.full) it has nine views and goes as two
 * envelopes, as an agent sends it: housing's update answers the first,
 * which the coordinator does not hold. The coordinator syncs and makes
 * the bundle. Checked:
 *  - bundle.json: every verified item once, in the meeting's order
 *    (referral, M6, research grouped by agency, plan, update), provenance
 *    flags true, audit sequences equal to the broker's receipts, the
 *    plan is the full copy and its action status lists every action,
 *    housing's with the status from its update; the bad referral is
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

enum { REFERRAL, M6, RES_HSG, RES_GP, PLAN, UPDATE, BAD, WRONG, N_MSG };

typedef struct tx {
	hv_partnership p;
	haven_pseudonym_key *pk;
	uint8_t plan_a[HAVEN_MSGID_BYTES]; /* the plan's first envelope */
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
	assert_true(m->n_views <= HAVEN_MARAC_MAX_VIEWS);
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

/* The header of the envelope holding views [first, first + n). */
static void
fill(const tx *t, bc_client *c, const haven_marac_msg *m, size_t first,
    size_t n, haven_header *h)
{
	memset(h, 0, sizeof(*h));
	h->type = m->type;
	h->seq = ++c->seq;
	for (size_t v = first; v < first + n; v++) {
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

/* Seal views [first, first + n) of `m` as `c` into one envelope, submit
 * it, require a receipt; return its id and audit sequence. */
static void
send_views(const tx *t, bc_client *c, const haven_marac_msg *m,
    size_t first, size_t n, const char *lie_key, const char *lie_val,
    uint8_t *id, uint64_t *seq)
{
	const char *rc[HAVEN_MAX_VIEWS][HAVEN_MAX_RECIPIENTS];
	haven_view_in in[HAVEN_MAX_VIEWS];
	uint8_t *env = NULL;
	size_t len = 0;
	char err[256] = "";
	haven_header h;
	haven_frame r;

	assert_true(n <= HAVEN_MAX_VIEWS && first + n <= m->n_views);
	fill(t, c, m, first, n, &h);
	if (lie_key != NULL && strcmp(lie_key, "@case") == 0) {
		/* filed under another case than its content names */
		haven_pseudonym_case(h.case_pseud, t->pk, lie_val);
	} else if (lie_key != NULL) {
		retag(&h, lie_key, lie_val);
	}
	for (size_t i = 0; i < n; i++) {
		const haven_marac_view *v = &m->views[first + i];

		for (size_t k = 0; k < v->n_recipients; k++) {
			rc[i][k] = v->recipients[k];
		}
		in[i].profile = v->profile;
		in[i].recipients = rc[i];
		in[i].n_recipients = v->n_recipients;
		in[i].payload = v->payload;
		in[i].payload_len = v->payload_len;
	}
	if (haven_envelope_seal(&h, false, in, n, c->keys, c->dir, &env, &len,
	    err, sizeof(err)) != HAVEN_OK) {
		fail_msg("seal: %s", err);
	}
	assert_int_equal(bc_submit(c, env, len, &r), 0);
	if (r.kind != HAVEN_FRAME_RECEIPT) {
		fail_msg("%s refused: %s %s %s", haven_msg_type_name(m->type),
		    haven_err_name((haven_err) r.reject.code), r.reject.rule,
		    r.reject.reason);
	}
	memcpy(id, h.msg_id, HAVEN_MSGID_BYTES);
	*seq = r.receipt.audit_seq;
	haven_frame_release(&r);
	free(env);
}

/* Seal `m` as `c` (one envelope), submit it, require a receipt; record
 * id and seq in `slot`. */
static void
send_msg(tx *t, bc_client *c, haven_marac_msg *m, int slot,
    const char *lie_key, const char *lie_val)
{
	send_views(t, c, m, 0, m->n_views, lie_key, lie_val, t->id[slot],
	    &t->seq[slot]);
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
	/* Another case's return, filed (in its signed header) under CASE:
	 * the coordinator must not take it as CASE's. */
	in = fixture("research-health.json");
	assert_int_equal(json_object_set_new(in, "agency",
	    json_string("housing.cambs")), 0);
	assert_int_equal(json_object_set_new(in, "caldicott_attested",
	    json_false()), 0);
	assert_int_equal(json_object_set_new(in, "case_ref",
	    json_string("MARAC-OTHER-9")), 0);
	send_msg(t, &h, build(&h, HAVEN_MSG_MARAC_RESEARCH_RETURN, in),
	    WRONG, "@case", CASE);
	bc_close(&h);
}

/* Two more owners (eight in all): with the coordinator's own full copy
 * the plan has nine views, more than one envelope holds. */
static void
more_owners(json_t *plan)
{
	json_t *acts = json_object_get(plan, "actions");

	assert_int_equal(json_array_append_new(acts, json_pack("{s:s, s:s, "
	    "s:s, s:s, s:s}", "id", "A7", "owner", "probation.cambs",
	    "category", "probation", "description", "PROBATION-ACTION",
	    "due", "2026-12-09")), 0);
	assert_int_equal(json_array_append_new(acts, json_pack("{s:s, s:s, "
	    "s:s, s:s, s:s}", "id", "A8", "owner", "das.cambs", "category",
	    "substance-misuse", "description", "DAS-ACTION", "due",
	    "2026-12-09")), 0);
}

static void
send_plan_and_update(tx *t)
{
	json_t *plan = fixture("action-plan.json");
	json_t *upd = fixture("action-update.json");
	haven_marac_msg *m;
	bc_client mco, hsg;
	uint64_t seq_a;

	more_owners(plan);
	assert_int_equal(bc_open(&mco, &t->p, "marac.cambs"), 0);
	tick(t, "2026-11-25T14:00:00Z");
	m = build(&mco, HAVEN_MSG_MARAC_ACTION_PLAN, plan);
	/* the owners' eight views, then the coordinator's full copy */
	assert_int_equal(m->n_views, 9);
	assert_string_equal(m->views[8].profile, "marac.plan.full");
	assert_string_equal(m->views[8].recipients[0], "marac.cambs");
	send_views(t, &mco, m, 0, 8, NULL, NULL, t->plan_a, &seq_a);
	send_views(t, &mco, m, 8, 1, NULL, NULL, t->id[PLAN], &t->seq[PLAN]);
	haven_marac_msg_free(&m);
	bc_close(&mco);
	/* housing answers the envelope it received */
	hex_in(upd, "in_reply_to", t->plan_a);
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

/* The full copy: all eight actions, in the plan's order, each in our
 * view with its owner; housing's A2 "in-progress" from its update (which
 * answers the other envelope), the rest without an update yet. */
static void
check_status(const json_t *plan)
{
	static const char *const owners[] = { "school.urn.110123",
		"housing.cambs", "gp.riverside", "police.cambs", "idva.cambs",
		"school.urn.110456", "probation.cambs", "das.cambs" };
	const json_t *st = json_object_get(plan, "action_status");
	char id[24];
	size_t i;
	json_t *a;

	assert_true(json_is_array(st));
	assert_int_equal(json_array_size(st), 8);
	json_array_foreach(st, i, a) {
		const json_t *status = json_object_get(a, "status");

		(void) snprintf(id, sizeof(id), "A%zu", i + 1);
		assert_string_equal(json_string_value(json_object_get(a,
		    "action_id")), id);
		assert_true(json_is_true(json_object_get(a, "in_our_view")));
		assert_string_equal(json_string_value(json_object_get(a,
		    "owner")), owners[i]);
		assert_true(strlen(json_string_value(json_object_get(a,
		    "action"))) > 0);
		if (i == 1) {
			assert_string_equal(json_string_value(status),
			    "in-progress");
			assert_true(json_is_string(json_object_get(a,
			    "update_msg_id")));
		} else {
			assert_true(status == NULL || json_is_null(status));
		}
	}
}

/* Message `slot` is among the left-out entries, as `type` from `sender`,
 * with a reason. */
static void
check_left_out(const tx *t, const json_t *lo, int slot, const char *type,
    const char *sender)
{
	char hex[33];

	haven__hex_encode(hex, t->id[slot], HAVEN_MSGID_BYTES);
	for (size_t i = 0; i < json_array_size(lo); i++) {
		const json_t *e = json_array_get(lo, i);

		if (strcmp(json_string_value(json_object_get(e, "msg_id")),
		    hex) != 0) {
			continue;
		}
		assert_string_equal(json_string_value(json_object_get(e,
		    "type")), type);
		assert_string_equal(json_string_value(json_object_get(e,
		    "sender")), sender);
		assert_true(strlen(json_string_value(json_object_get(e,
		    "reason"))) > 10);
		return;
	}
	fail_msg("%s not left out", hex);
}

static void
check_json(const tx *t, const json_t *doc)
{
	const json_t *items = json_object_get(doc, "items");
	const json_t *lo = json_object_get(doc, "left_out");

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
	    "marac.plan.full", "action_plans", "marac.cambs");
	check_item(t, json_array_get(items, 5), UPDATE, "ACTION_UPDATE",
	    "marac.update", "action_updates", "housing.cambs");
	check_status(json_array_get(items, 4));
	/* the lying referral and the misfiled return: left out (in message
	 * id order), each named, with a reason */
	assert_int_equal(json_array_size(lo), 2);
	check_left_out(t, lo, BAD, "MARAC_REFERRAL", "gp.riverside");
	check_left_out(t, lo, WRONG, "MARAC_RESEARCH_RETURN",
	    "housing.cambs");
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
	/* the full plan: every agency's actions, said so */
	assert_non_null(strstr(html, "the full plan"));
	assert_non_null(strstr(html, "Every action of the plan"));
	assert_non_null(strstr(html, "PROBATION-ACTION"));
	assert_non_null(strstr(html, "DAS-ACTION"));
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
	char other[400], shared[400];
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
	/* a directory others may write to (a link could be planted there):
	 * refused, and nothing written into it */
	(void) snprintf(shared, sizeof(shared), "%s/shared", t->p.dir);
	assert_int_equal(mkdir(shared, 0700), 0);
	assert_int_equal(chmod(shared, 0777), 0);
	assert_int_equal(run(t, "marac.cambs", &doc, "bundle", "--case", CASE,
	    "--out", shared), 2);
	assert_non_null(strstr(json_string_value(json_object_get(
	    json_object_get(doc, "error"), "reason")), "only you can write"));
	json_decref(doc);
	(void) snprintf(other, sizeof(other), "%s/shared/bundle.json",
	    t->p.dir);
	assert_int_not_equal(stat(other, &st), 0);
	(void) snprintf(other, sizeof(other), "%s/chair/other", t->p.dir);
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
	assert_int_equal(json_array_size(json_object_get(doc, "left_out")), 2);
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
