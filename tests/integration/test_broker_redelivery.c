/*
 * tests/integration/test_broker_redelivery.c: what a recipient that never
 * acknowledges costs the real haven-broker.
 *
 * A raw DEALER takes a delivery and never acks (while sending Hello every
 * second, as agents do): with redeliver_ms = 200 the DELIVER audit entries
 * must grow logarithmically over 6 s (a fixed interval would write 30),
 * each naming its attempt. A restarted agent (new connection, new Hello)
 * gets the message at once, as attempt 1 again; an Ack stops the resends.
 * A peer acking what is not pending gets its log lines counted against the
 * flood budget instead of one line per bogus Ack.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>

#include "test_broker_client.h"

#define SCHOOL "school.urn.110456"

/* Set redeliver_ms in DIR/broker.json. */
static void
set_redeliver(hv_partnership *p, int ms)
{
	json_error_t je;
	json_t *doc = json_load_file(hv_path(p, "broker.json"), 0, &je);
	char *buf;

	assert_non_null(doc);
	assert_int_equal(json_object_set_new(doc, "redeliver_ms",
	    json_integer(ms)), 0);
	buf = json_dumps(doc, 0);
	assert_non_null(buf);
	assert_int_equal(hv_write(p, "broker.json", buf), 0);
	free(buf);
	json_decref(doc);
}

/* 0 if a Deliver of `id` arrives within timeout_ms (other frames are
 * dropped), -1 if not. */
static int
wait_deliver(bc_client *c, const uint8_t id[HAVEN_MSGID_BYTES],
    int timeout_ms)
{
	haven_envelope *e = NULL;
	haven_frame d;
	int rc;

	if (bc_expect(c, HAVEN_FRAME_DELIVER, &d, timeout_ms) != 0) {
		return (-1);
	}
	rc = haven_envelope_decode(&e, d.envelope, d.envelope_len) ==
	    HAVEN_OK && memcmp(e->hdr.msg_id, id, HAVEN_MSGID_BYTES) == 0 ?
	    0 : -1;
	haven_envelope_destroy(&e);
	haven_frame_release(&d);
	return (rc);
}

static void
send_hello(bc_client *c)
{
	haven_frame f;

	memset(&f, 0, sizeof(f));
	f.kind = HAVEN_FRAME_HELLO;
	f.credit = 4;
	assert_int_equal(bc_send(c, &f), 0);
}

/* Read for ms milliseconds, never acking, a Hello every second (which
 * must not reset the backoff); returns the Delivers received. */
static int
idle_without_ack(bc_client *c, int ms)
{
	int64_t start = haven__mono_ms(), hello = start;
	int got = 0;

	while (haven__mono_ms() - start < ms) {
		haven_frame f;
		if (bc_recv(c, &f, 50) == 0) {
			got += f.kind == HAVEN_FRAME_DELIVER;
			haven_frame_release(&f);
		}
		if (haven__mono_ms() - hello >= 1000) {
			send_hello(c);
			hello = haven__mono_ms();
		}
	}
	return (got);
}

static int
deliver_count(hv_partnership *p, const uint8_t *id, const char *reason)
{
	bc_audit_q q = {HAVEN_AUDIT_DELIVER, id, -1, NULL, reason};

	return (bc_audit_count(p, &q));
}

static void
test_never_acked_backs_off(void **state)
{
	hv_partnership *p = *state;
	bc_msg m = {.type = HAVEN_MSG_OE_NOTIFICATION,
	    .recipients = {SCHOOL}, .n = 1, .profile = "oe.setting",
	    .payload = "never acked"};
	bc_client police, a, b;
	uint8_t id[HAVEN_MSGID_BYTES];
	uint32_t queued = 0;
	int n, got, before;
	int64_t t;
	haven_frame f;

	set_redeliver(p, 200);
	assert_int_equal(hv_broker_start(p), 0);
	assert_int_equal(bc_open(&police, p, "police.cambs"), 0);
	bc_submit_ok(&police, &m, id);
	assert_int_equal(bc_open(&a, p, SCHOOL), 0);
	assert_int_equal(bc_hello(&a, 4, &queued), 0);
	assert_int_equal(queued, 1);
	assert_int_equal(wait_deliver(&a, id, 3000), 0);

	/* 6 s unacknowledged: sends at about 0, .2, .6, 1.4, 3.0 s. */
	got = idle_without_ack(&a, 6000);
	n = deliver_count(p, id, NULL);
	if (n < 4 || n > 6) {
		fail_msg("%d DELIVER entries in 6 s at redeliver_ms 200", n);
	}
	assert_in_range(got, (unsigned) n - 2, (unsigned) n);
	assert_int_equal(deliver_count(p, id, "attempt=1"), 1);
	assert_int_equal(deliver_count(p, id, "attempt=4"), 1);

	/* Just after a resend the next one is > 6 s away; a restarted agent
	 * (new connection) still gets the message at once, as attempt 1. */
	assert_int_equal(wait_deliver(&a, id, 8000), 0);
	before = deliver_count(p, id, NULL);
	bc_close(&a);
	assert_int_equal(bc_open(&b, p, SCHOOL), 0);
	t = haven__mono_ms();
	assert_int_equal(bc_hello(&b, 4, &queued), 0);
	assert_int_equal(wait_deliver(&b, id, 2000), 0);
	if (haven__mono_ms() - t > 1500) {
		fail_msg("restarted agent waited %lld ms",
		    (long long) (haven__mono_ms() - t));
	}
	assert_true(deliver_count(p, id, "attempt=1") >= 2);
	assert_true(deliver_count(p, id, NULL) > before);

	/* An Ack stops the resends. */
	assert_int_equal(bc_ack(&b, id), 0);
	assert_true(bc_log_wait(p, "HAVEN-BRK-ACK agency=" SCHOOL, 3000));
	n = deliver_count(p, id, NULL);
	assert_int_equal(bc_expect(&b, HAVEN_FRAME_DELIVER, &f, 2000), -1);
	assert_int_equal(deliver_count(p, id, NULL), n);
	bc_close(&b);
	bc_close(&police);
	assert_int_equal(hv_broker_stop(p), 0);
	assert_true(bc_audit_verifies(p));
}

/* Occurrences of `needle` in DIR/broker.log. */
static int
log_count(hv_partnership *p, const char *needle)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	const char *s;
	int n = 0;

	assert_int_equal(haven__read_file(hv_path(p, "broker.log"), 64u << 20,
	    &buf, &len), HAVEN_OK);
	for (s = strstr((const char *) buf, needle); s != NULL;
	    s = strstr(s + 1, needle)) {
		n++;
	}
	free(buf);
	return (n);
}

/* Bogus Acks: at most the flood budget of log lines, then one summary. */
static void
test_bogus_acks_rate_limited(void **state)
{
	hv_partnership *p = *state;
	bc_audit_q sum = {HAVEN_AUDIT_REJECT, NULL, HAVEN_ENOTFOUND, SCHOOL,
	    "flood suppressed=50"};
	bc_client s;
	uint8_t id[HAVEN_MSGID_BYTES];
	uint32_t queued = 0;
	haven_frame f;

	assert_int_equal(hv_broker_start(p), 0);
	assert_int_equal(bc_open(&s, p, SCHOOL), 0);
	assert_int_equal(bc_hello(&s, 4, &queued), 0);
	for (int i = 0; i < 150; i++) {
		randombytes_buf(id, sizeof(id));
		assert_int_equal(bc_ack(&s, id), 0);
	}
	/* Frames of one connection are handled in order. */
	memset(&f, 0, sizeof(f));
	f.kind = HAVEN_FRAME_HEARTBEAT;
	assert_int_equal(bc_send(&s, &f), 0);
	assert_int_equal(bc_expect(&s, HAVEN_FRAME_HEARTBEAT, &f, 5000), 0);
	haven_frame_release(&f);
	assert_int_equal(log_count(p, "HAVEN-BRK-ACK-IGNORED agency=" SCHOOL),
	    100);
	assert_int_equal(log_count(p, "HAVEN-BRK-FLOOD agency=" SCHOOL), 1);
	bc_close(&s);
	assert_int_equal(hv_broker_stop(p), 0);
	/* The summary written at shutdown counts the rest. */
	assert_int_equal(bc_audit_count(p, &sum), 1);
	assert_true(bc_audit_verifies(p));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_never_acked_backs_off, bc_setup, bc_teardown),
		cmocka_unit_test_setup_teardown(
		    test_bogus_acks_rate_limited, bc_setup, bc_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
