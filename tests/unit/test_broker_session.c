/*
 * tests/unit/test_broker_session.c: the broker's session table
 * (broker/session.c).
 *
 * The table is memory only, so it is tested directly: an agency that opens
 * connection after connection (one stolen key is enough) must evict only
 * its own sessions, never another agency's; the table stays bounded; idle
 * sessions are forgotten; in-flight marks expire for redelivery, with a
 * backoff that doubles per attempt up to a cap, is remembered across
 * sessions of the agency, survives an aborted pass and is reset (no
 * faster than the base rate) by a new connection.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "session.h"

static void
rid_of(uint8_t rid[5], uint32_t n)
{
	rid[0] = 0;
	rid[1] = (uint8_t) (n >> 24);
	rid[2] = (uint8_t) (n >> 16);
	rid[3] = (uint8_t) (n >> 8);
	rid[4] = (uint8_t) n;
}

static size_t
count_of(const haven_sessions *ss, const char *agency)
{
	size_t n = 0;

	for (size_t i = 0; i < ss->n; i++) {
		n += strcmp(ss->v[i]->agency, agency) == 0;
	}
	return (n);
}

static void
hello(haven_sessions *ss, uint32_t n, const char *agency, int64_t now)
{
	uint8_t rid[5];
	haven_session *s = NULL;

	rid_of(rid, n);
	assert_int_equal(haven__sessions_hello(ss, rid, sizeof(rid), agency,
	    1, 8, now, &s), HAVEN_OK);
	assert_non_null(s);
}

/* One agency opening thousands of connections cannot evict another. */
static void
test_one_agency_cannot_evict_others(void **state)
{
	haven_sessions ss = {NULL, 0};
	uint8_t rid[5];

	(void) state;
	hello(&ss, 1, "school.urn.110123", 0);
	for (uint32_t i = 0; i < HAVEN_SESSIONS_MAX + 100; i++) {
		hello(&ss, 1000 + i, "school.urn.110456", 1 + (int64_t) i);
	}
	rid_of(rid, 1);
	assert_non_null(haven__sessions_find(&ss, rid, sizeof(rid)));
	assert_int_equal(count_of(&ss, "school.urn.110123"), 1);
	assert_int_equal(count_of(&ss, "school.urn.110456"),
	    HAVEN_SESSIONS_PER_AGENCY);
	/* The flooder keeps its most recent sessions. */
	rid_of(rid, 1000 + HAVEN_SESSIONS_MAX + 99);
	assert_non_null(haven__sessions_find(&ss, rid, sizeof(rid)));
	rid_of(rid, 1000);
	assert_null(haven__sessions_find(&ss, rid, sizeof(rid)));
	haven__sessions_fini(&ss);
	assert_null(ss.v);
}

/* With many agencies the whole table is still bounded. */
static void
test_table_bounded(void **state)
{
	haven_sessions ss = {NULL, 0};
	char agency[HAVEN_ID_MAX];
	uint32_t n = 0;

	(void) state;
	for (uint32_t a = 0; a < HAVEN_SESSIONS_MAX / 4; a++) {
		(void) snprintf(agency, sizeof(agency), "school.urn.%u",
		    100000 + a);
		for (int k = 0; k < 6; k++, n++) {
			hello(&ss, n, agency, n);
		}
	}
	assert_true(ss.n <= HAVEN_SESSIONS_MAX);
	haven__sessions_fini(&ss);
}

/* A repeated Hello on one routing id updates, never duplicates; a routing
 * id reused by another agency replaces the old session. */
static void
test_hello_update_and_replace(void **state)
{
	haven_sessions ss = {NULL, 0};
	uint8_t rid[5], id[HAVEN_MSGID_BYTES] = {1};
	haven_session *s = NULL;

	(void) state;
	rid_of(rid, 7);
	assert_int_equal(haven__sessions_hello(&ss, rid, sizeof(rid),
	    "police.cambs", 1, 100000, 0, &s), HAVEN_OK);
	assert_int_equal(s->credit, HAVEN_CREDIT_MAX);
	assert_int_equal(haven__session_add(&ss, s, id, 1, 0, 30000),
	    HAVEN_OK);
	assert_int_equal(haven__sessions_hello(&ss, rid, sizeof(rid),
	    "police.cambs", 1, 2, 5, &s), HAVEN_OK);
	assert_int_equal(ss.n, 1);
	assert_int_equal(s->n_inflight, 1);
	assert_int_equal(haven__session_free(s), 1);
	assert_int_equal(haven__sessions_hello(&ss, rid, sizeof(rid),
	    "school.urn.110123", 1, 2, 6, &s), HAVEN_OK);
	assert_int_equal(ss.n, 1);
	assert_int_equal(s->n_inflight, 0);
	assert_string_equal(s->agency, "school.urn.110123");
	assert_int_equal(haven__sessions_hello(&ss, rid, 0, "police.cambs",
	    1, 2, 6, &s), HAVEN_EINVAL);
	haven__sessions_fini(&ss);
}

/* Idle sessions are forgotten; an expired delivery becomes eligible. */
static void
test_tick_expiry(void **state)
{
	haven_sessions ss = {NULL, 0};
	uint8_t id[HAVEN_MSGID_BYTES] = {9};

	(void) state;
	hello(&ss, 1, "school.urn.110123", 0);
	hello(&ss, 2, "school.urn.110456", 50000);
	assert_int_equal(haven__session_add(&ss, ss.v[1], id, 1, 50000,
	    80000), HAVEN_OK);
	ss.v[1]->want = false;
	haven__sessions_tick(&ss, 55000, 60000);
	assert_int_equal(ss.n, 2);
	assert_true(haven__sessions_inflight(&ss, "school.urn.110456", id));
	haven__sessions_tick(&ss, 80001, 60000);
	assert_int_equal(ss.n, 1);
	assert_string_equal(ss.v[0]->agency, "school.urn.110456");
	assert_false(haven__sessions_inflight(&ss, "school.urn.110456", id));
	assert_true(ss.v[0]->want);
	haven__sessions_fini(&ss);
}

/* More connections do not multiply what one agency may hold in flight. */
static void
test_agency_inflight_cap(void **state)
{
	haven_sessions ss = {NULL, 0};
	haven_session *s = NULL;
	uint8_t rid[5], id[HAVEN_MSGID_BYTES];
	uint32_t total = 0;

	(void) state;
	for (uint32_t k = 0; k < HAVEN_SESSIONS_PER_AGENCY; k++) {
		rid_of(rid, 100 + k);
		assert_int_equal(haven__sessions_hello(&ss, rid, sizeof(rid),
		    "school.urn.110123", 1, HAVEN_CREDIT_MAX, 0, &s),
		    HAVEN_OK);
		for (uint32_t r = haven__session_room(&ss, s); r > 0; r--) {
			memset(id, 0, sizeof(id));
			memcpy(id, &total, sizeof(total));
			assert_int_equal(haven__session_add(&ss, s, id, 1,
			    0, 1000), HAVEN_OK);
			total++;
		}
	}
	assert_int_equal(total, HAVEN_AGENCY_INFLIGHT_MAX);
	/* Another agency is not affected. */
	hello(&ss, 7, "school.urn.110456", 0);
	assert_int_equal(haven__session_room(&ss, ss.v[ss.n - 1]), 8);
	haven__sessions_fini(&ss);
}

/* The schedule itself: redeliver_ms * 2^(n-1), capped, never overflowing. */
static void
test_backoff_schedule(void **state)
{
	int64_t t = 0;
	int sends = 0;

	(void) state;
	assert_int_equal(haven__backoff_wait(1, 200, 600000), 200);
	assert_int_equal(haven__backoff_wait(2, 200, 600000), 400);
	assert_int_equal(haven__backoff_wait(3, 200, 600000), 800);
	assert_int_equal(haven__backoff_wait(12, 200, 600000), 409600);
	assert_int_equal(haven__backoff_wait(13, 200, 600000), 600000);
	assert_int_equal(haven__backoff_wait(UINT32_MAX, 200, 600000),
	    600000);
	/* The defaults: 30 s, 1, 2, 4, 8 min, then every 10 min. */
	assert_int_equal(haven__backoff_wait(4, 30000, 600000), 240000);
	assert_int_equal(haven__backoff_wait(5, 30000, 600000), 480000);
	assert_int_equal(haven__backoff_wait(6, 30000, 600000), 600000);
	/* Attempt 0 (a reset entry) waits the base; a cap below the base is
	 * the base; no base, no wait; huge values saturate. */
	assert_int_equal(haven__backoff_wait(0, 200, 600000), 200);
	assert_int_equal(haven__backoff_wait(5, 200, 100), 200);
	assert_int_equal(haven__backoff_wait(5, 0, 100), 0);
	assert_true(haven__backoff_wait(70, INT64_MAX / 3, INT64_MAX) ==
	    INT64_MAX);
	/* Sends in 6 s at redeliver_ms 200: 0, .2, .6, 1.4, 3.0 s (then
	 * 6.2): logarithmic, where a fixed interval gives 30. */
	for (uint32_t a = 1; t <= 6000; a++) {
		sends++;
		t += haven__backoff_wait(a, 200, 600000);
	}
	assert_int_equal(sends, 5);
}

/* The attempt number follows the message from session to session of its
 * agency, and is forgotten when it is acknowledged. */
static void
test_attempt_remembered(void **state)
{
	haven_sessions ss = {NULL, 0};
	uint8_t id[HAVEN_MSGID_BYTES] = {7};
	const char *ag = "school.urn.110123";

	(void) state;
	hello(&ss, 1, ag, 0);
	hello(&ss, 2, ag, 0);
	hello(&ss, 3, "school.urn.110456", 0);
	assert_int_equal(haven__sessions_next_attempt(&ss, ag, id), 1);
	assert_int_equal(haven__session_add(&ss, ss.v[0], id, 1, 0, 200),
	    HAVEN_OK);
	assert_int_equal(haven__session_free(ss.v[0]), 7);
	haven__sessions_tick(&ss, 199, 60000);
	assert_true(haven__sessions_inflight(&ss, ag, id));
	haven__sessions_tick(&ss, 200, 60000);
	/* Parked: holds no credit, blocks nothing, remembers attempt 1. */
	assert_false(haven__sessions_inflight(&ss, ag, id));
	assert_int_equal(haven__session_free(ss.v[0]), 8);
	assert_int_equal(ss.v[0]->n_parked, 1);
	assert_int_equal(haven__sessions_next_attempt(&ss, ag, id), 2);
	assert_int_equal(haven__sessions_next_attempt(&ss,
	    "school.urn.110456", id), 1);
	/* Sent again on the other session: one entry for the agency. */
	assert_int_equal(haven__session_add(&ss, ss.v[1], id, 2, 200, 600),
	    HAVEN_OK);
	assert_int_equal(ss.v[0]->n_parked, 0);
	haven__sessions_tick(&ss, 600, 60000);
	assert_int_equal(haven__sessions_next_attempt(&ss, ag, id), 3);
	haven__sessions_settle(&ss, ag, id);
	assert_int_equal(ss.v[1]->n_parked, 0);
	assert_int_equal(haven__sessions_next_attempt(&ss, ag, id), 1);
	haven__sessions_fini(&ss);
}

/* An aborted pass sent nothing: the attempt it planned is taken back. */
static void
test_unplan_keeps_attempt(void **state)
{
	haven_sessions ss = {NULL, 0};
	uint8_t id[HAVEN_MSGID_BYTES] = {8}, id2[HAVEN_MSGID_BYTES] = {9};
	const char *ag = "school.urn.110123";

	(void) state;
	hello(&ss, 1, ag, 0);
	assert_int_equal(haven__session_add(&ss, ss.v[0], id, 2, 0, 400),
	    HAVEN_OK);
	assert_int_equal(haven__session_add(&ss, ss.v[0], id2, 1, 0, 200),
	    HAVEN_OK);
	haven__session_unplan(ss.v[0], id);
	haven__session_unplan(ss.v[0], id2);
	haven__session_unplan(ss.v[0], id2); /* not in flight: no effect */
	assert_int_equal(ss.v[0]->n_inflight, 0);
	assert_int_equal(haven__sessions_next_attempt(&ss, ag, id), 2);
	assert_int_equal(haven__sessions_next_attempt(&ss, ag, id2), 1);
	haven__sessions_fini(&ss);
}

/* A new connection resets its agency's backoff, never another agency's,
 * and never makes a message due sooner than base after its last send. */
static void
test_reset_on_new_connection(void **state)
{
	haven_sessions ss = {NULL, 0};
	uint8_t old[HAVEN_MSGID_BYTES] = {1}, recent[HAVEN_MSGID_BYTES] = {2};
	uint8_t parked[HAVEN_MSGID_BYTES] = {3}, other[HAVEN_MSGID_BYTES] = {4};
	const char *ag = "school.urn.110123";
	haven_session *a, *o;

	(void) state;
	hello(&ss, 1, ag, 0);
	hello(&ss, 2, "school.urn.110456", 0);
	a = ss.v[0];
	o = ss.v[1];
	assert_int_equal(haven__session_add(&ss, a, parked, 3, 0, 800),
	    HAVEN_OK);
	haven__sessions_tick(&ss, 800, 60000);
	assert_int_equal(haven__session_add(&ss, a, old, 5, 1000, 4200),
	    HAVEN_OK);
	assert_int_equal(haven__session_add(&ss, a, recent, 4, 3000, 4600),
	    HAVEN_OK);
	assert_int_equal(haven__session_add(&ss, o, other, 4, 1000, 4200),
	    HAVEN_OK);
	a->want = false;
	hello(&ss, 3, ag, 3100); /* the restarted agent */
	haven__sessions_reset(&ss, ss.v[2], 3100, 200);
	/* Sent 2.1 s ago and parked: due now, as attempt 1, for the new
	 * session only (the old one's freed slots do not want a pass). */
	assert_false(haven__sessions_inflight(&ss, ag, old));
	assert_int_equal(haven__sessions_next_attempt(&ss, ag, old), 1);
	assert_int_equal(haven__sessions_next_attempt(&ss, ag, parked), 1);
	assert_false(a->want);
	assert_true(ss.v[2]->want);
	/* Sent 100 ms ago: waits until 200 ms after that send, then is
	 * attempt 1 again. */
	assert_true(haven__sessions_inflight(&ss, ag, recent));
	haven__sessions_tick(&ss, 3199, 60000);
	assert_true(haven__sessions_inflight(&ss, ag, recent));
	haven__sessions_tick(&ss, 3200, 60000);
	assert_false(haven__sessions_inflight(&ss, ag, recent));
	assert_int_equal(haven__sessions_next_attempt(&ss, ag, recent), 1);
	/* Another agency keeps its backoff. */
	assert_true(haven__sessions_inflight(&ss, "school.urn.110456",
	    other));
	haven__sessions_fini(&ss);
}

/* Whatever a peer does, a session parks at most HAVEN_CREDIT_MAX. */
static void
test_parked_bounded(void **state)
{
	haven_sessions ss = {NULL, 0};
	uint8_t id[HAVEN_MSGID_BYTES];
	uint32_t k = 0;

	(void) state;
	hello(&ss, 1, "school.urn.110123", 0);
	for (int round = 0; round < 3; round++) {
		for (uint32_t i = 0; i < HAVEN_CREDIT_MAX; i++, k++) {
			memset(id, 0, sizeof(id));
			memcpy(id, &k, sizeof(k));
			assert_int_equal(haven__session_add(&ss, ss.v[0], id,
			    1, 0, 10), HAVEN_OK);
		}
		haven__sessions_tick(&ss, 10, 60000);
		assert_int_equal(ss.v[0]->n_inflight, 0);
		assert_int_equal(ss.v[0]->n_parked, HAVEN_CREDIT_MAX);
	}
	haven__sessions_fini(&ss);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_agency_cannot_evict_others),
		cmocka_unit_test(test_table_bounded),
		cmocka_unit_test(test_hello_update_and_replace),
		cmocka_unit_test(test_tick_expiry),
		cmocka_unit_test(test_agency_inflight_cap),
		cmocka_unit_test(test_backoff_schedule),
		cmocka_unit_test(test_attempt_remembered),
		cmocka_unit_test(test_unplan_keeps_attempt),
		cmocka_unit_test(test_reset_on_new_connection),
		cmocka_unit_test(test_parked_bounded),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
