/*
 * lib/marac.c: MARAC and perpetrator-panel messages: the public entry
 * points (from_json, payload_to_json, msg_free) and the helpers every
 * per-type builder shares (recipients, tags, subjects, views).
 *
 * Invariants:
 * - A message returned by haven_marac_from_json passed every check a
 *   recipient will make on its payloads (the same table and content rules)
 *   and every rule the broker will check on its header (the same criteria
 *   function), so an honest sender is never refused downstream and a
 *   dishonest one is refused by both.
 * - With HAVEN_MARAC_DEFER_BROKER (haven_marac_from_json_ex) the header
 *   rules are left to the broker, which audits its refusals; the content
 *   checks still run, and tags always say what the payload says, so the
 *   broker decides on the truth.
 * - Every view's recipients are active agencies of the directory, each
 *   accepted by its type's recipient rule; every recipient is in a view.
 * - Refusals name a field and a rule, never a value (all values here are
 *   personal data about victims, children and perpetrators).
 *
 * Threat assumptions: the JSON comes from the agency's own coordinator or
 * system (honest, possibly malformed or careless); the directory is signed
 * and trusted; payloads handed to payload_to_json are hostile bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haven/calendar.h"
#include "jsonutil.h"
#include "marac_int.h"
#include "pbutil.h"
#include "util.h"

typedef struct tdef {
	uint32_t type;
	haven_err (*build)(haven__mctx *);
	const char *const *extra; /* keys beside the payload's own */
} tdef;

static const char *const x_ref[] = { "to", "m6", NULL };
static const char *const x_m6[] = { "to", "case_ref", "m6", NULL };
static const char *const x_share[] = { "to", "consent", "m6_recorded",
	NULL };
static const char *const x_research[] = { "to", "consent", "m6_recorded",
	"agency", "in_reply_to", NULL };
static const char *const x_update[] = { "to", "consent", "m6_recorded",
	"in_reply_to", NULL };
static const char *const x_to[] = { "to", NULL };

static const tdef types[] = {
	{ HAVEN_MSG_MARAC_REFERRAL, haven__marac_build_referral, x_ref },
	{ HAVEN_MSG_INFO_SHARED_WITHOUT_CONSENT, haven__marac_build_m6, x_m6 },
	{ HAVEN_MSG_MARAC_CASE_LIST, haven__marac_build_caselist, x_share },
	{ HAVEN_MSG_MARAC_RESEARCH_RETURN, haven__marac_build_research,
	    x_research },
	{ HAVEN_MSG_MARAC_ACTION_PLAN, haven__marac_build_plan, x_share },
	{ HAVEN_MSG_ACTION_UPDATE, haven__marac_build_update, x_update },
	{ HAVEN_MSG_REPEAT_INCIDENT_FLAG, haven__marac_build_repeat, x_share },
	{ HAVEN_MSG_DAPP_REFERRAL, haven__marac_build_dapp_referral, x_to },
	{ HAVEN_MSG_DAPP_BUNDLE, haven__marac_build_bundle, x_share },
	{ HAVEN_MSG_DAPP_ACTION_PLAN, haven__marac_build_dapp_plan, x_share },
	{ HAVEN_MSG_CONSENT_DECISION, haven__marac_build_consent, x_to },
};

static const tdef *
find_type(uint32_t type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (types[i].type == type) {
			return (&types[i]);
		}
	}
	return (NULL);
}

/* ------------------------------------------------------- small helpers */

bool
haven__marac_attr_is(const haven_agency *a, const char *key,
    const char *value)
{
	const char *v = haven_agency_attr(a, key);

	return (v != NULL && strcmp(v, value) == 0);
}

bool
haven__marac_role_is(const haven_agency *a, const char *role)
{
	return (strcmp(a->role, role) == 0);
}

haven_err
haven__marac_add_tag(haven__mctx *c, const char *key, const char *value)
{
	haven_marac_msg *m = c->msg;

	if (m->n_tags >= HAVEN_MAX_TAGS ||
	    haven__strlcpy(m->tags[m->n_tags].key, key,
	        sizeof(m->tags[0].key)) != HAVEN_OK ||
	    haven__strlcpy(m->tags[m->n_tags].value, value,
	        sizeof(m->tags[0].value)) != HAVEN_OK) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, "", "tags"));
	}
	m->n_tags++;
	return (HAVEN_OK);
}

haven_err
haven__marac_add_subject(haven__mctx *c, const char *role, const char *name,
    const char *dob)
{
	haven_marac_msg *m = c->msg;
	haven_marac_subject *s;

	if (m->n_subjects >= HAVEN_MARAC_MAX_SUBJECTS) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, "",
		    "more than 8 people named"));
	}
	s = &m->subjects[m->n_subjects];
	if (haven__strlcpy(s->role, role, sizeof(s->role)) != HAVEN_OK ||
	    haven__strlcpy(s->name, name, sizeof(s->name)) != HAVEN_OK ||
	    haven__strlcpy(s->dob, dob, sizeof(s->dob)) != HAVEN_OK) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, role,
		    "does not fit a subject"));
	}
	m->n_subjects++;
	return (HAVEN_OK);
}

haven_err
haven__marac_add_view(haven__mctx *c, const char *profile,
    const haven_agency *const *rcpt, size_t n, const ProtobufCMessage *pb)
{
	haven_marac_msg *m = c->msg;
	haven_marac_view *v;
	haven_err rv;

	if (m->n_views >= HAVEN_MARAC_MAX_VIEWS || n == 0 ||
	    n > HAVEN_MAX_RECIPIENTS) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, "to",
		    "too many or no recipients"));
	}
	v = &m->views[m->n_views];
	if (haven__strlcpy(v->profile, profile, sizeof(v->profile)) !=
	    HAVEN_OK) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, "", "profile"));
	}
	for (size_t i = 0; i < n; i++) {
		(void) snprintf(v->recipients[i], sizeof(v->recipients[i]),
		    "%s", rcpt[i]->id);
	}
	v->n_recipients = n;
	rv = haven__pb_pack(pb, HAVEN_PAYLOAD_MAX, &v->payload,
	    &v->payload_len);
	if (rv != HAVEN_OK) {
		return (haven__marac_fail(c->pe, rv, "",
		    rv == HAVEN_EMSGSIZE ? "payload over 256 KiB" :
		        "out of memory"));
	}
	m->n_views++;
	return (HAVEN_OK);
}

haven_err
haven__marac_validate(haven__mctx *c, const haven__mschema *s,
    const char *profile, const ProtobufCMessage *m, const char *where)
{
	haven_err rv;

	if ((rv = haven__marac_check(s, m, where, c->today, c->pe)) !=
	    HAVEN_OK) {
		return (rv);
	}
	return (haven__marac_content_ok(c->type, profile, m, where, c->pe));
}

/* ----------------------------------------------------------- recipients */

static haven_err
to_one(haven__mctx *c, const json_t *v, size_t i, haven__mto_ok ok)
{
	const haven_agency *a;
	const char *why;
	char p[32];

	(void) snprintf(p, sizeof(p), "to[%zu]", i);
	if (!json_is_string(v) || !haven_agency_id_valid(json_string_value(v))) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, p,
		    "not an agency id"));
	}
	a = haven_directory_find(c->dir, json_string_value(v));
	if (a == NULL || a->revoked) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, p,
		    "not an active agency of the directory"));
	}
	for (size_t j = 0; j < c->n_to; j++) {
		if (c->to[j] == a) {
			return (haven__marac_fail(c->pe, HAVEN_EINVAL, p,
			    "named twice"));
		}
	}
	if (ok != NULL && !c->defer && (why = ok(c, a)) != NULL) {
		return (haven__marac_fail(c->pe, HAVEN_EVALIDATE, p, why));
	}
	c->to[c->n_to++] = a;
	return (HAVEN_OK);
}

haven_err
haven__marac_read_to(haven__mctx *c, bool required, haven__mto_ok ok)
{
	const json_t *arr = json_object_get(c->root, "to");
	size_t n;
	haven_err rv;

	c->n_to = 0;
	if (arr == NULL || json_is_null(arr)) {
		return (required ? haven__marac_fail(c->pe, HAVEN_EINVAL, "to",
		    "missing") : HAVEN_OK);
	}
	if (!json_is_array(arr)) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, "to",
		    "must be an array"));
	}
	n = json_array_size(arr);
	if (n < 1 || n > HAVEN_MAX_RECIPIENTS) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, "to",
		    "must name 1 to 32 agencies"));
	}
	for (size_t i = 0; i < n; i++) {
		if ((rv = to_one(c, json_array_get(arr, i), i, ok)) !=
		    HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}

/* ------------------------------------------------- sharing, reply-to */

static haven_err
jbool(haven__mctx *c, const char *key, bool required, bool *out)
{
	char err[192];
	haven_err rv;

	rv = haven__json_bool(c->root, key, required, out, "", err,
	    sizeof(err));
	if (rv != HAVEN_OK) {
		haven__json_split_err(err, c->pe->field, c->pe->fieldlen,
		    c->pe->why, c->pe->whylen);
	}
	return (rv);
}

haven_err
haven__marac_sharing(haven__mctx *c, bool required, bool rule)
{
	bool consent = false, m6 = false;
	haven_err rv;

	if ((rv = jbool(c, "consent", required, &consent)) != HAVEN_OK ||
	    (rv = jbool(c, "m6_recorded", false, &m6)) != HAVEN_OK) {
		return (rv);
	}
	if (rule && !c->defer && !consent && !m6) {
		return (haven__marac_fail(c->pe, HAVEN_EVALIDATE,
		    "m6_recorded", "R9-R11: sharing without consent needs "
		    "an M6 record for the case"));
	}
	if ((rv = haven__marac_add_tag(c, "consent", consent ? "yes" : "no")) !=
	    HAVEN_OK) {
		return (rv);
	}
	return (haven__marac_add_tag(c, "m6", m6 ? "yes" : "no"));
}

haven_err
haven__marac_reply_to(haven__mctx *c)
{
	const json_t *v = json_object_get(c->root, "in_reply_to");
	char err[192];

	if (v == NULL || json_is_null(v)) {
		return (HAVEN_OK);
	}
	if (haven__json_hex(c->root, "in_reply_to", c->msg->in_reply_to,
	        HAVEN_MSGID_BYTES, "", err, sizeof(err)) != HAVEN_OK) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, "in_reply_to",
		    "must be 32 hex digits (a message id)"));
	}
	c->msg->has_reply_to = true;
	return (HAVEN_OK);
}

/* --------------------------------------------------------- from_json */

/* M7 carries no DASH detail and no narrative: name the rule rather than
 * calling such a field merely unknown. */
static haven_err
caselist_forbidden(haven__mctx *c)
{
	static const char *const keys[] = { "dash", "dash_answers",
		"criteria", "risk_summary", "summary", "incident", "narrative",
		"fears", "facts", "opinions", NULL };

	for (size_t i = 0; keys[i] != NULL; i++) {
		if (json_object_get(c->root, keys[i]) != NULL) {
			return (haven__marac_fail(c->pe, HAVEN_EVALIDATE,
			    keys[i], "M7: a case list carries no DASH detail "
			    "and no narrative"));
		}
	}
	return (HAVEN_OK);
}

static haven_err
start(haven__mctx *c, const tdef *t, const char *json, size_t len)
{
	const haven__mschema *s = haven__marac_input_schema(t->type);
	char err[256];
	json_t *root = NULL;
	haven_err rv;

	if ((rv = haven__json_parse(json != NULL ? json : "", len, &root, err,
	         sizeof(err))) != HAVEN_OK) {
		err[strcspn(err, ":")] = '\0'; /* jansson may quote the input */
		return (haven__marac_fail(c->pe, rv, "", err));
	}
	c->root = root;
	c->me = haven_directory_find(c->dir, c->sender);
	if (c->me == NULL || c->me->revoked) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, "",
		    "the sender is not an active agency of the directory"));
	}
	if ((c->msg = calloc(1, sizeof(*c->msg))) == NULL) {
		return (haven__marac_fail(c->pe, HAVEN_ENOMEM, "",
		    "out of memory"));
	}
	c->msg->type = t->type;
	if (t->type == HAVEN_MSG_INFO_SHARED_WITHOUT_CONSENT) {
		return (HAVEN_OK); /* {case_ref, to, m6}: the builder reads */
	}
	if (t->type == HAVEN_MSG_MARAC_CASE_LIST &&
	    (rv = caselist_forbidden(c)) != HAVEN_OK) {
		return (rv);
	}
	return (haven__marac_read(s, root, "", t->extra, &c->pb, c->pe));
}

static haven_err
finish(haven__mctx *c)
{
	haven_marac_msg *m = c->msg;
	const ProtobufCMessage *pb = c->pb != NULL ? c->pb : c->m6;
	const ProtobufCFieldDescriptor *fd;

	(void) snprintf(m->legal_basis, sizeof(m->legal_basis), "%s",
	    HAVEN_MARAC_LEGAL_BASIS);
	if (m->purpose[0] == '\0') { /* M10 chose already */
		(void) snprintf(m->purpose, sizeof(m->purpose), "%s",
		    haven__marac_purpose(c->type));
	}
	/* Every payload names its case; the header carries its pseudonym. */
	fd = pb == NULL ? NULL :
	    protobuf_c_message_descriptor_get_field_by_name(pb->descriptor,
	        "case_ref");
	if (fd == NULL || fd->type != PROTOBUF_C_TYPE_STRING) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, "case_ref",
		    "missing"));
	}
	return (haven__strlcpy(m->case_ref,
	    *(char *const *) (const void *) ((const char *) pb + fd->offset),
	    sizeof(m->case_ref)));
}

haven_err
haven_marac_from_json(uint32_t type, const char *json, size_t len,
    const char *sender, const haven_directory *dir,
    const haven_policy_marac *cfg, int64_t now_ms, haven_marac_msg **out,
    char *field, size_t fieldlen, char *why, size_t whylen)
{
	return (haven_marac_from_json_ex(type, json, len, sender, dir, cfg,
	    now_ms, HAVEN_MARAC_CHECK_ALL, out, field, fieldlen, why,
	    whylen));
}

haven_err
haven_marac_from_json_ex(uint32_t type, const char *json, size_t len,
    const char *sender, const haven_directory *dir,
    const haven_policy_marac *cfg, int64_t now_ms, unsigned flags,
    haven_marac_msg **out, char *field, size_t fieldlen, char *why,
    size_t whylen)
{
	haven__mperr pe = { field, fieldlen, why, whylen };
	haven__mctx c;
	haven_policy_marac defs;
	const tdef *t = find_type(type);
	haven_err rv;

	haven__errf(field, fieldlen, "%s", "");
	haven__errf(why, whylen, "%s", "");
	if (out != NULL) {
		*out = NULL;
	}
	if (out == NULL || dir == NULL || sender == NULL ||
	    (json == NULL && len > 0)) {
		return (haven__marac_fail(&pe, HAVEN_EINVAL, "", "no input"));
	}
	if ((flags & ~HAVEN_MARAC_DEFER_BROKER) != 0) {
		return (haven__marac_fail(&pe, HAVEN_EINVAL, "",
		    "unknown flags"));
	}
	if (t == NULL) {
		return (haven__marac_fail(&pe, HAVEN_EINVAL, "",
		    "not a MARAC or panel message type"));
	}
	if (cfg == NULL) {
		haven__marac_defaults(&defs);
		cfg = &defs;
	}
	memset(&c, 0, sizeof(c));
	c.type = type;
	c.sender = sender;
	c.dir = dir;
	c.cfg = cfg;
	c.now_ms = now_ms;
	c.today = haven_london_days(now_ms);
	c.pe = &pe;
	c.defer = (flags & HAVEN_MARAC_DEFER_BROKER) != 0;
	if ((rv = start(&c, t, json, len)) == HAVEN_OK &&
	    (rv = t->build(&c)) == HAVEN_OK &&
	    (rv = finish(&c)) == HAVEN_OK) {
		*out = c.msg;
		c.msg = NULL;
	}
	haven_marac_msg_free(&c.msg);
	haven__marac_pb_free(&c.pb);
	haven__marac_pb_free(&c.m6);
	json_decref((json_t *) c.root);
	return (rv);
}

void
haven_marac_msg_free(haven_marac_msg **m)
{
	if (m == NULL || *m == NULL) {
		return;
	}
	for (size_t i = 0; i < (*m)->n_views && i < HAVEN_MARAC_MAX_VIEWS;
	     i++) {
		free((*m)->views[i].payload);
	}
	free(*m);
	*m = NULL;
}

/* ---------------------------------------------------- payload_to_json */

haven_err
haven_marac_payload_to_json(uint32_t type, const char *profile,
    const uint8_t *buf, size_t len, char **out)
{
	const haven__mschema *s = haven__marac_schema(type, profile);
	ProtobufCMessage *m = NULL;
	json_t *o;
	haven_err rv;

	if (out == NULL || (buf == NULL && len > 0)) {
		return (HAVEN_EINVAL);
	}
	*out = NULL;
	if (s == NULL) {
		return (HAVEN_EINVAL);
	}
	if ((rv = haven__marac_decode(s, buf, len, &m, NULL)) != HAVEN_OK) {
		return (rv);
	}
	if (haven__marac_content_ok(type, profile, m, "", NULL) != HAVEN_OK) {
		haven__marac_pb_free(&m);
		return (HAVEN_EINVAL);
	}
	o = haven__marac_render(s, m);
	haven__marac_pb_free(&m);
	if (o == NULL) {
		return (HAVEN_ENOMEM);
	}
	*out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return (*out == NULL ? HAVEN_ENOMEM : HAVEN_OK);
}
