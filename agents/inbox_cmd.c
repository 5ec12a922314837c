/*
 * agents/inbox_cmd.c: `haven-agent inbox` and `haven-agent show ID`.
 *
 * The listing reads only the signed header of each stored envelope (no
 * decryption). `show` decrypts one message for the person who asked and
 * reports its provenance, re-checking the sender's signature and the
 * broker's receipt signature now, against the current directory. The
 * content of a record stored unverified is never decrypted or printed.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "haven/envelope.h"
#include "payload.h"
#include "util.h"

typedef struct list_ctx {
	json_t *arr;
	size_t n;
} list_ctx;

static json_t *
entry_json(const uint8_t *id, const haven__inbox_rec *rec, haven_err rv)
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
	haven_envelope_destroy(&env);
	return (o);
}

static bool
list_one(void *vctx, const uint8_t id[HAVEN_MSGID_BYTES],
    const haven__inbox_rec *rec, haven_err rv)
{
	list_ctx *c = vctx;

	(void) json_array_append_new(c->arr, entry_json(id, rec, rv));
	c->n++;
	return (true);
}

static void
print_row(const json_t *e)
{
	const char *err = json_string_value(json_object_get(e, "error"));
	const char *rcv = json_string_value(json_object_get(e, "received"));
	const char *dl = json_string_value(json_object_get(e, "deadline"));

	if (err != NULL) {
		(void) printf("%-32s  (record cannot be opened: %s)\n",
		    json_string_value(json_object_get(e, "msg_id")), err);
		return;
	}
	(void) printf("%-32s  %-19s  %-24s  %-20s  %-20s  %s%s\n",
	    json_string_value(json_object_get(e, "msg_id")),
	    json_string_value(json_object_get(e, "type")),
	    json_string_value(json_object_get(e, "sender")),
	    rcv != NULL ? rcv : "-", dl != NULL ? dl : "-",
	    json_is_true(json_object_get(e, "read")) ? "read" : "UNREAD",
	    json_is_true(json_object_get(e, "verified")) ? "" :
	    " UNVERIFIED");
}

int
haven__agt_cmd_inbox(haven__agent *a, const haven__args *args)
{
	list_ctx c = { json_array(), 0 };
	haven_err rv;
	size_t i;
	json_t *e;

	(void) args;
	if (c.arr == NULL) {
		return (haven__agt_out_fail(&a->out, HAVEN_ENOMEM, 1, NULL,
		    NULL,
		    "out of memory"));
	}
	if ((rv = haven__agt_store_inbox_each(a->store, list_one, &c)) !=
	    HAVEN_OK) {
		json_decref(c.arr);
		return (haven__agt_out_fail(&a->out, rv, 1, "data_dir", NULL,
		    "cannot read the inbox"));
	}
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
	if (haven__agt_payload_json(env->hdr.type, payload, plen, &text) !=
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
	json_t *rc = json_array();

	for (size_t i = 0; env != NULL && i < env->hdr.n_recipients; i++) {
		(void) json_array_append_new(rc,
		    json_string(env->hdr.recipients[i]));
	}
	return (json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "msg_id",
	    haven__agt_idhex(hex, id), "type",
	    env != NULL ? haven_msg_type_name(env->hdr.type) : "UNKNOWN",
	    "recipients", rc, "created",
	    haven__agt_json_time(env != NULL ? env->hdr.created_ms : 0),
	    "deadline",
	    haven__agt_json_time(env != NULL ? env->hdr.deadline_ms :
	    0), "in_reply_to", env != NULL && env->hdr.has_reply_to ?
	    json_string(haven__agt_idhex(rt, env->hdr.in_reply_to)) :
	    json_null()));
}

static const char *
jstr(const json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return (v != NULL ? v : "-");
}

static const char *
yesno(const json_t *o, const char *key)
{
	return (json_is_true(json_object_get(o, key)) ? "yes" : "NO");
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
	(void) printf("Received   %s\nDeadline   %s\n", jstr(doc, "received"),
	    jstr(doc, "deadline"));
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
