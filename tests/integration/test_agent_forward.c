/*
 * tests/integration/test_agent_forward.c: store and forward, and exactly
 * once across an agent crash, with the real broker and real agents.
 *
 *  - A school that is offline when the police submit gets the message when
 *    it syncs later, across a broker restart.
 *  - With the broker down, a submission is durably in the police outbox but
 *    reported "pending" (exit 1), never as sent; `sync` later resends the
 *    same bytes and the broker receipts them.
 *  - An agent killed with SIGKILL after storing a delivery and before its
 *    Ack gets the delivery again and still has one inbox entry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support_agent.h"
#include "support_harness.h"

#define T_MS 30000

static int
agent(hv_partnership *p, const char *agency, json_t **doc, const char *a1,
    const char *a2, const char *a3)
{
	const char *const args[] = { a1, a2, a3, NULL };

	return (hv_agent(p, agency, T_MS, doc, NULL, args));
}

/* Shorten an agent's timeout so a test against a dead broker is quick. */
static void
short_timeout(hv_partnership *p, const char *agency)
{
	char rel[256], *buf = NULL, *hit;
	json_t *doc;
	json_error_t je;

	(void) snprintf(rel, sizeof(rel), "agents/%s/agent.json", agency);
	doc = json_load_file(hv_path(p, rel), 0, &je);
	assert_non_null(doc);
	assert_int_equal(json_object_set_new(doc, "timeout_ms",
	    json_integer(1500)), 0);
	buf = json_dumps(doc, 0);
	assert_non_null(buf);
	hit = strstr(buf, "1500");
	assert_non_null(hit);
	assert_int_equal(hv_write(p, rel, buf), 0);
	free(buf);
	json_decref(doc);
}

static int
setup(void **state)
{
	hv_partnership *p = hv_partnership_new(NULL, true);
	char src[600];

	(void) snprintf(src, sizeof(src), "%s/tests/fixtures/incidents/"
	    "scenario1.json", HAVEN_SOURCE_DIR);
	{
		FILE *f = fopen(src, "r");
		char buf[8192];
		size_t n;

		assert_non_null(f);
		n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = '\0';
		fclose(f);
		assert_int_equal(hv_write(p, "incident.json", buf), 0);
	}
	*state = p;
	return (0);
}

static int
inbox_count(hv_partnership *p, const char *agency)
{
	json_t *doc = NULL;
	int n;

	assert_int_equal(agent(p, agency, &doc, "inbox", NULL, NULL), 0);
	n = (int) hv_jint(doc, "count");
	json_decref(doc);
	return (n);
}

static void
test_store_and_forward(void **state)
{
	hv_partnership *p = *state;
	json_t *doc = NULL;
	const json_t *m;
	size_t i;

	/* schools offline: the broker holds the messages */
	assert_int_equal(agent(p, "police.cambs", &doc, "encompass", "submit",
	    hv_path(p, "incident.json")), 0);
	assert_int_equal(hv_jint(doc, "receipted"), 3);
	json_decref(doc);
	assert_int_equal(hv_broker_stop(p), 0);
	assert_int_equal(hv_broker_start(p), 0);
	assert_int_equal(agent(p, "school.urn.110123", &doc, "sync", NULL,
	    NULL), 0);
	assert_int_equal(hv_jint(doc, "delivered"), 1);
	json_decref(doc);
	assert_int_equal(inbox_count(p, "school.urn.110123"), 1);

	/* broker down: durable in the outbox, reported pending, exit 1 */
	hv_broker_kill(p);
	short_timeout(p, "police.cambs");
	assert_int_equal(agent(p, "police.cambs", &doc, "encompass", "submit",
	    hv_path(p, "incident.json")), 1);
	assert_false(json_is_true(json_object_get(doc, "ok")));
	assert_int_equal(hv_jint(doc, "pending"), 3);
	json_array_foreach(json_object_get(doc, "messages"), i, m) {
		assert_string_equal(json_string_value(json_object_get(m,
		    "status")), "pending");
		assert_null(json_object_get(m, "receipt"));
	}
	json_decref(doc);
	assert_int_equal(agent(p, "police.cambs", &doc, "sync", NULL, NULL),
	    1);
	json_decref(doc);
	/* broker back: sync resends the same bytes and gets receipts */
	assert_int_equal(hv_broker_start(p), 0);
	assert_int_equal(agent(p, "police.cambs", &doc, "sync", NULL, NULL),
	    0);
	assert_int_equal(hv_jint(doc, "resent"), 3);
	assert_int_equal(hv_jint(doc, "receipted"), 3);
	assert_int_equal(hv_jint(doc, "pending"), 0);
	json_decref(doc);
	/* a second sync has nothing left to resend */
	assert_int_equal(agent(p, "police.cambs", &doc, "sync", NULL, NULL),
	    0);
	assert_int_equal(hv_jint(doc, "resent"), 0);
	json_decref(doc);
	assert_int_equal(agent(p, "school.urn.110123", &doc, "sync", NULL,
	    NULL), 0);
	assert_int_equal(hv_jint(doc, "delivered"), 1);
	json_decref(doc);
	assert_int_equal(inbox_count(p, "school.urn.110123"), 2);
	assert_int_equal(agent(p, "school.urn.110456", &doc, "sync", NULL,
	    NULL), 0);
	assert_int_equal(hv_jint(doc, "delivered"), 2);
	json_decref(doc);
	assert_int_equal(hv_broker_stop(p), 0);
	{
		const char *args[] = { "audit", "verify", "--config",
			hv_path(p, "broker.json"), NULL };
		assert_int_equal(hv_run(p, "havenctl", args, T_MS, NULL), 0);
	}
}

static void
test_exactly_once_after_kill(void **state)
{
	hv_partnership *p = *state;
	json_t *doc = NULL;

	assert_int_equal(agent(p, "police.cambs", &doc, "encompass", "submit",
	    hv_path(p, "incident.json")), 0);
	json_decref(doc);
	/* dies by SIGKILL after the inbox commit, before the Ack */
	assert_int_equal(setenv("HAVEN_TEST_FAULT", "agent-kill-after-store",
	    1), 0);
	assert_int_equal(agent(p, "school.urn.110456", NULL, "sync", NULL,
	    NULL), 128 + 9);
	assert_int_equal(unsetenv("HAVEN_TEST_FAULT"), 0);
	assert_int_equal(inbox_count(p, "school.urn.110456"), 1);
	/* the broker redelivers (redeliver_ms); the agent acks, stores
	 * nothing new */
	assert_int_equal(agent(p, "school.urn.110456", &doc, "sync", NULL,
	    NULL), 0);
	assert_int_equal(hv_jint(doc, "duplicates"), 1);
	assert_int_equal(hv_jint(doc, "delivered"), 0);
	assert_true(json_is_true(json_object_get(doc, "drained")));
	json_decref(doc);
	assert_int_equal(inbox_count(p, "school.urn.110456"), 1);
	/* and the broker has no more for it */
	assert_int_equal(agent(p, "school.urn.110456", &doc, "sync", NULL,
	    NULL), 0);
	assert_int_equal(hv_jint(doc, "duplicates"), 0);
	json_decref(doc);
}

/* Poll the inbox until it holds `want` entries (up to 15 s). */
static bool
wait_inbox(hv_partnership *p, const char *agency, int want)
{
	for (int i = 0; i < 150; i++) {
		if (inbox_count(p, agency) >= want) {
			return (true);
		}
		(void) usleep(100000);
	}
	return (false);
}

static void
test_run_survives_broker_restart(void **state)
{
	hv_partnership *p = *state;
	const char *args[] = { "--config", hv_agent_config(p,
		"school.urn.110123"), "run", NULL };
	json_t *doc = NULL;
	pid_t run;

	run = hv_spawn(p, "haven-agent", args);
	assert_true(run > 0);
	assert_int_equal(agent(p, "police.cambs", &doc, "encompass", "submit",
	    hv_path(p, "incident.json")), 0);
	json_decref(doc);
	assert_true(wait_inbox(p, "school.urn.110123", 1));
	/* the broker dies and comes back; `run` reconnects by itself */
	hv_broker_kill(p);
	(void) usleep(300000);
	assert_int_equal(hv_broker_start(p), 0);
	assert_int_equal(agent(p, "police.cambs", &doc, "encompass", "submit",
	    hv_path(p, "incident.json")), 0);
	json_decref(doc);
	assert_true(wait_inbox(p, "school.urn.110123", 2));
	assert_int_equal(kill(run, SIGTERM), 0);
	assert_int_equal(hv_wait(run, 10000), 0);
	assert_int_equal(inbox_count(p, "school.urn.110123"), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_and_forward, setup,
		    hv_teardown),
		cmocka_unit_test_setup_teardown(test_exactly_once_after_kill,
		    setup, hv_teardown),
		cmocka_unit_test_setup_teardown(
		    test_run_survives_broker_restart, setup, hv_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
