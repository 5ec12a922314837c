/*
 * broker/deadline.h: Encompass deadlines kept or escalated (issue 3).
 *
 * At admission an OE_NOTIFICATION's signed deadline is checked against the
 * broker's own reckoning from the signed directory (the start of each
 * school recipient's next school day after the incident) and recorded.
 * A read receipt (OE_RECEIPT) from the school marks it read. The monitor,
 * run on every full pass of the loop, escalates (broker/escalate.h) what
 * is still unread at its deadline, and, at once, what waits for a school
 * that has not connected for longer than the policy's
 * offline_escalation_ms. A read after an escalation closes it.
 *
 * Every time here comes from haven__now_ms(): the broker's own clock (or,
 * in a HAVEN_TEST_CLOCK build only, the controlled test clock), never a
 * peer's.
 *
 * The formats of the databases HAVEN_STORE_DEADLINE, _DEADLINE_DUE and
 * _LASTSEEN are described at the top of deadline.c.
 */
#ifndef HAVEN_BROKER_DEADLINE_H
#define HAVEN_BROKER_DEADLINE_H

#include <lmdb.h>

#include "haven/common.h"
#include "haven/envelope.h"

struct haven_broker;
struct haven_pass_ctx;

/* Memory-only monitor state (part of haven_broker). */
typedef struct haven_dlstate {
	int64_t offline_mono; /* last school-offline scan (monotonic) */
	bool offline_wanted;  /* that scan found something to escalate */
	int64_t hold_mono;    /* after a failed pass: no monitor work until */
	/* No school-offline escalation can be due before this (broker
	 * clock; 0 = unknown, walk at the next look). Set by a walk of the
	 * whole due index, computed with offline_limit_ms, lowered by every
	 * recorded notification; receipts, acks and a school's frames only
	 * make the real time later, so it stays a lower bound. */
	int64_t offline_next_ms;
	int64_t offline_limit_ms;
} haven_dlstate;

/* Rule ids of the refusals decided here. */
#define HAVEN_RULE_DEADLINE "R5-deadline"
#define HAVEN_RULE_HOLIDAY "R3-holiday-duty"
#define HAVEN_RULE_FORGED "R5-broker-only"

/**
 * Admission checks of issue 3 for a verified header `h` that the policy
 * allowed, at broker time `now_ms`:
 *  - OE_NOTIFICATION: occurred_ms in (0, now + skew], deadline_ms > 0, at
 *    least one EDU recipient, the deadline no later than the start of each
 *    EDU recipient's next school day after occurred_ms (an earlier one is
 *    accepted), and every other recipient the policy's holiday duty agency
 *    of an EDU recipient's calendar area while the incident's date is in
 *    that calendar's holiday;
 *  - OE_ESCALATION from anyone but the broker whose "escalation" tag is a
 *    reason only the broker raises (deadline-missed, school-offline,
 *    read-after-escalation).
 * On refusal `rule` (32 bytes) and `reason` (160 bytes) say why, without
 * personal data.
 * @return HAVEN_OK (admissible) or HAVEN_EPOLICY.
 */
HAVEN_NODISCARD haven_err haven__deadline_check(struct haven_broker *b,
    const haven_header *h, int64_t now_ms, char *rule, char *reason);

/** Record an admitted OE_NOTIFICATION (one record per EDU recipient) as
 * pending, in the admission's transaction. @return HAVEN_OK or a store
 * error. */
HAVEN_NODISCARD haven_err haven__deadline_record(struct haven_broker *b,
    MDB_txn *txn, const haven_header *h, int64_t now_ms);

/**
 * A read receipt by `reader` (with role `role`, "" when the receipt named
 * none) for notification `id` was admitted: pending -> read; escalated (or
 * pending after a school-offline escalation) -> closed, with an
 * ESCALATE_CLOSED audit entry and a read-after-escalation M4 to the SPOC.
 * Only the first receipt counts; a reader without a record (the holiday
 * duty contact) changes nothing. @return HAVEN_OK or a store error.
 */
HAVEN_NODISCARD haven_err haven__deadline_receipt(struct haven_broker *b,
    MDB_txn *txn, const uint8_t id[HAVEN_MSGID_BYTES], const char *reader,
    const char *role, int64_t now_ms);

/** `agency` sent a frame at `now_ms`: record it as last seen when the
 * stored time is absent, later than now, or a minute or more old.
 * @return HAVEN_OK or a store error. */
HAVEN_NODISCARD haven_err haven__deadline_seen(struct haven_broker *b,
    MDB_txn *txn, const char *agency, int64_t now_ms);

/** Cheap read-only look: is a deadline due at `now_ms`, or (at most once a
 * second of `mono_ms`, and only once haven_dlstate.offline_next_ms has
 * come) is a school-offline escalation due? With nothing due this costs
 * one read transaction and one cursor peek. The loop then runs a pass
 * even without frames. */
bool haven__deadline_due(struct haven_broker *b, int64_t now_ms,
    int64_t mono_ms);

/** The monitor, inside a full pass's transaction: escalate due deadlines
 * (at most HAVEN_DEADLINE_BATCH per pass) and, when the last look found
 * any, offline schools. @return HAVEN_OK or a store error. */
HAVEN_NODISCARD haven_err haven__deadline_run(struct haven_pass_ctx *p);

/** A full pass failed: leave the monitor alone for a second. */
void haven__deadline_hold(struct haven_broker *b, int64_t mono_ms);

#define HAVEN_DEADLINE_BATCH 32

#endif /* HAVEN_BROKER_DEADLINE_H */
