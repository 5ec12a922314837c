/*
 * tests/fuzz/fuzz_policy.c: libFuzzer target for the policy readers.
 *
 * Each input goes three ways, as in fuzz_directory.c: as a JSON source, as
 * a signed document under a fixed admin key, and as the body of a document
 * the admin key really signs (so the protobuf reader and the shared
 * validation see arbitrary bytes). Whatever loads is evaluated against a
 * few fixed queries (exercising the evaluator on arbitrary rules, with
 * and without recipient attrs) and must sign and load again with the same
 * decisions and the same settings sections.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "document.h"
#include "haven/policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static haven_keys *admin;
static haven_pubkey admin_pk;

static const haven_tag tags[2] = {{"consent", "no"}, {"area", "north"}};
static const haven_tag attrs[2] = {{"isp", "signed"},
    {"panel_north", "member"}};

static const haven_policy_query queries[] = {
	{"POL", "EDU", HAVEN_MSG_OE_NOTIFICATION, "DAA2021-S49A", "oe.setting",
	    tags, 2, NULL, 0},
	{"IDVA", "MCO", HAVEN_MSG_MARAC_REFERRAL, "UKGDPR-6-1-e", "marac",
	    tags, 1, attrs, 1},
	{"EDU", "POL", HAVEN_MSG_OE_RECEIPT, "", "", NULL, 0, NULL, 0},
	{"DAPC", "HSG", HAVEN_MSG_DAPP_BUNDLE, "CDA1998-S115", "dapp.bundle",
	    tags + 1, 1, attrs, 2},
	{"MCO", "EDU", HAVEN_MSG_MARAC_CASE_LIST, "x", "marac.caselist", NULL,
	    0, attrs + 1, 1},
	{NULL, NULL, 0, NULL, NULL, NULL, 0, NULL, 0},
};

#define N_Q (sizeof(queries) / sizeof(queries[0]))

static void
decide_all(const haven_policy *p, haven_policy_decision out[N_Q])
{
	for (size_t i = 0; i < N_Q; i++) {
		haven_policy_evaluate(p, &queries[i], &out[i]);
	}
}

static bool
settings_equal(const haven_policy *a, const haven_policy *b)
{
	const haven_policy_encompass *ea = haven_policy_encompass_settings(a);
	const haven_policy_encompass *eb = haven_policy_encompass_settings(b);
	const haven_policy_marac *ma = haven_policy_marac_settings(a);
	const haven_policy_marac *mb = haven_policy_marac_settings(b);
	bool eq = ea->n_secondary == eb->n_secondary &&
	    ea->n_holiday_duty == eb->n_holiday_duty &&
	    ea->offline_escalation_ms == eb->offline_escalation_ms &&
	    ma->dash_auto == mb->dash_auto &&
	    ma->dash_consent == mb->dash_consent &&
	    ma->repeat_days == mb->repeat_days &&
	    ma->max_incident_age_days == mb->max_incident_age_days &&
	    ma->escalation_incidents == mb->escalation_incidents &&
	    ma->meeting_days == mb->meeting_days &&
	    ma->meeting_minute == mb->meeting_minute;

	for (size_t i = 0; eq && i < ea->n_secondary; i++) {
		eq = strcmp(ea->secondary[i], eb->secondary[i]) == 0;
	}
	for (size_t i = 0; eq && i < ea->n_holiday_duty; i++) {
		eq = strcmp(ea->holiday_duty[i].calendar,
		         eb->holiday_duty[i].calendar) == 0 &&
		    strcmp(ea->holiday_duty[i].agency,
		        eb->holiday_duty[i].agency) == 0;
	}
	return (eq);
}

static void
check_signed_round_trip(const haven_policy *p)
{
	haven_policy_decision a[N_Q], b[N_Q];
	haven_policy *p2 = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;

	if (haven_policy_sign(p, admin, &buf, &len) != HAVEN_OK ||
	    haven_policy_decode_signed(&p2, buf, len, admin_pk.sign_pk, NULL,
	        0) != HAVEN_OK) {
		abort();
	}
	if (!settings_equal(p, p2)) {
		abort();
	}
	decide_all(p, a);
	decide_all(p2, b);
	for (size_t i = 0; i < N_Q; i++) {
		if (a[i].allow != b[i].allow ||
		    strcmp(a[i].rule, b[i].rule) != 0 ||
		    strcmp(a[i].reason, b[i].reason) != 0) {
			abort();
		}
	}
	free(buf);
	haven_policy_destroy(&p2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	haven_policy *p = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256];

	if (admin == NULL) {
		if (haven_keys_generate(&admin, "admin", 1) != HAVEN_OK) {
			abort();
		}
		haven_keys_public(admin, &admin_pk);
	}
	if (haven_policy_from_json(&p, (const char *) data, size, err,
	        sizeof(err)) == HAVEN_OK) {
		check_signed_round_trip(p);
		haven_policy_destroy(&p);
	}
	if (haven_policy_decode_signed(&p, data, size, admin_pk.sign_pk, err,
	        sizeof(err)) == HAVEN_OK) {
		haven_policy_destroy(&p);
	}
	if (haven__doc_sign("policy", data, size, admin, &buf, &len) ==
	    HAVEN_OK) {
		if (haven_policy_decode_signed(&p, buf, len, admin_pk.sign_pk,
		        err, sizeof(err)) == HAVEN_OK) {
			check_signed_round_trip(p);
			haven_policy_destroy(&p);
		}
		free(buf);
	}
	return (0);
}
