/*
 * agents/deliver.c: the inbox side of a session.
 *
 * For each Deliver: verify the broker's receipt, decode the envelope, check
 * we are a recipient, verify the sender's signature against the directory,
 * open our view and check the payload decodes for its type. Then one
 * fsync'd store transaction, then Ack. So:
 *  - exactly once to the application: the inbox is keyed by msg id; a
 *    redelivery of a stored message is only acknowledged again;
 *  - nothing is acknowledged before it is durable (a crash between store
 *    and ack means a redelivery, which dedups);
 *  - a delivery that fails any check is stored flagged unverified (content
 *    never decrypted into the store), logged HAVEN-AGT-BADSIG, and acked so
 *    it is not redelivered forever; a later verified delivery of the same
 *    id replaces it (a forgery cannot squat on an id);
 *  - except when the sender's key is simply not in our directory (new
 *    agency, rotated key, stale directory): that proves nothing, so it is
 *    neither stored nor acked (HAVEN-AGT-UNKNOWNKEY) and the broker keeps
 *    it until our directory is updated, instead of it being lost;
 *  - the content must agree with the signed header and with us: an M1's
 *    children are our pupils (or we are the holiday duty contact of a
 *    holiday-time M1), an M2's our local authority's, an M3 is about the
 *    message its header replies to and names the role its header tags, an
 *    escalation has the shape its signed sender may send (payload.h);
 *  - the header's incident time must be the content's, and an M1's
 *    deadline no later than the school's next school day computed from
 *    our own directory's calendar (reason=deadline / occurred /
 *    holiday-duty / reader-role in HAVEN-AGT-BADSIG): the broker checks
 *    the deadline against the header alone, only we can see the content.
 * Decrypted payloads are wiped; only the envelope as delivered is stored.
 */
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "haven/envelope.h"
#include "marac_cmd.h"
#include "payload.h"
#include "agent_session.h"
#include "util.h"

typedef struct check {
	haven_envelope *env;
	const char *why; /* NULL when everything verified */
	bool unknown_key; /* sender key not in our directory: cannot judge */
} check;

static const char *
open_and_check(haven__agent *a, const haven_envelope *env)
{
	char profile[HAVEN_CODE_MAX];
	uint8_t *payload = NULL;
	size_t plen = 0;
	const char *why = NULL;

	if (haven_envelope_open(env, a->keys, profile, &payload, &plen) !=
	    HAVEN_OK) {
		return ("open");
	}
	if (haven__agt_payload_verify(&env->hdr, a->cfg.agency, a->dir,
	    payload, plen, &why) != HAVEN_OK && why == NULL) {
		why = "content";
	}
	if (why == NULL && haven__agt_marac_case_check(a, &env->hdr, payload,
	    plen) != HAVEN_OK) {
		why = "case";
	}
	haven__agt_free_wiped(payload, plen);
	return (why);
}

static void
verify(haven__agent *a, const haven_frame *f, check *c)
{
	const haven_receipt *r = &f->receipt;
	haven_err rv;

	if (haven_envelope_decode(&c->env, f->envelope, f->envelope_len) !=
	    HAVEN_OK) {
		c->env = NULL;
		c->why = "decode";
	} else if (haven__agent_receipt_verify(a, r) != HAVEN_OK) {
		c->why = "receipt";
	} else if (memcmp(c->env->hdr.msg_id, r->msg_id,
	    HAVEN_MSGID_BYTES) != 0) {
		c->why = "receipt-mismatch";
	} else if (!haven_header_has_recipient(&c->env->hdr, a->cfg.agency)) {
		c->why = "not-recipient";
	} else if ((rv = haven_envelope_verify(c->env, a->dir)) != HAVEN_OK) {
		c->why = "signature";
		c->unknown_key = rv == HAVEN_EUNKNOWN;
	} else {
		c->why = open_and_check(a, c->env);
	}
}

static haven_err
store(haven__session *s, const uint8_t *id, const haven_frame *f,
    bool verified)
{
	haven__inbox_rec rec;

	memset(&rec, 0, sizeof(rec));
	rec.verified = verified;
	rec.envelope = f->envelope;
	rec.envelope_len = f->envelope_len;
	rec.has_receipt = true;
	rec.receipt = f->receipt;
	rec.received_ms = haven__now_ms();
	return (haven__agt_store_inbox_put(s->a->store, id, &rec));
}

/*
 * Test-only fault: HAVEN_TEST_FAULT=agent-kill-after-store makes the agent
 * die by SIGKILL right after a new record is committed and before its Ack,
 * the one crash window that cannot be hit reliably from outside. It only
 * ever makes the agent crash, never changes what is stored or sent.
 */
static void
fault_after_store(void)
{
	const char *f = getenv("HAVEN_TEST_FAULT");

	if (f != NULL && strcmp(f, "agent-kill-after-store") == 0) {
		(void) raise(SIGKILL);
	}
}

static haven_err
ack(haven__session *s, const uint8_t *id, const uint8_t *rid)
{
	haven_err rv = haven__agt_client_ack(s->a->cl, id);

	if (rv == HAVEN_OK && memcmp(id, rid, HAVEN_MSGID_BYTES) != 0) {
		rv = haven__agt_client_ack(s->a->cl, rid);
	}
	return (rv);
}

/* Count the outcome, then acknowledge: the record is durable by now. */
static void
settled(haven__session *s, haven_err rv, const check *c, const uint8_t *id,
    const haven_frame *f)
{
	char hex[33];

	if (rv == HAVEN_EEXIST) {
		s->duplicates++;
	} else if (c->why != NULL) {
		s->unverified++;
	} else {
		s->delivered++;
		haven__agt_log("HAVEN-AGT-INBOX", "msg=%s type=%s from=%s",
		    haven__agt_idhex(hex, id),
		    haven_msg_type_name(c->env->hdr.type), c->env->hdr.sender);
	}
	if (ack(s, id, f->receipt.msg_id) != HAVEN_OK) {
		haven__agt_log("HAVEN-AGT-ACKFAIL", "msg=%s",
		    haven__agt_idhex(hex, id));
	}
}

/*
 * The sender or its key generation is not in our directory (a new agency,
 * a rotated key, our directory older than the broker's): that is not
 * proof of forgery, and acking it as unverified would lose a genuine
 * message for good. Leave it unacknowledged, so the broker keeps it and
 * redelivers it once our directory is updated; only a message already in
 * the inbox verified is acknowledged again.
 */
static haven_err
defer_unknown(haven__session *s, const uint8_t *id, const check *c)
{
	bool verified = false, present = false;
	char hex[33];
	haven_err rv;

	rv = haven__agt_store_inbox_has(s->a->store, id, &verified, &present);
	haven__agt_idhex(hex, id);
	if (rv == HAVEN_OK && verified) {
		s->duplicates++;
		if (haven__agt_client_ack(s->a->cl, id) != HAVEN_OK) {
			haven__agt_log("HAVEN-AGT-ACKFAIL", "msg=%s", hex);
		}
		return (HAVEN_OK);
	}
	s->unknown_key++;
	haven__agt_log("HAVEN-AGT-UNKNOWNKEY", "msg=%s from=%s gen=%u", hex,
	    c->env->hdr.sender, (unsigned) c->env->hdr.sender_gen);
	return (rv);
}

haven_err
haven__agt_deliver_on_frame(haven__session *s, const haven_frame *f)
{
	const uint8_t *id = f->receipt.msg_id;
	check c = { NULL, NULL, false };
	char hex[33];
	haven_err rv;

	if (f->envelope == NULL || f->envelope_len == 0) {
		haven__agt_log("HAVEN-AGT-BADFRAME",
		    "deliver without envelope");
		return (HAVEN_OK);
	}
	verify(s->a, f, &c);
	if (c.env != NULL) {
		id = c.env->hdr.msg_id;
	}
	if (c.unknown_key) {
		rv = defer_unknown(s, id, &c);
		haven_envelope_destroy(&c.env);
		return (rv);
	}
	if (c.why != NULL) {
		haven__agt_log("HAVEN-AGT-BADSIG", "msg=%s reason=%s",
		    haven__agt_idhex(hex, id), c.why);
	}
	rv = store(s, id, f, c.why == NULL);
	if (rv == HAVEN_OK) {
		fault_after_store();
	}
	if (rv == HAVEN_OK || rv == HAVEN_EEXIST) {
		settled(s, rv, &c, id, f);
		rv = HAVEN_OK;
	} else {
		s->store_failed++;
		haven__agt_log("HAVEN-AGT-STOREFAIL", "msg=%s code=%s",
		    haven__agt_idhex(hex, id), haven_err_name(rv));
	}
	haven_envelope_destroy(&c.env);
	return (rv);
}
