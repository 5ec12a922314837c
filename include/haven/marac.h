/*
 * haven/marac.h: MARAC and perpetrator-panel messages (domain.md M5-M14,
 * rules R8-R17) and consent decisions.
 *
 * An agency's agent turns a command's JSON input into a haven_marac_msg:
 * validated content, serialised payloads (proto/marac.proto), one or more
 * views each with its own recipients and profile, and the header metadata
 * the broker enforces the rules on (it cannot read payloads): type, case
 * reference, subjects to pseudonymise, incident time, legal basis,
 * purpose and tags. docs/marac.md describes every JSON input field, its
 * limit and the rule that checks it. Tags carry criteria, never personal
 * data:
 *   M5  dash=<0..24 or "none">, consent=yes|no, judgement=yes|no,
 *       escalation=yes|no, repeat=yes|no, m6=yes|no
 *   M6  (type 6, on its own) consent=no, m6=yes
 *   M7..M11, M13, M14: consent=yes|no (whether the case's sharing rests
 *       on consent), m6=yes|no (an M6 record exists for the case); for
 *       purpose "marac", consent=no needs m6=yes (R9-R11); panel messages
 *       (purpose "dapp") carry them without that rule
 *   M8  caldicott=yes|no (health returns, R15)
 *   M12 mappa=yes|no, marac_history=<count>, area=north|south
 *   M13, M14 area=north|south
 *   CONSENT_DECISION consent=given|refused|withdrawn
 * Views and profiles (an envelope gives each recipient exactly one view):
 * M5 "marac.referral" to the IDVA and MCO recipients; when consent is not
 * given and an M6 record is attached, the MCO recipients get "marac.m6"
 * instead (the referral together with its INFO_SHARED_WITHOUT_CONSENT
 * record) and the others "marac.referral"; type 6 "marac.m6" (MCO);
 * M7 "marac.caselist" (one case per message; ISP signatories, R14); M8
 * "marac.research" (MCO, DAPC, or an agency with attr marac_chair=yes:
 * the coordinator or chair, R15); M9
 * one view per owning agency (and per extra attendee), "marac.plan" or,
 * for an EDU agency, "marac.plan.edu" holding education actions only and
 * no risk summary (R8), and, when the sender is an MCO, "marac.plan.full"
 * for the sender itself: every action, the risk summary and the repeat
 * status (the coordinator's and chair's copy; MCO or DAPC recipients
 * only, never EDU); M10 "marac.update" (MCO, purpose "marac", or DAPC,
 * purpose "dapp"); M11 "marac.repeat" (MCO); M12 "dapp.referral" (the
 * area's DAPC); M13 "dapp.bundle" and M14 "dapp.plan" (members of the
 * area's panel, attr panel_<area>=member, never EDU, R17); the M14's one
 * "dapp.plan" view already holds every intervention, so the sending
 * DAPC is simply one of its recipients (its own full copy);
 * CONSENT_DECISION "marac.consent" (MCO, IDVA). An M9 may have more views
 * than one envelope holds (HAVEN_MAX_VIEWS): the agent sends them in
 * envelopes of at most 8 views, each with the same tags.
 *
 * Legal basis HAVEN_MARAC_LEGAL_BASIS on every message; purpose "marac"
 * (types 5-11, 16) or "dapp" (12-14, and M10 to a panel coordinator).
 *
 * The same thresholds (haven_policy_marac) drive the sender's check, the
 * broker's check of the header (haven_marac_check_header) and each
 * recipient's check that the payload matches its header
 * (haven_marac_verify_payload), so a sender cannot pass one and not the
 * others. Errors never echo personal data.
 *
 * Who decides which rule. A refusal must be audited, and only the broker
 * keeps the tamper-evident audit; but the broker cannot read payloads.
 * So every rule the broker can decide from the signed header is the
 * broker's: the criteria and tags (haven_marac_check_header), recipients'
 * roles and directory attributes (the signed policy), and the parties'
 * directory attributes the policy cannot express
 * (haven_marac_check_parties). The agent sends through the broker and
 * reports its REJECT (HAVEN_MARAC_DEFER_BROKER). Deferred rules:
 *   M5   R9/R10/R11/R9-R11 criteria, the M6 record when consent=no,
 *        M5-age, recipients IDVA and MCO only and both (R13)
 *   M6   to the MCO only (R13)
 *   M7   ISP signatories only (R14); consent=no needs m6 (R9-R11)
 *   M8   to the coordinator or chair only (R15); a health return's
 *        Caldicott attestation (R15, tag caldicott); R9-R11
 *   M9, M11  R9-R11; M11 to the MCO only (R12)
 *   M10  to the MCO or DAPC only (M10); R9-R11 for purpose "marac"
 *   M12  referrer's role (R16), open to MAPPA or no MARAC history
 *        (R16), to the area's panel co-chairs (R17)
 *   M13, M14  sent by that area's DAPC, to its members, never EDU
 *        (R8, R17)
 *   CONSENT_DECISION  to the MCO and IDVA only
 * Checks that stay with the sender, because they read content the broker
 * never sees: the schema, sizes and formats; a judgement without a
 * written rationale (R11); DASH answers against the score; the M6
 * record's completeness and lawful basis pairs; a victim under 16; an R12
 * repeat whose previous MARAC is too old; an incident in the future; an
 * EDU-owned action that is not an education action (R8); an M7 with DASH
 * or narrative fields; an M14 intervention owned by an agency outside
 * the panel (R17); an empty panel; due dates, unique ids and reasons.
 * haven_marac_from_json (flags 0) runs both sets: an agent's `--check`.
 */
#ifndef HAVEN_MARAC_H
#define HAVEN_MARAC_H

#include "haven/common.h"
#include "haven/envelope.h"
#include "haven/policy.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HAVEN_MARAC_MAX_VIEWS 32     /* split into envelopes of <= 8 */
#define HAVEN_MARAC_MAX_SUBJECTS 8

/* UK GDPR Art 6(1)(e) public task + Art 9(2)(g) with DPA 2018 Sch 1
 * para 18 (safeguarding): the legal basis code of every MARAC and panel
 * share (R18); deploy/policy.json's rules require exactly this code. */
#define HAVEN_MARAC_LEGAL_BASIS "UKGDPR-6-1-e+DPA2018-S1P18"
#define HAVEN_MARAC_PURPOSE "marac"
#define HAVEN_DAPP_PURPOSE "dapp"

typedef struct haven_marac_subject {
	char role[16];               /* "victim", "perpetrator", "child" */
	char name[HAVEN_NAME_MAX];   /* personal data: pseudonymised only */
	char dob[11];                /* YYYY-MM-DD or "" */
} haven_marac_subject;

typedef struct haven_marac_view {
	char profile[HAVEN_CODE_MAX];
	size_t n_recipients;
	char recipients[HAVEN_MAX_RECIPIENTS][HAVEN_ID_MAX];
	uint8_t *payload;            /* malloc'd; serialised payload */
	size_t payload_len;
} haven_marac_view;

typedef struct haven_marac_msg {
	uint32_t type;               /* HAVEN_MSG_MARAC_REFERRAL.. / CONSENT */
	char case_ref[HAVEN_CODE_MAX]; /* pseudonymised into the header */
	size_t n_subjects;
	haven_marac_subject subjects[HAVEN_MARAC_MAX_SUBJECTS];
	int64_t occurred_ms;         /* M5, M11: the incident; else 0 */
	char legal_basis[HAVEN_CODE_MAX];
	char purpose[HAVEN_CODE_MAX];
	size_t n_tags;
	haven_tag tags[HAVEN_MAX_TAGS];
	bool has_reply_to;           /* M8/M10: answers this message */
	uint8_t in_reply_to[HAVEN_MSGID_BYTES];
	size_t n_views;
	haven_marac_view views[HAVEN_MARAC_MAX_VIEWS];
} haven_marac_msg;

/**
 * Validate a command's JSON input for message `type` and build the
 * message. `sender` is the sending agency id, `dir` the directory (for
 * recipients' roles: an EDU owner of actions gets "marac.plan.edu"),
 * `cfg` the thresholds (NULL: the defaults of policy.h), `now_ms` the
 * clock (incident age, dates not in the future). `sender` must be an
 * active agency of `dir`. On failure `field` names the JSON field
 * ("criteria.judgement.rationale", "to[2]", "" for the document) and `why`
 * says which rule or limit refused it, starting with the rule id where
 * there is one ("R10: DASH 14-16 needs consent or professional
 * judgement"; "M5-age: ...", "R8: ...", "R14: ...", "R15: ...",
 * "R16: ...", "R17: ..."). Neither ever contains an input value.
 * Unknown JSON fields are refused; a string over its limit is refused,
 * never truncated. `field`/`why` may be NULL.
 * @return HAVEN_OK, HAVEN_EINVAL (malformed), HAVEN_EVALIDATE (a rule),
 *   HAVEN_EMSGSIZE, HAVEN_ENOMEM. *out is NULL on failure.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_marac_from_json(uint32_t type,
    const char *json, size_t len, const char *sender,
    const haven_directory *dir, const haven_policy_marac *cfg,
    int64_t now_ms, haven_marac_msg **out, char *field, size_t fieldlen,
    char *why, size_t whylen);

/** Flags of haven_marac_from_json_ex. */
#define HAVEN_MARAC_CHECK_ALL 0x0u    /* every check: haven_marac_from_json */
#define HAVEN_MARAC_DEFER_BROKER 0x1u /* leave the broker's rules to it */

/**
 * haven_marac_from_json with `flags`. With HAVEN_MARAC_DEFER_BROKER the
 * rules the broker enforces on the header (the "deferred rules" above)
 * are not checked here: the message is built with honest tags (e.g.
 * dash=15 consent=no m6=no, mappa=yes) and views for the recipients
 * named, so the broker refuses it, naming the rule, and audits the
 * refusal. Every content check still runs. Unknown flags: HAVEN_EINVAL.
 * Arguments, results and errors otherwise as haven_marac_from_json.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_marac_from_json_ex(uint32_t type,
    const char *json, size_t len, const char *sender,
    const haven_directory *dir, const haven_policy_marac *cfg,
    int64_t now_ms, unsigned flags, haven_marac_msg **out, char *field,
    size_t fieldlen, char *why, size_t whylen);

/**
 * The broker's check of a MARAC or panel header's parties against the
 * directory: the rules the signed policy cannot say because they concern
 * more than one recipient at a time or the sender's attributes.
 *   M5  the recipients include an IDVA and an MCO (rule "R13")
 *   M13, M14  the sender is a member of the tagged area's panel,
 *       attr panel_<area>=member (rule "R17")
 * HAVEN_OK (out->allow true, out->rule "") for every other type and for a
 * header haven_marac_check_header refuses for other reasons (a missing
 * area tag is its to name). Unknown or revoked parties are the policy's
 * to refuse; here they count as having no role and no attributes.
 * @return HAVEN_OK, HAVEN_EPOLICY (`out` names the rule and the reason,
 *   never personal data), HAVEN_EINVAL (NULL argument).
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_marac_check_parties(
    const haven_directory *dir, const haven_header *h,
    haven_policy_decision *out);

/** Free a message and its payloads; NULL-tolerant; sets *m to NULL. */
HAVEN_API void haven_marac_msg_free(haven_marac_msg **m);

/**
 * Decode and validate one view's payload (type and profile as in its
 * header) and render it as a JSON object string (malloc'd; free()).
 * The decoder is strict: unknown fields at any level, a NUL inside a
 * string or any other encoding that does not re-encode to the same bytes
 * is HAVEN_EDECODE; every limit, date, time, code and cross-field rule of
 * the JSON input applies (e.g. a marac.plan.edu view with a risk summary
 * or a non-education action is HAVEN_EINVAL). The JSON has the shape of
 * the command's input (docs/marac.md) plus the fields the sender sets:
 * referral "m6_attached", escalation "met", research "agency", M6
 * "case_ref". Thread-safe; no clock.
 * @return HAVEN_OK, HAVEN_EDECODE, HAVEN_EINVAL (NULL arguments, profile
 *   does not fit the type, content invalid), HAVEN_EMSGSIZE (over
 *   HAVEN_PAYLOAD_MAX), HAVEN_ENOMEM.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_marac_payload_to_json(
    uint32_t type, const char *profile, const uint8_t *buf, size_t len,
    char **out);

/**
 * The broker's header check for types 5-14 and 16 (HAVEN_OK for others):
 * required tags present and well-formed, M5 incident age
 * (occurred_ms older than max_incident_age_days: rule "M5-age"),
 * R9/R10/R11 from dash/consent/judgement/escalation/repeat/m6 (consent=no
 * needs m6=yes and a "marac.m6" view), R12 accepted at any score, R16
 * (mappa=yes or marac_history=0). Also refused (rule "header"): no case
 * pseudonym, a duplicated tag, a view profile that does not fit the type,
 * a marac.m6 view without m6=yes; rule "R18": purpose other than the
 * type's. `cfg` NULL means the defaults. On success `out->allow` is true
 * and `out->rule` names the basis (M5: "R9", "R10", "R11" or "R12";
 * others "marac"; "" for a type that is not MARAC's). The parts of R8 and
 * R13-R17 that depend on roles and directory attributes are the signed
 * policy's rules (haven_policy_check_header) and
 * haven_marac_check_parties', not this function's.
 * @return HAVEN_OK, HAVEN_EPOLICY with `out` naming the rule and the
 *   reason (no personal data), HAVEN_EINVAL (NULL h or out).
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_marac_check_header(
    const haven_policy_marac *cfg, const haven_header *h, int64_t now_ms,
    haven_policy_decision *out);

/**
 * A recipient's check that a decrypted payload agrees with the signed
 * header's tags and incident time (a sender cannot tell the broker one
 * thing and the recipient another). The payload is decoded as in
 * haven_marac_payload_to_json (a decoding failure is HAVEN_EVALIDATE with
 * `why` "payload <field>: <reason>"); `profile` must be one of the
 * header's view profiles and fit its type. Escalation is checked against
 * the sender's own evaluation carried in the payload (the threshold is
 * the broker's to check). An EDU agency's agent should also insist on
 * profile "marac.plan.edu" for an M9.
 * @return HAVEN_OK or HAVEN_EVALIDATE (`why` names the tag, or says what
 *   else did not fit).
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_marac_verify_payload(
    const haven_header *h, const char *profile, const uint8_t *buf,
    size_t len, char *why, size_t whylen);

#ifdef __cplusplus
}
#endif
#endif /* HAVEN_MARAC_H */
