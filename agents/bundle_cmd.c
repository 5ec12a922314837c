/*
 * agents/bundle_cmd.c: `haven-agent bundle --case CASE --out DIR`, the
 * chair's case bundle (docs/bundle.md).
 *
 * The case reference is turned into its case pseudonym with the
 * partnership key and the agency's OWN inbox is walked for messages whose
 * signed header carries that pseudonym; the broker is never asked. Only
 * this agency's views are held, so only what it is entitled to can appear.
 *
 * Invariants:
 *  - nothing is in the bundle that does not verify NOW: the record was
 *    verified on receipt, the broker's receipt signature verifies against
 *    the directory and names the message, the sender's signature verifies
 *    against the current directory, our view opens, and its
 *    payload agrees with the signed header (haven_marac_verify_payload);
 *  - nothing about the case is dropped silently: a message that fails any
 *    check is listed under "left_out" with its id, type, sender and the
 *    reason, and its content is never rendered; a record that cannot even
 *    be opened or decoded is listed too (it cannot be told which case it
 *    concerns);
 *  - both files are personal data: written atomically, mode 0600, into a
 *    directory created 0700; an existing bundle is never overwritten;
 *  - nothing printed to stdout or stderr carries personal data (message
 *    ids, agency ids, types and reasons only; not the case reference).
 *
 * Each message gives one item: the envelope puts each recipient in
 * exactly one view, so we hold one view of it.
 *
 * The whole plan: a coordinator's agent is always sent its own copy of
 * each M9 it publishes (view marac.plan.full: every action), and panel
 * co-chairs theirs of each M14 (dapp.plan), so the chair's bundle shows
 * every action with its latest status. An M9 with more views than one
 * envelope holds is sent as several envelopes; an agency's update answers
 * the envelope it received, which the coordinator may not hold. Such an
 * update (in reply to a message not in our inbox) counts for the latest
 * full plan created before it.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle.h"
#include "cmds.h"
#include "haven/envelope.h"
#include "haven/marac.h"
#include "haven/pseudonym.h"
#include "marac_cmd.h"
#include "payload.h"
#include "util.h"

#define ENT_MAX 100000u /* items and left-out entries, each */

/* One verified message (our view of it), with what it is sorted by. */
typedef struct ent {
	haven__bundle_sec sec;
	char sender[HAVEN_ID_MAX];
	int64_t created_ms;
	uint8_t id[HAVEN_MSGID_BYTES];
	bool has_reply;
	uint8_t reply[HAVEN_MSGID_BYTES];
	uint32_t type;
	bool m6; /* the M6 record: after the referral it came with */
	bool full; /* marac.plan.full: the whole M9 (the sender's copy) */
	json_t *item;
} ent;

typedef struct bnd {
	haven__agent *a;
	uint8_t pseud[HAVEN_HASH_BYTES];
	ent *ents;
	size_t n, cap;
	json_t *left;        /* left_out entries */
	size_t left_case;    /* of which about this case */
	haven_err err;       /* out of memory or over the cap */
} bnd;

/* ------------------------------------------------------------ left out */

static void
leave_out(bnd *b, const uint8_t *id, const haven_envelope *env,
    const char *reason, bool about_case)
{
	char hex[33];
	json_t *e;

	if (json_array_size(b->left) >= ENT_MAX) {
		b->err = HAVEN_EMSGSIZE;
		return;
	}
	e = json_pack("{s:s, s:s, s:s?, s:s}", "msg_id",
	    haven__agt_idhex(hex, id), "type", env != NULL ?
	    haven_msg_type_name(env->hdr.type) : "UNKNOWN", "sender",
	    env != NULL ? env->hdr.sender : NULL, "reason", reason);
	if (e == NULL || json_array_append_new(b->left, e) != 0) {
		b->err = HAVEN_ENOMEM;
		return;
	}
	b->left_case += about_case;
	haven__agt_log("HAVEN-AGT-LEFTOUT", "msg=%s", hex);
}

/* ------------------------------------------------------------ checks */

static const char *
check_record(const bnd *b, const haven__inbox_rec *rec,
    const haven_envelope *env)
{
	const haven__agent *a = b->a;
	haven_err rv;

	if (!rec->verified) {
		return ("it failed verification when it was received; it was "
		    "stored unverified and is never decrypted");
	}
	if (!rec->has_receipt) {
		return ("no broker receipt is stored with it");
	}
	if (sodium_memcmp(rec->receipt.msg_id, env->hdr.msg_id,
	    HAVEN_MSGID_BYTES) != 0) {
		return ("the broker receipt names another message");
	}
	if (haven__agent_receipt_verify(a, &rec->receipt) != HAVEN_OK) {
		return ("the broker receipt signature does not verify against "
		    "the directory");
	}
	if (!haven_header_has_recipient(&env->hdr, a->cfg.agency)) {
		return ("this agency is not one of its recipients");
	}
	if ((rv = haven_envelope_verify(env, a->dir)) != HAVEN_OK) {
		return (rv == HAVEN_EUNKNOWN ? "the sender or its key "
		    "generation is not in the current directory" :
		    "the sender signature does not verify against the "
		    "directory");
	}
	return (NULL);
}

static bool
is_marac(uint32_t type)
{
	return ((type >= HAVEN_MSG_MARAC_REFERRAL &&
	    type <= HAVEN_MSG_DAPP_ACTION_PLAN) ||
	    type == HAVEN_MSG_CONSENT_DECISION);
}

/* Does the payload agree with the signed header? (The same checks the
 * agent ran on receipt, run again now.) HAVEN_OK, or an error + *why. */
static haven_err
check_payload(const bnd *b, const haven_header *h, const char *profile,
    const uint8_t *p, size_t len, char *why, size_t whylen)
{
	char w[160] = "";
	const char *code = NULL;
	haven_err rv;

	if (is_marac(h->type)) {
		rv = haven_marac_verify_payload(h, profile, p, len, w,
		    sizeof(w));
		if (rv == HAVEN_OK && haven__agt_marac_case_check(b->a, h, p,
		    len) != HAVEN_OK) {
			rv = HAVEN_EVALIDATE;
			(void) snprintf(w, sizeof(w), "its case reference is "
			    "not the case its header is filed under");
		}
	} else if (h->type >= HAVEN_MSG_OE_NOTIFICATION &&
	    h->type <= HAVEN_MSG_OE_ESCALATION) {
		rv = haven__agt_payload_verify(h, b->a->cfg.agency, b->a->dir,
		    p, len, &code);
		(void) snprintf(w, sizeof(w), "%s", code != NULL ? code : "");
	} else {
		haven__errf(why, whylen, "this agent cannot verify the "
		    "content of this message type");
		return (HAVEN_ENOTFOUND);
	}
	if (rv != HAVEN_OK) {
		haven__errf(why, whylen, "the content disagrees with its "
		    "signed header: %s", w[0] != '\0' ? w : haven_err_name(rv));
	}
	return (rv);
}

/* Check the payload against the header and render it; NULL + *why. */
static json_t *
content(const bnd *b, const haven_header *h, const char *profile,
    const uint8_t *p, size_t len, char *why, size_t whylen)
{
	char *text = NULL;
	json_t *o = NULL;
	haven_err rv;

	if (check_payload(b, h, profile, p, len, why, whylen) != HAVEN_OK) {
		return (NULL);
	}
	rv = is_marac(h->type) ? haven_marac_payload_to_json(h->type, profile,
	    p, len, &text) : haven__agt_payload_json(h, p, len, &text);
	if (rv == HAVEN_OK && (o = json_loads(text, 0, NULL)) == NULL) {
		rv = HAVEN_EDECODE;
	}
	if (text != NULL) {
		haven__agt_free_wiped(text, strlen(text));
	}
	if (o == NULL) {
		haven__errf(why, whylen, "the content does not decode for its "
		    "message type (%s)", haven_err_name(rv));
	}
	return (o);
}

/* ------------------------------------------------------------ items */

static haven__bundle_sec
section_of(uint32_t type)
{
	switch (type) {
	case HAVEN_MSG_MARAC_REFERRAL:
	case HAVEN_MSG_INFO_SHARED_WITHOUT_CONSENT:
		return (HAVEN__SEC_REFERRAL);
	case HAVEN_MSG_MARAC_CASE_LIST:
		return (HAVEN__SEC_CASELIST);
	case HAVEN_MSG_MARAC_RESEARCH_RETURN:
		return (HAVEN__SEC_RESEARCH);
	case HAVEN_MSG_MARAC_ACTION_PLAN:
		return (HAVEN__SEC_PLANS);
	case HAVEN_MSG_ACTION_UPDATE:
		return (HAVEN__SEC_UPDATES); /* panel ones moved later */
	case HAVEN_MSG_REPEAT_INCIDENT_FLAG:
		return (HAVEN__SEC_REPEAT);
	case HAVEN_MSG_CONSENT_DECISION:
		return (HAVEN__SEC_CONSENT);
	case HAVEN_MSG_DAPP_REFERRAL:
		return (HAVEN__SEC_PANEL_REFERRAL);
	case HAVEN_MSG_DAPP_BUNDLE:
		return (HAVEN__SEC_PANEL_BUNDLE);
	case HAVEN_MSG_DAPP_ACTION_PLAN:
		return (HAVEN__SEC_PANEL_PLANS);
	default:
		return (HAVEN__SEC_OTHER);
	}
}

static json_t *
item_json(const bnd *b, const haven__inbox_rec *rec,
    const haven_envelope *env, const char *profile, json_t *c)
{
	const haven_header *h = &env->hdr;
	const haven_agency *ag = haven_directory_find(b->a->dir, h->sender);
	char hex[33], rt[33];

	return (json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:b, "
	    "s:b, s:{s:I, s:o, s:b}, s:o, s:o, s:o}",
	    "msg_id", haven__agt_idhex(hex, h->msg_id),
	    "type", haven_msg_type_name(h->type), "profile", profile,
	    "section", haven__bundle_sec_key(section_of(h->type)),
	    "sender", h->sender, "sender_name", ag != NULL ? ag->name : "",
	    "sender_gen", (json_int_t) h->sender_gen,
	    "created_at", haven__agt_json_time(h->created_ms),
	    "signature_verified", 1, "verified_on_receipt", 1,
	    "receipt", "audit_seq", (json_int_t) rec->receipt.audit_seq,
	    "accepted_at", haven__agt_json_time(rec->receipt.accepted_ms),
	    "verified", 1,
	    "received_at", haven__agt_json_time(rec->received_ms),
	    "in_reply_to", h->has_reply_to ?
	    json_string(haven__agt_idhex(rt, h->in_reply_to)) : json_null(),
	    "content", c));
}

static haven_err
add_ent(bnd *b, const haven_envelope *env, json_t *item)
{
	const haven_header *h = &env->hdr;
	ent *e;

	if (b->n == b->cap) {
		size_t cap = b->cap == 0 ? 16 : b->cap * 2;
		ent *n;

		if (cap > ENT_MAX ||
		    (n = realloc(b->ents, cap * sizeof(*n))) == NULL) {
			json_decref(item);
			return (cap > ENT_MAX ? HAVEN_EMSGSIZE : HAVEN_ENOMEM);
		}
		b->ents = n;
		b->cap = cap;
	}
	e = &b->ents[b->n++];
	memset(e, 0, sizeof(*e));
	e->sec = section_of(h->type);
	(void) snprintf(e->sender, sizeof(e->sender), "%s", h->sender);
	e->created_ms = h->created_ms;
	memcpy(e->id, h->msg_id, HAVEN_MSGID_BYTES);
	e->has_reply = h->has_reply_to;
	memcpy(e->reply, h->in_reply_to, HAVEN_MSGID_BYTES);
	e->type = h->type;
	e->m6 = strcmp(json_string_value(json_object_get(item, "profile")),
	    "marac.m6") == 0;
	e->full = strcmp(json_string_value(json_object_get(item, "profile")),
	    "marac.plan.full") == 0;
	e->item = item;
	return (HAVEN_OK);
}

/* Open our view (the envelope puts each recipient in exactly one view),
 * check it against the header and render it; NULL + *why on failure. */
static json_t *
take_view(bnd *b, const haven__inbox_rec *rec, const haven_envelope *env,
    char *why, size_t whylen)
{
	char profile[HAVEN_CODE_MAX];
	uint8_t *p = NULL;
	size_t plen = 0;
	json_t *c, *item;

	if (haven_envelope_open(env, b->a->keys, profile, &p, &plen) !=
	    HAVEN_OK) {
		haven__errf(why, whylen, "our view cannot be opened with this "
		    "agency's keys");
		return (NULL);
	}
	c = content(b, &env->hdr, profile, p, plen, why, whylen);
	haven__agt_free_wiped(p, plen);
	if (c == NULL) {
		return (NULL);
	}
	if ((item = item_json(b, rec, env, profile, c)) == NULL) {
		haven__errf(why, whylen, "out of memory");
	}
	return (item);
}

static void
consider(bnd *b, const uint8_t *id, const haven__inbox_rec *rec,
    const haven_envelope *env)
{
	const char *reason;
	char why[256] = "";
	json_t *item = NULL;

	if ((reason = check_record(b, rec, env)) == NULL &&
	    (item = take_view(b, rec, env, why, sizeof(why))) == NULL) {
		reason = why;
	}
	if (reason != NULL) {
		leave_out(b, id, env, reason, true);
		return;
	}
	b->err = add_ent(b, env, item);
}

static bool
visit(void *ctx, const uint8_t id[HAVEN_MSGID_BYTES],
    const haven__inbox_rec *rec, haven_err rv)
{
	bnd *b = ctx;
	haven_envelope *env = NULL;
	char why[160];

	if (rec == NULL) {
		haven__errf(why, sizeof(why), "the stored record cannot be "
		    "opened (%s); which case it concerns cannot be told",
		    haven_err_name(rv));
		leave_out(b, id, NULL, why, false);
	} else if (haven_envelope_decode(&env, rec->envelope,
	    rec->envelope_len) != HAVEN_OK) {
		leave_out(b, id, NULL, "the stored envelope does not decode; "
		    "which case it concerns cannot be told", false);
	} else if (env->hdr.has_case && sodium_memcmp(env->hdr.case_pseud,
	    b->pseud, HAVEN_HASH_BYTES) == 0) {
		consider(b, id, rec, env);
	}
	haven_envelope_destroy(&env);
	return (b->err == HAVEN_OK);
}

/* ------------------------------------------------------------ order */

static int
ent_cmp(const void *x, const void *y)
{
	const ent *a = x, *b = y;
	int c;

	if (a->sec != b->sec) {
		return (a->sec < b->sec ? -1 : 1);
	}
	if (a->sec == HAVEN__SEC_RESEARCH &&
	    (c = strcmp(a->sender, b->sender)) != 0) {
		return (c);
	}
	if (a->created_ms != b->created_ms) {
		return (a->created_ms < b->created_ms ? -1 : 1);
	}
	if (a->m6 != b->m6) {
		return (a->m6 ? 1 : -1);
	}
	return (memcmp(a->id, b->id, HAVEN_MSGID_BYTES));
}

/* An M10 answering one of the case's M14 plans is a panel update. */
static void
place_updates(bnd *b)
{
	for (size_t i = 0; i < b->n; i++) {
		ent *u = &b->ents[i];

		if (u->type != HAVEN_MSG_ACTION_UPDATE || !u->has_reply) {
			continue;
		}
		for (size_t j = 0; j < b->n; j++) {
			if (b->ents[j].type == HAVEN_MSG_DAPP_ACTION_PLAN &&
			    memcmp(b->ents[j].id, u->reply,
			    HAVEN_MSGID_BYTES) == 0) {
				u->sec = HAVEN__SEC_PANEL_UPDATES;
				(void) json_object_set_new(u->item, "section",
				    json_string(haven__bundle_sec_key(
				    u->sec)));
				break;
			}
		}
	}
}

/* ------------------------------------------------------ action status */

/* The first of `keys` present in `o` as text ("" if none). */
static void
pick(const json_t *o, const char *const *keys, char *out, size_t len)
{
	out[0] = '\0';
	for (; *keys != NULL; keys++) {
		const json_t *v = json_object_get(o, *keys);

		if (json_is_string(v)) {
			(void) snprintf(out, len, "%s", json_string_value(v));
			return;
		}
		if (json_is_integer(v)) {
			(void) snprintf(out, len, "%lld",
			    (long long) json_integer_value(v));
			return;
		}
	}
}

/* Field names of proto/marac.proto's JSON: MaracAction / DappIntervention
 * (id, owner, description, due) and MaracActionUpdate (action_id,
 * status). */
static const char *const k_id[] = { "action_id", "id", NULL };
static const char *const k_text[] = { "description", NULL };
static const char *const k_owner[] = { "owner", NULL };
static const char *const k_due[] = { "due", NULL };
static const char *const k_status[] = { "status", NULL };

static bool
held(const bnd *b, const uint8_t *id)
{
	for (size_t i = 0; i < b->n; i++) {
		if (memcmp(b->ents[i].id, id, HAVEN_MSGID_BYTES) == 0) {
			return (true);
		}
	}
	return (false);
}

/* Full plan `p` is the latest full plan created at or before update `u`
 * (and so the one an update answering an envelope we lack is about). */
static bool
covers(const bnd *b, const ent *p, const ent *u)
{
	if (p->created_ms > u->created_ms) {
		return (false);
	}
	for (size_t i = 0; i < b->n; i++) {
		const ent *q = &b->ents[i];

		if (q != p && q->full && q->created_ms > p->created_ms &&
		    q->created_ms <= u->created_ms) {
			return (false);
		}
	}
	return (true);
}

/* Does update `u` speak about plan `plan`? It answers it; or names no
 * plan; or, for our full copy, answers another envelope of it. */
static bool
answers(const bnd *b, const ent *plan, const ent *u)
{
	if (!u->has_reply ||
	    memcmp(u->reply, plan->id, HAVEN_MSGID_BYTES) == 0) {
		return (true);
	}
	return (plan->full && !held(b, u->reply) && covers(b, plan, u));
}

/* The latest M10 (by its signed creation time) about action `aid` of
 * plan `plan`; NULL if none. An update that names no plan counts for
 * every plan holding the action id. */
static const ent *
latest_update(const bnd *b, const ent *plan, const char *aid)
{
	const ent *best = NULL;
	char id[HAVEN_CODE_MAX];

	for (size_t i = 0; i < b->n; i++) {
		const ent *u = &b->ents[i];

		if (u->type != HAVEN_MSG_ACTION_UPDATE ||
		    !answers(b, plan, u)) {
			continue;
		}
		pick(json_object_get(u->item, "content"), k_id, id,
		    sizeof(id));
		if (strcmp(id, aid) == 0 && (best == NULL ||
		    u->created_ms >= best->created_ms)) {
			best = u;
		}
	}
	return (best);
}

/* One action's row: from the plan (`act`), or, for an action of the plan
 * that is not in our view of it (an M9 view holds only its recipient's
 * own actions), from the updates alone (`act` NULL). */
static json_t *
status_row(const bnd *b, const ent *plan, const char *aid, const json_t *act)
{
	char text[1024] = "", owner[HAVEN_ID_MAX] = "";
	char due[HAVEN_CODE_MAX] = "", status[HAVEN_CODE_MAX] = "";
	const ent *u = aid[0] != '\0' ? latest_update(b, plan, aid) : NULL;
	json_t *r;

	if (act != NULL) {
		pick(act, k_text, text, sizeof(text));
		pick(act, k_owner, owner, sizeof(owner));
		pick(act, k_due, due, sizeof(due));
	} else if (u != NULL) {
		(void) snprintf(owner, sizeof(owner), "%s", u->sender);
	}
	if (u != NULL) {
		pick(json_object_get(u->item, "content"), k_status, status,
		    sizeof(status));
	}
	r = json_pack("{s:s, s:b, s:s, s:s, s:s, s:s?, s:O, s:O}",
	    "action_id", aid, "in_our_view", act != NULL, "action", text,
	    "owner", owner, "due", due, "status", u != NULL ? status : NULL,
	    "updated_at", u != NULL ? json_object_get(u->item,
	    "created_at") : json_null(), "update_msg_id", u != NULL ?
	    json_object_get(u->item, "msg_id") : json_null());
	sodium_memzero(text, sizeof(text));
	return (r);
}

static bool
has_action(const json_t *st, const char *aid)
{
	size_t i;
	json_t *r;

	json_array_foreach(st, i, r) {
		if (strcmp(json_string_value(json_object_get(r, "action_id")),
		    aid) == 0) {
			return (true);
		}
	}
	return (false);
}

/* Actions that only updates answering `p` tell us about. */
static void
update_only_rows(const bnd *b, const ent *p, json_t *st)
{
	char aid[HAVEN_CODE_MAX];

	for (size_t i = 0; i < b->n; i++) {
		const ent *u = &b->ents[i];

		if (u->type != HAVEN_MSG_ACTION_UPDATE || !u->has_reply ||
		    memcmp(u->reply, p->id, HAVEN_MSGID_BYTES) != 0) {
			continue;
		}
		pick(json_object_get(u->item, "content"), k_id, aid,
		    sizeof(aid));
		if (aid[0] != '\0' && !has_action(st, aid)) {
			(void) json_array_append_new(st, status_row(b, p, aid,
			    NULL));
		}
	}
}

/* Each plan item (M9 "actions", M14 "interventions") gets
 * "action_status": its actions and their latest status from the case's
 * M10 updates, then the actions only updates answering it name. */
static void
action_status(bnd *b)
{
	char aid[HAVEN_CODE_MAX];

	for (size_t i = 0; i < b->n; i++) {
		ent *p = &b->ents[i];
		const json_t *acts;
		json_t *st, *act;
		size_t k;

		if ((p->type != HAVEN_MSG_MARAC_ACTION_PLAN &&
		    p->type != HAVEN_MSG_DAPP_ACTION_PLAN) ||
		    (st = json_array()) == NULL) {
			continue;
		}
		acts = json_object_get(json_object_get(p->item, "content"),
		    p->type == HAVEN_MSG_MARAC_ACTION_PLAN ? "actions" :
		    "interventions");
		json_array_foreach(acts, k, act) {
			pick(act, k_id, aid, sizeof(aid));
			(void) json_array_append_new(st, status_row(b, p, aid,
			    act));
		}
		update_only_rows(b, p, st);
		(void) json_object_set_new(p->item, "action_status", st);
	}
}

/* ------------------------------------------------------------ output */

static json_t *
bundle_doc(bnd *b, const char *case_ref)
{
	char hex[2 * HAVEN_HASH_BYTES + 1];
	json_t *items = json_array(), *doc;

	place_updates(b);
	action_status(b);
	qsort(b->ents, b->n, sizeof(*b->ents), ent_cmp);
	for (size_t i = 0; items != NULL && i < b->n; i++) {
		(void) json_array_append(items, b->ents[i].item);
	}
	haven__hex_encode(hex, b->pseud, HAVEN_HASH_BYTES);
	doc = json_pack("{s:s, s:s, s:o, s:s, s:o, s:O}", "case", case_ref,
	    "case_pseudonym", hex, "generated_at",
	    haven__agt_json_time(haven__now_ms()), "agency",
	    b->a->cfg.agency, "items", items, "left_out", b->left);
	return (doc);
}

static int
fail(const haven__agent *a, haven_err rv, int ec, const char *field,
    const char *why)
{
	return (haven__agt_out_fail(&a->out, rv, ec, field, NULL, "%s", why));
}

static int
check_args(const haven__agent *a, const haven__args *args, char *json,
    char *html)
{
	const char *c = args->case_id;
	struct stat st;
	int n1, n2;

	if (c == NULL || c[0] == '\0') {
		return (fail(a, HAVEN_EINVAL, 2, "--case", "a case reference "
		    "is required: bundle --case CASE --out DIR"));
	}
	if (strlen(c) >= HAVEN_CODE_MAX || !haven__text_ok(c, HAVEN_CODE_MAX) ||
	    !haven__utf8_valid(c)) {
		return (fail(a, HAVEN_EINVAL, 2, "--case", "not a case "
		    "reference (too long or control characters)"));
	}
	if (args->out == NULL || args->out[0] == '\0') {
		return (fail(a, HAVEN_EINVAL, 2, "--out", "an output directory "
		    "is required: bundle --case CASE --out DIR"));
	}
	n1 = snprintf(json, PATH_MAX, "%s/bundle.json", args->out);
	n2 = snprintf(html, PATH_MAX, "%s/bundle.html", args->out);
	if (n1 < 0 || n1 >= PATH_MAX || n2 < 0 || n2 >= PATH_MAX) {
		return (fail(a, HAVEN_EMSGSIZE, 2, "--out", "path too long"));
	}
	if (lstat(json, &st) == 0 || lstat(html, &st) == 0) {
		return (fail(a, HAVEN_EEXIST, 2, "--out", "a bundle already "
		    "exists in that directory; it is never overwritten: choose "
		    "a new --out directory"));
	}
	return (0);
}

static int
pseudonym(bnd *b, const char *case_ref)
{
	haven_pseudonym_key *pk = NULL;
	char err[256] = "";
	haven_err rv;

	if (b->a->cfg.pseudonym_key[0] == '\0') {
		return (fail(b->a, HAVEN_EINVAL, 2, "pseudonym_key", "config "
		    "names no pseudonym key; it is needed to find the case"));
	}
	if ((rv = haven_pseudonym_key_load(&pk, b->a->cfg.pseudonym_key, err,
	    sizeof(err))) != HAVEN_OK) {
		return (fail(b->a, rv, 1, "pseudonym_key", err[0] != '\0' ?
		    err : "cannot load"));
	}
	haven_pseudonym_case(b->pseud, pk, case_ref);
	haven_pseudonym_key_destroy(&pk);
	return (0);
}

static haven_err
out_dir(const char *dir)
{
	struct stat st;

	if (mkdir(dir, 0700) == 0) {
		return (HAVEN_OK);
	}
	if (errno == ENOENT) {
		return (haven__mkdirs(dir));
	}
	if (errno == EEXIST && lstat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* Personal data goes here: the directory must be the chair's
		 * own and nobody else may plant files or links in it. */
		return (st.st_uid == geteuid() &&
		    (st.st_mode & (S_IWGRP | S_IWOTH)) == 0 ? HAVEN_OK :
		    HAVEN_EINVAL);
	}
	return (errno == EEXIST ? HAVEN_EINVAL : HAVEN_ESYSERR | errno);
}

static haven_err
write_files(const json_t *doc, const char *dir, const char *jpath,
    const char *hpath)
{
	char *js = NULL, *html = NULL;
	size_t hlen = 0;
	haven_err rv;

	if ((rv = haven__bundle_html(doc, &html, &hlen)) != HAVEN_OK) {
		return (rv);
	}
	if ((js = json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII)) ==
	    NULL) {
		rv = HAVEN_ENOMEM;
		goto out;
	}
	if ((rv = out_dir(dir)) != HAVEN_OK ||
	    (rv = haven__write_file(jpath, js, strlen(js), 0600, true)) !=
	    HAVEN_OK) {
		goto out;
	}
	if ((rv = haven__write_file(hpath, html, hlen, 0600, true)) !=
	    HAVEN_OK) {
		(void) unlink(jpath); /* never half a bundle */
	}
out:
	if (js != NULL) {
		haven__agt_free_wiped(js, strlen(js));
	}
	haven__agt_free_wiped(html, hlen);
	return (rv);
}

static void
report(const bnd *b, const char *dir)
{
	char hex[2 * HAVEN_HASH_BYTES + 1];
	size_t i;
	json_t *e;

	haven__hex_encode(hex, b->pseud, HAVEN_HASH_BYTES);
	haven__agt_log("HAVEN-AGT-BUNDLE", "case=%s items=%zu left_out=%zu",
	    hex, b->n, json_array_size(b->left));
	if (b->a->out.json) {
		haven__agt_out_json(json_pack("{s:b, s:s, s:s, s:s, s:[s,s], "
		    "s:I, s:O}", "ok", 1, "command", "bundle", "case_pseudonym",
		    hex, "out", dir, "files", "bundle.json", "bundle.html",
		    "items", (json_int_t) b->n, "left_out", b->left));
		return;
	}
	(void) printf("bundle written to %s: %zu items, %zu left out\n", dir,
	    b->n, json_array_size(b->left));
	json_array_foreach(b->left, i, e) {
		(void) printf("LEFT OUT %s %s from %s: %s\n",
		    json_string_value(json_object_get(e, "msg_id")),
		    json_string_value(json_object_get(e, "type")),
		    json_is_string(json_object_get(e, "sender")) ?
		    json_string_value(json_object_get(e, "sender")) : "?",
		    json_string_value(json_object_get(e, "reason")));
	}
}

static int
build(bnd *b, const haven__args *args, const char *jpath, const char *hpath)
{
	json_t *doc;
	haven_err rv;

	if ((rv = haven__agt_store_inbox_each(b->a->store, visit, b)) !=
	    HAVEN_OK || (rv = b->err) != HAVEN_OK) {
		return (fail(b->a, rv, 1, "data_dir", "cannot read the inbox"));
	}
	if (b->n == 0 && b->left_case == 0) {
		return (fail(b->a, HAVEN_ENOTFOUND, 2, "--case", "no message "
		    "about this case is in this agency's inbox (unknown case, "
		    "or not synced yet)"));
	}
	if ((doc = bundle_doc(b, args->case_id)) == NULL) {
		return (fail(b->a, HAVEN_ENOMEM, 1, NULL, "out of memory"));
	}
	rv = write_files(doc, args->out, jpath, hpath);
	json_decref(doc);
	if (rv == HAVEN_EEXIST || rv == HAVEN_EINVAL) {
		return (fail(b->a, rv, 2, "--out", rv == HAVEN_EEXIST ?
		    "a bundle already exists in that directory" :
		    "is not a directory of yours that only you can write "
		    "to"));
	}
	if (rv != HAVEN_OK) {
		return (fail(b->a, rv, 1, "--out", "cannot write the bundle"));
	}
	report(b, args->out);
	return (0);
}

int
haven__agt_cmd_bundle(haven__agent *a, const haven__args *args)
{
	char jpath[PATH_MAX], hpath[PATH_MAX];
	bnd b;
	int ec;

	memset(&b, 0, sizeof(b));
	b.a = a;
	if ((ec = check_args(a, args, jpath, hpath)) != 0 ||
	    (ec = pseudonym(&b, args->case_id)) != 0) {
		return (ec);
	}
	if ((b.left = json_array()) == NULL) {
		return (fail(a, HAVEN_ENOMEM, 1, NULL, "out of memory"));
	}
	ec = build(&b, args, jpath, hpath);
	for (size_t i = 0; i < b.n; i++) {
		json_decref(b.ents[i].item);
	}
	free(b.ents);
	json_decref(b.left);
	sodium_memzero(b.pseud, sizeof(b.pseud));
	return (ec);
}
