/*
 * tests/integration/test_agent_scenario.c: domain.md §6 scenario 1, end to
 * end, with the real broker and real haven-agent processes.
 *
 * Friday 22:40: child 0 at school A, child 1 at school B, child 2 home
 * educated, child 3 at a school the directory does not know. The police
 * agent sends M1 to A (child 0 only), M1 to B (child 1 only), M2 to the LA
 * EHE officer (child 2) and M4 to the SPOC (child 3, R5). Each recipient
 * sees only its own child; A's DSL reads it and the M3 receipt reaches the
 * police; an R2 refusal names its field and rule; the audit chain verifies.
 * Afterwards no child's name, the address or what a child said is to be
 * found in any store on disk (agents' inboxes and outboxes, the broker's
 * LMDB) or in any log: stores are encrypted at rest, logs carry ids only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support_agent.h"
#include "support_harness.h"
#include "util.h"

#define T_MS 30000

static const char incident[] =
    "{\"police_ref\":\"CC-2026-000777\","
    "\"occurred_at\":\"2026-11-20T22:40:00Z\","
    "\"location\":\"1 Test Street, Cambridge\","
    "\"circumstances\":\"Test incident text.\","
    "\"welfare_check\":true,\"csc_informed\":false,"
    "\"officer_contact\":\"PC 0000 Test\","
    "\"children\":["
    "{\"name\":\"Alpha Testchild\",\"dob\":\"2015-03-02\","
    "\"school\":\"school.urn.110123\",\"present\":true,\"where\":\"lounge\","
    "\"voice_of_child\":\"spoke briefly\"},"
    "{\"name\":\"Bravo Testchild\",\"dob\":\"2012-07-19\","
    "\"school\":\"school.urn.110456\",\"present\":false,\"where\":\"away\","
    "\"voice_of_child\":\"\"},"
    "{\"name\":\"Charlie Testchild\",\"dob\":\"2016-05-10\",\"ehe\":true,"
    "\"local_authority\":\"la.cambs\",\"present\":true,\"where\":\"kitchen\","
    "\"voice_of_child\":\"not spoken to\"},"
    "{\"name\":\"Delta Testchild\",\"dob\":\"2013-01-15\","
    "\"school\":\"school.urn.999999\",\"present\":true,\"where\":\"hall\","
    "\"voice_of_child\":\"\"}]}";

static const char *names[] = { "Alpha Testchild", "Bravo Testchild",
	"Charlie Testchild", "Delta Testchild" };

/* Run haven-agent for `agency` with --json and the given args. */
static int
agent(hv_partnership *p, const char *agency, json_t **doc, char **text,
    const char *a1, const char *a2, const char *a3, const char *a4,
    const char *a5)
{
	const char *const args[] = { a1, a2, a3, a4, a5, NULL };

	return (hv_agent(p, agency, T_MS, doc, text, args));
}

static int
setup(void **state)
{
	hv_partnership *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	assert_int_equal(hv_partnership_create(p), 0);
	assert_int_equal(hv_broker_start(p), 0);
	assert_int_equal(hv_write(p, "incident.json", incident), 0);
	*state = p;
	return (0);
}

static int
teardown(void **state)
{
	hv_partnership *p = *state;

	hv_partnership_destroy(p);
	free(p);
	return (0);
}

static const json_t *
message_to(const json_t *submit, const char *recipient)
{
	const json_t *m;
	size_t i;

	json_array_foreach(json_object_get(submit, "messages"), i, m) {
		if (strcmp(json_string_value(json_object_get(m, "recipient")),
		    recipient) == 0) {
			return (m);
		}
	}
	return (NULL);
}

static void
expect_message(const json_t *submit, const char *recipient,
    const char *type, int child)
{
	const json_t *m = message_to(submit, recipient);
	const json_t *kids;

	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "type")),
	    type);
	assert_string_equal(json_string_value(json_object_get(m, "status")),
	    "receipted");
	assert_true(json_integer_value(json_object_get(json_object_get(m,
	    "receipt"), "audit_seq")) > 0);
	kids = json_object_get(m, "children");
	assert_int_equal(json_array_size(kids), 1);
	assert_int_equal(json_integer_value(json_array_get(kids, 0)), child);
}

/* The recipient syncs, has exactly that message, and sees only `child`. */
static void
expect_inbox(hv_partnership *p, const char *agency, const char *msg_id,
    const char *type, int child)
{
	json_t *doc = NULL, *m;
	char *text = NULL;

	assert_int_equal(agent(p, agency, &doc, NULL, "sync", NULL, NULL, NULL,
	    NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "delivered")),
	    1);
	json_decref(doc);
	assert_int_equal(agent(p, agency, &doc, NULL, "inbox", NULL, NULL,
	    NULL, NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "count")), 1);
	m = json_array_get(json_object_get(doc, "messages"), 0);
	assert_string_equal(json_string_value(json_object_get(m, "msg_id")),
	    msg_id);
	assert_string_equal(json_string_value(json_object_get(m, "type")),
	    type);
	assert_true(json_is_true(json_object_get(m, "verified")));
	assert_false(json_is_true(json_object_get(m, "read")));
	json_decref(doc);
	assert_int_equal(agent(p, agency, &doc, &text, "show", msg_id, NULL,
	    NULL, NULL), 0);
	assert_true(json_is_true(json_object_get(json_object_get(doc,
	    "provenance"), "signature_verified")));
	assert_int_equal(json_array_size(json_object_get(json_object_get(doc,
	    "content"), "children")), 1);
	for (int i = 0; i < 4; i++) {
		assert_true((strstr(text, names[i]) != NULL) == (i == child));
	}
	json_decref(doc);
	free(text);
}

/* Personal data of the incident: none of it may be in a file at rest. */
static const char *const personal[] = { "Alpha Testchild", "Bravo Testchild",
	"Charlie Testchild", "Delta Testchild", "1 Test Street",
	"spoke briefly", "2015-03-02", NULL };

static bool
contains(const uint8_t *buf, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; n <= len && i <= len - n; i++) {
		if (buf[i] == (uint8_t) needle[0] &&
		    memcmp(buf + i, needle, n) == 0) {
			return (true);
		}
	}
	return (false);
}

static void
assert_no_personal_data(const hv_partnership *p, const char *rel)
{
	uint8_t *buf = NULL;
	size_t len = 0;

	assert_int_equal(haven__read_file(hv_path(p, rel), 256u << 20, &buf,
	    &len), HAVEN_OK);
	assert_true(len > 0);
	for (size_t i = 0; personal[i] != NULL; i++) {
		if (contains(buf, len, personal[i])) {
			fail_msg("%s holds \"%s\"", rel, personal[i]);
		}
	}
	free(buf);
}

static void
check_at_rest(const hv_partnership *p)
{
	static const char *const files[] = {
		"agents/police.cambs/data/data.mdb",
		"agents/police.cambs.spoc/data/data.mdb",
		"agents/school.urn.110123/data/data.mdb",
		"agents/school.urn.110456/data/data.mdb",
		"agents/la.cambs.ehe/data/data.mdb",
		"broker-data/data.mdb", "haven-agent.log", "broker.log", NULL };

	for (size_t i = 0; files[i] != NULL; i++) {
		assert_no_personal_data(p, files[i]);
	}
}

static void
test_scenario1(void **state)
{
	hv_partnership *p = *state;
	json_t *sub = NULL, *doc = NULL;
	char id_a[40], *text = NULL;

	assert_int_equal(agent(p, "police.cambs", &sub, &text, "encompass",
	    "submit", hv_path(p, "incident.json"), NULL, NULL), 0);
	/* The police's own report names no child. */
	for (int i = 0; i < 4; i++) {
		assert_null(strstr(text, names[i]));
	}
	free(text);
	assert_int_equal(json_array_size(json_object_get(sub, "messages")), 4);
	expect_message(sub, "school.urn.110123", "OE_NOTIFICATION", 0);
	expect_message(sub, "school.urn.110456", "OE_NOTIFICATION", 1);
	expect_message(sub, "la.cambs.ehe", "OE_EHE_NOTIFICATION", 2);
	expect_message(sub, "police.cambs.spoc", "OE_ESCALATION", 3);
	assert_string_equal(json_string_value(json_object_get(message_to(sub,
	    "police.cambs.spoc"), "reason")), "school-unknown");
	/* M1 deadline: Monday 08:30 London (GMT in November). */
	assert_string_equal(json_string_value(json_object_get(message_to(sub,
	    "school.urn.110123"), "deadline")), "2026-11-23T08:30:00Z");
	(void) snprintf(id_a, sizeof(id_a), "%s", json_string_value(
	    json_object_get(message_to(sub, "school.urn.110123"), "msg_id")));

	expect_inbox(p, "school.urn.110123", id_a, "OE_NOTIFICATION", 0);
	expect_inbox(p, "school.urn.110456", json_string_value(json_object_get(
	    message_to(sub, "school.urn.110456"), "msg_id")),
	    "OE_NOTIFICATION", 1);
	expect_inbox(p, "la.cambs.ehe", json_string_value(json_object_get(
	    message_to(sub, "la.cambs.ehe"), "msg_id")), "OE_EHE_NOTIFICATION",
	    2);
	expect_inbox(p, "police.cambs.spoc", json_string_value(json_object_get(
	    message_to(sub, "police.cambs.spoc"), "msg_id")), "OE_ESCALATION",
	    3);
	json_decref(sub);

	/* School A's DSL opens it: M3 goes back to the police. */
	assert_int_equal(agent(p, "school.urn.110123", &doc, NULL, "read", id_a,
	    "--reader", "dsl.01", "--role=DSL"), 0);
	assert_string_equal(json_string_value(json_object_get(doc, "status")),
	    "receipted");
	json_decref(doc);
	/* A second read sends nothing more. */
	assert_int_equal(agent(p, "school.urn.110123", NULL, NULL, "read", id_a,
	    "--reader", "dsl.01", "--role=DSL"), 2);
	assert_int_equal(agent(p, "police.cambs", &doc, NULL, "sync", NULL,
	    NULL, NULL, NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "delivered")),
	    1);
	json_decref(doc);
	assert_int_equal(agent(p, "police.cambs", &doc, NULL, "inbox", NULL,
	    NULL, NULL, NULL), 0);
	{
		json_t *m = json_array_get(json_object_get(doc, "messages"), 0);
		char rid[40];

		assert_string_equal(json_string_value(json_object_get(m,
		    "type")), "OE_RECEIPT");
		(void) snprintf(rid, sizeof(rid), "%s",
		    json_string_value(json_object_get(m, "msg_id")));
		json_decref(doc);
		assert_int_equal(agent(p, "police.cambs", &doc, NULL, "show",
		    rid, NULL, NULL, NULL), 0);
	}
	assert_string_equal(json_string_value(json_object_get(doc,
	    "in_reply_to")), id_a);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    doc, "content"), "reader_role")), "DSL");
	json_decref(doc);

	assert_int_equal(hv_broker_stop(p), 0);
	{
		const char *args[] = { "audit", "verify", "--config",
			hv_path(p, "broker.json"), NULL };
		assert_int_equal(hv_run(p, "havenctl", args, T_MS, NULL), 0);
	}
	check_at_rest(p);
}

static void
test_refusals(void **state)
{
	hv_partnership *p = *state;
	json_t *doc = NULL, *err;
	char path[600];

	(void) snprintf(path, sizeof(path), "%s/tests/fixtures/incidents/"
	    "bad-age-3.json", HAVEN_SOURCE_DIR);
	assert_int_equal(agent(p, "police.cambs", &doc, NULL, "encompass",
	    "submit", path, NULL, NULL), 2);
	err = json_object_get(doc, "error");
	assert_string_equal(json_string_value(json_object_get(err, "rule")),
	    "R2");
	assert_non_null(strstr(json_string_value(json_object_get(err,
	    "field")), "dob"));
	json_decref(doc);
	(void) snprintf(path, sizeof(path), "%s/tests/fixtures/incidents/"
	    "bad-unknown-field.json", HAVEN_SOURCE_DIR);
	assert_int_equal(agent(p, "police.cambs", NULL, NULL, "encompass",
	    "submit", path, NULL, NULL), 2);
	/* nothing was queued for anyone */
	assert_int_equal(agent(p, "school.urn.110123", &doc, NULL, "sync",
	    NULL, NULL, NULL, NULL), 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "delivered")),
	    0);
	json_decref(doc);
	/* usage errors and bad ids are input refusals */
	assert_int_equal(agent(p, "school.urn.110123", NULL, NULL, "show",
	    "nothex", NULL, NULL, NULL), 2);
	assert_int_equal(agent(p, "school.urn.110123", NULL, NULL, "show",
	    "00000000000000000000000000000000", NULL, NULL, NULL), 2);
	assert_int_equal(agent(p, "school.urn.110123", NULL, NULL, "read",
	    "00000000000000000000000000000000", "--reader", "Jane Smith",
	    "--role=DSL"), 2);
	assert_int_equal(agent(p, "school.urn.110123", NULL, NULL, "frobnicate",
	    NULL, NULL, NULL, NULL), 2);
}

/* Every command's --help works, names --config and --json, and exits 0;
 * "encompass --help" describes the group's only subcommand. */
static void
test_help(void **state)
{
	hv_partnership *p = *state;
	static const char *const cmds[][2] = { { "encompass", NULL },
		{ "encompass", "submit" }, { "sync", NULL }, { "run", NULL },
		{ "inbox", NULL }, { "show", NULL }, { "read", NULL } };

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *args[4] = { cmds[i][0], cmds[i][1] != NULL ?
			cmds[i][1] : "--help", cmds[i][1] != NULL ? "--help" :
			NULL, NULL };
		char *out = NULL;

		assert_int_equal(hv_run(p, "haven-agent", args, T_MS, &out),
		    0);
		assert_non_null(out);
		assert_non_null(strstr(out, "--config FILE"));
		assert_non_null(strstr(out, "--json"));
		free(out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scenario1, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_help, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
