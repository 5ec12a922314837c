/*
 * agents/agent_session.h: one conversation with the broker, frame by frame.
 *
 * A session reads frames and dispatches them through a {kind, handler}
 * table: Receipt/Reject settle outbox entries (send.c), Deliver stores into
 * the inbox and acknowledges (deliver.c, only if the session takes
 * deliveries; otherwise the delivery is left for the broker to redeliver),
 * Credit records how many messages the broker holds for us, Error is
 * logged. Submissions the caller waits for are tracked in the wait set.
 */
#ifndef HAVEN_AGENTS_AGENT_SESSION_H
#define HAVEN_AGENTS_AGENT_SESSION_H

#include "agent.h"

typedef enum {
	HAVEN__W_PENDING = 0,   /* no answer yet: never reported as sent */
	HAVEN__W_RECEIPTED = 1, /* broker receipt, signature verified */
	HAVEN__W_REJECTED = 2,  /* refused by the broker (terminal) */
	HAVEN__W_DEFERRED = 3   /* transient refusal; still pending */
} haven__wstate;

typedef struct haven__wait {
	uint8_t msg_id[HAVEN_MSGID_BYTES];
	haven__wstate state;
	haven_receipt receipt;
	haven_reject reject;
} haven__wait;

typedef struct haven__session {
	haven__agent *a;
	bool take_deliveries;
	haven__wait *waits; /* borrowed; may be NULL */
	size_t n_waits;
	size_t n_open; /* waits still PENDING */
	/* what happened, for reports */
	uint64_t delivered;
	uint64_t duplicates;
	uint64_t unverified;
	uint64_t unknown_key; /* left unacked: sender key not in directory */
	uint64_t store_failed;
	uint64_t receipted;
	uint64_t rejected;
	bool got_credit;
	uint32_t credit;   /* last Credit from the broker: queued for us */
	uint32_t errors;   /* Error frames seen */
	uint32_t last_error;
	int64_t last_rx_ms; /* monotonic time of the last frame */
} haven__session;

/** Start a session over a->cl (already connected). */
void haven__agt_session_init(haven__session *s, haven__agent *a,
    bool take_deliveries, haven__wait *waits, size_t n_waits);

/**
 * Wait up to `timeout_ms` for one frame and handle it.
 * @return HAVEN_OK (one frame handled or refused), HAVEN_ETIMEDOUT,
 *   HAVEN_ESYSERR|EINTR (signal), or a storage error that must stop the
 *   caller (HAVEN_EIO, HAVEN_EFULL, HAVEN_ECORRUPT).
 */
HAVEN_NODISCARD haven_err haven__agt_session_pump(haven__session *s,
    int timeout_ms);

/* handlers (send.c, deliver.c) */
HAVEN_NODISCARD haven_err haven__agt_send_on_receipt(haven__session *s,
    const haven_receipt *r);
HAVEN_NODISCARD haven_err haven__agt_send_on_reject(haven__session *s,
    const haven_reject *j);
HAVEN_NODISCARD haven_err haven__agt_deliver_on_frame(haven__session *s,
    const haven_frame *f);

/**
 * Submit the outbox entries `ids` (the stored bytes, so a resubmission is
 * byte-identical and idempotent at the broker).
 * @return HAVEN_OK or the first error (send or store).
 */
HAVEN_NODISCARD haven_err haven__agt_send_ids(haven__session *s,
    const uint8_t (*ids)[HAVEN_MSGID_BYTES], size_t n);

/** Submit every waited-for entry, then pump until each has an answer or
 * `timeout_ms` passes (leaving the rest PENDING). An Error frame from the
 * broker ends the wait early. */
HAVEN_NODISCARD haven_err haven__agt_send_and_wait(haven__session *s,
    int timeout_ms);

#endif /* HAVEN_AGENTS_AGENT_SESSION_H */
