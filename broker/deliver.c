/*
 * broker/deliver.c: store-and-forward delivery with credit.
 *
 * For each session that may have work and has free credit, walk its
 * agency's durable queue in order, skip what is already in flight on any
 * session of that agency, and plan a Deliver of each message stripped to
 * the views of that agency only (haven_envelope_strip), with the stored
 * receipt. The DELIVER audit entry is written in the same transaction and
 * the frame leaves only after the commit. A message stays queued until the
 * agency acknowledges it; an unacknowledged delivery is sent again after
 * a wait that doubles with each attempt, from redeliver_ms up to
 * redeliver_max_ms (session.h), so delivery is at-least-once, agents
 * de-duplicate by message id, and a recipient that never acknowledges
 * costs the store and the send queues O(log) entries per message, not one
 * per redeliver_ms. The DELIVER entry's reason is "attempt=N" (no personal
 * data).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haven/envelope.h"
#include "log.h"
#include "loop.h"
#include "util.h"

typedef struct walk {
	haven_pass_ctx *p;
	haven_session *s;
	uint32_t room;
	uint32_t planned;
} walk;

static haven_err
audit_deliver(haven_pass_ctx *p, const haven_header *h, const char *to,
    uint32_t attempt)
{
	haven_audit_entry e;

	memset(&e, 0, sizeof(e));
	haven__audit_from_header(&e, h);
	e.event = HAVEN_AUDIT_DELIVER;
	(void) snprintf(e.reason, sizeof(e.reason), "attempt=%u", attempt);
	haven__bcopy(e.actor, sizeof(e.actor), HAVEN_BROKER_ID);
	e.n_recipients = 1;
	memset(e.recipients, 0, sizeof(e.recipients));
	haven__bcopy(e.recipients[0], HAVEN_ID_MAX, to);
	return (haven__audit(p->b, p->txn, &e, NULL, NULL));
}

/* Build the Deliver frame of `env` for agency `to` into the outbox. */
static haven_err
frame_for(haven_pass_ctx *p, haven_session *s, const haven_envelope *env,
    const uint8_t id[HAVEN_MSGID_BYTES])
{
	uint8_t hash[HAVEN_HASH_BYTES];
	uint8_t *view = NULL;
	size_t view_len = 0;
	haven_frame f;
	haven_err rv;

	memset(&f, 0, sizeof(f));
	if ((rv = haven__store_dedup_get(p->b->store, p->txn, id, hash,
	    &f.receipt)) != HAVEN_OK) {
		return (rv);
	}
	if ((rv = haven_envelope_strip(env, s->agency, &view, &view_len)) !=
	    HAVEN_OK) {
		return (rv);
	}
	f.kind = HAVEN_FRAME_DELIVER;
	f.envelope = view;
	f.envelope_len = view_len;
	rv = haven__outbox_add(&p->b->out, s->rid, s->rid_len, &f);
	free(view);
	if (rv == HAVEN_OK) {
		haven__outbox_mark_deliver(&p->b->out, id);
	}
	return (rv);
}

/* Record `id` in flight on the walk's session as delivery `attempt`. */
static haven_err
mark(walk *w, const uint8_t id[HAVEN_MSGID_BYTES], uint32_t attempt)
{
	const haven_bconf *c = &w->p->b->cfg;
	int64_t wait = haven__backoff_wait(attempt, c->redeliver_ms,
	    c->redeliver_max_ms);

	return (haven__session_add(&w->p->b->sessions, w->s, id, attempt,
	    w->p->mono_ms, w->p->mono_ms + wait));
}

/* Plan one delivery. Unreadable records are logged and skipped (they
 * stay queued for an operator), so one bad record cannot stop a queue. */
static haven_err
plan_one(walk *w, const uint8_t id[HAVEN_MSGID_BYTES])
{
	haven_pass_ctx *p = w->p;
	haven_envelope *env = NULL;
	const uint8_t *bytes;
	size_t len;
	char hex[2 * HAVEN_MSGID_BYTES + 1];
	uint32_t attempt = haven__sessions_next_attempt(&p->b->sessions,
	    w->s->agency, id);
	haven_err rv;

	haven__msgid_hex(hex, id);
	rv = haven__store_msg_get(p->b->store, p->txn, id, &bytes, &len);
	if (rv == HAVEN_OK) {
		rv = haven_envelope_decode(&env, bytes, len);
	}
	if (rv == HAVEN_OK) {
		rv = frame_for(p, w->s, env, id);
	}
	if (rv == HAVEN_OK && (rv = audit_deliver(p, &env->hdr,
	    w->s->agency, attempt)) == HAVEN_OK &&
	    (rv = mark(w, id, attempt)) == HAVEN_OK) {
		w->planned++;
		haven__blog("HAVEN-BRK-DELIVER", "to=%s msg=%s attempt=%u",
		    w->s->agency, hex, attempt);
	}
	haven_envelope_destroy(&env);
	if (rv == HAVEN_EFULL || rv == HAVEN_ENOMEM ||
	    (rv & HAVEN_ESYSERR) != 0 || rv == HAVEN_EIO) {
		return (rv);
	}
	if (rv != HAVEN_OK) {
		haven__blog("HAVEN-BRK-UNDELIVERABLE", "to=%s msg=%s code=%s",
		    w->s->agency, hex, haven_err_name(rv));
	}
	return (HAVEN_OK);
}

static haven_err
visit(void *arg, const uint8_t qid[HAVEN_MSGID_BYTES], bool *stop)
{
	walk *w = arg;
	uint8_t id[HAVEN_MSGID_BYTES];
	haven_err rv;

	/* qid is borrowed from the cursor: copy before writing. */
	memcpy(id, qid, sizeof(id));
	if (haven__sessions_inflight(&w->p->b->sessions, w->s->agency, id)) {
		return (HAVEN_OK);
	}
	if ((rv = plan_one(w, id)) != HAVEN_OK) {
		return (rv);
	}
	*stop = w->planned >= w->room;
	return (HAVEN_OK);
}

haven_err
haven__deliver_plan(haven_pass_ctx *p)
{
	haven_sessions *ss = &p->b->sessions;
	haven_err rv;

	for (size_t i = 0; i < ss->n; i++) {
		haven_session *s = ss->v[i];
		walk w = {p, s, haven__session_room(ss, s), 0};

		if (!s->want) {
			continue;
		}
		s->want = false;
		if (w.room == 0 || !haven__identity_allowed(p->b->dir,
		    s->agency, s->gen)) {
			continue;
		}
		if ((rv = haven__store_queue_walk(p->b->store, p->txn,
		    s->agency, visit, &w)) != HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}

void
haven__deliver_unplan(haven_broker *b)
{
	for (size_t i = 0; i < b->out.n; i++) {
		haven_out *o = &b->out.v[i];
		haven_session *s;

		if (!o->deliver) {
			continue;
		}
		s = haven__sessions_find(&b->sessions, o->rid, o->rid_len);
		if (s != NULL) {
			haven__session_unplan(s, o->msg_id);
		}
	}
}
