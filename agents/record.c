/*
 * agents/record.c: storage-record codecs (see record.h).
 *
 * Records come from our own sealed store, so they have already passed
 * authentication when they reach the decoder; the decoder still validates
 * every field as if hostile, because a bug or an old format must surface as
 * HAVEN_EDECODE, never as an out-of-bounds read.
 */
#include "record.h"

#include <stdlib.h>
#include <string.h>

#include "haven.pb-c.h"
#include "pbutil.h"

static void
receipt_to_pb(const haven_receipt *r, Haven__Receipt *pb)
{
	haven__receipt__init(pb);
	pb->msg_id = haven__pb_bin(r->msg_id, HAVEN_MSGID_BYTES);
	pb->audit_seq = r->audit_seq;
	pb->entry_hash = haven__pb_bin(r->entry_hash, HAVEN_HASH_BYTES);
	pb->accepted_ms = r->accepted_ms;
	pb->envelope_hash = haven__pb_bin(r->envelope_hash, HAVEN_HASH_BYTES);
	pb->signature = haven__pb_bin(r->sig, HAVEN_SIG_BYTES);
}

/* Any field that is not exactly its size is HAVEN_EDECODE here. */
static haven_err
receipt_from_pb(const Haven__Receipt *pb, haven_receipt *r)
{
	memset(r, 0, sizeof(*r));
	if (haven__pb_bytes(r->msg_id, HAVEN_MSGID_BYTES, &pb->msg_id) !=
	        HAVEN_OK ||
	    haven__pb_bytes(r->entry_hash, HAVEN_HASH_BYTES,
	        &pb->entry_hash) != HAVEN_OK ||
	    haven__pb_bytes(r->envelope_hash, HAVEN_HASH_BYTES,
	        &pb->envelope_hash) != HAVEN_OK ||
	    haven__pb_bytes(r->sig, HAVEN_SIG_BYTES, &pb->signature) !=
	        HAVEN_OK) {
		return (HAVEN_EDECODE);
	}
	r->audit_seq = pb->audit_seq;
	r->accepted_ms = pb->accepted_ms;
	return (HAVEN_OK);
}

static haven_err
env_in(uint8_t **dst, size_t *dlen, const ProtobufCBinaryData *b)
{
	if (b->len == 0 || b->len > HAVEN_FRAME_MAX || b->data == NULL) {
		return (HAVEN_EDECODE);
	}
	if ((*dst = malloc(b->len)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	memcpy(*dst, b->data, b->len);
	*dlen = b->len;
	return (HAVEN_OK);
}

haven_err
haven__agt_rec_inbox_encode(const haven__inbox_rec *r, uint8_t **out,
    size_t *len)
{
	Haven__InboxRecord pb;
	Haven__Receipt rpb;

	if (r->envelope == NULL || r->envelope_len == 0 ||
	    r->envelope_len > HAVEN_FRAME_MAX) {
		return (HAVEN_EINVAL);
	}
	haven__inbox_record__init(&pb);
	pb.envelope.data = r->envelope;
	pb.envelope.len = r->envelope_len;
	if (r->has_receipt) {
		receipt_to_pb(&r->receipt, &rpb);
		pb.receipt = &rpb;
	}
	pb.received_ms = r->received_ms;
	pb.read_ms = r->read_ms;
	pb.read_by = (char *) r->read_by;
	pb.read_role = (char *) r->read_role;
	return (haven__pb_pack(&pb.base, HAVEN__REC_MAX, out, len));
}

static haven_err
inbox_fields(const Haven__InboxRecord *pb, haven__inbox_rec *r)
{
	haven_err rv;

	if (pb->receipt != NULL) {
		if ((rv = receipt_from_pb(pb->receipt, &r->receipt)) !=
		    HAVEN_OK) {
			return (rv);
		}
		r->has_receipt = true;
	}
	r->received_ms = pb->received_ms;
	r->read_ms = pb->read_ms;
	if (haven__pb_str(r->read_by, sizeof(r->read_by), pb->read_by) !=
	        HAVEN_OK ||
	    haven__pb_str(r->read_role, sizeof(r->read_role),
	        pb->read_role) != HAVEN_OK) {
		return (HAVEN_EDECODE);
	}
	return (env_in(&r->envelope, &r->envelope_len, &pb->envelope));
}

haven_err
haven__agt_rec_inbox_decode(const uint8_t *buf, size_t len, haven__inbox_rec *r)
{
	ProtobufCMessage *m;
	haven_err rv;

	memset(r, 0, sizeof(*r));
	if ((rv = haven__pb_unpack(&haven__inbox_record__descriptor,
	    HAVEN__REC_MAX, buf, len, &m)) != HAVEN_OK) {
		return (rv);
	}
	rv = inbox_fields((const Haven__InboxRecord *) m, r);
	protobuf_c_message_free_unpacked(m, NULL);
	if (rv != HAVEN_OK) {
		haven__agt_inbox_rec_release(r);
	}
	return (rv);
}

haven_err
haven__agt_rec_outbox_encode(const haven__outbox_rec *r, uint8_t **out,
    size_t *len)
{
	Haven__OutboxRecord pb;
	Haven__Receipt rpb;
	Haven__Reject jpb;

	if (r->envelope == NULL || r->envelope_len == 0 ||
	    r->envelope_len > HAVEN_FRAME_MAX || r->state > 2) {
		return (HAVEN_EINVAL);
	}
	haven__outbox_record__init(&pb);
	pb.envelope.data = r->envelope;
	pb.envelope.len = r->envelope_len;
	pb.state = (uint32_t) r->state;
	if (r->state == HAVEN__OUT_RECEIPTED) {
		receipt_to_pb(&r->receipt, &rpb);
		pb.receipt = &rpb;
	} else if (r->state == HAVEN__OUT_REJECTED) {
		haven__reject__init(&jpb);
		jpb.msg_id = haven__pb_bin(r->reject.msg_id,
		    HAVEN_MSGID_BYTES);
		jpb.code = r->reject.code;
		jpb.rule = (char *) r->reject.rule;
		jpb.reason = (char *) r->reject.reason;
		pb.reject = &jpb;
	}
	return (haven__pb_pack(&pb.base, HAVEN__REC_MAX, out, len));
}

static haven_err
reject_from_pb(const Haven__Reject *pb, haven_reject *j)
{
	memset(j, 0, sizeof(*j));
	if (haven__pb_bytes(j->msg_id, HAVEN_MSGID_BYTES, &pb->msg_id) !=
	        HAVEN_OK ||
	    haven__pb_str(j->rule, sizeof(j->rule), pb->rule) != HAVEN_OK ||
	    haven__pb_str(j->reason, sizeof(j->reason), pb->reason) !=
	        HAVEN_OK) {
		return (HAVEN_EDECODE);
	}
	j->code = pb->code;
	return (HAVEN_OK);
}

static haven_err
outbox_fields(const Haven__OutboxRecord *pb, haven__outbox_rec *r)
{
	haven_err rv = HAVEN_OK;

	if (pb->state > 2) {
		return (HAVEN_EDECODE);
	}
	r->state = (haven__out_state) pb->state;
	if (r->state == HAVEN__OUT_RECEIPTED) {
		rv = pb->receipt == NULL ? HAVEN_EDECODE :
		    receipt_from_pb(pb->receipt, &r->receipt);
	} else if (r->state == HAVEN__OUT_REJECTED) {
		rv = pb->reject == NULL ? HAVEN_EDECODE :
		    reject_from_pb(pb->reject, &r->reject);
	}
	if (rv != HAVEN_OK) {
		return (rv);
	}
	return (env_in(&r->envelope, &r->envelope_len, &pb->envelope));
}

haven_err
haven__agt_rec_outbox_decode(const uint8_t *buf, size_t len,
    haven__outbox_rec *r)
{
	ProtobufCMessage *m;
	haven_err rv;

	memset(r, 0, sizeof(*r));
	if ((rv = haven__pb_unpack(&haven__outbox_record__descriptor,
	    HAVEN__REC_MAX, buf, len, &m)) != HAVEN_OK) {
		return (rv);
	}
	rv = outbox_fields((const Haven__OutboxRecord *) m, r);
	protobuf_c_message_free_unpacked(m, NULL);
	if (rv != HAVEN_OK) {
		haven__agt_outbox_rec_release(r);
	}
	return (rv);
}

void
haven__agt_inbox_rec_release(haven__inbox_rec *rec)
{
	if (rec == NULL) {
		return;
	}
	free(rec->envelope);
	memset(rec, 0, sizeof(*rec));
}

void
haven__agt_outbox_rec_release(haven__outbox_rec *rec)
{
	if (rec == NULL) {
		return;
	}
	free(rec->envelope);
	memset(rec, 0, sizeof(*rec));
}
