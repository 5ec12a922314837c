/*
 * broker/session.h: connected agents, their credit and in-flight deliveries.
 *
 * A session is keyed by the ROUTER routing id of one connection and bound
 * to the agency of its ZAP User-Id. Credit comes from the agent's Hello; a
 * delivery occupies one credit slot from the moment it is planned until the
 * agency acknowledges it or its redelivery wait passes (then it is eligible
 * again, for any session of that agency). All state here is memory only:
 * after a restart the durable queue is the truth and everything is
 * redelivered.
 *
 * Redelivery backs off per (agency, message): delivery attempt n is given
 * haven__backoff_wait(n) = redeliver_ms * 2^(n-1), capped at
 * redeliver_max_ms, before the next attempt. When the wait passes, the
 * entry is "parked" on its session: it no longer holds credit or blocks a
 * redelivery, but remembers the attempt number for the next one. A
 * recipient that never acknowledges thus costs O(log) DELIVER audit
 * entries and queued copies, not one per redeliver_ms. A new connection of
 * the agency (haven__sessions_reset) makes its messages due again at most
 * redeliver_ms after their last send, so a restarted agent gets them at
 * once, yet reconnecting in a loop never beats the plain redeliver_ms rate.
 */
#ifndef HAVEN_BROKER_SESSION_H
#define HAVEN_BROKER_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "haven/common.h"

#define HAVEN_RID_MAX 256
#define HAVEN_CREDIT_MAX 1024
#define HAVEN_SESSIONS_MAX 4096
#define HAVEN_SESSIONS_PER_AGENCY 8
/* Deliveries of one agency in flight over all its sessions. It also sizes
 * the ROUTER's send queue (haven__sndhwm, broker.h), so keep it small: a
 * partnership agency receives tens of messages a day. */
#define HAVEN_AGENCY_INFLIGHT_MAX 128

typedef struct haven_inflight {
	uint8_t msg_id[HAVEN_MSGID_BYTES];
	int64_t sent_ms;  /* monotonic */
	int64_t due_ms;   /* monotonic: redelivery allowed from then */
	uint32_t attempt; /* 1 = first delivery; 0 = backoff reset */
} haven_inflight;

typedef struct haven_session {
	uint8_t rid[HAVEN_RID_MAX];
	size_t rid_len;
	char agency[HAVEN_ID_MAX];
	uint32_t gen;         /* key generation of the connection (ZAP) */
	uint32_t credit;
	haven_inflight *inflight; /* waiting for an Ack: hold credit */
	size_t n_inflight;
	size_t cap_inflight;
	haven_inflight *parked;   /* wait over: remember the attempt only */
	size_t n_parked;
	size_t cap_parked;
	int64_t last_seen_ms; /* monotonic */
	bool want;            /* a delivery pass may find work for it */
} haven_session;

typedef struct haven_sessions {
	haven_session **v;
	size_t n;
} haven_sessions;

/** Session with this routing id, or NULL. */
haven_session *haven__sessions_find(haven_sessions *ss, const uint8_t *rid,
    size_t rid_len);

/**
 * Hello: create or update the session of `rid` for `agency` (connected
 * with key generation `gen`) with `credit`
 * (capped at HAVEN_CREDIT_MAX). A session whose agency differs is replaced.
 * An agency holds at most HAVEN_SESSIONS_PER_AGENCY sessions: a new one
 * evicts that agency's least recently seen session, never another
 * agency's. Only when the whole table is full (more than
 * HAVEN_SESSIONS_MAX / HAVEN_SESSIONS_PER_AGENCY agencies connected) is the
 * least recently seen session of any agency evicted.
 * @return HAVEN_OK, HAVEN_EINVAL (rid too long), HAVEN_ENOMEM.
 */
HAVEN_NODISCARD haven_err haven__sessions_hello(haven_sessions *ss,
    const uint8_t *rid, size_t rid_len, const char *agency, uint32_t gen,
    uint32_t credit, int64_t now_ms, haven_session **out);

/** Drop session i (its in-flight messages become eligible again). */
void haven__sessions_drop(haven_sessions *ss, size_t i);

/** True if any session of `agency` has `id` in flight. */
bool haven__sessions_inflight(const haven_sessions *ss, const char *agency,
    const uint8_t id[HAVEN_MSGID_BYTES]);

/** Free credit of a session (credit - in flight, never negative). */
uint32_t haven__session_free(const haven_session *s);

/** Deliveries that may still be planned on `s`: its free credit, but no
 * more than HAVEN_AGENCY_INFLIGHT_MAX in flight over all sessions of its
 * agency (more connections must not multiply what one agency can hold in
 * the broker's memory and send queues). */
uint32_t haven__session_room(const haven_sessions *ss,
    const haven_session *s);

/**
 * How long delivery attempt `attempt` (1 = first delivery) waits for an
 * Ack before the next: base_ms * 2^(attempt-1), at most max_ms (and never
 * less than base_ms). Pure; saturates instead of overflowing.
 */
int64_t haven__backoff_wait(uint32_t attempt, int64_t base_ms,
    int64_t max_ms);

/** Number of the next delivery attempt of `id` to `agency`: one more than
 * the attempt remembered by a parked entry of any of its sessions, else
 * 1. */
uint32_t haven__sessions_next_attempt(const haven_sessions *ss,
    const char *agency, const uint8_t id[HAVEN_MSGID_BYTES]);

/** Mark `id` in flight on `s` as delivery `attempt`, redeliverable from
 * `due_ms`, and forget the agency's parked entry for it.
 * HAVEN_OK, HAVEN_ENOMEM. */
HAVEN_NODISCARD haven_err haven__session_add(haven_sessions *ss,
    haven_session *s, const uint8_t id[HAVEN_MSGID_BYTES], uint32_t attempt,
    int64_t now_ms, int64_t due_ms);

/** Undo haven__session_add of `id` on `s` (its pass was aborted: nothing
 * was sent), keeping the attempt count it had before. */
void haven__session_unplan(haven_session *s,
    const uint8_t id[HAVEN_MSGID_BYTES]);

/** Remove `id` (in flight or parked) from every session of `agency`;
 * the sessions that freed a slot want a delivery pass. */
void haven__sessions_settle(haven_sessions *ss, const char *agency,
    const uint8_t id[HAVEN_MSGID_BYTES]);

/**
 * A new connection `s` said Hello: reset the backoff of its agency's
 * messages on the other sessions. Parked entries, and deliveries last sent
 * at least base_ms ago, are forgotten (eligible at once, as attempt 1,
 * for `s` which wants a pass); the others become due base_ms after their
 * last send and restart at attempt 1.
 */
void haven__sessions_reset(haven_sessions *ss, const haven_session *s,
    int64_t now_ms, int64_t base_ms);

/** Set `want` on every session of `agency`. */
void haven__sessions_wake(haven_sessions *ss, const char *agency);

/** Park deliveries whose wait is over (they will be sent again, on any
 * session of the agency) and drop sessions not heard from for idle_ms. */
void haven__sessions_tick(haven_sessions *ss, int64_t now_ms,
    int64_t idle_ms);

/** Free everything. */
void haven__sessions_fini(haven_sessions *ss);

#endif /* HAVEN_BROKER_SESSION_H */
