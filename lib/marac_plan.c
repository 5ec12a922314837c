/*
 * lib/marac_plan.c: building action plans and the perpetrator panel's
 * messages: MARAC action plans (M9, one view per agency, R8 for schools),
 * action updates (M10), panel referrals (M12, R16), bundles (M13) and
 * panel action plans (M14), both for one area's panel only (R17).
 *
 * Invariants:
 * - An M9 view holds only its recipient's own actions; a school (EDU)
 *   gets profile marac.plan.edu with education actions only and no risk
 *   summary or repeat status, and an education-only rule violation is a
 *   refusal, never a silent drop (R8). The one exception is the sending
 *   coordinator's own copy: an MCO sender always gets marac.plan.full
 *   (every action, risk summary, repeat status), so the chair's bundle
 *   has the whole plan; the policy lets that view reach MCO/DAPC only.
 * - An M14's single dapp.plan view is the whole plan; the sending DAPC is
 *   always one of its recipients (its own copy, for the same bundle).
 * - With c->defer the rules the broker decides from the header (sender
 *   role, recipients, MAPPA, MARAC history, panel membership) are left
 *   to it; the tags still say what the payload says.
 * - Panel material (M13, M14) goes to members of the named area's panel
 *   (directory attr panel_<area>=member), never to a school, and is sent
 *   by that area's panel coordinator (DAPC) only (R17).
 */
#include <stdio.h>
#include <string.h>

#include "marac_int.h"
#include "util.h"

static bool
is(const haven_agency *a, const char *role)
{
	return (haven__marac_role_is(a, role));
}

static size_t
index_of(const haven_agency *const *list, size_t n, const haven_agency *a)
{
	for (size_t i = 0; i < n; i++) {
		if (list[i] == a) {
			return (i);
		}
	}
	return (n);
}

/* -------------------------------------------------- M9 action plan */

/* The sender keeps the whole plan: a coordinator (never a school). */
static bool
full_copy(const haven__mctx *c)
{
	return (is(c->me, "MCO"));
}

/* Add `a` to r[0..*n) unless it is there. */
static haven_err
plan_add(haven__mctx *c, const haven_agency **r, size_t *n,
    const haven_agency *a)
{
	if (index_of(r, *n, a) < *n) {
		return (HAVEN_OK);
	}
	if (*n >= HAVEN_MAX_RECIPIENTS) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, "to",
		    "more than 32 agencies in all"));
	}
	r[(*n)++] = a;
	return (HAVEN_OK);
}

/* Owners of the actions, then any other attendees named in "to", then
 * (an MCO sender) the sender itself for its full copy. */
static haven_err
plan_recipients(haven__mctx *c, const Haven__MaracPlan *p,
    const haven_agency **r, size_t *n)
{
	char f[48];
	haven_err rv;

	*n = 0;
	for (size_t i = 0; i < p->n_actions; i++) {
		const haven_agency *a = haven_directory_find(c->dir,
		    p->actions[i]->owner);

		(void) snprintf(f, sizeof(f), "actions[%zu].owner", i);
		if (a == NULL || a->revoked) {
			return (haven__marac_fail(c->pe, HAVEN_EINVAL, f,
			    "not an active agency of the directory"));
		}
		if (is(a, "EDU") &&
		    strcmp(p->actions[i]->category, "education") != 0) {
			(void) snprintf(f, sizeof(f), "actions[%zu].category",
			    i);
			return (haven__marac_fail(c->pe, HAVEN_EVALIDATE, f,
			    "R8: a school gets education actions only"));
		}
		if (index_of(r, *n, a) == *n && *n < HAVEN_MAX_RECIPIENTS) {
			r[(*n)++] = a;
		}
	}
	for (size_t i = 0; i < c->n_to; i++) {
		if ((rv = plan_add(c, r, n, c->to[i])) != HAVEN_OK) {
			return (rv);
		}
	}
	return (full_copy(c) ? plan_add(c, r, n, c->me) : HAVEN_OK);
}

/* One agency's view: its own actions; a school's has nothing else; the
 * sending coordinator's (marac.plan.full) the whole plan. */
static haven_err
plan_view(haven__mctx *c, const Haven__MaracPlan *p, const haven_agency *a)
{
	Haven__MaracPlan v = HAVEN__MARAC_PLAN__INIT;
	Haven__MaracAction *mine[64];
	bool edu = is(a, "EDU");
	size_t k = 0;

	if (a == c->me && full_copy(c)) {
		return (haven__marac_add_view(c, "marac.plan.full", &a, 1,
		    c->pb));
	}
	for (size_t i = 0; i < p->n_actions && i < 64; i++) {
		if (strcmp(p->actions[i]->owner, a->id) == 0) {
			mine[k++] = p->actions[i];
		}
	}
	v.case_ref = p->case_ref;
	v.meeting_date = p->meeting_date;
	v.risk_summary = edu ? (char *) "" : p->risk_summary;
	v.repeat = edu ? false : p->repeat;
	v.n_actions = k;
	v.actions = k > 0 ? mine : NULL;
	return (haven__marac_add_view(c,
	    edu ? "marac.plan.edu" : "marac.plan", &a, 1, &v.base));
}

haven_err
haven__marac_build_plan(haven__mctx *c)
{
	const Haven__MaracPlan *p = (const Haven__MaracPlan *) c->pb;
	const haven_agency *r[HAVEN_MAX_RECIPIENTS];
	size_t n;
	haven_err rv;

	if ((rv = haven__marac_validate(c, haven__marac_input_schema(c->type),
	         "marac.plan", c->pb, "")) != HAVEN_OK) {
		return (rv);
	}
	if (p->n_actions == 0) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, "actions",
		    "needs at least one action"));
	}
	if ((rv = haven__marac_read_to(c, false, NULL)) != HAVEN_OK ||
	    (rv = plan_recipients(c, p, r, &n)) != HAVEN_OK ||
	    (rv = haven__marac_sharing(c, true, true)) != HAVEN_OK) {
		return (rv);
	}
	for (size_t i = 0; i < n; i++) {
		if ((rv = plan_view(c, p, r[i])) != HAVEN_OK) {
			return (rv);
		}
	}
	return (HAVEN_OK);
}

/* ------------------------------------------------ M10 action update */

static const char *
to_tracker(const haven__mctx *c, const haven_agency *a)
{
	(void) c;
	return (is(a, "MCO") || is(a, "DAPC") ? NULL : "M10: action updates "
	    "go to the MARAC coordinator or the panel coordinator");
}

haven_err
haven__marac_build_update(haven__mctx *c)
{
	bool dapp;
	haven_err rv;

	if ((rv = haven__marac_validate(c, haven__marac_input_schema(c->type),
	         "marac.update", c->pb, "")) != HAVEN_OK ||
	    (rv = haven__marac_reply_to(c)) != HAVEN_OK ||
	    (rv = haven__marac_read_to(c, true, to_tracker)) != HAVEN_OK) {
		return (rv);
	}
	dapp = is(c->to[0], "DAPC");
	for (size_t i = 1; i < c->n_to; i++) {
		if (is(c->to[i], "DAPC") != dapp) {
			return (haven__marac_fail(c->pe, HAVEN_EINVAL, "to",
			    "either the MARAC coordinator or the panel "
			    "coordinator, not both"));
		}
	}
	(void) snprintf(c->msg->purpose, sizeof(c->msg->purpose), "%s",
	    dapp ? "dapp" : "marac");
	if ((rv = haven__marac_sharing(c, !dapp, !dapp)) != HAVEN_OK) {
		return (rv);
	}
	return (haven__marac_add_view(c, "marac.update", c->to, c->n_to,
	    c->pb));
}

/* ------------------------------------------------ panel recipients */

static const char *
area_of(const haven__mctx *c)
{
	const ProtobufCFieldDescriptor *fd =
	    protobuf_c_message_descriptor_get_field_by_name(
	        c->pb->descriptor, "area");

	return (fd == NULL ? "" :
	    *(char *const *) (const void *) ((const char *) c->pb +
	        fd->offset));
}

static bool
member(const haven__mctx *c, const haven_agency *a)
{
	char key[HAVEN_CODE_MAX];

	(void) snprintf(key, sizeof(key), "panel_%s", area_of(c));
	return (!a->revoked && haven__marac_attr_is(a, key, "member"));
}

/* M12 goes to the area's panel coordinators; M13/M14 to its members. */
static const char *
to_panel(const haven__mctx *c, const haven_agency *a)
{
	if (c->type == HAVEN_MSG_DAPP_REFERRAL) {
		return (is(a, "DAPC") && member(c, a) ? NULL : "R17: not the "
		    "coordinator of the area's panel");
	}
	if (is(a, "EDU")) {
		return ("R8: panel material never goes to a school");
	}
	return (member(c, a) ? NULL : "R17: not a member of the area's "
	    "panel");
}

/* "to" as given, or else every agency the rule accepts but the sender. */
static haven_err
panel_to(haven__mctx *c)
{
	size_t n = haven_directory_count(c->dir);
	haven_err rv;

	if ((rv = haven__marac_read_to(c, false, to_panel)) != HAVEN_OK ||
	    c->n_to > 0) {
		return (rv);
	}
	for (size_t i = 0; i < n && c->n_to < HAVEN_MAX_RECIPIENTS; i++) {
		const haven_agency *a = haven_directory_at(c->dir, i);

		if (a != NULL && a != c->me && !a->revoked &&
		    to_panel(c, a) == NULL) {
			c->to[c->n_to++] = a;
		}
	}
	return (c->n_to > 0 ? HAVEN_OK : haven__marac_fail(c->pe,
	    HAVEN_EVALIDATE, "to", "R17: the area's panel has no members in "
	    "the directory"));
}

/* ------------------------------------------------- M12 referral */

static const char *const referrers[] = { "POL", "PRB", "MCO", "IDVA", NULL };

haven_err
haven__marac_build_dapp_referral(haven__mctx *c)
{
	const Haven__DappReferral *r = (const Haven__DappReferral *) c->pb;
	char n[24];
	bool ok = false;
	haven_err rv;

	for (size_t i = 0; referrers[i] != NULL; i++) {
		ok = ok || is(c->me, referrers[i]);
	}
	if (!ok && !c->defer) {
		return (haven__marac_fail(c->pe, HAVEN_EVALIDATE, "",
		    "M12: police, probation, the MARAC coordinator or the "
		    "IDVA service refer to the panel"));
	}
	if ((rv = haven__marac_validate(c, haven__marac_input_schema(c->type),
	         "dapp.referral", c->pb, "")) != HAVEN_OK ||
	    (rv = panel_to(c)) != HAVEN_OK) {
		return (rv);
	}
	if (r->open_to_mappa && !c->defer) {
		return (haven__marac_fail(c->pe, HAVEN_EVALIDATE,
		    "open_to_mappa", "R16: refer via MAPPA (the perpetrator "
		    "is open to MAPPA)"));
	}
	if (r->n_marac_case_refs == 0 && !c->defer) {
		return (haven__marac_fail(c->pe, HAVEN_EVALIDATE,
		    "marac_case_refs", "R16: ineligible (no MARAC history)"));
	}
	(void) snprintf(n, sizeof(n), "%zu", r->n_marac_case_refs);
	if ((rv = haven__marac_add_subject(c, "perpetrator",
	         r->perpetrator->name, r->perpetrator->dob)) != HAVEN_OK ||
	    (rv = haven__marac_add_tag(c, "mappa",
	         r->open_to_mappa ? "yes" : "no")) != HAVEN_OK ||
	    (rv = haven__marac_add_tag(c, "marac_history", n)) != HAVEN_OK ||
	    (rv = haven__marac_add_tag(c, "area", r->area)) != HAVEN_OK) {
		return (rv);
	}
	return (haven__marac_add_view(c, "dapp.referral", c->to, c->n_to,
	    c->pb));
}

/* ---------------------------------------------- M13 bundle, M14 plan */

/* Sent by the area's panel coordinator, to that panel's members. */
static haven_err
panel_common(haven__mctx *c, const char *profile)
{
	haven_err rv;

	if ((rv = haven__marac_validate(c, haven__marac_input_schema(c->type),
	         profile, c->pb, "")) != HAVEN_OK) {
		return (rv);
	}
	if (!c->defer && (!is(c->me, "DAPC") || !member(c, c->me))) {
		return (haven__marac_fail(c->pe, HAVEN_EVALIDATE, "area",
		    "R17: the sender does not coordinate the area's panel"));
	}
	if ((rv = panel_to(c)) != HAVEN_OK ||
	    (rv = haven__marac_sharing(c, false, false)) != HAVEN_OK) {
		return (rv);
	}
	return (haven__marac_add_tag(c, "area", area_of(c)));
}

haven_err
haven__marac_build_bundle(haven__mctx *c)
{
	const Haven__DappBundle *b = (const Haven__DappBundle *) c->pb;
	haven_err rv;

	if ((rv = panel_common(c, "dapp.bundle")) != HAVEN_OK ||
	    (rv = haven__marac_add_subject(c, "perpetrator", b->subject->name,
	         b->subject->dob)) != HAVEN_OK) {
		return (rv);
	}
	return (haven__marac_add_view(c, "dapp.bundle", c->to, c->n_to,
	    c->pb));
}

haven_err
haven__marac_build_dapp_plan(haven__mctx *c)
{
	const Haven__DappPlan *p = (const Haven__DappPlan *) c->pb;
	char f[48];
	haven_err rv;

	if ((rv = panel_common(c, "dapp.plan")) != HAVEN_OK) {
		return (rv);
	}
	/* The sending co-chairs keep their own copy of the whole plan. */
	if (index_of(c->to, c->n_to, c->me) == c->n_to) {
		if (c->n_to >= HAVEN_MAX_RECIPIENTS) {
			return (haven__marac_fail(c->pe, HAVEN_EINVAL, "to",
			    "more than 31 agencies and the sender"));
		}
		c->to[c->n_to++] = c->me;
	}
	for (size_t i = 0; i < p->n_interventions; i++) {
		const haven_agency *a = haven_directory_find(c->dir,
		    p->interventions[i]->owner);

		if (a == NULL || index_of(c->to, c->n_to, a) == c->n_to) {
			(void) snprintf(f, sizeof(f),
			    "interventions[%zu].owner", i);
			return (haven__marac_fail(c->pe, HAVEN_EVALIDATE, f,
			    "R17: the owner is not a recipient from the "
			    "area's panel"));
		}
	}
	return (haven__marac_add_view(c, "dapp.plan", c->to, c->n_to, c->pb));
}
