/*
 * agents/send.c: the outbox side of a session.
 *
 * Invariants:
 *  - an envelope is in the outbox (fsync'd) before it is ever submitted;
 *  - it is resubmitted with exactly the stored bytes, so the broker's dedup
 *    answers a resubmission with the original receipt;
 *  - an entry becomes RECEIPTED only on a receipt whose broker signature
 *    verifies and whose envelope hash is the hash of the stored bytes, and
 *    nothing is ever reported as sent without that;
 *  - a transient refusal (store full) leaves the entry pending.
 */
#include "agent_session.h"

#include <errno.h>
#include <string.h>

#include "haven/envelope.h"
#include "util.h"

static haven__wait *
find_wait(haven__session *s, const uint8_t *id)
{
	for (size_t i = 0; i < s->n_waits; i++) {
		if (memcmp(s->waits[i].msg_id, id, HAVEN_MSGID_BYTES) == 0) {
			return (&s->waits[i]);
		}
	}
	return (NULL);
}

static void
settle_wait(haven__session *s, const uint8_t *id, haven__wstate st,
    const haven_receipt *r, const haven_reject *j)
{
	haven__wait *w = find_wait(s, id);

	if (w == NULL || w->state == HAVEN__W_RECEIPTED ||
	    w->state == HAVEN__W_REJECTED) {
		return;
	}
	if (w->state == HAVEN__W_PENDING) {
		s->n_open--;
	}
	w->state = st;
	if (r != NULL) {
		w->receipt = *r;
	}
	if (j != NULL) {
		w->reject = *j;
	}
}

/* The receipt must be the broker's, about these exact bytes. */
static haven_err
receipt_matches(haven__session *s, const haven_receipt *r,
    const haven__outbox_rec *rec)
{
	uint8_t h[HAVEN_HASH_BYTES];

	if (haven__agent_receipt_verify(s->a, r) != HAVEN_OK) {
		return (HAVEN_ESIG);
	}
	haven_hash(h, rec->envelope, rec->envelope_len);
	if (memcmp(h, r->envelope_hash, HAVEN_HASH_BYTES) != 0) {
		return (HAVEN_ESIG);
	}
	return (HAVEN_OK);
}

haven_err
haven__agt_send_on_receipt(haven__session *s, const haven_receipt *r)
{
	haven__outbox_rec rec;
	char hex[33];
	haven_err rv;

	rv = haven__agt_store_outbox_get(s->a->store, r->msg_id, &rec);
	if (rv == HAVEN_ENOTFOUND) {
		haven__agt_log("HAVEN-AGT-STRAYRCPT", "msg=%s",
		    haven__agt_idhex(hex, r->msg_id));
		return (HAVEN_OK);
	}
	if (rv != HAVEN_OK) {
		return (rv);
	}
	if (receipt_matches(s, r, &rec) != HAVEN_OK) {
		haven__agt_log("HAVEN-AGT-BADRCPT", "msg=%s",
		    haven__agt_idhex(hex, r->msg_id));
		haven__agt_outbox_rec_release(&rec);
		return (HAVEN_OK);
	}
	haven__agt_outbox_rec_release(&rec);
	rv = haven__agt_store_outbox_settle(s->a->store, r->msg_id,
	    HAVEN__OUT_RECEIPTED, r, NULL);
	if (rv == HAVEN_ESTATE) {
		haven__agt_log("HAVEN-AGT-RCPTAFTERREJECT", "msg=%s",
		    haven__agt_idhex(hex, r->msg_id));
		return (HAVEN_OK);
	}
	if (rv == HAVEN_OK) {
		s->receipted++;
		settle_wait(s, r->msg_id, HAVEN__W_RECEIPTED, r, NULL);
	}
	return (rv);
}

static bool
transient(uint32_t code)
{
	return (code == HAVEN_EFULL || code == HAVEN_ETIMEDOUT ||
	    code == HAVEN_EIO);
}

haven_err
haven__agt_send_on_reject(haven__session *s, const haven_reject *j)
{
	char hex[33];
	haven_err rv;

	haven__agt_log("HAVEN-AGT-REJECT", "msg=%s code=%s rule=%s",
	    haven__agt_idhex(hex, j->msg_id),
	    haven_err_name((haven_err) j->code),
	    j->rule[0] != '\0' ? j->rule : "-");
	if (transient(j->code)) {
		settle_wait(s, j->msg_id, HAVEN__W_DEFERRED, NULL, j);
		return (HAVEN_OK);
	}
	rv = haven__agt_store_outbox_settle(s->a->store, j->msg_id,
	    HAVEN__OUT_REJECTED, NULL, j);
	if (rv == HAVEN_ENOTFOUND || rv == HAVEN_ESTATE) {
		return (HAVEN_OK); /* not ours, or already receipted */
	}
	if (rv == HAVEN_OK) {
		s->rejected++;
		settle_wait(s, j->msg_id, HAVEN__W_REJECTED, NULL, j);
	}
	return (rv);
}

haven_err
haven__agt_send_ids(haven__session *s, const uint8_t (*ids)[HAVEN_MSGID_BYTES],
    size_t n)
{
	haven__outbox_rec rec;
	haven_err rv = HAVEN_OK;

	for (size_t i = 0; i < n && rv == HAVEN_OK; i++) {
		rv = haven__agt_store_outbox_get(s->a->store, ids[i], &rec);
		if (rv != HAVEN_OK) {
			break;
		}
		if (rec.state == HAVEN__OUT_PENDING) {
			rv = haven__agt_client_submit(s->a->cl, rec.envelope,
			    rec.envelope_len);
		}
		haven__agt_outbox_rec_release(&rec);
	}
	return (rv);
}

static haven_err
submit_waits(haven__session *s)
{
	haven_err rv = HAVEN_OK;

	for (size_t i = 0; i < s->n_waits && rv == HAVEN_OK; i++) {
		if (s->waits[i].state == HAVEN__W_PENDING) {
			rv = haven__agt_send_ids(s,
			    (const uint8_t (*)[HAVEN_MSGID_BYTES])
			    s->waits[i].msg_id, 1);
		}
	}
	return (rv);
}

haven_err
haven__agt_send_and_wait(haven__session *s, int timeout_ms)
{
	int64_t end = haven__mono_ms() + timeout_ms;
	haven_err rv;

	if ((rv = submit_waits(s)) != HAVEN_OK) {
		return (rv);
	}
	while (s->n_open > 0 && s->errors == 0) {
		int64_t left = end - haven__mono_ms();

		if (left <= 0) {
			return (HAVEN_ETIMEDOUT);
		}
		rv = haven__agt_session_pump(s,
		    (int) (left > 200 ? 200 : left));
		if (rv == (HAVEN_ESYSERR | EINTR) || rv == HAVEN_ETIMEDOUT) {
			continue;
		}
		if (rv != HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}
