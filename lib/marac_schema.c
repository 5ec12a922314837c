/*
 * lib/marac_schema.c: the field tables of the MARAC and panel payloads.
 *
 * Each table lists a message's fields in the order they are rendered, with
 * the limit that both the JSON reader and the decoder enforce. A field's
 * JSON key is its protobuf field name, so a table row cannot silently
 * describe another field: haven__marac_schemas_ok (run by the unit tests)
 * checks every row against the generated descriptor. docs/marac.md
 * documents these tables for people; keep the two in step.
 *
 * Limits are generous for what a coordinator types and small enough that
 * the largest possible payload stays under HAVEN_PAYLOAD_MAX.
 */
#include <string.h>

#include "marac_int.h"

#define NAME 127  /* fits haven_marac_subject.name */
#define ADDR 256
#define SHORT 128
#define REL 64
#define TINY 32
#define CODE (HAVEN_CODE_MAX - 1)
#define ID (HAVEN_ID_MAX - 1)
#define TXT_S 1024
#define TXT_M 2048
#define TXT_L 4096

#define F(k, kind, fl, mx) { k, kind, fl, mx, 0, NULL, NULL }
#define L(k, kind, fl, mx, n) { k, kind, (fl) | MF_LIST, mx, n, NULL, NULL }
#define E(k, fl, v) { k, MK_ENUM, fl, TINY, 0, v, NULL }
#define EL(k, fl, v, n) { k, MK_ENUM, (fl) | MF_LIST, TINY, n, v, NULL }
#define O(k, fl, s) { k, MK_OBJ, fl, 0, 0, NULL, &s }
#define OL(k, fl, s, n) { k, MK_OBJ, (fl) | MF_LIST, 0, n, NULL, &s }
#define B(k, fl) { k, MK_BOOL, fl, 0, 0, NULL, NULL }
#define TABLE(name, d, rows)                                              \
	static const haven__mfield name##_f[] = rows;                     \
	static const haven__mschema name = { &d, name##_f,                \
		sizeof(name##_f) / sizeof(name##_f[0]) }
#define ROWS(...) { __VA_ARGS__ }

static const char *const answers[] = { "yes", "no", "not-known", NULL };
static const char *const article6[] = { "UKGDPR-6-1-c", "UKGDPR-6-1-d",
	"UKGDPR-6-1-e", "UKGDPR-6-1-f", "DPA2018-PART3", NULL };
static const char *const conditions[] = { "UKGDPR-9-2-g+DPA2018-S1P18",
	"UKGDPR-10+DPA2018-S1P18", "UKGDPR-9-2-c", "DPA2018-S8P4", NULL };
const char *const haven__marac_plan_categories[] = { "education",
	"housing", "health", "police", "social-care", "idva", "probation",
	"substance-misuse", "refuge", "other", NULL };
static const char *const statuses[] = { "open", "in-progress", "done",
	"blocked", NULL };
static const char *const incident_types[] = { "assault", "threats",
	"breach-of-order", "breach-of-bail", "unwanted-contact",
	"child-contact-dispute", "criminal-damage", "stalking", "other", NULL };
static const char *const areas[] = { "north", "south", NULL };
static const char *const kinds[] = { "support", "diversion", "disruption",
	"enforcement", NULL };
static const char *const decisions[] = { "given", "refused", "withdrawn",
	NULL };

/* ------------------------------------------------------------- M5 */

TABLE(referrer, haven__marac_referrer__descriptor, ROWS(
	F("agency", MK_ID, MF_REQ, ID),
	F("officer", MK_LINE, MF_REQ, NAME),
	F("contact", MK_LINE, MF_REQ, SHORT)));

TABLE(diversity, haven__marac_diversity__descriptor, ROWS(
	B("bme", 0), B("disability", 0), B("lgbt", 0),
	F("gender", MK_LINE, 0, TINY)));

TABLE(victim, haven__marac_victim__descriptor, ROWS(
	F("name", MK_LINE, MF_REQ, NAME),
	L("aliases", MK_LINE, 0, NAME, 4),
	F("dob", MK_DATE, MF_REQ | MF_PAST, 10),
	F("address", MK_LINE, 0, ADDR),
	F("phone", MK_LINE, 0, TINY),
	B("safe_to_call", 0),
	F("safe_times", MK_LINE, 0, SHORT),
	O("diversity", 0, diversity),
	F("interpreter", MK_LINE, 0, TINY)));

TABLE(perpetrator, haven__marac_perpetrator__descriptor, ROWS(
	F("name", MK_LINE, MF_REQ, NAME),
	L("aliases", MK_LINE, 0, NAME, 4),
	F("dob", MK_DATE, MF_PAST, 10),
	F("relationship", MK_LINE, MF_REQ, REL),
	F("address", MK_LINE, 0, ADDR)));

TABLE(child, haven__marac_child__descriptor, ROWS(
	F("name", MK_LINE, MF_REQ, NAME),
	F("dob", MK_DATE, MF_REQ | MF_PAST, 10),
	F("relationship", MK_LINE, MF_REQ, REL),
	F("school", MK_ID, 0, ID)));

TABLE(judgement, haven__marac_judgement__descriptor, ROWS(
	F("rationale", MK_TEXT, 0, TXT_M)));

TABLE(escalation, haven__marac_escalation__descriptor, ROWS(
	F("incidents_12m", MK_UINT, MF_REQ, 366),
	B("met", MF_OUT)));

TABLE(repeat, haven__marac_repeat__descriptor, ROWS(
	F("previous_marac_date", MK_DATE, MF_REQ | MF_PAST, 10)));

TABLE(criteria, haven__marac_criteria__descriptor, ROWS(
	F("dash", MK_NINT, 0, 24),
	EL("dash_answers", 0, answers, 24),
	O("judgement", 0, judgement),
	O("escalation", 0, escalation),
	O("repeat", 0, repeat)));

TABLE(consent, haven__marac_consent__descriptor, ROWS(
	B("given", MF_REQ), B("victim_aware", 0),
	F("reason_if_not", MK_TEXT, 0, TXT_S)));

TABLE(incident, haven__marac_incident__descriptor, ROWS(
	F("occurred_at", MK_TIME, MF_REQ, 40),
	F("summary", MK_TEXT, MF_REQ, TXT_L)));

TABLE(referral, haven__marac_referral__descriptor, ROWS(
	F("case_ref", MK_CODE, MF_REQ, CODE),
	O("referrer", MF_REQ, referrer),
	O("victim", MF_REQ, victim),
	O("perpetrator", MF_REQ, perpetrator),
	OL("children", 0, child, 6),
	O("criteria", MF_REQ, criteria),
	O("consent", MF_REQ, consent),
	F("fears", MK_TEXT, 0, TXT_S),
	L("safe_contacts", MK_LINE, 0, ADDR, 8),
	L("unsafe_contacts", MK_LINE, 0, ADDR, 8),
	O("incident", MF_REQ, incident),
	F("crime_ref", MK_CODE, 0, CODE),
	B("m6_attached", MF_OUT)));

/* ------------------------------------------------------------- M6 */

TABLE(basis, haven__marac_lawful_basis__descriptor, ROWS(
	E("article6", MF_REQ, article6),
	E("condition", MF_REQ, conditions)));

TABLE(signatory, haven__marac_signatory__descriptor, ROWS(
	F("name", MK_LINE, MF_REQ, NAME),
	F("role", MK_LINE, MF_REQ, SHORT)));

TABLE(m6, haven__marac_m6__descriptor, ROWS(
	F("case_ref", MK_CODE, MF_REQ | MF_OUT, CODE),
	F("purpose", MK_TEXT, MF_REQ, TXT_S),
	O("lawful_basis", MF_REQ, basis),
	F("necessity", MK_TEXT, MF_REQ, TXT_M),
	O("decision_maker", MF_REQ, signatory),
	O("manager", MF_REQ, signatory),
	F("decided_on", MK_DATE, MF_REQ | MF_PAST, 10)));

const haven__mschema haven__marac_m6_schema = { &haven__marac_m6__descriptor,
	m6_f, sizeof(m6_f) / sizeof(m6_f[0]) };

/* The coordinator's view of an M5 with an M6 record. */
TABLE(refm6, haven__marac_referral_m6__descriptor, ROWS(
	O("referral", MF_REQ, referral),
	O("m6", MF_REQ, m6)));

/* ---------------------------------------------------------- M7-M11 */

TABLE(listed, haven__marac_listed_person__descriptor, ROWS(
	F("name", MK_LINE, MF_REQ, NAME),
	F("dob", MK_DATE, MF_PAST, 10),
	F("address", MK_LINE, 0, ADDR)));

TABLE(caselist, haven__marac_case_list__descriptor, ROWS(
	F("case_ref", MK_CODE, MF_REQ, CODE),
	F("meeting_date", MK_DATE, MF_REQ, 10),
	O("victim", MF_REQ, listed),
	O("perpetrator", MF_REQ, listed),
	OL("children", 0, listed, 6),
	B("repeat", 0)));

TABLE(withheld, haven__marac_withheld__descriptor, ROWS(
	F("what", MK_LINE, MF_REQ, ADDR),
	F("why", MK_TEXT, MF_REQ, TXT_S)));

TABLE(research, haven__marac_research__descriptor, ROWS(
	F("case_ref", MK_CODE, MF_REQ, CODE),
	F("agency", MK_ID, MF_REQ | MF_OUT, ID),
	L("facts", MK_TEXT, 0, TXT_M, 32),
	L("opinions", MK_TEXT, 0, TXT_M, 32),
	OL("withheld", 0, withheld, 16),
	B("caldicott_attested", 0)));

TABLE(action, haven__marac_action__descriptor, ROWS(
	F("id", MK_CODE, MF_REQ, 16),
	F("owner", MK_ID, MF_REQ, ID),
	E("category", MF_REQ, haven__marac_plan_categories),
	F("description", MK_TEXT, MF_REQ, TXT_S),
	F("due", MK_DATE, MF_REQ, 10)));

TABLE(plan, haven__marac_plan__descriptor, ROWS(
	F("case_ref", MK_CODE, MF_REQ, CODE),
	F("meeting_date", MK_DATE, MF_REQ, 10),
	F("risk_summary", MK_TEXT, 0, TXT_L),
	B("repeat", 0),
	OL("actions", 0, action, 64)));

TABLE(update, haven__marac_action_update__descriptor, ROWS(
	F("case_ref", MK_CODE, MF_REQ, CODE),
	F("action_id", MK_CODE, MF_REQ, 16),
	E("status", MF_REQ, statuses),
	F("note", MK_TEXT, 0, TXT_S)));

TABLE(repeatflag, haven__marac_repeat_flag__descriptor, ROWS(
	F("case_ref", MK_CODE, MF_REQ, CODE),
	F("date", MK_DATE, MF_REQ | MF_PAST, 10),
	E("incident_type", MF_REQ, incident_types),
	F("note", MK_TEXT, 0, TXT_S)));

TABLE(decision, haven__marac_consent_decision__descriptor, ROWS(
	F("case_ref", MK_CODE, MF_REQ, CODE),
	E("decision", MF_REQ, decisions),
	F("recorded_by", MK_LINE, MF_REQ, NAME),
	F("reason", MK_TEXT, 0, TXT_S),
	F("decided_on", MK_DATE, MF_REQ | MF_PAST, 10)));

/* -------------------------------------------------------- M12-M14 */

TABLE(subject, haven__dapp_subject__descriptor, ROWS(
	F("name", MK_LINE, MF_REQ, NAME),
	L("aliases", MK_LINE, 0, NAME, 4),
	F("dob", MK_DATE, MF_REQ | MF_PAST, 10)));

TABLE(mappa, haven__dapp_mappa__descriptor, ROWS(
	F("category", MK_UINT, MF_REQ, 3),
	F("level", MK_UINT, MF_REQ, 3)));

TABLE(dref, haven__dapp_referral__descriptor, ROWS(
	F("case_ref", MK_CODE, MF_REQ, CODE),
	E("area", MF_REQ, areas),
	O("perpetrator", MF_REQ, subject),
	L("marac_case_refs", MK_CODE, 0, CODE, 16),
	B("open_to_mappa", MF_REQ),
	O("mappa", 0, mappa),
	F("offending_summary", MK_TEXT, MF_REQ, TXT_L)));

TABLE(dreturn, haven__dapp_return__descriptor, ROWS(
	F("agency", MK_ID, MF_REQ, ID),
	F("summary", MK_TEXT, MF_REQ, TXT_L)));

TABLE(bundle, haven__dapp_bundle__descriptor, ROWS(
	F("case_ref", MK_CODE, MF_REQ, CODE),
	E("area", MF_REQ, areas),
	F("panel_date", MK_DATE, MF_REQ, 10),
	O("subject", MF_REQ, subject),
	F("subject_profile", MK_TEXT, MF_REQ, TXT_L),
	OL("partner_returns", 0, dreturn, 24),
	F("victim_safety_notes", MK_TEXT, 0, TXT_L)));

TABLE(intervention, haven__dapp_intervention__descriptor, ROWS(
	F("id", MK_CODE, MF_REQ, 16),
	F("owner", MK_ID, MF_REQ, ID),
	E("kind", MF_REQ, kinds),
	F("description", MK_TEXT, MF_REQ, TXT_S),
	F("due", MK_DATE, MF_REQ, 10)));

TABLE(dplan, haven__dapp_plan__descriptor, ROWS(
	F("case_ref", MK_CODE, MF_REQ, CODE),
	E("area", MF_REQ, areas),
	F("panel_date", MK_DATE, MF_REQ, 10),
	OL("interventions", MF_REQ, intervention, 64)));

/* ------------------------------------------------------- lookups */

static const struct {
	uint32_t type;
	const char *profile;
	const haven__mschema *s;
} profiles[] = {
	{ HAVEN_MSG_MARAC_REFERRAL, "marac.referral", &referral },
	{ HAVEN_MSG_MARAC_REFERRAL, "marac.m6", &refm6 },
	{ HAVEN_MSG_INFO_SHARED_WITHOUT_CONSENT, "marac.m6", &m6 },
	{ HAVEN_MSG_MARAC_CASE_LIST, "marac.caselist", &caselist },
	{ HAVEN_MSG_MARAC_RESEARCH_RETURN, "marac.research", &research },
	{ HAVEN_MSG_MARAC_ACTION_PLAN, "marac.plan", &plan },
	{ HAVEN_MSG_MARAC_ACTION_PLAN, "marac.plan.edu", &plan },
	{ HAVEN_MSG_MARAC_ACTION_PLAN, "marac.plan.full", &plan },
	{ HAVEN_MSG_ACTION_UPDATE, "marac.update", &update },
	{ HAVEN_MSG_REPEAT_INCIDENT_FLAG, "marac.repeat", &repeatflag },
	{ HAVEN_MSG_DAPP_REFERRAL, "dapp.referral", &dref },
	{ HAVEN_MSG_DAPP_BUNDLE, "dapp.bundle", &bundle },
	{ HAVEN_MSG_DAPP_ACTION_PLAN, "dapp.plan", &dplan },
	{ HAVEN_MSG_CONSENT_DECISION, "marac.consent", &decision },
};

#define N_PROFILES (sizeof(profiles) / sizeof(profiles[0]))

const haven__mschema *
haven__marac_schema(uint32_t type, const char *profile)
{
	if (profile == NULL) {
		return (NULL);
	}
	for (size_t i = 0; i < N_PROFILES; i++) {
		if (profiles[i].type == type &&
		    strcmp(profiles[i].profile, profile) == 0) {
			return (profiles[i].s);
		}
	}
	return (NULL);
}

/* The first profile listed for a type is its main payload. */
const haven__mschema *
haven__marac_input_schema(uint32_t type)
{
	for (size_t i = 0; i < N_PROFILES; i++) {
		if (profiles[i].type == type) {
			return (profiles[i].s);
		}
	}
	return (NULL);
}

bool
haven__marac_profile_fits(uint32_t type, const char *profile)
{
	return (haven__marac_schema(type, profile) != NULL);
}

/* ------------------------------------------------- self-check */

static bool
row_ok(const haven__mfield *f, const ProtobufCFieldDescriptor *fd)
{
	bool list = (f->flags & MF_LIST) != 0;

	if (fd == NULL || list != (fd->label == PROTOBUF_C_LABEL_REPEATED) ||
	    (list && (f->count == 0 || f->kind == MK_BOOL ||
	        f->kind == MK_UINT || f->kind == MK_NINT))) {
		return (false);
	}
	switch (f->kind) {
	case MK_BOOL:
		return (fd->type == PROTOBUF_C_TYPE_BOOL);
	case MK_UINT:
		return (fd->type == PROTOBUF_C_TYPE_UINT32);
	case MK_NINT:
		return (fd->type == PROTOBUF_C_TYPE_INT32);
	case MK_OBJ:
		return (fd->type == PROTOBUF_C_TYPE_MESSAGE && f->sub != NULL &&
		    fd->descriptor == f->sub->desc);
	case MK_ENUM:
		return (fd->type == PROTOBUF_C_TYPE_STRING && f->vals != NULL);
	default:
		return (fd->type == PROTOBUF_C_TYPE_STRING && f->max > 0);
	}
}

static bool
schema_ok(const haven__mschema *s, int depth)
{
	if (depth > 4 || s->n != s->desc->n_fields) {
		return (false); /* every proto field is described */
	}
	for (size_t i = 0; i < s->n; i++) {
		const haven__mfield *f = &s->f[i];

		if (!row_ok(f, protobuf_c_message_descriptor_get_field_by_name(
		        s->desc, f->key)) ||
		    (f->kind == MK_OBJ && !schema_ok(f->sub, depth + 1))) {
			return (false);
		}
	}
	return (true);
}

bool
haven__marac_schemas_ok(void)
{
	for (size_t i = 0; i < N_PROFILES; i++) {
		if (!schema_ok(profiles[i].s, 0)) {
			return (false);
		}
	}
	return (true);
}
