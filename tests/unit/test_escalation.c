/*
 * tests/unit/test_escalation.c: the broker escalation payload codec
 * (lib/escalation.c) and its separation from the agents' R5 escalation
 * (haven_oe_payload_decode).
 *
 * Round trips for each reason, the JSON rendering, every refusal of the
 * encoder, and the decoder against hand-made protobuf bytes: truncated,
 * oversized, a notification present, unknown fields, a repeated field, a
 * NUL inside a string, a short message id. A broker escalation must never
 * decode as an agent's and an agent's never as a broker's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "haven.pb-c.h"
#include "haven/encompass.h"

#define DEADLINE 1796027400000LL /* 2026-11-30T08:30:00Z */
#define EVENT 1796027460000LL

static void
sample(haven_oe_escalation *e, const char *reason)
{
	memset(e, 0, sizeof(*e));
	(void) snprintf(e->reason, sizeof(e->reason), "%s", reason);
	for (int i = 0; i < HAVEN_MSGID_BYTES; i++) {
		e->about_msg_id[i] = (uint8_t) (0xa0 + i);
	}
	(void) snprintf(e->school, sizeof(e->school), "school.urn.110123");
	e->deadline_ms = DEADLINE;
	e->event_ms = EVENT;
	if (strcmp(reason, HAVEN_OE_REASON_CLOSED) == 0) {
		(void) snprintf(e->reader_role, sizeof(e->reader_role), "DSL");
	}
}

static void
roundtrip(const char *reason)
{
	haven_oe_escalation e, d;
	uint8_t *buf = NULL;
	size_t len = 0;

	sample(&e, reason);
	assert_int_equal(haven_oe_escalation_encode(&e, &buf, &len),
	    HAVEN_OK);
	assert_int_equal(haven_oe_escalation_decode(buf, len, &d), HAVEN_OK);
	assert_memory_equal(&e, &d, sizeof(e));
	/* and it is not an agent's R5 escalation */
	{
		haven_incident *inc = malloc(sizeof(*inc));
		char r[32];

		assert_non_null(inc);
		assert_int_equal(haven_oe_payload_decode(
		    HAVEN_MSG_OE_ESCALATION, buf, len, inc, r, sizeof(r)),
		    HAVEN_EINVAL);
		free(inc);
	}
	free(buf);
}

static void
test_roundtrip(void **state)
{
	(void) state;
	roundtrip(HAVEN_OE_REASON_DEADLINE);
	roundtrip(HAVEN_OE_REASON_OFFLINE);
	roundtrip(HAVEN_OE_REASON_CLOSED);
}

static void
test_json(void **state)
{
	haven_oe_escalation e;
	json_t *o;
	char *s = NULL;

	(void) state;
	sample(&e, HAVEN_OE_REASON_CLOSED);
	assert_int_equal(haven_oe_escalation_to_json(&e, &s), HAVEN_OK);
	o = json_loads(s, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o,
	    "escalation_reason")), "read-after-escalation");
	assert_string_equal(json_string_value(json_object_get(o,
	    "about_msg_id")), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
	assert_string_equal(json_string_value(json_object_get(o, "school")),
	    "school.urn.110123");
	assert_string_equal(json_string_value(json_object_get(o, "deadline")),
	    "2026-11-30T08:30:00Z");
	assert_int_equal(json_integer_value(json_object_get(o, "event_ms")),
	    EVENT);
	assert_string_equal(json_string_value(json_object_get(o,
	    "reader_role")), "DSL");
	json_decref(o);
	free(s);
	sample(&e, HAVEN_OE_REASON_DEADLINE);
	assert_int_equal(haven_oe_escalation_to_json(&e, &s), HAVEN_OK);
	assert_null(strstr(s, "reader_role"));
	free(s);
	e.deadline_ms = 0;
	assert_int_equal(haven_oe_escalation_to_json(&e, &s), HAVEN_EINVAL);
	assert_int_equal(haven_oe_escalation_to_json(NULL, &s), HAVEN_EINVAL);
}

static void
expect_encode_refused(const haven_oe_escalation *e)
{
	uint8_t *buf = (uint8_t *) 1;
	size_t len = 0;

	assert_int_equal(haven_oe_escalation_encode(e, &buf, &len),
	    HAVEN_EINVAL);
}

static void
test_encode_refusals(void **state)
{
	haven_oe_escalation e;
	uint8_t *buf = NULL;
	size_t len = 0;

	(void) state;
	sample(&e, "school-unknown"); /* an agent's reason, not the broker's */
	expect_encode_refused(&e);
	sample(&e, HAVEN_OE_REASON_DEADLINE);
	(void) snprintf(e.school, sizeof(e.school), "Not An Id");
	expect_encode_refused(&e);
	sample(&e, HAVEN_OE_REASON_DEADLINE);
	e.deadline_ms = 0;
	expect_encode_refused(&e);
	sample(&e, HAVEN_OE_REASON_DEADLINE);
	e.event_ms = -5;
	expect_encode_refused(&e);
	sample(&e, HAVEN_OE_REASON_OFFLINE);
	(void) snprintf(e.reader_role, sizeof(e.reader_role), "DSL");
	expect_encode_refused(&e); /* a role on anything but a closure */
	sample(&e, HAVEN_OE_REASON_CLOSED);
	e.reader_role[0] = '\0';
	expect_encode_refused(&e); /* a closure names the reader's role */
	sample(&e, HAVEN_OE_REASON_CLOSED);
	(void) snprintf(e.reader_role, sizeof(e.reader_role), "dsl;x");
	expect_encode_refused(&e);
	sample(&e, HAVEN_OE_REASON_DEADLINE);
	memset(e.school, 'a', sizeof(e.school)); /* unterminated */
	expect_encode_refused(&e);
	sample(&e, HAVEN_OE_REASON_DEADLINE);
	assert_int_equal(haven_oe_escalation_encode(NULL, &buf, &len),
	    HAVEN_EINVAL);
	assert_int_equal(haven_oe_escalation_encode(&e, NULL, &len),
	    HAVEN_EINVAL);
}

/* Pack a hand-made Escalation. */
static uint8_t *
pack(const Haven__Escalation *p, size_t *len)
{
	uint8_t *buf;

	*len = haven__escalation__get_packed_size(p);
	buf = malloc(2 * *len + 64); /* room to append to */
	assert_non_null(buf);
	assert_int_equal(haven__escalation__pack(p, buf), *len);
	return (buf);
}

static void
expect_decode(const uint8_t *buf, size_t len, haven_err want)
{
	haven_oe_escalation d;

	memset(&d, 0x5a, sizeof(d));
	assert_int_equal(haven_oe_escalation_decode(buf, len, &d), want);
	if (want != HAVEN_OK) {
		haven_oe_escalation zero;
		memset(&zero, 0, sizeof(zero));
		assert_memory_equal(&d, &zero, sizeof(d));
	}
}

static void
fill_pb(Haven__Escalation *p, uint8_t id[HAVEN_MSGID_BYTES])
{
	memset(id, 7, HAVEN_MSGID_BYTES);
	p->reason = (char *) HAVEN_OE_REASON_DEADLINE;
	p->about_msg_id.data = id;
	p->about_msg_id.len = HAVEN_MSGID_BYTES;
	p->school = (char *) "school.urn.110123";
	p->deadline_ms = DEADLINE;
	p->event_ms = EVENT;
}

static void
test_decode_refusals(void **state)
{
	Haven__Escalation p = HAVEN__ESCALATION__INIT;
	Haven__EncompassNotification n = HAVEN__ENCOMPASS_NOTIFICATION__INIT;
	uint8_t id[HAVEN_MSGID_BYTES], *buf, big[2048];
	size_t len;

	(void) state;
	fill_pb(&p, id);
	buf = pack(&p, &len);
	expect_decode(buf, len, HAVEN_OK);
	for (size_t cut = 0; cut < len; cut++) {
		haven_oe_escalation d;
		haven_err rv = haven_oe_escalation_decode(buf, cut, &d);
		assert_true(rv == HAVEN_EDECODE || rv == HAVEN_EINVAL);
	}
	/* a repeated field: decodes in protobuf, but is not canonical */
	memcpy(buf + len, buf, len);
	expect_decode(buf, 2 * len, HAVEN_EDECODE);
	/* an unknown field (99, varint 1) appended */
	buf[len] = (uint8_t) ((99 << 3) & 0x7f) | 0x80;
	buf[len + 1] = 99 >> 4;
	buf[len + 2] = 1;
	expect_decode(buf, len + 3, HAVEN_EDECODE);
	free(buf);
	/* a NUL inside the school */
	p.school = (char *) "school.urn.110123";
	buf = pack(&p, &len);
	for (size_t i = 0; i + 6 < len; i++) {
		if (memcmp(buf + i, "school", 6) == 0) {
			buf[i + 3] = '\0';
			break;
		}
	}
	expect_decode(buf, len, HAVEN_EDECODE);
	free(buf);
	/* an agent's escalation: it carries the notification */
	n.police_ref = (char *) "CC-1";
	p.notification = &n;
	buf = pack(&p, &len);
	expect_decode(buf, len, HAVEN_EDECODE);
	free(buf);
	p.notification = NULL;
	/* a short message id, an unknown reason, a bad school, times */
	p.about_msg_id.len = 8;
	buf = pack(&p, &len);
	expect_decode(buf, len, HAVEN_EINVAL);
	free(buf);
	fill_pb(&p, id);
	p.reason = (char *) "undeliverable";
	buf = pack(&p, &len);
	expect_decode(buf, len, HAVEN_EINVAL);
	free(buf);
	fill_pb(&p, id);
	p.school = (char *) "";
	buf = pack(&p, &len);
	expect_decode(buf, len, HAVEN_EINVAL);
	free(buf);
	fill_pb(&p, id);
	p.event_ms = 0;
	buf = pack(&p, &len);
	expect_decode(buf, len, HAVEN_EINVAL);
	free(buf);
	fill_pb(&p, id);
	p.reader_role = (char *) "DSL"; /* not a closure */
	buf = pack(&p, &len);
	expect_decode(buf, len, HAVEN_EINVAL);
	free(buf);
	fill_pb(&p, id);
	p.reader_role = (char *) "ABCDEFGHIJKLMNOPQRSTUVWXYZ"; /* too long */
	p.reason = (char *) HAVEN_OE_REASON_CLOSED;
	buf = pack(&p, &len);
	expect_decode(buf, len, HAVEN_EINVAL);
	free(buf);
	/* oversized, and bad arguments */
	memset(big, 0, sizeof(big));
	expect_decode(big, sizeof(big), HAVEN_EMSGSIZE);
	assert_int_equal(haven_oe_escalation_decode(NULL, 4, NULL),
	    HAVEN_EINVAL);
}

/* An agent's R5 escalation with a broker field set is refused by the
 * agents' decoder. */
static void
test_agent_decoder_refuses_broker_fields(void **state)
{
	Haven__Escalation p = HAVEN__ESCALATION__INIT;
	Haven__EncompassNotification n = HAVEN__ENCOMPASS_NOTIFICATION__INIT;
	Haven__EncompassChild c = HAVEN__ENCOMPASS_CHILD__INIT;
	Haven__EncompassChild *cp[1] = { &c };
	haven_incident *inc = malloc(sizeof(*inc));
	char reason[32];
	uint8_t *buf;
	size_t len;

	(void) state;
	assert_non_null(inc);
	c.name = (char *) "Test Child";
	c.dob = (char *) "2015-03-02";
	c.school = (char *) "school.urn.999999";
	n.police_ref = (char *) "CC-2026-1";
	n.occurred_at = (char *) "2026-11-27T22:40:00Z";
	n.location = (char *) "somewhere";
	n.circumstances = (char *) "something";
	n.n_children = 1;
	n.children = cp;
	p.reason = (char *) "school-unknown";
	p.notification = &n;
	buf = pack(&p, &len);
	assert_int_equal(haven_oe_payload_decode(HAVEN_MSG_OE_ESCALATION, buf,
	    len, inc, reason, sizeof(reason)), HAVEN_OK);
	assert_string_equal(reason, "school-unknown");
	free(buf);
	for (int f = 4; f <= 7; f++) {
		Haven__Escalation q = p;

		q.school = f == 4 ? (char *) "school.urn.1" : q.school;
		q.deadline_ms = f == 5 ? 1 : 0;
		q.event_ms = f == 6 ? 1 : 0;
		q.reader_role = f == 7 ? (char *) "DSL" : q.reader_role;
		buf = pack(&q, &len);
		assert_int_equal(haven_oe_payload_decode(
		    HAVEN_MSG_OE_ESCALATION, buf, len, inc, reason,
		    sizeof(reason)), HAVEN_EINVAL);
		free(buf);
	}
	free(inc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_decode_refusals),
		cmocka_unit_test(test_agent_decoder_refuses_broker_fields),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
