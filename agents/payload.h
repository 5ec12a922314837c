/*
 * agents/payload.h: message payloads the agent understands.
 *
 * OE_NOTIFICATION, OE_EHE_NOTIFICATION and OE_ESCALATION payloads go
 * through libhaven's encompass codec (a broker's escalation through
 * haven_oe_escalation_decode); the M3 read receipt (ReadReceipt in
 * proto/haven.proto) is encoded and decoded here. Decoded personal data is
 * kept in heap buffers that are wiped before they are freed.
 */
#ifndef HAVEN_AGENTS_PAYLOAD_H
#define HAVEN_AGENTS_PAYLOAD_H

#include "haven/common.h"
#include "haven/directory.h"
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

/** The agency id the broker signs its own messages with. */
#define HAVEN__BROKER_ID "broker"

/** True for an OE_ESCALATION whose signed sender is the broker (M4 raised
 * by the deadline monitor); any other OE_ESCALATION is a police R5 one. */
bool haven__agt_is_broker_escalation(const haven_header *hdr);

/** True for an OE_NOTIFICATION tagged holiday=yes whose school (the first
 * recipient) is not `me`: our copy as the holiday duty contact. */
bool haven__agt_is_duty_copy(const haven_header *hdr, const char *me);

/**
 * Check that `payload` decodes as the payload of `hdr`'s type and agrees
 * with the signed header, as received by agency `me`:
 *  - OE_NOTIFICATION: every child's setting is `me` (R3: a school never
 *    holds another setting's pupil, even if a sender mis-addressed it), or
 *    the header is tagged holiday=yes, names that setting as its first
 *    recipient and `me` as its second (the holiday duty contact's copy);
 *  - OE_EHE_NOTIFICATION: every child's local authority is `me` or `me`
 *    without its ".ehe" suffix (R4);
 *  - OE_ESCALATION: from the broker, a broker escalation
 *    (haven_oe_escalation_decode); from anyone else a police R5 one (with
 *    the notification). The other shape is refused either way;
 *  - OE_RECEIPT: the header is a reply and the receipt is about the very
 *    message the header (and so the broker's audit) names.
 * Unknown types pass: the agent cannot judge them.
 * @return HAVEN_OK, HAVEN_EDECODE (does not decode), HAVEN_EINVAL
 *   (decodes but disagrees with the header), HAVEN_EMSGSIZE, HAVEN_ENOMEM.
 */
HAVEN_NODISCARD haven_err haven__agt_payload_check(const haven_header *hdr,
    const char *me, const uint8_t *payload, size_t len);

/**
 * haven__agt_payload_check, then the signed header's facts against the
 * content and this agent's own signed directory `dir` (NULL: a calendar
 * of weekends only):
 *  - OE_NOTIFICATION: 0 < deadline_ms <= the start of the school's next
 *    school day after the payload's occurred_at (haven_directory_calendar
 *    of the children's school); header occurred_ms == occurred_at; a
 *    holiday duty copy only with a holiday ahead (haven_calendar_holiday_ahead);
 *  - OE_EHE_NOTIFICATION, police OE_ESCALATION: occurred_ms == occurred_at;
 *  - OE_RECEIPT: the header tag reader_role equals the receipt's role.
 * `*why` gets the first failed check, a stable code for logs: "content",
 * "deadline", "occurred", "holiday-duty", "reader-role" (NULL on success).
 * @return HAVEN_OK, or as haven__agt_payload_check, HAVEN_EINVAL for a
 *   header that disagrees.
 */
HAVEN_NODISCARD haven_err haven__agt_payload_verify(const haven_header *hdr,
    const char *me, const haven_directory *dir, const uint8_t *payload,
    size_t len, const char **why);

/** The payload of the message `hdr` heads as a JSON object string
 * (malloc'd) for `show`; a broker escalation through
 * haven_oe_escalation_to_json. HAVEN_EDECODE if it does not decode,
 * HAVEN_ENOTFOUND for a type the agent cannot render. */
HAVEN_NODISCARD haven_err haven__agt_payload_json(const haven_header *hdr,
    const uint8_t *payload, size_t len, char **out);

#endif /* HAVEN_AGENTS_PAYLOAD_H */
