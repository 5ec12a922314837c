/*
 * haven/policy.h: the partnership's sharing policy and its evaluator.
 *
 * The policy is a signed, versioned document (JSON source, signed with the
 * admin key like the directory). Rules are evaluated in order; the first
 * rule whose every condition matches decides (allow, or deny naming the
 * rule). When no rule matches the answer is deny, rule "default-deny".
 *
 * JSON source:
 *   {"version": 1, "skew_seconds": 300,
 *    "rules": [
 *      {"id":"R1","effect":"deny","types":["OE_NOTIFICATION"],
 *       "sender_roles":["!POL"],"reason":"Encompass is sent by police only"},
 *      {"id":"R3","effect":"allow","sender_roles":["POL"],
 *       "recipient_roles":["EDU"],"types":["OE_NOTIFICATION"],
 *       "legal_bases":["UKGDPR-6-1-c"],"profiles":["oe.setting"],
 *       "tags":{"dash_band":"17plus"}}]}
 *
 * Each list condition is absent (matches anything), all-positive (value
 * must be one of them) or all-negated with a leading '!' (value must be
 * none of them). "tags" requires each named tag with exactly that value.
 * The evaluator is pure and thread-safe on a loaded policy.
 *
 * A rule may also carry "recipient_attrs": {"isp": "signed"}: each named
 * attribute of the recipient agency (directory attrs) must have exactly
 * that value, or, written "!v", must be absent or differ from v (R14 ISP
 * signatories, R17 panel membership). At most HAVEN_MAX_TAGS per rule;
 * names are codes, values non-empty text (v itself non-empty) shorter than
 * HAVEN_TAGVAL_MAX bytes with the '!'. A query without attrs (NULL or
 * n_recipient_attrs 0) has every attr absent: "!v" matches, "v" does not.
 *
 * Two optional settings sections configure what is not a yes/no rule:
 *   "encompass": {"secondary_contacts": ["deputy", "la-education"],
 *                 "holiday_duty": [{"calendar": "la.cambs",
 *                                   "agency": "la.cambs.eds"}],
 *                 "offline_escalation_minutes": 1440}
 *     secondary_contacts, in order of preference: "deputy" (the school's
 *     "deputy" attr: the deputy DSL's agency) and "la-education" (the
 *     "education_safeguarding" attr of the agency named by the school's
 *     "local_authority" attr); holiday_duty names, per calendar area, an
 *     agency that also receives a notification made during a holiday;
 *     offline_escalation_minutes 1..10080 (default 1440).
 *   "marac": {"dash_auto": 17, "dash_consent": 14, "repeat_days": 365,
 *             "max_incident_age_days": 92, "escalation_incidents": 3,
 *             "meeting_days": ["MON", "WED", "FRI"],
 *             "meeting_time": "10:00"}
 *     DASH is 0..24 and dash_consent <= dash_auto; days 1..3660;
 *     escalation_incidents 1..100; meeting_days non-empty, distinct
 *     MON..SUN; meeting_time "HH:MM" (00:00-23:59).
 * Absent sections, and absent keys of a present section, take these
 * defaults (holiday_duty: none). Unknown keys are refused; secondary
 * contacts are 1 or 2 distinct entries; holiday_duty has at most
 * HAVEN_POLICY_DUTY_MAX entries, agency-id shaped, one per calendar.
 * Errors name the field ("marac.dash_consent: must be <= dash_auto").
 * A signed policy always carries both sections; decoding validates them
 * with the same ranges.
 *
 * Validation (JSON source and signed body alike): "version" >= 1;
 * "skew_seconds" 1..86400 (default 300); optional "issued_ms" >= 0; at most
 * HAVEN_MAX_RULES rules with unique, non-empty ids (printable ASCII, not
 * "default-deny", "directory" or "header"); "effect" "allow" or "deny"; a
 * list, if present in JSON, has 1..HAVEN_POLICY_LIST_MAX entries: role
 * codes, type names (haven_msg_type_parse), or codes (printable ASCII,
 * < HAVEN_CODE_MAX);
 * at most HAVEN_MAX_TAGS tags; "reason" < HAVEN_REASON_MAX bytes of UTF-8
 * without control characters. The decision's reason is the rule's reason;
 * without one, "refused by rule <id>" for a deny and the rule id for an
 * allow.
 */
#ifndef HAVEN_POLICY_H
#define HAVEN_POLICY_H

#include "haven/common.h"
#include "haven/directory.h"
#include "haven/envelope.h"
#include "haven/keys.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HAVEN_MAX_RULES 512
#define HAVEN_RULE_ID_MAX 32
#define HAVEN_REASON_MAX 160
#define HAVEN_POLICY_LIST_MAX 16 /* entries in one list condition */

typedef struct haven_policy haven_policy;

#define HAVEN_POLICY_DUTY_MAX 16

typedef struct haven_policy_encompass {
	size_t n_secondary;
	char secondary[2][16];  /* "deputy", "la-education" */
	size_t n_holiday_duty;
	struct {
		char calendar[HAVEN_ID_MAX];
		char agency[HAVEN_ID_MAX];
	} holiday_duty[HAVEN_POLICY_DUTY_MAX];
	int64_t offline_escalation_ms; /* default 24 h */
} haven_policy_encompass;

typedef struct haven_policy_marac {
	int dash_auto;             /* R9: default 17 */
	int dash_consent;          /* R10: default 14 */
	int repeat_days;           /* R12: default 365 */
	int max_incident_age_days; /* M5: default 92 (3 months) */
	int escalation_incidents;  /* potential escalation: default 3 */
	uint8_t meeting_days;      /* bit 0 = Monday .. bit 6 = Sunday */
	int meeting_minute;        /* local time of day; default 600 */
} haven_policy_marac;

/** The policy's settings (defaults when its JSON had no section; the
 * defaults, in static storage, when `p` is NULL, e.g. an agent configured
 * without a policy). Borrowed until haven_policy_destroy(p). */
HAVEN_API const haven_policy_encompass *haven_policy_encompass_settings(
    const haven_policy *p);
HAVEN_API const haven_policy_marac *haven_policy_marac_settings(
    const haven_policy *p);

typedef struct haven_policy_query {
	const char *sender_role;
	const char *recipient_role;
	uint32_t type;
	const char *legal_basis;
	const char *profile;
	const haven_tag *tags;
	size_t n_tags;
	const haven_tag *recipient_attrs; /* the recipient agency's attrs */
	size_t n_recipient_attrs;
} haven_policy_query;

typedef struct haven_policy_decision {
	bool allow;
	char rule[HAVEN_RULE_ID_MAX];     /* deciding rule, or "default-deny" */
	char reason[HAVEN_REASON_MAX];    /* no personal data */
	char recipient[HAVEN_ID_MAX];     /* set by check_header on deny */
} haven_policy_decision;

HAVEN_NODISCARD HAVEN_API haven_err haven_policy_from_json(haven_policy **out,
    const char *json, size_t len, char *err, size_t errlen);

HAVEN_NODISCARD HAVEN_API haven_err haven_policy_sign(const haven_policy *p,
    const haven_keys *admin, uint8_t **out, size_t *out_len);

HAVEN_NODISCARD HAVEN_API haven_err haven_policy_decode_signed(
    haven_policy **out, const uint8_t *buf, size_t len,
    const uint8_t admin_pk[HAVEN_KEY_BYTES], char *err, size_t errlen);

HAVEN_NODISCARD HAVEN_API haven_err haven_policy_load(haven_policy **out,
    const char *path, const uint8_t admin_pk[HAVEN_KEY_BYTES], char *err,
    size_t errlen);

HAVEN_API void haven_policy_destroy(haven_policy **p);

HAVEN_API uint64_t haven_policy_version(const haven_policy *p);
HAVEN_API int64_t haven_policy_skew_ms(const haven_policy *p);

/** Evaluate one (sender, recipient, view) combination. */
HAVEN_API void haven_policy_evaluate(const haven_policy *p,
    const haven_policy_query *q, haven_policy_decision *out);

/**
 * All-or-nothing check of a whole header: for every view and every
 * recipient of it, evaluate with the sender's and recipient's roles from
 * `dir`. An unknown or revoked recipient is a deny (rule "directory"), as
 * is an unknown or revoked sender (recipient left empty). An empty legal
 * basis or purpose is a deny with rule "R18"; a header with no view, a view
 * without recipients, a view recipient index outside the header, a
 * header recipient that is in no view, or counts over the limits of
 * common.h is a deny with rule "header".
 * @return HAVEN_OK (allowed) or HAVEN_EPOLICY with `out` naming the rule
 *   and the first refused recipient.
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_policy_check_header(
    const haven_policy *p, const haven_directory *dir,
    const haven_header *hdr, haven_policy_decision *out);

#ifdef __cplusplus
}
#endif
#endif /* HAVEN_POLICY_H */
