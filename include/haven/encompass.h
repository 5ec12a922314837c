/*
 * haven/encompass.h: Operation Encompass incidents and notifications.
 *
 * The police agent reads an incident (the police record, JSON), validates
 * it (R2 ages, required fields, sizes), and plans one message per
 * recipient:
 *   R3 one OE_NOTIFICATION per school, holding that school's children only;
 *   R4 an OE_EHE_NOTIFICATION to the local authority's EHE officer for each
 *      home-educated child (agency "<local_authority>.ehe" if the directory
 *      has it, else "<local_authority>"), role LA or CSC;
 *   R5 an OE_ESCALATION to the police single point of contact for a child
 *      whose setting is unknown, not an EDU agency, or revoked: never
 *      dropped;
 *   R6 a child not present is still notified.
 *
 * Age rule (R2): the child must have reached 4 by the 31 August before the
 * school year (1 September) in which the incident falls, i.e. be of
 * reception age or older, and must be under 18 on the incident date.
 */
#ifndef HAVEN_ENCOMPASS_H
#define HAVEN_ENCOMPASS_H

#include "haven/common.h"
#include "haven/directory.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HAVEN_OE_MAX_CHILDREN 16
#define HAVEN_OE_TEXT_MAX 2048
#define HAVEN_OE_SHORT_MAX 256

typedef struct haven_oe_child {
	char name[HAVEN_NAME_MAX];
	char dob[11]; /* YYYY-MM-DD */
	char school[HAVEN_ID_MAX];
	bool ehe;
	char local_authority[HAVEN_ID_MAX];
	bool present;
	char where[HAVEN_OE_SHORT_MAX];
	char voice_of_child[HAVEN_OE_TEXT_MAX];
} haven_oe_child;

typedef struct haven_incident {
	char police_ref[HAVEN_CODE_MAX];
	char occurred_at[32];
	int64_t occurred_ms;
	char location[HAVEN_OE_SHORT_MAX];
	char circumstances[HAVEN_OE_TEXT_MAX];
	bool welfare_check;
	bool csc_informed;
	char officer_contact[HAVEN_OE_SHORT_MAX];
	size_t n_children;
	haven_oe_child children[HAVEN_OE_MAX_CHILDREN];
	bool ehe; /* set on payloads of OE_EHE_NOTIFICATION */
} haven_incident;

/**
 * Parse and validate an incident from JSON (<= HAVEN_JSON_MAX). Unknown
 * fields are refused. On failure `field` names the offending field
 * ("children[1].dob", "" for the document itself) and `why` says what is
 * wrong; neither ever contains the value. `field`/`why` may be NULL.
 * Required: police_ref (printable ASCII, no spaces), occurred_at (RFC 3339,
 * kept verbatim, at most 5 minutes after now), location, circumstances
 * (all non-empty), children (1..16); each child: name, dob (not after
 * today), present, and exactly one of school (an agency id) or ehe = true
 * with local_authority (an agency id). Optional: welfare_check,
 * csc_informed, officer_contact, where, voice_of_child. A string longer
 * than its buffer is refused, never truncated. R2 is checked after every
 * structural check. On failure *out is zeroed.
 * @return HAVEN_OK, HAVEN_EINVAL (malformed, missing, wrong type, too
 *   long), HAVEN_EVALIDATE (a rule: `why` starts with "R2", `field` is
 *   "children[i].dob"), HAVEN_EMSGSIZE (len > HAVEN_JSON_MAX).
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_incident_from_json(
    haven_incident *out, const char *json, size_t len, char *field,
    size_t fieldlen, char *why, size_t whylen);

/** R2 check of one child against the incident date (the Europe/London
 * date of `occurred_ms`). A 29 February birthday falls on 1 March in a
 * common year. @return HAVEN_OK, HAVEN_EVALIDATE ("R2: child is below
 * reception age" / "R2: child is 18 or over" in `why`), HAVEN_EINVAL (dob
 * is not a valid date). `why` may be NULL. */
HAVEN_NODISCARD HAVEN_API haven_err haven_oe_child_age_ok(
    const haven_oe_child *c, int64_t occurred_ms, char *why, size_t whylen);

typedef enum {
	HAVEN_OE_NOTIFY_SETTING = 1, /* M1 */
	HAVEN_OE_NOTIFY_EHE = 2,     /* M2 */
	HAVEN_OE_ESCALATE = 3        /* M4 to the police SPOC (R5) */
} haven_oe_kind;

typedef struct haven_oe_item {
	haven_oe_kind kind;
	char recipient[HAVEN_ID_MAX];
	char reason[32]; /* ESCALATE: "school-unknown", "not-a-setting",
	                    "revoked", "la-unknown" */
	size_t n_children;
	uint8_t child_idx[HAVEN_OE_MAX_CHILDREN]; /* into incident->children */
} haven_oe_item;

/**
 * Plan the messages for a validated incident. `spoc` is the police single
 * point of contact's agency id (must be in `dir`, role POL, not revoked).
 * Children are grouped per setting (EHE children per local authority) in
 * input order; items come in order of first appearance. Every child is in
 * exactly one item. Escalations are addressed to `spoc`, one per affected
 * group. At most n_children items.
 * @return HAVEN_OK, HAVEN_EINVAL (no usable SPOC, NULL argument,
 *   n_children not in 1..16).
 */
HAVEN_NODISCARD HAVEN_API haven_err haven_oe_plan(const haven_incident *inc,
    const haven_directory *dir, const char *spoc,
    haven_oe_item items[HAVEN_OE_MAX_CHILDREN], size_t *n_items);

/** Serialise the payload for one item: the incident with only the item's
 * children (EncompassNotification, or Escalation for ESCALATE). The
 * notification's ehe flag is set for NOTIFY_EHE and for an escalation of
 * an EHE group. *out is malloc'd (caller frees with free()).
 * @return HAVEN_OK, HAVEN_EINVAL (item does not fit the incident, unknown
 *   kind, escalation without reason), HAVEN_EMSGSIZE, HAVEN_ENOMEM. */
HAVEN_NODISCARD HAVEN_API haven_err haven_oe_payload_encode(
    const haven_incident *inc, const haven_oe_item *item, uint8_t **out,
    size_t *out_len);

/** Decode a payload of message type `type` (OE_NOTIFICATION,
 * OE_EHE_NOTIFICATION or OE_ESCALATION) back into an incident (and the
 * escalation reason for OE_ESCALATION; `reason` may be NULL). Validates
 * every length, count (1..16), UTF-8, date, time and agency id; an M1 must
 * hold one setting's children only, an M2 EHE children only. occurred_at
 * is not checked against the local clock. On failure *out is zeroed.
 * @return HAVEN_OK, HAVEN_EDECODE (bytes malformed or not canonical, e.g.
 *   a NUL inside a string), HAVEN_EINVAL (unknown type, content invalid),
 *   HAVEN_EMSGSIZE (len > HAVEN_PAYLOAD_MAX, or reason over reasonlen). */
HAVEN_NODISCARD HAVEN_API haven_err haven_oe_payload_decode(uint32_t type,
    const uint8_t *buf, size_t len, haven_incident *out, char *reason,
    size_t reasonlen);

/** The payload as a compact JSON object string (malloc'd; free()), for
 * `haven-agent show`. Keys in the order of the incident struct; a child's
 * school and local_authority only when set; "escalation_reason" only when
 * `reason` is non-NULL and non-empty.
 * @return HAVEN_OK, HAVEN_EINVAL (a string unterminated or not UTF-8, over
 *   16 children), HAVEN_ENOMEM. */
HAVEN_NODISCARD HAVEN_API haven_err haven_oe_to_json(
    const haven_incident *inc, const char *reason, char **out);

/* ---- escalations raised by the broker (M4, issue 3) ----------------- */

#define HAVEN_OE_REASON_DEADLINE "deadline-missed"
#define HAVEN_OE_REASON_OFFLINE "school-offline"
#define HAVEN_OE_REASON_CLOSED "read-after-escalation"

/* What the broker knows and says: no personal data (it has none). */
typedef struct haven_oe_escalation {
	char reason[32];            /* one of the HAVEN_OE_REASON_* */
	uint8_t about_msg_id[HAVEN_MSGID_BYTES]; /* the notification */
	char school[HAVEN_ID_MAX];  /* its recipient */
	int64_t deadline_ms;        /* its deadline */
	int64_t event_ms;           /* raised at; for a closure: read at */
	char reader_role[16];       /* closure only: "DSL", "DDSL", ... */
} haven_oe_escalation;

/** Serialise a broker escalation (Escalation without a notification).
 * Refuses (HAVEN_EINVAL) an unknown reason, a school that is not an agency
 * id, deadline_ms or event_ms <= 0, a reader_role on anything but a
 * closure or missing on a closure. *out is malloc'd (free()). */
HAVEN_NODISCARD HAVEN_API haven_err haven_oe_escalation_encode(
    const haven_oe_escalation *e, uint8_t **out, size_t *out_len);

/** Decode and validate what encode writes (same checks; a notification
 * present, a non-canonical encoding or a NUL in a string is
 * HAVEN_EDECODE). On failure *out is zeroed.
 * @return HAVEN_OK, HAVEN_EDECODE, HAVEN_EINVAL, HAVEN_EMSGSIZE. */
HAVEN_NODISCARD HAVEN_API haven_err haven_oe_escalation_decode(
    const uint8_t *buf, size_t len, haven_oe_escalation *out);

/** The escalation as a compact JSON object (malloc'd; free()). */
HAVEN_NODISCARD HAVEN_API haven_err haven_oe_escalation_to_json(
    const haven_oe_escalation *e, char **out);

#ifdef __cplusplus
}
#endif
#endif /* HAVEN_ENCOMPASS_H */
