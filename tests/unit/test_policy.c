/*
 * tests/unit/test_policy.c: the policy reader, its signed form, the
 * evaluator and the all-or-nothing header check.
 *
 * Evaluation is driven by a table of queries against one policy whose
 * rules exercise first-match order, negated lists, tags and the default
 * deny. check_header runs against a directory built from JSON around real
 * keys (haven_keys_generate). Every refusal of the JSON reader is checked
 * with its exact message; signed refusals use real signatures.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "document.h"
#include "haven.pb-c.h"
#include "haven/directory.h"
#include "haven/policy.h"
#include "util.h"

static const char *const POLICY =
    "{\"version\": 7, \"skew_seconds\": 120, \"rules\": ["
    " {\"id\":\"R1\",\"effect\":\"deny\",\"types\":[\"OE_NOTIFICATION\"],"
    "  \"sender_roles\":[\"!POL\"],"
    "  \"reason\":\"Encompass is sent by police only\"},"
    " {\"id\":\"R2\",\"effect\":\"deny\",\"types\":[\"OE_NOTIFICATION\"],"
    "  \"tags\":{\"consent\":\"withdrawn\",\"area\":\"north\"}},"
    " {\"id\":\"R3\",\"effect\":\"allow\",\"sender_roles\":[\"POL\"],"
    "  \"recipient_roles\":[\"EDU\"],\"types\":[\"OE_NOTIFICATION\"],"
    "  \"legal_bases\":[\"DAA2021-S49A\"],\"profiles\":[\"oe.setting\"],"
    "  \"reason\":\"s.49A notification\"},"
    " {\"id\":\"R4\",\"effect\":\"allow\",\"sender_roles\":[\"POL\"],"
    "  \"recipient_roles\":[\"!EDU\",\"!POL\"],"
    "  \"types\":[\"OE_EHE_NOTIFICATION\"],\"tags\":{\"ehe\":\"yes\"}},"
    " {\"id\":\"R5\",\"effect\":\"deny\",\"recipient_roles\":[\"EDU\"],"
    "  \"types\":[\"MARAC_REFERRAL\",\"MARAC_CASE_LIST\"]},"
    " {\"id\":\"R6\",\"effect\":\"allow\","
    "  \"types\":[\"!OE_NOTIFICATION\",\"!OE_EHE_NOTIFICATION\"],"
    "  \"profiles\":[\"!oe.setting\"]}"
    "]}";

struct fx {
	haven_keys *admin;
	haven_keys *other;
	haven_pubkey admin_pk;
	haven_policy *pol;
	haven_directory *dir;
};

#define N_AG 6

static const struct {
	const char *id;
	const char *role;
	bool revoked;
} agencies[N_AG] = {
	{"police.cambs", "POL", false},
	{"school.a", "EDU", false},
	{"school.b", "EDU", false},
	{"school.c", "EDU", false},
	{"la.cambs", "LA", false},
	{"school.gone", "EDU", true},
};

static json_t *
hexjson(const uint8_t *b)
{
	char hex[65];

	haven__hex_encode(hex, b, 32);
	return (json_string(hex));
}

static haven_directory *
make_directory(void)
{
	json_t *list = json_array();
	json_t *root;
	haven_directory *d = NULL;
	char err[256] = "";
	char *text;

	for (size_t i = 0; i < N_AG; i++) {
		haven_keys *k = NULL;
		haven_pubkey pk;

		assert_int_equal(haven_keys_generate(&k, agencies[i].id, 1),
		    HAVEN_OK);
		haven_keys_public(k, &pk);
		haven_keys_destroy(&k);
		json_array_append_new(list,
		    json_pack("{s:s, s:s, s:s, s:b, s:[{s:i, s:o, s:o, s:o}]}",
		        "id", agencies[i].id, "role", agencies[i].role, "name",
		        "Agency", "revoked", agencies[i].revoked, "keys",
		        "generation", 1, "sign_pk", hexjson(pk.sign_pk),
		        "box_pk", hexjson(pk.box_pk), "curve_pk",
		        hexjson(pk.curve_pk)));
	}
	root = json_pack("{s:i, s:o}", "version", 1, "agencies", list);
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	assert_non_null(text);
	assert_int_equal(haven_directory_from_json(&d, text, strlen(text), err,
	                     sizeof(err)),
	    HAVEN_OK);
	free(text);
	return (d);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256] = "";

	assert_non_null(f);
	assert_int_equal(haven_keys_generate(&f->admin, "admin", 1), HAVEN_OK);
	assert_int_equal(haven_keys_generate(&f->other, "admin", 1), HAVEN_OK);
	haven_keys_public(f->admin, &f->admin_pk);
	assert_int_equal(haven_policy_from_json(&f->pol, POLICY,
	                     strlen(POLICY), err, sizeof(err)),
	    HAVEN_OK);
	f->dir = make_directory();
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	haven_keys_destroy(&f->admin);
	haven_keys_destroy(&f->other);
	haven_policy_destroy(&f->pol);
	haven_policy_destroy(&f->pol);
	haven_directory_destroy(&f->dir);
	free(f);
	return (0);
}

/* ------------------------------------------------------- evaluation */

static const haven_tag T_NONE[1] = {{"", ""}};
static const haven_tag T_WITHDRAWN[2] = {{"area", "north"},
    {"consent", "withdrawn"}};
static const haven_tag T_WITHDRAWN_SOUTH[2] = {{"area", "south"},
    {"consent", "withdrawn"}};
static const haven_tag T_EHE[1] = {{"ehe", "yes"}};

static const struct {
	const char *s, *r;
	uint32_t type;
	const char *basis, *profile;
	const haven_tag *tags;
	size_t n_tags;
	bool allow;
	const char *rule, *reason;
} table[] = {
	/* R1: negated sender list */
	{"EDU", "EDU", HAVEN_MSG_OE_NOTIFICATION, "DAA2021-S49A", "oe.setting",
	    T_NONE, 0, false, "R1", "Encompass is sent by police only"},
	/* R3: every condition matches */
	{"POL", "EDU", HAVEN_MSG_OE_NOTIFICATION, "DAA2021-S49A", "oe.setting",
	    T_NONE, 0, true, "R3", "s.49A notification"},
	/* R2 before R3: both tags present with these values */
	{"POL", "EDU", HAVEN_MSG_OE_NOTIFICATION, "DAA2021-S49A", "oe.setting",
	    T_WITHDRAWN, 2, false, "R2", "refused by rule R2"},
	/* one tag differs: R2 does not match, R3 does */
	{"POL", "EDU", HAVEN_MSG_OE_NOTIFICATION, "DAA2021-S49A", "oe.setting",
	    T_WITHDRAWN_SOUTH, 2, true, "R3", "s.49A notification"},
	/* tag present in the rule, absent in the query */
	{"POL", "EDU", HAVEN_MSG_OE_NOTIFICATION, "DAA2021-S49A", "oe.setting",
	    T_WITHDRAWN + 1, 1, true, "R3", "s.49A notification"},
	/* wrong legal basis, wrong profile, NULL basis: default deny */
	{"POL", "EDU", HAVEN_MSG_OE_NOTIFICATION, "UKGDPR-6-1-e", "oe.setting",
	    T_NONE, 0, false, "default-deny",
	    "no rule allows OE_NOTIFICATION from POL to EDU"},
	{"POL", "EDU", HAVEN_MSG_OE_NOTIFICATION, "DAA2021-S49A", "oe.ehe",
	    T_NONE, 0, false, "default-deny",
	    "no rule allows OE_NOTIFICATION from POL to EDU"},
	{"POL", "EDU", HAVEN_MSG_OE_NOTIFICATION, NULL, "oe.setting", T_NONE,
	    0, false, "default-deny",
	    "no rule allows OE_NOTIFICATION from POL to EDU"},
	/* R4: negated recipient list and a tag; allow reason = rule id */
	{"POL", "LA", HAVEN_MSG_OE_EHE_NOTIFICATION, "DAA2021-S49A", "oe.ehe",
	    T_EHE, 1, true, "R4", "R4"},
	{"POL", "EDU", HAVEN_MSG_OE_EHE_NOTIFICATION, "DAA2021-S49A", "oe.ehe",
	    T_EHE, 1, false, "default-deny",
	    "no rule allows OE_EHE_NOTIFICATION from POL to EDU"},
	{"POL", "POL", HAVEN_MSG_OE_EHE_NOTIFICATION, "DAA2021-S49A", "oe.ehe",
	    T_EHE, 1, false, "default-deny",
	    "no rule allows OE_EHE_NOTIFICATION from POL to POL"},
	{"POL", "LA", HAVEN_MSG_OE_EHE_NOTIFICATION, "DAA2021-S49A", "oe.ehe",
	    T_NONE, 0, false, "default-deny",
	    "no rule allows OE_EHE_NOTIFICATION from POL to LA"},
	/* first match: R5 denies MARAC to EDU before R6 allows it */
	{"IDVA", "EDU", HAVEN_MSG_MARAC_REFERRAL, "UKGDPR-6-1-e", "marac",
	    T_NONE, 0, false, "R5", "refused by rule R5"},
	{"IDVA", "MCO", HAVEN_MSG_MARAC_REFERRAL, "UKGDPR-6-1-e", "marac",
	    T_NONE, 0, true, "R6", "R6"},
	{"HSG", "EDU", HAVEN_MSG_MARAC_CASE_LIST, "x", "y", T_NONE, 0, false,
	    "R5", "refused by rule R5"},
	/* R6's negated profile list */
	{"IDVA", "MCO", HAVEN_MSG_MARAC_REFERRAL, "UKGDPR-6-1-e", "oe.setting",
	    T_NONE, 0, false, "default-deny",
	    "no rule allows MARAC_REFERRAL from IDVA to MCO"},
	/* an unknown type value is named UNKNOWN */
	{"IDVA", "MCO", 99, "x", "oe.setting", T_NONE, 0, false,
	    "default-deny", "no rule allows UNKNOWN from IDVA to MCO"},
};

static void
check_table(const haven_policy *p)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		haven_policy_query q = {table[i].s, table[i].r, table[i].type,
		    table[i].basis, table[i].profile, table[i].tags,
		    table[i].n_tags, NULL, 0};
		haven_policy_decision d;

		memset(&d, 0xa5, sizeof(d));
		haven_policy_evaluate(p, &q, &d);
		if (d.allow != table[i].allow ||
		    strcmp(d.rule, table[i].rule) != 0 ||
		    strcmp(d.reason, table[i].reason) != 0) {
			print_error("row %zu: %d %s '%s'\n", i, d.allow, d.rule,
			    d.reason);
		}
		assert_int_equal(d.allow, table[i].allow);
		assert_string_equal(d.rule, table[i].rule);
		assert_string_equal(d.reason, table[i].reason);
		assert_string_equal(d.recipient, "");
	}
}

static void
test_evaluate(void **state)
{
	struct fx *f = *state;

	assert_int_equal(haven_policy_version(f->pol), 7);
	assert_int_equal(haven_policy_skew_ms(f->pol), 120000);
	check_table(f->pol);
}

static void
test_defaults_and_empty(void **state)
{
	const char *src = "{\"version\":1,\"rules\":[]}";
	haven_policy *p = NULL;
	haven_policy_query q = {"POL", "EDU", HAVEN_MSG_OE_NOTIFICATION,
	    "DAA2021-S49A", "oe.setting", NULL, 0, NULL, 0};
	haven_policy_decision d;
	char err[256] = "";

	(void) state;
	assert_int_equal(haven_policy_from_json(&p, src, strlen(src), err,
	                     sizeof(err)),
	    HAVEN_OK);
	assert_int_equal(haven_policy_skew_ms(p), 300000);
	haven_policy_evaluate(p, &q, &d);
	assert_false(d.allow);
	assert_string_equal(d.rule, "default-deny");
	assert_string_equal(d.reason,
	    "no rule allows OE_NOTIFICATION from POL to EDU");
	haven_policy_destroy(&p);
}

/* -------------------------------------------------------- check_header */

static void
make_header(haven_header *h, const char *const *rcpt, size_t n)
{
	memset(h, 0, sizeof(*h));
	h->version = HAVEN_PROTOCOL_VERSION;
	(void) snprintf(h->sender, sizeof(h->sender), "police.cambs");
	h->type = HAVEN_MSG_OE_NOTIFICATION;
	(void) snprintf(h->legal_basis, sizeof(h->legal_basis),
	    "DAA2021-S49A");
	(void) snprintf(h->purpose, sizeof(h->purpose), "operation-encompass");
	h->n_recipients = n;
	h->n_views = 1;
	(void) snprintf(h->views[0].profile, sizeof(h->views[0].profile),
	    "oe.setting");
	h->views[0].n_recipients = n;
	for (size_t i = 0; i < n; i++) {
		(void) snprintf(h->recipients[i], sizeof(h->recipients[i]), "%s",
		    rcpt[i]);
		h->views[0].recipients[i] = (uint8_t) i;
	}
}

static void
expect_header(const struct fx *f, const haven_header *h, haven_err want,
    const char *rule, const char *recipient, const char *reason)
{
	haven_policy_decision d;

	memset(&d, 0xa5, sizeof(d));
	assert_int_equal(haven_policy_check_header(f->pol, f->dir, h, &d),
	    want);
	assert_int_equal(d.allow, want == HAVEN_OK);
	assert_string_equal(d.rule, rule);
	assert_string_equal(d.recipient, recipient);
	if (reason != NULL) {
		assert_string_equal(d.reason, reason);
	}
}

static void
test_check_header(void **state)
{
	struct fx *f = *state;
	const char *const three[] = {"school.a", "school.b", "school.c"};
	const char *const one_bad[] = {"school.a", "la.cambs", "school.c"};
	const char *const unknown[] = {"school.a", "school.zzz", "school.c"};
	const char *const revoked[] = {"school.a", "school.b", "school.gone"};
	haven_header h;

	make_header(&h, three, 3);
	expect_header(f, &h, HAVEN_OK, "R3", "", "s.49A notification");

	/* one refused recipient among three refuses the message */
	make_header(&h, one_bad, 3);
	expect_header(f, &h, HAVEN_EPOLICY, "default-deny", "la.cambs",
	    "no rule allows OE_NOTIFICATION from POL to LA");
	make_header(&h, unknown, 3);
	expect_header(f, &h, HAVEN_EPOLICY, "directory", "school.zzz",
	    "recipient is not in the directory");
	make_header(&h, revoked, 3);
	expect_header(f, &h, HAVEN_EPOLICY, "directory", "school.gone",
	    "recipient is revoked");

	/* a rule on tags applies to every recipient */
	make_header(&h, three, 3);
	h.n_tags = 2;
	h.tags[0] = T_WITHDRAWN[0];
	h.tags[1] = T_WITHDRAWN[1];
	expect_header(f, &h, HAVEN_EPOLICY, "R2", "school.a", NULL);

	/* R18 */
	make_header(&h, three, 3);
	h.legal_basis[0] = '\0';
	expect_header(f, &h, HAVEN_EPOLICY, "R18", "", NULL);
	make_header(&h, three, 3);
	h.purpose[0] = '\0';
	expect_header(f, &h, HAVEN_EPOLICY, "R18", "", NULL);

	/* the sender must be an active agency */
	make_header(&h, three, 3);
	(void) snprintf(h.sender, sizeof(h.sender), "school.gone");
	expect_header(f, &h, HAVEN_EPOLICY, "directory", "", NULL);
	(void) snprintf(h.sender, sizeof(h.sender), "nobody");
	expect_header(f, &h, HAVEN_EPOLICY, "directory", "", NULL);
}

static void
test_check_header_views(void **state)
{
	struct fx *f = *state;
	const char *const mixed[] = {"school.a", "la.cambs", "school.b"};
	haven_header h;

	/* two views: schools get oe.setting, the LA gets oe.ehe (R6 does
	 * not cover OE_NOTIFICATION, so it is refused by default) */
	make_header(&h, mixed, 3);
	h.n_views = 2;
	h.views[0].n_recipients = 2;
	h.views[0].recipients[0] = 0;
	h.views[0].recipients[1] = 2;
	(void) snprintf(h.views[1].profile, sizeof(h.views[1].profile),
	    "oe.ehe");
	h.views[1].n_recipients = 1;
	h.views[1].recipients[0] = 1;
	expect_header(f, &h, HAVEN_EPOLICY, "default-deny", "la.cambs", NULL);

	/* a header recipient in no view is refused, not skipped */
	h.n_views = 1;
	expect_header(f, &h, HAVEN_EPOLICY, "header", "la.cambs",
	    "recipient is in no view");
	h.views[0].recipients[1] = 7; /* outside the header */
	expect_header(f, &h, HAVEN_EPOLICY, "header", "", NULL);
	h.n_views = 0;
	expect_header(f, &h, HAVEN_EPOLICY, "header", "", NULL);
	h.n_views = 1;
	h.views[0].n_recipients = 0;
	expect_header(f, &h, HAVEN_EPOLICY, "header", "", NULL);
	make_header(&h, mixed, 3);
	h.views[0].n_recipients = HAVEN_MAX_RECIPIENTS + 1;
	expect_header(f, &h, HAVEN_EPOLICY, "header", "", NULL);
	make_header(&h, mixed, 3);
	h.n_tags = HAVEN_MAX_TAGS + 1;
	expect_header(f, &h, HAVEN_EPOLICY, "header", "", NULL);
}

/* ------------------------------------------------- JSON refusal table */

#define RULE0 "{\"version\":1,\"rules\":[{\"id\":\"R1\",\"effect\":\"allow\""
#define END "}]}"

static const struct {
	const char *src;
	haven_err rv;
	const char *msg;
} refusals[] = {
	{"{\"version\":1,\"rules\":[],\"x\":1}", HAVEN_EINVAL,
	    "x: unknown field"},
	{"{\"rules\":[]}", HAVEN_EINVAL, "version: missing"},
	{"{\"version\":0,\"rules\":[]}", HAVEN_EINVAL,
	    "version: must be at least 1"},
	{"{\"version\":1}", HAVEN_EINVAL, "rules: missing"},
	{"{\"version\":1,\"rules\":{}}", HAVEN_EINVAL,
	    "rules: must be an array"},
	{"{\"version\":1,\"skew_seconds\":0,\"rules\":[]}", HAVEN_EINVAL,
	    "skew_seconds: out of range [1, 86400]"},
	{"{\"version\":1,\"skew_seconds\":86401,\"rules\":[]}", HAVEN_EINVAL,
	    "skew_seconds: out of range [1, 86400]"},
	{"{\"version\":1,\"issued_ms\":-1,\"rules\":[]}", HAVEN_EINVAL,
	    "issued_ms: out of range [0, 9223372036854775807]"},
	{"{\"version\":1,\"rules\":[7]}", HAVEN_EINVAL,
	    "rules[0]: must be an object"},
	{RULE0 ",\"when\":1" END, HAVEN_EINVAL, "rules[0].when: unknown field"},
	{"{\"version\":1,\"rules\":[{\"effect\":\"allow\"}]}", HAVEN_EINVAL,
	    "rules[0].id: missing"},
	{"{\"version\":1,\"rules\":[{\"id\":\"\",\"effect\":\"allow\"}]}",
	    HAVEN_EINVAL, "rules[0].id: must be 1..31 printable characters"},
	{"{\"version\":1,\"rules\":[{\"id\":\"R 1\",\"effect\":\"allow\"}]}",
	    HAVEN_EINVAL, "rules[0].id: must be 1..31 printable characters"},
	{"{\"version\":1,\"rules\":[{\"id\":"
	 "\"R123456789012345678901234567890123\",\"effect\":\"allow\"}]}",
	    HAVEN_EINVAL, "rules[0].id: longer than 31 bytes"},
	{"{\"version\":1,\"rules\":[{\"id\":\"default-deny\","
	 "\"effect\":\"deny\"}]}",
	    HAVEN_EINVAL, "rules[0].id: reserved rule id"},
	{"{\"version\":1,\"rules\":[{\"id\":\"header\","
	 "\"effect\":\"allow\"}]}",
	    HAVEN_EINVAL, "rules[0].id: reserved rule id"},
	{"{\"version\":1,\"rules\":[{\"id\":\"R1\",\"effect\":\"deny\"},"
	 "{\"id\":\"R2\",\"effect\":\"deny\"},{\"id\":\"R1\","
	 "\"effect\":\"deny\"}]}",
	    HAVEN_EINVAL, "rules[2].id: duplicate of rules[0]"},
	{"{\"version\":1,\"rules\":[{\"id\":\"R1\"}]}", HAVEN_EINVAL,
	    "rules[0].effect: missing"},
	{"{\"version\":1,\"rules\":[{\"id\":\"R1\",\"effect\":\"maybe\"}]}",
	    HAVEN_EINVAL, "rules[0].effect: must be \"allow\" or \"deny\""},
	{"{\"version\":1,\"rules\":[{\"id\":\"R1\",\"effect\":true}]}",
	    HAVEN_EINVAL, "rules[0].effect: must be \"allow\" or \"deny\""},
	{RULE0 ",\"sender_roles\":\"POL\"" END, HAVEN_EINVAL,
	    "rules[0].sender_roles: must be an array"},
	{RULE0 ",\"sender_roles\":[]" END, HAVEN_EINVAL,
	    "rules[0].sender_roles: must not be empty (leave it out to match "
	    "anything)"},
	{RULE0 ",\"sender_roles\":[1]" END, HAVEN_EINVAL,
	    "rules[0].sender_roles: entries must be strings"},
	{RULE0 ",\"sender_roles\":[\"POL\",\"!EDU\"]" END, HAVEN_EINVAL,
	    "rules[0].sender_roles: mix of negated and plain entries"},
	{RULE0 ",\"recipient_roles\":[\"!POL\",\"EDU\"]" END, HAVEN_EINVAL,
	    "rules[0].recipient_roles: mix of negated and plain entries"},
	{RULE0 ",\"recipient_roles\":[\"SCHOOL\"]" END, HAVEN_EINVAL,
	    "rules[0].recipient_roles: unknown role 'SCHOOL'"},
	{RULE0 ",\"recipient_roles\":[\"!\"]" END, HAVEN_EINVAL,
	    "rules[0].recipient_roles: unknown role ''"},
	{RULE0 ",\"types\":[\"OE_NOTIFICATIONS\"]" END, HAVEN_EINVAL,
	    "rules[0].types: unknown message type 'OE_NOTIFICATIONS'"},
	{RULE0 ",\"types\":[\"NONE\"]" END, HAVEN_EINVAL,
	    "rules[0].types: unknown message type 'NONE'"},
	{RULE0 ",\"legal_bases\":[\"UK GDPR\"]" END, HAVEN_EINVAL,
	    "rules[0].legal_bases: not a valid code"},
	{RULE0 ",\"profiles\":[\"!!oe\"]" END, HAVEN_EINVAL,
	    "rules[0].profiles: not a valid code"},
	{RULE0 ",\"profiles\":[\"\"]" END, HAVEN_EINVAL,
	    "rules[0].profiles: not a valid code"},
	{RULE0 ",\"profiles\":[\"p12345678901234567890123456789012345678901"
	       "23456789\"]" END,
	    HAVEN_EINVAL, "rules[0].profiles: entry too long"},
	{RULE0 ",\"legal_bases\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\","
	       "\"h\",\"i\",\"j\",\"k\",\"l\",\"m\",\"n\",\"o\",\"p\",\"q\"]" END,
	    HAVEN_EINVAL, "rules[0].legal_bases: more than 16 entries"},
	{RULE0 ",\"tags\":[]" END, HAVEN_EINVAL,
	    "rules[0].tags: must be an object"},
	{RULE0 ",\"tags\":{\"consent\":false}" END, HAVEN_EINVAL,
	    "rules[0].tags.consent: must be a string"},
	{RULE0 ",\"tags\":{\"con sent\":\"no\"}" END, HAVEN_EINVAL,
	    "rules[0].tags: tag name is not a valid code"},
	{RULE0 ",\"tags\":{\"area\":\"0123456789012345678901234567890123456789"
	       "012345678901234567890123\"}" END,
	    HAVEN_EINVAL, "rules[0].tags.area: value too long or not text"},
	{RULE0 ",\"tags\":{\"area\":\"a\\tb\"}" END, HAVEN_EINVAL,
	    "rules[0].tags.area: value too long or not text"},
	{RULE0 ",\"tags\":{\"a\":\"1\",\"b\":\"1\",\"c\":\"1\",\"d\":\"1\","
	       "\"e\":\"1\",\"f\":\"1\",\"g\":\"1\",\"h\":\"1\",\"i\":\"1\","
	       "\"j\":\"1\",\"k\":\"1\",\"l\":\"1\",\"m\":\"1\",\"n\":\"1\","
	       "\"o\":\"1\",\"p\":\"1\",\"q\":\"1\"}" END,
	    HAVEN_EINVAL, "rules[0].tags: more than 16 tags"},
	{RULE0 ",\"reason\":7" END, HAVEN_EINVAL,
	    "rules[0].reason: must be a string"},
	{RULE0 ",\"reason\":\"line\\nbreak\"" END, HAVEN_EINVAL,
	    "rules[0].reason: control characters or invalid UTF-8"},
	{"{\"version\":1,\"rules\":[", HAVEN_EINVAL, NULL},
	{"[]", HAVEN_EINVAL, "JSON input must be an object"},
};

static void
test_json_refusals(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		haven_policy *p = NULL;
		char err[256] = "";
		haven_err rv;

		rv = haven_policy_from_json(&p, refusals[i].src,
		    strlen(refusals[i].src), err, sizeof(err));
		if (rv != refusals[i].rv || (refusals[i].msg != NULL &&
		                                strcmp(err, refusals[i].msg) != 0)) {
			print_error("case %zu: %d '%s'\n", i, rv, err);
		}
		assert_int_equal(rv, refusals[i].rv);
		if (refusals[i].msg != NULL) {
			assert_string_equal(err, refusals[i].msg);
		}
		assert_null(p);
	}
}

static void
test_json_limits(void **state)
{
	haven_policy *p = NULL;
	char err[256] = "";
	char reason[200];
	json_t *root;
	char *text;

	(void) state;
	root = json_pack("{s:i, s:[]}", "version", 1, "rules");
	for (int i = 0; i <= HAVEN_MAX_RULES; i++) {
		char id[16];
		(void) snprintf(id, sizeof(id), "R%d", i);
		json_array_append_new(json_object_get(root, "rules"),
		    json_pack("{s:s, s:s}", "id", id, "effect", "deny"));
	}
	text = json_dumps(root, JSON_COMPACT);
	assert_int_equal(haven_policy_from_json(&p, text, strlen(text), err,
	                     sizeof(err)),
	    HAVEN_EINVAL);
	assert_string_equal(err, "rules: more than 512 rules");
	free(text);
	/* exactly the limit loads */
	json_array_remove(json_object_get(root, "rules"), 0);
	text = json_dumps(root, JSON_COMPACT);
	assert_int_equal(haven_policy_from_json(&p, text, strlen(text), err,
	                     sizeof(err)),
	    HAVEN_OK);
	haven_policy_destroy(&p);
	free(text);
	json_decref(root);

	memset(reason, 'x', sizeof(reason));
	reason[HAVEN_REASON_MAX] = '\0';
	root = json_pack("{s:i, s:[{s:s, s:s, s:s}]}", "version", 1, "rules",
	    "id", "R1", "effect", "deny", "reason", reason);
	text = json_dumps(root, JSON_COMPACT);
	assert_int_equal(haven_policy_from_json(&p, text, strlen(text), err,
	                     sizeof(err)),
	    HAVEN_EINVAL);
	assert_string_equal(err, "rules[0].reason: longer than 159 bytes");
	free(text);
	json_decref(root);
	assert_int_equal(haven_policy_from_json(&p, "{}", HAVEN_JSON_MAX + 1,
	                     err, sizeof(err)),
	    HAVEN_EMSGSIZE);
	assert_null(p);
}

/* ------------------------------------------------------- signed form */

static void
expect_signed(const struct fx *f, const uint8_t *buf, size_t len,
    haven_err want, const char *msg)
{
	haven_policy *p = NULL;
	char err[256] = "";

	assert_int_equal(haven_policy_decode_signed(&p, buf, len,
	                     f->admin_pk.sign_pk, err, sizeof(err)),
	    want);
	if (msg != NULL) {
		assert_string_equal(err, msg);
	}
	if (want == HAVEN_OK) {
		assert_non_null(p);
		haven_policy_destroy(&p);
	}
	assert_null(p);
}

static void
test_signed_round_trip(void **state)
{
	struct fx *f = *state;
	haven_policy *p = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256] = "";
	char dir[] = "/tmp/haven-pol-XXXXXX";
	char path[64];

	assert_int_equal(haven_policy_sign(f->pol, f->admin, &buf, &len),
	    HAVEN_OK);
	assert_int_equal(haven_policy_decode_signed(&p, buf, len,
	                     f->admin_pk.sign_pk, err, sizeof(err)),
	    HAVEN_OK);
	assert_int_equal(haven_policy_version(p), 7);
	assert_int_equal(haven_policy_skew_ms(p), 120000);
	check_table(p);
	haven_policy_destroy(&p);

	assert_non_null(mkdtemp(dir));
	(void) snprintf(path, sizeof(path), "%s/policy.signed", dir);
	assert_int_equal(haven__write_file(path, buf, len, 0644, true),
	    HAVEN_OK);
	assert_int_equal(haven_policy_load(&p, path, f->admin_pk.sign_pk, err,
	                     sizeof(err)),
	    HAVEN_OK);
	check_table(p);
	haven_policy_destroy(&p);
	(void) unlink(path);
	assert_int_not_equal(haven_policy_load(&p, path, f->admin_pk.sign_pk,
	                         err, sizeof(err)),
	    HAVEN_OK);
	assert_null(p);
	assert_int_equal(rmdir(dir), 0);
	free(buf);
}

static void
test_signed_refusals(void **state)
{
	struct fx *f = *state;
	Haven__SignedDoc *doc;
	uint8_t *buf = NULL, *copy = NULL, *dbuf = NULL;
	size_t len = 0, clen = 0, dlen = 0;
	haven_policy *p = NULL;
	haven_err rv;

	assert_int_equal(haven_policy_sign(f->pol, f->admin, &buf, &len),
	    HAVEN_OK);
	doc = tu_unpack_doc(buf, len);
	doc->body.data[3] ^= 0x20;
	tu_repack_doc(doc, &copy, &clen);
	expect_signed(f, copy, clen, HAVEN_ESIG, "signature does not verify");
	doc->body.data[3] ^= 0x20;
	doc->signature.data[63] ^= 0x01;
	tu_repack_doc(doc, &copy, &clen);
	expect_signed(f, copy, clen, HAVEN_ESIG, "signature does not verify");
	doc->signature.data[63] ^= 0x01;
	/* unsigned: the raw Policy body */
	rv = haven_policy_decode_signed(&p, doc->body.data, doc->body.len,
	    f->admin_pk.sign_pk, NULL, 0);
	assert_true(rv == HAVEN_EDECODE || rv == HAVEN_ESIG);
	assert_null(p);
	haven__signed_doc__free_unpacked(doc, NULL);
	expect_signed(f, buf, len - 1, HAVEN_EDECODE, NULL);
	expect_signed(f, buf, len, HAVEN_OK, NULL);
	free(buf);
	buf = NULL;

	/* another key */
	assert_int_equal(haven_policy_sign(f->pol, f->other, &buf, &len),
	    HAVEN_OK);
	expect_signed(f, buf, len, HAVEN_ESIG,
	    "not signed by the partnership admin key");

	/* a signed directory is not a policy */
	assert_int_equal(haven_directory_sign(f->dir, f->admin, &dbuf, &dlen),
	    HAVEN_OK);
	expect_signed(f, dbuf, dlen, HAVEN_ESIG,
	    "signed document is not a policy");
	free(dbuf);
	free(copy);
	free(buf);
}

/* Admin-signed bodies that break a rule: the shared validation refuses. */
static void
expect_body(const struct fx *f, const Haven__Policy *pp, haven_err want,
    const char *msg)
{
	size_t blen = haven__policy__get_packed_size(pp);
	uint8_t *body = malloc(blen + 1);
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_non_null(body);
	(void) haven__policy__pack(pp, body);
	assert_int_equal(haven__doc_sign("policy", body, blen, f->admin, &buf,
	                     &len),
	    HAVEN_OK);
	expect_signed(f, buf, len, want, msg);
	free(buf);
	free(body);
}

static void
test_signed_invalid_content(void **state)
{
	struct fx *f = *state;
	Haven__Policy pp = HAVEN__POLICY__INIT;
	Haven__PolicyRule r0 = HAVEN__POLICY_RULE__INIT;
	Haven__PolicyRule r1 = HAVEN__POLICY_RULE__INIT;
	Haven__PolicyRule *rules[2] = {&r0, &r1};
	char *roles[2] = {"POL", "!EDU"};
	char *types[1] = {"OE_NOTIFICATIONX"};
	Haven__Tag t0 = HAVEN__TAG__INIT, t1 = HAVEN__TAG__INIT;
	Haven__Tag *tags[2] = {&t0, &t1};

	pp.version = 2;
	pp.skew_ms = 60000;
	pp.n_rules = 2;
	pp.rules = rules;
	r0.id = "A";
	r1.id = "B";
	expect_body(f, &pp, HAVEN_OK, NULL);

	pp.skew_ms = 1500;
	expect_body(f, &pp, HAVEN_EINVAL,
	    "skew_seconds: skew_ms is not whole seconds");
	pp.skew_ms = 0;
	expect_body(f, &pp, HAVEN_EINVAL,
	    "skew_seconds: out of range [1, 86400]");
	pp.skew_ms = 60000;
	pp.version = 0;
	expect_body(f, &pp, HAVEN_EINVAL, "version: must be at least 1");
	pp.version = 2;

	r1.id = "A";
	expect_body(f, &pp, HAVEN_EINVAL, "rules[1].id: duplicate of rules[0]");
	r1.id = "";
	expect_body(f, &pp, HAVEN_EINVAL,
	    "rules[1].id: must be 1..31 printable characters");
	r1.id = "B";

	r1.sender_roles = roles;
	r1.n_sender_roles = 2;
	expect_body(f, &pp, HAVEN_EINVAL,
	    "rules[1].sender_roles: mix of negated and plain entries");
	r1.n_sender_roles = 0;
	r1.types = types;
	r1.n_types = 1;
	expect_body(f, &pp, HAVEN_EINVAL,
	    "rules[1].types: unknown message type 'OE_NOTIFICATIONX'");
	r1.n_types = 0;

	t0.key = "area";
	t0.value = "north";
	t1.key = "area";
	t1.value = "south";
	r0.tags = tags;
	r0.n_tags = 2;
	expect_body(f, &pp, HAVEN_EINVAL, "rules[0].tags.area: duplicate tag");
	r0.n_tags = 1;
	r0.reason = "bell\a";
	expect_body(f, &pp, HAVEN_EINVAL,
	    "rules[0].reason: control characters or invalid UTF-8");
	r0.reason = "fine";
	expect_body(f, &pp, HAVEN_OK, NULL);
	{
		const uint8_t junk[] = {0x0a, 0xff, 0xff};
		uint8_t *b2 = NULL;
		size_t l2 = 0;
		assert_int_equal(haven__doc_sign("policy", junk, sizeof(junk),
		                     f->admin, &b2, &l2),
		    HAVEN_OK);
		expect_signed(f, b2, l2, HAVEN_EDECODE,
		    "policy body does not decode");
		free(b2);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evaluate),
		cmocka_unit_test(test_defaults_and_empty),
		cmocka_unit_test(test_check_header),
		cmocka_unit_test(test_check_header_views),
		cmocka_unit_test(test_json_refusals),
		cmocka_unit_test(test_json_limits),
		cmocka_unit_test(test_signed_round_trip),
		cmocka_unit_test(test_signed_refusals),
		cmocka_unit_test(test_signed_invalid_content),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
