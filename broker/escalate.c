/*
 * broker/escalate.c: the broker's own M4 escalations (escalate.h).
 *
 * The broker is an agency of the directory ("broker", role BRK) with
 * signing and box keys like any other. An escalation is sealed with those
 * keys, so recipients verify it as they verify any envelope, and then
 * goes the way of every submission: haven_policy_check_header (the signed
 * policy must allow BRK -> POL/EDU/LA OE_ESCALATION), haven__admit_store
 * (SUBMIT audit, signed receipt, message, queues), delivery by the loop.
 * Nothing here trusts a peer: recipients come from the signed directory
 * and policy, times from the broker's clock.
 *
 * A refused escalation (nobody to send it to, a recipient key that cannot
 * be sealed to, a policy that does not allow it) must not stop the loop or
 * be retried for ever: it is logged and audited as a REJECT by "broker"
 * about the notification, and the caller moves on.
 */
#include "escalate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit.h"
#include "haven/encompass.h"
#include "haven/envelope.h"
#include "haven/policy.h"
#include "log.h"
#include "util.h"

#define ESC_LEGAL_BASIS "DAA2021-S49A"
#define ESC_PURPOSE "operation-encompass"
#define ESC_PROFILE "oe.escalation"
#define ESC_RCPT_MAX 2

typedef struct esc_rcpts {
	size_t n;
	char id[ESC_RCPT_MAX][HAVEN_ID_MAX];
} esc_rcpts;

static bool
closure(const haven_esc *e)
{
	return (strcmp(e->reason, HAVEN_OE_REASON_CLOSED) == 0);
}

static const haven_agency *
active(const haven_directory *dir, const char *id)
{
	const haven_agency *a = id != NULL ? haven_directory_find(dir, id) :
	    NULL;

	return (a != NULL && !a->revoked ? a : NULL);
}

static void
add(esc_rcpts *r, const char *id)
{
	for (size_t i = 0; i < r->n; i++) {
		if (strcmp(r->id[i], id) == 0) {
			return;
		}
	}
	if (r->n < ESC_RCPT_MAX) {
		haven__bcopy(r->id[r->n++], HAVEN_ID_MAX, id);
	}
}

/* The SPOC: the sender's "spoc" attr, else the sender itself. */
static const char *
spoc_of(const haven_directory *dir, const char *sender)
{
	const haven_agency *s = haven_directory_find(dir, sender);
	const char *spoc = s != NULL ? haven_agency_attr(s, "spoc") : NULL;

	if (active(dir, spoc) != NULL) {
		return (spoc);
	}
	return (active(dir, sender) != NULL ? sender : NULL);
}

/* The first available secondary contact the policy names. */
static const char *
secondary_of(const struct haven_broker *b, const char *school)
{
	const haven_policy_encompass *s =
	    haven_policy_encompass_settings(b->policy);
	const haven_agency *sa = haven_directory_find(b->dir, school);
	const haven_agency *la;
	const char *id;

	for (size_t i = 0; sa != NULL && i < s->n_secondary; i++) {
		id = NULL;
		if (strcmp(s->secondary[i], "deputy") == 0) {
			id = haven_agency_attr(sa, "deputy");
		} else if (strcmp(s->secondary[i], "la-education") == 0 &&
		    (la = active(b->dir, haven_agency_attr(sa,
		    "local_authority"))) != NULL) {
			id = haven_agency_attr(la, "education_safeguarding");
		}
		if (active(b->dir, id) != NULL) {
			return (id);
		}
	}
	return (NULL);
}

static void
recipients(const struct haven_broker *b, const haven_esc *e, esc_rcpts *r)
{
	const char *spoc = spoc_of(b->dir, e->sender);
	const char *second = closure(e) ? NULL : secondary_of(b, e->school);

	memset(r, 0, sizeof(*r));
	if (spoc != NULL) {
		add(r, spoc);
	}
	if (second != NULL) {
		add(r, second);
	}
}

/* Case and subject pseudonyms of the stored notification, if any. */
static void
copy_pseudonyms(struct haven_broker *b, MDB_txn *txn, const haven_esc *e,
    haven_header *h)
{
	haven_envelope *env = NULL;
	const uint8_t *bytes;
	size_t len;

	if (haven__store_msg_get(b->store, txn, e->about, &bytes, &len) !=
	    HAVEN_OK || haven_envelope_decode(&env, bytes, len) != HAVEN_OK) {
		return;
	}
	h->has_case = env->hdr.has_case;
	memcpy(h->case_pseud, env->hdr.case_pseud, HAVEN_HASH_BYTES);
	h->n_subjects = env->hdr.n_subjects;
	memcpy(h->subject_pseuds, env->hdr.subject_pseuds,
	    sizeof(h->subject_pseuds));
	haven_envelope_destroy(&env);
}

static haven_err
fill_header(struct haven_broker *b, MDB_txn *txn, const haven_esc *e,
    const esc_rcpts *r, int64_t now_ms, haven_header *h)
{
	uint64_t seq = 0;
	haven_err rv;

	memset(h, 0, sizeof(*h));
	if ((rv = haven__store_meta_get(b->store, txn, "broker_seq", &seq)) !=
	    HAVEN_OK || (rv = haven__store_meta_put(b->store, txn,
	    "broker_seq", seq + 1)) != HAVEN_OK) {
		return (rv);
	}
	h->seq = seq + 1;
	h->type = HAVEN_MSG_OE_ESCALATION;
	h->n_recipients = r->n;
	memcpy(h->recipients, r->id, sizeof(r->id));
	copy_pseudonyms(b, txn, e, h);
	haven__bcopy(h->legal_basis, sizeof(h->legal_basis), ESC_LEGAL_BASIS);
	haven__bcopy(h->purpose, sizeof(h->purpose), ESC_PURPOSE);
	h->n_tags = 1;
	haven__bcopy(h->tags[0].key, HAVEN_CODE_MAX, "escalation");
	haven__bcopy(h->tags[0].value, HAVEN_TAGVAL_MAX, e->reason);
	h->created_ms = now_ms;
	h->has_reply_to = true;
	memcpy(h->in_reply_to, e->about, HAVEN_MSGID_BYTES);
	return (HAVEN_OK);
}

/* Payload and seal: *out is the serialised envelope; h gets its id. */
static haven_err
seal(struct haven_broker *b, const haven_esc *e, const esc_rcpts *r,
    int64_t now_ms, haven_header *h, uint8_t **out, size_t *out_len)
{
	const char *ids[ESC_RCPT_MAX];
	haven_oe_escalation p;
	haven_view_in v;
	uint8_t *pl = NULL;
	size_t pl_len = 0;
	char err[128] = "";
	haven_err rv;

	memset(&p, 0, sizeof(p));
	haven__bcopy(p.reason, sizeof(p.reason), e->reason);
	memcpy(p.about_msg_id, e->about, HAVEN_MSGID_BYTES);
	haven__bcopy(p.school, sizeof(p.school), e->school);
	p.deadline_ms = e->deadline_ms;
	p.event_ms = now_ms;
	haven__bcopy(p.reader_role, sizeof(p.reader_role), e->reader_role);
	if ((rv = haven_oe_escalation_encode(&p, &pl, &pl_len)) != HAVEN_OK) {
		return (rv);
	}
	for (size_t i = 0; i < r->n; i++) {
		ids[i] = r->id[i];
	}
	v = (haven_view_in){ .profile = ESC_PROFILE, .recipients = ids,
	    .n_recipients = r->n, .payload = pl, .payload_len = pl_len };
	rv = haven_envelope_seal(h, false, &v, 1, b->keys, b->dir, out,
	    out_len, err, sizeof(err));
	free(pl);
	return (rv);
}

/* Logged and audited; never an error for the caller (store errors
 * aside). */
static haven_err
refused(struct haven_broker *b, MDB_txn *txn, const haven_esc *e,
    const esc_rcpts *r, haven_err code, const char *rule)
{
	haven_audit_entry a;
	char hex[2 * HAVEN_MSGID_BYTES + 1];

	haven__msgid_hex(hex, e->about);
	haven__blog("HAVEN-BRK-ESCALATE-REFUSED", "about=%s reason=%s "
	    "school=%s code=%s rule=%s", hex, e->reason, e->school,
	    haven_err_name(code), rule);
	memset(&a, 0, sizeof(a));
	a.event = HAVEN_AUDIT_REJECT;
	haven__bcopy(a.actor, sizeof(a.actor), HAVEN_BROKER_ID);
	a.has_msg = true;
	memcpy(a.msg_id, e->about, HAVEN_MSGID_BYTES);
	a.type = HAVEN_MSG_OE_ESCALATION;
	a.n_recipients = r->n;
	memcpy(a.recipients, r->id, sizeof(r->id));
	a.outcome = (uint32_t) code;
	(void) snprintf(a.reason, sizeof(a.reason), "%s rule=%s "
	    "escalation=%s school=%s", haven_err_name(code), rule, e->reason,
	    e->school);
	return (haven__audit(b, txn, &a, NULL, NULL));
}

/* ESCALATE (or ESCALATE_CLOSED) about the notification. */
static haven_err
audit_escalation(struct haven_broker *b, MDB_txn *txn, const haven_esc *e,
    const haven_header *h)
{
	haven_audit_entry a;
	char hex[2 * HAVEN_MSGID_BYTES + 1];

	memset(&a, 0, sizeof(a));
	haven__audit_from_header(&a, h);
	a.event = closure(e) ? HAVEN_AUDIT_ESCALATE_CLOSED :
	    HAVEN_AUDIT_ESCALATE;
	haven__bcopy(a.actor, sizeof(a.actor), closure(e) ? e->reader :
	    HAVEN_BROKER_ID);
	memcpy(a.msg_id, e->about, HAVEN_MSGID_BYTES);
	a.type = HAVEN_MSG_OE_NOTIFICATION;
	a.deadline_ms = e->deadline_ms;
	a.occurred_ms = e->occurred_ms;
	haven__msgid_hex(hex, h->msg_id);
	if (closure(e)) {
		(void) snprintf(a.reason, sizeof(a.reason), "%s escalation=%s "
		    "role=%s", e->reason, hex, e->reader_role);
	} else {
		(void) snprintf(a.reason, sizeof(a.reason), "%s escalation=%s "
		    "school=%s", e->reason, hex, e->school);
	}
	return (haven__audit(b, txn, &a, NULL, NULL));
}

/* Checked, stored, audited, woken: the M4 is on its way. */
static haven_err
admit_m4(struct haven_broker *b, MDB_txn *txn, const haven_esc *e,
    const esc_rcpts *r, const haven_header *h, const uint8_t *env,
    size_t len, int64_t now_ms)
{
	uint8_t hash[HAVEN_HASH_BYTES];
	char hex[2 * HAVEN_MSGID_BYTES + 1], about[2 * HAVEN_MSGID_BYTES + 1];
	haven_receipt rc;
	haven_msgmeta meta;
	haven_err rv;

	haven_hash(hash, env, len);
	if ((rv = haven__admit_store(b, txn, h, env, len, hash, now_ms, &rc,
	    &meta)) != HAVEN_OK ||
	    (rv = audit_escalation(b, txn, e, h)) != HAVEN_OK) {
		return (rv);
	}
	for (size_t i = 0; i < r->n; i++) {
		haven__sessions_wake(&b->sessions, r->id[i]);
	}
	haven__msgid_hex(hex, h->msg_id);
	haven__msgid_hex(about, e->about);
	haven__blog("HAVEN-BRK-ESCALATE", "reason=%s about=%s msg=%s school=%s "
	    "to=%s%s%s", e->reason, about, hex, e->school, r->id[0],
	    r->n > 1 ? "," : "", r->n > 1 ? r->id[1] : "");
	return (HAVEN_OK);
}

haven_err
haven__escalate(struct haven_broker *b, MDB_txn *txn, const haven_esc *e,
    int64_t now_ms, bool *sent)
{
	haven_policy_decision d;
	haven_header h;
	esc_rcpts r;
	uint8_t *env = NULL;
	size_t len = 0;
	haven_err rv;

	if (sent != NULL) {
		*sent = false;
	}
	recipients(b, e, &r);
	if (r.n == 0) {
		return (refused(b, txn, e, &r, HAVEN_EUNKNOWN, "directory"));
	}
	if ((rv = fill_header(b, txn, e, &r, now_ms, &h)) != HAVEN_OK) {
		return (rv);
	}
	if ((rv = seal(b, e, &r, now_ms, &h, &env, &len)) != HAVEN_OK) {
		return (rv == HAVEN_ENOMEM ? rv :
		    refused(b, txn, e, &r, rv, "seal"));
	}
	memset(&d, 0, sizeof(d));
	if (haven_policy_check_header(b->policy, b->dir, &h, &d) != HAVEN_OK) {
		rv = refused(b, txn, e, &r, HAVEN_EPOLICY, d.rule[0] != '\0' ?
		    d.rule : "default-deny");
	} else if ((rv = admit_m4(b, txn, e, &r, &h, env, len, now_ms)) ==
	    HAVEN_OK && sent != NULL) {
		*sent = true;
	}
	free(env);
	return (rv);
}
