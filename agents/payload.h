/*
 * agents/payload.h: message payloads the agent understands.
 *
 * OE_NOTIFICATION, OE_EHE_NOTIFICATION and OE_ESCALATION payloads go
 * through libhaven's encompass codec; the M3 read receipt (ReadReceipt in
 * proto/haven.proto) is encoded and decoded here. Decoded personal data is
 * kept in heap buffers that are wiped before they are freed.
 */
#ifndef HAVEN_AGENTS_PAYLOAD_H
#define HAVEN_AGENTS_PAYLOAD_H

#include "haven/common.h"
#include "haven/envelope.h"
#include "agent_store.h"

typedef struct haven__read_receipt {
	uint8_t msg_id[HAVEN_MSGID_BYTES];
	char reader_role[HAVEN__ROLE_MAX];
	char reader[HAVEN__READER_MAX];
	int64_t read_ms;
} haven__read_receipt;

/** True for DSL, DDSL, EHE-OFFICER. */
bool haven__agt_reader_role_valid(const char *role);

/** A staff reference: 1..63 of [A-Za-z0-9._-] (no spaces, so not a
 * name written out). */
bool haven__agt_reader_ref_valid(const char *ref);

/** Serialise a ReadReceipt (malloc'd). HAVEN_EINVAL on a bad role/ref. */
HAVEN_NODISCARD haven_err haven__agt_rr_encode(const haven__read_receipt *r,
    uint8_t **out, size_t *len);

/** Decode and validate. HAVEN_OK, HAVEN_EDECODE, HAVEN_EMSGSIZE. */
HAVEN_NODISCARD haven_err haven__agt_rr_decode(const uint8_t *buf, size_t len,
    haven__read_receipt *r);

/**
 * Check that `payload` decodes as the payload of `hdr`'s type and agrees
 * with the signed header, as received by agency `me`:
 *  - OE_NOTIFICATION: every child's setting is `me` (R3: a school never
 *    holds another setting's pupil, even if a sender mis-addressed it);
 *  - OE_EHE_NOTIFICATION: every child's local authority is `me` or `me`
 *    without its ".ehe" suffix (R4);
 *  - OE_RECEIPT: the header is a reply and the receipt is about the very
 *    message the header (and so the broker's audit) names.
 * Unknown types pass: the agent cannot judge them.
 * @return HAVEN_OK, HAVEN_EDECODE (does not decode), HAVEN_EINVAL
 *   (decodes but disagrees with the header), HAVEN_EMSGSIZE, HAVEN_ENOMEM.
 */
HAVEN_NODISCARD haven_err haven__agt_payload_check(const haven_header *hdr,
    const char *me, const uint8_t *payload, size_t len);

/** The payload as a JSON object string (malloc'd) for `show`.
 * HAVEN_EDECODE if it does not decode, HAVEN_ENOTFOUND for a type the
 * agent cannot render. */
HAVEN_NODISCARD haven_err haven__agt_payload_json(uint32_t type,
    const uint8_t *payload, size_t len, char **out);

#endif /* HAVEN_AGENTS_PAYLOAD_H */
