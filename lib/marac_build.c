/*
 * lib/marac_build.c: building the MARAC messages that concern one case's
 * victim: the referral (M5, R9-R12, incident age), the record of sharing
 * without consent (M6), the case list (M7, R14), research returns (M8,
 * R15), repeat flags (M11) and consent decisions.
 *
 * Each builder runs after the payload was read from JSON by its table:
 * structural checks first (table, content rules, recipients), then the
 * partnership's rules, so a malformed input is reported as malformed
 * before any rule refuses it. Rule refusals are HAVEN_EVALIDATE with a
 * reason starting with the rule id. Rules the broker also decides from
 * the header (criteria, incident age, recipients) are checked here only
 * without c->defer (an agent's --check); with it they are left to the
 * broker, which audits its refusal, and only the content rules run.
 */
#include <stdio.h>
#include <string.h>

#include "haven/calendar.h"
#include "jsonutil.h"
#include "marac_int.h"
#include "util.h"

#define DAY_MS 86400000LL
#define FUTURE_MS (5 * 60 * 1000)
#define ADULT_AGE 16 /* a MARAC victim is 16 or over */

static bool
is(const haven_agency *a, const char *role)
{
	return (haven__marac_role_is(a, role));
}

/* ------------------------------------------------------- M5 referral */

static const char *
to_referral(const haven__mctx *c, const haven_agency *a)
{
	(void) c;
	return (is(a, "IDVA") || is(a, "MCO") ? NULL : "R9: a referral goes "
	    "to the IDVA service and the MARAC coordinator only");
}

static haven_err
referral_to(haven__mctx *c)
{
	bool idva = false, mco = false;
	haven_err rv;

	if ((rv = haven__marac_read_to(c, true, to_referral)) != HAVEN_OK) {
		return (rv);
	}
	for (size_t i = 0; i < c->n_to; i++) {
		idva = idva || is(c->to[i], "IDVA");
		mco = mco || is(c->to[i], "MCO");
	}
	return ((idva && mco) || c->defer ? HAVEN_OK : haven__marac_fail(c->pe,
	    HAVEN_EVALIDATE, "to", "R9: a referral goes to the IDVA service "
	    "and the MARAC coordinator"));
}

/* The optional "m6" object: the record of sharing without consent. */
static haven_err
referral_m6(haven__mctx *c, const Haven__MaracReferral *r)
{
	const json_t *o = json_object_get(c->root, "m6");
	haven_err rv;

	if (o == NULL || json_is_null(o)) {
		return (HAVEN_OK);
	}
	if (r->consent->given) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, "m6",
		    "only when consent is not given"));
	}
	if ((rv = haven__marac_read(&haven__marac_m6_schema, o, "m6", NULL,
	         &c->m6, c->pe)) != HAVEN_OK ||
	    (rv = haven__marac_set_str(c->m6, "case_ref", r->case_ref)) !=
	        HAVEN_OK) {
		return (rv);
	}
	return (haven__marac_validate(c, &haven__marac_m6_schema, "marac.m6",
	    c->m6, "m6"));
}

/* Days of the n-th birthday; 29 February falls on 1 March. */
static int64_t
birthday(int64_t dob, int n)
{
	int y;
	unsigned m, d;

	haven_civil_from_days(dob, &y, &m, &d);
	y += n;
	if (m == 2 && d == 29 &&
	    !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
		m = 3, d = 1;
	}
	return (haven_days_from_civil(y, m, d));
}

/* M5-age, an incident in the future, a victim under 16. */
static haven_err
referral_when(haven__mctx *c, const Haven__MaracReferral *r)
{
	int64_t t, dob;

	if (haven_time_parse(r->incident->occurred_at, &t) != HAVEN_OK ||
	    haven_date_parse(r->victim->dob, &dob) != HAVEN_OK) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, "incident",
		    "invalid time"));
	}
	if (t > c->now_ms + FUTURE_MS) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL,
		    "incident.occurred_at", "in the future"));
	}
	c->msg->occurred_ms = t;
	if (!c->defer &&
	    c->now_ms - t > (int64_t) c->cfg->max_incident_age_days * DAY_MS) {
		return (haven__marac_failf(c->pe, HAVEN_EVALIDATE,
		    "incident.occurred_at", "M5-age: the incident is more "
		    "than %d days old", c->cfg->max_incident_age_days));
	}
	if (birthday(dob, ADULT_AGE) > haven_london_days(t)) {
		return (haven__marac_fail(c->pe, HAVEN_EVALIDATE, "victim.dob",
		    "M5: a MARAC victim is 16 or over"));
	}
	return (HAVEN_OK);
}

/* R12 counts only a referral within repeat_days; escalation is met at
 * the threshold. Fills the criteria for the shared rule. */
static haven_err
referral_crit(haven__mctx *c, Haven__MaracReferral *r, haven__marac_crit *k)
{
	Haven__MaracCriteria *cr = r->criteria;
	int64_t prev;

	memset(k, 0, sizeof(*k));
	k->dash = cr->dash;
	k->consent = r->consent->given;
	k->judgement = cr->judgement != NULL;
	k->m6 = c->m6 != NULL;
	if (cr->escalation != NULL) {
		cr->escalation->met = cr->escalation->incidents_12m >=
		    (uint32_t) c->cfg->escalation_incidents;
		k->escalation = cr->escalation->met;
	}
	if (cr->repeat != NULL) {
		if (haven_date_parse(cr->repeat->previous_marac_date, &prev) !=
		        HAVEN_OK ||
		    c->today - prev > c->cfg->repeat_days) {
			return (haven__marac_failf(c->pe, HAVEN_EVALIDATE,
			    "criteria.repeat.previous_marac_date", "R12: more "
			    "than %d days ago: refer it as a new case",
			    c->cfg->repeat_days));
		}
		k->repeat = true;
	}
	return (HAVEN_OK);
}

static haven_err
referral_rules(haven__mctx *c, Haven__MaracReferral *r)
{
	haven__marac_crit k;
	char rule[HAVEN_RULE_ID_MAX], why[HAVEN_REASON_MAX];
	haven__crit_result res;
	haven_err rv;

	if ((rv = referral_when(c, r)) != HAVEN_OK ||
	    (rv = referral_crit(c, r, &k)) != HAVEN_OK) {
		return (rv);
	}
	if (c->defer) { /* the tags tell the broker the criteria */
		r->m6_attached = c->m6 != NULL;
		return (HAVEN_OK);
	}
	res = haven__marac_criteria(c->cfg, &k, rule, why, sizeof(why));
	if (res == HAVEN__CRIT_OK) {
		r->m6_attached = c->m6 != NULL;
		return (HAVEN_OK);
	}
	return (haven__marac_fail(c->pe, HAVEN_EVALIDATE,
	    res == HAVEN__CRIT_NEEDS_M6 ? "m6" :
	    res == HAVEN__CRIT_NEEDS_CONSENT ? "consent.given" : "criteria",
	    why));
}

static haven_err
referral_header(haven__mctx *c, const Haven__MaracReferral *r)
{
	const Haven__MaracCriteria *k = r->criteria;
	char dash[16];
	haven_err rv;

	if (k->dash < 0) {
		(void) snprintf(dash, sizeof(dash), "none");
	} else {
		(void) snprintf(dash, sizeof(dash), "%d", (int) k->dash);
	}
	if ((rv = haven__marac_add_subject(c, "victim", r->victim->name,
	         r->victim->dob)) != HAVEN_OK ||
	    (rv = haven__marac_add_subject(c, "perpetrator",
	         r->perpetrator->name, r->perpetrator->dob)) != HAVEN_OK) {
		return (rv);
	}
	for (size_t i = 0; i < r->n_children; i++) {
		if ((rv = haven__marac_add_subject(c, "child",
		         r->children[i]->name, r->children[i]->dob)) !=
		    HAVEN_OK) {
			return (rv);
		}
	}
	if ((rv = haven__marac_add_tag(c, "dash", dash)) != HAVEN_OK ||
	    (rv = haven__marac_add_tag(c, "consent",
	         r->consent->given ? "yes" : "no")) != HAVEN_OK ||
	    (rv = haven__marac_add_tag(c, "judgement",
	         k->judgement != NULL ? "yes" : "no")) != HAVEN_OK ||
	    (rv = haven__marac_add_tag(c, "escalation",
	         k->escalation != NULL && k->escalation->met ? "yes" :
	             "no")) != HAVEN_OK ||
	    (rv = haven__marac_add_tag(c, "repeat",
	         k->repeat != NULL ? "yes" : "no")) != HAVEN_OK) {
		return (rv);
	}
	return (haven__marac_add_tag(c, "m6", r->m6_attached ? "yes" : "no"));
}

/*
 * Without an M6 record: one marac.referral view for everyone named. With
 * one: an envelope gives each recipient exactly one view, so the
 * coordinator's view is marac.m6, holding the referral and the record
 * together, and everyone else's (the IDVA's) is marac.referral.
 */
static haven_err
referral_views(haven__mctx *c, Haven__MaracReferral *r)
{
	Haven__MaracReferralM6 both = HAVEN__MARAC_REFERRAL_M6__INIT;
	const haven_agency *mco[HAVEN_MAX_RECIPIENTS];
	const haven_agency *rest[HAVEN_MAX_RECIPIENTS];
	size_t nm = 0, nr = 0;
	haven_err rv;

	if (c->m6 == NULL) {
		return (haven__marac_add_view(c, "marac.referral", c->to,
		    c->n_to, &r->base));
	}
	for (size_t i = 0; i < c->n_to; i++) {
		if (is(c->to[i], "MCO")) {
			mco[nm++] = c->to[i];
		} else {
			rest[nr++] = c->to[i];
		}
	}
	both.referral = r;
	both.m6 = (Haven__MaracM6 *) c->m6;
	/* Deferred, one side may be empty: the broker refuses (R13). */
	if (nr > 0 && (rv = haven__marac_add_view(c, "marac.referral", rest,
	         nr, &r->base)) != HAVEN_OK) {
		return (rv);
	}
	return (nm == 0 ? HAVEN_OK : haven__marac_add_view(c, "marac.m6", mco,
	    nm, &both.base));
}

haven_err
haven__marac_build_referral(haven__mctx *c)
{
	Haven__MaracReferral *r = (Haven__MaracReferral *) c->pb;
	haven_err rv;

	if ((rv = haven__marac_validate(c, haven__marac_input_schema(c->type),
	         "marac.referral", c->pb, "")) != HAVEN_OK) {
		return (rv);
	}
	if (strcmp(r->referrer->agency, c->sender) != 0) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, "referrer.agency",
		    "must be the sending agency"));
	}
	if ((rv = referral_m6(c, r)) != HAVEN_OK ||
	    (rv = referral_to(c)) != HAVEN_OK ||
	    (rv = referral_rules(c, r)) != HAVEN_OK ||
	    (rv = referral_header(c, r)) != HAVEN_OK) {
		return (rv);
	}
	return (referral_views(c, r));
}

/* ------------------------------------------------------- M6 on its own */

static const char *
to_mco(const haven__mctx *c, const haven_agency *a)
{
	(void) c;
	return (is(a, "MCO") ? NULL : "R9-R11: this goes to the MARAC "
	    "coordinator only");
}

static haven_err
m6_case_ref(haven__mctx *c, char *ref, size_t len)
{
	static const char *const keys[] = { "case_ref", "to", "m6", NULL };
	char err[192];
	haven_err rv;

	if ((rv = haven__json_only(c->root, keys, "", err, sizeof(err))) !=
	        HAVEN_OK ||
	    (rv = haven__json_str(c->root, "case_ref", true, ref, len, "",
	         err, sizeof(err))) != HAVEN_OK) {
		haven__json_split_err(err, c->pe->field, c->pe->fieldlen,
		    c->pe->why, c->pe->whylen);
		return (rv);
	}
	for (const char *p = ref; *p != '\0'; p++) {
		if (*p < 0x21 || *p > 0x7e) {
			return (haven__marac_fail(c->pe, HAVEN_EINVAL,
			    "case_ref", "must be printable ASCII without "
			    "spaces"));
		}
	}
	return (ref[0] != '\0' ? HAVEN_OK : haven__marac_fail(c->pe,
	    HAVEN_EINVAL, "case_ref", "must not be empty"));
}

haven_err
haven__marac_build_m6(haven__mctx *c)
{
	const json_t *o = json_object_get(c->root, "m6");
	char ref[HAVEN_CODE_MAX];
	haven_err rv;

	if ((rv = m6_case_ref(c, ref, sizeof(ref))) != HAVEN_OK) {
		return (rv);
	}
	if (o == NULL || json_is_null(o)) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, "m6", "missing"));
	}
	if ((rv = haven__marac_read(&haven__marac_m6_schema, o, "m6", NULL,
	         &c->m6, c->pe)) != HAVEN_OK ||
	    (rv = haven__marac_set_str(c->m6, "case_ref", ref)) != HAVEN_OK ||
	    (rv = haven__marac_validate(c, &haven__marac_m6_schema,
	         "marac.m6", c->m6, "m6")) != HAVEN_OK ||
	    (rv = haven__marac_read_to(c, true, to_mco)) != HAVEN_OK ||
	    (rv = haven__marac_add_tag(c, "consent", "no")) != HAVEN_OK ||
	    (rv = haven__marac_add_tag(c, "m6", "yes")) != HAVEN_OK) {
		return (rv);
	}
	return (haven__marac_add_view(c, "marac.m6", c->to, c->n_to, c->m6));
}

/* ------------------------------------------------------ M7 case list */

static const char *
to_isp(const haven__mctx *c, const haven_agency *a)
{
	(void) c;
	return (haven__marac_attr_is(a, "isp", "signed") ? NULL : "R14: the "
	    "agency has not signed the information-sharing agreement");
}

haven_err
haven__marac_build_caselist(haven__mctx *c)
{
	Haven__MaracCaseList *l = (Haven__MaracCaseList *) c->pb;
	haven_err rv;

	if ((rv = haven__marac_validate(c, haven__marac_input_schema(c->type),
	         "marac.caselist", c->pb, "")) != HAVEN_OK ||
	    (rv = haven__marac_read_to(c, true, to_isp)) != HAVEN_OK ||
	    (rv = haven__marac_sharing(c, true, true)) != HAVEN_OK ||
	    (rv = haven__marac_add_subject(c, "victim", l->victim->name,
	         l->victim->dob)) != HAVEN_OK ||
	    (rv = haven__marac_add_subject(c, "perpetrator",
	         l->perpetrator->name, l->perpetrator->dob)) != HAVEN_OK) {
		return (rv);
	}
	for (size_t i = 0; i < l->n_children; i++) {
		if ((rv = haven__marac_add_subject(c, "child",
		         l->children[i]->name, l->children[i]->dob)) !=
		    HAVEN_OK) {
			return (rv);
		}
	}
	return (haven__marac_add_view(c, "marac.caselist", c->to, c->n_to,
	    c->pb));
}

/* ------------------------------------------------ M8 research return */

static const char *
to_chair(const haven__mctx *c, const haven_agency *a)
{
	(void) c;
	/* The chair: a DAPC (deploy/policy.json's reading of R15) or an
	 * agency the directory marks marac_chair=yes. */
	return (is(a, "MCO") || is(a, "DAPC") ||
	    haven__marac_attr_is(a, "marac_chair", "yes") ? NULL :
	    "R15: a research return goes to the MARAC coordinator or chair "
	    "only");
}

static haven_err
research_agency(haven__mctx *c)
{
	char agency[HAVEN_ID_MAX], err[192];
	haven_err rv;

	rv = haven__json_str(c->root, "agency", false, agency, sizeof(agency),
	    "", err, sizeof(err));
	if (rv != HAVEN_OK) {
		haven__json_split_err(err, c->pe->field, c->pe->fieldlen,
		    c->pe->why, c->pe->whylen);
		return (rv);
	}
	if (agency[0] != '\0' && strcmp(agency, c->sender) != 0) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, "agency",
		    "must be the sending agency"));
	}
	return (haven__marac_set_str(c->pb, "agency", c->sender));
}

haven_err
haven__marac_build_research(haven__mctx *c)
{
	const Haven__MaracResearch *r = (const Haven__MaracResearch *) c->pb;
	haven_err rv;

	if ((rv = research_agency(c)) != HAVEN_OK ||
	    (rv = haven__marac_validate(c, haven__marac_input_schema(c->type),
	         "marac.research", c->pb, "")) != HAVEN_OK ||
	    (rv = haven__marac_reply_to(c)) != HAVEN_OK ||
	    (rv = haven__marac_read_to(c, true, to_chair)) != HAVEN_OK ||
	    (rv = haven__marac_sharing(c, true, true)) != HAVEN_OK) {
		return (rv);
	}
	if (!c->defer && is(c->me, "HLT") && !r->caldicott_attested) {
		return (haven__marac_fail(c->pe, HAVEN_EVALIDATE,
		    "caldicott_attested", "R15: a health research return "
		    "needs the Caldicott attestation"));
	}
	if ((rv = haven__marac_add_tag(c, "caldicott",
	         r->caldicott_attested ? "yes" : "no")) != HAVEN_OK) {
		return (rv);
	}
	return (haven__marac_add_view(c, "marac.research", c->to, c->n_to,
	    c->pb));
}

/* ------------------------------------------------ M11 repeat, consent */

haven_err
haven__marac_build_repeat(haven__mctx *c)
{
	const Haven__MaracRepeatFlag *f = (const Haven__MaracRepeatFlag *)
	    c->pb;
	int64_t d;
	haven_err rv;

	if ((rv = haven__marac_validate(c, haven__marac_input_schema(c->type),
	         "marac.repeat", c->pb, "")) != HAVEN_OK ||
	    (rv = haven__marac_read_to(c, true, to_mco)) != HAVEN_OK ||
	    (rv = haven__marac_sharing(c, true, true)) != HAVEN_OK) {
		return (rv);
	}
	if (haven_date_parse(f->date, &d) != HAVEN_OK) {
		return (haven__marac_fail(c->pe, HAVEN_EINVAL, "date",
		    "not a valid YYYY-MM-DD date"));
	}
	c->msg->occurred_ms = haven__marac_day_start_ms(d);
	return (haven__marac_add_view(c, "marac.repeat", c->to, c->n_to,
	    c->pb));
}

static const char *
to_consent(const haven__mctx *c, const haven_agency *a)
{
	(void) c;
	return (is(a, "MCO") || is(a, "IDVA") ? NULL : "a consent decision "
	    "goes to the MARAC coordinator and the IDVA service only");
}

haven_err
haven__marac_build_consent(haven__mctx *c)
{
	const Haven__MaracConsentDecision *d =
	    (const Haven__MaracConsentDecision *) c->pb;
	haven_err rv;

	if ((rv = haven__marac_validate(c, haven__marac_input_schema(c->type),
	         "marac.consent", c->pb, "")) != HAVEN_OK ||
	    (rv = haven__marac_read_to(c, true, to_consent)) != HAVEN_OK ||
	    (rv = haven__marac_add_tag(c, "consent", d->decision)) !=
	        HAVEN_OK) {
		return (rv);
	}
	return (haven__marac_add_view(c, "marac.consent", c->to, c->n_to,
	    c->pb));
}
