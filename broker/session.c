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
 * at HAVEN_CREDIT_MAX.
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

haven_err
haven__session_add(haven_session *s, const uint8_t id[HAVEN_MSGID_BYTES],
    int64_t now_ms)
{
	if (s->n_inflight == s->cap_inflight) {
		size_t cap = s->cap_inflight == 0 ? 8 : s->cap_inflight * 2;
		haven_inflight *v;
		if (cap > HAVEN_CREDIT_MAX) {
			cap = HAVEN_CREDIT_MAX;
		}
		if (cap <= s->n_inflight ||
		    (v = realloc(s->inflight, cap * sizeof(*v))) == NULL) {
			return (HAVEN_ENOMEM);
		}
		s->inflight = v;
		s->cap_inflight = cap;
	}
	memcpy(s->inflight[s->n_inflight].msg_id, id, HAVEN_MSGID_BYTES);
	s->inflight[s->n_inflight].sent_ms = now_ms;
	s->n_inflight++;
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
haven__sessions_settle(haven_sessions *ss, const char *agency,
    const uint8_t id[HAVEN_MSGID_BYTES])
{
	for (size_t i = 0; i < ss->n; i++) {
		haven_session *s = ss->v[i];
		if (strcmp(s->agency, agency) != 0) {
			continue;
		}
		for (size_t j = 0; j < s->n_inflight; j++) {
			if (memcmp(s->inflight[j].msg_id, id,
			    HAVEN_MSGID_BYTES) == 0) {
				forget(s, j);
				break;
			}
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

void
haven__sessions_tick(haven_sessions *ss, int64_t now_ms, int64_t redeliver_ms,
    int64_t idle_ms)
{
	size_t i = 0;

	while (i < ss->n) {
		haven_session *s = ss->v[i];
		if (now_ms - s->last_seen_ms > idle_ms) {
			haven__sessions_drop(ss, i);
			continue;
		}
		for (size_t j = 0; j < s->n_inflight;) {
			if (now_ms - s->inflight[j].sent_ms >= redeliver_ms) {
				/* Other sessions of the agency may take it. */
				forget(s, j);
				haven__sessions_wake(ss, s->agency);
			} else {
				j++;
			}
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
