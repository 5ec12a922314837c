/*
 * haven/wire.h: frames between agents and the broker, and broker receipts.
 *
 * Each ZeroMQ message is exactly one serialised Frame (proto/haven.proto).
 * Decoding caps the size first (HAVEN_FRAME_MAX), refuses an unknown
 * version, a frame with no body, and any field over its limit. A decoded
 * frame owns its byte buffers; haven_frame_release frees them.
 */
#ifndef HAVEN_WIRE_H
#define HAVEN_WIRE_H

#include "haven/common.h"
#include "haven/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
	HAVEN_FRAME_NONE = 0,
	HAVEN_FRAME_HELLO = 2,
	HAVEN_FRAME_SUBMIT = 3,
	HAVEN_FRAME_RECEIPT = 4,
	HAVEN_FRAME_REJECT = 5,
	HAVEN_FRAME_DELIVER = 6,
	HAVEN_FRAME_ACK = 7,
	HAVEN_FRAME_CREDIT = 8,
	HAVEN_FRAME_HEARTBEAT = 9,
	HAVEN_FRAME_ERROR = 10
} haven_frame_kind;

/** The broker's signed statement that a message is durably stored. */
typedef struct haven_receipt {
	uint8_t msg_id[HAVEN_MSGID_BYTES];
	uint64_t audit_seq;
	uint8_t entry_hash[HAVEN_HASH_BYTES];
	int64_t accepted_ms;
	uint8_t envelope_hash[HAVEN_HASH_BYTES];
	uint8_t sig[HAVEN_SIG_BYTES];
} haven_receipt;

typedef struct haven_reject {
	uint8_t msg_id[HAVEN_MSGID_BYTES];
	uint32_t code; /* haven_err */
	char rule[32];
	char reason[160];
} haven_reject;

typedef struct haven_frame {
	haven_frame_kind kind;
	uint32_t credit;        /* HELLO, CREDIT */
	uint8_t *envelope;      /* SUBMIT, DELIVER: owned */
	size_t envelope_len;
	haven_receipt receipt;  /* RECEIPT, DELIVER */
	haven_reject reject;    /* REJECT */
	uint8_t msg_id[HAVEN_MSGID_BYTES]; /* ACK */
	int64_t now_ms;         /* HEARTBEAT */
	uint32_t error_code;    /* ERROR */
	char error_reason[160]; /* ERROR */
} haven_frame;

/**
 * Encode `f` into a new buffer. `f` must pass the same checks decode applies
 * (known kind, non-empty envelope for SUBMIT/DELIVER, NUL-terminated strings
 * without control characters).
 * @param[out] out malloc'd frame bytes, owned by the caller (free()); NULL
 *   on error.
 * @return HAVEN_OK, HAVEN_EINVAL, HAVEN_EMSGSIZE (the frame would exceed
 *   HAVEN_FRAME_MAX), HAVEN_ENOMEM. The envelope pointer of `f` is borrowed.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_frame_encode(const haven_frame *f,
    uint8_t **out, size_t *out_len);

/**
 * Decode into `f` (zeroed first). On any error `f` holds nothing.
 * Refused: len > HAVEN_FRAME_MAX (HAVEN_EMSGSIZE, before any allocation);
 * bytes that do not unpack, no body, or a frame that does not re-encode to
 * exactly `len` bytes (unknown or repeated fields, strings with embedded
 * NULs: HAVEN_EDECODE); version != HAVEN_PROTOCOL_VERSION (HAVEN_EVERSION);
 * an id, hash or signature of the wrong length, a string longer than its
 * field or holding control characters, an empty envelope in SUBMIT/DELIVER,
 * a DELIVER without a receipt (HAVEN_EINVAL).
 * @return HAVEN_OK, HAVEN_EMSGSIZE, HAVEN_EDECODE, HAVEN_EVERSION,
 *   HAVEN_EINVAL, HAVEN_ENOMEM. Thread-safe (no shared state).
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_frame_decode(haven_frame *f,
    const uint8_t *buf, size_t len);

/** Free what decode allocated; leaves `f` zeroed. NULL-tolerant. */
HAVEN_API void haven_frame_release(haven_frame *f);

/** Sign a receipt with the broker's key (fills r->sig). The signed bytes
 * are "haven-receipt-v1" || msg_id || be64(audit_seq) || entry_hash ||
 * be64((uint64_t)accepted_ms) || envelope_hash. */
HAVEN_API void haven_receipt_sign(haven_receipt *r, const haven_keys *broker);

/** Verify a receipt against the broker's Ed25519 public key.
 * @return HAVEN_OK or HAVEN_ESIG. */
HAVEN_NODISCARD HAVEN_API haven_err haven_receipt_verify(
    const haven_receipt *r, const uint8_t broker_sign_pk[HAVEN_KEY_BYTES]);

/** Size of a packed receipt (haven_receipt_pack). */
#define HAVEN_RECEIPT_BYTES                                                 \
	(HAVEN_MSGID_BYTES + 8 + HAVEN_HASH_BYTES + 8 + HAVEN_HASH_BYTES +      \
	    HAVEN_SIG_BYTES)

/** Fixed-layout serialisation of a receipt for storage (the broker's dedup
 * index, an agent's records): msg_id || be64(audit_seq) || entry_hash ||
 * be64(accepted_ms) || envelope_hash || sig. Never fails. */
HAVEN_API void haven_receipt_pack(const haven_receipt *r,
    uint8_t out[HAVEN_RECEIPT_BYTES]);

/** Inverse of haven_receipt_pack. Does not verify the signature.
 * @return HAVEN_OK, or HAVEN_EINVAL if len != HAVEN_RECEIPT_BYTES (`r` is
 *   then zeroed). */
HAVEN_NODISCARD HAVEN_API haven_err haven_receipt_unpack(haven_receipt *r,
    const uint8_t *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif /* HAVEN_WIRE_H */
