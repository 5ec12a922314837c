/*
 * broker/marac.h: MARAC and perpetrator-panel admission (issue 4).
 *
 * The broker cannot read payloads; it enforces the MARAC rules on what the
 * signed header says (haven/marac.h: tags, incident time, views) and keeps
 * each case's consent state, so that after a withdrawal only sharing with
 * an M6 record (information shared without consent) is accepted.
 */
#ifndef HAVEN_BROKER_MARAC_H
#define HAVEN_BROKER_MARAC_H

#include "broker.h"

/**
 * After the policy: the header's MARAC criteria (haven_marac_check_header
 * with the policy's thresholds) and the case's consent state. On refusal
 * *refused is set and `d` names the rule and reason.
 * @return HAVEN_OK (decided or not), or a store error.
 */
HAVEN_NODISCARD haven_err haven__marac_check(haven_broker *b, MDB_txn *txn,
    const haven_header *h, int64_t now_ms, haven_policy_decision *d,
    bool *refused);

/**
 * After a MARAC referral or consent decision is accepted: record the
 * case's consent state and audit the decision (CONSENT: actor = sender,
 * case pseudonym, reason "consent=<state> msg=<hex>"). Other types: no-op.
 */
HAVEN_NODISCARD haven_err haven__marac_accepted(haven_broker *b,
    MDB_txn *txn, const haven_header *h);

#endif /* HAVEN_BROKER_MARAC_H */
