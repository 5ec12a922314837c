/*
 * agents/inbox_cmd.c: `haven-agent inbox` and `haven-agent show ID`.
 *
 * The listing reads the signed header of each stored envelope; the only
 * content it decrypts is that of verified escalations signed by the
 * broker, which hold no personal data (reason, the notification's id, its
 * school, deadline, and for a closure the reader's role), so that the
 * police SPOC and a deputy DSL see at a glance which notifications were
 * escalated and which of those escalations a later reading has closed.
 * `show` decrypts one message for the person who asked and reports its
 * provenance, re-checking the sender's signature and the broker's receipt
 * signature now, against the current directory. The content of a record
 * stored unverified is never decrypted or printed.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "haven/encompass.h"
#include "haven/envelope.h"
#include "payload.h"
#include "util.h"

typedef struct list_ctx {
	haven__agent *a;
	json_t *arr;
	json_t *closures; /* about msg id hex -> the closing escalation */
	size_t n;
} list_ctx;

/* A verified broker escalation's content (no personal data), or NULL. */
static json_t *
escalation_json(haven__agent *a, const haven_envelope *env)
{
	char profile[HAVEN_CODE_MAX], hex[33];
	uint8_t *payload = NULL;
	size_t plen = 0;
	haven_oe_escalation e;
	json_t *o = NULL;

	if (haven_envelope_open(env, a->keys, profile, &payload, &plen) !=
	    HAVEN_OK) {
		return (NULL);
	}
	if (haven_oe_escalation_decode(payload, plen, &e) == HAVEN_OK) {
		o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o}", "reason",
		    e.reason, "about", haven__agt_idhex(hex, e.about_msg_id),
		    "school", e.school, "deadline",
		    haven__agt_json_time(e.deadline_ms), "event",
		    haven__agt_json_time(e.event_ms), "reader_role",
		    e.reader_role[0] != '\0' ? json_string(e.reader_role) :
		    json_null());
	}
	haven__agt_free_wiped(payload, plen);
	return (o);
}

/* What the header alone tells about one kind of message. */
static void
entry_extras(list_ctx *c, json_t *o, const haven_envelope *env,
    const haven__inbox_rec *rec)
{
	const haven_header *h = &env->hdr;
	const char *role = haven_header_tag(h, "reader_role");
	json_t *esc;

	if (h->type == HAVEN_MSG_OE_NOTIFICATION) {
		(void) json_object_set_new(o, "holiday_duty_copy",
		    json_boolean(haven__agt_is_duty_copy(h,
		    c->a->cfg.agency)));
	}
	if (h->type == HAVEN_MSG_OE_RECEIPT && role != NULL) {
		(void) json_object_set_new(o, "reader_role",
		    json_string(role));
	}
	if (!rec->verified || !haven__agt_is_broker_escalation(h) ||
	    (esc = escalation_json(c->a, env)) == NULL) {
		return;
	}
	if (strcmp(json_string_value(json_object_get(esc, "reason")),
	    HAVEN_OE_REASON_CLOSED) == 0) {
		(void) json_object_set(c->closures, json_string_value(
		    json_object_get(esc, "about")), o);
	}
	(void) json_object_set_new(o, "escalation", esc);
}

static json_t *
entry_json(list_ctx *c, const uint8_t *id, const haven__inbox_rec *rec,
    haven_err rv)
{
	haven_envelope *env = NULL;
	char hex[33];
	json_t *o;

	haven__agt_idhex(hex, id);
	if (rec == NULL) {
		return (json_pack("{s:s, s:s}", "msg_id", hex, "error",
		    haven_err_name(rv)));
	}
	if (haven_envelope_decode(&env, rec->envelope, rec->envelope_len) !=
	    HAVEN_OK) {
		env = NULL;
	}
	o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:b, s:o, s:s, s:b}",
	    "msg_id", hex, "type",
	    env != NULL ? haven_msg_type_name(env->hdr.type) : "UNKNOWN",
	    "sender", env != NULL ? env->hdr.sender : "?", "received",
	    haven__agt_json_time(rec->received_ms), "deadline",
	    haven__agt_json_time(env != NULL ? env->hdr.deadline_ms : 0),
	    "read",
	    rec->read_ms != 0, "read_at", haven__agt_json_time(rec->read_ms),
	    "read_role", rec->read_role, "verified", rec->verified);
	if (o != NULL && env != NULL) {
		entry_extras(c, o, env, rec);
	}
	haven_envelope_destroy(&env);
	return (o);
}

static bool
list_one(void *vctx, const uint8_t id[HAVEN_MSGID_BYTES],
    const haven__inbox_rec *rec, haven_err rv)
{
	list_ctx *c = vctx;

	(void) json_array_append_new(c->arr, entry_json(c, id, rec, rv));
	c->n++;
	return (true);
}

/*
 * Mark every escalation (deadline missed, school offline) that a later
 * read-after-escalation from the broker closed: closed, when the school
 * read it and in what role, and which message said so.
 */
static void
mark_closed(list_ctx *c)
{
	json_t *e, *esc, *cl, *ce;
	const char *about;
	size_t i;

	json_array_foreach(c->arr, i, e) {
		esc = json_object_get(e, "escalation");
		about = json_string_value(json_object_get(esc, "about"));
		if (about == NULL || strcmp(json_string_value(json_object_get(
		    esc, "reason")), HAVEN_OE_REASON_CLOSED) == 0) {
			continue;
		}
		cl = json_object_get(c->closures, about);
		ce = json_object_get(cl, "escalation");
		(void) json_object_set_new(esc, "closed",
		    json_boolean(cl != NULL));
		(void) json_object_set(esc, "closed_by", cl != NULL ?
		    json_object_get(cl, "msg_id") : json_null());
		(void) json_object_set(esc, "read_at", cl != NULL ?
		    json_object_get(ce, "event") : json_null());
		(void) json_object_set(esc, "read_role", cl != NULL ?
		    json_object_get(ce, "reader_role") : json_null());
	}
}

static const char *
jstr(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return (v != NULL ? v : "-");
}

/* The second line of an escalation from the broker. */
static void
print_escalation(const json_t *esc)
{
	bool closure = strcmp(jstr(esc, "reason"),
	    HAVEN_OE_REASON_CLOSED) == 0;

	(void) printf("    %s: notification %s to %s, deadline %s",
	    closure ? "CLOSES the escalation of" : "ESCALATED",
	    jstr(esc, "about"), jstr(esc, "school"), jstr(esc, "deadline"));
	if (closure) {
		(void) printf(", read %s by %s\n", jstr(esc, "event"),
		    jstr(esc, "reader_role"));
	} else if (json_is_true(json_object_get(esc, "closed"))) {
		(void) printf(" (%s at %s)\n      CLOSED: read %s by %s\n",
		    jstr(esc, "reason"), jstr(esc, "event"),
		    jstr(esc, "read_at"), jstr(esc, "read_role"));
	} else {
		(void) printf(" (%s at %s)\n      OPEN: no closure received "
		    "yet\n",
		    jstr(esc, "reason"), jstr(esc, "event"));
	}
}

static const char *
status_word(const json_t *e)
{
	if (!json_is_true(json_object_get(e, "verified"))) {
		return (json_is_true(json_object_get(e, "read")) ?
		    "read UNVERIFIED" : "UNREAD UNVERIFIED");
	}
	if (json_is_true(json_object_get(e, "holiday_duty_copy"))) {
		return (json_is_true(json_object_get(e, "read")) ?
		    "read (holiday duty copy)" : "UNREAD (holiday duty copy)");
	}
	return (json_is_true(json_object_get(e, "read")) ? "read" : "UNREAD");
}

static void
print_row(const json_t *e)
{
	const char *err = json_string_value(json_object_get(e, "error"));
	const json_t *esc = json_object_get(e, "escalation");

	if (err != NULL) {
		(void) printf("%-32s  (record cannot be opened: %s)\n",
		    json_string_value(json_object_get(e, "msg_id")), err);
		return;
	}
	(void) printf("%-32s  %-19s  %-24s  %-20s  %-20s  %s",
	    jstr(e, "msg_id"), jstr(e, "type"), jstr(e, "sender"),
	    jstr(e, "received"), jstr(e, "deadline"), status_word(e));
	if (json_is_string(json_object_get(e, "reader_role"))) {
		(void) printf(" (receipt: read by %s)", jstr(e,
		    "reader_role"));
	}
	(void) printf("\n");
	if (json_is_object(esc)) {
		print_escalation(esc);
	}
}

static int
list_fail(haven__agent *a, list_ctx *c, haven_err rv)
{
	json_decref(c->arr);
	json_decref(c->closures);
	return (haven__agt_out_fail(&a->out, rv, 1, rv == HAVEN_ENOMEM ?
	    NULL : "data_dir", NULL, "%s", rv == HAVEN_ENOMEM ?
	    "out of memory" : "cannot read the inbox"));
}

int
haven__agt_cmd_inbox(haven__agent *a, const haven__args *args)
{
	list_ctx c = { a, json_array(), json_object(), 0 };
	haven_err rv;
	size_t i;
	json_t *e;

	(void) args;
	if (c.arr == NULL || c.closures == NULL) {
		return (list_fail(a, &c, HAVEN_ENOMEM));
	}
	if ((rv = haven__agt_store_inbox_each(a->store, list_one, &c)) !=
	    HAVEN_OK) {
		return (list_fail(a, &c, rv));
	}
	mark_closed(&c);
	json_decref(c.closures);
	if (a->out.json) {
		haven__agt_out_json(json_pack("{s:b, s:s, s:I, s:o}", "ok", 1,
		    "command", "inbox", "count", (json_int_t) c.n, "messages",
		    c.arr));
		return (0);
	}
	(void) printf("%-32s  %-19s  %-24s  %-20s  %-20s  %s\n", "MSG ID",
	    "TYPE", "SENDER", "RECEIVED", "DEADLINE", "STATUS");
	json_array_foreach(c.arr, i, e) {
		print_row(e);
	}
	json_decref(c.arr);
	return (0);
}

/* ------------------------------------------------------------ show */

static json_t *
content_json(haven__agent *a, const haven_envelope *env, const char **why)
{
	char profile[HAVEN_CODE_MAX];
	uint8_t *payload = NULL;
	size_t plen = 0;
	char *text = NULL;
	json_t *o = NULL;

	if (haven_envelope_open(env, a->keys, profile, &payload, &plen) !=
	    HAVEN_OK) {
		*why = "our view cannot be opened with this agency's keys";
		return (NULL);
	}
	if (haven__agt_payload_json(&env->hdr, payload, plen, &text) !=
	    HAVEN_OK) {
		*why = "the content does not decode for its message type";
	} else if ((o = json_loads(text, 0, NULL)) == NULL) {
		*why = "the content cannot be rendered";
	}
	if (text != NULL) {
		haven__agt_free_wiped(text, strlen(text));
	}
	haven__agt_free_wiped(payload, plen);
	return (o);
}

static json_t *
provenance_json(haven__agent *a, const haven__inbox_rec *rec,
    const haven_envelope *env)
{
	bool sig = env != NULL && haven_envelope_verify(env, a->dir) ==
	    HAVEN_OK;
	bool rsig = rec->has_receipt &&
	    haven__agent_receipt_verify(a, &rec->receipt) == HAVEN_OK;
	json_t *r = json_null();

	if (rec->has_receipt) {
		r = json_pack("{s:I, s:o, s:b}", "audit_seq",
		    (json_int_t) rec->receipt.audit_seq, "accepted",
		    haven__agt_json_time(rec->receipt.accepted_ms),
		    "signature_verified", rsig);
	}
	return (json_pack("{s:s, s:I, s:b, s:b, s:o}", "sender",
	    env != NULL ? env->hdr.sender : "?", "sender_key_generation",
	    (json_int_t) (env != NULL ? env->hdr.sender_gen : 0),
	    "verified_on_receipt", rec->verified, "signature_verified", sig,
	    "receipt", r));
}

static json_t *
header_json(const haven_envelope *env, const uint8_t *id)
{
	char hex[33], rt[33];
	json_t *rc = json_array(), *tags = json_object();

	for (size_t i = 0; env != NULL && i < env->hdr.n_recipients; i++) {
		(void) json_array_append_new(rc,
		    json_string(env->hdr.recipients[i]));
	}
	for (size_t i = 0; env != NULL && i < env->hdr.n_tags; i++) {
		(void) json_object_set_new(tags, env->hdr.tags[i].key,
		    json_string(env->hdr.tags[i].value));
	}
	return (json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}",
	    "msg_id", haven__agt_idhex(hex, id), "type",
	    env != NULL ? haven_msg_type_name(env->hdr.type) : "UNKNOWN",
	    "recipients", rc, "created",
	    haven__agt_json_time(env != NULL ? env->hdr.created_ms : 0),
	    "occurred",
	    haven__agt_json_time(env != NULL ? env->hdr.occurred_ms : 0),
	    "deadline",
	    haven__agt_json_time(env != NULL ? env->hdr.deadline_ms :
	    0), "in_reply_to", env != NULL && env->hdr.has_reply_to ?
	    json_string(haven__agt_idhex(rt, env->hdr.in_reply_to)) :
	    json_null(), "tags", tags));
}

static const char *
yesno(const json_t *o, const char *key)
{
	return (json_is_true(json_object_get(o, key)) ? "yes" : "NO");
}

/* Header tags: policy facts, never personal (holiday=yes,
 * reader_role=DSL, escalation=school-unknown). */
static void
print_tags(const json_t *tags)
{
	const char *k;
	json_t *v;

	if (json_object_size(tags) == 0) {
		return;
	}
	(void) printf("Tags      ");
	json_object_foreach((json_t *) tags, k, v) {
		(void) printf(" %s=%s", k, json_string_value(v));
	}
	(void) printf("\n");
}

static void
print_show_text(const json_t *doc)
{
	const json_t *p = json_object_get(doc, "provenance");
	const json_t *r = json_object_get(p, "receipt");
	const json_t *rd = json_object_get(doc, "read");
	const json_t *c = json_object_get(doc, "content");
	char *txt;

	(void) printf("Message    %s\nType       %s\nIn reply   %s\n",
	    jstr(doc, "msg_id"), jstr(doc, "type"), jstr(doc, "in_reply_to"));
	(void) printf("Sender     %s (key generation %lld), signature "
	    "verified: %s, verified on receipt: %s\n", jstr(p, "sender"),
	    (long long) json_integer_value(json_object_get(p,
	    "sender_key_generation")), yesno(p, "signature_verified"),
	    yesno(p, "verified_on_receipt"));
	if (json_is_object(r)) {
		(void) printf("Broker     receipt audit_seq=%lld accepted=%s, "
		    "signature verified: %s\n", (long long) json_integer_value(
		    json_object_get(r, "audit_seq")), jstr(r, "accepted"),
		    yesno(r, "signature_verified"));
	}
	(void) printf("Occurred   %s\nReceived   %s\nDeadline   %s\n",
	    jstr(doc, "occurred"), jstr(doc, "received"),
	    jstr(doc, "deadline"));
	print_tags(json_object_get(doc, "tags"));
	if (json_is_object(rd)) {
		(void) printf("Read       %s by %s (%s)\n", jstr(rd, "at"),
		    jstr(rd, "by"), jstr(rd, "role"));
	} else {
		(void) printf("Read       not yet\n");
	}
	if (!json_is_object(c)) {
		(void) printf("Content    WITHHELD: %s\n",
		    jstr(doc, "content_withheld"));
		return;
	}
	if ((txt = json_dumps(c, JSON_INDENT(2))) != NULL) {
		(void) printf("Content\n%s\n", txt);
		haven__agt_free_wiped(txt, strlen(txt));
	}
}

static int
show_record(haven__agent *a, const uint8_t *id, const haven__inbox_rec *rec)
{
	haven_envelope *env = NULL;
	const char *why = "the message failed verification when it was "
	    "received; it was stored unverified and is never decrypted";
	json_t *doc, *content = NULL;
	int ec;

	if (haven_envelope_decode(&env, rec->envelope, rec->envelope_len) !=
	    HAVEN_OK) {
		env = NULL;
	}
	if (rec->verified && env != NULL) {
		content = content_json(a, env, &why);
	}
	doc = header_json(env, id);
	(void) json_object_set_new(doc, "received",
	    haven__agt_json_time(rec->received_ms));
	(void) json_object_set_new(doc, "read", rec->read_ms == 0 ?
	    json_null() : json_pack("{s:o, s:s, s:s}", "at",
	    haven__agt_json_time(rec->read_ms), "by", rec->read_by, "role",
	    rec->read_role));
	(void) json_object_set_new(doc, "provenance",
	    provenance_json(a, rec, env));
	(void) json_object_set_new(doc, "content", content != NULL ? content :
	    json_null());
	(void) json_object_set_new(doc, "content_withheld", content != NULL ?
	    json_null() : json_string(why));
	(void) json_object_set_new(doc, "ok", json_boolean(content != NULL));
	ec = content != NULL ? 0 : 1;
	if (content == NULL) {
		haven__agt_log("HAVEN-AGT-WITHHELD", "msg=%s",
		    json_string_value(json_object_get(doc, "msg_id")));
	}
	if (a->out.json) {
		haven__agt_out_json(doc);
	} else {
		print_show_text(doc);
		json_decref(doc);
	}
	haven_envelope_destroy(&env);
	return (ec);
}

int
haven__agt_cmd_show(haven__agent *a, const haven__args *args)
{
	uint8_t id[HAVEN_MSGID_BYTES];
	haven__inbox_rec rec;
	haven_err rv;
	int ec;

	if (haven__agt_args_msgid(args->pos[1], id) != HAVEN_OK) {
		return (haven__agt_out_fail(&a->out, HAVEN_EINVAL, 2, "msg_id",
		    NULL, "must be 32 hex digits"));
	}
	if ((rv = haven__agt_store_inbox_get(a->store, id, &rec)) != HAVEN_OK) {
		return (haven__agt_out_fail(&a->out, rv,
		    rv == HAVEN_ENOTFOUND ? 2 :
		    1, "msg_id", NULL, "%s", rv == HAVEN_ENOTFOUND ?
		    "no such message in the inbox" :
		    "the stored record cannot be opened"));
	}
	ec = show_record(a, id, &rec);
	haven__agt_inbox_rec_release(&rec);
	return (ec);
}
