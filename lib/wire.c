/*
 * lib/wire.c: Frame <-> haven_frame, and broker receipts.
 *
 * Every byte here comes from a peer that may be hostile, so decoding is a
 * fixed sequence: cap the length (HAVEN_FRAME_MAX) before protobuf-c
 * allocates anything, unpack, check the version, check that exactly one body
 * is present, copy each field into the fixed-size C struct (exact lengths for
 * ids, hashes and signatures; strings must fit, they are never truncated),
 * then run the same validation that encode runs on its input. Finally the
 * frame must hold no unknown fields and re-encode to exactly the length
 * received: this refuses repeated or non-canonical fields and strings with
 * embedded NULs (which protobuf-c would otherwise cut short without telling
 * us), so one frame has one meaning.
 *
 * The generated protobuf-c structs never leave this file. A decoded frame
 * owns one heap buffer (the envelope); haven_frame_release frees it.
 *
 * Receipts are signed by the broker over a fixed, domain-separated byte
 * string so a receipt signature can never be mistaken for any other
 * signature the broker key makes (checkpoints use their own label).
 */
#include <stdlib.h>
#include <string.h>

#include "haven.pb-c.h"
#include "haven/wire.h"
#include "pbutil.h"
#include "util.h"

#define RECEIPT_LABEL "haven-receipt-v1"
#define RECEIPT_LABEL_LEN (sizeof(RECEIPT_LABEL) - 1)
#define RECEIPT_MSG_LEN                                                   \
	(RECEIPT_LABEL_LEN + HAVEN_MSGID_BYTES + 8 + HAVEN_HASH_BYTES + 8 +   \
	    HAVEN_HASH_BYTES)

/* ------------------------------------------------------------ helpers */

static bool
kind_valid(haven_frame_kind k)
{
	return (k >= HAVEN_FRAME_HELLO && k <= HAVEN_FRAME_ERROR);
}

static bool
needs_envelope(haven_frame_kind k)
{
	return (k == HAVEN_FRAME_SUBMIT || k == HAVEN_FRAME_DELIVER);
}

/* The checks shared by encode (on its input) and decode (on its output). */
static haven_err
frame_check(const haven_frame *f)
{
	if (!kind_valid(f->kind)) {
		return (HAVEN_EINVAL);
	}
	if (needs_envelope(f->kind)) {
		if (f->envelope == NULL || f->envelope_len == 0) {
			return (HAVEN_EINVAL);
		}
		if (f->envelope_len > HAVEN_FRAME_MAX) {
			return (HAVEN_EMSGSIZE);
		}
	}
	if (f->kind == HAVEN_FRAME_REJECT &&
	    (!haven__text_ok(f->reject.rule, sizeof(f->reject.rule)) ||
	        !haven__text_ok(f->reject.reason, sizeof(f->reject.reason)))) {
		return (HAVEN_EINVAL);
	}
	if (f->kind == HAVEN_FRAME_ERROR &&
	    !haven__text_ok(f->error_reason, sizeof(f->error_reason))) {
		return (HAVEN_EINVAL);
	}
	return (HAVEN_OK);
}

/* ------------------------------------------------------------ receipts */

static void
receipt_message(uint8_t m[RECEIPT_MSG_LEN], const haven_receipt *r)
{
	uint8_t *p = m;

	memcpy(p, RECEIPT_LABEL, RECEIPT_LABEL_LEN);
	p += RECEIPT_LABEL_LEN;
	memcpy(p, r->msg_id, HAVEN_MSGID_BYTES);
	p += HAVEN_MSGID_BYTES;
	haven__be64_put(p, r->audit_seq);
	p += 8;
	memcpy(p, r->entry_hash, HAVEN_HASH_BYTES);
	p += HAVEN_HASH_BYTES;
	haven__be64_put(p, (uint64_t) r->accepted_ms);
	p += 8;
	memcpy(p, r->envelope_hash, HAVEN_HASH_BYTES);
}

void
haven_receipt_sign(haven_receipt *r, const haven_keys *broker)
{
	uint8_t m[RECEIPT_MSG_LEN];

	receipt_message(m, r);
	haven_keys_sign(broker, r->sig, m, sizeof(m));
}

haven_err
haven_receipt_verify(const haven_receipt *r,
    const uint8_t broker_sign_pk[HAVEN_KEY_BYTES])
{
	uint8_t m[RECEIPT_MSG_LEN];

	receipt_message(m, r);
	if (haven_sig_verify(r->sig, m, sizeof(m), broker_sign_pk) !=
	    HAVEN_OK) {
		return (HAVEN_ESIG);
	}
	return (HAVEN_OK);
}

void
haven_receipt_pack(const haven_receipt *r, uint8_t out[HAVEN_RECEIPT_BYTES])
{
	uint8_t *p = out;

	memcpy(p, r->msg_id, HAVEN_MSGID_BYTES);
	p += HAVEN_MSGID_BYTES;
	haven__be64_put(p, r->audit_seq);
	p += 8;
	memcpy(p, r->entry_hash, HAVEN_HASH_BYTES);
	p += HAVEN_HASH_BYTES;
	haven__be64_put(p, (uint64_t) r->accepted_ms);
	p += 8;
	memcpy(p, r->envelope_hash, HAVEN_HASH_BYTES);
	p += HAVEN_HASH_BYTES;
	memcpy(p, r->sig, HAVEN_SIG_BYTES);
}

haven_err
haven_receipt_unpack(haven_receipt *r, const uint8_t *buf, size_t len)
{
	const uint8_t *p = buf;

	memset(r, 0, sizeof(*r));
	if (buf == NULL || len != HAVEN_RECEIPT_BYTES) {
		return (HAVEN_EINVAL);
	}
	memcpy(r->msg_id, p, HAVEN_MSGID_BYTES);
	p += HAVEN_MSGID_BYTES;
	r->audit_seq = haven__be64_get(p);
	p += 8;
	memcpy(r->entry_hash, p, HAVEN_HASH_BYTES);
	p += HAVEN_HASH_BYTES;
	r->accepted_ms = (int64_t) haven__be64_get(p);
	p += 8;
	memcpy(r->envelope_hash, p, HAVEN_HASH_BYTES);
	p += HAVEN_HASH_BYTES;
	memcpy(r->sig, p, HAVEN_SIG_BYTES);
	return (HAVEN_OK);
}

static haven_err
receipt_from_pb(haven_receipt *r, const Haven__Receipt *pb)
{
	if (pb == NULL) {
		return (HAVEN_EINVAL);
	}
	if (haven__pb_bytes(r->msg_id, HAVEN_MSGID_BYTES, &pb->msg_id) != 0 ||
	    haven__pb_bytes(r->entry_hash, HAVEN_HASH_BYTES, &pb->entry_hash) !=
	        0 ||
	    haven__pb_bytes(r->envelope_hash, HAVEN_HASH_BYTES,
	        &pb->envelope_hash) != 0 ||
	    haven__pb_bytes(r->sig, HAVEN_SIG_BYTES, &pb->signature) != 0) {
		return (HAVEN_EINVAL);
	}
	r->audit_seq = pb->audit_seq;
	r->accepted_ms = pb->accepted_ms;
	return (HAVEN_OK);
}

static void
receipt_to_pb(Haven__Receipt *pb, const haven_receipt *r)
{
	haven__receipt__init(pb);
	pb->msg_id = haven__pb_bin(r->msg_id, HAVEN_MSGID_BYTES);
	pb->audit_seq = r->audit_seq;
	pb->entry_hash = haven__pb_bin(r->entry_hash, HAVEN_HASH_BYTES);
	pb->accepted_ms = r->accepted_ms;
	pb->envelope_hash = haven__pb_bin(r->envelope_hash, HAVEN_HASH_BYTES);
	pb->signature = haven__pb_bin(r->sig, HAVEN_SIG_BYTES);
}

/* ------------------------------------------------------------ decode */

static haven_err
envelope_copy(haven_frame *f, const ProtobufCBinaryData *b)
{
	if (b->len == 0 || b->data == NULL) {
		return (HAVEN_EINVAL);
	}
	if (b->len > HAVEN_FRAME_MAX) {
		return (HAVEN_EMSGSIZE);
	}
	if ((f->envelope = malloc(b->len)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	memcpy(f->envelope, b->data, b->len);
	f->envelope_len = b->len;
	return (HAVEN_OK);
}

static haven_err
reject_from_pb(haven_reject *r, const Haven__Reject *pb)
{
	if (haven__pb_bytes(r->msg_id, HAVEN_MSGID_BYTES, &pb->msg_id) != 0 ||
	    haven__pb_str(r->rule, sizeof(r->rule), pb->rule) != 0 ||
	    haven__pb_str(r->reason, sizeof(r->reason), pb->reason) != 0) {
		return (HAVEN_EINVAL);
	}
	r->code = pb->code;
	return (HAVEN_OK);
}

/* The oneof member pointer is non-NULL whenever body_case is set; check
 * anyway rather than trust the generated code's invariant. */
static haven_err
body_from_pb(haven_frame *f, const Haven__Frame *pb)
{
	switch (pb->body_case) {
	case HAVEN__FRAME__BODY_HELLO:
		f->credit = pb->hello->credit;
		return (HAVEN_OK);
	case HAVEN__FRAME__BODY_SUBMIT:
		return (envelope_copy(f, &pb->submit->envelope));
	case HAVEN__FRAME__BODY_RECEIPT:
		return (receipt_from_pb(&f->receipt, pb->receipt));
	case HAVEN__FRAME__BODY_REJECT:
		return (reject_from_pb(&f->reject, pb->reject));
	case HAVEN__FRAME__BODY_DELIVER:
		if (receipt_from_pb(&f->receipt, pb->deliver->receipt) != 0) {
			return (HAVEN_EINVAL);
		}
		return (envelope_copy(f, &pb->deliver->envelope));
	case HAVEN__FRAME__BODY_ACK:
		return (haven__pb_bytes(f->msg_id, HAVEN_MSGID_BYTES,
		    &pb->ack->msg_id));
	case HAVEN__FRAME__BODY_CREDIT:
		f->credit = pb->credit->credit;
		return (HAVEN_OK);
	case HAVEN__FRAME__BODY_HEARTBEAT:
		f->now_ms = pb->heartbeat->now_ms;
		return (HAVEN_OK);
	case HAVEN__FRAME__BODY_ERROR:
		f->error_code = pb->error->code;
		return (haven__pb_str(f->error_reason, sizeof(f->error_reason),
		    pb->error->reason));
	default:
		return (HAVEN_EDECODE);
	}
}

/*
 * protobuf-c keeps unknown fields and packs them again, so the size check
 * alone does not see them: count them in every message of the frame.
 */
static bool
has_unknown(const Haven__Frame *pb)
{
	/* Every body is a message; its ProtobufCMessage comes first. */
	const ProtobufCMessage *body = (const ProtobufCMessage *) pb->hello;

	if (pb->base.n_unknown_fields != 0 || body->n_unknown_fields != 0) {
		return (true);
	}
	return (pb->body_case == HAVEN__FRAME__BODY_DELIVER &&
	    pb->deliver->receipt != NULL &&
	    pb->deliver->receipt->base.n_unknown_fields != 0);
}

static haven_err
frame_from_pb(haven_frame *f, const Haven__Frame *pb, size_t len)
{
	haven_err rv;

	if (pb->version != HAVEN_PROTOCOL_VERSION) {
		return (HAVEN_EVERSION);
	}
	if (pb->body_case == HAVEN__FRAME__BODY__NOT_SET ||
	    pb->hello == NULL) { /* any union member: all are pointers */
		return (HAVEN_EDECODE);
	}
	if (has_unknown(pb) || !haven__pb_canonical(&pb->base, len)) {
		return (HAVEN_EDECODE);
	}
	f->kind = (haven_frame_kind) pb->body_case;
	if ((rv = body_from_pb(f, pb)) != HAVEN_OK) {
		return (rv);
	}
	return (frame_check(f));
}

haven_err
haven_frame_decode(haven_frame *f, const uint8_t *buf, size_t len)
{
	ProtobufCMessage *m;
	haven_err rv;

	memset(f, 0, sizeof(*f));
	if ((rv = haven__pb_unpack(&haven__frame__descriptor, HAVEN_FRAME_MAX,
	         buf, len, &m)) != HAVEN_OK) {
		return (rv);
	}
	rv = frame_from_pb(f, (const Haven__Frame *) m, len);
	protobuf_c_message_free_unpacked(m, NULL);
	if (rv != HAVEN_OK) {
		haven_frame_release(f);
	}
	return (rv);
}

void
haven_frame_release(haven_frame *f)
{
	if (f == NULL) {
		return;
	}
	free(f->envelope);
	memset(f, 0, sizeof(*f));
}

/* ------------------------------------------------------------ encode */

/* All sub-messages live here, on the caller's stack, for one encode. */
typedef struct {
	Haven__Hello hello;
	Haven__Submit submit;
	Haven__Receipt receipt;
	Haven__Reject reject;
	Haven__Deliver deliver;
	Haven__Ack ack;
	Haven__Credit credit;
	Haven__Heartbeat heartbeat;
	Haven__Error error;
} bodies;

static void
body_to_pb(Haven__Frame *pb, bodies *b, const haven_frame *f)
{
	pb->body_case = (Haven__Frame__BodyCase) f->kind;
	switch (f->kind) {
	case HAVEN_FRAME_HELLO:
		haven__hello__init(&b->hello);
		b->hello.credit = f->credit;
		pb->hello = &b->hello;
		break;
	case HAVEN_FRAME_SUBMIT:
		haven__submit__init(&b->submit);
		b->submit.envelope = haven__pb_bin(f->envelope,
		    f->envelope_len);
		pb->submit = &b->submit;
		break;
	case HAVEN_FRAME_RECEIPT:
		receipt_to_pb(&b->receipt, &f->receipt);
		pb->receipt = &b->receipt;
		break;
	case HAVEN_FRAME_REJECT:
		haven__reject__init(&b->reject);
		b->reject.msg_id = haven__pb_bin(f->reject.msg_id,
		    HAVEN_MSGID_BYTES);
		b->reject.code = f->reject.code;
		b->reject.rule = (char *) f->reject.rule;
		b->reject.reason = (char *) f->reject.reason;
		pb->reject = &b->reject;
		break;
	case HAVEN_FRAME_DELIVER:
		receipt_to_pb(&b->receipt, &f->receipt);
		haven__deliver__init(&b->deliver);
		b->deliver.envelope = haven__pb_bin(f->envelope,
		    f->envelope_len);
		b->deliver.receipt = &b->receipt;
		pb->deliver = &b->deliver;
		break;
	default:
		break;
	}
}

static void
small_body_to_pb(Haven__Frame *pb, bodies *b, const haven_frame *f)
{
	switch (f->kind) {
	case HAVEN_FRAME_ACK:
		haven__ack__init(&b->ack);
		b->ack.msg_id = haven__pb_bin(f->msg_id, HAVEN_MSGID_BYTES);
		pb->ack = &b->ack;
		break;
	case HAVEN_FRAME_CREDIT:
		haven__credit__init(&b->credit);
		b->credit.credit = f->credit;
		pb->credit = &b->credit;
		break;
	case HAVEN_FRAME_HEARTBEAT:
		haven__heartbeat__init(&b->heartbeat);
		b->heartbeat.now_ms = f->now_ms;
		pb->heartbeat = &b->heartbeat;
		break;
	case HAVEN_FRAME_ERROR:
		haven__error__init(&b->error);
		b->error.code = f->error_code;
		b->error.reason = (char *) f->error_reason;
		pb->error = &b->error;
		break;
	default:
		break;
	}
}

haven_err
haven_frame_encode(const haven_frame *f, uint8_t **out, size_t *out_len)
{
	Haven__Frame pb;
	bodies b;
	haven_err rv;

	*out = NULL;
	*out_len = 0;
	if ((rv = frame_check(f)) != HAVEN_OK) {
		return (rv);
	}
	haven__frame__init(&pb);
	pb.version = HAVEN_PROTOCOL_VERSION;
	body_to_pb(&pb, &b, f);
	small_body_to_pb(&pb, &b, f);
	return (haven__pb_pack(&pb.base, HAVEN_FRAME_MAX, out, out_len));
}
