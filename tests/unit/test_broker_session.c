/*
 * tests/unit/test_broker_session.c: the broker's session table
 * (broker/session.c).
 *
 * The table is memory only, so it is tested directly: an agency that opens
 * connection after connection (one stolen key is enough) must evict only
 * its own sessions, never another agency's; the table stays bounded; idle
 * sessions are forgotten; in-flight marks expire for redelivery.
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
	assert_int_equal(haven__session_add(s, id, 0), HAVEN_OK);
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
	assert_int_equal(haven__session_add(ss.v[1], id, 50000), HAVEN_OK);
	ss.v[1]->want = false;
	haven__sessions_tick(&ss, 55000, 30000, 60000);
	assert_int_equal(ss.n, 2);
	assert_true(haven__sessions_inflight(&ss, "school.urn.110456", id));
	haven__sessions_tick(&ss, 80001, 30000, 60000);
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
			assert_int_equal(haven__session_add(s, id, 0),
			    HAVEN_OK);
			total++;
		}
	}
	assert_int_equal(total, HAVEN_AGENCY_INFLIGHT_MAX);
	/* Another agency is not affected. */
	hello(&ss, 7, "school.urn.110456", 0);
	assert_int_equal(haven__session_room(&ss, ss.v[ss.n - 1]), 8);
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
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
