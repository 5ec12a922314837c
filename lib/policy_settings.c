/*
 * lib/policy_settings.c: the policy's settings sections (see
 * policy_settings.h and haven/policy.h).
 *
 * Invariants: a loaded policy's settings always pass validate(), whether
 * they came from JSON, from a signed body or from the defaults; the JSON
 * reader is strict (unknown keys refused, nothing truncated) and a signed
 * body that carries a section carries every field of it (proto3 zeroes
 * are not read as "use the default": a zero out of range is refused), so
 * the admin key cannot sign settings the JSON loader would refuse.
 * Messages name the field ("marac.dash_consent: must be <= dash_auto")
 * and echo no value: the settings hold codes and agency ids only, but the
 * habit is kept everywhere.
 */
#include "policy_settings.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "jsonutil.h"
#include "pbutil.h"
#include "util.h"

#define MINUTE_MS 60000
#define OFFLINE_MAX_MIN 10080 /* one week */
#define DASH_MAX 24
#define DAYS_MAX 3660
#define INCIDENTS_MAX 100
#define DAY_BITS 0x7f

static const char *const day_names[7] = {"MON", "TUE", "WED", "THU", "FRI",
    "SAT", "SUN"};

static const haven__policy_settings defaults = {
	.oe = {
		.n_secondary = 2,
		.secondary = {"deputy", "la-education"},
		.n_holiday_duty = 0,
		.offline_escalation_ms = 1440 * (int64_t) MINUTE_MS,
	},
	.marac = {
		.dash_auto = 17,
		.dash_consent = 14,
		.repeat_days = 365,
		.max_incident_age_days = 92,
		.escalation_incidents = 3,
		.meeting_days = 0x15, /* MON WED FRI */
		.meeting_minute = 600, /* 10:00 */
	},
};

const haven__policy_settings *
haven__policy_settings_default(void)
{
	return (&defaults);
}

static haven_err
bad(char *err, size_t errlen, const char *where, const char *what)
{
	haven__errf(err, errlen, "%s: %s", where, what);
	return (HAVEN_EINVAL);
}

static haven_err
range(char *err, size_t errlen, const char *where, int64_t v, int64_t min,
    int64_t max)
{
	if (v >= min && v <= max) {
		return (HAVEN_OK);
	}
	haven__errf(err, errlen, "%s: out of range [%lld, %lld]", where,
	    (long long) min, (long long) max);
	return (HAVEN_EINVAL);
}

/* ---------------------------------------------------------- validation */

static haven_err
secondary_check(const haven_policy_encompass *e, char *err, size_t errlen)
{
	char at[64];

	if (e->n_secondary < 1 || e->n_secondary > 2) {
		return (bad(err, errlen, "encompass.secondary_contacts",
		    "must have 1 or 2 entries"));
	}
	for (size_t i = 0; i < e->n_secondary; i++) {
		const char *s = e->secondary[i];

		(void) snprintf(at, sizeof(at),
		    "encompass.secondary_contacts[%zu]", i);
		if (memchr(s, '\0', sizeof(e->secondary[i])) == NULL ||
		    (strcmp(s, "deputy") != 0 &&
		        strcmp(s, "la-education") != 0)) {
			return (bad(err, errlen, at,
			    "must be \"deputy\" or \"la-education\""));
		}
		if (i == 1 && strcmp(s, e->secondary[0]) == 0) {
			return (bad(err, errlen, at, "duplicate entry"));
		}
	}
	return (HAVEN_OK);
}

static bool
id_ok(const char *s, size_t cap)
{
	return (memchr(s, '\0', cap) != NULL && haven_agency_id_valid(s));
}

static haven_err
duty_check(const haven_policy_encompass *e, char *err, size_t errlen)
{
	char at[64];

	if (e->n_holiday_duty > HAVEN_POLICY_DUTY_MAX) {
		return (bad(err, errlen, "encompass.holiday_duty",
		    "more than 16 entries"));
	}
	for (size_t i = 0; i < e->n_holiday_duty; i++) {
		const char *cal = e->holiday_duty[i].calendar;

		(void) snprintf(at, sizeof(at),
		    "encompass.holiday_duty[%zu].calendar", i);
		if (!id_ok(cal, HAVEN_ID_MAX)) {
			return (bad(err, errlen, at, "not a valid area id"));
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(e->holiday_duty[j].calendar, cal) == 0) {
				haven__errf(err, errlen,
				    "%s: duplicate of holiday_duty[%zu]", at,
				    j);
				return (HAVEN_EINVAL);
			}
		}
		(void) snprintf(at, sizeof(at),
		    "encompass.holiday_duty[%zu].agency", i);
		if (!id_ok(e->holiday_duty[i].agency, HAVEN_ID_MAX)) {
			return (bad(err, errlen, at,
			    "not a valid agency id"));
		}
	}
	return (HAVEN_OK);
}

static haven_err
encompass_check(const haven_policy_encompass *e, char *err, size_t errlen)
{
	const char *at = "encompass.offline_escalation_minutes";
	haven_err rv;

	if ((rv = secondary_check(e, err, errlen)) != HAVEN_OK ||
	    (rv = duty_check(e, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	if (e->offline_escalation_ms % MINUTE_MS != 0) {
		return (bad(err, errlen, at,
		    "offline_escalation_ms is not whole minutes"));
	}
	return (range(err, errlen, at, e->offline_escalation_ms / MINUTE_MS,
	    1, OFFLINE_MAX_MIN));
}

static haven_err
marac_check(const haven_policy_marac *m, char *err, size_t errlen)
{
	haven_err rv;

	if ((rv = range(err, errlen, "marac.dash_auto", m->dash_auto, 0,
	         DASH_MAX)) != HAVEN_OK ||
	    (rv = range(err, errlen, "marac.dash_consent", m->dash_consent, 0,
	         DASH_MAX)) != HAVEN_OK) {
		return (rv);
	}
	if (m->dash_consent > m->dash_auto) {
		return (bad(err, errlen, "marac.dash_consent",
		    "must be <= dash_auto"));
	}
	if ((rv = range(err, errlen, "marac.repeat_days", m->repeat_days, 1,
	         DAYS_MAX)) != HAVEN_OK ||
	    (rv = range(err, errlen, "marac.max_incident_age_days",
	         m->max_incident_age_days, 1, DAYS_MAX)) != HAVEN_OK ||
	    (rv = range(err, errlen, "marac.escalation_incidents",
	         m->escalation_incidents, 1, INCIDENTS_MAX)) != HAVEN_OK) {
		return (rv);
	}
	if (m->meeting_days == 0 || (m->meeting_days & ~DAY_BITS) != 0) {
		return (bad(err, errlen, "marac.meeting_days",
		    "must name 1..7 distinct days MON..SUN"));
	}
	if (m->meeting_minute < 0 || m->meeting_minute >= 24 * 60) {
		return (bad(err, errlen, "marac.meeting_time",
		    "must be \"HH:MM\" (00:00-23:59)"));
	}
	return (HAVEN_OK);
}

haven_err
haven__policy_settings_validate(const haven__policy_settings *s, char *err,
    size_t errlen)
{
	haven_err rv;

	if ((rv = encompass_check(&s->oe, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	return (marac_check(&s->marac, err, errlen));
}

/* --------------------------------------------------------- from JSON */

/* A string array element without embedded NUL, or NULL. */
static const char *
json_elem_str(const json_t *a, size_t i)
{
	const json_t *e = json_array_get(a, i);

	if (!json_is_string(e) ||
	    strlen(json_string_value(e)) != json_string_length(e)) {
		return (NULL);
	}
	return (json_string_value(e));
}

static haven_err
secondary_from_json(const json_t *o, haven_policy_encompass *e, char *err,
    size_t errlen)
{
	const json_t *l = json_object_get(o, "secondary_contacts");
	const char *at = "encompass.secondary_contacts";

	if (l == NULL) {
		return (HAVEN_OK);
	}
	if (!json_is_array(l)) {
		return (bad(err, errlen, at, "must be an array"));
	}
	if (json_array_size(l) < 1 || json_array_size(l) > 2) {
		return (bad(err, errlen, at, "must have 1 or 2 entries"));
	}
	e->n_secondary = json_array_size(l);
	for (size_t i = 0; i < e->n_secondary; i++) {
		const char *s = json_elem_str(l, i);

		/* too long reads as "": refused by secondary_check */
		if (s == NULL || haven__strlcpy(e->secondary[i], s,
		                     sizeof(e->secondary[i])) != HAVEN_OK) {
			e->secondary[i][0] = '\0';
		}
	}
	return (HAVEN_OK);
}

static haven_err
duty_from_json(const json_t *o, haven_policy_encompass *e, char *err,
    size_t errlen)
{
	static const char *const allowed[] = {"calendar", "agency", NULL};
	const json_t *l = json_object_get(o, "holiday_duty");
	char at[48];
	haven_err rv;

	if (l == NULL) {
		return (HAVEN_OK);
	}
	if (!json_is_array(l)) {
		return (bad(err, errlen, "encompass.holiday_duty",
		    "must be an array"));
	}
	if (json_array_size(l) > HAVEN_POLICY_DUTY_MAX) {
		return (bad(err, errlen, "encompass.holiday_duty",
		    "more than 16 entries"));
	}
	e->n_holiday_duty = 0;
	for (size_t i = 0; i < json_array_size(l); i++) {
		const json_t *d = json_array_get(l, i);

		(void) snprintf(at, sizeof(at), "encompass.holiday_duty[%zu]",
		    i);
		if (!json_is_object(d)) {
			return (bad(err, errlen, at, "must be an object"));
		}
		if ((rv = haven__json_only(d, allowed, at, err, errlen)) !=
		        HAVEN_OK ||
		    (rv = haven__json_str(d, "calendar", true,
		         e->holiday_duty[i].calendar, HAVEN_ID_MAX, at, err,
		         errlen)) != HAVEN_OK ||
		    (rv = haven__json_str(d, "agency", true,
		         e->holiday_duty[i].agency, HAVEN_ID_MAX, at, err,
		         errlen)) != HAVEN_OK) {
			return (rv);
		}
		e->n_holiday_duty = i + 1;
	}
	return (HAVEN_OK);
}

static haven_err
encompass_from_json(const json_t *o, haven_policy_encompass *e, char *err,
    size_t errlen)
{
	static const char *const allowed[] = {"secondary_contacts",
	    "holiday_duty", "offline_escalation_minutes", NULL};
	int64_t min = e->offline_escalation_ms / MINUTE_MS;
	haven_err rv;

	if (!json_is_object(o)) {
		return (bad(err, errlen, "encompass", "must be an object"));
	}
	if ((rv = haven__json_only(o, allowed, "encompass", err, errlen)) !=
	        HAVEN_OK ||
	    (rv = secondary_from_json(o, e, err, errlen)) != HAVEN_OK ||
	    (rv = duty_from_json(o, e, err, errlen)) != HAVEN_OK ||
	    (rv = haven__json_int(o, "offline_escalation_minutes", false, 1,
	         OFFLINE_MAX_MIN, &min, "encompass", err, errlen)) !=
	        HAVEN_OK) {
		return (rv);
	}
	e->offline_escalation_ms = min * MINUTE_MS;
	return (HAVEN_OK);
}

static haven_err
days_from_json(const json_t *o, haven_policy_marac *m, char *err,
    size_t errlen)
{
	const json_t *l = json_object_get(o, "meeting_days");
	char at[48];

	if (l == NULL) {
		return (HAVEN_OK);
	}
	if (!json_is_array(l) || json_array_size(l) < 1 ||
	    json_array_size(l) > 7) {
		return (bad(err, errlen, "marac.meeting_days",
		    "must name 1..7 distinct days MON..SUN"));
	}
	m->meeting_days = 0;
	for (size_t i = 0; i < json_array_size(l); i++) {
		const char *s = json_elem_str(l, i);
		int d = 0;

		(void) snprintf(at, sizeof(at), "marac.meeting_days[%zu]", i);
		while (s != NULL && d < 7 && strcmp(s, day_names[d]) != 0) {
			d++;
		}
		if (s == NULL || d == 7) {
			return (bad(err, errlen, at,
			    "must be MON, TUE, WED, THU, FRI, SAT or SUN"));
		}
		if ((m->meeting_days & (1u << d)) != 0) {
			return (bad(err, errlen, at, "duplicate day"));
		}
		m->meeting_days |= (uint8_t) (1u << d);
	}
	return (HAVEN_OK);
}

/* "HH:MM", 00:00-23:59, into minutes after midnight; -1 if malformed. */
static int
hhmm(const char *s)
{
	int h, m;

	if (strlen(s) != 5 || s[2] != ':') {
		return (-1);
	}
	for (int i = 0; i < 5; i++) {
		if (i != 2 && (s[i] < '0' || s[i] > '9')) {
			return (-1);
		}
	}
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	return (h < 24 && m < 60 ? h * 60 + m : -1);
}

static haven_err
ints_from_json(const json_t *o, haven_policy_marac *m, char *err,
    size_t errlen)
{
	static const struct {
		const char *key;
		size_t off;
		int64_t min, max;
	} f[] = {
		{"dash_auto", offsetof(haven_policy_marac, dash_auto), 0,
		    DASH_MAX},
		{"dash_consent", offsetof(haven_policy_marac, dash_consent), 0,
		    DASH_MAX},
		{"repeat_days", offsetof(haven_policy_marac, repeat_days), 1,
		    DAYS_MAX},
		{"max_incident_age_days",
		    offsetof(haven_policy_marac, max_incident_age_days), 1,
		    DAYS_MAX},
		{"escalation_incidents",
		    offsetof(haven_policy_marac, escalation_incidents), 1,
		    INCIDENTS_MAX},
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		int *dst = (int *) (void *) ((char *) m + f[i].off);
		int64_t v = *dst;
		haven_err rv = haven__json_int(o, f[i].key, false, f[i].min,
		    f[i].max, &v, "marac", err, errlen);

		if (rv != HAVEN_OK) {
			return (rv);
		}
		*dst = (int) v;
	}
	return (HAVEN_OK);
}

static haven_err
marac_from_json(const json_t *o, haven_policy_marac *m, char *err,
    size_t errlen)
{
	static const char *const allowed[] = {"dash_auto", "dash_consent",
	    "repeat_days", "max_incident_age_days", "escalation_incidents",
	    "meeting_days", "meeting_time", NULL};
	char t[8] = "";
	haven_err rv;

	if (!json_is_object(o)) {
		return (bad(err, errlen, "marac", "must be an object"));
	}
	if ((rv = haven__json_only(o, allowed, "marac", err, errlen)) !=
	        HAVEN_OK ||
	    (rv = ints_from_json(o, m, err, errlen)) != HAVEN_OK ||
	    (rv = days_from_json(o, m, err, errlen)) != HAVEN_OK) {
		return (rv);
	}
	if (json_object_get(o, "meeting_time") != NULL) {
		if (haven__json_str(o, "meeting_time", true, t, sizeof(t),
		        "marac", NULL, 0) != HAVEN_OK || hhmm(t) < 0) {
			return (bad(err, errlen, "marac.meeting_time",
			    "must be \"HH:MM\" (00:00-23:59)"));
		}
		m->meeting_minute = hhmm(t);
	}
	return (HAVEN_OK);
}

haven_err
haven__policy_settings_from_json(const json_t *root,
    haven__policy_settings *s, char *err, size_t errlen)
{
	const json_t *oe = json_object_get(root, "encompass");
	const json_t *mc = json_object_get(root, "marac");
	haven_err rv;

	if ((oe != NULL &&
	        (rv = encompass_from_json(oe, &s->oe, err, errlen)) !=
	            HAVEN_OK) ||
	    (mc != NULL &&
	        (rv = marac_from_json(mc, &s->marac, err, errlen)) !=
	            HAVEN_OK)) {
		return (rv);
	}
	return (haven__policy_settings_validate(s, err, errlen));
}

/* ----------------------------------------------------- from protobuf */

static haven_err
oe_from_pb(const Haven__EncompassSettings *pe, haven_policy_encompass *e,
    char *err, size_t errlen)
{
	if (pe->n_secondary_contacts > 2) {
		return (bad(err, errlen, "encompass.secondary_contacts",
		    "must have 1 or 2 entries"));
	}
	if (pe->n_holiday_duty > HAVEN_POLICY_DUTY_MAX) {
		return (bad(err, errlen, "encompass.holiday_duty",
		    "more than 16 entries"));
	}
	memset(e, 0, sizeof(*e));
	e->n_secondary = pe->n_secondary_contacts;
	for (size_t i = 0; i < e->n_secondary; i++) {
		/* too long stays "": refused by secondary_check */
		if (haven__pb_str(e->secondary[i], sizeof(e->secondary[i]),
		        pe->secondary_contacts[i]) != HAVEN_OK) {
			e->secondary[i][0] = '\0';
		}
	}
	e->n_holiday_duty = pe->n_holiday_duty;
	for (size_t i = 0; i < e->n_holiday_duty; i++) {
		const Haven__HolidayDuty *d = pe->holiday_duty[i];

		/* missing or too long stays "": refused by duty_check */
		if (d == NULL ||
		    haven__pb_str(e->holiday_duty[i].calendar, HAVEN_ID_MAX,
		        d->calendar) != HAVEN_OK ||
		    haven__pb_str(e->holiday_duty[i].agency, HAVEN_ID_MAX,
		        d->agency) != HAVEN_OK) {
			continue;
		}
	}
	e->offline_escalation_ms = pe->offline_escalation_ms;
	return (HAVEN_OK);
}

/* uint32 into an int; too large becomes -1, out of every range. */
static int
u2i(uint32_t v)
{
	return (v > (uint32_t) INT_MAX ? -1 : (int) v);
}

static haven_err
marac_from_pb(const Haven__MaracSettings *pm, haven_policy_marac *m,
    char *err, size_t errlen)
{
	if (pm->meeting_days > DAY_BITS) {
		return (bad(err, errlen, "marac.meeting_days",
		    "must name 1..7 distinct days MON..SUN"));
	}
	m->dash_auto = u2i(pm->dash_auto);
	m->dash_consent = u2i(pm->dash_consent);
	m->repeat_days = u2i(pm->repeat_days);
	m->max_incident_age_days = u2i(pm->max_incident_age_days);
	m->escalation_incidents = u2i(pm->escalation_incidents);
	m->meeting_days = (uint8_t) pm->meeting_days;
	m->meeting_minute = u2i(pm->meeting_minute);
	return (HAVEN_OK);
}

haven_err
haven__policy_settings_from_pb(const Haven__Policy *pp,
    haven__policy_settings *s, char *err, size_t errlen)
{
	haven_err rv;

	*s = defaults;
	if ((pp->encompass != NULL &&
	        (rv = oe_from_pb(pp->encompass, &s->oe, err, errlen)) !=
	            HAVEN_OK) ||
	    (pp->marac != NULL &&
	        (rv = marac_from_pb(pp->marac, &s->marac, err, errlen)) !=
	            HAVEN_OK)) {
		return (rv);
	}
	return (haven__policy_settings_validate(s, err, errlen));
}

/* ------------------------------------------------------------ signing */

void
haven__policy_settings_to_pb(const haven__policy_settings *s,
    haven__pb_settings *b, Haven__Policy *pp)
{
	const haven_policy_encompass *e = &s->oe;
	const haven_policy_marac *m = &s->marac;

	haven__encompass_settings__init(&b->oe);
	for (size_t i = 0; i < e->n_secondary && i < 2; i++) {
		b->secondary[i] = (char *) e->secondary[i];
	}
	b->oe.n_secondary_contacts = e->n_secondary;
	b->oe.secondary_contacts = b->secondary;
	for (size_t i = 0; i < e->n_holiday_duty; i++) {
		haven__holiday_duty__init(&b->duty[i]);
		b->duty[i].calendar = (char *) e->holiday_duty[i].calendar;
		b->duty[i].agency = (char *) e->holiday_duty[i].agency;
		b->dutyp[i] = &b->duty[i];
	}
	b->oe.n_holiday_duty = e->n_holiday_duty;
	b->oe.holiday_duty = b->dutyp;
	b->oe.offline_escalation_ms = e->offline_escalation_ms;
	haven__marac_settings__init(&b->marac);
	b->marac.dash_auto = (uint32_t) m->dash_auto;
	b->marac.dash_consent = (uint32_t) m->dash_consent;
	b->marac.repeat_days = (uint32_t) m->repeat_days;
	b->marac.max_incident_age_days = (uint32_t) m->max_incident_age_days;
	b->marac.escalation_incidents = (uint32_t) m->escalation_incidents;
	b->marac.meeting_days = m->meeting_days;
	b->marac.meeting_minute = (uint32_t) m->meeting_minute;
	pp->encompass = &b->oe;
	pp->marac = &b->marac;
}
