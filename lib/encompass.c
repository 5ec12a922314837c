/*
 * lib/encompass.c: Operation Encompass incidents, their validation (R2),
 * the per-recipient plan (R3-R6) and the payload codec (M1, M2, M4).
 *
 * Invariants:
 * - An incident that leaves haven_incident_from_json or
 *   haven_oe_payload_decode is whole: every string fits its buffer, is
 *   valid UTF-8 without NULs, every date and time parses, 1..16 children,
 *   and every child has exactly one of a setting or (EHE + local
 *   authority). Too long is refused, never truncated.
 * - A refusal names a field ("children[1].dob") and a reason; it never
 *   contains the value, because every value here is personal data (a
 *   child's name, date of birth, home address, what a child said).
 * - The plan never drops a child (R5): every child is in exactly one item;
 *   a setting we cannot deliver to becomes an escalation to the police
 *   single point of contact, carrying the children it concerns.
 * - A payload holds only its item's children (R3/R8): a school never gets
 *   another setting's pupil.
 *
 * Threat assumptions: incident JSON comes from a police system the agent
 * trusts to be honest but not to be well-formed; payload bytes arrive
 * after signature verification and decryption but are still decoded as
 * hostile (the sender's software may be buggy or compromised). The
 * protobuf-c structs never leave this file.
 */
#include "haven/encompass.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haven.pb-c.h"
#include "haven/calendar.h"
#include "jsonutil.h"
#include "pbutil.h"
#include "util.h"

#define FUTURE_SKEW_MS (5 * 60 * 1000) /* occurred_at may lead by 5 min */

/* Where from_json reports a refusal. */
typedef struct perr {
	char *field;
	size_t fieldlen;
	char *why;
	size_t whylen;
} perr;

static haven_err
fail(perr *pe, haven_err rv, const char *field, const char *why)
{
	haven__errf(pe->field, pe->fieldlen, "%s", field);
	haven__errf(pe->why, pe->whylen, "%s", why);
	return (rv);
}

/* jsonutil says "children[1].dob: missing": field and reason apart. */
static haven_err
fail_util(perr *pe, haven_err rv, const char *msg)
{
	haven__json_split_err(msg, pe->field, pe->fieldlen, pe->why,
	    pe->whylen);
	return (rv);
}

/* Police references: printable ASCII, no spaces ("CC-2026-114233"). */
static bool
ref_ok(const char *s)
{
	if (*s == '\0') {
		return (false);
	}
	for (; *s != '\0'; s++) {
		if (*s < 0x21 || *s > 0x7e) {
			return (false);
		}
	}
	return (true);
}

/* ------------------------------------------------------------- R2 ages */

haven_err
haven_oe_child_age_ok(const haven_oe_child *c, int64_t occurred_ms, char *why,
    size_t whylen)
{
	int64_t dob, day;
	int y;
	unsigned m, d;

	if (c == NULL || haven_date_parse(c->dob, &dob) != HAVEN_OK) {
		haven__errf(why, whylen, "dob: not a valid date");
		return (HAVEN_EINVAL);
	}
	/* The incident's date is the London date: schools and birthdays. */
	day = haven_london_days(occurred_ms);
	haven_civil_from_days(day, &y, &m, &d);
	if (m < 9) {
		y--; /* the school year began on 1 September of year y */
	}
	if (haven_date_add_years(dob, 4) > haven_days_from_civil(y, 8, 31)) {
		haven__errf(why, whylen, "R2: child is below reception age");
		return (HAVEN_EVALIDATE);
	}
	if (haven_date_add_years(dob, 18) <= day) {
		haven__errf(why, whylen, "R2: child is 18 or over");
		return (HAVEN_EVALIDATE);
	}
	return (HAVEN_OK);
}

/* ------------------------------------------------------ incident JSON */

static const char *const top_keys[] = { "police_ref", "occurred_at",
	"location", "circumstances", "welfare_check", "csc_informed",
	"officer_contact", "children", NULL };

static const char *const child_keys[] = { "name", "dob", "school", "ehe",
	"local_authority", "present", "where", "voice_of_child", NULL };

/* A required string that must not be empty either. */
static haven_err
req_str(const json_t *o, const char *key, char *dst, size_t len,
    const char *where, perr *pe)
{
	char err[256];
	char name[96];
	haven_err rv;

	rv = haven__json_str(o, key, true, dst, len, where, err, sizeof(err));
	if (rv != HAVEN_OK) {
		return (fail_util(pe, rv, err));
	}
	if (dst[0] == '\0') {
		(void) snprintf(name, sizeof(name), "%s%s%s", where,
		    where[0] != '\0' ? "." : "", key);
		return (fail(pe, HAVEN_EINVAL, name, "must not be empty"));
	}
	return (HAVEN_OK);
}

static haven_err
opt_str(const json_t *o, const char *key, char *dst, size_t len,
    const char *where, perr *pe)
{
	char err[256];
	haven_err rv;

	rv = haven__json_str(o, key, false, dst, len, where, err, sizeof(err));
	return (rv == HAVEN_OK ? rv : fail_util(pe, rv, err));
}

static haven_err
get_bool(const json_t *o, const char *key, bool req, bool *out,
    const char *where, perr *pe)
{
	char err[256];
	haven_err rv;

	rv = haven__json_bool(o, key, req, out, where, err, sizeof(err));
	return (rv == HAVEN_OK ? rv : fail_util(pe, rv, err));
}

static haven_err
only(const json_t *o, const char *const *keys, const char *where, perr *pe)
{
	char err[256];
	haven_err rv;

	rv = haven__json_only(o, keys, where, err, sizeof(err));
	return (rv == HAVEN_OK ? rv : fail_util(pe, rv, err));
}

static haven_err
parse_when(haven_incident *inc, int64_t now_ms, perr *pe)
{
	if (haven_time_parse(inc->occurred_at, &inc->occurred_ms) !=
	    HAVEN_OK) {
		return (fail(pe, HAVEN_EINVAL, "occurred_at",
		    "not an RFC 3339 time"));
	}
	if (inc->occurred_ms > now_ms + FUTURE_SKEW_MS) {
		return (fail(pe, HAVEN_EINVAL, "occurred_at", "in the future"));
	}
	return (HAVEN_OK);
}

static haven_err
parse_top(const json_t *root, haven_incident *inc, int64_t now_ms, perr *pe)
{
	haven_err rv;

	if ((rv = only(root, top_keys, "", pe)) != HAVEN_OK ||
	    (rv = req_str(root, "police_ref", inc->police_ref,
	         sizeof(inc->police_ref), "", pe)) != HAVEN_OK ||
	    (rv = req_str(root, "occurred_at", inc->occurred_at,
	         sizeof(inc->occurred_at), "", pe)) != HAVEN_OK ||
	    (rv = req_str(root, "location", inc->location,
	         sizeof(inc->location), "", pe)) != HAVEN_OK ||
	    (rv = req_str(root, "circumstances", inc->circumstances,
	         sizeof(inc->circumstances), "", pe)) != HAVEN_OK ||
	    (rv = get_bool(root, "welfare_check", false, &inc->welfare_check,
	         "", pe)) != HAVEN_OK ||
	    (rv = get_bool(root, "csc_informed", false, &inc->csc_informed,
	         "", pe)) != HAVEN_OK ||
	    (rv = opt_str(root, "officer_contact", inc->officer_contact,
	         sizeof(inc->officer_contact), "", pe)) != HAVEN_OK) {
		return (rv);
	}
	if (!ref_ok(inc->police_ref)) {
		return (fail(pe, HAVEN_EINVAL, "police_ref",
		    "must be printable ASCII without spaces"));
	}
	return (parse_when(inc, now_ms, pe));
}

static haven_err
fail_at(perr *pe, const char *where, const char *key, const char *why)
{
	char name[96];

	(void) snprintf(name, sizeof(name), "%s.%s", where, key);
	return (fail(pe, HAVEN_EINVAL, name, why));
}

/* Exactly one of: school (an agency id), or ehe = true + local_authority. */
static haven_err
check_setting(const haven_oe_child *c, const char *where, perr *pe)
{
	bool has_school = c->school[0] != '\0';
	bool has_la = c->local_authority[0] != '\0';

	if (has_school && c->ehe) {
		return (fail(pe, HAVEN_EINVAL, where,
		    "give a school or ehe with local_authority, not both"));
	}
	if (has_school && has_la) {
		return (fail_at(pe, where, "local_authority",
		    "only for an EHE child"));
	}
	if (has_school) {
		return (haven_agency_id_valid(c->school) ? HAVEN_OK :
		    fail_at(pe, where, "school", "not a valid agency id"));
	}
	if (!c->ehe) {
		return (fail_at(pe, where, "school",
		    "missing (or ehe with local_authority)"));
	}
	if (!has_la) {
		return (fail_at(pe, where, "local_authority",
		    "missing for an EHE child"));
	}
	return (haven_agency_id_valid(c->local_authority) ? HAVEN_OK :
	    fail_at(pe, where, "local_authority", "not a valid agency id"));
}

static haven_err
parse_dob(const haven_oe_child *c, const char *where, int64_t today, perr *pe)
{
	char name[96];
	int64_t dob;

	(void) snprintf(name, sizeof(name), "%s.dob", where);
	if (haven_date_parse(c->dob, &dob) != HAVEN_OK) {
		return (fail(pe, HAVEN_EINVAL, name,
		    "not a valid YYYY-MM-DD date"));
	}
	if (dob > today) {
		return (fail(pe, HAVEN_EINVAL, name, "in the future"));
	}
	return (HAVEN_OK);
}

static haven_err
parse_child(const json_t *o, size_t i, haven_oe_child *c, int64_t today,
    perr *pe)
{
	char w[32];
	haven_err rv;

	(void) snprintf(w, sizeof(w), "children[%zu]", i);
	if (!json_is_object(o)) {
		return (fail(pe, HAVEN_EINVAL, w, "must be an object"));
	}
	if ((rv = only(o, child_keys, w, pe)) != HAVEN_OK ||
	    (rv = req_str(o, "name", c->name, sizeof(c->name), w, pe)) !=
	        HAVEN_OK ||
	    (rv = req_str(o, "dob", c->dob, sizeof(c->dob), w, pe)) !=
	        HAVEN_OK ||
	    (rv = parse_dob(c, w, today, pe)) != HAVEN_OK ||
	    (rv = get_bool(o, "present", true, &c->present, w, pe)) !=
	        HAVEN_OK ||
	    (rv = opt_str(o, "school", c->school, sizeof(c->school), w, pe)) !=
	        HAVEN_OK ||
	    (rv = get_bool(o, "ehe", false, &c->ehe, w, pe)) != HAVEN_OK ||
	    (rv = opt_str(o, "local_authority", c->local_authority,
	         sizeof(c->local_authority), w, pe)) != HAVEN_OK ||
	    (rv = opt_str(o, "where", c->where, sizeof(c->where), w, pe)) !=
	        HAVEN_OK ||
	    (rv = opt_str(o, "voice_of_child", c->voice_of_child,
	         sizeof(c->voice_of_child), w, pe)) != HAVEN_OK) {
		return (rv);
	}
	return (check_setting(c, w, pe));
}

static haven_err
parse_children(const json_t *root, haven_incident *inc, int64_t now_ms,
    perr *pe)
{
	const json_t *arr = json_object_get(root, "children");
	int64_t today = haven_london_days(now_ms);
	haven_err rv;

	if (arr == NULL || json_is_null(arr)) {
		return (fail(pe, HAVEN_EINVAL, "children", "missing"));
	}
	if (!json_is_array(arr)) {
		return (fail(pe, HAVEN_EINVAL, "children", "must be an array"));
	}
	if (json_array_size(arr) < 1 ||
	    json_array_size(arr) > HAVEN_OE_MAX_CHILDREN) {
		return (fail(pe, HAVEN_EINVAL, "children",
		    "must hold 1 to 16 children"));
	}
	inc->n_children = json_array_size(arr);
	for (size_t i = 0; i < inc->n_children; i++) {
		rv = parse_child(json_array_get(arr, i), i, &inc->children[i],
		    today, pe);
		if (rv != HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}

/* R2 after every structural check, so malformed input is reported first. */
static haven_err
check_ages(const haven_incident *inc, perr *pe)
{
	char name[48];
	char why[64];
	haven_err rv;

	for (size_t i = 0; i < inc->n_children; i++) {
		rv = haven_oe_child_age_ok(&inc->children[i], inc->occurred_ms,
		    why, sizeof(why));
		if (rv != HAVEN_OK) {
			(void) snprintf(name, sizeof(name), "children[%zu].dob",
			    i);
			return (fail(pe, rv, name, why));
		}
	}
	return (HAVEN_OK);
}

haven_err
haven_incident_from_json(haven_incident *out, const char *json, size_t len,
    char *field, size_t fieldlen, char *why, size_t whylen)
{
	perr pe = { field, fieldlen, why, whylen };
	int64_t now = haven__now_ms();
	char err[256];
	json_t *root = NULL;
	haven_err rv;

	haven__errf(field, fieldlen, "%s", "");
	haven__errf(why, whylen, "%s", "");
	if (out == NULL || (json == NULL && len > 0)) {
		return (fail(&pe, HAVEN_EINVAL, "", "no input"));
	}
	memset(out, 0, sizeof(*out));
	if ((rv = haven__json_parse(json != NULL ? json : "", len, &root, err,
	         sizeof(err))) !=
	    HAVEN_OK) {
		/* jansson's detail after the ':' may quote the input. */
		err[strcspn(err, ":")] = '\0';
		return (fail(&pe, rv, "", err));
	}
	if ((rv = parse_top(root, out, now, &pe)) != HAVEN_OK ||
	    (rv = parse_children(root, out, now, &pe)) != HAVEN_OK ||
	    (rv = check_ages(out, &pe)) != HAVEN_OK) {
		memset(out, 0, sizeof(*out));
	}
	json_decref(root);
	return (rv);
}

/* ---------------------------------------------------------------- plan */

static bool
la_ok(const haven_agency *a)
{
	return (a != NULL && !a->revoked &&
	    (strcmp(a->role, "LA") == 0 || strcmp(a->role, "CSC") == 0));
}

static const haven_agency *
find(const haven_directory *dir, const char *id)
{
	return (id[0] == '\0' ? NULL : haven_directory_find(dir, id));
}

static void
escalate(haven_oe_item *it, const char *spoc, const char *reason)
{
	it->kind = HAVEN_OE_ESCALATE;
	(void) snprintf(it->recipient, sizeof(it->recipient), "%s", spoc);
	(void) snprintf(it->reason, sizeof(it->reason), "%s", reason);
}

/* R3/R5: a setting group goes to the school or escalates with a reason. */
static void
resolve_school(haven_oe_item *it, const haven_directory *dir,
    const char *spoc, const char *school)
{
	const haven_agency *a = find(dir, school);

	if (a == NULL) {
		escalate(it, spoc, "school-unknown");
	} else if (strcmp(a->role, "EDU") != 0) {
		escalate(it, spoc, "not-a-setting");
	} else if (a->revoked) {
		escalate(it, spoc, "revoked");
	} else {
		it->kind = HAVEN_OE_NOTIFY_SETTING;
		(void) snprintf(it->recipient, sizeof(it->recipient), "%s",
		    school);
	}
}

/* R4: the LA's EHE officer ("<la>.ehe"), else the LA, else escalate. */
static void
resolve_ehe(haven_oe_item *it, const haven_directory *dir, const char *spoc,
    const char *la)
{
	char ehe[HAVEN_ID_MAX];
	int n = snprintf(ehe, sizeof(ehe), "%s.ehe", la);
	const char *to = NULL;

	if (n > 0 && (size_t) n < sizeof(ehe) && la_ok(find(dir, ehe))) {
		to = ehe;
	} else if (la_ok(find(dir, la))) {
		to = la;
	}
	if (to == NULL) {
		escalate(it, spoc, "la-unknown");
		return;
	}
	it->kind = HAVEN_OE_NOTIFY_EHE;
	(void) snprintf(it->recipient, sizeof(it->recipient), "%s", to);
}

/* The group a child belongs to: its setting, or its LA for EHE. */
static const char *
group_key(const haven_oe_child *c)
{
	return (c->ehe ? c->local_authority : c->school);
}

static void
resolve(haven_oe_item *it, const haven_directory *dir, const char *spoc,
    const haven_oe_child *c)
{
	if (c->ehe) {
		resolve_ehe(it, dir, spoc, group_key(c));
	} else {
		resolve_school(it, dir, spoc, group_key(c));
	}
}

static size_t
find_group(const haven_incident *inc, const haven_oe_item *items, size_t n,
    const haven_oe_child *c)
{
	for (size_t j = 0; j < n; j++) {
		const haven_oe_child *first =
		    &inc->children[items[j].child_idx[0]];

		if (first->ehe == c->ehe &&
		    strcmp(group_key(first), group_key(c)) == 0) {
			return (j);
		}
	}
	return (n);
}

haven_err
haven_oe_plan(const haven_incident *inc, const haven_directory *dir,
    const char *spoc, haven_oe_item items[HAVEN_OE_MAX_CHILDREN],
    size_t *n_items)
{
	const haven_agency *sp;
	size_t n = 0;

	if (inc == NULL || dir == NULL || spoc == NULL || items == NULL ||
	    n_items == NULL || inc->n_children < 1 ||
	    inc->n_children > HAVEN_OE_MAX_CHILDREN) {
		return (HAVEN_EINVAL);
	}
	sp = find(dir, spoc);
	if (sp == NULL || sp->revoked || strcmp(sp->role, "POL") != 0) {
		return (HAVEN_EINVAL);
	}
	memset(items, 0, sizeof(items[0]) * HAVEN_OE_MAX_CHILDREN);
	for (size_t i = 0; i < inc->n_children; i++) {
		const haven_oe_child *c = &inc->children[i];
		size_t j = find_group(inc, items, n, c);

		if (j == n) {
			resolve(&items[n], dir, spoc, c);
			n++;
		}
		items[j].child_idx[items[j].n_children++] = (uint8_t) i;
	}
	*n_items = n;
	return (HAVEN_OK);
}

/* ------------------------------------------------------------- encode */

static void
child_to_pb(const haven_oe_child *c, Haven__EncompassChild *p)
{
	haven__encompass_child__init(p);
	p->name = (char *) c->name;
	p->dob = (char *) c->dob;
	p->school = (char *) c->school;
	p->ehe = c->ehe;
	p->local_authority = (char *) c->local_authority;
	p->present = c->present;
	p->where = (char *) c->where;
	p->voice_of_child = (char *) c->voice_of_child;
}

static bool
item_ok(const haven_incident *inc, const haven_oe_item *it)
{
	if (it->n_children < 1 || it->n_children > HAVEN_OE_MAX_CHILDREN ||
	    inc->n_children > HAVEN_OE_MAX_CHILDREN) {
		return (false);
	}
	if (it->kind != HAVEN_OE_NOTIFY_SETTING &&
	    it->kind != HAVEN_OE_NOTIFY_EHE &&
	    !(it->kind == HAVEN_OE_ESCALATE && it->reason[0] != '\0' &&
	        memchr(it->reason, '\0', sizeof(it->reason)) != NULL)) {
		return (false);
	}
	for (size_t i = 0; i < it->n_children; i++) {
		if (it->child_idx[i] >= inc->n_children) {
			return (false);
		}
	}
	return (true);
}

haven_err
haven_oe_payload_encode(const haven_incident *inc, const haven_oe_item *item,
    uint8_t **out, size_t *out_len)
{
	Haven__EncompassChild pc[HAVEN_OE_MAX_CHILDREN];
	Haven__EncompassChild *pp[HAVEN_OE_MAX_CHILDREN];
	Haven__EncompassNotification n = HAVEN__ENCOMPASS_NOTIFICATION__INIT;
	Haven__Escalation e = HAVEN__ESCALATION__INIT;

	if (inc == NULL || item == NULL || out == NULL || out_len == NULL ||
	    !item_ok(inc, item)) {
		return (HAVEN_EINVAL);
	}
	for (size_t i = 0; i < item->n_children; i++) {
		child_to_pb(&inc->children[item->child_idx[i]], &pc[i]);
		pp[i] = &pc[i];
	}
	n.police_ref = (char *) inc->police_ref;
	n.occurred_at = (char *) inc->occurred_at;
	n.location = (char *) inc->location;
	n.circumstances = (char *) inc->circumstances;
	n.welfare_check = inc->welfare_check;
	n.csc_informed = inc->csc_informed;
	n.officer_contact = (char *) inc->officer_contact;
	n.n_children = item->n_children;
	n.children = pp;
	/* M2 says "EHE / not on roll"; an escalation says which group. */
	n.ehe = item->kind == HAVEN_OE_NOTIFY_EHE || pc[0].ehe;
	if (item->kind != HAVEN_OE_ESCALATE) {
		return (haven__pb_pack(&n.base, HAVEN_PAYLOAD_MAX, out,
		    out_len));
	}
	e.reason = (char *) item->reason;
	e.notification = &n;
	return (haven__pb_pack(&e.base, HAVEN_PAYLOAD_MAX, out, out_len));
}

/* ------------------------------------------------------------- decode */

/* Copy a decoded string: present, valid UTF-8 and fits, else refused
 * (haven__pb_str alone would read NULL as ""). */
static bool
cp(char *dst, size_t len, const char *src)
{
	return (src != NULL && haven__utf8_valid(src) &&
	    haven__pb_str(dst, len, src) == HAVEN_OK);
}

static bool
id_or_empty(const char *s)
{
	return (s[0] == '\0' || haven_agency_id_valid(s));
}

static bool
child_from_pb(const Haven__EncompassChild *p, haven_oe_child *c)
{
	int64_t dob;

	if (p == NULL || !cp(c->name, sizeof(c->name), p->name) ||
	    !cp(c->dob, sizeof(c->dob), p->dob) ||
	    !cp(c->school, sizeof(c->school), p->school) ||
	    !cp(c->local_authority, sizeof(c->local_authority),
	        p->local_authority) ||
	    !cp(c->where, sizeof(c->where), p->where) ||
	    !cp(c->voice_of_child, sizeof(c->voice_of_child),
	        p->voice_of_child)) {
		return (false);
	}
	c->ehe = p->ehe;
	c->present = p->present;
	if (c->name[0] == '\0' || haven_date_parse(c->dob, &dob) != HAVEN_OK ||
	    !id_or_empty(c->school) || !id_or_empty(c->local_authority)) {
		return (false);
	}
	/* Exactly one of a setting or EHE with a local authority. */
	if (c->ehe) {
		return (c->school[0] == '\0' && c->local_authority[0] != '\0');
	}
	return (c->school[0] != '\0' && c->local_authority[0] == '\0');
}

static bool
notification_from_pb(const Haven__EncompassNotification *p,
    haven_incident *inc)
{
	if (p == NULL || p->n_children < 1 ||
	    p->n_children > HAVEN_OE_MAX_CHILDREN ||
	    !cp(inc->police_ref, sizeof(inc->police_ref), p->police_ref) ||
	    !cp(inc->occurred_at, sizeof(inc->occurred_at), p->occurred_at) ||
	    !cp(inc->location, sizeof(inc->location), p->location) ||
	    !cp(inc->circumstances, sizeof(inc->circumstances),
	        p->circumstances) ||
	    !cp(inc->officer_contact, sizeof(inc->officer_contact),
	        p->officer_contact)) {
		return (false);
	}
	if (!ref_ok(inc->police_ref) || inc->location[0] == '\0' ||
	    inc->circumstances[0] == '\0' ||
	    haven_time_parse(inc->occurred_at, &inc->occurred_ms) != HAVEN_OK) {
		return (false);
	}
	inc->welfare_check = p->welfare_check;
	inc->csc_informed = p->csc_informed;
	inc->ehe = p->ehe;
	inc->n_children = p->n_children;
	for (size_t i = 0; i < p->n_children; i++) {
		if (!child_from_pb(p->children[i], &inc->children[i])) {
			return (false);
		}
	}
	return (true);
}

/* M1 holds one setting's children; M2 holds EHE children only. */
static bool
fits_type(uint32_t type, const haven_incident *inc)
{
	for (size_t i = 0; i < inc->n_children; i++) {
		const haven_oe_child *c = &inc->children[i];

		if (type == HAVEN_MSG_OE_NOTIFICATION &&
		    (inc->ehe || c->ehe ||
		        strcmp(c->school, inc->children[0].school) != 0)) {
			return (false);
		}
		if (type == HAVEN_MSG_OE_EHE_NOTIFICATION &&
		    (!inc->ehe || !c->ehe)) {
			return (false);
		}
	}
	return (true);
}

static bool
reason_ok(const char *r)
{
	size_t n = strlen(r);

	if (n == 0 || n >= sizeof(((haven_oe_item *) 0)->reason)) {
		return (false);
	}
	return (strspn(r, "abcdefghijklmnopqrstuvwxyz-") == n);
}

static haven_err
decode_notification(uint32_t type, const uint8_t *buf, size_t len,
    haven_incident *out)
{
	ProtobufCMessage *m;
	const Haven__EncompassNotification *p;
	haven_err rv;

	if ((rv = haven__pb_unpack(&haven__encompass_notification__descriptor,
	    HAVEN_PAYLOAD_MAX, buf, len, &m)) != HAVEN_OK) {
		return (rv);
	}
	p = (const Haven__EncompassNotification *) m;
	/* A re-encoding of another size means a NUL hidden in a string or a
	 * non-canonical encoding: our encoder makes neither. Unknown fields
	 * re-encode at their own size and so pass here, which
	 * haven__pb_canonical would refuse. */
	if (protobuf_c_message_get_packed_size(m) != len) {
		rv = HAVEN_EDECODE;
	} else if (!notification_from_pb(p, out) || !fits_type(type, out)) {
		rv = HAVEN_EINVAL;
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return (rv);
}

/* Fields 4-7 are set only by the broker (haven_oe_escalation_encode). */
static bool
broker_fields(const Haven__Escalation *p)
{
	return ((p->school != NULL && p->school[0] != '\0') ||
	    p->deadline_ms != 0 || p->event_ms != 0 ||
	    (p->reader_role != NULL && p->reader_role[0] != '\0'));
}

static haven_err
decode_escalation(const uint8_t *buf, size_t len, haven_incident *out,
    char *reason, size_t reasonlen)
{
	ProtobufCMessage *m;
	const Haven__Escalation *p;
	haven_err rv;

	if ((rv = haven__pb_unpack(&haven__escalation__descriptor,
	    HAVEN_PAYLOAD_MAX, buf, len, &m)) != HAVEN_OK) {
		return (rv);
	}
	p = (const Haven__Escalation *) m;
	if (protobuf_c_message_get_packed_size(m) != len) {
		rv = HAVEN_EDECODE;
	} else if (broker_fields(p)) {
		/* A broker escalation (lib/escalation.c), not an agent's. */
		rv = HAVEN_EINVAL;
	} else if (p->reason == NULL || !reason_ok(p->reason) ||
	    (p->about_msg_id.len != 0 &&
	        p->about_msg_id.len != HAVEN_MSGID_BYTES) ||
	    !notification_from_pb(p->notification, out)) {
		rv = HAVEN_EINVAL;
	} else if (reason != NULL) {
		rv = haven__strlcpy(reason, p->reason, reasonlen);
	}
	protobuf_c_message_free_unpacked(m, NULL);
	return (rv);
}

haven_err
haven_oe_payload_decode(uint32_t type, const uint8_t *buf, size_t len,
    haven_incident *out, char *reason, size_t reasonlen)
{
	haven_err rv;

	if (out == NULL || (buf == NULL && len > 0)) {
		return (HAVEN_EINVAL);
	}
	memset(out, 0, sizeof(*out));
	if (reason != NULL && reasonlen > 0) {
		reason[0] = '\0';
	}
	if (len > HAVEN_PAYLOAD_MAX) {
		return (HAVEN_EMSGSIZE);
	}
	if (type == HAVEN_MSG_OE_NOTIFICATION ||
	    type == HAVEN_MSG_OE_EHE_NOTIFICATION) {
		rv = decode_notification(type, buf, len, out);
	} else if (type == HAVEN_MSG_OE_ESCALATION) {
		rv = decode_escalation(buf, len, out, reason, reasonlen);
	} else {
		return (HAVEN_EINVAL);
	}
	if (rv != HAVEN_OK) {
		memset(out, 0, sizeof(*out));
		if (reason != NULL && reasonlen > 0) {
			reason[0] = '\0';
		}
	}
	return (rv);
}

/* --------------------------------------------------------------- JSON */

/* Each setter returns 0 or -1 (out of memory or invalid UTF-8). */
static int
put_str(json_t *o, const char *k, const char *v)
{
	return (json_object_set_new(o, k, json_string(v)));
}

static int
put_bool(json_t *o, const char *k, bool v)
{
	return (json_object_set_new(o, k, json_boolean(v)));
}

static json_t *
child_json(const haven_oe_child *c)
{
	json_t *o = json_object();

	if (o == NULL || put_str(o, "name", c->name) != 0 ||
	    put_str(o, "dob", c->dob) != 0 ||
	    (c->school[0] != '\0' && put_str(o, "school", c->school) != 0) ||
	    put_bool(o, "ehe", c->ehe) != 0 ||
	    (c->local_authority[0] != '\0' &&
	        put_str(o, "local_authority", c->local_authority) != 0) ||
	    put_bool(o, "present", c->present) != 0 ||
	    put_str(o, "where", c->where) != 0 ||
	    put_str(o, "voice_of_child", c->voice_of_child) != 0) {
		json_decref(o);
		return (NULL);
	}
	return (o);
}

static json_t *
incident_json(const haven_incident *inc, const char *reason)
{
	json_t *o = json_object();
	json_t *kids = json_array();

	if (o == NULL || kids == NULL ||
	    put_str(o, "police_ref", inc->police_ref) != 0 ||
	    put_str(o, "occurred_at", inc->occurred_at) != 0 ||
	    put_str(o, "location", inc->location) != 0 ||
	    put_str(o, "circumstances", inc->circumstances) != 0 ||
	    put_bool(o, "welfare_check", inc->welfare_check) != 0 ||
	    put_bool(o, "csc_informed", inc->csc_informed) != 0 ||
	    put_str(o, "officer_contact", inc->officer_contact) != 0 ||
	    put_bool(o, "ehe", inc->ehe) != 0) {
		goto fail;
	}
	for (size_t i = 0; i < inc->n_children; i++) {
		json_t *c = child_json(&inc->children[i]);

		if (json_array_append_new(kids, c) != 0) {
			goto fail;
		}
	}
	if (json_object_set_new(o, "children", kids) != 0) {
		kids = NULL; /* set_new consumed it */
		goto fail;
	}
	if (reason != NULL && reason[0] != '\0' &&
	    put_str(o, "escalation_reason", reason) != 0) {
		json_decref(o);
		return (NULL);
	}
	return (o);
fail:
	json_decref(kids);
	json_decref(o);
	return (NULL);
}

/* Every string must be NUL-terminated in its buffer and valid UTF-8. */
static bool
str_fits(const char *s, size_t len)
{
	return (memchr(s, '\0', len) != NULL && haven__utf8_valid(s));
}

static bool
incident_strings_ok(const haven_incident *inc, const char *reason)
{
	bool ok = inc->n_children <= HAVEN_OE_MAX_CHILDREN &&
	    (reason == NULL || haven__utf8_valid(reason)) &&
	    str_fits(inc->police_ref, sizeof(inc->police_ref)) &&
	    str_fits(inc->occurred_at, sizeof(inc->occurred_at)) &&
	    str_fits(inc->location, sizeof(inc->location)) &&
	    str_fits(inc->circumstances, sizeof(inc->circumstances)) &&
	    str_fits(inc->officer_contact, sizeof(inc->officer_contact));

	for (size_t i = 0; ok && i < inc->n_children; i++) {
		const haven_oe_child *c = &inc->children[i];

		ok = str_fits(c->name, sizeof(c->name)) &&
		    str_fits(c->dob, sizeof(c->dob)) &&
		    str_fits(c->school, sizeof(c->school)) &&
		    str_fits(c->local_authority, sizeof(c->local_authority)) &&
		    str_fits(c->where, sizeof(c->where)) &&
		    str_fits(c->voice_of_child, sizeof(c->voice_of_child));
	}
	return (ok);
}

haven_err
haven_oe_to_json(const haven_incident *inc, const char *reason, char **out)
{
	json_t *o;
	char *s;

	if (inc == NULL || out == NULL || !incident_strings_ok(inc, reason)) {
		return (HAVEN_EINVAL);
	}
	if ((o = incident_json(inc, reason)) == NULL) {
		return (HAVEN_ENOMEM);
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL) {
		return (HAVEN_ENOMEM);
	}
	*out = s;
	return (HAVEN_OK);
}
