/*
 * lib/marac_parties.c: the broker's check of a MARAC or panel header's
 * parties against the signed directory (haven_marac_check_parties).
 *
 * The signed policy judges one (sender role, recipient role and attrs,
 * view) at a time, so two rules cannot be said there: a referral must
 * reach both the IDVA service and the MARAC coordinator (R13), and panel
 * material must come from the co-chairs of the panel it is for (R17: the
 * sender's own panel_<area> attribute). These rules used to be checked by
 * the sending agent only; the agent now leaves them to the broker
 * (HAVEN_MARAC_DEFER_BROKER) so that a refusal is audited.
 *
 * Invariants: pure (no clock, no I/O, no allocation); reads only header
 * fields the broker sees in clear and the directory; reasons name rules
 * and roles, never a person. An unknown or revoked party counts as having
 * no role and no attributes (the policy refuses it by itself).
 */
#include <stdio.h>
#include <string.h>

#include "marac_int.h"

static haven_err
refuse(haven_policy_decision *out, const char *rule, const char *reason)
{
	out->allow = false;
	(void) snprintf(out->rule, sizeof(out->rule), "%s", rule);
	(void) snprintf(out->reason, sizeof(out->reason), "%s", reason);
	return (HAVEN_EPOLICY);
}

static const haven_agency *
active(const haven_directory *dir, const char *id)
{
	const haven_agency *a = haven_directory_find(dir, id);

	return (a != NULL && !a->revoked ? a : NULL);
}

/* R13: a referral goes to the IDVA service and the MARAC coordinator. */
static haven_err
referral(const haven_directory *dir, const haven_header *h,
    haven_policy_decision *out)
{
	bool idva = false, mco = false;

	for (size_t i = 0; i < h->n_recipients && i < HAVEN_MAX_RECIPIENTS;
	     i++) {
		const haven_agency *a = active(dir, h->recipients[i]);

		idva = idva || (a != NULL && strcmp(a->role, "IDVA") == 0);
		mco = mco || (a != NULL && strcmp(a->role, "MCO") == 0);
	}
	return (idva && mco ? HAVEN_OK : refuse(out, "R13", "R9/R13: a MARAC "
	    "referral goes to the IDVA service and the MARAC coordinator, "
	    "both"));
}

/* R17: panel material comes from the co-chairs of the tagged area. */
static haven_err
panel(const haven_directory *dir, const haven_header *h,
    haven_policy_decision *out)
{
	const char *area = haven_header_tag(h, "area");
	const haven_agency *s = active(dir, h->sender);
	const char *v;
	char key[HAVEN_CODE_MAX];

	if (area == NULL || (strcmp(area, "north") != 0 &&
	    strcmp(area, "south") != 0)) {
		return (HAVEN_OK); /* haven_marac_check_header names it */
	}
	(void) snprintf(key, sizeof(key), "panel_%s", area);
	v = s != NULL ? haven_agency_attr(s, key) : NULL;
	if (s != NULL && strcmp(s->role, "DAPC") == 0 && v != NULL &&
	    strcmp(v, "member") == 0) {
		return (HAVEN_OK);
	}
	return (refuse(out, "R17", "R17: panel material comes from the "
	    "co-chairs of that area's panel only"));
}

haven_err
haven_marac_check_parties(const haven_directory *dir, const haven_header *h,
    haven_policy_decision *out)
{
	if (dir == NULL || h == NULL || out == NULL) {
		return (HAVEN_EINVAL);
	}
	memset(out, 0, sizeof(*out));
	out->allow = true;
	switch (h->type) {
	case HAVEN_MSG_MARAC_REFERRAL:
		return (referral(dir, h, out));
	case HAVEN_MSG_DAPP_BUNDLE:
	case HAVEN_MSG_DAPP_ACTION_PLAN:
		return (panel(dir, h, out));
	default:
		return (HAVEN_OK);
	}
}
