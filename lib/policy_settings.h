/*
 * lib/policy_settings.h: the policy's "encompass" and "marac" settings
 * sections (internal; the public view is haven/policy.h).
 *
 * lib/policy.c owns the rules; this module owns the two settings sections
 * with the same shape as the rules: two readers (JSON source, protobuf
 * body) that fill one struct, one validate() both readers end in, and a
 * writer for signing that borrows the struct's strings. A signed policy
 * always carries both sections, so what was signed is what is decoded.
 */
#ifndef HAVEN_LIB_POLICY_SETTINGS_H
#define HAVEN_LIB_POLICY_SETTINGS_H

#include <jansson.h>

#include "haven.pb-c.h"
#include "haven/policy.h"

typedef struct haven__policy_settings {
	haven_policy_encompass oe;
	haven_policy_marac marac;
} haven__policy_settings;

/* protobuf-c structs for signing: they point into a settings struct,
 * which must outlive them (no allocation). */
typedef struct haven__pb_settings {
	Haven__EncompassSettings oe;
	Haven__MaracSettings marac;
	char *secondary[2];
	Haven__HolidayDuty duty[HAVEN_POLICY_DUTY_MAX];
	Haven__HolidayDuty *dutyp[HAVEN_POLICY_DUTY_MAX];
} haven__pb_settings;

/** The defaults of haven/policy.h (static storage). */
const haven__policy_settings *haven__policy_settings_default(void);

/**
 * Read the optional "encompass" and "marac" members of the policy's JSON
 * root into `s` (which holds the defaults on entry; absent sections and
 * absent keys keep them), then validate. Unknown keys are refused; `err`
 * names the field ("marac.dash_consent: must be <= dash_auto").
 * @return HAVEN_OK, HAVEN_EINVAL.
 */
HAVEN_NODISCARD haven_err haven__policy_settings_from_json(
    const json_t *root, haven__policy_settings *s, char *err, size_t errlen);

/** As from_json, from a decoded Policy body (absent submessage: the
 * defaults; present: every field is checked, none defaulted). */
HAVEN_NODISCARD haven_err haven__policy_settings_from_pb(
    const Haven__Policy *pp, haven__policy_settings *s, char *err,
    size_t errlen);

/** The one validation of both sections (ranges of haven/policy.h). */
HAVEN_NODISCARD haven_err haven__policy_settings_validate(
    const haven__policy_settings *s, char *err, size_t errlen);

/** Point pp->encompass and pp->marac at `b`, filled from `s`. */
void haven__policy_settings_to_pb(const haven__policy_settings *s,
    haven__pb_settings *b, Haven__Policy *pp);

#endif /* HAVEN_LIB_POLICY_SETTINGS_H */
