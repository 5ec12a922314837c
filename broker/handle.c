/*
 * broker/handle.c: what the broker does with each frame an agent sends.
 *
 * Identity is the ZAP User-Id of the payload frame only (never the routing
 * id or any field the peer sets), and it is re-checked against the CURRENT
 * directory on every frame, with the key generation the connection was
 * authenticated with: a revoked agency, or a connection whose key has been
 * retired by a rotation, gets an Error (EREVOKED) and nothing it sends is
 * accepted, even on a connection opened before the change. Frames are
 * dispatched through a {kind, handler} table; kinds an agent must not send
 * are answered with an Error.
 *
 * Routing ids: the broker sends deliveries to a session's routing id, so
 * that id must never pass to another agency. libzmq gives each connection a
 * fresh, unpredictable 5-byte id starting with a zero byte, unless the peer
 * chooses its own (ZMQ_ROUTING_ID). A chosen id can be re-used by another
 * agency once its owner disconnects, and would receive the owner's
 * deliveries until the session expired, so frames on a peer-chosen id are
 * refused (EAUTH, rule "routing-id") and never create a session. A frame
 * that shows a session's routing id now carries another identity drops
 * that session at once.
 */
#include <stdio.h>
#include <string.h>

#include "admit.h"
#include "haven/envelope.h"
#include "log.h"
#include "loop.h"
#include "util.h"

/* A Credit reports at most this many queued messages ("at least N"): a
 * Hello must not cost a walk of a whole, possibly huge, queue. */
#define HAVEN_CREDIT_REPORT_MAX 4096

typedef haven_err (*handler_fn)(haven_pass_ctx *p, haven_item *it,
    const haven_frame *f);

haven_err
haven__send_error(haven_broker *b, const uint8_t *rid, size_t rid_len,
    haven_err code, const char *reason)
{
	haven_frame f;

	memset(&f, 0, sizeof(f));
	f.kind = HAVEN_FRAME_ERROR;
	f.error_code = (uint32_t) code;
	haven__bcopy(f.error_reason, sizeof(f.error_reason), reason);
	return (haven__outbox_add(&b->out, rid, rid_len, &f));
}

static haven_err
reply(haven_pass_ctx *p, haven_item *it, const haven_frame *f)
{
	return (haven__outbox_add(&p->b->out, it->rid, it->rid_len, f));
}

/* Hello. On a new connection (a restarted agent) the agency's backoff is
 * reset so its mail comes at once; a repeated Hello (agents send one every
 * second while idle) only updates the credit. */
static haven_err
on_hello(haven_pass_ctx *p, haven_item *it, const haven_frame *f)
{
	haven_sessions *ss = &p->b->sessions;
	haven_session *s = haven__sessions_find(ss, it->rid, it->rid_len);
	bool fresh = s == NULL || strcmp(s->agency, it->identity) != 0;
	haven_frame c;
	uint64_t n = 0;
	haven_err rv;

	if ((rv = haven__sessions_hello(ss, it->rid, it->rid_len,
	    it->identity, it->gen, f->credit, p->mono_ms, &s)) != HAVEN_OK) {
		return (rv == HAVEN_ENOMEM ? rv : HAVEN_OK);
	}
	if (fresh) {
		haven__sessions_reset(ss, s, p->mono_ms,
		    p->b->cfg.redeliver_ms);
	}
	if ((rv = haven__store_queue_count(p->b->store, p->txn, it->identity,
	    HAVEN_CREDIT_REPORT_MAX, &n)) != HAVEN_OK) {
		return (rv);
	}
	memset(&c, 0, sizeof(c));
	c.kind = HAVEN_FRAME_CREDIT;
	c.credit = n > UINT32_MAX ? UINT32_MAX : (uint32_t) n;
	return (reply(p, it, &c));
}

/* Degraded pass: refuse without touching the store. */
static haven_err
refuse_submit(haven_pass_ctx *p, haven_item *it, const haven_frame *f)
{
	haven_envelope *env = NULL;
	haven_frame r;
	char hex[2 * HAVEN_MSGID_BYTES + 1] = "-";

	memset(&r, 0, sizeof(r));
	r.kind = HAVEN_FRAME_REJECT;
	r.reject.code = (uint32_t) p->refuse_code;
	(void) snprintf(r.reject.reason, sizeof(r.reject.reason),
	    "broker store unavailable: try again later");
	if (haven_envelope_decode(&env, f->envelope, f->envelope_len) ==
	    HAVEN_OK) {
		memcpy(r.reject.msg_id, env->hdr.msg_id, HAVEN_MSGID_BYTES);
		haven__msgid_hex(hex, env->hdr.msg_id);
		haven_envelope_destroy(&env);
	}
	haven__blog("HAVEN-BRK-REJECT", "code=%s rule=- sender=%s msg=%s",
	    haven_err_name(p->refuse_code), it->identity, hex);
	return (reply(p, it, &r));
}

static haven_err
on_submit(haven_pass_ctx *p, haven_item *it, const haven_frame *f)
{
	haven_admit_result res;
	haven_frame r;
	haven_err rv;

	if (p->mode != HAVEN_PASS_FULL) {
		return (refuse_submit(p, it, f));
	}
	if ((rv = haven__admit(p->b, p->txn, it->identity, f->envelope,
	    f->envelope_len, p->now_ms, &res)) != HAVEN_OK) {
		return (rv);
	}
	memset(&r, 0, sizeof(r));
	if (res.kind == HAVEN_ADMIT_REJECTED) {
		r.kind = HAVEN_FRAME_REJECT;
		r.reject = res.reject;
	} else {
		r.kind = HAVEN_FRAME_RECEIPT;
		r.receipt = res.receipt;
	}
	if (res.kind == HAVEN_ADMIT_DUPLICATE) {
		char hex[2 * HAVEN_MSGID_BYTES + 1];
		haven__msgid_hex(hex, res.receipt.msg_id);
		haven__blog("HAVEN-BRK-DUPLICATE", "sender=%s msg=%s",
		    it->identity, hex);
	}
	for (size_t i = 0; res.kind == HAVEN_ADMIT_ACCEPTED &&
	    i < res.meta.n_recipients; i++) {
		haven__sessions_wake(&p->b->sessions, res.meta.recipients[i]);
	}
	return (reply(p, it, &r));
}

static haven_err
audit_ack(haven_pass_ctx *p, const char *agency,
    const uint8_t id[HAVEN_MSGID_BYTES])
{
	haven_audit_entry e;
	haven_msgmeta m;

	memset(&e, 0, sizeof(e));
	e.event = HAVEN_AUDIT_ACK;
	haven__bcopy(e.actor, sizeof(e.actor), agency);
	e.has_msg = true;
	memcpy(e.msg_id, id, HAVEN_MSGID_BYTES);
	if (haven__store_msgmeta_get(p->b->store, p->txn, id, &m) ==
	    HAVEN_OK) {
		e.type = m.type;
	}
	e.n_recipients = 1;
	haven__bcopy(e.recipients[0], HAVEN_ID_MAX, agency);
	return (haven__audit(p->b, p->txn, &e, NULL, NULL));
}

static haven_err
on_ack(haven_pass_ctx *p, haven_item *it, const haven_frame *f)
{
	char hex[2 * HAVEN_MSGID_BYTES + 1];
	haven_err rv;

	haven__msgid_hex(hex, f->msg_id);
	if (p->mode == HAVEN_PASS_NOWRITE) {
		haven__blog("HAVEN-BRK-ACK-DEFERRED", "agency=%s msg=%s",
		    it->identity, hex);
		return (HAVEN_OK);
	}
	rv = haven__store_ack(p->b->store, p->txn, it->identity, f->msg_id);
	if (rv == HAVEN_ENOTFOUND) {
		/* Duplicates are normal (at-least-once), a flood is not: the
		 * line counts against the agency's refusal budget. */
		if (haven__flood_allow(&p->b->flood, it->identity,
		    (uint32_t) HAVEN_ENOTFOUND, p->mono_ms)) {
			haven__blog("HAVEN-BRK-ACK-IGNORED", "agency=%s msg=%s",
			    it->identity, hex);
		}
		return (HAVEN_OK);
	}
	if (rv != HAVEN_OK || (rv = audit_ack(p, it->identity, f->msg_id)) !=
	    HAVEN_OK) {
		return (rv);
	}
	haven__sessions_settle(&p->b->sessions, it->identity, f->msg_id);
	haven__blog("HAVEN-BRK-ACK", "agency=%s msg=%s", it->identity, hex);
	return (HAVEN_OK);
}

static haven_err
on_heartbeat(haven_pass_ctx *p, haven_item *it, const haven_frame *f)
{
	haven_frame h;

	(void) f;
	memset(&h, 0, sizeof(h));
	h.kind = HAVEN_FRAME_HEARTBEAT;
	h.now_ms = p->now_ms;
	return (reply(p, it, &h));
}

static const struct {
	haven_frame_kind kind;
	handler_fn fn;
} handlers[] = {
	{HAVEN_FRAME_HELLO, on_hello},
	{HAVEN_FRAME_SUBMIT, on_submit},
	{HAVEN_FRAME_ACK, on_ack},
	{HAVEN_FRAME_HEARTBEAT, on_heartbeat},
};

/* A frame refused before dispatch: Error to the peer, REJECT audited. */
static haven_err
refuse_frame(haven_pass_ctx *p, haven_item *it, haven_err code,
    const char *rule)
{
	haven_reject rj;
	haven_err rv;

	if ((rv = haven__send_error(p->b, it->rid, it->rid_len, code,
	    "frame refused")) != HAVEN_OK) {
		return (rv);
	}
	memset(&rj, 0, sizeof(rj));
	rj.code = (uint32_t) code;
	haven__bcopy(rj.rule, sizeof(rj.rule), rule);
	if (p->mode == HAVEN_PASS_NOWRITE) {
		return (HAVEN_OK);
	}
	return (haven__admit_audit_reject(p->b, p->txn, it->identity, &rj,
	    NULL, false));
}

/* Identity gate: known, active agency in the current directory, on a
 * connection made with a key generation that is not retired. */
static bool
identity_ok(haven_pass_ctx *p, haven_item *it, haven_err *code)
{
	if (it->identity[0] == '\0') {
		*code = HAVEN_EAUTH;
		return (false);
	}
	if (!haven__identity_allowed(p->b->dir, it->identity, it->gen)) {
		*code = HAVEN_EREVOKED;
		return (false);
	}
	return (true);
}

/* libzmq's own routing ids are 5 bytes: a zero byte, then a counter that
 * starts at a random value. Anything else was chosen by the peer. */
static bool
rid_ok(const haven_item *it)
{
	return (it->rid_len == 5 && it->rid[0] == 0x00);
}

static void
touch(haven_pass_ctx *p, haven_item *it)
{
	haven_sessions *ss = &p->b->sessions;

	for (size_t i = 0; i < ss->n; i++) {
		haven_session *s = ss->v[i];
		if (s->rid_len != it->rid_len ||
		    memcmp(s->rid, it->rid, it->rid_len) != 0) {
			continue;
		}
		if (strcmp(s->agency, it->identity) == 0) {
			s->last_seen_ms = p->mono_ms;
		} else {
			/* Its connection is gone: another agency holds the
			 * routing id now. Never deliver to it again. */
			haven__blog("HAVEN-BRK-RID-REUSED", "was=%s now=%s",
			    s->agency, it->identity);
			haven__sessions_drop(ss, i);
		}
		return;
	}
}

static haven_err
dispatch(haven_pass_ctx *p, haven_item *it, const haven_frame *f)
{
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
		if (handlers[i].kind == f->kind) {
			return (handlers[i].fn(p, it, f));
		}
	}
	return (refuse_frame(p, it, HAVEN_EINVAL, "frame"));
}

haven_err
haven__handle_item(haven_pass_ctx *p, haven_item *it)
{
	size_t len = zmq_msg_size(&it->msg);
	haven_frame f;
	haven_err code, rv;

	if (!identity_ok(p, it, &code)) {
		/* Not audited one by one (nothing is accepted from it), but
		 * a revoked peer's flood is counted and summarised. */
		if (it->identity[0] == '\0' || haven__flood_allow(&p->b->flood,
		    it->identity, (uint32_t) code, p->mono_ms)) {
			haven__blog("HAVEN-BRK-DENIED", "code=%s agency=%s",
			    haven_err_name(code),
			    it->identity[0] ? it->identity : "-");
		}
		return (haven__send_error(p->b, it->rid, it->rid_len, code,
		    "not authorised"));
	}
	touch(p, it);
	if (!rid_ok(it)) {
		return (refuse_frame(p, it, HAVEN_EAUTH, "routing-id"));
	}
	/* Issue 3: when each agency was last connected (deadline.h). Only
	 * in a full pass: a degraded one must not write more than it must. */
	if (p->mode == HAVEN_PASS_FULL && (rv = haven__deadline_seen(p->b,
	    p->txn, it->identity, p->now_ms)) != HAVEN_OK) {
		return (rv);
	}
	if (it->bad_parts) {
		return (refuse_frame(p, it, HAVEN_EDECODE, "frame"));
	}
	if (len > p->b->cfg.max_frame_bytes) {
		return (refuse_frame(p, it, HAVEN_EMSGSIZE, "frame"));
	}
	rv = haven_frame_decode(&f, zmq_msg_data(&it->msg), len);
	if (rv == HAVEN_ENOMEM) {
		return (rv);
	}
	if (rv != HAVEN_OK) {
		return (refuse_frame(p, it, rv, "frame"));
	}
	rv = dispatch(p, it, &f);
	haven_frame_release(&f);
	return (rv);
}
