/*
 * lib/marac_rules.c: the MARAC referral criteria (R9-R12) and the broker's
 * check of a MARAC or panel header (tags only: the broker cannot read
 * payloads).
 *
 * Invariants:
 * - haven__marac_criteria is the single statement of R9-R12. The sender
 *   (haven_marac_from_json) and the broker (haven_marac_check_header) both
 *   call it, with the same thresholds from the signed policy.
 * - check_header is pure: no clock but `now_ms`, no I/O, no allocation.
 *   A missing, duplicated or malformed tag is a refusal (rule "header"),
 *   never a default, because the policy's rules match on those tags.
 * - Reasons name rules and tags, never values beyond the codes the header
 *   already carries in clear.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "haven/calendar.h"
#include "marac_int.h"
#include "util.h"

#define DAY_MS 86400000LL
#define FUTURE_MS (15 * 60 * 1000) /* sender's 5 min + clock skew */

void
haven__marac_defaults(haven_policy_marac *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->dash_auto = 17;
	cfg->dash_consent = 14;
	cfg->repeat_days = 365;
	cfg->max_incident_age_days = 92;
	cfg->escalation_incidents = 3;
	cfg->meeting_days = 0x15; /* Monday, Wednesday, Friday */
	cfg->meeting_minute = 600;
}

int64_t
haven__marac_day_start_ms(int64_t days)
{
	int64_t t = days * DAY_MS;

	return (t - haven_london_offset_ms(t));
}

const char *
haven__marac_purpose(uint32_t type)
{
	return (type >= HAVEN_MSG_DAPP_REFERRAL &&
	    type <= HAVEN_MSG_DAPP_ACTION_PLAN ? "dapp" : "marac");
}

/* --------------------------------------------------------- criteria */

static const char *
basis_of(const haven_policy_marac *cfg, const haven__marac_crit *c)
{
	if (c->dash >= cfg->dash_auto) {
		return ("R9");
	}
	if (c->judgement || c->escalation) {
		return ("R11");
	}
	return (c->repeat ? "R12" : NULL);
}

haven__crit_result
haven__marac_criteria(const haven_policy_marac *cfg,
    const haven__marac_crit *c, char rule[HAVEN_RULE_ID_MAX], char *why,
    size_t whylen)
{
	const char *basis = basis_of(cfg, c);

	haven__errf(why, whylen, "%s", "");
	if (basis == NULL && c->dash >= cfg->dash_consent) {
		(void) snprintf(rule, HAVEN_RULE_ID_MAX, "R10");
		if (c->consent) {
			return (HAVEN__CRIT_OK);
		}
		haven__errf(why, whylen, "R10: DASH %d-%d needs consent or "
		    "professional judgement", cfg->dash_consent,
		    cfg->dash_auto - 1);
		return (HAVEN__CRIT_NEEDS_CONSENT);
	}
	if (basis == NULL) {
		(void) snprintf(rule, HAVEN_RULE_ID_MAX, "R9-R11");
		haven__errf(why, whylen,
		    "R9-R11: does not meet the MARAC criteria");
		return (HAVEN__CRIT_NOT_MET);
	}
	(void) snprintf(rule, HAVEN_RULE_ID_MAX, "%s", basis);
	if (c->consent || c->m6) {
		return (HAVEN__CRIT_OK);
	}
	if (strcmp(basis, "R9") == 0) {
		haven__errf(why, whylen, "R9: DASH %d or more without consent "
		    "needs the M6 record", cfg->dash_auto);
	} else {
		haven__errf(why, whylen, "%s: %s without consent needs the M6 "
		    "record", basis, strcmp(basis, "R12") == 0 ?
		        "a repeat referral" : "professional judgement");
	}
	return (HAVEN__CRIT_NEEDS_M6);
}

/* ------------------------------------------------------- header tags */

static haven_err
deny(haven_policy_decision *out, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static haven_err
deny(haven_policy_decision *out, const char *rule, const char *fmt, ...)
{
	va_list ap;

	out->allow = false;
	(void) snprintf(out->rule, sizeof(out->rule), "%s", rule);
	va_start(ap, fmt);
	(void) vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
	return (HAVEN_EPOLICY);
}

/* Index of `v` in the NULL-terminated `vals`, or -1 (absent, other). */
static int
tag_in(const haven_header *h, const char *key, const char *const *vals)
{
	const char *v = haven_header_tag(h, key);

	for (int i = 0; v != NULL && vals[i] != NULL; i++) {
		if (strcmp(v, vals[i]) == 0) {
			return (i);
		}
	}
	return (-1);
}

static const char *const yn[] = { "no", "yes", NULL };
static const char *const areas[] = { "north", "south", NULL };

/* A small decimal without sign or leading zeros: 0..max, else -1. */
static int
tag_num(const haven_header *h, const char *key, int max)
{
	const char *v = haven_header_tag(h, key);
	int n = 0;

	if (v == NULL || v[0] == '\0' || strlen(v) > 3 ||
	    (v[0] == '0' && v[1] != '\0')) {
		return (-1);
	}
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9') {
			return (-1);
		}
		n = n * 10 + (*v - '0');
	}
	return (n <= max ? n : -1);
}

static bool
has_view(const haven_header *h, const char *profile)
{
	for (size_t i = 0; i < h->n_views && i < HAVEN_MAX_VIEWS; i++) {
		if (strcmp(h->views[i].profile, profile) == 0) {
			return (true);
		}
	}
	return (false);
}

/* Case pseudonym, purpose, unique tags, profiles of the type. */
static haven_err
common(const haven_header *h, haven_policy_decision *out)
{
	const char *want = haven__marac_purpose(h->type);

	if (!h->has_case) {
		return (deny(out, "header", "a MARAC or panel message needs a "
		    "case pseudonym"));
	}
	if (strcmp(h->purpose, want) != 0 &&
	    !(h->type == HAVEN_MSG_ACTION_UPDATE &&
	        strcmp(h->purpose, "dapp") == 0)) {
		return (deny(out, "R18", "purpose must be %s", want));
	}
	for (size_t i = 0; i < h->n_tags && i < HAVEN_MAX_TAGS; i++) {
		for (size_t j = 0; j < i; j++) {
			if (strcmp(h->tags[i].key, h->tags[j].key) == 0) {
				return (deny(out, "header", "duplicate tag"));
			}
		}
	}
	for (size_t i = 0; i < h->n_views && i < HAVEN_MAX_VIEWS; i++) {
		if (!haven__marac_profile_fits(h->type, h->views[i].profile)) {
			return (deny(out, "header", "a view's profile does "
			    "not fit the message type"));
		}
	}
	return (HAVEN_OK);
}

static haven_err
need(haven_policy_decision *out, int v, const char *tag)
{
	return (v < 0 ? deny(out, "header", "tag %s missing or malformed",
	    tag) : HAVEN_OK);
}

/* ------------------------------------------------------- M5 referral */

static haven_err
incident_age(const haven_policy_marac *cfg, const haven_header *h,
    int64_t now_ms, haven_policy_decision *out)
{
	if (h->occurred_ms <= 0) {
		return (deny(out, "M5-age", "the incident time is missing"));
	}
	if (h->occurred_ms > now_ms + FUTURE_MS) {
		return (deny(out, "M5-age", "the incident time is in the "
		    "future"));
	}
	if (now_ms - h->occurred_ms >
	    (int64_t) cfg->max_incident_age_days * DAY_MS) {
		return (deny(out, "M5-age", "the incident is more than %d "
		    "days old", cfg->max_incident_age_days));
	}
	return (HAVEN_OK);
}

static haven_err
read_crit(const haven_header *h, haven__marac_crit *c,
    haven_policy_decision *out)
{
	static const char *const keys[] = { "consent", "judgement",
		"escalation", "repeat", "m6" };
	bool *dst[] = { &c->consent, &c->judgement, &c->escalation,
		&c->repeat, &c->m6 };
	const char *d = haven_header_tag(h, "dash");
	haven_err rv;

	c->dash = d != NULL && strcmp(d, "none") == 0 ? -1 :
	    tag_num(h, "dash", 24);
	if (d == NULL || (c->dash < 0 && strcmp(d, "none") != 0)) {
		return (need(out, -1, "dash"));
	}
	for (size_t i = 0; i < 5; i++) {
		int v = tag_in(h, keys[i], yn);

		if ((rv = need(out, v, keys[i])) != HAVEN_OK) {
			return (rv);
		}
		*dst[i] = v == 1;
	}
	return (HAVEN_OK);
}

static haven_err
referral(const haven_policy_marac *cfg, const haven_header *h,
    int64_t now_ms, haven_policy_decision *out)
{
	haven__marac_crit c;
	char why[HAVEN_REASON_MAX];
	char basis[HAVEN_RULE_ID_MAX];
	haven_err rv;

	if ((rv = incident_age(cfg, h, now_ms, out)) != HAVEN_OK ||
	    (rv = read_crit(h, &c, out)) != HAVEN_OK) {
		return (rv);
	}
	if (!has_view(h, "marac.referral")) {
		return (deny(out, "header", "no marac.referral view"));
	}
	if (haven__marac_criteria(cfg, &c, basis, why, sizeof(why)) !=
	    HAVEN__CRIT_OK) {
		return (deny(out, basis, "%s", why));
	}
	/* An M6 record is the justification for sharing WITHOUT consent:
	 * a referral claiming both would let a sender re-open consent the
	 * victim withdrew (the broker records consent from this tag). */
	if (c.m6 && c.consent) {
		return (deny(out, "R9", "R9-R11: a referral with consent "
		    "needs no M6 record; consent=yes with m6=yes contradicts "
		    "itself"));
	}
	if (c.m6 && !has_view(h, "marac.m6")) {
		return (deny(out, basis, "%s: the M6 record (view marac.m6) "
		    "is missing", basis));
	}
	if (!c.m6 && has_view(h, "marac.m6")) {
		return (deny(out, "header", "a marac.m6 view needs tag "
		    "m6=yes"));
	}
	(void) snprintf(out->rule, sizeof(out->rule), "%s", basis);
	return (HAVEN_OK);
}

/* ------------------------------------------------------ other types */

static haven_err
sharing(const haven_header *h, haven_policy_decision *out)
{
	int consent = tag_in(h, "consent", yn);
	int m6 = tag_in(h, "m6", yn);
	haven_err rv;

	if ((rv = need(out, consent, "consent")) != HAVEN_OK ||
	    (rv = need(out, m6, "m6")) != HAVEN_OK) {
		return (rv);
	}
	if (strcmp(h->purpose, "marac") == 0 && consent == 0 && m6 == 0) {
		return (deny(out, "R9-R11", "R9-R11: sharing without consent "
		    "needs an M6 record for the case"));
	}
	return (HAVEN_OK);
}

static haven_err
dapp_referral(const haven_header *h, haven_policy_decision *out)
{
	int mappa = tag_in(h, "mappa", yn);
	int hist = tag_num(h, "marac_history", 255);
	haven_err rv;

	if ((rv = need(out, mappa, "mappa")) != HAVEN_OK ||
	    (rv = need(out, hist, "marac_history")) != HAVEN_OK ||
	    (rv = need(out, tag_in(h, "area", areas), "area")) != HAVEN_OK) {
		return (rv);
	}
	if (mappa == 1) {
		return (deny(out, "R16", "R16: refer via MAPPA (the "
		    "perpetrator is open to MAPPA)"));
	}
	return (hist == 0 ? deny(out, "R16", "R16: ineligible (no MARAC "
	    "history)") : HAVEN_OK);
}

static haven_err
by_type(const haven_policy_marac *cfg, const haven_header *h,
    int64_t now_ms, haven_policy_decision *out)
{
	static const char *const decisions[] = { "given", "refused",
		"withdrawn", NULL };
	haven_err rv;

	switch (h->type) {
	case HAVEN_MSG_MARAC_REFERRAL:
		return (referral(cfg, h, now_ms, out));
	case HAVEN_MSG_INFO_SHARED_WITHOUT_CONSENT:
		return (tag_in(h, "consent", yn) != 0 ||
		    tag_in(h, "m6", yn) != 1 || !has_view(h, "marac.m6") ?
		    deny(out, "header", "an M6 record needs consent=no, "
		        "m6=yes and a marac.m6 view") : HAVEN_OK);
	case HAVEN_MSG_MARAC_RESEARCH_RETURN:
		if ((rv = need(out, tag_in(h, "caldicott", yn),
		         "caldicott")) != HAVEN_OK) {
			return (rv);
		}
		return (sharing(h, out));
	case HAVEN_MSG_DAPP_REFERRAL:
		return (dapp_referral(h, out));
	case HAVEN_MSG_DAPP_BUNDLE:
	case HAVEN_MSG_DAPP_ACTION_PLAN:
		if ((rv = need(out, tag_in(h, "area", areas), "area")) !=
		    HAVEN_OK) {
			return (rv);
		}
		return (sharing(h, out));
	case HAVEN_MSG_CONSENT_DECISION:
		return (need(out, tag_in(h, "consent", decisions), "consent"));
	default:
		return (sharing(h, out));
	}
}

static bool
ours(uint32_t type)
{
	return ((type >= HAVEN_MSG_MARAC_REFERRAL &&
	    type <= HAVEN_MSG_DAPP_ACTION_PLAN) ||
	    type == HAVEN_MSG_CONSENT_DECISION);
}

haven_err
haven_marac_check_header(const haven_policy_marac *cfg,
    const haven_header *h, int64_t now_ms, haven_policy_decision *out)
{
	haven_policy_marac defs;
	haven_err rv;

	if (h == NULL || out == NULL) {
		return (HAVEN_EINVAL);
	}
	memset(out, 0, sizeof(*out));
	out->allow = true;
	if (!ours(h->type)) {
		return (HAVEN_OK);
	}
	if (cfg == NULL) {
		haven__marac_defaults(&defs);
		cfg = &defs;
	}
	if (h->n_tags > HAVEN_MAX_TAGS || h->n_views > HAVEN_MAX_VIEWS) {
		return (deny(out, "header", "counts over the limits"));
	}
	if ((rv = common(h, out)) != HAVEN_OK ||
	    (rv = by_type(cfg, h, now_ms, out)) != HAVEN_OK) {
		return (rv);
	}
	if (out->rule[0] == '\0') {
		(void) snprintf(out->rule, sizeof(out->rule), "marac");
	}
	return (HAVEN_OK);
}
