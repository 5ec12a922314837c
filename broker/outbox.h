/*
 * broker/outbox.h: frames waiting for the batch's commit.
 *
 * Nothing that promises durability (a Receipt, a Deliver of a new message)
 * may leave the broker before the LMDB commit that makes it true, so every
 * reply of a batch is encoded into the outbox and sent only after the
 * commit. If the transaction is aborted the outbox is discarded.
 */
#ifndef HAVEN_BROKER_OUTBOX_H
#define HAVEN_BROKER_OUTBOX_H

#include "haven/wire.h"
#include "session.h"

typedef struct haven_out {
	uint8_t rid[HAVEN_RID_MAX];
	size_t rid_len;
	uint8_t *buf;
	size_t len;
	bool deliver;                         /* a Deliver: in flight */
	uint8_t msg_id[HAVEN_MSGID_BYTES];    /* of the Deliver */
} haven_out;

typedef struct haven_outbox {
	haven_out *v;
	size_t n;
	size_t cap;
} haven_outbox;

/** Encode `f` and append it for `rid`. HAVEN_OK, HAVEN_EINVAL,
 * HAVEN_ENOMEM. */
HAVEN_NODISCARD haven_err haven__outbox_add(haven_outbox *ob,
    const uint8_t *rid, size_t rid_len, const haven_frame *f);

/** Mark the last item as a Deliver of `id`. */
void haven__outbox_mark_deliver(haven_outbox *ob,
    const uint8_t id[HAVEN_MSGID_BYTES]);

/** Free every item; keeps the array for reuse. */
void haven__outbox_clear(haven_outbox *ob);

/** Free everything. */
void haven__outbox_fini(haven_outbox *ob);

#endif /* HAVEN_BROKER_OUTBOX_H */
