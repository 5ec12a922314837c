/*
 * tests/unit/test_policy.c: the policy reader, its signed form, the
 * evaluator and the all-or-nothing header check.
 *
 * Evaluation is driven by a table of queries against one policy whose
 * rules exercise first-match order, negated lists, tags and the default
 * deny. check_header runs against a directory built from JSON around real
 * keys (haven_keys_generate). Every refusal of the JSON reader is checked
 * with its exact message; signed refusals use real signatures.
 *
 * The shipped policy, deploy/policy.json, is loaded too and checked flow
 * by flow (Encompass and MARAC/panel, allow and deny with the rule id)
 * against a directory of the demo partnership's agencies, read from
 * deploy/demo/partnership.sh so that their roles and attrs (isp,
 * panel_north, panel_south) are the ones the demo and integration tests
 * use.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"
#include "policy_tu.h"

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

/* "k=v k=v" as a JSON object of strings. */
static json_t *
attrs_json(const char *attrs)
{
	json_t *o = json_object();
	char buf[256], *save = NULL;

	(void) snprintf(buf, sizeof(buf), "%s", attrs);
	for (char *kv = strtok_r(buf, " ", &save); kv != NULL;
	     kv = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(kv, '=');

		assert_non_null(eq);
		*eq = '\0';
		json_object_set_new(o, kv, json_string(eq + 1));
	}
	return (o);
}

/* A directory entry with fresh real keys. */
static json_t *
agency_json(const char *id, const char *role, bool revoked,
    const char *attrs)
{
	haven_keys *k = NULL;
	haven_pubkey pk;

	assert_int_equal(haven_keys_generate(&k, id, 1), HAVEN_OK);
	haven_keys_public(k, &pk);
	haven_keys_destroy(&k);
	return (json_pack("{s:s, s:s, s:s, s:b, s:[{s:i, s:o, s:o, s:o}], "
	    "s:o}", "id", id, "role", role, "name", "Agency", "revoked",
	    revoked, "keys", "generation", 1, "sign_pk", hexjson(pk.sign_pk),
	    "box_pk", hexjson(pk.box_pk), "curve_pk", hexjson(pk.curve_pk),
	    "attrs", attrs_json(attrs)));
}

/* A version 1 directory of the agencies in `list` (consumed). */
static haven_directory *
dir_from_list(json_t *list)
{
	json_t *root = json_pack("{s:i, s:o}", "version", 1, "agencies", list);
	haven_directory *d = NULL;
	char err[256] = "";
	char *text = json_dumps(root, JSON_COMPACT);

	json_decref(root);
	assert_non_null(text);
	assert_int_equal(haven_directory_from_json(&d, text, strlen(text), err,
	                     sizeof(err)),
	    HAVEN_OK);
	free(text);
	return (d);
}

static haven_directory *
make_directory(void)
{
	json_t *list = json_array();

	for (size_t i = 0; i < N_AG; i++) {
		json_array_append_new(list, agency_json(agencies[i].id,
		    agencies[i].role, agencies[i].revoked, ""));
	}
	return (dir_from_list(list));
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
	{RULE0 ",\"recipient_attrs\":[]" END, HAVEN_EINVAL,
	    "rules[0].recipient_attrs: must be an object"},
	{RULE0 ",\"recipient_attrs\":{\"isp\":true}" END, HAVEN_EINVAL,
	    "rules[0].recipient_attrs.isp: must be a string"},
	{RULE0 ",\"recipient_attrs\":{\"i sp\":\"signed\"}" END,
	    HAVEN_EINVAL,
	    "rules[0].recipient_attrs: attr name is not a valid code"},
	{RULE0 ",\"recipient_attrs\":{\"!isp\":\"signed\"}" END,
	    HAVEN_EINVAL,
	    "rules[0].recipient_attrs: attr name is not a valid code"},
	{RULE0 ",\"recipient_attrs\":{\"isp\":\"\"}" END, HAVEN_EINVAL,
	    "rules[0].recipient_attrs.isp: value empty, too long or not text"},
	{RULE0 ",\"recipient_attrs\":{\"isp\":\"!\"}" END, HAVEN_EINVAL,
	    "rules[0].recipient_attrs.isp: value empty, too long or not text"},
	{RULE0 ",\"recipient_attrs\":{\"isp\":\"a\\u0007\"}" END,
	    HAVEN_EINVAL,
	    "rules[0].recipient_attrs.isp: value empty, too long or not text"},
	{RULE0 ",\"recipient_attrs\":{\"isp\":\"!123456789012345678901234567890"
	       "123456789012345678901234567890123\"}" END,
	    HAVEN_EINVAL,
	    "rules[0].recipient_attrs.isp: value empty, too long or not text"},
	{RULE0 ",\"recipient_attrs\":{\"a\":\"1\",\"b\":\"1\",\"c\":\"1\","
	       "\"d\":\"1\",\"e\":\"1\",\"f\":\"1\",\"g\":\"1\",\"h\":\"1\","
	       "\"i\":\"1\",\"j\":\"1\",\"k\":\"1\",\"l\":\"1\",\"m\":\"1\","
	       "\"n\":\"1\",\"o\":\"1\",\"p\":\"1\",\"q\":\"1\"}" END,
	    HAVEN_EINVAL, "rules[0].recipient_attrs: more than 16 attrs"},
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
		pu_json_refused(i, refusals[i].src, refusals[i].rv,
		    refusals[i].msg);
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
	pu_expect_signed(buf, len, f->admin_pk.sign_pk, want, msg);
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
	pu_expect_body(pp, f->admin, f->admin_pk.sign_pk, want, msg);
}

/* A body of `n` rules with ids "A", "B", ... and skew 60 s. */
static void
body_init(Haven__Policy *pp, Haven__PolicyRule **rules, size_t n,
    uint64_t version)
{
	static char *const ids[] = { "A", "B", "C" };

	assert_true(n <= 3);
	pp->version = version;
	pp->skew_ms = 60000;
	pp->n_rules = n;
	pp->rules = rules;
	for (size_t i = 0; i < n; i++) {
		rules[i]->id = ids[i];
	}
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

	body_init(&pp, rules, 2, 2);
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

/* --------------------------------------------------- recipient_attrs */

static const char *const ATTR_POLICY =
    "{\"version\":1,\"rules\":["
    " {\"id\":\"isp\",\"effect\":\"deny\",\"types\":[\"MARAC_CASE_LIST\"],"
    "  \"recipient_attrs\":{\"isp\":\"!signed\"}},"
    " {\"id\":\"ok\",\"effect\":\"allow\",\"types\":[\"MARAC_CASE_LIST\"],"
    "  \"recipient_attrs\":{\"isp\":\"signed\",\"panel\":\"!south\"}}"
    "]}";

static const haven_tag A_NONE[1] = {{"", ""}};
static const haven_tag A_SIGNED[2] = {{"deputy", "x"}, {"isp", "signed"}};
static const haven_tag A_SOUTH[2] = {{"panel", "south"}, {"isp", "signed"}};
static const haven_tag A_NORTH[2] = {{"isp", "signed"}, {"panel", "north"}};
static const haven_tag A_PENDING[1] = {{"isp", "pending"}};
static const haven_tag A_SPACE[1] = {{"isp", "signed "}};
static const haven_tag A_EMPTY[1] = {{"isp", ""}};

static const struct {
	const haven_tag *attrs;
	size_t n;
	const char *rule;
} attr_table[] = {
	{A_NONE, 0, "isp"},       /* absent: "!signed" matches */
	{NULL, 3, "isp"},         /* no array: treated as absent */
	{A_SIGNED, 2, "ok"},
	{A_SIGNED, 1, "isp"},     /* only the first attr is looked at */
	{A_SOUTH, 2, "default-deny"},
	{A_NORTH, 2, "ok"},
	{A_NORTH, 1, "ok"},       /* panel absent: "!south" matches */
	{A_PENDING, 1, "isp"},
	{A_SPACE, 1, "isp"},
	{A_EMPTY, 1, "isp"},
};

static void
check_attr_table(const haven_policy *p)
{
	for (size_t i = 0; i < sizeof(attr_table) / sizeof(attr_table[0]);
	     i++) {
		haven_policy_query q = {"MCO", "HSG", HAVEN_MSG_MARAC_CASE_LIST,
		    "b", "marac.caselist", NULL, 0, attr_table[i].attrs,
		    attr_table[i].n};
		haven_policy_decision d;

		haven_policy_evaluate(p, &q, &d);
		if (strcmp(d.rule, attr_table[i].rule) != 0) {
			print_error("row %zu: %s\n", i, d.rule);
		}
		assert_string_equal(d.rule, attr_table[i].rule);
		assert_int_equal(d.allow, strcmp(d.rule, "ok") == 0);
	}
}

static void
test_recipient_attrs(void **state)
{
	struct fx *f = *state;
	haven_policy *p = NULL, *q;
	char err[256] = "";

	assert_int_equal(haven_policy_from_json(&p, ATTR_POLICY,
	                     strlen(ATTR_POLICY), err, sizeof(err)),
	    HAVEN_OK);
	check_attr_table(p);
	q = pu_resign(p, f->admin, f->admin_pk.sign_pk);
	check_attr_table(q);
	haven_policy_destroy(&q);
	haven_policy_destroy(&p);
}

static void
test_signed_invalid_attrs(void **state)
{
	struct fx *f = *state;
	Haven__Policy pp = HAVEN__POLICY__INIT;
	Haven__PolicyRule r0 = HAVEN__POLICY_RULE__INIT;
	Haven__PolicyRule *rules[1] = {&r0};
	Haven__Tag t[HAVEN_MAX_TAGS + 1];
	Haven__Tag *tp[HAVEN_MAX_TAGS + 1];
	char keys[HAVEN_MAX_TAGS + 1][4];

	for (size_t i = 0; i <= HAVEN_MAX_TAGS; i++) {
		haven__tag__init(&t[i]);
		(void) snprintf(keys[i], sizeof(keys[i]), "k%zu", i);
		t[i].key = keys[i];
		t[i].value = "!v";
		tp[i] = &t[i];
	}
	body_init(&pp, rules, 1, 1);
	r0.recipient_attrs = tp;
	r0.n_recipient_attrs = HAVEN_MAX_TAGS;
	expect_body(f, &pp, HAVEN_OK, NULL);
	r0.n_recipient_attrs = HAVEN_MAX_TAGS + 1;
	expect_body(f, &pp, HAVEN_EINVAL,
	    "rules[0].recipient_attrs: more than 16 attrs");
	r0.n_recipient_attrs = 2;
	t[1].value = "!";
	expect_body(f, &pp, HAVEN_EINVAL,
	    "rules[0].recipient_attrs.k1: value empty, too long or not text");
	t[1].value = "";
	expect_body(f, &pp, HAVEN_EINVAL,
	    "rules[0].recipient_attrs.k1: value empty, too long or not text");
	t[1].value = "v";
	t[1].key = "k0";
	expect_body(f, &pp, HAVEN_EINVAL,
	    "rules[0].recipient_attrs.k0: duplicate attr");
	t[1].key = "";
	expect_body(f, &pp, HAVEN_EINVAL,
	    "rules[0].recipient_attrs: attr name is not a valid code");
}

/* ------------------------------------------- deploy/policy.json itself */

#define DEMO_MAX 40

typedef struct demo_agency {
	char id[HAVEN_ID_MAX];
	char role[HAVEN_ROLE_MAX];
	char attrs[256];
} demo_agency;

/* The AGENCIES='...' block of deploy/demo/partnership.sh: one
 * "id|role|name|k=v k=v" per line. */
static size_t
demo_agencies(demo_agency *out, size_t max)
{
	uint8_t *text = NULL;
	size_t len = 0, n = 0;
	char *line, *save = NULL, *end;

	assert_int_equal(haven__read_file(HAVEN_SOURCE_DIR
	                     "/deploy/demo/partnership.sh", 65536, &text, &len),
	    HAVEN_OK);
	line = strstr((char *) text, "\nAGENCIES='");
	assert_non_null(line);
	line += strlen("\nAGENCIES='");
	end = strchr(line, '\'');
	assert_non_null(end);
	*end = '\0';
	for (line = strtok_r(line, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[4] = {NULL, NULL, NULL, NULL};
		char *fs = NULL;

		assert_true(n < max);
		f[0] = strtok_r(line, "|", &fs);
		f[1] = strtok_r(NULL, "|", &fs);
		f[2] = strtok_r(NULL, "|", &fs);
		f[3] = strtok_r(NULL, "|", &fs);
		assert_non_null(f[2]);
		(void) snprintf(out[n].id, sizeof(out[n].id), "%s", f[0]);
		(void) snprintf(out[n].role, sizeof(out[n].role), "%s", f[1]);
		(void) snprintf(out[n].attrs, sizeof(out[n].attrs), "%s",
		    f[3] != NULL ? f[3] : "");
		n++;
	}
	free(text);
	return (n);
}

/* The demo partnership's agencies, and the broker. */
static haven_directory *
demo_directory(void)
{
	demo_agency ag[DEMO_MAX];
	size_t n = demo_agencies(ag, DEMO_MAX);
	json_t *list = json_array();

	assert_true(n >= 19);
	json_array_append_new(list, agency_json("broker", "BRK", false, ""));
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(list,
		    agency_json(ag[i].id, ag[i].role, false, ag[i].attrs));
	}
	return (dir_from_list(list));
}

#define OEB "DAA2021-S49A"
#define MB "UKGDPR-6-1-e+DPA2018-S1P18"
#define CDA "CDA1998-S115"
#define SPOC "police.cambs.spoc"
#define SCHOOL "school.urn.110123"
#define MCO "marac.cambs"
#define IDVA "idva.cambs"
#define GP "gp.riverside"
#define HSG "housing.cambs"
#define HSG_S "housing.peterborough"
#define PRB "probation.cambs"

typedef struct flow {
	const char *from, *to;
	uint32_t type;
	const char *basis, *profile;
	const char *tag, *tagval; /* one tag, or NULL */
	const char *rule;         /* deciding rule; allow iff an allow rule */
	bool allow;
} flow;

static const flow flows[] = {
	/* Encompass, as before */
	{"police.cambs", SCHOOL, HAVEN_MSG_OE_NOTIFICATION, OEB, "oe.setting",
	    NULL, NULL, "R3", true},
	{SCHOOL, SCHOOL, HAVEN_MSG_OE_NOTIFICATION, OEB, "oe.setting", NULL,
	    NULL, "R1", false},
	{"police.cambs", HSG, HAVEN_MSG_OE_NOTIFICATION, OEB, "oe.setting",
	    NULL, NULL, "R8-oe-setting-only", false},
	{"police.cambs", SCHOOL, HAVEN_MSG_OE_NOTIFICATION, MB, "oe.setting",
	    NULL, NULL, "R18-legal-basis", false},
	{"police.cambs", SCHOOL, HAVEN_MSG_OE_NOTIFICATION, OEB, "oe.ehe",
	    NULL, NULL, "R8-oe-setting-view", false},
	{"police.cambs", "la.cambs.ehe", HAVEN_MSG_OE_EHE_NOTIFICATION, OEB,
	    "oe.ehe", NULL, NULL, "R4", true},
	{SCHOOL, "police.cambs", HAVEN_MSG_OE_RECEIPT, OEB, "oe.receipt",
	    NULL, NULL, "R7", true},
	/* holiday duty (issue 3) */
	{"police.cambs", "la.cambs.eds", HAVEN_MSG_OE_NOTIFICATION, OEB,
	    "oe.setting", "holiday", "yes", "R3-holiday-duty", true},
	{"police.cambs", "la.cambs.eds", HAVEN_MSG_OE_NOTIFICATION, OEB,
	    "oe.setting", NULL, NULL, "R8-oe-setting-only", false},
	{"police.cambs", HSG, HAVEN_MSG_OE_NOTIFICATION, OEB, "oe.setting",
	    "holiday", "yes", "R8-oe-setting-only", false},
	{"police.cambs", SCHOOL, HAVEN_MSG_OE_NOTIFICATION, OEB, "oe.setting",
	    "holiday", "yes", "R3", true},
	/* broker escalations (M4) */
	{"broker", SPOC, HAVEN_MSG_OE_ESCALATION, OEB, "oe.escalation",
	    "escalation", "deadline-missed", "R5-broker", true},
	{"broker", "school.urn.110123.deputy", HAVEN_MSG_OE_ESCALATION, OEB,
	    "oe.escalation", "escalation", "deadline-missed", "R5-broker",
	    true},
	{"broker", "la.cambs.eds", HAVEN_MSG_OE_ESCALATION, OEB,
	    "oe.escalation", "escalation", "school-offline", "R5-broker", true},
	{"broker", SPOC, HAVEN_MSG_OE_ESCALATION, OEB, "oe.escalation",
	    "escalation", "read-after-escalation", "R5-broker", true},
	{"broker", HSG, HAVEN_MSG_OE_ESCALATION, OEB, "oe.escalation",
	    "escalation", "deadline-missed", "R5-to-police-spoc", false},
	{"broker", SPOC, HAVEN_MSG_OE_ESCALATION, OEB, "oe.setting", NULL,
	    NULL, "R5-view", false},
	{"broker", SPOC, HAVEN_MSG_OE_ESCALATION, MB, "oe.escalation", NULL,
	    NULL, "R18-legal-basis", false},
	/* forged escalations */
	{"police.cambs", SPOC, HAVEN_MSG_OE_ESCALATION, OEB, "oe.escalation",
	    "escalation", "deadline-missed", "R5-broker-only-deadline", false},
	{"police.cambs", SPOC, HAVEN_MSG_OE_ESCALATION, OEB, "oe.escalation",
	    "escalation", "school-offline", "R5-broker-only-offline", false},
	{SCHOOL, SPOC, HAVEN_MSG_OE_ESCALATION, OEB, "oe.escalation",
	    "escalation", "read-after-escalation", "R5-broker-only-closed",
	    false},
	{SCHOOL, SPOC, HAVEN_MSG_OE_ESCALATION, OEB, "oe.escalation", NULL,
	    NULL, "R5-sent-by-police", false},
	/* the police agent's own R5 escalation still passes */
	{"police.cambs", SPOC, HAVEN_MSG_OE_ESCALATION, OEB, "oe.escalation",
	    "escalation", "school-unknown", "R5", true},
	{"police.cambs", SCHOOL, HAVEN_MSG_OE_ESCALATION, OEB,
	    "oe.escalation", NULL, NULL, "R5-to-police-spoc", false},

	/* M5/M6 referral */
	{GP, IDVA, HAVEN_MSG_MARAC_REFERRAL, MB, "marac.referral", NULL, NULL,
	    "M5-referral", true},
	{HSG, MCO, HAVEN_MSG_MARAC_REFERRAL, CDA, "marac.referral", NULL, NULL,
	    "M5-referral", true},
	{GP, MCO, HAVEN_MSG_MARAC_REFERRAL, MB, "marac.m6", NULL, NULL,
	    "M6-record", true},
	{GP, MCO, HAVEN_MSG_INFO_SHARED_WITHOUT_CONSENT, MB, "marac.m6", NULL,
	    NULL, "M6-record", true},
	{GP, IDVA, HAVEN_MSG_MARAC_REFERRAL, MB, "marac.m6", NULL, NULL,
	    "R13-m6-view-mco-only", false},
	{GP, IDVA, HAVEN_MSG_INFO_SHARED_WITHOUT_CONSENT, MB, "marac.m6", NULL,
	    NULL, "R13-m6-mco-only", false},
	{GP, SCHOOL, HAVEN_MSG_MARAC_REFERRAL, MB, "marac.referral", NULL,
	    NULL, "R8-edu-marac", false},
	{GP, HSG, HAVEN_MSG_MARAC_REFERRAL, MB, "marac.referral", NULL, NULL,
	    "R13-referral-recipients", false},
	{GP, MCO, HAVEN_MSG_MARAC_REFERRAL, MB, "marac.plan", NULL, NULL,
	    "R13-referral-view", false},
	{GP, MCO, HAVEN_MSG_MARAC_REFERRAL, OEB, "marac.referral", NULL, NULL,
	    "R18-marac-legal-basis", false},
	{GP, MCO, HAVEN_MSG_MARAC_REFERRAL, "UKGDPR-6-1-e", "marac.referral",
	    NULL, NULL, "R18-marac-legal-basis", false},
	{"broker", MCO, HAVEN_MSG_MARAC_REFERRAL, MB, "marac.referral", NULL,
	    NULL, "default-deny", false},
	/* M7 case list: the isp attr decides (R14) */
	{MCO, HSG, HAVEN_MSG_MARAC_CASE_LIST, MB, "marac.caselist", NULL, NULL,
	    "M7-case-list", true},
	{MCO, "police.cambs", HAVEN_MSG_MARAC_CASE_LIST, MB, "marac.caselist",
	    NULL, NULL, "M7-case-list", true},
	{MCO, "refuge.cambs", HAVEN_MSG_MARAC_CASE_LIST, MB, "marac.caselist",
	    NULL, NULL, "R14-case-list-isp", false},
	{MCO, SCHOOL, HAVEN_MSG_MARAC_CASE_LIST, MB, "marac.caselist", NULL,
	    NULL, "R14-case-list-isp", false},
	{IDVA, HSG, HAVEN_MSG_MARAC_CASE_LIST, MB, "marac.caselist", NULL,
	    NULL, "R14-case-list-sender", false},
	/* M8 research returns (R15) */
	{HSG, MCO, HAVEN_MSG_MARAC_RESEARCH_RETURN, MB, "marac.research", NULL,
	    NULL, "M8-research", true},
	{SCHOOL, MCO, HAVEN_MSG_MARAC_RESEARCH_RETURN, MB, "marac.research",
	    NULL, NULL, "M8-research", true},
	{HSG, "dapp.north", HAVEN_MSG_MARAC_RESEARCH_RETURN, MB,
	    "marac.research", NULL, NULL, "M8-research", true},
	{HSG, IDVA, HAVEN_MSG_MARAC_RESEARCH_RETURN, MB, "marac.research",
	    NULL, NULL, "R15-research-to-chair", false},
	{HSG, SCHOOL, HAVEN_MSG_MARAC_RESEARCH_RETURN, MB, "marac.research",
	    NULL, NULL, "R8-edu-marac", false},
	{GP, MCO, HAVEN_MSG_MARAC_RESEARCH_RETURN, MB, "marac.research",
	    "caldicott", "yes", "M8-health-research", true},
	{GP, MCO, HAVEN_MSG_MARAC_RESEARCH_RETURN, MB, "marac.research", NULL,
	    NULL, "R15-caldicott", false},
	{GP, MCO, HAVEN_MSG_MARAC_RESEARCH_RETURN, MB, "marac.research",
	    "caldicott", "no", "R15-caldicott", false},
	{GP, IDVA, HAVEN_MSG_MARAC_RESEARCH_RETURN, MB, "marac.research",
	    "caldicott", "yes", "R15-research-to-chair", false},
	/* M9 action plans: a school gets marac.plan.edu only (R8) */
	{MCO, SCHOOL, HAVEN_MSG_MARAC_ACTION_PLAN, MB, "marac.plan.edu", NULL,
	    NULL, "M9-plan-edu", true},
	{MCO, SCHOOL, HAVEN_MSG_MARAC_ACTION_PLAN, MB, "marac.plan", NULL,
	    NULL, "R8-edu-plan-view", false},
	{MCO, PRB, HAVEN_MSG_MARAC_ACTION_PLAN, MB, "marac.plan", NULL, NULL,
	    "M9-plan", true},
	{MCO, PRB, HAVEN_MSG_MARAC_ACTION_PLAN, MB, "marac.plan.edu", NULL,
	    NULL, "default-deny", false},
	{IDVA, PRB, HAVEN_MSG_MARAC_ACTION_PLAN, MB, "marac.plan", NULL, NULL,
	    "default-deny", false},
	/* the coordinator's full copy (marac.plan.full): MCO or DAPC only */
	{MCO, MCO, HAVEN_MSG_MARAC_ACTION_PLAN, MB, "marac.plan.full", NULL,
	    NULL, "M9-plan-full", true},
	{MCO, "dapp.north", HAVEN_MSG_MARAC_ACTION_PLAN, CDA,
	    "marac.plan.full", NULL, NULL, "M9-plan-full", true},
	{MCO, HSG, HAVEN_MSG_MARAC_ACTION_PLAN, MB, "marac.plan.full", NULL,
	    NULL, "R8-plan-full-mco-only", false},
	{MCO, IDVA, HAVEN_MSG_MARAC_ACTION_PLAN, MB, "marac.plan.full", NULL,
	    NULL, "R8-plan-full-mco-only", false},
	{MCO, SCHOOL, HAVEN_MSG_MARAC_ACTION_PLAN, MB, "marac.plan.full",
	    NULL, NULL, "R8-edu-plan-view", false},
	{HSG, MCO, HAVEN_MSG_MARAC_ACTION_PLAN, MB, "marac.plan.full", NULL,
	    NULL, "default-deny", false},
	{MCO, MCO, HAVEN_MSG_MARAC_ACTION_PLAN, OEB, "marac.plan.full", NULL,
	    NULL, "R18-marac-legal-basis", false},
	/* M10, M11, consent */
	{PRB, MCO, HAVEN_MSG_ACTION_UPDATE, MB, "marac.update", NULL, NULL,
	    "M10-update", true},
	{PRB, "dapp.north", HAVEN_MSG_ACTION_UPDATE, MB, "marac.update", NULL,
	    NULL, "M10-update", true},
	{PRB, IDVA, HAVEN_MSG_ACTION_UPDATE, MB, "marac.update", NULL, NULL,
	    "M10-to-mco-dapc", false},
	{HSG, MCO, HAVEN_MSG_REPEAT_INCIDENT_FLAG, MB, "marac.repeat", NULL,
	    NULL, "M11-repeat", true},
	{HSG, IDVA, HAVEN_MSG_REPEAT_INCIDENT_FLAG, MB, "marac.repeat", NULL,
	    NULL, "R12-repeat-to-mco", false},
	{IDVA, MCO, HAVEN_MSG_CONSENT_DECISION, MB, "marac.consent", NULL,
	    NULL, "M-consent", true},
	{MCO, IDVA, HAVEN_MSG_CONSENT_DECISION, CDA, "marac.consent", NULL,
	    NULL, "M-consent", true},
	{IDVA, HSG, HAVEN_MSG_CONSENT_DECISION, MB, "marac.consent", NULL,
	    NULL, "R9-consent-to-mco-idva", false},
	/* M12 panel referral (R16) */
	{"police.cambs", "dapp.north", HAVEN_MSG_DAPP_REFERRAL, MB,
	    "dapp.referral", "area", "north", "M12-panel-referral", true},
	{PRB, "dapp.south", HAVEN_MSG_DAPP_REFERRAL, CDA, "dapp.referral",
	    NULL, NULL, "M12-panel-referral", true},
	{"police.cambs", "dapp.north", HAVEN_MSG_DAPP_REFERRAL, MB,
	    "dapp.referral", "mappa", "yes", "R16", false},
	{HSG, "dapp.north", HAVEN_MSG_DAPP_REFERRAL, MB, "dapp.referral", NULL,
	    NULL, "R16-referrer", false},
	{"police.cambs", PRB, HAVEN_MSG_DAPP_REFERRAL, MB, "dapp.referral",
	    NULL, NULL, "R16-to-panel", false},
	{"police.cambs", SCHOOL, HAVEN_MSG_DAPP_REFERRAL, MB, "dapp.referral",
	    NULL, NULL, "R8-edu-marac", false},
	/* R17: to the co-chairs of the tagged area's panel only */
	{"police.cambs", "dapp.south", HAVEN_MSG_DAPP_REFERRAL, MB,
	    "dapp.referral", "area", "north", "R17-panel-referral-north",
	    false},
	{PRB, "dapp.north", HAVEN_MSG_DAPP_REFERRAL, MB, "dapp.referral",
	    "area", "south", "R17-panel-referral-south", false},
	{PRB, "dapp.south", HAVEN_MSG_DAPP_REFERRAL, MB, "dapp.referral",
	    "area", "south", "M12-panel-referral", true},
	/* M13/M14 panel material (R17) */
	{"dapp.north", PRB, HAVEN_MSG_DAPP_BUNDLE, MB, "dapp.bundle", "area",
	    "north", "M13-north", true},
	{"dapp.north", "das.cambs", HAVEN_MSG_DAPP_BUNDLE, MB, "dapp.bundle",
	    "area", "north", "M13-north", true},
	{"dapp.north", HSG_S, HAVEN_MSG_DAPP_BUNDLE, MB, "dapp.bundle", "area",
	    "north", "R17", false},
	{"dapp.north", SCHOOL, HAVEN_MSG_DAPP_BUNDLE, MB, "dapp.bundle", "area",
	    "north", "R8-edu-marac", false},
	{"dapp.north", "dapp.south", HAVEN_MSG_DAPP_BUNDLE, MB, "dapp.bundle",
	    "area", "north", "R17", false},
	{"dapp.north", HSG, HAVEN_MSG_DAPP_BUNDLE, MB, "dapp.bundle", NULL,
	    NULL, "R17", false},
	{"dapp.north", HSG, HAVEN_MSG_DAPP_BUNDLE, MB, "dapp.plan", "area",
	    "north", "R17", false},
	{"dapp.south", HSG_S, HAVEN_MSG_DAPP_BUNDLE, MB, "dapp.bundle", "area",
	    "south", "M13-south", true},
	{"dapp.south", "das.cambs", HAVEN_MSG_DAPP_BUNDLE, MB, "dapp.bundle",
	    "area", "south", "R17", false},
	{"dapp.north", "das.cambs", HAVEN_MSG_DAPP_ACTION_PLAN, MB,
	    "dapp.plan", "area", "north", "M14-north", true},
	/* the co-chairs' own copy of their plan */
	{"dapp.north", "dapp.north", HAVEN_MSG_DAPP_ACTION_PLAN, MB,
	    "dapp.plan", "area", "north", "M14-north", true},
	{"dapp.north", "dapp.south", HAVEN_MSG_DAPP_ACTION_PLAN, MB,
	    "dapp.plan", "area", "north", "R17", false},
	{"dapp.south", PRB, HAVEN_MSG_DAPP_ACTION_PLAN, CDA, "dapp.plan",
	    "area", "south", "M14-south", true},
	{"dapp.north", HSG_S, HAVEN_MSG_DAPP_ACTION_PLAN, MB, "dapp.plan",
	    "area", "north", "R17", false},
	{"police.cambs", PRB, HAVEN_MSG_DAPP_ACTION_PLAN, MB, "dapp.plan",
	    "area", "north", "R17-from-chairs", false},
	{MCO, PRB, HAVEN_MSG_DAPP_BUNDLE, MB, "dapp.bundle", "area", "north",
	    "R17-from-chairs", false},
};

static void
check_flows(const haven_policy *p, const haven_directory *dir)
{
	for (size_t i = 0; i < sizeof(flows) / sizeof(flows[0]); i++) {
		const flow *fl = &flows[i];
		const char *const to[1] = {fl->to};
		haven_policy_decision d;
		haven_header h;
		haven_err rv;

		make_header(&h, to, 1);
		(void) snprintf(h.sender, sizeof(h.sender), "%s", fl->from);
		h.type = fl->type;
		(void) snprintf(h.legal_basis, sizeof(h.legal_basis), "%s",
		    fl->basis);
		(void) snprintf(h.views[0].profile,
		    sizeof(h.views[0].profile), "%s", fl->profile);
		if (fl->tag != NULL) {
			h.n_tags = 1;
			(void) snprintf(h.tags[0].key, sizeof(h.tags[0].key),
			    "%s", fl->tag);
			(void) snprintf(h.tags[0].value,
			    sizeof(h.tags[0].value), "%s", fl->tagval);
		}
		rv = haven_policy_check_header(p, dir, &h, &d);
		if (d.allow != fl->allow || strcmp(d.rule, fl->rule) != 0) {
			print_error("flow %zu (%s -> %s %s %s): %s %s '%s'\n",
			    i, fl->from, fl->to, haven_msg_type_name(fl->type),
			    fl->profile, d.allow ? "allow" : "deny", d.rule,
			    d.reason);
		}
		assert_int_equal(rv, fl->allow ? HAVEN_OK : HAVEN_EPOLICY);
		assert_int_equal(d.allow, fl->allow);
		assert_string_equal(d.rule, fl->rule);
		/* every refusal of the shipped policy names its domain
		 * rule ("R15", "M10") in the reason the sender and the
		 * audit see */
		if (!fl->allow && strcmp(fl->rule, "default-deny") != 0) {
			char dom[HAVEN_RULE_ID_MAX];

			(void) snprintf(dom, sizeof(dom), "%.*s",
			    (int) strcspn(fl->rule, "-"), fl->rule);
			assert_non_null(strstr(d.reason, dom));
		}
	}
}

static haven_policy *
deploy_policy(void)
{
	haven_policy *p = NULL;
	uint8_t *text = NULL;
	size_t len = 0;
	char err[256] = "";
	haven_err rv;

	assert_int_equal(haven__read_file(HAVEN_SOURCE_DIR
	                     "/deploy/policy.json", HAVEN_JSON_MAX, &text, &len),
	    HAVEN_OK);
	rv = haven_policy_from_json(&p, (const char *) text, len, err,
	    sizeof(err));
	if (rv != HAVEN_OK) {
		print_error("deploy/policy.json: %s\n", err);
	}
	assert_int_equal(rv, HAVEN_OK);
	free(text);
	return (p);
}

static void
test_deploy_policy(void **state)
{
	struct fx *f = *state;
	haven_policy *p = deploy_policy(), *q;
	haven_directory *dir = demo_directory();
	const haven_policy_encompass *e;

	check_flows(p, dir);
	q = pu_resign(p, f->admin, f->admin_pk.sign_pk);
	check_flows(q, dir);

	e = haven_policy_encompass_settings(q);
	assert_int_equal(e->n_secondary, 2);
	assert_string_equal(e->secondary[0], "deputy");
	assert_string_equal(e->secondary[1], "la-education");
	assert_int_equal(e->n_holiday_duty, 1);
	assert_string_equal(e->holiday_duty[0].calendar, "la.cambs");
	assert_string_equal(e->holiday_duty[0].agency, "la.cambs.eds");
	assert_non_null(haven_directory_find(dir,
	    e->holiday_duty[0].agency));
	assert_int_equal(e->offline_escalation_ms, 1440LL * 60000);
	assert_int_equal(haven_policy_marac_settings(q)->dash_auto, 17);
	assert_int_equal(haven_policy_marac_settings(q)->dash_consent, 14);
	assert_int_equal(haven_policy_marac_settings(q)->meeting_days, 0x15);
	assert_int_equal(haven_policy_marac_settings(q)->meeting_minute, 600);
	haven_policy_destroy(&q);
	haven_policy_destroy(&p);
	haven_directory_destroy(&dir);
}

/* A role-only query (havenctl policy check without --directory) has no
 * attrs: the case list is then refused, never allowed by default. */
static void
test_deploy_policy_no_attrs(void **state)
{
	haven_policy *p = deploy_policy();
	haven_policy_query q = {"MCO", "HSG", HAVEN_MSG_MARAC_CASE_LIST, MB,
	    "marac.caselist", NULL, 0, NULL, 0};
	haven_policy_decision d;

	(void) state;
	haven_policy_evaluate(p, &q, &d);
	assert_false(d.allow);
	assert_string_equal(d.rule, "R14-case-list-isp");
	q.type = HAVEN_MSG_DAPP_BUNDLE;
	q.sender_role = "DAPC";
	q.profile = "dapp.bundle";
	haven_policy_evaluate(p, &q, &d);
	assert_false(d.allow);
	assert_string_equal(d.rule, "R17");
	haven_policy_destroy(&p);
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
		cmocka_unit_test(test_recipient_attrs),
		cmocka_unit_test(test_signed_invalid_attrs),
		cmocka_unit_test(test_deploy_policy),
		cmocka_unit_test(test_deploy_policy_no_attrs),
	};

	return (cmocka_run_group_tests(tests, setup, teardown));
}
