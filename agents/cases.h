/*
 * agents/cases.h: the MARAC coordinator's case index, and what the MARAC
 * and perpetrator-panel commands share.
 *
 * The index lives in the agent's sealed store (agent_store.h "cases",
 * keyed by case pseudonym). It is built from the coordinator's own inbox:
 * every verified MARAC_REFERRAL (M5), CONSENT_DECISION and
 * REPEAT_INCIDENT_FLAG (M11) is folded in once, in the order the agent
 * received them (haven__agt_cases_refresh; "caseseen" makes it
 * idempotent), so the index always agrees with what was delivered:
 *  - a referral lists the case for the next meeting after it arrived
 *    (policy "marac" meeting_days / meeting_time, Europe/London);
 *  - R12: a referral whose victim AND perpetrator pseudonyms were referred
 *    within repeat_days before is a repeat, whatever the referrer said;
 *  - consent is the referral's consent tag, then each decision's;
 *  - an M11 marks the case repeat and, if its meeting has passed, lists
 *    it again for the next one.
 * A record holds pseudonyms, agency ids, times and states, never names;
 * the personal data stays in the sealed inbox record of the referral.
 */
#ifndef HAVEN_AGENTS_CASES_H
#define HAVEN_AGENTS_CASES_H

#include "agent.h"
#include "args.h"
#include "haven/envelope.h"
#include "haven/marac.h"
#include "haven/pseudonym.h"

typedef enum {
	HAVEN__CONSENT_UNKNOWN = 0,
	HAVEN__CONSENT_GIVEN = 1,
	HAVEN__CONSENT_REFUSED = 2,
	HAVEN__CONSENT_WITHDRAWN = 3
} haven__consent;

typedef struct haven__case {
	uint8_t case_pseud[HAVEN_HASH_BYTES];
	bool has_pair;                 /* victim and perpetrator known */
	uint8_t victim[HAVEN_HASH_BYTES];
	uint8_t perp[HAVEN_HASH_BYTES];
	bool has_referral;
	uint8_t referral_id[HAVEN_MSGID_BYTES]; /* latest M5 */
	char referrer[HAVEN_ID_MAX];
	int64_t first_ms;              /* first referral received */
	int64_t received_ms;           /* latest referral received */
	int64_t meeting_ms;            /* the meeting it is listed for */
	uint32_t referrals;
	bool repeat;
	bool m6;                       /* an M6 record came with a referral */
	uint8_t consent;               /* haven__consent */
	int64_t consent_ms;
	bool has_caselist;             /* an M7 went out for meeting_ms */
	uint8_t caselist_id[HAVEN_MSGID_BYTES];
	int64_t caselist_meeting_ms;
} haven__case;

/** "unknown", "given", "refused", "withdrawn". */
const char *haven__agt_consent_name(uint8_t consent);

/**
 * The start (UTC ms) of the first meeting strictly after `after_ms`:
 * a Europe/London local date whose weekday is in cfg->meeting_days, at
 * cfg->meeting_minute local time. HAVEN_EINVAL if none within 14 days.
 */
HAVEN_NODISCARD haven_err haven__agt_next_meeting(
    const haven_policy_marac *cfg, int64_t after_ms, int64_t *meeting_ms);

/** Fold every not yet indexed verified M5, CONSENT_DECISION and M11 of
 * the inbox into the case index, oldest first. *indexed counts them. */
HAVEN_NODISCARD haven_err haven__agt_cases_refresh(haven__agent *a,
    const haven_pseudonym_key *pk, size_t *indexed);

/** Read one case. HAVEN_OK, HAVEN_ENOTFOUND, HAVEN_ECORRUPT. */
HAVEN_NODISCARD haven_err haven__agt_case_get(haven__agent *a,
    const uint8_t key[HAVEN_HASH_BYTES], haven__case *c);

/** Write one case (and, if msg_id is not NULL, mark it indexed). */
HAVEN_NODISCARD haven_err haven__agt_case_put(haven__agent *a,
    const uint8_t *msg_id, const haven__case *c);

/** Visit the cases in pseudonym order; return false to stop. A record
 * that does not open is skipped and counted in the return (ECORRUPT). */
typedef bool (*haven__case_visit)(void *ctx, const haven__case *c);
HAVEN_NODISCARD haven_err haven__agt_cases_each(haven__agent *a,
    haven__case_visit fn, void *ctx);

/** The case's meeting as a London date "YYYY-MM-DD" into buf (>= 11). */
void haven__agt_case_meeting_date(const haven__case *c, char *buf,
    size_t len);

/** Parse a --meeting YYYY-MM-DD argument into a London day count
 * (`required`: its absence is refused). Reports; returns the exit code. */
int haven__agt_meeting_arg(haven__agent *a, const char *arg, bool required,
    bool *given, int64_t *day);

/** Load the pseudonym key and refresh the index. Reports; exit code. */
int haven__agt_cases_prepare(haven__agent *a, haven_pseudonym_key **pk,
    size_t *indexed);

/* ---- shared by marac_cmd.c, dapp_cmd.c and payload.c ---- */

/** Load the partnership pseudonym key named by the config; reports the
 * failure and returns the exit code (0 on success). */
int haven__agt_marac_pk(haven__agent *a, haven_pseudonym_key **pk);

/**
 * Build message `type` from the JSON text (haven_marac_from_json_ex with
 * HAVEN_MARAC_DEFER_BROKER: content checked here, the header rules left
 * to the broker, which refuses and audits), seal
 * it into envelopes of at most HAVEN_MAX_VIEWS views and
 * HAVEN_MAX_RECIPIENTS recipients, write them all to the outbox in one
 * transaction, then submit and report receipts like `encompass submit`.
 * `sent` (may be NULL) receives the first envelope's msg id when
 * everything was receipted. @return the exit code.
 */
int haven__agt_marac_send_json(haven__agent *a,
    const haven_pseudonym_key *pk, uint32_t type, const char *json,
    size_t len, uint8_t *sent);

/** `marac X FILE` / `dapp X FILE`: read FILE and send it as `type`. */
int haven__agt_marac_submit(haven__agent *a, uint32_t type,
    const char *path);

/** The signed header's fields that come from message `m`: case and
 * subject pseudonyms (with `pk`), legal basis, purpose, tags, incident
 * time, reply-to, created_ms (now). Type, seq and recipients are the
 * caller's; `h` must start zeroed (n_subjects 0). */
void haven__agt_marac_header(haven_header *h, const haven_marac_msg *m,
    const haven_pseudonym_key *pk);

/** True for the MARAC, panel and consent types (5..14, 16). */
bool haven__agt_marac_type(uint32_t type);

/** payload.h's check for those types: the payload of our view agrees
 * with the signed header (haven_marac_verify_payload). HAVEN_EINVAL if
 * it does not, HAVEN_EDECODE if it does not decode. */
HAVEN_NODISCARD haven_err haven__agt_marac_payload_check(
    const haven_header *hdr, const char *me, const uint8_t *payload,
    size_t len);

/** payload.h's rendering for those types (tries the type's profiles). */
HAVEN_NODISCARD haven_err haven__agt_marac_payload_json(uint32_t type,
    const uint8_t *payload, size_t len, char **out);

#endif /* HAVEN_AGENTS_CASES_H */
