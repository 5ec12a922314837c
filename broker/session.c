/*
 * broker/session.c: the session table (see session.h).
 *
 * The table is a small array scanned linearly: a partnership has tens to a
 * few hundred agents connected. One agency (one authenticated key, maybe
 * stolen) may reconnect in a loop or open many connections at once: it
 * holds at most HAVEN_SESSIONS_PER_AGENCY sessions and its new sessions
 * evict its own oldest, so it can never push other agencies' sessions out
 * of the table. HAVEN_SESSIONS_MAX bounds the whole table. In-flight sets
 * grow on demand and are bounded by the session's credit, itself capped
 * at HAVEN_CREDIT_MAX (and by HAVEN_AGENCY_INFLIGHT_MAX per agency).
 *
 * Parked entries (redelivery wait over, attempt number remembered) only
 * come from in-flight entries and are consumed when the message is sent
 * again or acknowledged; a message has at most one entry, in flight or
 * parked, over all sessions of its agency. A session parks at most
 * HAVEN_CREDIT_MAX entries; past that an expiring entry is just forgotten
 * (its next delivery counts from attempt 1 again), so memory stays bounded
 * whatever a peer does with its credit.
 */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

haven_session *
haven__sessions_find(haven_sessions *ss, const uint8_t *rid, size_t rid_len)
{
	for (size_t i = 0; i < ss->n; i++) {
		haven_session *s = ss->v[i];
		if (s->rid_len == rid_len &&
		    memcmp(s->rid, rid, rid_len) == 0) {
			return (s);
		}
	}
	return (NULL);
}

static size_t
index_of(const haven_sessions *ss, const haven_session *s)
{
	for (size_t i = 0; i < ss->n; i++) {
		if (ss->v[i] == s) {
			return (i);
		}
	}
	return (ss->n);
}

void
haven__sessions_drop(haven_sessions *ss, size_t i)
{
	if (i >= ss->n) {
		return;
	}
	free(ss->v[i]->inflight);
	free(ss->v[i]->parked);
	free(ss->v[i]);
	ss->v[i] = ss->v[ss->n - 1];
	ss->n--;
}

/* Least recently seen session of `agency` (any agency if NULL); *count
 * receives how many sessions matched. ss->n if none. */
static size_t
oldest(const haven_sessions *ss, const char *agency, size_t *count)
{
	size_t old = ss->n;

	*count = 0;
	for (size_t i = 0; i < ss->n; i++) {
		if (agency != NULL && strcmp(ss->v[i]->agency, agency) != 0) {
			continue;
		}
		(*count)++;
		if (old == ss->n ||
		    ss->v[i]->last_seen_ms < ss->v[old]->last_seen_ms) {
			old = i;
		}
	}
	return (old);
}

/* Make room for one more session of `agency`. */
static void
make_room(haven_sessions *ss, const char *agency)
{
	size_t n, i = oldest(ss, agency, &n);

	if (n >= HAVEN_SESSIONS_PER_AGENCY) {
		haven__sessions_drop(ss, i);
	} else if (ss->n >= HAVEN_SESSIONS_MAX) {
		haven__sessions_drop(ss, oldest(ss, NULL, &n));
	}
}

static haven_err
create(haven_sessions *ss, const uint8_t *rid, size_t rid_len,
    const char *agency, haven_session **out)
{
	haven_session *s;
	haven_session **v;

	make_room(ss, agency);
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	if ((v = realloc(ss->v, (ss->n + 1) * sizeof(*v))) == NULL) {
		free(s);
		return (HAVEN_ENOMEM);
	}
	ss->v = v;
	memcpy(s->rid, rid, rid_len);
	s->rid_len = rid_len;
	haven__bcopy(s->agency, sizeof(s->agency), agency);
	ss->v[ss->n++] = s;
	*out = s;
	return (HAVEN_OK);
}

haven_err
haven__sessions_hello(haven_sessions *ss, const uint8_t *rid, size_t rid_len,
    const char *agency, uint32_t gen, uint32_t credit, int64_t now_ms,
    haven_session **out)
{
	haven_session *s;
	haven_err rv;

	if (rid_len == 0 || rid_len > HAVEN_RID_MAX) {
		return (HAVEN_EINVAL);
	}
	s = haven__sessions_find(ss, rid, rid_len);
	if (s != NULL && strcmp(s->agency, agency) != 0) {
		haven__sessions_drop(ss, index_of(ss, s));
		s = NULL;
	}
	if (s == NULL && (rv = create(ss, rid, rid_len, agency, &s)) !=
	    HAVEN_OK) {
		return (rv);
	}
	s->gen = gen;
	s->credit = credit > HAVEN_CREDIT_MAX ? HAVEN_CREDIT_MAX : credit;
	s->last_seen_ms = now_ms;
	s->want = true;
	*out = s;
	return (HAVEN_OK);
}

bool
haven__sessions_inflight(const haven_sessions *ss, const char *agency,
    const uint8_t id[HAVEN_MSGID_BYTES])
{
	for (size_t i = 0; i < ss->n; i++) {
		const haven_session *s = ss->v[i];
		if (strcmp(s->agency, agency) != 0) {
			continue;
		}
		for (size_t j = 0; j < s->n_inflight; j++) {
			if (memcmp(s->inflight[j].msg_id, id,
			    HAVEN_MSGID_BYTES) == 0) {
				return (true);
			}
		}
	}
	return (false);
}

uint32_t
haven__session_free(const haven_session *s)
{
	if (s->n_inflight >= s->credit) {
		return (0);
	}
	return (s->credit - (uint32_t) s->n_inflight);
}

uint32_t
haven__session_room(const haven_sessions *ss, const haven_session *s)
{
	uint32_t room = haven__session_free(s);
	size_t total = 0;

	for (size_t i = 0; i < ss->n; i++) {
		if (strcmp(ss->v[i]->agency, s->agency) == 0) {
			total += ss->v[i]->n_inflight;
		}
	}
	if (total >= HAVEN_AGENCY_INFLIGHT_MAX) {
		return (0);
	}
	if (room > HAVEN_AGENCY_INFLIGHT_MAX - total) {
		room = (uint32_t) (HAVEN_AGENCY_INFLIGHT_MAX - total);
	}
	return (room);
}

int64_t
haven__backoff_wait(uint32_t attempt, int64_t base_ms, int64_t max_ms)
{
	int64_t w = base_ms;

	if (base_ms <= 0) {
		return (0);
	}
	if (max_ms < base_ms) {
		max_ms = base_ms;
	}
	for (uint32_t i = 1; i < attempt && w < max_ms; i++) {
		w = w > max_ms / 2 ? max_ms : 2 * w;
	}
	return (w < max_ms ? w : max_ms);
}

/* Index of `id` in v[0..n), or n. */
static size_t
find_id(const haven_inflight *v, size_t n, const uint8_t id[HAVEN_MSGID_BYTES])
{
	for (size_t j = 0; j < n; j++) {
		if (memcmp(v[j].msg_id, id, HAVEN_MSGID_BYTES) == 0) {
			return (j);
		}
	}
	return (n);
}

/* Make room for one more entry in *v (at most HAVEN_CREDIT_MAX). */
static haven_err
grow(haven_inflight **v, size_t n, size_t *cap)
{
	haven_inflight *nv;
	size_t c;

	if (n < *cap) {
		return (HAVEN_OK);
	}
	c = *cap == 0 ? 8 : *cap * 2;
	if (c > HAVEN_CREDIT_MAX) {
		c = HAVEN_CREDIT_MAX;
	}
	if (c <= n || (nv = realloc(*v, c * sizeof(*nv))) == NULL) {
		return (HAVEN_ENOMEM);
	}
	*v = nv;
	*cap = c;
	return (HAVEN_OK);
}

/* Remember entry `e` as parked on `s`; forgotten if there is no room. */
static void
park(haven_session *s, const haven_inflight *e)
{
	if (e->attempt == 0 ||
	    grow(&s->parked, s->n_parked, &s->cap_parked) != HAVEN_OK) {
		return;
	}
	s->parked[s->n_parked++] = *e;
}

static void
unpark(haven_session *s, size_t j)
{
	s->parked[j] = s->parked[s->n_parked - 1];
	s->n_parked--;
}

uint32_t
haven__sessions_next_attempt(const haven_sessions *ss, const char *agency,
    const uint8_t id[HAVEN_MSGID_BYTES])
{
	for (size_t i = 0; i < ss->n; i++) {
		const haven_session *s = ss->v[i];
		size_t j;
		if (strcmp(s->agency, agency) != 0) {
			continue;
		}
		if ((j = find_id(s->parked, s->n_parked, id)) < s->n_parked) {
			uint32_t a = s->parked[j].attempt;
			return (a < UINT32_MAX ? a + 1 : a);
		}
	}
	return (1);
}

haven_err
haven__session_add(haven_sessions *ss, haven_session *s,
    const uint8_t id[HAVEN_MSGID_BYTES], uint32_t attempt, int64_t now_ms,
    int64_t due_ms)
{
	haven_inflight *e;
	haven_err rv;

	if ((rv = grow(&s->inflight, s->n_inflight, &s->cap_inflight)) !=
	    HAVEN_OK) {
		return (rv);
	}
	for (size_t i = 0; i < ss->n; i++) {
		haven_session *o = ss->v[i];
		size_t j;
		if (strcmp(o->agency, s->agency) == 0 &&
		    (j = find_id(o->parked, o->n_parked, id)) < o->n_parked) {
			unpark(o, j);
		}
	}
	e = &s->inflight[s->n_inflight++];
	memcpy(e->msg_id, id, HAVEN_MSGID_BYTES);
	e->sent_ms = now_ms;
	e->due_ms = due_ms;
	e->attempt = attempt;
	return (HAVEN_OK);
}

/* Remove in-flight entry j of s (order does not matter). */
static void
forget(haven_session *s, size_t j)
{
	s->inflight[j] = s->inflight[s->n_inflight - 1];
	s->n_inflight--;
	s->want = true;
}

void
haven__session_unplan(haven_session *s, const uint8_t id[HAVEN_MSGID_BYTES])
{
	size_t j = find_id(s->inflight, s->n_inflight, id);
	haven_inflight e;

	if (j == s->n_inflight) {
		return;
	}
	e = s->inflight[j];
	forget(s, j);
	e.attempt--;
	park(s, &e);
}

void
haven__sessions_settle(haven_sessions *ss, const char *agency,
    const uint8_t id[HAVEN_MSGID_BYTES])
{
	for (size_t i = 0; i < ss->n; i++) {
		haven_session *s = ss->v[i];
		size_t j;
		if (strcmp(s->agency, agency) != 0) {
			continue;
		}
		if ((j = find_id(s->inflight, s->n_inflight, id)) <
		    s->n_inflight) {
			forget(s, j);
		}
		if ((j = find_id(s->parked, s->n_parked, id)) < s->n_parked) {
			unpark(s, j);
		}
	}
}

void
haven__sessions_wake(haven_sessions *ss, const char *agency)
{
	for (size_t i = 0; i < ss->n; i++) {
		if (strcmp(ss->v[i]->agency, agency) == 0) {
			ss->v[i]->want = true;
		}
	}
}

/* Reset the backoff of one other session `o` of the new session's agency.
 * Freed slots do not set o->want: the new session gets the mail. */
static void
reset_one(haven_session *o, int64_t now_ms, int64_t base_ms)
{
	o->n_parked = 0;
	for (size_t j = 0; j < o->n_inflight;) {
		haven_inflight *e = &o->inflight[j];
		if (now_ms - e->sent_ms >= base_ms) {
			*e = o->inflight[--o->n_inflight];
			continue;
		}
		e->due_ms = e->sent_ms + base_ms;
		e->attempt = 0;
		j++;
	}
}

void
haven__sessions_reset(haven_sessions *ss, const haven_session *s,
    int64_t now_ms, int64_t base_ms)
{
	for (size_t i = 0; i < ss->n; i++) {
		haven_session *o = ss->v[i];
		if (o != s && strcmp(o->agency, s->agency) == 0) {
			reset_one(o, now_ms, base_ms);
		}
	}
}

/* Park the in-flight entries of s whose wait is over; true if any. */
static bool
expire(haven_session *s, int64_t now_ms)
{
	bool any = false;

	for (size_t j = 0; j < s->n_inflight;) {
		if (now_ms >= s->inflight[j].due_ms) {
			haven_inflight e = s->inflight[j];
			/* Other sessions of the agency may take it. */
			forget(s, j);
			park(s, &e);
			any = true;
		} else {
			j++;
		}
	}
	return (any);
}

void
haven__sessions_tick(haven_sessions *ss, int64_t now_ms, int64_t idle_ms)
{
	size_t i = 0;

	while (i < ss->n) {
		haven_session *s = ss->v[i];
		if (now_ms - s->last_seen_ms > idle_ms) {
			haven__sessions_drop(ss, i);
			continue;
		}
		if (expire(s, now_ms)) {
			haven__sessions_wake(ss, s->agency);
		}
		i++;
	}
}

void
haven__sessions_fini(haven_sessions *ss)
{
	while (ss->n > 0) {
		haven__sessions_drop(ss, ss->n - 1);
	}
	free(ss->v);
	ss->v = NULL;
}
