/*
 * lib/marac_content.c: rules on a payload's content that a table cannot
 * say (cross-field rules), checked wherever a payload is: by the sender
 * before it packs a view and by every decoder after the table check.
 *
 * Invariants: the checks read only the payload (no clock, directory or
 * thresholds), so a sender and a recipient always agree on them; R8's
 * content half (a school's plan view holds education actions only and no
 * risk summary) is here, so a school's agent refuses a view that breaks
 * it even if a sender's software did not. Refusals name fields only.
 */
#include <stdio.h>
#include <string.h>

#include "marac_int.h"

static haven_err
failp(haven__mperr *pe, haven_err rv, const char *where, const char *field,
    const char *why)
{
	char p[192];

	(void) snprintf(p, sizeof(p), "%s%s%s", where,
	    where[0] != '\0' ? "." : "", field);
	return (haven__marac_fail(pe, rv, p, why));
}

static haven_err
failpi(haven__mperr *pe, haven_err rv, const char *where, const char *list,
    size_t i, const char *key, const char *why)
{
	char f[96];

	(void) snprintf(f, sizeof(f), "%s[%zu].%s", list, i, key);
	return (failp(pe, rv, where, f, why));
}

/* ------------------------------------------------------------- M5 */

static haven_err
dash_ok(const Haven__MaracCriteria *k, const char *where, haven__mperr *pe)
{
	int yes = 0;

	if (k->n_dash_answers == 0) {
		return (HAVEN_OK);
	}
	if (k->n_dash_answers != 24) {
		return (failp(pe, HAVEN_EINVAL, where, "criteria.dash_answers",
		    "must hold all 24 answers or none"));
	}
	if (k->dash < 0) {
		return (failp(pe, HAVEN_EINVAL, where, "criteria.dash",
		    "required with the answers"));
	}
	for (size_t i = 0; i < 24; i++) {
		yes += strcmp(k->dash_answers[i], "yes") == 0;
	}
	return (yes == k->dash ? HAVEN_OK :
	    failp(pe, HAVEN_EINVAL, where, "criteria.dash_answers",
	        "the number of yes answers differs from dash"));
}

static haven_err
referral_ok(const Haven__MaracReferral *r, const char *where,
    haven__mperr *pe)
{
	const Haven__MaracCriteria *k = r->criteria;
	haven_err rv;

	if (r->m6_attached && r->consent->given) {
		return (failp(pe, HAVEN_EINVAL, where, "m6_attached",
		    "an M6 record only when consent is not given"));
	}
	if (!r->consent->given && r->consent->reason_if_not[0] == '\0') {
		return (failp(pe, HAVEN_EINVAL, where, "consent.reason_if_not",
		    "required when consent is not given"));
	}
	if ((rv = dash_ok(k, where, pe)) != HAVEN_OK) {
		return (rv);
	}
	if (k->judgement != NULL && k->judgement->rationale[0] == '\0') {
		return (failp(pe, HAVEN_EVALIDATE, where,
		    "criteria.judgement.rationale",
		    "R11: professional judgement needs a written rationale"));
	}
	if (k->escalation != NULL && k->escalation->met &&
	    k->escalation->incidents_12m == 0) {
		return (failp(pe, HAVEN_EINVAL, where, "criteria.escalation.met",
		    "met without incidents"));
	}
	return (HAVEN_OK);
}

/* Police processing (DPA 2018 Part 3) pairs with Schedule 8 para 4. */
static haven_err
m6_ok(const Haven__MaracM6 *m, const char *where, haven__mperr *pe)
{
	bool part3 = strcmp(m->lawful_basis->article6, "DPA2018-PART3") == 0;
	bool sch8 = strcmp(m->lawful_basis->condition, "DPA2018-S8P4") == 0;

	return (part3 == sch8 ? HAVEN_OK :
	    failp(pe, HAVEN_EINVAL, where, "lawful_basis.condition",
	        "DPA2018-PART3 goes with DPA2018-S8P4, and only with it"));
}

/* The coordinator's view of an M5: the referral and its own M6 record. */
static haven_err
refm6_ok(const Haven__MaracReferralM6 *b, const char *where,
    haven__mperr *pe)
{
	char w[96];
	haven_err rv;

	(void) snprintf(w, sizeof(w), "%s%sreferral", where,
	    where[0] != '\0' ? "." : "");
	if ((rv = referral_ok(b->referral, w, pe)) != HAVEN_OK) {
		return (rv);
	}
	(void) snprintf(w, sizeof(w), "%s%sm6", where,
	    where[0] != '\0' ? "." : "");
	if ((rv = m6_ok(b->m6, w, pe)) != HAVEN_OK) {
		return (rv);
	}
	if (!b->referral->m6_attached) {
		return (failp(pe, HAVEN_EINVAL, where, "referral.m6_attached",
		    "must be true beside an M6 record"));
	}
	return (strcmp(b->m6->case_ref, b->referral->case_ref) != 0 ?
	    failp(pe, HAVEN_EINVAL, where, "m6.case_ref",
	        "differs from the referral's") : HAVEN_OK);
}

/* ------------------------------------------------------ M9, M14 */

/* Unique ids, and nothing due before the meeting that agreed it. */
static haven_err
item_ok(const char *list, size_t i, const char *id, const char *due,
    const char *meeting, const char *const *ids, const char *where,
    haven__mperr *pe)
{
	for (size_t j = 0; j < i; j++) {
		if (strcmp(ids[j], id) == 0) {
			return (failpi(pe, HAVEN_EINVAL, where, list, i, "id",
			    "duplicate id"));
		}
	}
	/* YYYY-MM-DD strings (validated) compare as dates. */
	return (strcmp(due, meeting) < 0 ?
	    failpi(pe, HAVEN_EINVAL, where, list, i, "due",
	        "before the meeting date") : HAVEN_OK);
}

static haven_err
plan_ok(const Haven__MaracPlan *p, bool edu, const char *where,
    haven__mperr *pe)
{
	const char *ids[64];
	haven_err rv;

	if (edu && p->risk_summary[0] != '\0') {
		return (failp(pe, HAVEN_EVALIDATE, where, "risk_summary",
		    "R8: a school's view holds no risk summary"));
	}
	for (size_t i = 0; i < p->n_actions && i < 64; i++) {
		const Haven__MaracAction *a = p->actions[i];

		if ((rv = item_ok("actions", i, a->id, a->due, p->meeting_date,
		         ids, where, pe)) != HAVEN_OK) {
			return (rv);
		}
		if (edu && strcmp(a->category, "education") != 0) {
			return (failpi(pe, HAVEN_EVALIDATE, where, "actions", i,
			    "category",
			    "R8: a school gets education actions only"));
		}
		ids[i] = a->id;
	}
	return (HAVEN_OK);
}

static haven_err
dplan_ok(const Haven__DappPlan *p, const char *where, haven__mperr *pe)
{
	const char *ids[64];
	haven_err rv;

	for (size_t i = 0; i < p->n_interventions && i < 64; i++) {
		const Haven__DappIntervention *a = p->interventions[i];

		if ((rv = item_ok("interventions", i, a->id, a->due,
		         p->panel_date, ids, where, pe)) != HAVEN_OK) {
			return (rv);
		}
		ids[i] = a->id;
	}
	return (HAVEN_OK);
}

/* ------------------------------------------------------ M12, consent */

static haven_err
dref_ok(const Haven__DappReferral *r, const char *where, haven__mperr *pe)
{
	char f[48];

	if (r->open_to_mappa != (r->mappa != NULL)) {
		return (failp(pe, HAVEN_EINVAL, where, "mappa",
		    r->open_to_mappa ? "required when open_to_mappa" :
		        "only when open_to_mappa"));
	}
	if (r->mappa != NULL &&
	    (r->mappa->category == 0 || r->mappa->level == 0)) {
		return (failp(pe, HAVEN_EINVAL, where,
		    r->mappa->category == 0 ? "mappa.category" : "mappa.level",
		    "must be 1 to 3"));
	}
	for (size_t i = 0; i < r->n_marac_case_refs; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(r->marac_case_refs[i],
			        r->marac_case_refs[j]) == 0) {
				(void) snprintf(f, sizeof(f),
				    "marac_case_refs[%zu]", i);
				return (failp(pe, HAVEN_EINVAL, where, f,
				    "named twice"));
			}
		}
	}
	return (HAVEN_OK);
}

static haven_err
decision_ok(const Haven__MaracConsentDecision *d, const char *where,
    haven__mperr *pe)
{
	return (strcmp(d->decision, "given") != 0 && d->reason[0] == '\0' ?
	    failp(pe, HAVEN_EINVAL, where, "reason",
	        "required when consent is refused or withdrawn") : HAVEN_OK);
}

haven_err
haven__marac_content_ok(uint32_t type, const char *profile,
    const ProtobufCMessage *m, const char *where, haven__mperr *pe)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	(void) type;
	if (d == &haven__marac_referral__descriptor) {
		return (referral_ok((const Haven__MaracReferral *) m, where,
		    pe));
	}
	if (d == &haven__marac_m6__descriptor) {
		return (m6_ok((const Haven__MaracM6 *) m, where, pe));
	}
	if (d == &haven__marac_referral_m6__descriptor) {
		return (refm6_ok((const Haven__MaracReferralM6 *) m, where,
		    pe));
	}
	if (d == &haven__marac_plan__descriptor) {
		return (plan_ok((const Haven__MaracPlan *) m,
		    profile != NULL && strcmp(profile, "marac.plan.edu") == 0,
		    where, pe));
	}
	if (d == &haven__dapp_plan__descriptor) {
		return (dplan_ok((const Haven__DappPlan *) m, where, pe));
	}
	if (d == &haven__dapp_referral__descriptor) {
		return (dref_ok((const Haven__DappReferral *) m, where, pe));
	}
	if (d == &haven__marac_consent_decision__descriptor) {
		return (decision_ok((const Haven__MaracConsentDecision *) m,
		    where, pe));
	}
	return (HAVEN_OK);
}
