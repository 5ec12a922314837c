/*
 * broker/escalate.h: escalations raised and signed by the broker (M4).
 *
 * An escalation is an ordinary envelope from the agency "broker", sealed
 * with the broker's own keys, checked against the signed policy like any
 * submission, then stored, queued, audited and delivered exactly as an
 * admitted submission (haven__admit_store). Its payload is an Escalation
 * with the broker fields only (haven_oe_escalation_encode): no personal
 * data, which the broker does not have.
 */
#ifndef HAVEN_BROKER_ESCALATE_H
#define HAVEN_BROKER_ESCALATE_H

#include <lmdb.h>

#include "haven/common.h"

struct haven_broker;

typedef struct haven_esc {
	const char *reason;                 /* HAVEN_OE_REASON_* */
	uint8_t about[HAVEN_MSGID_BYTES];   /* the notification */
	char school[HAVEN_ID_MAX];          /* its EDU recipient */
	char sender[HAVEN_ID_MAX];          /* its sender (police) */
	int64_t deadline_ms;
	int64_t occurred_ms;
	char reader[HAVEN_ID_MAX];          /* closure: who read it */
	char reader_role[16];               /* closure: "DSL", "UNKNOWN".. */
} haven_esc;

/**
 * Raise escalation `e` at `now_ms` inside write txn `txn`. Recipients: the
 * SPOC (the sender's "spoc" attr, else the sender) and, except for a
 * closure, the school's first available secondary contact in the order of
 * the policy's secondary_contacts ("deputy": the school's "deputy" attr;
 * "la-education": the "education_safeguarding" attr of the school's
 * "local_authority"); absent or revoked agencies are skipped.
 * Audit: SUBMIT of the M4 (actor "broker"), then ESCALATE (actor
 * "broker") or, for a closure, ESCALATE_CLOSED (actor the reader), both
 * with msg_id = the notification, type OE_NOTIFICATION, recipients = the
 * M4's, reason "<reason> escalation=<M4 hex> school=<id>" (closure:
 * "read-after-escalation escalation=<M4 hex> role=<ROLE>").
 * An escalation that cannot be made (no recipient, seal failure, policy
 * refusal) is logged (HAVEN-BRK-ESCALATE-REFUSED) and audited as a REJECT
 * by "broker" about the notification; that is not an error here.
 * `*sent` (may be NULL) tells whether an M4 was stored.
 * @return HAVEN_OK, or a store error / HAVEN_ENOMEM (abort the txn).
 */
HAVEN_NODISCARD haven_err haven__escalate(struct haven_broker *b,
    MDB_txn *txn, const haven_esc *e, int64_t now_ms, bool *sent);

#endif /* HAVEN_BROKER_ESCALATE_H */
