/*
 * broker/admit.c: the admission pipeline for one Submit.
 *
 * Order (DESIGN §6, docs/architecture.md): decode; header sender equals the
 * authenticated identity; sender agency active and key generation known and
 * not retired; signature and view hashes; dedup (identical bytes -> the
 * original receipt, other bytes -> EREPLAY); created time within the
 * policy's skew; sequence recorded (gaps logged, never refused); the signed
 * policy for every recipient (all or nothing); the OE_RECEIPT rule of
 * decision 2 (and its reader_role tag); the deadline rules of issue 3
 * (broker/deadline.h); the MARAC criteria and consent state of issue 4
 * (broker/marac.h). Dedup comes before the skew check so that an agent
 * retrying long after a crash still gets its original receipt.
 *
 * haven__admit_store is the one way an envelope enters the store, for
 * submissions and for the broker's own escalations (broker/escalate.c).
 *
 * Threat assumptions: everything in the envelope is attacker-controlled
 * until the signature verifies, so a refusal before that point audits only
 * the message id, never header strings a forger chose.
 */
#include "admit.h"

#include <stdio.h>
#include <string.h>

#include "deadline.h"
#include "marac.h"
#include "haven/envelope.h"
#include "haven/policy.h"
#include "log.h"
#include "util.h"

#define RULE_RECEIPT "receipt"

typedef struct admit {
	haven_broker *b;
	MDB_txn *txn;
	const char *identity;
	haven_envelope *env;
	const uint8_t *bytes;
	size_t len;
	uint8_t env_hash[HAVEN_HASH_BYTES];
	int64_t now_ms;
	bool verified;
	haven_msgmeta orig; /* OE_RECEIPT: the original message */
	haven_admit_result *res;
} admit;

static void
refuse(admit *a, haven_err code, const char *rule, const char *reason)
{
	haven_reject *rj = &a->res->reject;

	a->res->kind = HAVEN_ADMIT_REJECTED;
	rj->code = (uint32_t) code;
	haven__bcopy(rj->rule, sizeof(rj->rule), rule);
	haven__bcopy(rj->reason, sizeof(rj->reason), reason);
}

static bool
decided(const admit *a)
{
	return (a->res->kind != HAVEN_ADMIT_PENDING);
}

static void
check_sender(admit *a)
{
	const haven_header *h = &a->env->hdr;
	const haven_agency *ag;
	const haven_agency_key *k;

	if (strcmp(h->sender, a->identity) != 0) {
		refuse(a, HAVEN_EIDENTITY, "",
		    "header sender is not the connected agency");
		return;
	}
	if ((ag = haven_directory_find(a->b->dir, h->sender)) == NULL) {
		refuse(a, HAVEN_EUNKNOWN, "", "sender not in the directory");
	} else if (ag->revoked) {
		refuse(a, HAVEN_EREVOKED, "", "sender revoked");
	} else if ((k = haven_agency_key_gen(ag, h->sender_gen)) == NULL) {
		refuse(a, HAVEN_EUNKNOWN, "", "sender key generation unknown");
	} else if (k->retired) {
		refuse(a, HAVEN_EREVOKED, "", "sender key generation retired");
	}
}

static void
check_sig(admit *a)
{
	haven_err rv = haven_envelope_verify(a->env, a->b->dir);

	if (rv == HAVEN_OK) {
		a->verified = true;
	} else if (rv == HAVEN_EUNKNOWN) {
		refuse(a, HAVEN_EUNKNOWN, "", "sender key not found");
	} else {
		refuse(a, HAVEN_ESIG, "", "signature or view hash invalid");
	}
}

static haven_err
check_dedup(admit *a)
{
	uint8_t old_hash[HAVEN_HASH_BYTES];
	haven_err rv;

	rv = haven__store_dedup_get(a->b->store, a->txn, a->env->hdr.msg_id,
	    old_hash, &a->res->receipt);
	if (rv == HAVEN_ENOTFOUND) {
		return (HAVEN_OK);
	}
	if (rv == HAVEN_ECORRUPT) {
		refuse(a, HAVEN_EIO, "", "stored record unreadable");
		return (HAVEN_OK);
	}
	if (rv != HAVEN_OK) {
		return (rv);
	}
	if (memcmp(old_hash, a->env_hash, HAVEN_HASH_BYTES) == 0) {
		a->res->kind = HAVEN_ADMIT_DUPLICATE;
	} else {
		refuse(a, HAVEN_EREPLAY, "", "message id already used");
	}
	return (HAVEN_OK);
}

static void
check_skew(admit *a)
{
	int64_t skew = haven_policy_skew_ms(a->b->policy);
	int64_t created = a->env->hdr.created_ms;

	if (created < a->now_ms - skew || created > a->now_ms + skew) {
		refuse(a, HAVEN_ESKEW, "", "created time outside allowed skew");
	}
}

static haven_err
record_seq(admit *a)
{
	const haven_header *h = &a->env->hdr;
	uint64_t prev = 0;
	haven_err rv;

	rv = haven__store_seq_record(a->b->store, a->txn, h->sender, h->seq,
	    &prev);
	if (rv == HAVEN_OK && prev != 0 && h->seq > prev + 1) {
		haven__blog("HAVEN-BRK-SEQGAP",
		    "sender=%s last=%llu got=%llu", h->sender,
		    (unsigned long long) prev, (unsigned long long) h->seq);
	}
	return (rv == HAVEN_ECORRUPT ? HAVEN_OK : rv);
}

static void
check_policy(admit *a)
{
	haven_policy_decision d;
	char reason[HAVEN_REASON_MAX + HAVEN_ID_MAX + 16];

	memset(&d, 0, sizeof(d));
	if (haven_policy_check_header(a->b->policy, a->b->dir, &a->env->hdr,
	    &d) == HAVEN_OK) {
		return;
	}
	(void) snprintf(reason, sizeof(reason), "recipient %s: %s",
	    d.recipient[0] != '\0' ? d.recipient : "-", d.reason);
	refuse(a, HAVEN_EPOLICY, d.rule[0] != '\0' ? d.rule : "default-deny",
	    reason);
}

/* The reader's role a receipt names in its "reader_role" tag ("" if
 * none: agents before issue 3). Checked by check_receipt. */
static const char *
reader_role(const haven_header *h)
{
	const char *r = haven_header_tag(h, "reader_role");

	return (r != NULL ? r : "");
}

static bool
role_valid(const char *r)
{
	return (r[0] == '\0' || strcmp(r, "DSL") == 0 ||
	    strcmp(r, "DDSL") == 0 || strcmp(r, "EHE-OFFICER") == 0);
}

/* Issue 3: the notification's deadline, forged broker escalations. */
static void
check_deadline(admit *a)
{
	char rule[32] = "", reason[HAVEN_REASON_MAX] = "";

	if (haven__deadline_check(a->b, &a->env->hdr, a->now_ms, rule,
	    reason) != HAVEN_OK) {
		refuse(a, HAVEN_EPOLICY, rule, reason);
	}
}

/* Issue 4: MARAC criteria on the header and the case's consent state. */
static haven_err
check_marac(admit *a)
{
	haven_policy_decision d;
	bool refused = false;
	haven_err rv;

	rv = haven__marac_check(a->b, a->txn, &a->env->hdr, a->now_ms, &d,
	    &refused);
	if (rv == HAVEN_OK && refused) {
		refuse(a, HAVEN_EPOLICY, d.rule, d.reason);
	}
	return (rv);
}

static bool
meta_has(const haven_msgmeta *m, const char *id)
{
	for (size_t i = 0; i < m->n_recipients; i++) {
		if (strcmp(m->recipients[i], id) == 0) {
			return (true);
		}
	}
	return (false);
}

/* docs/architecture.md decision 2: a read receipt answers one message. */
static haven_err
check_receipt(admit *a)
{
	const haven_header *h = &a->env->hdr;
	haven_err rv;

	if (h->type != HAVEN_MSG_OE_RECEIPT) {
		return (HAVEN_OK);
	}
	if (!h->has_reply_to) {
		refuse(a, HAVEN_EPOLICY, RULE_RECEIPT,
		    "receipt without in_reply_to");
		return (HAVEN_OK);
	}
	rv = haven__store_msgmeta_get(a->b->store, a->txn, h->in_reply_to,
	    &a->orig);
	if (rv == HAVEN_ENOTFOUND || rv == HAVEN_ECORRUPT) {
		refuse(a, HAVEN_EPOLICY, RULE_RECEIPT,
		    "receipt for an unknown message");
		return (HAVEN_OK);
	}
	if (rv != HAVEN_OK) {
		return (rv);
	}
	if (!meta_has(&a->orig, h->sender)) {
		refuse(a, HAVEN_EPOLICY, RULE_RECEIPT,
		    "sender was not a recipient of the original");
	} else if (h->n_recipients != 1 ||
	    strcmp(h->recipients[0], a->orig.sender) != 0) {
		refuse(a, HAVEN_EPOLICY, RULE_RECEIPT,
		    "receipt must go to the original sender only");
	} else if (!role_valid(reader_role(h))) {
		refuse(a, HAVEN_EPOLICY, RULE_RECEIPT,
		    "reader_role is not DSL, DDSL or EHE-OFFICER");
	}
	return (HAVEN_OK);
}

/* The READ audit entry of decision 2, about the original message. */
static haven_err
audit_read(admit *a)
{
	const haven_header *h = &a->env->hdr;
	haven_audit_entry e;
	char hex[2 * HAVEN_MSGID_BYTES + 1];

	memset(&e, 0, sizeof(e));
	e.event = HAVEN_AUDIT_READ;
	haven__bcopy(e.actor, sizeof(e.actor), h->sender);
	e.has_msg = true;
	memcpy(e.msg_id, h->in_reply_to, HAVEN_MSGID_BYTES);
	e.type = a->orig.type;
	e.n_recipients = 1;
	haven__bcopy(e.recipients[0], HAVEN_ID_MAX, a->orig.sender);
	haven__msgid_hex(hex, h->msg_id);
	(void) snprintf(e.reason, sizeof(e.reason), "receipt=%s role=%s", hex,
	    reader_role(h)[0] != '\0' ? reader_role(h) : "-");
	return (haven__audit(a->b, a->txn, &e, NULL, NULL));
}

static void
meta_from_header(haven_msgmeta *m, const haven_header *h)
{
	memset(m, 0, sizeof(*m));
	haven__bcopy(m->sender, sizeof(m->sender), h->sender);
	m->type = h->type;
	m->n_recipients = h->n_recipients;
	for (size_t i = 0; i < h->n_recipients; i++) {
		haven__bcopy(m->recipients[i], HAVEN_ID_MAX, h->recipients[i]);
	}
}

haven_err
haven__admit_store(haven_broker *b, MDB_txn *txn, const haven_header *h,
    const uint8_t *bytes, size_t len, const uint8_t env_hash[HAVEN_HASH_BYTES],
    int64_t now_ms, haven_receipt *r, haven_msgmeta *meta)
{
	haven_audit_entry e;
	char hex[2 * HAVEN_MSGID_BYTES + 1];
	haven_err rv;

	memset(&e, 0, sizeof(e));
	haven__audit_from_header(&e, h);
	e.event = HAVEN_AUDIT_SUBMIT;
	(void) snprintf(e.reason, sizeof(e.reason), "accepted");
	memset(r, 0, sizeof(*r));
	if ((rv = haven__audit(b, txn, &e, &r->audit_seq, r->entry_hash)) !=
	    HAVEN_OK) {
		return (rv);
	}
	memcpy(r->msg_id, h->msg_id, HAVEN_MSGID_BYTES);
	r->accepted_ms = now_ms;
	memcpy(r->envelope_hash, env_hash, HAVEN_HASH_BYTES);
	haven_receipt_sign(r, b->keys);
	meta_from_header(meta, h);
	if ((rv = haven__store_put_msg(b->store, txn, h->msg_id, meta, bytes,
	    len, env_hash, r)) != HAVEN_OK) {
		return (rv == HAVEN_EEXIST ? HAVEN_ECORRUPT : rv);
	}
	haven__msgid_hex(hex, h->msg_id);
	haven__blog("HAVEN-BRK-ACCEPT", "sender=%s msg=%s type=%s audit=%llu",
	    h->sender, hex, haven_msg_type_name(h->type),
	    (unsigned long long) r->audit_seq);
	return (HAVEN_OK);
}

/* What issues 3 and 4 add after storing: a notification's deadline
 * record, a receipt's effect on it; a case's consent decision. */
static haven_err
after_store(admit *a)
{
	const haven_header *h = &a->env->hdr;
	haven_err rv;

	if (h->type == HAVEN_MSG_OE_NOTIFICATION) {
		return (haven__deadline_record(a->b, a->txn, h, a->now_ms));
	}
	if (h->type != HAVEN_MSG_OE_RECEIPT) {
		return (haven__marac_accepted(a->b, a->txn, h));
	}
	if ((rv = audit_read(a)) != HAVEN_OK ||
	    a->orig.type != HAVEN_MSG_OE_NOTIFICATION) {
		return (rv);
	}
	return (haven__deadline_receipt(a->b, a->txn, h->in_reply_to,
	    h->sender, reader_role(h), a->now_ms));
}

static haven_err
accept_msg(admit *a)
{
	const haven_header *h = &a->env->hdr;
	haven_err rv;

	if ((rv = haven__admit_store(a->b, a->txn, h, a->bytes, a->len,
	    a->env_hash, a->now_ms, &a->res->receipt, &a->res->meta)) !=
	    HAVEN_OK || (rv = after_store(a)) != HAVEN_OK) {
		return (rv);
	}
	a->res->kind = HAVEN_ADMIT_ACCEPTED;
	return (HAVEN_OK);
}

/* Steps after decoding; returns a store error or OK with a decision. */
static haven_err
pipeline(admit *a)
{
	haven_err rv;

	check_sender(a);
	if (!decided(a)) {
		check_sig(a);
	}
	if (!decided(a) && (rv = check_dedup(a)) != HAVEN_OK) {
		return (rv);
	}
	if (!decided(a)) {
		check_skew(a);
	}
	if (!decided(a) && (rv = record_seq(a)) != HAVEN_OK) {
		return (rv);
	}
	if (!decided(a)) {
		check_policy(a);
	}
	if (!decided(a) && (rv = check_receipt(a)) != HAVEN_OK) {
		return (rv);
	}
	if (!decided(a)) {
		check_deadline(a);
	}
	if (!decided(a) && (rv = check_marac(a)) != HAVEN_OK) {
		return (rv);
	}
	if (!decided(a)) {
		return (accept_msg(a));
	}
	return (HAVEN_OK);
}

haven_err
haven__admit_audit_reject(haven_broker *b, MDB_txn *txn,
    const char *identity, const haven_reject *rj,
    const struct haven_header *hdr, bool has_msg)
{
	haven_audit_entry e;
	char hex[2 * HAVEN_MSGID_BYTES + 1] = "-";

	if (!haven__flood_allow(&b->flood, identity, rj->code,
	    haven__mono_ms())) {
		return (HAVEN_OK); /* counted for the summary (flood.h) */
	}
	memset(&e, 0, sizeof(e));
	if (hdr != NULL) {
		haven__audit_from_header(&e, hdr);
	}
	e.event = HAVEN_AUDIT_REJECT;
	haven__bcopy(e.actor, sizeof(e.actor), identity);
	e.has_msg = has_msg;
	memcpy(e.msg_id, rj->msg_id, HAVEN_MSGID_BYTES);
	e.outcome = rj->code;
	(void) snprintf(e.reason, sizeof(e.reason), "%s rule=%s",
	    haven_err_name((haven_err) rj->code),
	    rj->rule[0] != '\0' ? rj->rule : "-");
	if (has_msg) {
		haven__msgid_hex(hex, rj->msg_id);
	}
	haven__blog("HAVEN-BRK-REJECT", "code=%s rule=%s sender=%s msg=%s",
	    haven_err_name((haven_err) rj->code),
	    rj->rule[0] != '\0' ? rj->rule : "-", identity, hex);
	return (haven__audit(b, txn, &e, NULL, NULL));
}

haven_err
haven__admit(haven_broker *b, MDB_txn *txn, const char *identity,
    const uint8_t *env, size_t len, int64_t now_ms, haven_admit_result *res)
{
	admit a;
	haven_err rv;

	memset(res, 0, sizeof(*res));
	memset(&a, 0, sizeof(a));
	a.b = b;
	a.txn = txn;
	a.identity = identity;
	a.bytes = env;
	a.len = len;
	a.now_ms = now_ms;
	a.res = res;
	haven_hash(a.env_hash, env, len);
	rv = haven_envelope_decode(&a.env, env, len);
	if (rv == HAVEN_ENOMEM) {
		return (rv);
	}
	if (rv != HAVEN_OK) {
		refuse(&a, rv, "", "envelope does not decode");
		rv = HAVEN_OK;
	} else {
		memcpy(res->reject.msg_id, a.env->hdr.msg_id,
		    HAVEN_MSGID_BYTES);
		rv = pipeline(&a);
	}
	if (rv == HAVEN_OK && res->kind == HAVEN_ADMIT_REJECTED) {
		/* Only a verified header's fields go into the audit. */
		rv = haven__admit_audit_reject(b, txn, identity, &res->reject,
		    a.verified ? &a.env->hdr : NULL, a.env != NULL);
	}
	haven_envelope_destroy(&a.env);
	return (rv);
}
