/*
 * agents/read_cmd.c: `haven-agent read ID --reader STAFFREF --role ROLE`.
 *
 * Marks a verified inbox record read and, for an Operation Encompass
 * notification (M1/M2), sends the M3 OE_RECEIPT to the original sender:
 * in one fsync'd transaction the inbox record gets the read time, reader
 * and role and the receipt envelope enters the outbox, then the receipt is
 * submitted and its broker receipt awaited. The receipt carries only the
 * staff reference (never a name: spaces are refused), the role and time;
 * its metadata copies the original's pseudonyms so the broker can audit
 * the READ against the same case, and tags reader_role=<ROLE> so the
 * broker can audit who (by role) read it and close an escalation; the
 * staff reference stays inside the encrypted payload.
 *
 * This command is the only place an M3 is made: delivery (deliver.c)
 * stores and acknowledges, and never tells the sender anything, so a
 * receipt means a named person opened the notification, not that a
 * machine took it in. A holiday duty contact's copy is marked read here
 * too but sends no M3: the deadline is the school's, and only the
 * school's own reading may stop its escalation.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "haven/envelope.h"
#include "payload.h"
#include "agent_session.h"
#include "util.h"

typedef struct reading {
	haven__agent *a;
	uint8_t id[HAVEN_MSGID_BYTES];
	haven_envelope *orig;
	const char *role; /* validated: DSL, DDSL or EHE-OFFICER */
	int64_t read_ms;
	uint8_t *env; /* the M3 envelope */
	size_t env_len;
	haven__wait wait;
} reading;

static bool
takes_receipt(const haven_header *hdr, const char *me)
{
	return ((hdr->type == HAVEN_MSG_OE_NOTIFICATION ||
	    hdr->type == HAVEN_MSG_OE_EHE_NOTIFICATION) &&
	    !haven__agt_is_duty_copy(hdr, me));
}

static void
m3_header(const reading *r, uint64_t seq, haven_header *hdr)
{
	const haven_header *o = &r->orig->hdr;

	memset(hdr, 0, sizeof(*hdr));
	hdr->seq = seq;
	hdr->type = HAVEN_MSG_OE_RECEIPT;
	hdr->n_recipients = 1;
	memcpy(hdr->recipients[0], o->sender, HAVEN_ID_MAX);
	hdr->has_case = o->has_case;
	memcpy(hdr->case_pseud, o->case_pseud, HAVEN_HASH_BYTES);
	hdr->n_subjects = o->n_subjects;
	memcpy(hdr->subject_pseuds, o->subject_pseuds,
	    sizeof(hdr->subject_pseuds));
	memcpy(hdr->legal_basis, o->legal_basis, HAVEN_CODE_MAX);
	memcpy(hdr->purpose, o->purpose, HAVEN_CODE_MAX);
	hdr->created_ms = haven__now_ms();
	hdr->has_reply_to = true;
	memcpy(hdr->in_reply_to, r->id, HAVEN_MSGID_BYTES);
	hdr->n_tags = 1;
	(void) snprintf(hdr->tags[0].key, HAVEN_CODE_MAX, "reader_role");
	(void) snprintf(hdr->tags[0].value, HAVEN_TAGVAL_MAX, "%s",
	    r->role);
}

static haven_err
build_m3(reading *r, const haven__args *args, char *err, size_t errlen)
{
	const char *rcpt[1] = { r->orig->hdr.sender };
	haven__read_receipt rr;
	haven_view_in view;
	haven_header hdr;
	uint8_t *payload = NULL;
	size_t plen = 0;
	uint64_t seq = 0;
	haven_err rv;

	memset(&rr, 0, sizeof(rr));
	memcpy(rr.msg_id, r->id, HAVEN_MSGID_BYTES);
	(void) snprintf(rr.reader_role, sizeof(rr.reader_role), "%s",
	    args->role);
	(void) snprintf(rr.reader, sizeof(rr.reader), "%s", args->reader);
	rr.read_ms = r->read_ms;
	if ((rv = haven__agt_rr_encode(&rr, &payload, &plen)) != HAVEN_OK ||
	    (rv = haven__agt_store_reserve_seq(r->a->store, 1,
	    &seq)) != HAVEN_OK) {
		haven__agt_free_wiped(payload, plen);
		return (rv);
	}
	m3_header(r, seq, &hdr);
	view = (haven_view_in){ .profile = "oe.receipt", .recipients = rcpt,
	    .n_recipients = 1, .payload = payload, .payload_len = plen };
	rv = haven_envelope_seal(&hdr, false, &view, 1, r->a->keys, r->a->dir,
	    &r->env, &r->env_len, err, errlen);
	memcpy(r->wait.msg_id, hdr.msg_id, HAVEN_MSGID_BYTES);
	haven__agt_free_wiped(payload, plen);
	return (rv);
}

static int
load_orig(reading *r)
{
	haven__inbox_rec rec;
	haven_err rv;
	int ec = 0;

	if ((rv = haven__agt_store_inbox_get(r->a->store, r->id, &rec)) !=
	    HAVEN_OK) {
		return (haven__agt_out_fail(&r->a->out, rv,
		    rv == HAVEN_ENOTFOUND ?
		    2 : 1, "msg_id", NULL, "%s", rv == HAVEN_ENOTFOUND ?
		    "no such message in the inbox" :
		    "the stored record cannot be opened"));
	}
	if (!rec.verified) {
		ec = haven__agt_out_fail(&r->a->out, HAVEN_ESIG, 2, "msg_id",
		    NULL,
		    "the message failed verification on receipt; it cannot "
		    "be marked read");
	} else if (haven_envelope_decode(&r->orig, rec.envelope,
	    rec.envelope_len) != HAVEN_OK) {
		r->orig = NULL;
		ec = haven__agt_out_fail(&r->a->out, HAVEN_ECORRUPT, 1,
		    "msg_id",
		    NULL, "the stored envelope does not decode");
	} else if (!haven_header_has_recipient(&r->orig->hdr,
	    r->a->cfg.agency)) {
		/* verified on receipt implies addressed to us; a store from
		 * another agency's data_dir must not be read as ours */
		ec = haven__agt_out_fail(&r->a->out, HAVEN_EINVAL, 2, "msg_id",
		    NULL, "the message is not addressed to %s",
		    r->a->cfg.agency);
	}
	haven__agt_inbox_rec_release(&rec);
	return (ec);
}

static void
print_text(const reading *r, bool sent, const char *status)
{
	const haven__wait *w = &r->wait;
	char hex[33], at[40];

	(void) printf("%s marked read at %s (%s)\n", haven__agt_idhex(hex,
	    r->id), haven__agt_timestr(at, sizeof(at), r->read_ms), r->role);
	if (haven__agt_is_duty_copy(&r->orig->hdr, r->a->cfg.agency)) {
		(void) printf("holiday duty copy: no read receipt is sent (the "
		    "deadline is %s's own)\n", r->orig->hdr.recipients[0]);
	}
	if (!sent) {
		return;
	}
	(void) printf("read receipt %s to %s: %s", haven__agt_idhex(hex,
	    w->msg_id), r->orig->hdr.sender, status);
	if (w->state == HAVEN__W_RECEIPTED) {
		(void) printf(" audit_seq=%llu",
		    (unsigned long long) w->receipt.audit_seq);
	} else if (w->state == HAVEN__W_REJECTED) {
		(void) printf(" %s rule=%s: %s",
		    haven_err_name((haven_err) w->reject.code), w->reject.rule,
		    w->reject.reason);
	}
	(void) printf("\n");
}

static int
report(const reading *r, bool sent)
{
	const haven__wait *w = &r->wait;
	char hex[33], ohex[33];
	const char *status = !sent ? "none" : w->state == HAVEN__W_RECEIPTED ?
	    "receipted" : w->state == HAVEN__W_REJECTED ? "rejected" :
	    "pending";

	if (r->a->out.json) {
		haven__agt_out_json(json_pack("{s:b, s:s, s:s, s:s, s:o, s:o, "
		    "s:s, s:o, s:I, s:o, s:s, s:s}", "ok", !sent ||
		    w->state == HAVEN__W_RECEIPTED, "command", "read", "msg_id",
		    haven__agt_idhex(ohex, r->id), "reader_role", r->role,
		    "read_at", haven__agt_json_time(r->read_ms),
		    "receipt_msg_id", sent ?
		    json_string(haven__agt_idhex(hex, w->msg_id)) : json_null(),
		    "status", status, "accepted", haven__agt_json_time(
		    w->state == HAVEN__W_RECEIPTED ? w->receipt.accepted_ms :
		    0), "audit_seq", (json_int_t) w->receipt.audit_seq,
		    "reject_code",
		    w->state == HAVEN__W_REJECTED ? json_string(haven_err_name(
		    (haven_err) w->reject.code)) : json_null(), "reject_rule",
		    w->reject.rule, "reject_reason", w->reject.reason));
	} else {
		print_text(r, sent, status);
	}
	if (sent && w->state == HAVEN__W_REJECTED) {
		return (2);
	}
	return (sent && w->state != HAVEN__W_RECEIPTED ? 1 : 0);
}

static int
mark_and_send(reading *r, const haven__args *args)
{
	haven__outbox_item item = { r->wait.msg_id, r->env, r->env_len };
	bool m3 = takes_receipt(&r->orig->hdr, r->a->cfg.agency);
	haven__session sess;
	haven_err rv;

	rv = haven__agt_store_inbox_mark_read(r->a->store, r->id, r->read_ms,
	    args->reader, args->role, m3 ? &item : NULL);
	if (rv == HAVEN_EEXIST) {
		return (haven__agt_out_fail(&r->a->out, rv, 2, "msg_id", NULL,
		    "already marked read; no second receipt is sent"));
	}
	if (rv != HAVEN_OK) {
		return (haven__agt_out_fail(&r->a->out, rv, 1, "data_dir", NULL,
		    "cannot record the read"));
	}
	if (m3 && (rv = haven__agent_connect(r->a)) == HAVEN_OK) {
		haven__agt_session_init(&sess, r->a, false, &r->wait, 1);
		rv = haven__agt_send_and_wait(&sess, r->a->cfg.timeout_ms);
	}
	if (rv != HAVEN_OK && rv != HAVEN_ETIMEDOUT) {
		haven__agt_log("HAVEN-AGT-SEND", "code=%s", haven_err_name(rv));
	}
	return (report(r, m3));
}

static int
check_opts(haven__agent *a, const haven__args *args)
{
	if (args->reader == NULL ||
	    !haven__agt_reader_ref_valid(args->reader)) {
		return (haven__agt_out_fail(&a->out, HAVEN_EINVAL, 2, "reader",
		    NULL,
		    "a staff reference of 1-63 letters, digits, '.', '_' or "
		    "'-' is required (not a name)"));
	}
	if (args->role == NULL || !haven__agt_reader_role_valid(args->role)) {
		return (haven__agt_out_fail(&a->out, HAVEN_EINVAL, 2, "role",
		    NULL, "--role is required: DSL (designated safeguarding "
		    "lead), DDSL (deputy DSL) or EHE-OFFICER"));
	}
	return (0);
}

int
haven__agt_cmd_read(haven__agent *a, const haven__args *args)
{
	reading r;
	char err[256] = "";
	haven_err rv;
	int ec;

	memset(&r, 0, sizeof(r));
	r.a = a;
	if ((ec = check_opts(a, args)) != 0) {
		return (ec);
	}
	r.role = args->role;
	if (haven__agt_args_msgid(args->pos[1], r.id) != HAVEN_OK) {
		return (haven__agt_out_fail(&a->out, HAVEN_EINVAL, 2, "msg_id",
		    NULL,
		    "must be 32 hex digits"));
	}
	r.read_ms = haven__now_ms();
	if ((ec = load_orig(&r)) == 0) {
		if (takes_receipt(&r.orig->hdr, a->cfg.agency) &&
		    (rv = build_m3(&r, args, err, sizeof(err))) != HAVEN_OK) {
			ec = haven__agt_out_fail(&a->out, rv, 1, "recipient",
			    NULL,
			    "cannot seal the read receipt: %s",
			    err[0] != '\0' ? err : haven_strerror(rv));
		} else {
			ec = mark_and_send(&r, args);
		}
	}
	haven_envelope_destroy(&r.orig);
	free(r.env);
	return (ec);
}
