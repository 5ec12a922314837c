/*
 * agents/marac_cmd.h: the MARAC and panel commands' shared entry point
 * (marac_cmd.c), for dapp_cmd.c. The rest of what they share is declared
 * in cases.h.
 */
#ifndef HAVEN_AGENTS_MARAC_CMD_H
#define HAVEN_AGENTS_MARAC_CMD_H

#include "agent.h"
#include "args.h"

/**
 * `marac X FILE` / `dapp X FILE [--check]`: read FILE (args->pos[2]) and
 * send it as `type`, the broker deciding every rule it can see in the
 * header (the agent checks content only: HAVEN_MARAC_DEFER_BROKER); a
 * broker refusal comes back as a REJECT naming the rule, exit 2. With
 * --check every rule is checked here (haven_marac_from_json) and nothing
 * is sealed, stored or sent: exit 0 valid, 2 refused (naming the rule).
 * @return the exit code.
 */
int haven__agt_marac_run(haven__agent *a, uint32_t type,
    const haven__args *args);

/**
 * A MARAC or panel payload must be filed under its own case: its case_ref
 * hashes (with the partnership pseudonym key) to the signed header's case
 * pseudonym. Without that a signed sender could file a message under
 * another case, whose consent state and bundle would then take it in.
 * Other types, and an agent without a pseudonym key (it cannot tell), pass.
 * @return HAVEN_OK, HAVEN_EINVAL (case mismatch, or no case_ref).
 */
HAVEN_NODISCARD haven_err haven__agt_marac_case_check(const haven__agent *a,
    const haven_header *hdr, const uint8_t *payload, size_t len);

#endif /* HAVEN_AGENTS_MARAC_CMD_H */
