/*
 * tests/unit/test_wire.c: frame codec and broker receipts.
 *
 * Round trips for every frame kind, then the refusals a hostile peer can
 * provoke: oversize, every truncation, unknown version, no body, wrong
 * field lengths, over-long or control-laden strings, unknown fields.
 * Receipts are signed with real Ed25519 keys from haven_keys_generate.
 * Malformed frames are built with the generated protobuf-c code so that
 * each case breaks exactly one rule.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "haven.pb-c.h"
#include "haven/wire.h"

static haven_keys *broker;
static haven_pubkey broker_pub;

static int
setup(void **state)
{
	(void) state;
	if (sodium_init() < 0 ||
	    haven_keys_generate(&broker, "broker", 1) != HAVEN_OK) {
		return (-1);
	}
	haven_keys_public(broker, &broker_pub);
	return (0);
}

static int
teardown(void **state)
{
	(void) state;
	haven_keys_destroy(&broker);
	return (0);
}

static void
fill_receipt(haven_receipt *r)
{
	randombytes_buf(r->msg_id, sizeof(r->msg_id));
	r->audit_seq = 0x0102030405060708ULL;
	randombytes_buf(r->entry_hash, sizeof(r->entry_hash));
	r->accepted_ms = 1700000000123LL;
	randombytes_buf(r->envelope_hash, sizeof(r->envelope_hash));
	haven_receipt_sign(r, broker);
}

static uint8_t envelope_bytes[300];

/* A frame of `kind` with every relevant field set to something non-zero. */
static void
make_frame(haven_frame *f, haven_frame_kind kind)
{
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	randombytes_buf(envelope_bytes, sizeof(envelope_bytes));
	switch (kind) {
	case HAVEN_FRAME_HELLO:
	case HAVEN_FRAME_CREDIT:
		f->credit = 64;
		break;
	case HAVEN_FRAME_DELIVER:
		fill_receipt(&f->receipt);
		/* fall through */
	case HAVEN_FRAME_SUBMIT:
		f->envelope = envelope_bytes;
		f->envelope_len = sizeof(envelope_bytes);
		break;
	case HAVEN_FRAME_RECEIPT:
		fill_receipt(&f->receipt);
		break;
	case HAVEN_FRAME_REJECT:
		randombytes_buf(f->reject.msg_id, sizeof(f->reject.msg_id));
		f->reject.code = HAVEN_EPOLICY;
		strcpy(f->reject.rule, "oe-police-to-school");
		strcpy(f->reject.reason, "recipient role not allowed");
		break;
	case HAVEN_FRAME_ACK:
		randombytes_buf(f->msg_id, sizeof(f->msg_id));
		break;
	case HAVEN_FRAME_HEARTBEAT:
		f->now_ms = 1700000000999LL;
		break;
	case HAVEN_FRAME_ERROR:
		f->error_code = HAVEN_EREVOKED;
		strcpy(f->error_reason, "revoked");
		break;
	default:
		break;
	}
}

static void
assert_same(const haven_frame *a, const haven_frame *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->credit, b->credit);
	assert_int_equal(a->envelope_len, b->envelope_len);
	if (a->envelope_len > 0) {
		assert_memory_equal(a->envelope, b->envelope, a->envelope_len);
	}
	assert_memory_equal(&a->receipt, &b->receipt, sizeof(a->receipt));
	assert_memory_equal(&a->reject, &b->reject, sizeof(a->reject));
	assert_memory_equal(a->msg_id, b->msg_id, sizeof(a->msg_id));
	assert_true(a->now_ms == b->now_ms);
	assert_int_equal(a->error_code, b->error_code);
	assert_string_equal(a->error_reason, b->error_reason);
}

static const haven_frame_kind all_kinds[] = {HAVEN_FRAME_HELLO,
    HAVEN_FRAME_SUBMIT, HAVEN_FRAME_RECEIPT, HAVEN_FRAME_REJECT,
    HAVEN_FRAME_DELIVER, HAVEN_FRAME_ACK, HAVEN_FRAME_CREDIT,
    HAVEN_FRAME_HEARTBEAT, HAVEN_FRAME_ERROR};
#define N_KINDS (sizeof(all_kinds) / sizeof(all_kinds[0]))

static void
test_round_trip_every_kind(void **state)
{
	(void) state;
	for (size_t i = 0; i < N_KINDS; i++) {
		haven_frame in, out;
		uint8_t *buf;
		size_t len;

		make_frame(&in, all_kinds[i]);
		assert_int_equal(haven_frame_encode(&in, &buf, &len), HAVEN_OK);
		assert_int_equal(haven_frame_decode(&out, buf, len), HAVEN_OK);
		assert_same(&in, &out);
		if (in.envelope != NULL) {
			assert_ptr_not_equal(out.envelope, in.envelope);
		}
		haven_frame_release(&out);
		assert_null(out.envelope);
		free(buf);
	}
}

static void
test_truncated_at_every_length(void **state)
{
	(void) state;
	for (size_t i = 0; i < N_KINDS; i++) {
		haven_frame in, out;
		uint8_t *buf;
		size_t len;

		make_frame(&in, all_kinds[i]);
		assert_int_equal(haven_frame_encode(&in, &buf, &len), HAVEN_OK);
		for (size_t cut = 0; cut < len; cut++) {
			assert_int_not_equal(haven_frame_decode(&out, buf, cut),
			    HAVEN_OK);
			assert_null(out.envelope);
			assert_int_equal(out.kind, HAVEN_FRAME_NONE);
		}
		free(buf);
	}
}

static void
test_oversize(void **state)
{
	haven_frame f, out;
	uint8_t *big = calloc(1, HAVEN_FRAME_MAX + 1);
	uint8_t *buf;
	size_t len;

	(void) state;
	assert_non_null(big);
	assert_int_equal(haven_frame_decode(&out, big, HAVEN_FRAME_MAX + 1),
	    HAVEN_EMSGSIZE);
	/* An envelope that fits alone but not with the framing around it. */
	make_frame(&f, HAVEN_FRAME_SUBMIT);
	f.envelope = big;
	f.envelope_len = HAVEN_FRAME_MAX;
	assert_int_equal(haven_frame_encode(&f, &buf, &len), HAVEN_EMSGSIZE);
	assert_null(buf);
	f.envelope_len = HAVEN_FRAME_MAX - 64;
	assert_int_equal(haven_frame_encode(&f, &buf, &len), HAVEN_OK);
	assert_true(len <= HAVEN_FRAME_MAX);
	assert_int_equal(haven_frame_decode(&out, buf, len), HAVEN_OK);
	assert_int_equal(out.envelope_len, HAVEN_FRAME_MAX - 64);
	haven_frame_release(&out);
	free(buf);
	free(big);
}

/* ---------------------------------------- hand-made malformed frames */

static haven_err
decode_pb(const Haven__Frame *pb)
{
	size_t len = haven__frame__get_packed_size(pb);
	uint8_t *buf = malloc(len + 1);
	haven_frame f;
	haven_err rv;

	assert_non_null(buf);
	assert_int_equal(haven__frame__pack(pb, buf), len);
	rv = haven_frame_decode(&f, buf, len);
	if (rv == HAVEN_OK) {
		haven_frame_release(&f);
	}
	free(buf);
	return (rv);
}

static void
test_version_and_body(void **state)
{
	Haven__Frame pb = HAVEN__FRAME__INIT;
	Haven__Heartbeat hb = HAVEN__HEARTBEAT__INIT;

	(void) state;
	hb.now_ms = 5;
	pb.body_case = HAVEN__FRAME__BODY_HEARTBEAT;
	pb.heartbeat = &hb;
	pb.version = HAVEN_PROTOCOL_VERSION;
	assert_int_equal(decode_pb(&pb), HAVEN_OK);
	pb.version = HAVEN_PROTOCOL_VERSION + 1;
	assert_int_equal(decode_pb(&pb), HAVEN_EVERSION);
	pb.version = 0;
	assert_int_equal(decode_pb(&pb), HAVEN_EVERSION);
	pb.version = HAVEN_PROTOCOL_VERSION;
	pb.body_case = HAVEN__FRAME__BODY__NOT_SET;
	pb.heartbeat = NULL;
	assert_int_equal(decode_pb(&pb), HAVEN_EDECODE);
}

static void
test_field_lengths(void **state)
{
	Haven__Frame pb = HAVEN__FRAME__INIT;
	Haven__Ack ack = HAVEN__ACK__INIT;
	Haven__Receipt rc = HAVEN__RECEIPT__INIT;
	uint8_t b[80] = {0};

	(void) state;
	pb.version = HAVEN_PROTOCOL_VERSION;
	pb.body_case = HAVEN__FRAME__BODY_ACK;
	pb.ack = &ack;
	ack.msg_id.data = b;
	ack.msg_id.len = 16;
	assert_int_equal(decode_pb(&pb), HAVEN_OK);
	ack.msg_id.len = 15;
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL);
	ack.msg_id.len = 17;
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL);
	ack.msg_id.len = 0;
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL);

	pb.body_case = HAVEN__FRAME__BODY_RECEIPT;
	pb.receipt = &rc;
	rc.msg_id = (ProtobufCBinaryData){16, b};
	rc.entry_hash = (ProtobufCBinaryData){32, b};
	rc.envelope_hash = (ProtobufCBinaryData){32, b};
	rc.signature = (ProtobufCBinaryData){64, b};
	assert_int_equal(decode_pb(&pb), HAVEN_OK);
	rc.entry_hash.len = 31;
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL);
	rc.entry_hash.len = 32;
	rc.envelope_hash.len = 33;
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL);
	rc.envelope_hash.len = 32;
	rc.signature.len = 63;
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL);
	rc.signature.len = 64;
	rc.msg_id.len = 32;
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL);
}

static void
test_deliver_and_submit_rules(void **state)
{
	Haven__Frame pb = HAVEN__FRAME__INIT;
	Haven__Deliver dl = HAVEN__DELIVER__INIT;
	Haven__Submit sb = HAVEN__SUBMIT__INIT;
	Haven__Receipt rc = HAVEN__RECEIPT__INIT;
	uint8_t b[64] = {1};

	(void) state;
	pb.version = HAVEN_PROTOCOL_VERSION;
	pb.body_case = HAVEN__FRAME__BODY_DELIVER;
	pb.deliver = &dl;
	dl.envelope = (ProtobufCBinaryData){10, b};
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL); /* no receipt */
	rc.msg_id = (ProtobufCBinaryData){16, b};
	rc.entry_hash = (ProtobufCBinaryData){32, b};
	rc.envelope_hash = (ProtobufCBinaryData){32, b};
	rc.signature = (ProtobufCBinaryData){64, b};
	dl.receipt = &rc;
	assert_int_equal(decode_pb(&pb), HAVEN_OK);
	dl.envelope.len = 0;
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL);

	pb.body_case = HAVEN__FRAME__BODY_SUBMIT;
	pb.submit = &sb;
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL); /* empty envelope */
	sb.envelope = (ProtobufCBinaryData){1, b};
	assert_int_equal(decode_pb(&pb), HAVEN_OK);
}

static void
test_strings(void **state)
{
	Haven__Frame pb = HAVEN__FRAME__INIT;
	Haven__Reject rj = HAVEN__REJECT__INIT;
	Haven__Error er = HAVEN__ERROR__INIT;
	uint8_t id[16] = {0};
	char s[200], rule[40];

	(void) state;
	pb.version = HAVEN_PROTOCOL_VERSION;
	pb.body_case = HAVEN__FRAME__BODY_REJECT;
	pb.reject = &rj;
	rj.msg_id = (ProtobufCBinaryData){16, id};
	memset(s, 'r', sizeof(s));
	s[159] = '\0'; /* 159 chars: the most that fits */
	rj.reason = s;
	assert_int_equal(decode_pb(&pb), HAVEN_OK);
	s[159] = 'r';
	s[160] = '\0';
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL);
	s[10] = '\0';
	s[3] = '\n';
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL); /* control char */
	s[3] = 'r';
	rj.reason = s;
	memset(rule, 'x', sizeof(rule));
	rule[32] = '\0'; /* 32 chars: one too many for rule[32] */
	rj.rule = rule;
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL);
	rule[31] = '\0';
	assert_int_equal(decode_pb(&pb), HAVEN_OK);

	pb.body_case = HAVEN__FRAME__BODY_ERROR;
	pb.error = &er;
	memset(s, 'e', sizeof(s));
	s[160] = '\0';
	er.reason = s;
	assert_int_equal(decode_pb(&pb), HAVEN_EINVAL);
	s[100] = '\0';
	assert_int_equal(decode_pb(&pb), HAVEN_OK);
}

static char *
find(uint8_t *buf, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++) {
		if (memcmp(buf + i, needle, n) == 0) {
			return ((char *) buf + i);
		}
	}
	return (NULL);
}

/* Bytes that unpack but are not what we would have sent: refused. */
static void
test_non_canonical(void **state)
{
	haven_frame in, out;
	uint8_t *buf, *more;
	size_t len;
	char *p;

	(void) state;
	make_frame(&in, HAVEN_FRAME_ERROR);
	strcpy(in.error_reason, "abcdef");
	assert_int_equal(haven_frame_encode(&in, &buf, &len), HAVEN_OK);
	more = malloc(len + 2);
	assert_non_null(more);
	memcpy(more, buf, len);
	more[len] = (15 << 3) | 0; /* unknown field 15, varint */
	more[len + 1] = 1;
	assert_int_equal(haven_frame_decode(&out, more, len + 2),
	    HAVEN_EDECODE);
	/* Same frame twice: the body appears twice on the wire. */
	free(more);
	more = malloc(2 * len);
	assert_non_null(more);
	memcpy(more, buf, len);
	memcpy(more + len, buf, len);
	assert_int_not_equal(haven_frame_decode(&out, more, 2 * len),
	    HAVEN_OK);
	free(more);
	/* An embedded NUL would silently shorten the reason. */
	p = find(buf, len, "abcdef");
	assert_non_null(p);
	p[2] = '\0';
	assert_int_not_equal(haven_frame_decode(&out, buf, len), HAVEN_OK);
	assert_int_not_equal(haven_frame_decode(&out, NULL, 0), HAVEN_OK);
	free(buf);
}

static void
test_garbage(void **state)
{
	uint8_t buf[256];
	haven_frame f;
	int ok = 0;

	(void) state;
	for (int i = 0; i < 2000; i++) {
		size_t len = randombytes_uniform(sizeof(buf));
		randombytes_buf(buf, len);
		if (haven_frame_decode(&f, buf, len) == HAVEN_OK) {
			ok++;
			haven_frame_release(&f);
		}
	}
	assert_true(ok < 10);
	haven_frame_release(NULL);
}

static void
test_encode_refusals(void **state)
{
	haven_frame f;
	uint8_t *buf = (uint8_t *) 1;
	size_t len = 1;

	(void) state;
	memset(&f, 0, sizeof(f));
	assert_int_equal(haven_frame_encode(&f, &buf, &len), HAVEN_EINVAL);
	assert_null(buf);
	assert_int_equal(len, 0);
	f.kind = 42;
	assert_int_equal(haven_frame_encode(&f, &buf, &len), HAVEN_EINVAL);
	make_frame(&f, HAVEN_FRAME_SUBMIT);
	f.envelope = NULL;
	assert_int_equal(haven_frame_encode(&f, &buf, &len), HAVEN_EINVAL);
	make_frame(&f, HAVEN_FRAME_DELIVER);
	f.envelope_len = 0;
	assert_int_equal(haven_frame_encode(&f, &buf, &len), HAVEN_EINVAL);
	make_frame(&f, HAVEN_FRAME_REJECT);
	memset(f.reject.rule, 'x', sizeof(f.reject.rule)); /* no NUL */
	assert_int_equal(haven_frame_encode(&f, &buf, &len), HAVEN_EINVAL);
	make_frame(&f, HAVEN_FRAME_ERROR);
	f.error_reason[0] = '\x1b';
	assert_int_equal(haven_frame_encode(&f, &buf, &len), HAVEN_EINVAL);
}

/* ---------------------------------------------------------- receipts */

static void
test_receipt_sign_verify(void **state)
{
	haven_receipt r, x;
	haven_keys *other;
	haven_pubkey other_pub;

	(void) state;
	fill_receipt(&r);
	assert_int_equal(haven_receipt_verify(&r, broker_pub.sign_pk),
	    HAVEN_OK);
	x = r;
	x.msg_id[15] ^= 1;
	assert_int_equal(haven_receipt_verify(&x, broker_pub.sign_pk),
	    HAVEN_ESIG);
	x = r;
	x.audit_seq++;
	assert_int_equal(haven_receipt_verify(&x, broker_pub.sign_pk),
	    HAVEN_ESIG);
	x = r;
	x.entry_hash[0] ^= 0x80;
	assert_int_equal(haven_receipt_verify(&x, broker_pub.sign_pk),
	    HAVEN_ESIG);
	x = r;
	x.accepted_ms--;
	assert_int_equal(haven_receipt_verify(&x, broker_pub.sign_pk),
	    HAVEN_ESIG);
	x = r;
	x.envelope_hash[31] ^= 2;
	assert_int_equal(haven_receipt_verify(&x, broker_pub.sign_pk),
	    HAVEN_ESIG);
	x = r;
	x.sig[10] ^= 4;
	assert_int_equal(haven_receipt_verify(&x, broker_pub.sign_pk),
	    HAVEN_ESIG);
	/* A receipt signed by anyone but the broker. */
	assert_int_equal(haven_keys_generate(&other, "police.cambs", 1),
	    HAVEN_OK);
	haven_keys_public(other, &other_pub);
	assert_int_equal(haven_receipt_verify(&r, other_pub.sign_pk),
	    HAVEN_ESIG);
	x = r;
	haven_receipt_sign(&x, other);
	assert_int_equal(haven_receipt_verify(&x, broker_pub.sign_pk),
	    HAVEN_ESIG);
	haven_keys_destroy(&other);
}

static void
test_receipt_through_frame_and_pack(void **state)
{
	haven_frame in, out;
	haven_receipt back;
	uint8_t packed[HAVEN_RECEIPT_BYTES], *buf;
	size_t len;

	(void) state;
	make_frame(&in, HAVEN_FRAME_DELIVER);
	assert_int_equal(haven_frame_encode(&in, &buf, &len), HAVEN_OK);
	assert_int_equal(haven_frame_decode(&out, buf, len), HAVEN_OK);
	assert_int_equal(haven_receipt_verify(&out.receipt,
	                     broker_pub.sign_pk),
	    HAVEN_OK);
	haven_receipt_pack(&out.receipt, packed);
	assert_int_equal(haven_receipt_unpack(&back, packed, sizeof(packed)),
	    HAVEN_OK);
	assert_memory_equal(&back, &out.receipt, sizeof(back));
	assert_int_equal(haven_receipt_verify(&back, broker_pub.sign_pk),
	    HAVEN_OK);
	assert_int_equal(haven_receipt_unpack(&back, packed,
	                     sizeof(packed) - 1),
	    HAVEN_EINVAL);
	assert_int_equal(haven_receipt_unpack(&back, NULL, sizeof(packed)),
	    HAVEN_EINVAL);
	haven_frame_release(&out);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_every_kind),
		cmocka_unit_test(test_truncated_at_every_length),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_version_and_body),
		cmocka_unit_test(test_field_lengths),
		cmocka_unit_test(test_deliver_and_submit_rules),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_non_canonical),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_receipt_sign_verify),
		cmocka_unit_test(test_receipt_through_frame_and_pack),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
