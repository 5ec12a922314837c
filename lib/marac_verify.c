/*
 * lib/marac_verify.c: a recipient's check that a decrypted MARAC or panel
 * payload says what its signed header told the broker.
 *
 * The broker admits a message on its tags and incident time; only the
 * recipient can read the payload. A sender that tags a referral dash=18
 * but writes a DASH of 9 into it, or tags a panel referral mappa=no for a
 * MAPPA case, is caught here: the recipient refuses the payload naming the
 * tag, and its agent records the refusal. Tags that need the thresholds
 * (escalation) are checked against the sender's own evaluation carried in
 * the payload ("met"), which must itself be consistent.
 */
#include <stdio.h>
#include <string.h>

#include "haven/calendar.h"
#include "marac_int.h"
#include "util.h"

static haven_err
bad(char *why, size_t whylen, const char *what)
{
	haven__errf(why, whylen, "%s", what);
	return (HAVEN_EVALIDATE);
}

static haven_err
tag_is(const haven_header *h, const char *key, const char *want, char *why,
    size_t whylen)
{
	const char *v = haven_header_tag(h, key);

	if (v == NULL || strcmp(v, want) != 0) {
		haven__errf(why, whylen, "tag %s does not match the payload",
		    key);
		return (HAVEN_EVALIDATE);
	}
	return (HAVEN_OK);
}

static haven_err
tag_yn(const haven_header *h, const char *key, bool want, char *why,
    size_t whylen)
{
	return (tag_is(h, key, want ? "yes" : "no", why, whylen));
}

static haven_err
referral(const haven_header *h, const Haven__MaracReferral *r, char *why,
    size_t whylen)
{
	const Haven__MaracCriteria *k = r->criteria;
	char dash[16];
	int64_t t;
	haven_err rv;

	if (k->dash < 0) {
		(void) snprintf(dash, sizeof(dash), "none");
	} else {
		(void) snprintf(dash, sizeof(dash), "%d", (int) k->dash);
	}
	if ((rv = tag_is(h, "dash", dash, why, whylen)) != HAVEN_OK ||
	    (rv = tag_yn(h, "consent", r->consent->given, why, whylen)) !=
	        HAVEN_OK ||
	    (rv = tag_yn(h, "judgement", k->judgement != NULL, why,
	         whylen)) != HAVEN_OK ||
	    (rv = tag_yn(h, "escalation",
	         k->escalation != NULL && k->escalation->met, why, whylen)) !=
	        HAVEN_OK ||
	    (rv = tag_yn(h, "repeat", k->repeat != NULL, why, whylen)) !=
	        HAVEN_OK ||
	    (rv = tag_yn(h, "m6", r->m6_attached, why, whylen)) != HAVEN_OK) {
		return (rv);
	}
	if (haven_time_parse(r->incident->occurred_at, &t) != HAVEN_OK ||
	    t != h->occurred_ms) {
		return (bad(why, whylen, "occurred_ms does not match the "
		    "payload"));
	}
	return (HAVEN_OK);
}

static haven_err
repeat_flag(const haven_header *h, const Haven__MaracRepeatFlag *f,
    char *why, size_t whylen)
{
	int64_t d;

	if (haven_date_parse(f->date, &d) != HAVEN_OK ||
	    haven__marac_day_start_ms(d) != h->occurred_ms) {
		return (bad(why, whylen, "occurred_ms does not match the "
		    "payload"));
	}
	return (HAVEN_OK);
}

static haven_err
dapp_referral(const haven_header *h, const Haven__DappReferral *r,
    char *why, size_t whylen)
{
	char n[24];
	haven_err rv;

	(void) snprintf(n, sizeof(n), "%zu", r->n_marac_case_refs);
	if ((rv = tag_yn(h, "mappa", r->open_to_mappa, why, whylen)) !=
	        HAVEN_OK ||
	    (rv = tag_is(h, "marac_history", n, why, whylen)) != HAVEN_OK) {
		return (rv);
	}
	return (tag_is(h, "area", r->area, why, whylen));
}

/* The tags each payload can vouch for. */
static haven_err
tags_match(const haven_header *h, const ProtobufCMessage *m, char *why,
    size_t whylen)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	haven_err rv;

	if (d == &haven__marac_referral__descriptor) {
		return (referral(h, (const Haven__MaracReferral *) m, why,
		    whylen));
	}
	if (d == &haven__marac_referral_m6__descriptor) {
		/* m6_attached (checked true) vouches for m6=yes. */
		return (referral(h, ((const Haven__MaracReferralM6 *)
		    m)->referral, why, whylen));
	}
	if (d == &haven__marac_m6__descriptor) {
		if ((rv = tag_is(h, "m6", "yes", why, whylen)) != HAVEN_OK) {
			return (rv);
		}
		return (tag_is(h, "consent", "no", why, whylen));
	}
	if (d == &haven__marac_research__descriptor) {
		return (tag_yn(h, "caldicott", ((const Haven__MaracResearch *)
		    m)->caldicott_attested, why, whylen));
	}
	if (d == &haven__marac_repeat_flag__descriptor) {
		return (repeat_flag(h, (const Haven__MaracRepeatFlag *) m, why,
		    whylen));
	}
	if (d == &haven__dapp_referral__descriptor) {
		return (dapp_referral(h, (const Haven__DappReferral *) m, why,
		    whylen));
	}
	if (d == &haven__dapp_bundle__descriptor) {
		return (tag_is(h, "area", ((const Haven__DappBundle *) m)->area,
		    why, whylen));
	}
	if (d == &haven__dapp_plan__descriptor) {
		return (tag_is(h, "area", ((const Haven__DappPlan *) m)->area,
		    why, whylen));
	}
	if (d == &haven__marac_consent_decision__descriptor) {
		return (tag_is(h, "consent", ((const Haven__MaracConsentDecision
		    *) m)->decision, why, whylen));
	}
	return (HAVEN_OK);
}

static bool
header_has_profile(const haven_header *h, const char *profile)
{
	for (size_t i = 0; i < h->n_views && i < HAVEN_MAX_VIEWS; i++) {
		if (strcmp(h->views[i].profile, profile) == 0) {
			return (true);
		}
	}
	return (false);
}

haven_err
haven_marac_verify_payload(const haven_header *h, const char *profile,
    const uint8_t *buf, size_t len, char *why, size_t whylen)
{
	const haven__mschema *s;
	ProtobufCMessage *m = NULL;
	char f[96], w[128];
	haven__mperr pe = { f, sizeof(f), w, sizeof(w) };
	haven_err rv;

	haven__errf(why, whylen, "%s", "");
	if (h == NULL || profile == NULL || (buf == NULL && len > 0)) {
		return (bad(why, whylen, "no input"));
	}
	if ((s = haven__marac_schema(h->type, profile)) == NULL) {
		return (bad(why, whylen, "profile does not fit the message "
		    "type"));
	}
	if (!header_has_profile(h, profile)) {
		return (bad(why, whylen, "profile is not a view of the "
		    "header"));
	}
	f[0] = w[0] = '\0';
	if ((rv = haven__marac_decode(s, buf, len, &m, &pe)) != HAVEN_OK ||
	    (rv = haven__marac_content_ok(h->type, profile, m, "", &pe)) !=
	        HAVEN_OK) {
		haven__marac_pb_free(&m);
		haven__errf(why, whylen, "payload %s%s%s", f,
		    f[0] != '\0' ? ": " : "", w);
		return (HAVEN_EVALIDATE);
	}
	rv = tags_match(h, m, why, whylen);
	haven__marac_pb_free(&m);
	return (rv);
}
