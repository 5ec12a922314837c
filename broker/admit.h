/*
 * broker/admit.h: admission of one submitted envelope (DESIGN §6 steps 1-5).
 *
 * Runs inside the batch's write transaction. A decision is always reached
 * and written there: ACCEPTED (message, queues, dedup, sequence and the
 * SUBMIT audit entry stored; signed receipt returned), DUPLICATE (a
 * byte-identical resubmission: the original receipt, nothing written) or
 * REJECTED (a REJECT audit entry written; reject code, rule and reason
 * returned, never personal data). A non-OK return means the store failed
 * (HAVEN_EFULL, HAVEN_EIO, ...) and the caller must abort the transaction.
 */
#ifndef HAVEN_BROKER_ADMIT_H
#define HAVEN_BROKER_ADMIT_H

#include "broker.h"

typedef enum {
	HAVEN_ADMIT_PENDING = 0,
	HAVEN_ADMIT_ACCEPTED,
	HAVEN_ADMIT_DUPLICATE,
	HAVEN_ADMIT_REJECTED
} haven_admit_kind;

typedef struct haven_admit_result {
	haven_admit_kind kind;
	haven_receipt receipt; /* ACCEPTED, DUPLICATE */
	haven_reject reject;   /* REJECTED (msg_id zero if undecodable) */
	haven_msgmeta meta;    /* ACCEPTED: who to wake for delivery */
} haven_admit_result;

/**
 * Admit `env` (len bytes) submitted by `identity` (the ZAP User-Id) at
 * wall-clock `now_ms`.
 * @return HAVEN_OK with `res` filled, or a store error.
 */
HAVEN_NODISCARD haven_err haven__admit(haven_broker *b, MDB_txn *txn,
    const char *identity, const uint8_t *env, size_t len, int64_t now_ms,
    haven_admit_result *res);

/**
 * Store an admitted envelope (`h` its verified header, `bytes` its `len`
 * serialised bytes hashing to `env_hash`): SUBMIT audit entry, the signed
 * receipt (*r), message, metadata (*meta), dedup record and one queue
 * entry per recipient, inside `txn`; logs HAVEN-BRK-ACCEPT. Used for
 * submissions and for the broker's own escalations alike.
 * @return HAVEN_OK or a store error (HAVEN_ECORRUPT if the id is stored).
 */
HAVEN_NODISCARD haven_err haven__admit_store(haven_broker *b, MDB_txn *txn,
    const struct haven_header *h, const uint8_t *bytes, size_t len,
    const uint8_t env_hash[HAVEN_HASH_BYTES], int64_t now_ms,
    haven_receipt *r, haven_msgmeta *meta);

/** Write a REJECT audit entry and log for a refusal decided elsewhere
 * (frame-level: malformed, oversized). `hdr` may be NULL. Over the
 * agency's flood budget (flood.h) the refusal is only counted. */
HAVEN_NODISCARD haven_err haven__admit_audit_reject(haven_broker *b,
    MDB_txn *txn, const char *identity, const haven_reject *rj,
    const struct haven_header *hdr, bool has_msg);

#endif /* HAVEN_BROKER_ADMIT_H */
