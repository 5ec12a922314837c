/*
 * broker/session.h: connected agents, their credit and in-flight deliveries.
 *
 * A session is keyed by the ROUTER routing id of one connection and bound
 * to the agency of its ZAP User-Id. Credit comes from the agent's Hello; a
 * delivery occupies one credit slot from the moment it is planned until the
 * agency acknowledges it or redeliver_ms passes (then it is eligible again,
 * for any session of that agency). All state here is memory only: after a
 * restart the durable queue is the truth and everything is redelivered.
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
#define HAVEN_AGENCY_INFLIGHT_MAX HAVEN_CREDIT_MAX

typedef struct haven_inflight {
	uint8_t msg_id[HAVEN_MSGID_BYTES];
	int64_t sent_ms; /* monotonic */
} haven_inflight;

typedef struct haven_session {
	uint8_t rid[HAVEN_RID_MAX];
	size_t rid_len;
	char agency[HAVEN_ID_MAX];
	uint32_t gen;         /* key generation of the connection (ZAP) */
	uint32_t credit;
	haven_inflight *inflight;
	size_t n_inflight;
	size_t cap_inflight;
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

/** Mark `id` in flight on `s`. HAVEN_OK, HAVEN_ENOMEM. */
HAVEN_NODISCARD haven_err haven__session_add(haven_session *s,
    const uint8_t id[HAVEN_MSGID_BYTES], int64_t now_ms);

/** Remove `id` from the in-flight sets of every session of `agency`;
 * the sessions that freed a slot want a delivery pass. */
void haven__sessions_settle(haven_sessions *ss, const char *agency,
    const uint8_t id[HAVEN_MSGID_BYTES]);

/** Set `want` on every session of `agency`. */
void haven__sessions_wake(haven_sessions *ss, const char *agency);

/** Forget deliveries older than redeliver_ms (they will be sent again)
 * and drop sessions not heard from for idle_ms. */
void haven__sessions_tick(haven_sessions *ss, int64_t now_ms,
    int64_t redeliver_ms, int64_t idle_ms);

/** Free everything. */
void haven__sessions_fini(haven_sessions *ss);

#endif /* HAVEN_BROKER_SESSION_H */
