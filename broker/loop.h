/*
 * broker/loop.h: one batch of frames and the passes that process it.
 *
 * Each loop iteration reads up to batch_max frames without blocking and
 * processes them in ONE write transaction (group commit). Should the store
 * fill up (MDB_MAP_FULL) or fail, the transaction is aborted and the batch
 * is run again in a degraded mode: first without submissions (refused with
 * HAVEN_EFULL; acks and deliveries still proceed), then without any write
 * at all (only replies that promise nothing durable).
 */
#ifndef HAVEN_BROKER_LOOP_H
#define HAVEN_BROKER_LOOP_H

#include <zmq.h>

#include "broker.h"

typedef enum {
	HAVEN_PASS_FULL = 0,  /* everything */
	HAVEN_PASS_NOSUBMIT,  /* refuse submissions, keep acks + deliveries */
	HAVEN_PASS_NOWRITE    /* nothing durable; transaction is aborted */
} haven_pass;

/** One received ZeroMQ message: routing id + payload + ZAP identity. */
typedef struct haven_item {
	uint8_t rid[HAVEN_RID_MAX];
	size_t rid_len;
	zmq_msg_t msg;
	bool bad_parts;               /* not exactly [rid][payload] */
	char identity[HAVEN_ID_MAX];  /* ZAP User-Id, "" if absent */
	uint32_t gen;                 /* its key generation, 0 if absent */
} haven_item;

typedef struct haven_pass_ctx {
	haven_broker *b;
	MDB_txn *txn;
	haven_pass mode;
	haven_err refuse_code; /* for submissions in degraded passes */
	int64_t now_ms;        /* wall clock */
	int64_t mono_ms;       /* monotonic */
} haven_pass_ctx;

/** Handle one item: decode, check identity, dispatch; replies go to the
 * outbox. @return HAVEN_OK or a store error (abort the pass). */
HAVEN_NODISCARD haven_err haven__handle_item(haven_pass_ctx *p,
    haven_item *it);

/** Queue an Error frame for `rid`. */
HAVEN_NODISCARD haven_err haven__send_error(haven_broker *b,
    const uint8_t *rid, size_t rid_len, haven_err code, const char *reason);

/** Plan deliveries for sessions that want them: outbox Delivers, in-flight
 * marks and DELIVER audit entries. @return HAVEN_OK or a store error. */
HAVEN_NODISCARD haven_err haven__deliver_plan(haven_pass_ctx *p);

/** Undo the in-flight marks of the outbox's Delivers (aborted pass). */
void haven__deliver_unplan(haven_broker *b);

#endif /* HAVEN_BROKER_LOOP_H */
