/*
 * tests/integration/test_broker_admission.c: the real haven-broker admits,
 * refuses, delivers and audits (DESIGN §4, §6; docs/architecture.md).
 *
 * One throw-away partnership and one broker for the group. Agents are raw
 * DEALER CURVE clients (test_broker_client.h) built from the partnership's
 * key files, so the tests can send what a real agent never would: forged
 * signatures, someone else's envelope, replays, stale timestamps,
 * forbidden sharing, garbage and oversized frames. Each refusal is proven
 * three ways: the Reject/Error code on the wire, a REJECT entry in the
 * broker's audit, and nothing stored or delivered.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>

#include "haven.pb-c.h"
#include "test_broker_client.h"

static hv_partnership part;

static int
group_setup(void **state)
{
	(void) state;
	if (sodium_init() < 0 || hv_partnership_create(&part) != 0 ||
	    hv_broker_start(&part) != 0) {
		return (-1);
	}
	return (0);
}

static int
group_teardown(void **state)
{
	(void) state;
	hv_partnership_destroy(&part);
	return (0);
}

static const bc_msg notify_one = {
	.type = HAVEN_MSG_OE_NOTIFICATION,
	.recipients = {"school.urn.110123"}, .n = 1,
	.profile = "oe.setting", .payload = "oe-payload-1",
};

static void
open_as(bc_client *c, const char *agency)
{
	assert_int_equal(bc_open(c, &part, agency), 0);
}

/* The message was neither stored nor delivered. */
static void
assert_nothing_stored(const uint8_t id[HAVEN_MSGID_BYTES])
{
	bc_audit_q sub = {HAVEN_AUDIT_SUBMIT, id, -1, NULL, NULL};
	bc_audit_q del = {HAVEN_AUDIT_DELIVER, id, -1, NULL, NULL};

	assert_int_equal(bc_audit_count(&part, &sub), 0);
	assert_int_equal(bc_audit_count(&part, &del), 0);
}

/* Submit `env` as `c` and expect a Reject with `code`, audited. */
static void
expect_reject(bc_client *c, const uint8_t *env, size_t len,
    const uint8_t id[HAVEN_MSGID_BYTES], haven_err code, const char *rule)
{
	bc_audit_q q = {HAVEN_AUDIT_REJECT, id, (int64_t) code, c->agency,
	    rule};
	haven_frame r;

	assert_int_equal(bc_submit(c, env, len, &r), 0);
	assert_int_equal(r.kind, HAVEN_FRAME_REJECT);
	if (r.reject.code != (uint32_t) code) {
		fail_msg("reject code %s, want %s (%s)",
		    haven_err_name((haven_err) r.reject.code),
		    haven_err_name(code), r.reject.reason);
	}
	if (rule != NULL) {
		assert_string_equal(r.reject.rule, rule);
	}
	if (id != NULL) {
		assert_memory_equal(r.reject.msg_id, id, HAVEN_MSGID_BYTES);
	}
	haven_frame_release(&r);
	assert_true(bc_audit_wait(&part, &q, 2000) >= 1);
	if (id != NULL) {
		assert_nothing_stored(id);
	}
}

static void
check_delivery(bc_client *school, const uint8_t id[HAVEN_MSGID_BYTES],
    const haven_receipt *rc)
{
	haven_envelope *env = NULL;
	char profile[HAVEN_CODE_MAX];
	uint8_t *payload = NULL;
	size_t plen = 0, present = 0;
	haven_frame d;

	assert_int_equal(bc_expect(school, HAVEN_FRAME_DELIVER, &d, 5000), 0);
	assert_int_equal(haven_envelope_decode(&env, d.envelope,
	    d.envelope_len), HAVEN_OK);
	assert_memory_equal(env->hdr.msg_id, id, HAVEN_MSGID_BYTES);
	assert_int_equal(haven_envelope_verify(env, school->dir), HAVEN_OK);
	/* Its own view only: the other school's view was stripped. */
	for (size_t i = 0; i < env->n_views; i++) {
		present += env->views[i] != NULL && env->view_len[i] > 0;
	}
	assert_int_equal(env->n_views, 2);
	assert_int_equal(present, 1);
	assert_int_equal(haven_envelope_open(env, school->keys, profile,
	    &payload, &plen), HAVEN_OK);
	assert_string_equal(profile, "oe.setting");
	assert_int_equal(plen, strlen("for-110123"));
	assert_memory_equal(payload, "for-110123", plen);
	assert_memory_equal(&d.receipt.sig, rc->sig, HAVEN_SIG_BYTES);
	assert_int_equal(haven_receipt_verify(&d.receipt,
	    school->broker_sign_pk), HAVEN_OK);
	free(payload);
	haven_envelope_destroy(&env);
	haven_frame_release(&d);
}

static void
test_happy_path(void **state)
{
	bc_msg m = {.type = HAVEN_MSG_OE_NOTIFICATION,
	    .recipients = {"school.urn.110123", "school.urn.110456"}, .n = 2,
	    .profile = "oe.setting", .payload = "for-110123",
	    .view_per_recipient = true};
	bc_audit_q ack = {HAVEN_AUDIT_ACK, NULL, -1, "school.urn.110123",
	    NULL};
	bc_audit_q del = {HAVEN_AUDIT_DELIVER, NULL, -1, NULL, NULL};
	bc_client police, school;
	uint8_t id[HAVEN_MSGID_BYTES], *env = NULL;
	size_t len = 0;
	uint32_t queued = 0;
	haven_frame r;

	(void) state;
	open_as(&police, "police.cambs");
	open_as(&school, "school.urn.110123");
	assert_int_equal(bc_seal(&police, &m, &env, &len, id), 0);
	assert_int_equal(bc_submit(&police, env, len, &r), 0);
	assert_int_equal(r.kind, HAVEN_FRAME_RECEIPT);
	assert_memory_equal(r.receipt.msg_id, id, HAVEN_MSGID_BYTES);
	assert_int_equal(haven_receipt_verify(&r.receipt,
	    police.broker_sign_pk), HAVEN_OK);
	assert_true(r.receipt.audit_seq > 0);

	assert_int_equal(bc_hello(&school, 8, &queued), 0);
	assert_int_equal(queued, 1);
	check_delivery(&school, id, &r.receipt);
	del.msg_id = id;
	assert_true(bc_audit_count(&part, &del) >= 1);
	assert_int_equal(bc_ack(&school, id), 0);
	ack.msg_id = id;
	assert_int_equal(bc_audit_wait(&part, &ack, 3000), 1);
	assert_int_equal(bc_hello(&school, 8, &queued), 0);
	assert_int_equal(queued, 0);
	/* An Ack for something not pending is ignored (and not audited). */
	assert_int_equal(bc_ack(&school, id), 0);
	assert_true(bc_log_wait(&part, "HAVEN-BRK-ACK-IGNORED", 3000));
	assert_int_equal(bc_audit_count(&part, &ack), 1);
	haven_frame_release(&r);
	free(env);
	bc_close(&school);
	bc_close(&police);
}

/* Flip one byte of `needle` inside buf. */
static void
corrupt_at(uint8_t *buf, size_t len, const uint8_t *needle, size_t nlen)
{
	for (size_t i = 0; i + nlen <= len; i++) {
		if (memcmp(buf + i, needle, nlen) == 0) {
			buf[i + nlen / 2] ^= 0x01;
			return;
		}
	}
	fail_msg("needle not found");
}

static void
test_forged_signature(void **state)
{
	bc_client police;
	haven_envelope *e = NULL;
	uint8_t id[HAVEN_MSGID_BYTES], *env = NULL;
	size_t len = 0;

	(void) state;
	open_as(&police, "police.cambs");
	/* Altered signature. */
	assert_int_equal(bc_seal(&police, &notify_one, &env, &len, id), 0);
	assert_int_equal(haven_envelope_decode(&e, env, len), HAVEN_OK);
	corrupt_at(env, len, e->sig, HAVEN_SIG_BYTES);
	haven_envelope_destroy(&e);
	expect_reject(&police, env, len, id, HAVEN_ESIG, NULL);
	free(env);
	/* Altered header (a signed field changed after signing). */
	assert_int_equal(bc_seal(&police, &notify_one, &env, &len, id), 0);
	corrupt_at(env, len, (const uint8_t *) "operation-encompass", 19);
	expect_reject(&police, env, len, id, HAVEN_ESIG, NULL);
	free(env);
	/* Altered view ciphertext (its hash is signed). */
	assert_int_equal(bc_seal(&police, &notify_one, &env, &len, id), 0);
	env[len - 5] ^= 0x40;
	expect_reject(&police, env, len, id, HAVEN_ESIG, NULL);
	free(env);
	bc_close(&police);
}

static void
test_sender_not_identity(void **state)
{
	bc_client police, school;
	uint8_t id[HAVEN_MSGID_BYTES], *env = NULL;
	size_t len = 0;

	(void) state;
	open_as(&police, "police.cambs");
	open_as(&school, "school.urn.110456");
	/* A genuine police envelope, submitted over the school's link. */
	assert_int_equal(bc_seal(&police, &notify_one, &env, &len, id), 0);
	expect_reject(&school, env, len, id, HAVEN_EIDENTITY, NULL);
	free(env);
	bc_close(&school);
	bc_close(&police);
}

static void
test_replay_and_idempotent(void **state)
{
	bc_client police;
	bc_msg m = notify_one;
	uint8_t id[HAVEN_MSGID_BYTES], id2[HAVEN_MSGID_BYTES];
	uint8_t *env = NULL, *env2 = NULL;
	size_t len = 0, len2 = 0;
	haven_frame r1, r2;
	bc_audit_q sub = {HAVEN_AUDIT_SUBMIT, NULL, -1, NULL, NULL};

	(void) state;
	open_as(&police, "police.cambs");
	assert_int_equal(bc_seal(&police, &m, &env, &len, id), 0);
	assert_int_equal(bc_submit(&police, env, len, &r1), 0);
	assert_int_equal(r1.kind, HAVEN_FRAME_RECEIPT);
	/* Identical bytes again: the very same receipt, stored once. */
	assert_int_equal(bc_submit(&police, env, len, &r2), 0);
	assert_int_equal(r2.kind, HAVEN_FRAME_RECEIPT);
	assert_memory_equal(&r1.receipt, &r2.receipt, sizeof(r1.receipt));
	sub.msg_id = id;
	assert_int_equal(bc_audit_count(&part, &sub), 1);
	/* Same id, other bytes: a replay. */
	m.keep_id = id;
	m.payload = "different";
	assert_int_equal(bc_seal(&police, &m, &env2, &len2, id2), 0);
	assert_memory_equal(id, id2, HAVEN_MSGID_BYTES);
	{
		bc_audit_q q = {HAVEN_AUDIT_REJECT, id, HAVEN_EREPLAY,
		    "police.cambs", NULL};
		haven_frame r3;
		assert_int_equal(bc_submit(&police, env2, len2, &r3), 0);
		assert_int_equal(r3.kind, HAVEN_FRAME_REJECT);
		assert_int_equal(r3.reject.code, HAVEN_EREPLAY);
		assert_true(bc_audit_wait(&part, &q, 2000) >= 1);
		haven_frame_release(&r3);
	}
	assert_int_equal(bc_audit_count(&part, &sub), 1);
	haven_frame_release(&r1);
	haven_frame_release(&r2);
	free(env);
	free(env2);
	bc_close(&police);
}

static void
test_timestamp_skew(void **state)
{
	bc_client police;
	bc_msg m = notify_one;
	uint8_t id[HAVEN_MSGID_BYTES], *env = NULL;
	size_t len = 0;

	(void) state;
	open_as(&police, "police.cambs");
	m.created_ms = haven__now_ms() - 3600 * 1000;
	assert_int_equal(bc_seal(&police, &m, &env, &len, id), 0);
	expect_reject(&police, env, len, id, HAVEN_ESKEW, NULL);
	free(env);
	m.created_ms = haven__now_ms() + 3600 * 1000;
	assert_int_equal(bc_seal(&police, &m, &env, &len, id), 0);
	expect_reject(&police, env, len, id, HAVEN_ESKEW, NULL);
	free(env);
	bc_close(&police);
}

static void
test_policy_refusals(void **state)
{
	bc_client school, police;
	bc_msg m = notify_one;
	uint8_t id[HAVEN_MSGID_BYTES], *env = NULL;
	size_t len = 0;

	(void) state;
	/* R1: a school sending an Encompass notification. */
	open_as(&school, "school.urn.110123");
	m.recipients[0] = "school.urn.110456";
	assert_int_equal(bc_seal(&school, &m, &env, &len, id), 0);
	expect_reject(&school, env, len, id, HAVEN_EPOLICY, "R1");
	free(env);
	bc_close(&school);
	/* Encompass to housing: refused by a rule (named in the reject). */
	open_as(&police, "police.cambs");
	m.recipients[0] = "housing.cambs";
	assert_int_equal(bc_seal(&police, &m, &env, &len, id), 0);
	{
		haven_frame r;
		bc_audit_q q = {HAVEN_AUDIT_REJECT, id, HAVEN_EPOLICY,
		    "police.cambs", NULL};
		assert_int_equal(bc_submit(&police, env, len, &r), 0);
		assert_int_equal(r.kind, HAVEN_FRAME_REJECT);
		assert_int_equal(r.reject.code, HAVEN_EPOLICY);
		assert_true(strlen(r.reject.rule) > 0);
		assert_non_null(strstr(r.reject.reason, "housing.cambs"));
		assert_true(bc_audit_wait(&part, &q, 2000) >= 1);
		haven_frame_release(&r);
	}
	assert_nothing_stored(id);
	free(env);
	bc_close(&police);
}

/* An Error for a frame we sent, and a REJECT audit entry with `code`. */
static void
expect_error(bc_client *c, haven_err code, int before)
{
	bc_audit_q q = {HAVEN_AUDIT_REJECT, NULL, (int64_t) code, c->agency,
	    "frame"};
	haven_frame r;

	assert_int_equal(bc_expect(c, HAVEN_FRAME_ERROR, &r, 5000), 0);
	assert_int_equal(r.error_code, code);
	haven_frame_release(&r);
	for (int i = 0; i < 40 && bc_audit_count(&part, &q) <= before; i++) {
		usleep(50000);
	}
	assert_true(bc_audit_count(&part, &q) > before);
}

static void
test_malformed_and_truncated(void **state)
{
	bc_client police;
	bc_audit_q q = {HAVEN_AUDIT_REJECT, NULL, HAVEN_EDECODE,
	    "police.cambs", "frame"};
	uint8_t junk[64], id[HAVEN_MSGID_BYTES], *env = NULL, *frame = NULL;
	size_t len = 0, flen = 0;
	haven_frame f;

	(void) state;
	open_as(&police, "police.cambs");
	memset(junk, 0xff, sizeof(junk));
	assert_int_equal(bc_send_raw(&police, junk, sizeof(junk)), 0);
	expect_error(&police, HAVEN_EDECODE, bc_audit_count(&part, &q));
	/* A valid Submit frame cut in half. */
	assert_int_equal(bc_seal(&police, &notify_one, &env, &len, id), 0);
	memset(&f, 0, sizeof(f));
	f.kind = HAVEN_FRAME_SUBMIT;
	f.envelope = env;
	f.envelope_len = len;
	assert_int_equal(haven_frame_encode(&f, &frame, &flen), HAVEN_OK);
	assert_int_equal(bc_send_raw(&police, frame, flen / 2), 0);
	{
		haven_frame r;
		assert_int_equal(bc_expect(&police, HAVEN_FRAME_ERROR, &r,
		    5000), 0);
		assert_int_not_equal(r.error_code, HAVEN_OK);
		haven_frame_release(&r);
	}
	assert_nothing_stored(id);
	/* A Submit whose envelope is cut: Reject with a decode code. */
	f.envelope_len = len / 2;
	{
		haven_frame r;
		bc_audit_q rq = {HAVEN_AUDIT_REJECT, NULL, -1, "police.cambs",
		    NULL};
		int before = bc_audit_count(&part, &rq);
		assert_int_equal(bc_submit(&police, env, len / 2, &r), 0);
		assert_int_equal(r.kind, HAVEN_FRAME_REJECT);
		assert_true(r.reject.code == HAVEN_EDECODE ||
		    r.reject.code == HAVEN_EINVAL);
		haven_frame_release(&r);
		for (int i = 0; i < 40 && bc_audit_count(&part, &rq) <= before;
		    i++) {
			usleep(50000);
		}
		assert_true(bc_audit_count(&part, &rq) > before);
	}
	/* A frame kind an agent must not send (a Credit). */
	memset(&f, 0, sizeof(f));
	f.kind = HAVEN_FRAME_CREDIT;
	f.credit = 5;
	q.outcome = HAVEN_EINVAL;
	{
		int before = bc_audit_count(&part, &q);
		assert_int_equal(bc_send(&police, &f), 0);
		expect_error(&police, HAVEN_EINVAL, before);
	}
	free(frame);
	free(env);
	bc_close(&police);
}

/* An envelope whose header lists more recipients than the limit. */
static void
over_limit_envelope(uint8_t **out, size_t *len, uint8_t id[16])
{
	Haven__Header h = HAVEN__HEADER__INIT;
	Haven__Envelope e = HAVEN__ENVELOPE__INIT;
	char *rcpt[HAVEN_MAX_RECIPIENTS + 8];
	char names[HAVEN_MAX_RECIPIENTS + 8][32];
	uint8_t sig[64] = {0}, *hb;

	randombytes_buf(id, 16);
	for (size_t i = 0; i < HAVEN_MAX_RECIPIENTS + 8; i++) {
		(void) snprintf(names[i], sizeof(names[i]), "school.urn.%zu",
		    100000 + i);
		rcpt[i] = names[i];
	}
	h.version = HAVEN_PROTOCOL_VERSION;
	h.msg_id.data = id;
	h.msg_id.len = 16;
	h.sender = "police.cambs";
	h.sender_gen = 1;
	h.type = HAVEN_MSG_OE_NOTIFICATION;
	h.n_recipients = HAVEN_MAX_RECIPIENTS + 8;
	h.recipients = rcpt;
	h.created_ms = haven__now_ms();
	hb = malloc(haven__header__get_packed_size(&h));
	assert_non_null(hb);
	e.header.len = haven__header__pack(&h, hb);
	e.header.data = hb;
	e.signature.data = sig;
	e.signature.len = sizeof(sig);
	*len = haven__envelope__get_packed_size(&e);
	*out = malloc(*len);
	assert_non_null(*out);
	(void) haven__envelope__pack(&e, *out);
	free(hb);
}

static void
test_oversized(void **state)
{
	bc_client police, probe;
	uint8_t id[HAVEN_MSGID_BYTES], *env = NULL, *big;
	size_t len = 0, blen = HAVEN_FRAME_MAX + 1024;
	haven_frame r;
	bc_audit_q q = {HAVEN_AUDIT_REJECT, NULL, HAVEN_EINVAL,
	    "police.cambs", NULL};

	(void) state;
	open_as(&police, "police.cambs");
	/* Over a header limit: refused with a code, audited. */
	over_limit_envelope(&env, &len, id);
	assert_int_equal(bc_submit(&police, env, len, &r), 0);
	assert_int_equal(r.kind, HAVEN_FRAME_REJECT);
	assert_int_equal(r.reject.code, HAVEN_EINVAL);
	haven_frame_release(&r);
	assert_true(bc_audit_wait(&part, &q, 2000) >= 1);
	assert_nothing_stored(id);
	free(env);
	/* Over max_frame_bytes: the transport drops the peer, no reply. */
	big = calloc(1, blen);
	assert_non_null(big);
	assert_int_equal(bc_send_raw(&police, big, blen), 0);
	assert_int_equal(bc_recv(&police, &r, 1500), -1);
	free(big);
	bc_close(&police);
	/* The broker is still serving everyone else. */
	open_as(&probe, "police.cambs");
	memset(&r, 0, sizeof(r));
	r.kind = HAVEN_FRAME_HEARTBEAT;
	assert_int_equal(bc_send(&probe, &r), 0);
	assert_int_equal(bc_expect(&probe, HAVEN_FRAME_HEARTBEAT, &r, 5000),
	    0);
	assert_true(r.now_ms > 0);
	haven_frame_release(&r);
	bc_close(&probe);
}

static void
test_unknown_key_refused_at_handshake(void **state)
{
	bc_client stranger;
	haven_keys *k = NULL;
	uint32_t queued = 0;
	haven_frame r;
	bc_audit_q q = {HAVEN_AUDIT_AUTH_FAIL, NULL, HAVEN_EUNKNOWN, NULL,
	    "unknown-key"};

	(void) state;
	/* Well-formed keys claiming a real agency id, not enrolled. */
	assert_int_equal(haven_keys_generate(&k, "police.cambs", 1), HAVEN_OK);
	assert_int_equal(bc_open_keys(&stranger, &part, k), 0);
	memset(&r, 0, sizeof(r));
	r.kind = HAVEN_FRAME_HELLO;
	r.credit = 4;
	/* The send may time out (no peer) or be dropped: no reply either way. */
	(void) bc_send(&stranger, &r);
	assert_int_equal(bc_recv(&stranger, &r, 1500), -1);
	assert_int_not_equal(bc_hello(&stranger, 4, &queued), 0);
	assert_true(bc_audit_wait(&part, &q, 3000) >= 1);
	bc_close(&stranger);
}

static void
test_read_receipt_rule(void **state)
{
	bc_client police, school, other;
	bc_msg n = notify_one;
	bc_msg rr = {.type = HAVEN_MSG_OE_RECEIPT,
	    .recipients = {"police.cambs"}, .n = 1, .profile = "oe.receipt",
	    .payload = "read"};
	uint8_t nid[16], rid[16], oid[16], *env = NULL;
	size_t len = 0;
	haven_frame r;
	bc_audit_q read = {HAVEN_AUDIT_READ, NULL, -1, "school.urn.110123",
	    NULL};

	(void) state;
	open_as(&police, "police.cambs");
	open_as(&school, "school.urn.110123");
	open_as(&other, "school.urn.110456");
	assert_int_equal(bc_seal(&police, &n, &env, &len, nid), 0);
	assert_int_equal(bc_submit(&police, env, len, &r), 0);
	assert_int_equal(r.kind, HAVEN_FRAME_RECEIPT);
	haven_frame_release(&r);
	free(env);
	/* A school that was not a recipient cannot send a receipt for it. */
	rr.reply_to = nid;
	assert_int_equal(bc_seal(&other, &rr, &env, &len, oid), 0);
	expect_reject(&other, env, len, oid, HAVEN_EPOLICY, "receipt");
	free(env);
	/* The recipient can; it is audited as a READ of the original. */
	assert_int_equal(bc_seal(&school, &rr, &env, &len, rid), 0);
	assert_int_equal(bc_submit(&school, env, len, &r), 0);
	assert_int_equal(r.kind, HAVEN_FRAME_RECEIPT);
	haven_frame_release(&r);
	free(env);
	read.msg_id = nid;
	assert_int_equal(bc_audit_wait(&part, &read, 2000), 1);
	/* A receipt for a message that does not exist. */
	rr.reply_to = rid;
	randombytes_buf(oid, sizeof(oid));
	rr.reply_to = oid;
	assert_int_equal(bc_seal(&school, &rr, &env, &len, rid), 0);
	expect_reject(&school, env, len, rid, HAVEN_EPOLICY, "receipt");
	free(env);
	bc_close(&other);
	bc_close(&school);
	bc_close(&police);
}

static void
test_clean_stop_and_audit_verifies(void **state)
{
	(void) state;
	assert_true(bc_audit_verifies(&part));
	assert_int_equal(hv_broker_stop(&part), 0);
	assert_true(bc_log_wait(&part, "HAVEN-BRK-STOP", 1000));
	assert_true(bc_audit_verifies(&part));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_happy_path),
		cmocka_unit_test(test_forged_signature),
		cmocka_unit_test(test_sender_not_identity),
		cmocka_unit_test(test_replay_and_idempotent),
		cmocka_unit_test(test_timestamp_skew),
		cmocka_unit_test(test_policy_refusals),
		cmocka_unit_test(test_malformed_and_truncated),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_unknown_key_refused_at_handshake),
		cmocka_unit_test(test_read_receipt_rule),
		cmocka_unit_test(test_clean_stop_and_audit_verifies),
	};

	return (cmocka_run_group_tests(tests, group_setup, group_teardown));
}
